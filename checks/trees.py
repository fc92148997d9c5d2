"""The inputs of a checked function: one array, or a dict / tuple of arrays.

Each leaf is a named tensor (``x`` for a lone array, the key for a dict,
``x[i]`` for a tuple); :func:`rebuild` puts the structure back together
with one tensor replaced, which is how every finite difference calls ``f``.
"""
from __future__ import annotations

import numpy as np

__all__ = ["as_float_array", "flatten", "rebuild"]


def as_float_array(value, what: str) -> np.ndarray:
    """``value`` as a real floating array, or a TypeError/ValueError naming ``what``."""
    try:
        a = np.asarray(value)
    except Exception as e:  # noqa: BLE001 - ragged lists and the like
        raise TypeError(f"{what} must be an array of real floats; got {type(value).__name__} ({e})") from None
    if a.dtype == object or not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
        raise TypeError(f"{what} must be an array of real floats; got dtype {a.dtype} "
                        f"from {type(value).__name__}")
    if np.issubdtype(a.dtype, np.integer):
        raise TypeError(f"{what} has integer dtype {a.dtype}; gradients need floats — "
                        f"pass it as np.asarray(..., dtype=float)")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{what} contains non-finite values (nan or inf); check at a finite point")
    return a


def flatten(x, name: str = "x") -> tuple[str, list[tuple[str, np.ndarray]]]:
    """(kind, [(name, array)]) for an array, a dict of arrays or a tuple of arrays;
    ``name`` names a bare array (and, indexed, a tuple's arrays).

    >>> kind, leaves = flatten({"W": [[1.0, 2.0]], "b": [0.5]})
    >>> kind, [(n, a.shape) for n, a in leaves]
    ('dict', [('W', (1, 2)), ('b', (1,))])
    """
    if isinstance(x, dict):
        if not x:
            raise ValueError("x is an empty dict; give at least one array to check")
        bad = [k for k in x if not isinstance(k, str)]
        if bad:
            raise TypeError(f"dict keys of x must be strings (tensor names); got {bad[0]!r}")
        return "dict", [(k, as_float_array(v, f"x[{k!r}]")) for k, v in x.items()]
    if isinstance(x, tuple):  # a tuple holds tensors; a list is read as one array (nested rows)
        if not x:
            raise ValueError("x is an empty tuple; give at least one array to check")
        return "sequence", [(f"{name}[{i}]", as_float_array(v, f"{name}[{i}]")) for i, v in enumerate(x)]
    return "array", [(name, as_float_array(x, name))]


def rebuild(kind: str, names: list, arrays: list):
    """The inverse of :func:`flatten`."""
    if kind == "dict":
        return dict(zip(names, arrays, strict=True))
    if kind == "sequence":
        return tuple(arrays)
    return arrays[0]
