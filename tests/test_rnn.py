"""rnn_bptt (P5): T occurrences of b, forward = reverse, numbers, bad params."""
import json
from functools import cache

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, strategies as st

from checks import check_values, random_params
from checks.rnn import worked_solution
from derive import derive
from derive.cli import main
from numeric import FORWARDS
from numeric.autodiff import jax_grad


@pytest.mark.parametrize("T", [1, 2, 3])
def test_bptt_is_proved_for_T_steps(T):
    d = derive("rnn_bptt", steps=T)
    proof = d.proof
    assert proof.holds
    kinds = [c.what for c in proof.checks]
    assert kinds.count("occurrence") == (T if T > 1 else 0) and "forward" in kinds and "total" in kinds


def test_one_contribution_per_time_step_and_the_two_recursions():
    d = derive("rnn_bptt", steps=3)
    g = d.sweep.gradients["b"]
    assert [c.site for c in g.contributions] == ["a1", "a2", "a3"]
    assert d.formula("b") == "δ₁ + δ₂ + δ₃"
    text = d.text(proof=False)
    assert "h̄₂ = Wᵀ δ₃ + Vᵀ ō₂ = Wᵀ δ₃ + Vᵀ (ŷ₂ − y₂)" in text  # what flows back from t + 1
    assert "∂a₂/∂b = I + W diag(1 − h₁²) ∂a₁/∂b" in text  # the worked solution's recursion
    assert "∂ℓ₂/∂a₂ = (1 − h₂²) ⊙ (Vᵀ (ŷ₂ − y₂))" in text


def test_generic_activation_and_other_parameters():
    d = derive("rnn_bptt", steps=2, activation="g", wrt=["b", "W", "c"])
    assert d.proof.holds
    assert d.formula("W") == "δ₁ h₀ᵀ + δ₂ h₁ᵀ"


@cache
def _rnn(act, T):
    return derive("rnn_bptt", activation=act, steps=T, wrt=["b", "W", "U", "V", "c"])


@given(T=st.integers(1, 20), m=st.integers(1, 16), n=st.integers(1, 3), k=st.integers(2, 4),
       act=st.sampled_from(["tanh", "sigmoid", "softplus"]), seed=st.integers(0, 2**31))
def test_bptt_matches_jax_and_fd(T, m, n, k, act, seed):
    d = _rnn(act, T)
    values = random_params(d.graph, {"n": n, "m": m, "k": k}, "ce", np.random.default_rng(seed))
    report = check_values(d, values, FORWARDS["rnn_bptt"], jax_grad)
    assert report.passed, {p: (g["rel_error_jax"], g["rel_error_fd"]) for p, g in report.gradients.items()}
    w = worked_solution(d, values)
    assert w["rel_error_per_step_vs_reverse"] < 1e-12


def test_planted_off_by_one_time_step_is_caught(rng):
    d = derive("rnn_bptt", steps=4)
    defs = d.sweep.definitions
    h = {t: sp.MatrixSymbol(f"h{t}", *d.graph.nodes[f"h{t}"].shape) for t in range(5)}
    # tanh′ taken at the previous step's state in δ₃: a classic BPTT indexing slip
    defs["delta3"] = defs["delta3"].xreplace({h[3]: h[2]})
    values = random_params(d.graph, d.spec.check_sizes, "ce", rng)
    report = check_values(d, values, FORWARDS["rnn_bptt"], jax_grad)
    assert not report.passed
    assert report.gradients["b"]["rel_error_jax"] > 1e-4


RNN = {"W": [[0.5, -0.3], [0.2, 0.4]], "U": [[1.0], [-1.0]], "V": [[1.0, -1.0], [0.5, 0.5]],
       "b": [0.1, -0.2], "c": [0.0, 0.1], "x": [[1.0], [0.5], [-1.0]], "y": [[1, 0], [0, 1], [1, 0]]}


def _file(tmp_path, data):
    f = tmp_path / "rnn.json"
    f.write_text(json.dumps(data))
    return str(f)


def test_worked_solution_from_a_params_file(tmp_path, capsys):
    status = main(["rnn_bptt", "--check", "--params", _file(tmp_path, RNN), "--lr", "0.5", "--eps", "1e-5"])
    out = capsys.readouterr().out
    assert status == 0, out
    for needle in ["Central differences on b", "1e-05", "dŷ/do  =", "da/db  = [1, 0; 0, 1]",
                   "contribution (da/db)ᵀ dℓ/da", "reverse sweep: h̄ =", "(decreased)", "1 of 1 checks passed"]:
        assert needle in out, needle
    main(["rnn_bptt", "--check", "--params", _file(tmp_path, RNN), "--lr", "0.5", "--json"])
    data = json.loads(capsys.readouterr().out)
    w = data["checks"][0]["worked_solution"]
    assert w["T"] == 3 and len(w["steps"]) == 3 and w["step"]["decreased"] is True
    assert {"dl_dyhat", "dyhat_do", "dl_do", "dl_dh", "dl_da", "da_db", "contribution"} <= set(w["steps"][0])


def test_a_step_that_raises_the_loss_is_called_out(tmp_path, capsys):
    # a linear RNN with squared error is quadratic in b: a large step overshoots the minimum
    args = ["--activation", "identity", "--output-activation", "identity", "--loss", "mse"]
    assert main(["rnn_bptt", "--check", "--params", _file(tmp_path, RNN), "--lr", "5", *args]) == 0
    assert "THE LOSS DID NOT DECREASE" in capsys.readouterr().out
    main(["rnn_bptt", "--check", "--params", _file(tmp_path, RNN), "--lr", "0.05", *args])
    assert "(decreased)" in capsys.readouterr().out


@pytest.mark.parametrize("change,message", [
    ({"x": [1.0, 2.0]}, "key 'x' must be a non-empty list of T input vectors"),
    ({"y": [[1, 0]]}, "key 'y' must be a list of 3 target vectors"),
    ({"W": [[0.5, -0.3, 0.1], [0.2, 0.4, 0.1]]}, "key 'W' has shape 2×3 but expected m×m = 2×2"),
    ({"h0": [0.0]}, "key 'h0' has shape 1 but expected m = 2 (m = 2 from 'W')"),
    ({"y": [[0.5, 0.1], [0, 1], [1, 0]]}, "key 'y1' must be a probability vector for loss 'ce'"),
])
def test_bad_rnn_params_are_one_line(tmp_path, capsys, change, message):
    status = main(["rnn_bptt", "--check", "--params", _file(tmp_path, {**RNN, **change})])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and message in err, err


@pytest.mark.parametrize("argv,message", [
    (["rnn_bptt", "--steps", "0"], "--steps must be a whole number from 1 to 50"),
    (["rnn_bptt", "--check", "--eps", "-1"], "--eps must be a positive finite number"),
    (["rnn_bptt", "--check", "--lr", "nan"], "--lr must be a positive finite number"),
    (["shared_bias", "--check", "--lr", "0.1"], "--eps and --lr are for rnn_bptt --check"),
])
def test_bad_rnn_usage(capsys, argv, message):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_rnn_weights_are_the_textbook_bptt_equations():
    d = derive("rnn_bptt", wrt=["W", "U", "V", "c"], steps=10)
    assert d.formula("W") == " + ".join(f"δ{_sub(t)} h{_sub(t - 1)}ᵀ" for t in range(1, 11))
    assert d.formula("U") == " + ".join(f"δ{_sub(t)} x{_sub(t)}ᵀ" for t in range(1, 11))
    assert d.formula("V") == " + ".join(f"ō{_sub(t)} h{_sub(t)}ᵀ" for t in range(1, 11))
    assert d.formula("c") == " + ".join(f"ō{_sub(t)}" for t in range(1, 11))
    # the component form is indexed structurally (no summation algorithm): Σ_t δ_t[i]·h_{t−1}[j]
    idx, comp = d.elementwise("W", expanded=False)
    assert sorted(d.u(comp).split(" + ")) == sorted(f"δ{_sub(t)}[i]·h{_sub(t - 1)}[j]" for t in range(1, 11))


def _sub(t):
    return str(t).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))


def test_rnn_weights_prove_and_check():
    from checks import check_derivation

    d = derive("rnn_bptt", wrt=["W", "U", "V", "c"], steps=2)
    assert d.proof.holds and {c.param for c in d.proof.checks} == {"W", "U", "V", "c"}
    report = check_derivation("rnn_bptt", {"steps": 2}, wrt=["W", "U", "V", "c"], seed=0)
    assert report.passed and report.checks[0].worked is None  # the worked solution is b's
