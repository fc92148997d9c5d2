"""LaTeX exports: pinned fragments, and the standalone document compiles."""
import shutil
import subprocess

import pytest

from derive import derive
from derive.cli import standalone
from derive.printing import tex_text

COMBOS = [("shared_bias", {}),
          ("shared_bias", {"activation": "sigmoid", "output_activation": "sigmoid", "loss": "bce"}),
          ("shared_bias", {"activation": "tanh", "output_activation": "softmax", "loss": "ce", "wrt": ["b", "W", "U"]}),
          ("input_gradient", {}), ("input_gradient", {"layers": 5, "activation": "relu"}), ("sigmoid_mlp", {}),
          ("sigmoid_mlp", {"wrt": ["b2", "W2", "b1", "W1", "x"]}), ("rnn_bptt", {}),
          ("shared_bias", {"loss": "(yhat_1 - 1/2)**2 - log(yhat_2)", "activation": "z/(1+exp(-z))"})]
NEEDS_PDFLATEX = pytest.mark.skipif(
    shutil.which("pdflatex") is None,
    reason="compiling the LaTeX export needs pdflatex, which is not on PATH "
           "(Debian: apt-get install texlive-latex-base; .ci/run installs it when it can)")


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


def _pdflatex(tmp_path, name="d.tex", runs=1):
    for _ in range(runs):
        r = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", name], cwd=tmp_path,
                           capture_output=True, text=True, errors="replace", timeout=300)
        assert r.returncode == 0, r.stdout[-2000:]
    log = (tmp_path / name).with_suffix(".log").read_text(errors="replace")
    overfull = [ln for ln in log.splitlines() if ln.startswith("Overfull")]
    return overfull


@NEEDS_PDFLATEX
@pytest.mark.parametrize("name,opts", COMBOS)
def test_standalone_document_compiles_without_overfull_lines(tmp_path, name, opts):
    tex = tmp_path / "d.tex"
    tex.write_text(standalone(derive(name, **opts).latex()))
    assert _pdflatex(tmp_path) == []
    assert (tmp_path / "d.pdf").stat().st_size > 1000


def test_long_lines_break_at_operators_outside_braces():
    from derive.printing import break_tex, tex_width

    long = " + ".join(rf"\left(\frac{{a_{{{i}}}}}{{b}} \odot c_{{{i}}}\right)" for i in range(12))
    lines = break_tex(long, width=30)
    assert len(lines) > 1 and all(tex_width(x) <= 30 for x in lines)
    assert lines[1].startswith("+ ")
    assert "\\left" not in "".join(lines) and "\\biggl(" in lines[0]  # a fraction inside: taller parens
    assert "".join(lines).count("{") == "".join(lines).count("}")  # never inside a group
    assert break_tex(r"\frac{x + y}{2}", width=3) == [r"\frac{x + y}{2}"]  # no cut inside braces


def test_golden_latex_for_generic_activations_hadamard_adjoints_and_sums():
    body = derive("shared_bias").latex(proof=False)
    for needle in [r"\delta_{\text{out}} = \bar{z}_{2} &= g_{1}'\left(z_{2}\right) \odot \bar{\hat{y}}",
                   r"&= g'\left(z_{1}\right) \odot \left(U^{\top} \delta_{\text{out}}\right)",
                   r"\frac{\partial L}{\partial b} &= \bar{b}_{(1)} + \bar{b}_{(2)}"]:
        assert needle in body, needle
    rnn = derive("rnn_bptt").latex(proof=False)
    assert (r"\left(\delta_{1}\right)_{i} &= \left(\left(\sum_{l} \left(\left(\hat{y}_{1}\right)_{l} -  "
            r"\left(y_{1}\right)_{l}\right) V_{li}\right) + \sum_{j} \left(\delta_{2}\right)_{j} W_{ji}\right)") in rnn
    bce = derive("shared_bias", activation="sigmoid", output_activation="sigmoid", loss="bce").latex(proof=False)
    assert (r"\bar{\hat{y}} &= \left(\hat{y} - y\right) \oslash "
            r"\left(\hat{y} \odot \left(1 - \hat{y}\right)\right)") in bce


@NEEDS_PDFLATEX
def test_cli_writes_a_pdf(tmp_path, capsys):
    from derive.cli import main

    out = tmp_path / "sigmoid_mlp.pdf"
    assert main(["sigmoid_mlp", "--no-proof", "-o", str(out)]) == 0
    assert out.read_bytes()[:5] == b"%PDF-"


def test_pdf_without_pdflatex_is_one_line(tmp_path, capsys, monkeypatch):
    from derive.cli import main

    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on PATH
    assert main(["sigmoid_mlp", "--no-proof", "-o", str(tmp_path / "x.pdf")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs pdflatex on PATH" in err and "write x.tex instead" in err


def _pages(pdf, tmp_path):
    """Rendered pages as grayscale arrays (pdftoppm -gray: one PGM per page)."""
    import numpy as np

    subprocess.run(["pdftoppm", "-gray", "-r", "24", str(pdf), str(tmp_path / "page")], check=True, timeout=300)
    pages = []
    for f in sorted(tmp_path.glob("page*.pgm")):
        data = f.read_bytes()
        parts = data.split(maxsplit=4)  # P5, width, height, maxval, pixels
        w, h = int(parts[1]), int(parts[2])
        pages.append(np.frombuffer(parts[4][:w * h], dtype=np.uint8).reshape(h, w))
    return pages


@NEEDS_PDFLATEX
@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="needs pdftoppm (Debian: poppler-utils)")
def test_full_report_compiles_and_every_page_has_content(tmp_path, capsys):
    from derive.cli import main

    tex = tmp_path / "report.tex"
    assert main(["report", "-o", str(tex)]) == 0
    text = tex.read_text()
    for needle in [r"\tableofcontents", r"\section{shared\_bias", r"\section{P4: Evaluation trace",
                   r"\section{rnn\_bptt", r"\subsection*{Numeric check}", r"combinations passed"]:
        assert needle in text, needle
    assert _pdflatex(tmp_path, "report.tex", runs=2) == []
    pages = _pages(tmp_path / "report.pdf", tmp_path)
    assert len(pages) >= 10
    for k, page in enumerate(pages, 1):
        assert (page < 250).mean() > 0.01, f"page {k} is blank"  # a page number alone is ~0.001


def test_long_lines_break_outside_parentheses_and_never_after_a_sum_sign():
    from derive.printing import break_tex

    s = (r"\left(a_{1} + b_{1} + c_{1} + d_{1}\right) \odot \left(e_{1} - f_{1}\right) + "
         r"\sum_{p} \left(\hat{y}_{p} - y_{p}\right) V_{pi} + \left(g_{1} + h_{1} + k_{1} + m_{1}\right)")
    lines = break_tex(s, width=24)
    assert len(lines) > 1
    for ln in lines:  # every line opens and closes its own parentheses: no break inside a factor
        assert ln.count(r"\bigl(") == ln.count(r"\bigr)"), lines
    assert not any(ln.rstrip().endswith(r"\sum_{p}") for ln in lines), lines
