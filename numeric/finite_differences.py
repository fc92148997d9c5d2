"""Finite differences in float64: central, and Richardson-extrapolated central.

Steps are per coordinate, scaled to the coordinate's magnitude and rounded to
a power of two (so x ± h is exact in binary):

* central:   h = ε^(1/3)·max(1, |x|), error O(h²) + O(ε/h) ≈ 1e-11 relative;
* richardson: h = ε^(1/5)·max(1, |x|), R = (4·D(h/2) − D(h))/3, error O(h⁴) + O(ε/h),
  with |R − D(h/2)| as the error estimate.
"""
from __future__ import annotations

import numpy as np

__all__ = ["step", "central_difference", "richardson", "slope_jumps"]

EPS = np.finfo(np.float64).eps


def step(x, order: int = 2) -> np.ndarray:
    """Per-coordinate step for a central difference of the given order (2 or 4)."""
    x = np.asarray(x, dtype=np.float64)
    base = EPS ** (1.0 / (order + 1)) * np.maximum(1.0, np.abs(x))
    return 2.0 ** np.round(np.log2(base))


def _shifted(f, x, h):
    """f(x + hᵢeᵢ) and f(x − hᵢeᵢ) for every coordinate i, and the steps hᵢ (flat)."""
    x = np.array(x, dtype=np.float64)
    flat = x.reshape(-1)
    hs = np.broadcast_to(h, x.shape).reshape(-1)
    plus, minus = np.empty(flat.size), np.empty(flat.size)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + hs[i]
        plus[i] = float(f(x))
        flat[i] = old - hs[i]
        minus[i] = float(f(x))
        flat[i] = old
    return plus, minus, hs


def _partials(f, x, h):
    plus, minus, hs = _shifted(f, x, h)
    return ((plus - minus) / (2.0 * hs)).reshape(np.shape(x))


def central_difference(f, x, h=None) -> np.ndarray:
    """∇f(x) by central differences; ``f`` maps an array shaped like x to a scalar.

    >>> central_difference(lambda v: (v ** 2).sum(), np.array([1.0, -2.0]))
    array([ 2., -4.])
    """
    return _partials(f, x, step(x, 2) if h is None else h)


def richardson(f, x):
    """(gradient, error estimate) by Richardson extrapolation of central differences."""
    h = step(x, 4)
    d1 = _partials(f, x, h)
    d2 = _partials(f, x, h / 2)
    r = (4.0 * d2 - d1) / 3.0
    return r, np.abs(r - d2)


def slope_jumps(f, x, order: int = 4) -> np.ndarray:
    """|D₊ − D₋| per coordinate: forward minus backward one-sided differences.

    Small (≈ h·|f″|) where f is smooth; as large as the change of slope where
    x ± h straddles a kink (ReLU at 0), which no finite difference can resolve.
    """
    f0 = float(f(np.array(x, dtype=np.float64)))
    plus, minus, hs = _shifted(f, x, step(np.asarray(x, dtype=np.float64), order))  # richardson's widest step
    return (np.abs((plus - f0) - (f0 - minus)) / hs).reshape(np.shape(x))
