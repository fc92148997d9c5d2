"""Typed losses and activations: derived, proved, checked and exported like the registered ones."""
import json

import pytest
import sympy as sp

from derive import derive
from derive.cli import main

LOSS = "(yhat_1 - 1/2)**2 - log(yhat_2)"


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("name,opts", [
    ("shared_bias", {"loss": LOSS, "activation": "z/(1+exp(-z))", "output_activation": "sigmoid"}),
    ("input_gradient", {"loss": "y_1*log(yhat_1) - yhat_2**2", "layers": 1, "activation": "tanh"}),
    ("sigmoid_mlp", {"loss": "(yhat_1 - y_1)**2", "activation": "softplus"}),
    ("rnn_bptt", {"loss": "(yhat_1 - y_1)**2 - y_2*log(yhat_2)", "steps": 2}),
])
def test_typed_derivations_are_proved(name, opts):
    d = derive(name, **opts)
    assert d.proof.holds, d.proof_text()


def test_the_loss_gradient_is_shown_as_sympy_computed_it():
    d = derive("shared_bias", loss=LOSS, output_activation="sigmoid")
    text = d.text(proof=False)
    assert "ℓ(ŷ, y) = (ŷ₁ − 1/2)² − log(ŷ₂)" in text
    assert "∂ℓ/∂ŷ₁ = 2·ŷ₁ − 1" in text and "∂ℓ/∂ŷ₂ = −1/ŷ₂" in text and "∂ℓ/∂ŷᵢ = 0 for i > 2" in text
    assert "δ_out = z̄₂ = σ′(z₂) ⊙ ŷ̄ = ŷ ⊙ (1 − ŷ) ⊙ ∇ŷℓ" in text
    tex = d.latex(proof=False)
    assert r"\frac{\partial \ell}{\partial \hat{y}_{2}} &= - \frac{1}{\hat{y}_{2}}" in tex
    rows = d.to_dict(proof=False)["typed"][0]["rows"]
    assert rows[1] == {"lhs": "∂ℓ/∂ŷ₁", "rhs": "2·ŷ₁ − 1",
                       "latex": r"\frac{\partial \ell}{\partial \hat{y}_{1}} = 2 \hat{y}_{1} - 1"}


def test_typed_activation_derivative_is_sympy_diff():
    d = derive("shared_bias", activation="z*tanh(z)", output_activation="identity", loss="mse")
    (heading, rows), = d.typed
    z = sp.Symbol("z")
    assert rows[0][:2] == ("g(z)", "z·tanh(z)")
    assert "sympy.diff" in heading
    # the printed derivative is SymPy's, whatever its form: check it is the right function
    assert rows[1][0] == "g′(z)"
    assert sp.simplify(d.graph.nodes["h1"].activation.derivative(z) - sp.diff(z * sp.tanh(z), z)) == 0


def test_a_loss_using_more_outputs_than_the_model_has_is_refused(capsys):
    status, out, err = run(capsys, "sigmoid_mlp", "--loss", "yhat_2 - y_1")
    assert status == 2 and out == ""
    assert "uses yhat_2, but sigmoid_mlp has 1 output: use yhat_1 and y_1" in err


def test_proof_sizes_grow_to_the_components_the_loss_uses():
    d = derive("shared_bias", loss="yhat_3**2", output_activation="identity", activation="tanh")
    assert d.spec.proof_sizes["m"] == 3
    assert d.proof.holds


def test_typed_loss_check_matches_jax_and_fd(capsys):
    status, out, err = run(capsys, "shared_bias", "--loss", LOSS, "--activation", "z/(1+exp(-z))", "--check",
                           "--json")
    assert status == 0, err
    rep = json.loads(out)
    (c,) = rep["checks"]
    assert c["output_activation"] == "sigmoid"  # where log(ŷ₂) is defined
    assert c["gradients"]["b"]["rel_error_jax"] <= 1e-12
    assert c["gradients"]["b"]["rel_error_fd"] <= 1e-7


def test_custom_per_step_loss_drives_the_rnn_check_from_a_params_file(tmp_path, capsys):
    params = {"W": [[0.5, -0.2], [0.1, 0.3]], "U": [[1.0], [-0.5]], "V": [[0.4, -0.6], [-0.3, 0.8]],
              "b": [0.1, -0.1], "c": [0.0, 0.2], "x": [[1.0], [0.5], [-1.0]],
              "y": [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]}
    f = tmp_path / "p.json"
    f.write_text(json.dumps(params))
    status, out, err = run(capsys, "rnn_bptt", "--loss", "(yhat_1 - y_1)**2 - y_2*log(yhat_2)", "--check",
                           "--params", str(f), "--lr", "0.1")
    assert status == 0, err
    assert "1 of 1 checks passed" in out
    assert "(yhat_1 - y_1)**2 - y_2*log(yhat_2)" in out
    assert "(decreased)" in out


@pytest.mark.parametrize("argv,message", [
    (["shared_bias", "--loss", "yhat_1 +"], "loss 'yhat_1 +': is not a valid expression"),
    (["shared_bias", "--activation", "x + 1"], "unknown name 'x' at column 1"),
    (["shared_bias", "--check", "--loss", "__import__('os')"], "'__import__' is not an allowed function"),
    (["rnn_bptt", "--output-activation", "z.conjugate()"], "attribute access"),
])
def test_bad_expressions_are_one_line_exit_2(capsys, argv, message):
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and message in err, err


def test_each_derivation_help_lists_its_params_keys(capsys):
    status, out, _ = run(capsys, "rnn_bptt", "--help")
    assert status == 0
    assert "--params FILE.json keys" in out and "x (list of T vectors of n)" in out
    assert "--wrt" in out and "h0, x1, x2, x3, W, U, b, V, c [b]" in out
    status, out, _ = run(capsys, "sigmoid_mlp", "-h")
    assert "W2 (1×H or a list of H)" in out
