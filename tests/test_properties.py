"""Hypothesis: derived gradient vs JAX vs finite differences over sizes,
activations, losses and random parameters."""
from functools import cache

import numpy as np
from hypothesis import assume, given, strategies as st

from checks import TOLERANCES, check_values, random_params, relative_error
from derive import derive
from numeric import ACTIVATIONS, FORWARDS, compile_sweep, richardson
from numeric.autodiff import jax_grad

HIDDEN = ["sigmoid", "tanh", "relu", "softplus", "identity"]
OUTPUT_LOSS = [("identity", "mse"), ("sigmoid", "bce"), ("softmax", "ce"), ("tanh", "mse"),
               ("sigmoid", "mse"), ("softplus", "mse"), ("softmax", "bce")]


@cache
def _derivation(act, out, loss):
    d = derive("shared_bias", activation=act, output_activation=out, loss=loss, wrt=["b", "W", "U"])
    return d, compile_sweep(d.sweep)


@given(
    d=st.integers(1, 4),
    m=st.integers(1, 4),
    act=st.sampled_from(HIDDEN),
    out_loss=st.sampled_from(OUTPUT_LOSS),
    seed=st.integers(0, 2**32 - 1),
    scale=st.floats(0.3, 2.0),
)
def test_derived_matches_jax_and_finite_differences(d, m, act, out_loss, seed, scale):
    out, loss = out_loss
    assume(not (out == "softmax" and loss == "bce" and m == 1))  # ŷ ≡ 1: bce undefined
    deriv, _ = _derivation(act, out, loss)
    values = random_params(deriv.graph, {"d": d, "m": m}, loss, np.random.default_rng(seed))
    for k in ("W", "U", "b"):
        values[k] = values[k] * scale
    if act == "relu":  # keep clear of the kink, where no gradient exists
        z1 = values["W"] @ values["x"] + values["b"]
        values["b"] = values["b"] + np.where(np.abs(z1) < 1e-2, 0.1, 0.0)
    if out in ("tanh", "sigmoid") and loss == "mse":  # saturated output (tanh′(7) ≈ 3e-6): the loss barely
        # moves and the fixed relative tolerances measure rounding, not the derivation; keep |z2| ≤ 5
        h1 = ACTIVATIONS[act](values["W"] @ values["x"] + values["b"])
        assume(np.max(np.abs(values["U"] @ h1 + values["b"])) <= 5)
    report = check_values(deriv, values, FORWARDS["shared_bias"], jax_grad)
    assert report.passed, report.to_dict()
    for g in report.gradients.values():
        assert g["rel_error_jax"] <= TOLERANCES["jax"]
        assert g["rel_error_fd"] <= TOLERANCES["finite_difference"]


def _untied_loss(p, b1, b2, xp):
    # the shared-bias net with its two occurrences of b given separately, written here from P1
    h1 = xp.tanh(p["W"] @ p["x"] + b1)
    yhat = 0.5 * (1 + xp.tanh(0.5 * (p["U"] @ h1 + b2)))
    return -xp.sum(p["y"] * xp.log(yhat) + (1 - p["y"]) * xp.log(1 - yhat))


@given(seed=st.integers(0, 2**32 - 1), m=st.integers(1, 4))
def test_each_contribution_is_the_gradient_of_its_occurrence(seed, m):
    """hidden-path contribution = ∂L/∂b₁ and output-path = ∂L/∂b₂ of the untied model (JAX)."""
    from numeric.autodiff import jax, jnp

    deriv, run = _derivation("tanh", "sigmoid", "bce")
    values = random_params(deriv.graph, {"d": 2, "m": m}, "bce", np.random.default_rng(seed))
    parts = dict(run(values)["contributions"]["b"])
    jp = {k: jnp.asarray(v) for k, v in values.items()}
    g1, g2 = jax.grad(lambda b1, b2: _untied_loss(jp, b1, b2, jnp), argnums=(0, 1))(jp["b"], jp["b"])
    assert relative_error(parts["hidden"], np.asarray(g1)) < 1e-12
    assert relative_error(parts["output"], np.asarray(g2)) < 1e-12


def test_an_engine_bug_propagates_through_the_compiled_check(rng):
    """Plant the bug in the derivation itself (U instead of Uᵀ in δ_hidden), not in a gradient
    function: the compiled sweep that --check evaluates must then disagree with both oracles."""
    import sympy as sp

    from derive import derive as fresh

    d = fresh("shared_bias", activation="tanh", output_activation="identity", loss="mse")
    U = sp.MatrixSymbol("U", *d.graph.nodes["U"].shape)
    defs = d.sweep.definitions
    defs["delta_hidden"] = defs["delta_hidden"].xreplace({sp.Transpose(U): U})
    values = random_params(d.graph, {"d": 3, "m": 3}, "mse", rng)
    report = check_values(d, values, FORWARDS["shared_bias"], jax_grad)
    assert not report.passed
    assert report.gradients["b"]["rel_error_jax"] > 1e-3


def test_planted_wrong_gradients_fail_the_check(rng):
    deriv, run = _derivation("sigmoid", "sigmoid", "bce")
    values = random_params(deriv.graph, {"d": 3, "m": 3}, "bce", rng)
    fwd = FORWARDS["shared_bias"]

    def only_output_path(v):
        r = run(v)
        return {"b": r["contributions"]["b"][1][1]}

    def sign_flipped(v):
        return {"b": -run(v)["gradients"]["b"]}

    def scaled(v):  # autograd's classic plant: a gradient off by 0.1 %
        return {"b": run(v)["gradients"]["b"] * 1.001}

    for planted in (only_output_path, sign_flipped, scaled):
        report = check_values(deriv, values, fwd, jax_grad, gradient_fn=planted)
        assert not report.passed, planted.__name__
        g = report.gradients["b"]
        assert g["rel_error_jax"] > 1e-4 and g["rel_error_fd"] > 1e-4
    honest = check_values(deriv, values, fwd, jax_grad)
    assert honest.passed


def test_finite_differences_agree_with_jax_on_the_independent_forward(rng):
    deriv, _ = _derivation("softplus", "softmax", "ce")
    values = random_params(deriv.graph, {"d": 4, "m": 3}, "ce", rng)
    f = FORWARDS["shared_bias"]
    fd, est = richardson(lambda b: f({**values, "b": b}, "softplus", "softmax", "ce"), values["b"])
    jg = jax_grad(lambda q, xp: f(q, "softplus", "softmax", "ce", xp), values, ["b"])["b"]
    assert relative_error(fd, jg) < 1e-9
    assert np.all(est < 1e-6)
