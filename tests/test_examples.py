"""The examples run end to end in quick mode, write their plots, and print what they claim.

One module-scoped fixture runs all five (each a separate process, as a user
would run it, two at a time); each test then checks one example's exit status,
its PNGs and a key fact from its output.
"""
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

AGREE = re.compile(r"derived gradients vs JAX and finite differences \(.* samples\): agree")
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SCRIPTS = {
    "shortcut_attribution": ["shortcut_attribution.png", "shortcut_accuracy.png"],
    "sigmoid_vs_relu": ["sigmoid_vs_relu.png"],
    "shared_vs_independent_bias": ["shared_vs_independent_bias.png"],
    "rnn_step": ["rnn_step.png"],
    "derivation_to_report": ["derivation_check.png"],
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """{name: (returncode, stdout + stderr, output directory)} for every example, run in quick mode,
    two processes at a time (CI machines have two cores)."""
    env = {**os.environ, "GRADPROOF_EXAMPLES_QUICK": "1", "MPLBACKEND": "Agg", "JAX_PLATFORMS": "cpu"}

    def one(name):
        out = tmp_path_factory.mktemp(name)
        p = subprocess.run([sys.executable, str(EXAMPLES / f"{name}.py"), "--out", str(out)], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
        return name, (p.returncode, p.stdout, out)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, SCRIPTS))


def finished(runs, name):
    code, text, out = runs[name]
    assert code == 0, f"{name} exited with {code}:\n{text}"
    for png in SCRIPTS[name]:
        path = out / png
        assert path.exists(), f"{name} did not write {png}:\n{text}"
        assert path.stat().st_size > 10_000, f"{png} is suspiciously small ({path.stat().st_size} bytes)"
        import matplotlib.image

        pixels = matplotlib.image.imread(path)
        assert pixels.shape[0] >= 300 and pixels.shape[1] >= 500 and pixels[..., :3].std() > 0.05, \
            f"{png} looks blank or tiny: {pixels.shape}"
    return text, out


def number(pattern, text):
    m = re.search(pattern, text)
    assert m, f"no match for {pattern!r} in:\n{text}"
    return float(m.group(1))


def test_shortcut_ranks_first_and_removing_it_narrows_the_gap(runs):
    text, _ = finished(runs, "shortcut_attribution")
    assert len(AGREE.findall(text)) == 1
    assert "top feature: amenity_score" in text
    with_gap = number(r"gap \(train − test accuracy\): (-?[\d.]+) with the shortcut", text)
    without_gap = number(r"with the shortcut, (-?[\d.]+) without", text)
    assert without_gap < with_gap and "removing it narrows the gap" in text
    assert number(r"with amenity_score: +train ([\d.]+)", text) > number(r"with amenity_score:.*test ([\d.]+)", text)


def test_relu_passes_larger_gradients_to_the_first_layer(runs):
    text, _ = finished(runs, "sigmoid_vs_relu")
    assert len(AGREE.findall(text)) == 2
    assert number(r"first-layer gradient, ReLU / sigmoid \(mean over the first \d+ iterations\): ([\d.]+)×", text) > 1
    assert re.search(r"^(sigmoid|relu) +[\d.]+ +[\d.]+", text, re.M)


def test_shared_bias_answer_is_stated_from_measurements(runs):
    text, _ = finished(runs, "shared_vs_independent_bias")
    assert len(AGREE.findall(text)) == 2
    assert re.search(r"answer \(measured\): sharing (slows|does not slow|cannot tell)", text)
    assert re.search(r"(makes|does not make) training less stable: the largest learning rate", text)
    # the two path contributions to ∂L/∂b point in nearly opposite directions on this problem
    assert number(r"path contributions to ∂L/∂b at lr [\d.]+: median (-?[\d.]+)", text) < 0


def test_rnn_bptt_matches_central_differences_and_ascent_raises_the_loss(runs):
    text, _ = finished(runs, "rnn_step")
    assert number(r"relative error: ([\d.e+-]+) \(per-step", text) < 1e-6
    before = number(r"descent .*: L ([\d.]+) →", text)
    assert number(r"descent .*→ ([\d.]+) \(down\)", text) < before
    assert number(r"ascent .*→ ([\d.]+) \(up\)", text) > before


def test_derivation_exports_through_the_python_api(runs):
    text, out = finished(runs, "derivation_to_report")
    assert "proof against sympy.diff: HOLDS" in text and "numeric check: passed" in text
    assert "∂L/∂b = δ_hidden + δ_out" in text
    tex = (out / "shared_bias.tex").read_text(encoding="utf-8")
    assert tex.startswith(r"\documentclass") and r"\end{document}" in tex and r"\delta" in tex
    assert "$$" in (out / "shared_bias.md").read_text(encoding="utf-8")


def _common():
    sys.path.insert(0, str(EXAMPLES))
    try:
        import common
    finally:
        sys.path.remove(str(EXAMPLES))
    return common


def test_the_one_time_check_stops_a_wrong_gradient(capsys):
    from derive import derive
    from numeric import compile_sweep, shared_bias_loss

    opts = dict(activation="tanh", output_activation="identity", loss="mse")
    run = compile_sweep(derive("shared_bias", wrt=["W", "U", "b"], **opts).sweep)
    rng = np.random.default_rng(0)
    params = {"W": rng.normal(size=(2, 3)), "U": rng.normal(size=(2, 2)), "b": rng.normal(size=2)}
    X, Y = rng.normal(size=(3, 3)), rng.normal(size=(3, 2))
    assert _common().check_once(run, shared_bias_loss, params, X, Y, **opts).passed

    def hidden_path_only(values, batch):  # drops the output path's contribution to ∂L/∂b
        r = run(values, batch=batch)
        return {"gradients": {**r["gradients"], "b": r["contributions"]["b"][0][1]}}

    with pytest.raises(SystemExit, match="WRONG"):
        _common().check_once(hidden_path_only, shared_bias_loss, params, X, Y, **opts)
    assert "DISAGREE" in capsys.readouterr().out


def test_quick_mode_from_flag_or_environment(monkeypatch, tmp_path):
    options = _common().options
    monkeypatch.delenv("GRADPROOF_EXAMPLES_QUICK", raising=False)
    assert not options("x", ["--out", str(tmp_path / "a")]).quick
    assert options("x", ["--quick", "--out", str(tmp_path / "b")]).quick
    monkeypatch.setenv("GRADPROOF_EXAMPLES_QUICK", "1")
    assert options("x", ["--out", str(tmp_path / "c")]).quick and (tmp_path / "c").is_dir()


def test_the_check_plot_shows_both_oracles_errors_as_bars():
    _common()  # matplotlib on Agg, as the examples use it
    sys.path.insert(0, str(EXAMPLES))
    try:
        import derivation_to_report
    finally:
        sys.path.remove(str(EXAMPLES))
    import numpy as np
    from matplotlib.figure import Figure

    ax = Figure().subplots()
    floor = derivation_to_report.log_bars(ax, np.arange(2), {"jax": [2e-16, 0.0], "fd": [3e-12, 5e-13]})
    assert floor <= 2e-17 and ax.get_ylim()[0] == floor
    tops = sorted(p.get_y() + p.get_height() for p in ax.patches)
    assert tops[0] >= 1.5 * floor and tops[1] >= 10 * floor  # the exact 0 is visible, JAX's 2e-16 is a bar
    assert [t.get_text() for t in ax.texts] == ["0"]


def test_legends_use_mathtext_for_greek_and_sums():
    source = (EXAMPLES / "rnn_step.py").read_text(encoding="utf-8")
    assert 'rf"$\\delta_{{{t}}}$ (step {t})"' in source and r"$\sum_t \delta_t$" in source
    assert "δ_" not in source.split("label=")[1].split("\n")[0]
