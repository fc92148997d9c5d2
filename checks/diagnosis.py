"""What a disagreement means: which oracle is the odd one out, and what kind of
mistake the wrong gradient looks like.

Kinds of diagnosis (``TensorReport.diagnosis``):

* ``ok`` — derived agrees with every oracle;
* ``kink`` — only finite differences disagree, at coordinates where x ± h
  straddles a kink (one-sided slopes differ); not a wrong gradient;
* ``derived_wrong`` — derived is the odd one out (JAX and finite differences
  agree with each other), or the only oracle, finite differences, disagrees;
* ``fd_odd_one_out`` — derived and JAX agree, finite differences do not, at
  smooth points: f is noisy at the step, or derived and JAX share a bug
  (a custom JAX derivative rule);
* ``jax_odd_one_out`` — derived and finite differences agree, JAX does not
  (f differs under tracing, ``stop_gradient``, a custom rule);
* ``no_consensus`` — all three disagree;
* ``cannot_judge`` — no oracle disagrees, but some entry had none able to judge
  it (f not finite at the points differences need, a kink with no second
  oracle, f too noisy, a gradient below what differences resolve). Not a pass.

Hints for a wrong gradient: ``sign_flip``, ``constant_factor``, ``transpose``,
``one_slice`` (one index of the leading axis — a time step), ``one_entry``,
``missing_part`` / ``swapped_part`` (named contributions, e.g. paths or time
steps), and, across tensors, ``one_tensor``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "CANNOT",
    "DERIVED",
    "FD_ODD",
    "JAX_ODD",
    "KINK",
    "NO_CONSENSUS",
    "OK",
    "PASSING",
    "Hint",
    "hints_for",
    "odd_one_out",
    "probe_hints",
]

OK, KINK, DERIVED = "ok", "kink", "derived_wrong"
FD_ODD, JAX_ODD, NO_CONSENSUS = "fd_odd_one_out", "jax_odd_one_out", "no_consensus"
CANNOT = "cannot_judge"
PASSING = (OK, KINK)


@dataclass
class Hint:
    kind: str
    text: str

    def __str__(self):
        return self.text


def _close(a, b, tol) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = max(float(np.max(np.abs(b))) if b.size else 0.0, 1e-300)
    return bool(np.max(np.abs(a - b)) <= tol * scale) if a.size else True


def _factor_text(c: float) -> str:
    for num, den in ((2, 1), (1, 2), (3, 1), (1, 3), (4, 1), (1, 4)):
        if abs(c - num / den) <= 1e-6 * abs(c):
            return f"{num}/{den}" if den != 1 else f"{num}"
    return f"{c:.6g}"


def hints_for(name: str, derived, reference, allowed, parts=None, tol: float = 1e-6) -> list[Hint]:
    """Shapes of mistake that explain derived vs a full reference gradient.

    >>> [h.kind for h in hints_for("W", -np.eye(2) - 1, np.eye(2) + 1, 1e-12)]
    ['sign_flip']
    >>> print(hints_for("b", np.array([2.0, 4.0]), np.array([1.0, 2.0]), 1e-12)[0])
    ∂/∂b is off by a constant factor: derived ≈ 2 × reference
    """
    D = np.asarray(derived, dtype=np.float64)
    R = np.asarray(reference, dtype=np.float64)
    out = []
    if _close(D, -R, tol):
        out.append(Hint("sign_flip", f"∂/∂{name} has the wrong sign: derived ≈ −reference"))
    rr = float(np.sum(R * R))
    if rr > 0 and not out:
        c = float(np.sum(D * R)) / rr
        if abs(c - 1.0) > tol and _close(D, c * R, tol):
            out.append(Hint("constant_factor",
                            f"∂/∂{name} is off by a constant factor: derived ≈ {_factor_text(c)} × reference"))
    if D.ndim == 2 and D.shape[0] == D.shape[1] > 1 and not _close(D, R, tol) and _close(D, R.T, tol):
        out.append(Hint("transpose", f"∂/∂{name} is transposed: derived ≈ referenceᵀ"))
    bad = np.abs(D - R) > allowed
    if bad.sum() == 1 and D.size > 1:
        ix = tuple(int(i) for i in np.argwhere(bad)[0])
        out.append(Hint("one_entry", f"only one entry of ∂/∂{name} is wrong: {name}[{', '.join(map(str, ix))}]"))
    elif D.ndim >= 2 and D.shape[0] > 1 and bad.any():
        rows = np.flatnonzero(bad.reshape(D.shape[0], -1).any(axis=1))
        if rows.size == 1:
            out.append(Hint("one_slice", f"only the slice {name}[{rows[0]}] (index {rows[0]} of the leading "
                                         f"axis — one time step?) is wrong; the other {D.shape[0] - 1} agree"))
    out += _part_hints(name, R - D, parts, tol)
    return out


def _part_hints(name, residual, parts, tol):
    if not parts:
        return []
    items = [(str(k), np.asarray(v, dtype=np.float64)) for k, v in dict(parts).items()]
    if not np.any(residual):
        return []
    for k, v in items:
        if v.shape == residual.shape and _close(residual, v, tol):
            return [Hint("missing_part", f"∂/∂{name} misses the contribution {k!r}: reference − derived ≈ {k}")]
    for k, v in items:
        for k2, v2 in items:
            if k != k2 and v.shape == residual.shape and _close(residual, v - v2, tol):
                return [Hint("swapped_part", f"∂/∂{name} uses the contribution {k2!r} in place of {k!r}")]
    return []


def probe_hints(name: str, derived, reference, tol: float = 1e-6) -> list[Hint]:
    """Sign or factor hints from directional probes alone (no full reference)."""
    d = np.asarray(derived, dtype=np.float64)
    r = np.asarray(reference, dtype=np.float64)
    if d.size == 0 or not np.any(r):
        return []
    if _close(d, -r, tol):
        return [Hint("sign_flip", f"∂/∂{name} has the wrong sign along every probe")]
    c = float(np.sum(d * r) / np.sum(r * r))
    if abs(c - 1.0) > tol and _close(d, c * r, tol):
        return [Hint("constant_factor", f"∂/∂{name} is off by a constant factor along every probe: "
                                        f"derived ≈ {_factor_text(c)} × reference")]
    return []


def odd_one_out(votes: dict) -> str:
    """The diagnosis with the most votes among disagreeing measurements.

    >>> odd_one_out({DERIVED: 3, FD_ODD: 1, JAX_ODD: 0, NO_CONSENSUS: 0})
    'derived_wrong'
    """
    best = max(votes.values())
    if best == 0:
        return DERIVED
    for kind in (DERIVED, NO_CONSENSUS, JAX_ODD, FD_ODD):
        if votes.get(kind, 0) == best:
            return kind
    return DERIVED
