"""LaTeX exports: pinned fragments, and the standalone document compiles."""
import shutil
import subprocess

import pytest

from derive import derive
from derive.cli import standalone
from derive.printing import tex_text

COMBOS = [("shared_bias", {}), ("shared_bias", {"activation": "sigmoid", "output_activation": "sigmoid", "loss": "bce"}),
          ("shared_bias", {"activation": "tanh", "output_activation": "softmax", "loss": "ce", "wrt": ["b", "W", "U"]}),
          ("input_gradient", {}), ("input_gradient", {"layers": 1, "activation": "relu"}), ("sigmoid_mlp", {})]


def test_prose_is_converted_for_text_mode():
    assert tex_text("affine z₂: input") == "affine $z_{2}$: input"
    assert tex_text("b̄₍₁₎ (hidden path)") == r"$\bar{b}_{(1)}$ (hidden path)"
    assert tex_text("100% of a_b") == r"100\% of a\_b"


@pytest.mark.parametrize("name", ["input_gradient", "sigmoid_mlp"])
def test_latex_is_ascii_for_every_derivation(name):
    body = derive(name).latex(proof=False)
    assert all(ord(ch) < 128 for ch in body), [ch for ch in body if ord(ch) >= 128][:5]


def test_latex_body_has_every_section():
    body = derive("shared_bias").latex()
    for needle in [r"\paragraph{Forward pass.}", r"\paragraph{Computational paths from $b$ to $L$.}",
                   r"\intertext{\emph{sum over occurrences of b; evaluated at $b_{(1)}$ = $b_{(2)}$ = b}}",
                   r"\delta_{\text{hidden}} = \bar{z}_{1} &= g'\left(z_{1}\right) \odot \bar{h}_{1}",
                   r"\paragraph{Proof.}", r"\paragraph{Discussion.}"]:
        assert needle in body, needle
    assert all(ord(ch) < 128 for ch in body), [ch for ch in body if ord(ch) >= 128][:5]


@pytest.mark.skipif(shutil.which("pdflatex") is None,
                    reason="compiling the LaTeX export needs pdflatex, which is not on PATH "
                           "(Debian: apt-get install texlive-latex-base; .ci/run installs it when it can)")
@pytest.mark.parametrize("name,opts", COMBOS)
def test_standalone_document_compiles(tmp_path, name, opts):
    tex = tmp_path / "d.tex"
    tex.write_text(standalone(derive(name, **opts).latex()))
    r = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", tex.name], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-2000:]
    assert (tmp_path / "d.pdf").stat().st_size > 1000
