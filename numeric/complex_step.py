"""Complex-step derivatives: Im f(x + i·h·v) / h, exact to rounding (no cancellation).

Only for functions that are complex-safe: written with analytic operations
(+, ×, exp, tanh, …) and real-part comparisons. ``abs``, ``conj`` or casts to
real silently break it, so :func:`accepts_complex` cross-checks one direction
against a real finite difference before the complex step is trusted.
"""
from __future__ import annotations

import warnings

import numpy as np

__all__ = ["H", "accepts_complex", "complex_directional", "complex_step"]

H = 1e-30  # far below any step a real difference could use; the error is O(h²) relative


def _imag(f, z):
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a cast to real (ComplexWarning) is caught below
        out = f(z)
    out = np.asarray(out)
    if out.size != 1 or not np.iscomplexobj(out):
        raise TypeError("f did not return a complex scalar for complex input")
    return complex(out.reshape(())).imag


def complex_directional(f, x, direction) -> float:
    """∇f(x)·v by one complex evaluation.

    >>> complex_directional(lambda u: np.sum(np.exp(u)), np.array([0.0, 1.0]), np.array([1.0, 1.0]))
    3.718281828459045
    """
    x = np.asarray(x, dtype=np.float64)
    scale = max(1.0, float(np.max(np.abs(x)))) if x.size else 1.0
    h = H * scale
    return _imag(f, x + 1j * h * np.asarray(direction, dtype=np.float64)) / h


def complex_step(f, x) -> np.ndarray:
    """∇f(x) by one complex evaluation per coordinate.

    >>> complex_step(lambda u: np.sum(u ** 3), np.array([1.0, -2.0])).tolist()
    [3.0, 12.0]
    """
    x = np.array(x, dtype=np.float64, order="C")
    z = x.astype(np.complex128)  # C order, like x: reshape(-1) is a view, so writing to it perturbs z
    flat = z.reshape(-1)
    h = H * np.maximum(1.0, np.abs(x.reshape(-1)))
    out = np.empty(flat.size)
    for i in range(flat.size):
        flat[i] = complex(x.flat[i], h[i])
        out[i] = _imag(f, z) / h[i]
        flat[i] = x.flat[i]
    return out.reshape(x.shape)


def accepts_complex(f, x, direction, reference, tolerance) -> bool:
    """True when f evaluates on complex input and its complex-step derivative
    along ``direction`` matches ``reference`` (a real difference) within ``tolerance``."""
    try:
        value = complex_directional(f, x, direction)
    except Exception:  # noqa: BLE001 - any failure on complex input means "not complex-safe"
        return False
    return bool(np.isfinite(value) and abs(value - reference) <= tolerance)
