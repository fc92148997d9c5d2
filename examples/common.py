"""Plumbing shared by the examples: command-line options and saving figures.

Every example takes ``--quick`` (or the environment variable
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

__all__ = ["options", "save", "plt"]

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
    path = out / name
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"wrote {path}")
    return path
