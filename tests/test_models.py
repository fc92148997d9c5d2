"""Model files: every example derives, proves and passes --check; the results
are the textbook ones; a planted wrong rule is caught by the proof and the check."""
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from derive import load_model, model
from derive.cli import main
from derive.errors import UsageError
from derive.pdf import standalone
from test_latex import NEEDS_PDFLATEX  # one skip reason: pdflatex missing (CI installs it)
from derive.ops import OPERATORS
from derive.ops.elementwise import Elementwise

MODELS = sorted((Path(__file__).parent.parent / "examples" / "models").glob("*.gp"))
NAMES = [p.stem for p in MODELS]
pytest.importorskip("jax")


def _path(name):
    return str(next(p for p in MODELS if p.stem == name))


@pytest.mark.parametrize("path", MODELS, ids=NAMES)
def test_every_example_model_derives_proves_and_checks(path):
    from checks.model_check import check_model

    d = load_model(str(path))
    assert d.proof.holds, d.proof_text()
    assert {c.param for c in d.proof.checks} == set(d.wrt)
    if d.spec.functions or d.spec.losses:  # generic g, ℓ: nothing to compute with
        with pytest.raises(UsageError, match="declares generic"):
            check_model(d, seed=1)
        return
    report = check_model(d, seed=1)
    assert report.passed, report.to_dict()


# known answers, as the printer writes them (the derivations come from the engine)
EXPECTED = {
    ("softmax_regression", "W"): "λ W + (ŷ − y) xᵀ",
    ("softmax_regression", "b"): "ŷ − y",
    ("least_squares", "x"): "Aᵀ r",
    ("residual_block", "W2"): "(h − y) (relu(W₁ x + b₁))ᵀ",
    ("residual_block", "x"): "W₁ᵀ (relu′(W₁ x + b₁) ⊙ (W₂ᵀ (h − y))) + h − y",
    ("tied_autoencoder", "W"): "(h ⊙ (1 − h) ⊙ (W (x̂ − x))) xᵀ + h (x̂ − x)ᵀ",
    ("lstm_step", "c_prev"): "(1 − tanh(c)²) ⊙ (h − y) ⊙ o ⊙ f",
    ("lstm_step", "bf"): "f ⊙ (1 − f) ⊙ (1 − tanh(c)²) ⊙ (h − y) ⊙ o ⊙ c_prev",
    ("rnn_two_steps", "W"): "((1 − h₂²) ⊙ (Vᵀ (ŷ − y))) h₁ᵀ",
    ("gaussian_nll", "s"): "1/2 − (y − μ)²·exp(−s)/2",
}


@pytest.mark.parametrize("name,param", sorted(EXPECTED))
def test_results_are_the_textbook_ones(name, param):
    assert load_model(_path(name)).formula(param, "expanded") == EXPECTED[name, param]


def test_the_shared_bias_problem_as_stated():
    d = load_model(_path("shared_bias"))
    assert [o.equation for o in d.sweep.gradients["b"].occurrences] == ["h1", "yhat"]
    assert d.formula("b") == "g′(W x + b) ⊙ h̄₁ + g₁′(U h₁ + b) ⊙ ŷ̄"
    assert d.formula("b", "expanded") == "g′(W x + b) ⊙ (Uᵀ (g₁′(U h₁ + b) ⊙ ∇ŷℓ)) + g₁′(U h₁ + b) ⊙ ∇ŷℓ"
    assert [c.what for c in d.proof.checks] == ["occurrence", "path", "occurrence", "path", "total"]
    assert d.proof.holds


def test_tied_weights_are_untied_into_encoder_and_decoder():
    d = load_model(_path("tied_autoencoder"))
    g = d.sweep.gradients["W"]
    assert [o.equation for o in g.occurrences] == ["h", "xhat"]
    text = d.text()
    assert "Occurrences of W: used at 2 sites; untie them as W₍₁₎ in h, W₍₂₎ in x̂" in text
    assert "W̄₍₂₎ = h x̂̄ᵀ" in text  # the decoder Wᵀh: the adjoint of the transposed use
    assert [c.what for c in d.proof.checks] == ["occurrence", "occurrence", "total"]


def test_lstm_cell_gradient_flows_through_the_forget_gate():
    d = load_model(_path("lstm_step"))
    assert d.formula("c_prev") == "c̄ ⊙ f"
    assert "c̄ = tanh′(c) ⊙ h̄ ⊙ o = (1 − tanh(c)²) ⊙ h̄ ⊙ o" in d.text()
    assert d.formula("bf") == "σ′(Wf x + Uf h_prev + bf) ⊙ f̄"


def test_softmax_and_ce_cancel_with_the_assumption_stated():
    d = load_model(_path("softmax_regression"))
    steps = d.text()
    assert "SymPy cancels the product; assuming y sums to 1 (cross-entropy targets)" in steps
    assert "  assuming y sums to 1 (cross-entropy targets)" in d.proof_text()


def test_rnn_weights_sum_over_time_steps():
    d = load_model(_path("rnn_two_steps"))
    assert [o.equation for o in d.sweep.gradients["U"].occurrences] == ["h1", "h2"]
    assert [o.equation for o in d.sweep.gradients["b"].occurrences] == ["h1", "h2"]
    assert d.formula("U") == "(tanh′(U x₁ + b) ⊙ h̄₁) x₁ᵀ + (tanh′(W h₁ + U x₂ + b) ⊙ h̄₂) x₂ᵀ"


def test_python_api_takes_text():
    d = model("input x[n]\nparam w[n]\nL = sum(w * x) ** 2", name="square")
    assert d.formula("w") == "2·sum(w ⊙ x) x"
    assert d.proof.holds
    assert d.to_dict()["gradients"]["w"]["matrix"] == "2·sum(w ⊙ x) x"


def test_wrt_override_and_sizes():
    d = model("input x[n]\nparam w[n]\nL = sum(w * x) ** 2", wrt=["x"], sizes={"n": 4})
    assert d.wrt == ["x"] and d.proof.sizes == {"n": 4}
    assert d.proof.checks[0].components == 4


def test_json_has_the_built_in_schema(capsys):
    assert main([_path("softmax_regression"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"name", "forward", "shapes", "steps", "gradients", "proof"} <= set(out)
    assert out["gradients"]["W"]["matrix"] == "λ W + (ŷ − y) xᵀ"
    assert out["proof"]["holds"] is True
    assert main([_path("softmax_regression"), "--check", "--json", "--seed", "3"]) == 0
    check = json.loads(capsys.readouterr().out)
    g = check["checks"][0]["gradients"]["W"]
    assert check["passed"] and g["passed"] and g["rel_error_jax"] < 1e-12
    assert len(check["checks"][0]["contributions"]["W"]) == 3


def test_check_takes_params(tmp_path, capsys):
    p = tmp_path / "p.json"
    p.write_text(json.dumps({"x": [1.0, 2.0], "y": [0.25, 0.75, 0.0], "W": [[0.1, 0.2], [0.3, -0.1], [0.0, 0.5]],
                             "b": [0.0, 0.1, -0.2], "lam": 0.01}))
    assert main([_path("softmax_regression"), "--check", "--params", str(p)]) == 0
    out = capsys.readouterr().out
    assert "sizes: d = 2, k = 3" in out and "check passed" in out
    p.write_text(json.dumps({"x": [1.0, 2.0], "y": [0.5, 0.75, 0.0], "W": [[0.1, 0.2], [0.3, -0.1], [0.0, 0.5]],
                             "b": [0.0, 0.1, -0.2], "lam": 0.01}))
    assert main([_path("softmax_regression"), "--check", "--params", str(p)]) == 2
    assert "must sum to 1" in capsys.readouterr().err


def _planted(monkeypatch, name, factor):
    """Make one operator's VJP wrong by ``factor`` (as autograd's test_tests does)."""
    op = OPERATORS[name]
    right = type(op).vjp

    def wrong(self, *a, **k):
        out = right(self, *a, **k)
        return [None if v is None else factor * v for v in out] if self is op else out

    monkeypatch.setattr(type(op), "vjp", wrong)


def test_a_planted_wrong_vjp_fails_the_proof_and_the_check(monkeypatch):
    from checks.model_check import check_model

    _planted(monkeypatch, "tanh", 2.001)
    assert isinstance(OPERATORS["tanh"], Elementwise)
    d = model("input x[d]\ntarget y[d]\nparam W[d, d]\nh = tanh(W @ x)\nL = mse(h, y)", name="planted")
    assert not d.proof.holds
    report = check_model(d, seed=0)
    assert not report.passed
    assert report.checks[0].gradients["W"]["diagnosis"] != "ok"


def test_a_failed_proof_exits_1(monkeypatch, tmp_path, capsys):
    _planted(monkeypatch, "sigmoid", -1)
    f = tmp_path / "m.gp"
    f.write_text("input x[d]\nparam w[d]\nL = sum(sigmoid(w * x))\n")
    assert main([str(f)]) == 1
    assert "FAILS" in capsys.readouterr().out


@pytest.mark.parametrize("fmt", ["--latex", "--markdown"])
def test_latex_and_markdown_exports(fmt, capsys):
    assert main([_path("tied_autoencoder"), fmt]) == 0
    out = capsys.readouterr().out
    assert r"\bar{W}_{(2)}" in out and r"\frac{\partial L}{\partial W}" in out


def test_numeric_forward_is_an_independent_reading():
    from numeric.model import derived, loss_function

    d = load_model(_path("batch_mlp"))
    rng = np.random.default_rng(0)
    values = {"X": rng.normal(size=(4, 3)), "Y": rng.dirichlet(np.ones(2), size=4), "W1": rng.normal(size=(5, 3)),
              "b1": rng.normal(size=5), "W2": rng.normal(size=(2, 5)), "b2": rng.normal(size=2)}
    Z = np.maximum(values["X"] @ values["W1"].T + values["b1"], 0) @ values["W2"].T + values["b2"]
    logp = Z - np.log(np.sum(np.exp(Z), axis=1, keepdims=True))
    by_hand = -np.mean(np.sum(values["Y"] * logp, axis=1))
    assert loss_function(d.spec)(values) == pytest.approx(by_hand, rel=1e-14)
    assert derived(d, values)["loss"] == pytest.approx(by_hand, rel=1e-12)


@pytest.mark.parametrize("path", MODELS, ids=NAMES)
def test_latex_is_ascii(path):
    body = load_model(str(path)).latex()
    assert all(ord(ch) < 128 for ch in body), [ch for ch in body if ord(ch) >= 128][:5]


@NEEDS_PDFLATEX
@pytest.mark.parametrize("path", MODELS, ids=NAMES)
def test_model_document_compiles_without_overfull_lines(tmp_path, path):
    (tmp_path / "d.tex").write_text(standalone(load_model(str(path)).latex()))
    r = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "d.tex"], cwd=tmp_path,
                       capture_output=True, text=True, errors="replace", timeout=300)
    assert r.returncode == 0, r.stdout[-2000:]
    log = (tmp_path / "d.log").read_text(errors="replace")
    assert [ln for ln in log.splitlines() if ln.startswith("Overfull")] == []


def test_report_takes_model_files(tmp_path, capsys):
    out = tmp_path / "r.tex"
    assert main(["report", _path("least_squares"), "trace", "-o", str(out)]) == 0
    tex = out.read_text()
    assert r"\section{Least squares}" in tex and r"\subsection*{Numeric check}" in tex


@pytest.mark.parametrize("name,param,component", [
    ("softmax_regression", "W", "λ·W[i,j] + (ŷ[i] − y[i])·x[j]"),
    ("softmax_regression", "b", "ŷ[i] − y[i]"),
    ("least_squares", "x", "Σ_j A[j,i]·r[j]"),
    ("lstm_step", "c_prev", "(1 − tanh(c[i])²)·(h[i] − y[i])·f[i]·o[i]"),
])
def test_component_forms(name, param, component):
    d = load_model(_path(name))
    assert d.u(d.component(param)[1]) == component
    assert d.to_dict(proof=False)["gradients"][param]["elementwise"]["expanded"] == component


def test_a_matrix_power_from_repeated_factors(tmp_path, capsys):
    """SymPy writes W W as W²: it evaluates, prints and checks like the product it is."""
    from checks.model_check import check_model

    d = model("input x[n]\nparam W[n, n]\nL = sum(W.T @ (W.T @ x))\nwrt x, W", name="power")
    assert d.formula("x") == "W² 1" and d.proof.holds
    assert check_model(d, seed=0).passed


def test_random_check_values_stay_inside_log_and_sqrt_domains(capsys):
    from checks.model_check import check_model

    d = model("input x[n]\nparam w[n]\nconst c\nL = sum(sqrt(w * w + x) + log(w)) + c ** 0.5\n")
    report = check_model(d, seed=1)
    assert report.passed and any(n.startswith("random values drawn in [0.2, 1]") for n in report.notes)


def test_an_input_that_is_also_the_target_is_differentiated_through_both():
    from checks.model_check import check_model

    d = load_model(_path("tied_autoencoder"), wrt=["x"])
    assert [o.equation for o in d.sweep.gradients["x"].occurrences] == ["h", "L"]
    assert d.formula("x", "expanded") == "Wᵀ (h ⊙ (1 − h) ⊙ (W (x̂ − x))) + x − x̂"
    assert d.proof.holds and check_model(d, seed=2).passed


def test_every_vector_occurrence_is_proved_along_its_operator_paths():
    d = load_model(_path("layer_norm"))
    paths = [c for c in d.proof.checks if c.what == "path"]
    assert [c.label for c in paths if c.param == "x"] == ["x₍₁₎ in μ, 3 operator paths", "x₍₂₎ in xc, 3 operator paths"]
    assert {c.param for c in paths} == {"x", "gamma", "beta"} and all(c.holds for c in paths)


def test_a_planted_wrong_local_jacobian_fails_only_the_path_check(monkeypatch):
    from derive.ops.arithmetic import Mul

    right = Mul.jacobian_T
    monkeypatch.setattr(Mul, "jacobian_T", lambda self, *a, **k: 2 * right(self, *a, **k))
    d = load_model(_path("layer_norm"))
    failed = {c.what for c in d.proof.checks if not c.holds}
    assert failed == {"path"}
