"""Tolerances as data: what each precision can claim, and how a finite
difference's own error estimate widens the bound.

An entry passes when ``|derived − reference| ≤ SAFETY · error + rtol · scale``:
``error`` is the reference's own error estimate (Richardson or complex step;
zero for autodiff), ``scale`` the largest |reference| in the tensor, and
``rtol`` the rounding a gradient computed in that precision carries.
"""
from __future__ import annotations

import numpy as np

__all__ = ["RTOL", "SAFETY", "eps_for", "rtol_for"]

# relative rounding error accepted in a gradient computed in this dtype (≈ 2^(−⅔·mantissa bits))
RTOL = {
    "float64": 2.0 ** -33,  # 1.2e-10
    "float32": 2.0 ** -13,  # 1.2e-4
    "float16": 2.0 ** -5,  # 3.1e-2
    "bfloat16": 2.0 ** -4,
}
# an error estimate is an estimate: the bound trusts it to within this factor
SAFETY = 4.0


def _name(dtype) -> str:
    name = getattr(dtype, "name", None) or str(dtype)
    return "float64" if name in ("complex128", "longdouble", "float128") else name


def rtol_for(*dtypes) -> float:
    """The loosest tolerance among the dtypes involved (the lowest precision wins).

    >>> rtol_for(np.float64), rtol_for(np.dtype("float32"), np.float64)
    (1.1641532182693481e-10, 0.0001220703125)
    """
    names = [_name(np.dtype(d)) for d in dtypes]
    known = [n for n in names if n in RTOL]
    if not known:
        return RTOL["float64"]
    return max(RTOL[n] for n in known)


def eps_for(dtype) -> float:
    """Machine epsilon of a floating dtype (float64 for anything else)."""
    try:
        return float(np.finfo(np.dtype(dtype)).eps)
    except (TypeError, ValueError):
        return float(np.finfo(np.float64).eps)
