"""Error measures and the tolerance table (data, keyed by oracle)."""
from __future__ import annotations

import numpy as np

__all__ = ["relative_error", "TOLERANCES"]

# maximum relative error accepted against each oracle, float64
TOLERANCES = {"jax": 1e-12, "finite_difference": 1e-7, "loss": 1e-12}


def relative_error(a, b) -> float:
    """max |a − b| / max |b| (0 when both are zero).

    >>> relative_error([1.0, 2.0], [1.0, 2.0 + 2e-9])
    1e-09
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    diff = float(np.max(np.abs(a - b))) if a.size else 0.0
    if diff == 0.0:
        return 0.0
    scale = max(float(np.max(np.abs(b))), 1e-300)
    return float(f"{diff / scale:.6g}")
