"""From derivation to report, in Python as a notebook would do it: derive, prove, check, export.

The shared-bias network of P1 with sigmoid units and binary cross-entropy:
the derivation (with its proof against ``sympy.diff``), the numeric check
against JAX and finite differences (``checks.check_derivation``), then the
exports — a standalone LaTeX document, Markdown, and a PDF when pdflatex is
installed — written into the output directory. No command line involved.

    python examples/derivation_to_report.py [--quick] [--out DIR]
"""
import shutil
from pathlib import Path

import numpy as np

from checks import check_derivation
from common import options, plt, save
from derive import derive
from derive.pdf import compile_pdf, standalone

OPTIONS = {"activation": "sigmoid", "output_activation": "sigmoid", "loss": "bce"}
WRT = ["W", "U", "b"]


def log_bars(ax, x, errors: dict, top: float = 1e-7) -> float:
    """Bars of relative errors on a log axis, two per x: {label: [error per x]}. On a log axis a bar
    grows from the axis floor, so the floor is put a decade below the smallest error (JAX's errors
    near 1e-16 are bars, not slivers); an exact 0 is drawn at the floor and labelled. Returns the floor."""
    positive = [v for vs in errors.values() for v in vs if v > 0] or [1e-16]
    floor = 10.0 ** (np.floor(np.log10(min(positive))) - 1)
    for shift, (label, values) in zip((-0.2, 0.2), errors.items(), strict=True):
        ax.bar(x + shift, [max(v, floor * 1.5) - floor for v in values], 0.4, bottom=floor, label=label)
        for xi, v in zip(x + shift, values, strict=True):
            if v == 0:
                ax.annotate("0", (xi, floor * 1.5), ha="center", va="bottom", fontsize=8)
    ax.set_yscale("log")
    ax.set_ylim(floor, top)  # room for the legend above the tolerance line
    return floor


def main(quick=False, out="examples/out", seed=0):
    """Derive, prove, check and export shared_bias; plot the check's relative errors."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    # 1. Derive. Rendering is pure: d.text(), d.latex(), d.markdown() return strings.
    d = derive("shared_bias", wrt=WRT, **OPTIONS)
    for p in WRT:
        print(f"∂L/∂{p} = {d.formula(p)}    = {d.formula(p, 'expanded')}")
    print(f"proof against sympy.diff: {'HOLDS' if d.proof.holds else 'FAILS'}")
    # 2. Check the numbers at a random point (seeded): derived vs JAX vs Richardson finite differences.
    report = check_derivation("shared_bias", OPTIONS, seed=seed, wrt=WRT)
    combo = report.checks[0]
    for p, g in combo.gradients.items():
        print(f"  {p}: rel. error vs JAX {g['rel_error_jax']:.1e}, vs finite differences {g['rel_error_fd']:.1e}")
    print(f"numeric check: {'passed' if report.passed else 'FAILED'}")
    # 3. Export: a LaTeX document, Markdown (GitHub/Jupyter), and a PDF if pdflatex is here.
    tex = standalone(d.latex(), title="Shared bias: the derivation")
    (out / "shared_bias.tex").write_text(tex, encoding="utf-8")
    (out / "shared_bias.md").write_text(d.markdown(), encoding="utf-8")
    print(f"wrote {out / 'shared_bias.tex'} ({len(tex.splitlines())} lines) and {out / 'shared_bias.md'}")
    if shutil.which("pdflatex") and not quick:
        compile_pdf(tex, str(out / "shared_bias.pdf"))
        print(f"wrote {out / 'shared_bias.pdf'}")
    else:
        print("PDF skipped (" + ("quick mode" if quick else "pdflatex is not on PATH") + ")")

    fig, ax = plt.subplots(figsize=(6.4, 4))
    x = np.arange(len(WRT))
    errors = {"vs JAX (autodiff)": [combo.gradients[p]["rel_error_jax"] for p in WRT],
              "vs finite differences": [combo.gradients[p]["rel_error_fd"] for p in WRT]}
    log_bars(ax, x, errors)
    ax.axhline(report.to_dict()["tolerances"]["jax"], color="tab:red", ls="--", label="tolerance vs JAX (rtol)")
    ax.set_xticks(x, [f"∂L/∂{p}" for p in WRT])
    ax.set(ylabel="relative error (log scale)",
           title=f"shared_bias ({OPTIONS['activation']}/{OPTIONS['loss']}): derived gradients checked")
    ax.legend(fontsize=8, loc="upper right", ncol=2)
    save(fig, out, "derivation_check.png")
    return {"proof": d.proof.holds, "passed": report.passed}


if __name__ == "__main__":
    args = options(__doc__.splitlines()[0])
    main(args.quick, args.out, args.seed)
