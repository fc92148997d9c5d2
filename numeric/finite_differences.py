"""Finite differences in float64: central, and Richardson-extrapolated central.

Steps are per coordinate, scaled to the coordinate's magnitude and rounded to
a power of two (so x ± h is exact in binary):

* central:   h = ε^(1/3)·max(1, |x|), error O(h²) + O(ε/h) ≈ 1e-11 relative;
* richardson: h = ε^(1/5)·max(1, |x|), R = (4·D(h/2) − D(h))/3, error O(h⁴) + O(ε/h),
  with |R − D(h/2)| as the error estimate;
* richardson_detail / directional_detail: the same per coordinate or along one
  direction, with a rounding term in the estimate and a measure of how far the
  samples are from any smooth curve (a kink crossed by x ± h).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "Differences",
    "central_difference",
    "directional_detail",
    "richardson",
    "richardson_detail",
    "slope_jumps",
    "step",
]

EPS = np.finfo(np.float64).eps


def step(x, order: int = 2) -> np.ndarray:
    """Per-coordinate step for a central difference of the given order (2 or 4)."""
    x = np.asarray(x, dtype=np.float64)
    base = EPS ** (1.0 / (order + 1)) * np.maximum(1.0, np.abs(x))
    return 2.0 ** np.round(np.log2(base))


def _shifted(f, x, h):
    """f(x + hᵢeᵢ) and f(x − hᵢeᵢ) for every coordinate i, and the steps hᵢ (flat).

    x is copied into C order, so that ``reshape(-1)`` is a view and writing to it
    perturbs the array f sees (for a Fortran-ordered or transposed x it would be a copy).
    """
    x = np.array(x, dtype=np.float64, order="C")
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


@dataclass
class Differences:
    """Richardson-extrapolated central differences with what is needed to judge them.

    ``value`` is the extrapolated derivative, ``error`` its error estimate
    (|R − D(h/2)| plus the rounding error of f at this step, plus ``noise``/h when
    f is known to return different values at one point), ``floor`` the smallest
    slope the step resolves when f is taken to be rounded to at least ε in absolute
    terms (16·ε·max(1, |f|)/h: f may be a difference of O(1) quantities), ``nonsmooth`` how
    far the five samples x, x ± h/2, x ± h are from any smooth curve (in units
    of slope; ≈ 0 where f is smooth, ≈ the slope change where x ± h straddles a
    kink), ``step`` the step h, and ``evaluations`` the calls of f made.
    """

    value: np.ndarray
    error: np.ndarray
    nonsmooth: np.ndarray
    step: np.ndarray
    evaluations: int
    floor: np.ndarray | float = 0.0


def _judged(f0, fp1, fm1, fp2, fm2, h, eps, noise=0.0):
    d1 = (fp1 - fm1) / (2.0 * h)
    d2 = (fp2 - fm2) / h
    r = (4.0 * d2 - d1) / 3.0
    fmax = np.maximum.reduce([np.abs(f0) + 0 * h, np.abs(fp1), np.abs(fm1), np.abs(fp2), np.abs(fm2)])
    rounding = 16.0 * eps * fmax / h + 4.0 * noise / h
    # the jumps of one-sided slopes at h and h/2 are h·f″ and h·f″/2 where f is smooth
    # (up to h³f⁗/16); a kink inside [x − h, x + h] breaks that, except where the Richardson
    # estimate itself already covers the error (kink near h/3 or beyond h/2)
    s1 = (fp1 - 2.0 * f0 + fm1) / h
    s2 = (fp2 - 2.0 * f0 + fm2) / (h / 2.0)
    floor = 16.0 * eps * np.maximum(fmax, 1.0) / h
    return r, np.abs(r - d2) + rounding, np.maximum(np.abs(s1 - 2.0 * s2) - 2.0 * rounding, 0.0), floor


def richardson_detail(f, x, eps: float = EPS, noise: float = 0.0) -> Differences:
    """Per-coordinate Richardson differences of a scalar ``f`` at ``x`` (4n + 1 calls).

    ``eps`` is the machine epsilon of the precision f computes in (steps and
    the rounding term scale with it).

    >>> d = richardson_detail(lambda v: np.sum(np.abs(v)), np.array([2.0, 0.0]))
    >>> d.value.round(12).tolist(), bool(d.nonsmooth[0] < 1e-9), bool(d.nonsmooth[1] > 0.5)
    ([1.0, 0.0], True, True)
    """
    x = np.array(x, dtype=np.float64, order="C")
    h = 2.0 ** np.round(np.log2(eps ** 0.2 * np.maximum(1.0, np.abs(x))))
    f0 = float(f(x.copy()))
    fp1, fm1, _ = _shifted(f, x, h)
    fp2, fm2, _ = _shifted(f, x, h / 2.0)
    hs = h.reshape(-1)
    r, err, ns, floor = _judged(f0, fp1, fm1, fp2, fm2, hs, eps, noise)
    shape = x.shape
    return Differences(r.reshape(shape), err.reshape(shape), ns.reshape(shape), h, 4 * x.size + 1,
                       floor.reshape(shape))


def directional_detail(f, x, direction, eps: float = EPS, f0=None, shrink: float = 1.0,
                       noise: float = 0.0) -> Differences:
    """Richardson difference of t ↦ f(x + t·v) at t = 0: the directional derivative ∇f·v.

    Four calls of f (five without ``f0``) whatever the size of x. The step is
    ε^(1/5)·max(1, |x|) / |v|, both magnitudes averaged with weights vᵢ² (so a
    coordinate direction eᵢ gets exactly the per-coordinate step of xᵢ); ``shrink``
    multiplies it (a second look when f varies on a shorter scale than |x|).

    >>> v = np.array([1.0, -2.0])
    >>> d = directional_detail(lambda u: np.sum(u ** 2), np.array([3.0, 1.0]), v)
    >>> round(float(d.value), 9)
    2.0
    """
    x = np.asarray(x, dtype=np.float64)
    v = np.asarray(direction, dtype=np.float64)
    w = v * v
    total = max(float(np.sum(w)), 1e-300)
    xs = float(np.sqrt(np.sum(w * x * x) / total))
    vs = float(np.sqrt(np.sum(w * w) / total))
    h = 2.0 ** np.round(np.log2(shrink * eps ** 0.2 * max(1.0, xs) / max(vs, 1e-300)))
    calls = 4
    if f0 is None:
        f0, calls = float(f(x.copy())), 5
    fp1, fm1, fp2, fm2 = (float(f(x + s * h * v)) for s in (1.0, -1.0, 0.5, -0.5))
    r, err, ns, floor = _judged(f0, fp1, fm1, fp2, fm2, h, eps, noise)
    return Differences(np.asarray(r), np.asarray(err), np.asarray(ns), np.asarray(h), calls, float(floor))
