"""input_gradient (P2) and sigmoid_mlp (P3): proofs, the known answers, numbers, attribution."""
import json
from functools import cache

import numpy as np
import pytest
from hypothesis import given, strategies as st

from checks import TOLERANCES, check_values, random_params, relative_error
from derive import derive
from derive.cli import main
from numeric import FORWARDS, input_gradients, mlp_loss
from numeric.autodiff import jax, jax_grad, jnp


@pytest.mark.parametrize("layers,expected", [
    (1, "W₁ᵀ (g′(z₁) ⊙ (W₂ᵀ (ŷ − y)))"),
    (2, "W₁ᵀ (g′(z₁) ⊙ (W₂ᵀ (g′(z₂) ⊙ (W₃ᵀ (ŷ − y)))))"),
])
def test_input_gradient_matrix_form_and_proof(layers, expected):
    d = derive("input_gradient", layers=layers)
    assert d.formula("x") == "W₁ᵀ δ₁"
    assert d.formula("x", "expanded") == expected
    assert d.proof.holds


@pytest.mark.parametrize("act", ["sigmoid", "relu"])
def test_input_gradient_concrete_activations_prove(act):
    d = derive("input_gradient", activation=act, layers=1)
    assert d.proof.holds
    if act == "sigmoid":
        assert d.formula("x", "expanded") == "W₁ᵀ (h₁ ⊙ (1 − h₁) ⊙ (W₂ᵀ (ŷ − y)))"


def test_input_gradient_text_answers_p2():
    text = derive("input_gradient", layers=1, activation="sigmoid").text(proof=False)
    for needle in ["How backpropagation is modified", "x̄ = W₁ᵀ δ₁", "Pseudocode: the input gradient",
                   "        delta2 = yhat - y", "        x_bar = W1.T @ delta1",
                   "Pseudocode: ranking features", "mean over n of |G[n, i]|",
                   "Why the magnitude measures contribution", "first-order"]:
        assert needle in text, needle


def test_sigmoid_mlp_gives_the_p3_answers_exactly():
    d = derive("sigmoid_mlp")
    got = {p: d.u(d.elementwise(p)[1]) for p in ("b2", "W2", "b1", "W1")}
    assert got == {
        "b2": "ŷ − y",
        "W2": "(ŷ − y)·z₁[h]",
        "b1": "(ŷ − y)·W₂[h]·z₁[h]·(1 − z₁[h])",
        "W1": "(ŷ − y)·W₂[h]·z₁[h]·(1 − z₁[h])·x[j]",
    }
    assert d.proof.holds
    text = d.text(proof=False)
    assert "a₁   H×1      H×N" in text and "W₂   1×H      1×H" in text
    assert "∂L/∂W₁[h,j] = ∂L/∂a₁[h] · ∂a₁[h]/∂W₁[h,j] = δ₁[h]·x[j]" in text
    assert "sigmoid output + bce loss: SymPy cancels the product" in text


def test_any_leaf_can_be_differentiated():
    d = derive("sigmoid_mlp", wrt=["b1", "W1", "x"])
    assert d.formula("x") == "W₁ᵀ δ₁"
    assert d.proof.holds
    with pytest.raises(Exception, match="choose from: x, W1, b1, W2, b2"):
        derive("sigmoid_mlp", wrt=["y"])


@cache
def _derivation(name, act, layers=None):
    opts = {"activation": act} if name != "sigmoid_mlp" else {}
    if layers:
        opts["layers"] = layers
    wrt = ["x", "W1", "b1"] if name == "input_gradient" else None
    return derive(name, wrt=wrt, **opts)


@given(layers=st.integers(1, 2), d=st.integers(1, 4), m=st.integers(1, 4), k=st.integers(2, 4),
       act=st.sampled_from(["sigmoid", "tanh", "relu", "softplus"]), seed=st.integers(0, 2**31))
def test_input_gradient_matches_jax_and_fd(layers, d, m, k, act, seed):
    deriv = _derivation("input_gradient", act, layers)
    sizes = {"d": d, "k": k, **{f"m{k}": m for k in range(1, layers + 1)}}
    values = random_params(deriv.graph, sizes, "ce", np.random.default_rng(seed))
    report = check_values(deriv, values, FORWARDS["input_gradient"], jax_grad)
    assert report.passed, report.to_dict()


@given(M=st.integers(1, 4), H=st.integers(1, 4), seed=st.integers(0, 2**31))
def test_sigmoid_mlp_matches_jax_and_fd(M, H, seed):
    deriv = _derivation("sigmoid_mlp", "sigmoid")
    values = random_params(deriv.graph, {"M": M, "H": H}, "bce", np.random.default_rng(seed))
    report = check_values(deriv, values, FORWARDS["sigmoid_mlp"], jax_grad)
    assert report.passed, report.to_dict()
    assert set(report.gradients) == {"b2", "W2", "b1", "W1"}


def _mlp(rng, sizes):
    return {**{f"W{k}": rng.normal(size=(sizes[k], sizes[k - 1])) for k in range(1, len(sizes))},
            **{f"b{k}": rng.normal(size=sizes[k]) * 0.1 for k in range(1, len(sizes))}}


@given(N=st.integers(1, 6), d=st.integers(1, 5), layers=st.integers(1, 2),
       act=st.sampled_from(["sigmoid", "tanh", "softplus"]), seed=st.integers(0, 2**31))
def test_batched_input_gradients_match_per_sample_jax(N, d, layers, act, seed):
    rng = np.random.default_rng(seed)
    params = _mlp(rng, [d] + [3] * layers + [3])
    X = rng.normal(size=(N, d))
    Y = rng.dirichlet(np.ones(3), size=N)
    att = input_gradients(params, X, Y, activation=act)
    jp = {k: jnp.asarray(v) for k, v in params.items()}
    per_sample = jax.vmap(jax.grad(lambda x, y: mlp_loss({**jp, "x": x, "y": y}, act, xp=jnp)))
    G = np.asarray(per_sample(jnp.asarray(X), jnp.asarray(Y)))
    assert att.gradients.shape == (N, d)
    assert relative_error(att.gradients, G) <= TOLERANCES["jax"]
    np.testing.assert_allclose(att.mean_abs, np.abs(G).mean(axis=0), rtol=1e-12)


def test_batched_sweep_without_canonical_pair_falls_back_per_sample(rng):
    params = _mlp(rng, [3, 4, 2])
    X, Y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    att = input_gradients(params, X, Y, activation="tanh", loss="mse")
    jp = {k: jnp.asarray(v) for k, v in params.items()}
    f = jax.vmap(jax.grad(lambda x, y: mlp_loss({**jp, "x": x, "y": y}, "tanh", loss="mse", xp=jnp)))
    assert relative_error(att.gradients, np.asarray(f(jnp.asarray(X), jnp.asarray(Y)))) <= 1e-12


def test_planted_dominant_feature_ranks_first(rng):
    # labels depend on feature 3 only; the network's first layer reads feature 3 strongly
    N, d = 400, 6
    X = rng.normal(size=(N, d))
    Y = np.eye(2)[(X[:, 3] > 0).astype(int)]
    W1 = rng.normal(size=(4, d)) * 0.05
    W1[:, 3] = [3.0, -3.0, 2.0, -2.0]
    params = {"W1": W1, "b1": np.zeros(4), "W2": np.array([[1.0, -1.0, 1.0, -1.0], [-1.0, 1.0, -1.0, 1.0]]),
              "b2": np.zeros(2)}
    names = ["a", "b", "c", "amenity_score", "e", "f"]
    att = input_gradients(params, X, Y, activation="tanh", names=names)
    assert att.ranking[0] == "amenity_score"
    assert att.mean_abs[3] > 5 * np.delete(att.mean_abs, 3).max()


def test_layers_and_params_errors_are_one_line(tmp_path, capsys):
    assert main(["input_gradient", "--layers", "0"]) == 2
    assert "--layers must be a whole number from 1 to 5; got 0" in capsys.readouterr().err
    f = tmp_path / "p.json"
    f.write_text(json.dumps({"W1": [[0.1, 0.2]], "b1": [0.0], "W2": [0.3], "b2": 0.1, "x": [1.0, -1.0], "y": 1}))
    assert main(["sigmoid_mlp", "--check", "--params", str(f)]) == 0
    assert "1 of 1 checks passed" in capsys.readouterr().out
    f.write_text(json.dumps({"W1": [[0.1, 0.2]], "b1": [0.0, 1.0], "W2": [0.3], "b2": 0.1, "x": [1.0, -1.0],
                             "y": 1}))
    assert main(["sigmoid_mlp", "--check", "--params", str(f)]) == 2
    assert "key 'b1' has shape 2 but expected H = 1" in capsys.readouterr().err
