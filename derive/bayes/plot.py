"""The sequential predictives of normal_normal as a 3×5 grid of panels (matplotlib, Agg).

matplotlib is optional (``pip install 'gradproof[plot]'``) and imported only here.
"""
from __future__ import annotations

import math

from ..errors import UsageError

__all__ = ["figure", "save_plot"]

_MISSING = "--plot needs matplotlib: pip install 'gradproof[plot]'"


def _pdf(xs, mean, variance):
    return [math.exp(-(x - mean) ** 2 / (2 * variance)) / math.sqrt(2 * math.pi * variance) for x in xs]


def figure(sequential: list, sigma2: float):
    """A matplotlib Figure: one panel per entry of ``sequential`` (prior + one per point)."""
    try:
        import matplotlib
    except ImportError:
        raise UsageError(_MISSING) from None
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    rows, cols = 3, 5
    fig = Figure(figsize=(18, 10), layout="constrained")
    axes = fig.subplots(rows, cols, sharex=True, sharey=True)
    data = [r["x"] for r in sequential if r["x"] is not None]
    lo = min(data + [0.0]) - 3 * math.sqrt(sigma2 + sequential[0]["posterior"]["variance"]) * 0.6
    hi = max(data + [0.0]) + 3 * math.sqrt(sigma2) * 1.2
    xs = [lo + (hi - lo) * i / 400 for i in range(401)]
    for ax, row in zip(axes.flat, sequential, strict=False):  # 15 panels; fewer rows leave some empty
        p = row["predictive"]
        ax.plot(xs, _pdf(xs, **p["posterior"]), color="C0", lw=2, label="posterior predictive")
        if p["mle_plugin"] is not None:
            ax.plot(xs, _pdf(xs, **p["mle_plugin"]), color="C1", ls="--", label="MLE plug-in")
        ax.plot(xs, _pdf(xs, **p["map_plugin"]), color="C2", ls=":", lw=2, label="MAP plug-in")
        seen = data[:row["k"]]
        if seen:
            ax.plot(seen, [0.0] * len(seen), "k|", ms=12, label="data so far")
        title = "prior predictive (no data)" if row["k"] == 0 else f"after {row['k']} point{'s' * (row['k'] > 1)}" \
            f" (x = {row['x']:g})"
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("x*")
        ax.set_ylabel("density")
        ax.legend(fontsize=7, loc="upper left")
    fig.suptitle("normal_normal: predictive distributions after each update "
                 f"(σ² = {sigma2:g}, prior variance τ² = {sequential[0]['posterior']['variance']:g})")
    return fig


def save_plot(sequential: list, sigma2: float, path: str) -> None:
    """Write the grid to ``path`` (PNG)."""
    if not str(path).strip():
        raise UsageError("--plot needs a file name, e.g. --plot predictives.png")
    if len(sequential) > 15:
        raise UsageError(f"--plot draws 15 panels (the prior and 14 points), got {len(sequential) - 1} data "
                         "points; plot at most 14")
    fig = figure(sequential, sigma2)
    try:
        fig.savefig(path, dpi=80)
    except OSError as e:
        raise UsageError(f"cannot write {path!r}: {e.strerror}") from None
