"""Taylor-remainder test: r(h) = |f(x + h·v) − f(x) − h·g·v| falls like h² when g
is the gradient and like h when it is not; the fitted order says which."""
from __future__ import annotations

import numpy as np

__all__ = ["taylor_order"]


def taylor_order(f, x, g, v, f0: float, eps: float, levels: int = 20) -> dict:
    """Fit log r against log h over halving steps, on the smallest steps whose
    residual stands clear of rounding; ``order`` is None when none does.

    >>> x = np.array([0.3, -0.8]); v = np.array([1.0, 0.5])
    >>> f = lambda u: float(np.sum(np.sin(u)))
    >>> round(taylor_order(f, x, np.cos(x), v, f(x), 2.0 ** -52)["order"])
    2
    >>> round(taylor_order(f, x, 1.01 * np.cos(x), v, f(x), 2.0 ** -52)["order"])
    1
    """
    x = np.asarray(x, dtype=np.float64)
    slope = float(np.sum(np.asarray(g, dtype=np.float64) * v))

    def rms(a):
        return float(np.sqrt(np.mean(a * a)))

    h0 = 2.0 ** np.round(np.log2(0.1 * max(1.0, rms(x)) / max(rms(v), 1e-300)))
    hs = h0 * 2.0 ** -np.arange(levels)
    rs = np.array([abs(float(f(x + h * v)) - f0 - h * slope) for h in hs])
    noise = 1e3 * eps * (abs(f0) + np.abs(hs * slope))
    clear = np.flatnonzero(rs > noise)
    result = {"steps": hs.tolist(), "residuals": rs.tolist(), "order": None, "evaluations": levels}
    if clear.size >= 3:
        use = clear[-4:]  # the smallest steps: a wrong gradient's linear term dominates there
        result["order"] = float(np.polyfit(np.log(hs[use]), np.log(rs[use]), 1)[0])
    return result
