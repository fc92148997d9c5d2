"""Plumbing shared by the examples: command-line options, a one-time gradient check, saving figures.

``check_once`` compares a derivation's gradients with JAX and finite differences
before an example trains with them. Every example takes ``--quick`` (or the environment variable
``GRADPROOF_EXAMPLES_QUICK=1``) for a run of a few seconds, as CI does, and
``--out DIR`` for its plots and files (default ``examples/out/``).
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

__all__ = ["check_once", "options", "save", "plt"]

DEFAULT_OUT = Path(__file__).resolve().parent / "out"


def options(description: str, argv=None) -> argparse.Namespace:
    """Parse ``--quick``, ``--out`` and ``--seed``; the environment variable
    ``GRADPROOF_EXAMPLES_QUICK=1`` also turns quick mode on. Creates the output directory."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="small sizes, a few seconds (what CI runs)")
    p.add_argument("--out", default=str(DEFAULT_OUT), help="directory for plots and files (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    args = p.parse_args(argv)
    args.quick = args.quick or os.environ.get("GRADPROOF_EXAMPLES_QUICK", "") not in ("", "0")
    args.out = Path(args.out)
    args.out.mkdir(parents=True, exist_ok=True)
    return args


def save(fig, out: Path, name: str) -> Path:
    """Write ``fig`` as ``out/name`` (PNG, 100 dpi) and close it; returns the path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"wrote {path}")
    return path


def check_once(run, forward, params, X, Y, label="", **opts):
    """The derived gradients from ``run(..., batch=True)`` (every tensor the derivation differentiates:
    parameters, and x if asked for) on the samples X, Y, against JAX of the independent forward
    ``forward`` (one sample at a time, as written from the problem) and finite differences
    (:func:`checks.gradcheck`). Prints one line; exits with the report when they disagree."""
    import numpy as np

    from checks import gradcheck
    from numeric.autodiff import jax_grad

    derived = run({**params, "x": X, "y": Y}, batch=True)["gradients"]
    at = {k: v for k, v in {**params, "x": X}.items() if k in derived}

    def loss(q, xp=np):
        p = {**params, "x": X, **q}
        return sum(forward({**p, "x": p["x"][i], "y": Y[i]}, xp=xp, **opts) for i in range(len(Y)))

    report = gradcheck(loss, at, lambda q: {k: derived[k] for k in at}, jax_gradient=jax_grad(loss, at, list(at)))
    worst = max(t.rel_error_jax for t in report.tensors.values())
    print(f"{label}derived gradients vs JAX and finite differences ({', '.join(at)} on {len(Y)} samples): "
          f"{'agree' if report.passed else 'DISAGREE'}; max rel. error vs JAX {worst:.1e}")
    if not report.passed:
        raise SystemExit(str(report))
    return report
