"""Planted bugs in the derivations' gradients, caught by ``--check`` (which runs
checks.gradcheck) with the right diagnosis and hint."""
from functools import cache

import pytest

from checks import check_values, random_params
from derive import derive
from numeric import FORWARDS, compile_sweep
from numeric.autodiff import jax_grad


@cache
def _shared_bias():
    d = derive("shared_bias", activation="sigmoid", output_activation="sigmoid", loss="bce", wrt=["b", "W", "U"])
    return d, compile_sweep(d.sweep)


def _check(plant, rng):
    d, run = _shared_bias()
    values = random_params(d.graph, {"d": 3, "m": 3}, "bce", rng)
    return check_values(d, values, FORWARDS["shared_bias"], jax_grad,
                        gradient_fn=lambda v: plant(dict(run(v)["gradients"]), run(v)))


def _hints(g):
    return " | ".join(g["hints"])


def test_honest_derivation_passes_with_diagnosis_ok(rng):
    report = _check(lambda g, r: g, rng)
    assert report.passed
    assert {g["diagnosis"] for g in report.gradients.values()} == {"ok"}


def test_dropped_path_is_named(rng):
    def only_output_path(g, r):
        return {**g, "b": dict(r["contributions"]["b"])["output"]}

    report = _check(only_output_path, rng)
    b = report.gradients["b"]
    assert not report.passed and b["diagnosis"] == "derived_wrong"
    assert "misses the contribution 'hidden'" in _hints(b)
    assert report.gradients["W"]["passed"] and report.gradients["U"]["passed"]
    assert "only b is wrong" in _hints(b)


@pytest.mark.parametrize("plant,param,needle", [
    (lambda g, r: {**g, "b": -g["b"]}, "b", "wrong sign"),
    (lambda g, r: {**g, "U": 2 * g["U"]}, "U", "derived ≈ 2 × reference"),
    (lambda g, r: {**g, "W": g["W"].T}, "W", "transposed"),
])
def test_sign_factor_transpose_on_the_derivation(rng, plant, param, needle):
    report = _check(plant, rng)
    g = report.gradients[param]
    assert not report.passed and g["diagnosis"] == "derived_wrong"
    assert needle in _hints(g), _hints(g)
    assert all(report.gradients[p]["passed"] for p in report.gradients if p != param)


def test_one_entry_perturbed_by_1e_minus_6_is_caught(rng):
    def nudge(g, r):
        W = g["W"].copy()
        W[2, 1] *= 1 + 1e-6
        return {**g, "W": W}

    report = _check(nudge, rng)
    g = report.gradients["W"]
    assert not g["passed"] and g["diagnosis"] == "derived_wrong"
    assert "only one entry of ∂/∂W is wrong: W[2, 1]" in _hints(g)


def test_rnn_wrong_time_step_is_named(rng):
    d = derive("rnn_bptt", steps=4)
    run = compile_sweep(d.sweep)
    values = random_params(d.graph, d.spec.check_sizes, "ce", rng)

    def step_two_twice(v):  # Σ_t δ_t with δ₂ summed where δ₃ belongs
        parts = dict(run(v)["contributions"]["b"])
        return {"b": parts["t = 1"] + 2 * parts["t = 2"] + parts["t = 4"]}

    report = check_values(d, values, FORWARDS["rnn_bptt"], jax_grad, gradient_fn=step_two_twice)
    b = report.gradients["b"]
    assert not report.passed and b["diagnosis"] == "derived_wrong"
    assert "uses the contribution 't = 2' in place of 't = 3'" in _hints(b)


def test_rnn_engine_slip_in_one_step_is_derived_wrong(rng):
    import sympy as sp

    d = derive("rnn_bptt", steps=4)
    h = {t: sp.MatrixSymbol(f"h{t}", *d.graph.nodes[f"h{t}"].shape) for t in range(5)}
    d.sweep.definitions["delta3"] = d.sweep.definitions["delta3"].xreplace({h[3]: h[2]})
    values = random_params(d.graph, d.spec.check_sizes, "ce", rng)
    report = check_values(d, values, FORWARDS["rnn_bptt"], jax_grad)
    assert report.gradients["b"]["diagnosis"] == "derived_wrong"


def test_check_json_carries_diagnosis(capsys):
    import json

    from derive.cli import main

    assert main(["sigmoid_mlp", "--check", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    grads = data["checks"][0]["gradients"]
    assert {g["diagnosis"] for g in grads.values()} == {"ok"}
    assert data["tolerances"]["fd_error_estimate_factor"] == 4.0
