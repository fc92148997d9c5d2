"""The command line: output, JSON, exit codes, and every bad-input case."""
import json
import subprocess
import sys

import pytest

from derive.cli import main

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_list_names_every_derivation(capsys):
    status, out, _ = run(capsys, "list")
    assert status == 0
    names = [line.split()[0] for line in out.splitlines()]
    assert names == ["beta_binomial", "input_gradient", "normal_normal", "rnn_bptt", "shared_bias", "sigmoid_mlp",
                     "trace", "report"]
    assert "P1: " in out and "P2: " in out and "P3: " in out


def test_shared_bias_reads_as_a_complete_answer(capsys):
    status, out, _ = run(capsys, "shared_bias")
    assert status == 0
    for needle in [
        "Forward pass", "z₁   = W x + b", "z₂   = U h₁ + b",
        "1. hidden path: b₍₁₎ → z₁ → h₁ → z₂ → ŷ → L",
        "2. output path: b₍₂₎ → z₂ → ŷ → L",
        "= I · diag(g′(z₁)) · Uᵀ · diag(g₁′(z₂)) · ∇ŷℓ",
        "δ_out = z̄₂ = g₁′(z₂) ⊙ ŷ̄ = g₁′(z₂) ⊙ ∇ŷℓ",
        "δ_hidden = z̄₁ = g′(z₁) ⊙ h̄₁ = g′(z₁) ⊙ (Uᵀ δ_out)",
        "∂L/∂b = b̄₍₁₎ + b̄₍₂₎ = δ_hidden + δ_out",
        "= g′(z₁) ⊙ (Uᵀ (g₁′(z₂) ⊙ ∇ŷℓ)) + g₁′(z₂) ⊙ ∇ŷℓ",
        "∂L/∂b[i] = δ_hidden[i] + δ_out[i]",
        "(d = 2, m = 2): HOLDS",
        "Discussion",
    ]:
        assert needle in out, needle


def test_sigmoid_bce_shows_the_reduction(capsys):
    status, out, _ = run(capsys, "shared_bias", "--activation", "sigmoid", "--output-activation", "sigmoid",
                         "--loss", "bce")
    assert status == 0
    assert "δ_out = z̄₂ = σ′(z₂) ⊙ ŷ̄ = ŷ ⊙ (1 − ŷ) ⊙ ((ŷ − y) ⊘ (ŷ ⊙ (1 − ŷ))) = ŷ − y" in out
    assert "= h₁ ⊙ (1 − h₁) ⊙ (Uᵀ (ŷ − y)) + ŷ − y" in out


def test_json_derivation_schema(capsys):
    status, out, _ = run(capsys, "shared_bias", "--json")
    assert status == 0
    data = json.loads(out)
    assert {"name", "description", "options", "forward", "shapes", "steps", "gradients", "proof"} <= set(data)
    b = data["gradients"]["b"]
    assert b["matrix"] == "δ_hidden + δ_out"
    assert [c["path"] for c in b["contributions"]] == ["hidden", "output"]
    assert data["proof"]["holds"] is True


def test_check_json_schema_and_exit_zero(capsys):
    status, out, _ = run(capsys, "shared_bias", "--check", "--json", "--activation", "tanh")
    assert status == 0
    data = json.loads(out)
    assert data["name"] == "shared_bias" and data["passed"] is True
    assert len(data["checks"]) == 4
    c = data["checks"][0]
    assert {"activation", "output_activation", "loss", "loss_value", "gradients", "contributions", "passed"} <= set(c)
    g = c["gradients"]["b"]
    assert {"derived", "jax", "finite_difference", "rel_error_jax", "rel_error_fd"} <= set(g)
    assert g["rel_error_jax"] < 1e-12 and g["rel_error_fd"] < 1e-7
    assert [p["path"] for p in c["contributions"]["b"]] == ["hidden", "output"]


def test_same_seed_same_output(capsys):
    a = run(capsys, "shared_bias", "--check", "--seed", "7", "--activation", "relu")
    b = run(capsys, "shared_bias", "--check", "--seed", "7", "--activation", "relu")
    c = run(capsys, "shared_bias", "--check", "--seed", "8", "--activation", "relu")
    assert a == b
    assert a[1] != c[1]


def test_check_with_params_file(tmp_path, capsys):
    f = tmp_path / "p.json"
    f.write_text(json.dumps({"W": [[0.1, -0.2], [0.3, 0.4]], "U": [[0.5, -0.6], [0.7, 0.8]], "b": [0.1, -0.1],
                             "x": [1.0, 2.0], "y": [0.0, 1.0]}))
    status, out, _ = run(capsys, "shared_bias", "--check", "--params", str(f), "--activation", "sigmoid",
                         "--output-activation", "softmax", "--loss", "ce")
    assert status == 0, out
    assert "1 of 1 checks passed" in out
    assert "hidden path" in out and "output path" in out


def _params(tmp_path, text):
    f = tmp_path / "p.json"
    f.write_text(text)
    return str(f)


GOOD = {"W": [[0.1, 0.2], [0.3, 0.4]], "U": [[0.5, 0.6], [0.7, 0.8]], "b": [0.1, 0.2], "x": [1.0, 2.0],
        "y": [0.0, 1.0]}


def _with(**kw):
    d = dict(GOOD)
    d.update(kw)
    return json.dumps(d)


BAD = [
    (["shared-bias"], "unknown derivation 'shared-bias'; choose one of: beta_binomial, input_gradient, "
                      "normal_normal, rnn_bptt, shared_bias, sigmoid_mlp"),
    (["shared_bias", "--activation", "swish"], "unknown hidden activation 'swish'; choose one of:"),
    (["shared_bias", "--activation", "softmax"], "softmax is an output activation, not a hidden one"),
    (["shared_bias", "--activation", ""], "unknown hidden activation ''"),
    (["nope", "--check"], "unknown derivation 'nope'"),
    (["shared_bias", "--check", "--seed", "-1"], "invalid seed -1"),
    (["shared_bias", "--seed", "3"], "--seed is for numeric checks; add --check"),
    (["shared_bias", "--check", "--latex"], "--check prints a text table"),
    (["shared_bias", "-o", ""], "-o needs a file name"),
    (["shared_bias", "--output-activation", "soft"], "unknown activation 'soft'"),
    (["shared_bias", "--loss", "hinge"], "unknown loss 'hinge'; choose one of: bce, ce, l, mse"),
    (["shared_bias", "--frobnicate"], "unrecognized arguments: --frobnicate"),
    (["shared_bias", "--wrt", "V"], "cannot differentiate shared_bias with respect to 'V'"),
    (["shared_bias", "--check", "--activation", "g"], "--check needs a concrete activation; got 'g'"),
    (["shared_bias", "--check", "--loss", "bce", "--output-activation", "identity"], "loss 'bce' needs outputs"),
    (["shared_bias", "--check", "--seed", "abc"], "invalid seed 'abc'"),
]


@pytest.mark.parametrize("argv,message", BAD)
def test_bad_usage_is_one_line_and_exit_2(capsys, argv, message):
    status, out, err = run(capsys, *argv)
    assert status == 2
    assert out == ""
    assert err.count("\n") == 1 and message in err, err


BAD_PARAMS = [
    ("{not json", "is not valid JSON"),
    (json.dumps({k: v for k, v in GOOD.items() if k != "U"}), "missing key 'U'"),
    (_with(V=[1.0]), "unknown key 'V'"),
    (_with(U=[[0.5, 0.6, 0.1], [0.7, 0.8, 0.1]]), "key 'U' has shape 2×3 but expected m×m = 2×2"),
    (_with(b=[0.1, 0.2, 0.3]), "key 'b' has shape 3 but expected m = 2"),
    (_with(W=[0.1, 0.2]), "key 'W' has shape 2 but must be a matrix"),
    (_with(x=[[1.0], [2.0]]), "key 'x' has shape 2×1 but must be a vector"),
    (_with(b=["a", 0.2]), "key 'b'"),
    (_with(W=[[0.1, 0.2], [0.3]]), "key 'W' is not a rectangular list"),
    (_with(b=[float("nan"), 0.2]), "key 'b' contains NaN or Inf"),
    (_with(b=["1", "2"]), "key 'b' has entries that are not numbers"),
    (_with(b=[True, False]), "key 'b' has entries that are not numbers"),
    (_with(b=[[[[0.1]]], 0.2]), "key 'b' has entries that are not numbers, or is nested too deeply"),
    (_with(b=[10**400, 1]), "has 401 digits; at most 30"),
    ("[" * 100000 + "]" * 100000, "nested too deeply"),
    (_with(x=[1e400, 0.0]), "key 'x' contains NaN or Inf"),
    (json.dumps([1, 2]), "expected a JSON object with keys W, U, b, x, y"),
]


@pytest.mark.parametrize("text,message", BAD_PARAMS)
def test_bad_params_are_one_line_and_exit_2(tmp_path, capsys, text, message):
    status, out, err = run(capsys, "shared_bias", "--check", "--params", _params(tmp_path, text),
                           "--activation", "tanh", "--output-activation", "identity", "--loss", "mse")
    assert status == 2, out
    assert err.count("\n") == 1 and message in err, err


def test_non_utf8_params_file(tmp_path, capsys):
    f = tmp_path / "p.json"
    f.write_bytes(b"\xff\xfe{}")
    status, _, err = run(capsys, "shared_bias", "--check", "--params", str(f), "--activation", "tanh")
    assert status == 2 and "is not UTF-8 text" in err


def test_json_output_to_a_tex_named_file_stays_json(tmp_path, capsys):
    target = tmp_path / "x.tex"
    assert run(capsys, "shared_bias", "--json", "--no-proof", "-o", str(target))[0] == 0
    assert json.loads(target.read_text())["name"] == "shared_bias"


def test_missing_params_file(capsys):
    status, _, err = run(capsys, "shared_bias", "--check", "--params", "/nonexistent/p.json",
                         "--activation", "tanh")
    assert status == 2 and "cannot read '/nonexistent/p.json'" in err


def test_ce_targets_must_sum_to_one(tmp_path, capsys):
    path = _params(tmp_path, _with(y=[0.5, 0.7]))
    status, _, err = run(capsys, "shared_bias", "--check", "--params", path, "--activation", "tanh",
                         "--output-activation", "softmax", "--loss", "ce")
    assert status == 2 and "must be a probability vector for loss 'ce'" in err
    for bad, loss, message in (([2.0, -1.0], "ce", "entries ≥ 0"), ([1.5, 0.2], "bce", "must lie in [0, 1]")):
        path = _params(tmp_path, _with(y=bad))
        out_act = "softmax" if loss == "ce" else "sigmoid"
        status, _, err = run(capsys, "shared_bias", "--check", "--params", path, "--activation", "tanh",
                             "--output-activation", out_act, "--loss", loss)
        assert status == 2 and message in err, err
    path = _params(tmp_path, _with(y=[0.5, 0.5 + 5e-10]))  # within 1e-9 of the simplex: renormalised
    status, out, _ = run(capsys, "shared_bias", "--check", "--params", path, "--activation", "tanh",
                         "--output-activation", "softmax", "--loss", "ce")
    assert status == 0 and "divided by its sum" in out


def test_a_correct_map_passes_with_a_flat_prior_a_vague_one_and_many_points(capsys):
    data = ",".join(str(1 + 0.1 * i) for i in range(60))
    for argv in (["beta_binomial", "--alpha", "1", "--beta", "1"], ["normal_normal", "--tau2", "1e6"],
                 ["normal_normal", "--data", data], ["normal_normal", "--data", "-1.5", "-2", "-0.3"],
                 ["normal_normal", "--data", "-1.5,-2,-0.3"]):
        status, out, err = run(capsys, *argv, "--check")
        assert status == 0 and "checks passed" in out, (argv, out[-300:], err)


def test_check_failure_exits_1(monkeypatch, capsys):
    import checks.derivation_check as dc

    real = dc.check_values

    def planted(d, values, forward, jax_grad, gradient_fn=None):
        run_ = __import__("numeric").compile_sweep(d.sweep)
        return real(d, values, forward, jax_grad, gradient_fn=lambda v: {"b": -run_(v)["gradients"]["b"]})

    monkeypatch.setattr(dc, "check_values", planted)
    status, out, _ = run(capsys, "shared_bias", "--check", "--activation", "tanh", "--loss", "mse",
                         "--output-activation", "identity")
    assert status == 1
    assert "CHECK FAILED" in out and "✗" in out


def test_derivation_does_not_import_jax():
    code = ("import sys, io, contextlib\nfrom derive.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n    main(['shared_bias'])\n"
            "print('jax' in sys.modules, 'numeric' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False False"


def test_module_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "derive", "shared_bias", "--no-proof"], capture_output=True,
                         text=True, cwd=ROOT)
    assert out.returncode == 0 and "δ_hidden + δ_out" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "derive", "nope"], capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_latex_and_markdown_render(tmp_path, capsys):
    status, out, _ = run(capsys, "shared_bias", "--latex", "--no-proof")
    assert status == 0 and r"\begin{align*}" in out and r"\delta_{\text{out}}" in out
    status, out, _ = run(capsys, "shared_bias", "--markdown", "--no-proof")
    assert status == 0 and "$$" in out
    target = tmp_path / "sb.tex"
    status, _, err = run(capsys, "shared_bias", "--no-proof", "-o", str(target))
    assert status == 0 and target.read_text().startswith(r"\documentclass")


def test_params_need_only_what_the_loss_reads(tmp_path, capsys):
    """P5's loss (ŷ₁ − ½)² − log ŷ₂ reads no target: its parameter file needs no 'y'."""
    p = {"W": [[0.5, -0.3], [0.2, 0.4]], "U": [[1.0, 0.0], [0.0, 1.0]], "V": [[1.0, -1.0], [0.5, 0.5], [-0.5, 1.0]],
         "b": [0.1, -0.1], "c": [0.0, 0.1, -0.1], "x": [[1.0, 0.5], [0.2, -0.4], [0.3, 0.3]]}
    path = tmp_path / "rnn.json"
    path.write_text(json.dumps(p))
    status, out, err = run(capsys, "rnn_bptt", "--loss", "(yhat_1 - 1/2)**2 - log(yhat_2)", "--check",
                           "--params", str(path))
    assert status == 0 and "1 of 1 checks passed" in out, err
    status, _, err = run(capsys, "rnn_bptt", "--loss", "ce", "--check", "--params", str(path))
    assert status == 2 and "missing key 'y1'" in err


def test_bayes_checks_at_zero_estimates_and_float64_edges(capsys):
    for argv in (["--data", "0.1", "0.2", "-0.3"], ["--data", "1", "-1"], ["--data", "50"], ["--data", "1", "-2e3"]):
        status, out, err = run(capsys, "normal_normal", *argv, "--check")
        assert status == 0 and "checks passed" in out, (argv, out[-400:], err)
    status, _, err = run(capsys, "normal_normal", "--data", "1", "--sigma2", "1e-99", "--check")
    assert status == 4 and err.startswith("cannot judge: normal_normal --check: the numeric oracles leave float64")
    status, _, err = run(capsys, "beta_binomial", "--alpha", "1e99", "--beta", "1e-99", "--N", "1000000", "--y", "0",
                         "--check")
    assert status == 4 and "leave float64's range" in err


def test_a_params_file_holding_null_is_one_line(tmp_path, capsys):
    path = tmp_path / "null.json"
    path.write_text("null")
    for name in ("shared_bias", "rnn_bptt"):
        status, _, err = run(capsys, name, "--check", "--params", str(path))
        assert status == 2 and "expected a JSON object with keys" in err


def test_no_arguments_print_a_short_usage_with_the_derivations(capsys):
    assert main([], prog="gradproof") == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: gradproof {NAME | list | trace | report | MODEL.gp} [options]")
    assert "shared_bias" in out and "rnn_bptt" in out and "gradproof NAME --help" in out


def test_version_and_the_program_name_the_user_typed(capsys):
    from importlib import metadata

    assert main(["--version"], prog="gradproof") == 0
    assert capsys.readouterr().out.strip() == f"gradproof {metadata.version('gradproof')}"
    assert main(["--help"], prog="python -m gradproof") == 0
    assert capsys.readouterr().out.startswith("usage: python -m gradproof {NAME | list | trace | report")
    assert main(["trace", "--help"], prog="gradproof") == 0
    assert capsys.readouterr().out.startswith("usage: gradproof trace")
    from derive.cli import program_name

    assert program_name("/usr/lib/python3/site-packages/derive/__main__.py") == "python -m derive"
    assert program_name("/home/u/.venv/bin/gradproof") == "gradproof"


@pytest.mark.parametrize(("name", "starts"), [("d.md", "## shared\\_bias: "), ("d.json", "{\n  \"schema_version\""),
                                             ("d.txt", "shared_bias — "), ("d.tex", "\\documentclass")])
def test_output_extension_picks_the_format(tmp_path, name, starts):
    assert main(["shared_bias", "--no-proof", "-o", str(tmp_path / name)]) == 0
    assert (tmp_path / name).read_text(encoding="utf-8").startswith(starts)


def test_a_format_flag_that_contradicts_the_extension_is_refused(tmp_path, capsys):
    assert main(["shared_bias", "--no-proof", "--json", "-o", str(tmp_path / "d.md")]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"error: -o {tmp_path / 'd.md'} names markdown, but --json asks for json: drop the flag or change the "
        "extension"]
    assert not (tmp_path / "d.md").exists()


def test_without_jax_check_says_what_to_install(monkeypatch, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "jax" else real(name, *a))
    assert main(["shared_bias", "--check"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: --check compares with JAX, which is not installed here: pip install 'jax[cpu]' "
        "(or run without --check)"]
    assert main(["report", "-o", "unused.tex"]) == 2
    assert "pip install 'jax[cpu]' (or add --no-check)" in capsys.readouterr().err
