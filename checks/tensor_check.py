"""One tensor's comparison: measure derived against finite differences (every
coordinate, or directional probes and sampled coordinates) and JAX, give
doubtful measurements a second look, and judge the result into a TensorReport."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from numeric.complex_step import complex_directional, complex_step
from numeric.finite_differences import directional_detail, richardson_detail

from . import diagnosis as dg
from .report import Entry, TensorReport
from .sampling import detection_probability, gaussian_probes, stratified
from .tolerances import SAFETY

__all__ = ["KINK_SHARE", "RESOLVE", "Budget", "Oracles", "Setting", "Tolerance", "check_tensor", "directional_check",
           "full_check"]

KINK_SHARE = 0.1  # a mismatch is a kink when the samples' distance from a smooth curve is this large


def _fd_full(fp, x, eps, use_complex, noise=0.0):
    """(value, error, nonsmooth, evaluations, floor) for every coordinate."""
    if use_complex:
        value = complex_step(fp, x)
        top = float(np.max(np.abs(value))) if value.size else 0.0
        err = 8.0 * eps * np.maximum(np.abs(value), top * 1e-3)
        return value, err, np.zeros_like(value), x.size, np.zeros_like(value)  # no subtraction, no rounding floor
    d = richardson_detail(fp, x, eps, noise)
    return d.value, d.error, d.nonsmooth, d.evaluations, d.floor


def _unit(x, flat_index):
    e = np.zeros(x.size)
    e[flat_index] = 1.0
    return e.reshape(x.shape)


def _measure(fp, x, v, eps, f0, use_complex, noise=0.0):
    """(value, error, nonsmooth or None, evaluations, floor) of ∇f·v; the complex step
    leaves the kink measure to :func:`_rejudge`, which runs only on mismatches."""
    if use_complex:
        value = complex_directional(fp, x, v)
        return value, 8.0 * eps * max(abs(value), 1e-300), None, 1, 0.0
    d = directional_detail(fp, x, v, eps, f0, noise=noise)
    return float(d.value), float(d.error), float(d.nonsmooth), d.evaluations, float(d.floor)


REFINE = (1 / 8, 1 / 64, 1 / 512)  # second looks with shorter steps
REFINE_AT_MOST = 32  # entries per tensor given a second look
SHARP = 1e-7  # an FD bound wider than this × max|gradient| is worth a second look


def _rejudge(entries, fp, x, eps, f0, tau, scale, sharpen=True, noise=0.0):
    """Second looks where finite differences disagree with derived or are too
    vague to judge; returns the calls made.

    A step scaled to |x| is too long where f varies on a shorter scale (tanh(W x)
    with |x| ≈ 1e4 and W x ≈ 0). Such entries are measured again with steps 8, 64
    and 512 times shorter, keeping the measurement with the smallest error
    estimate, until derived is within the bound and the bound is sharp (vague
    bounds only with ``sharpen``: directional mode keeps its fixed budget unless
    something disagrees). After a complex step, the real differences also supply
    the kink measure it lacks.
    """
    def off(e):
        return abs(e.derived - e.fd) > e.allowed

    def vague(e):
        return sharpen and SAFETY * e.fd_error > SHARP * scale

    todo = [e for e in entries if e.fd is not None and np.isfinite(e.fd) and (off(e) or vague(e))]
    todo.sort(key=lambda e: -abs(e.derived - e.fd) / max(e.allowed, 1e-300))
    calls = 0
    for e in todo[:REFINE_AT_MOST]:
        v = e.direction if e.direction is not None else _unit(x, int(np.ravel_multi_index(e.index, x.shape)))
        for shrink in (1.0, *REFINE) if e.fd_nonsmooth is None else REFINE:
            d = directional_detail(fp, x, v, eps, f0, shrink, noise)
            calls += d.evaluations
            if float(d.error) < e.fd_error:
                e.fd, e.fd_error, e.fd_nonsmooth = float(d.value), float(d.error), float(d.nonsmooth)
                e.fd_floor = max(float(d.floor), e.derived_floor)
                e.allowed = SAFETY * e.fd_error + tau(e)
            else:
                e.fd_nonsmooth = max(e.fd_nonsmooth or 0.0, float(d.nonsmooth))
                if shrink != 1.0 and not off(e):
                    break  # rounding, not the step, limits the estimate: shorter steps only make it worse
            if off(e) and e.fd_nonsmooth >= KINK_SHARE * abs(e.derived - e.fd):
                break  # a kink: shorter steps cannot help
            if not off(e) and not vague(e):
                break
    return calls


RESOLVE = 0.05  # a tolerance above this share of the gradient's scale judges nothing (a 10 % error must show)


def _status(diff, allowed, floor, scale, atol, uncertain=0.0, nonsmooth=0.0):
    """One oracle's word on one entry: agree, off, kink, or why it cannot judge.

    ``diff`` is |derived − oracle|, ``allowed`` the oracle's relative tolerance plus its
    own uncertainty (``uncertain``), ``floor`` the absolute rounding excused on top
    (``atol`` replaces it), ``scale`` the tensor's gradient scale along the entry.
    A tolerance that is not small against the scale cannot tell a right gradient from
    a wrong one, so an agreement that needed it is no verdict.
    """
    if diff > allowed + (floor if atol is None else atol):
        return "kink" if nonsmooth >= KINK_SHARE * diff else "off"
    granted = allowed + (floor if atol is None and diff > allowed else 0.0)
    if granted > RESOLVE * max(scale, atol or 0.0):
        return "noise" if uncertain > RESOLVE * scale else "below resolution"
    return "agree"


def _fd_status(e, scale, atol, rtol):
    """What the finite difference says about entry ``e``."""
    if e.fd is None:
        return None
    if not (np.isfinite(e.fd) and np.isfinite(e.fd_error)):
        return "non-finite"
    diff = abs(e.derived - e.fd)
    if diff <= rtol * max(abs(e.derived), abs(e.fd)) and SAFETY * e.fd_error <= RESOLVE * max(scale, abs(e.fd)):
        return "agree"  # equal to rounding (exact zeros included), by a sharp difference
    return _status(diff, e.allowed, e.fd_floor, scale, atol, SAFETY * e.fd_error, e.fd_nonsmooth or 0.0)


def _jax_status(e, scale, atol, rtol):
    """What JAX's gradient says about entry ``e``."""
    if e.jax is None:
        return None
    if not np.isfinite(e.jax):
        return "non-finite"
    diff = abs(e.derived - e.jax)
    if diff <= rtol * max(abs(e.derived), abs(e.jax)):
        return "agree"
    return _status(diff, e.jax_allowed, e.derived_floor, scale, atol)


UNJUDGED = {  # why an entry has no verdict, for the report
    "non-finite": "f is not finite at the points finite differences need (a domain edge?)",
    "below resolution": "the gradient is below what finite differences resolve here",
    "noise": "finite differences are too uncertain here to judge the gradient (f is noisy or rounded at the step)",
    "kink": "x ± h straddles a kink, and no second oracle agrees there (JAX absent, or its one-sided slope differs)",
}


def _judge(entries, votes, scales, atol, rtol):
    """Classify each Entry; return (fd_bad, kinks, jax_bad, unjudged) lists.

    An entry is judged when some oracle judged it and none disagrees; an entry
    no oracle could judge is listed with the reason, and never counts as agreeing.
    """
    fd_bad, kinks, jax_bad, unjudged = [], [], [], []
    for e in entries:
        fd = _fd_status(e, scales[0] * e.weight, atol, rtol)
        jx = _jax_status(e, scales[1] * e.weight, atol, rtol)
        if fd == "kink" and jx == "off":  # at a kink derived and JAX may pick different one-sided slopes
            jx = "kink"
        fd_off, jax_off = fd == "off", jx == "off"
        if fd_off:
            fd_bad.append(e)
        if jax_off:
            jax_bad.append(e)
        if fd_off or jax_off:
            if jx is None or fd not in ("off", "agree"):  # the one oracle that judged disagrees
                votes[dg.DERIVED] += 1
            elif fd_off and jax_off:
                jf = abs(e.jax - e.fd) <= e.allowed + (e.fd_floor if atol is None else atol)
                votes[dg.DERIVED if jf else dg.NO_CONSENSUS] += 1
            else:
                votes[dg.FD_ODD if fd_off else dg.JAX_ODD] += 1
            continue
        if fd == "kink":
            e.kink = True
            kinks.append(e)
        if "agree" not in (fd, jx):
            e.unjudged = UNJUDGED.get(fd) or UNJUDGED.get(jx) or "no oracle measured it"
            unjudged.append(e)
    return fd_bad, kinks, jax_bad, unjudged


class _Measured(Entry):
    """An Entry with the private numbers the judgement needs."""

    def __init__(self, *a, fd_nonsmooth=None, jax_allowed=np.inf, direction=None, fd_floor=0.0,
                 derived_floor=0.0, **k):
        super().__init__(*a, **k)
        self.fd_nonsmooth, self.jax_allowed, self.direction = fd_nonsmooth, jax_allowed, direction
        self.fd_floor, self.derived_floor = max(fd_floor, derived_floor), derived_floor  # both oracles excuse it
        self.weight = 1.0 if direction is None else float(np.linalg.norm(direction))
        self.unjudged = None

    def public(self) -> Entry:
        return Entry(self.index, self.derived, self.jax, self.fd, self.fd_error, self.allowed, self.kink, self.probe)


def _rel(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.size == 0:
        return 0.0
    diff = float(np.max(np.abs(a - b)))
    return 0.0 if diff == 0 else diff / max(float(np.max(np.abs(b))), 1e-300)


@dataclass(frozen=True)
class Tolerance:
    """How close is close enough: the relative tolerance and the absolute floors."""

    rtol: float
    eps: float  # machine epsilon of f's evaluation
    floor: float  # the derived gradient's own rounding, absolute: 16·ε in its precision
    atol: float | None = None  # the caller's absolute tolerance (replaces the floors)
    noise: float = 0.0  # |f(x) − f(x)| over two evaluations: f is not deterministic when > 0


@dataclass(frozen=True)
class Oracles:
    """What the derived gradient is compared with, besides finite differences."""

    J: np.ndarray | None  # JAX's gradient, if any
    use_complex: bool  # the complex step instead of Richardson


@dataclass(frozen=True)
class Budget:
    """How much of the tensor is compared: every coordinate, or probes and sampled coordinates."""

    full: bool
    probes: int = 4
    coordinates: int = 11
    worst: int = 3  # entries shown in the report


@dataclass(frozen=True)
class Setting:
    """What one tensor's check needs: the function along this tensor, the point, the
    gradient under test, and the options as three value objects."""

    name: str
    fp: object  # f as a function of this tensor alone
    x: np.ndarray  # float64, C order
    D: np.ndarray  # the derived gradient
    dtype: object  # the dtype x was given in
    f0: float
    rng: np.random.Generator
    first: tuple  # (direction, Differences) of the first probe, measured by the caller
    oracles: Oracles
    tol: Tolerance
    budget: Budget
    parts: dict | None = None  # named contributions of the derived gradient, for the diagnosis


def check_tensor(s: Setting) -> TensorReport:
    """One tensor: every coordinate (:func:`full_check`) or a fixed budget (:func:`directional_check`)."""
    return full_check(s) if s.budget.full else directional_check(s)


def _scales(s: Setting, entries) -> tuple[float, float]:
    """(finite differences', JAX's) gradient scale per unit of direction: the largest magnitude
    any value of the tensor shows, the measured ones included (noise makes them large)."""
    top = max([float(np.max(np.abs(a))) for a in (s.D, s.oracles.J) if a is not None and a.size] + [0.0])
    measured = [abs(e.fd) / e.weight for e in entries if e.fd is not None and np.isfinite(e.fd)]
    return max([top, *measured]), top


def _verdict(s: Setting, entries):
    """(diagnosis, fd_bad, kinks, jax_bad, unjudged) for the measured entries."""
    votes = {dg.DERIVED: 0, dg.FD_ODD: 0, dg.JAX_ODD: 0, dg.NO_CONSENSUS: 0}
    fd_bad, kinks, jax_bad, unjudged = _judge(entries, votes, _scales(s, entries), s.tol.atol, s.tol.rtol)
    if fd_bad or jax_bad:
        diagnosis = dg.odd_one_out(votes)
    elif unjudged:
        diagnosis = dg.CANNOT
    else:
        diagnosis = dg.KINK if kinks else dg.OK
    return diagnosis, fd_bad, kinks, jax_bad, unjudged


def _usable(e) -> bool:
    return e.fd is not None and not e.kink and bool(np.isfinite(e.fd))


def _badness(e) -> float:
    scores = [0.0]
    if _usable(e):
        scores.append(abs(e.derived - e.fd) / max(e.allowed, 1e-300))
    if e.jax is not None and np.isfinite(e.jax):
        scores.append(abs(e.derived - e.jax) / max(e.jax_allowed, 1e-300))
    return max(scores)


def _wrong_hints(s: Setting, mode, entries):
    ref = s.oracles.J
    if ref is None and mode == "full" and all(_usable(e) for e in entries):
        ref = np.array([e.fd for e in entries]).reshape(s.D.shape)
    tol = max(1e-6, 10 * s.tol.rtol)
    if ref is not None:
        allowed = (np.full(s.D.shape, max(e.jax_allowed for e in entries)) if s.oracles.J is not None
                   else np.array([e.allowed for e in entries]).reshape(s.D.shape))
        return dg.hints_for(s.name, s.D, ref, allowed, s.parts, tol=tol)
    probes = [e for e in entries if e.probe is not None and _usable(e)]
    return dg.probe_hints(s.name, [e.derived for e in probes], [e.fd for e in probes], tol=tol)


def _finish(s: Setting, mode, entries, evals, extra_hints=(), detection=None):
    diagnosis, _, kinks, _, unjudged = _verdict(s, entries)
    smooth = [e for e in entries if _usable(e)]
    rel_fd = _rel([e.derived for e in smooth], [e.fd for e in smooth]) if smooth else None
    rel_jax = _rel(s.D, s.oracles.J) if s.oracles.J is not None else None
    if s.oracles.J is not None:
        reference, abs_err, rel_err = "JAX", float(np.max(np.abs(s.D - s.oracles.J))) if s.D.size else 0.0, rel_jax
    else:
        reference = "finite differences" + (" (probes)" if mode == "directional" else "")
        abs_err = max([abs(e.derived - e.fd) for e in smooth], default=0.0)
        rel_err = rel_fd or 0.0
    hints = _wrong_hints(s, mode, entries) if diagnosis == dg.DERIVED else []
    hints += list(extra_hints)
    ranked = sorted(entries, key=_badness, reverse=True)[:s.budget.worst]
    fd_est = max([e.fd_error for e in entries if e.fd_error is not None and np.isfinite(e.fd_error)], default=0.0)
    return TensorReport(
        name=s.name, shape=tuple(s.x.shape), dtype=str(s.dtype), mode=mode, passed=diagnosis in dg.PASSING,
        diagnosis=diagnosis, reference=reference, max_abs_error=abs_err, max_rel_error=rel_err,
        rel_error_jax=rel_jax, rel_error_fd=rel_fd, fd_error_estimate=fd_est, rtol=s.tol.rtol,
        worst=[e.public() for e in ranked],
        kinks=[e.index if e.probe is None else f"{s.name}·v{e.probe}" for e in kinks], hints=hints,
        evaluations=evals, detection=detection,
        unjudged=[(e.public().label(s.name), e.unjudged) for e in unjudged])


def full_check(s: Setting) -> TensorReport:
    """Every coordinate of the tensor against finite differences (and JAX where given)."""
    x, J = s.x, s.oracles.J
    value, err, nonsmooth, evals, fd_floor = _fd_full(s.fp, x, s.tol.eps, s.oracles.use_complex, s.tol.noise)
    evals += s.first[1].evaluations
    finite = value[np.isfinite(value)]
    scale = max(float(np.max(np.abs(finite))) if finite.size else 0.0, s.tol.floor, 1e-300)
    allowed = SAFETY * err + s.tol.rtol * scale
    jscale = max(float(np.max(np.abs(J))) if J is not None and J.size else 0.0, s.tol.floor, 1e-300)
    entries = []
    for ix in np.ndindex(*x.shape):
        entries.append(_Measured(tuple(int(i) for i in ix), float(s.D[ix]), None if J is None else float(J[ix]),
                                 float(value[ix]), float(err[ix]), float(allowed[ix]),
                                 fd_nonsmooth=None if s.oracles.use_complex else float(nonsmooth[ix]),
                                 jax_allowed=s.tol.rtol * jscale, fd_floor=float(fd_floor[ix]),
                                 derived_floor=s.tol.floor))
    evals += _rejudge(entries, s.fp, x, s.tol.eps, s.f0, lambda e: s.tol.rtol * scale, scale, noise=s.tol.noise)
    report = _finish(s, "full", entries, evals)
    report.fd_values, report.fd_errors = value, err
    return report


def _probe_entries(s: Setting, scale):
    """The Gaussian probes ∇f·v; returns (entries, evaluations, tolerances)."""
    entries, evals, taus = [], 0, []
    directions = [s.first[0], *gaussian_probes(s.rng, s.x.shape, s.budget.probes - 1)] if s.budget.probes else []
    for k, v in enumerate(directions, 1):
        if k == 1:
            d = s.first[1]
            value, err, ns, calls, floor = float(d.value), float(d.error), float(d.nonsmooth), d.evaluations, d.floor
            if s.oracles.use_complex:
                value = complex_directional(s.fp, s.x, v)
                err, calls, floor = 8.0 * s.tol.eps * abs(value), 6, 0.0
        else:
            value, err, ns, calls, floor = _measure(s.fp, s.x, v, s.tol.eps, s.f0, s.oracles.use_complex, s.tol.noise)
        evals += calls
        err = max(err, 8.0 * s.tol.eps * float(np.sum(np.abs(s.D * v))))  # rounding of the sum ∇f·v itself
        norm = float(np.linalg.norm(v))
        tau = SAFETY * err + s.tol.rtol * scale * norm
        taus.append(tau + max(float(floor), s.tol.floor * norm))  # what the probe excuses, floors included
        jv = None if s.oracles.J is None else float(np.sum(s.oracles.J * v))
        entries.append(_Measured(None, float(np.sum(s.D * v)), jv,
                                 value, err, tau, probe=k, fd_nonsmooth=ns, direction=v, fd_floor=float(floor),
                                 jax_allowed=s.tol.rtol * scale * norm + tau, derived_floor=s.tol.floor * norm))
    return entries, evals, taus


def _coordinate_entries(s: Setting, scale, sampled):
    entries, evals = [], 0
    for flat in sorted(sampled):
        value, err, ns, calls, floor = _measure(s.fp, s.x, _unit(s.x, flat), s.tol.eps, s.f0,
                                                s.oracles.use_complex, s.tol.noise)
        evals += calls
        ix = tuple(int(i) for i in np.unravel_index(flat, s.x.shape))
        entries.append(_Measured(ix, float(s.D.reshape(-1)[flat]),
                                 None if s.oracles.J is None else float(s.oracles.J.reshape(-1)[flat]),
                                 value, err, SAFETY * err + s.tol.rtol * scale, fd_nonsmooth=ns, fd_floor=float(floor),
                                 jax_allowed=s.tol.rtol * scale, derived_floor=s.tol.floor))
    return entries, evals


def _jax_only_entries(s: Setting, scale, entries):
    """Entries JAX rejects that no difference measured (listed as JAX-judged), and the hints they give."""
    measured = {e.index for e in entries if e.index is not None}
    off = np.argwhere(np.abs(s.D - s.oracles.J) > s.tol.rtol * scale)
    unmeasured = [tuple(int(i) for i in ix) for ix in off if tuple(int(i) for i in ix) not in measured]
    more = [_Measured(ix, float(s.D[ix]), float(s.oracles.J[ix]), None, None, np.inf, jax_allowed=s.tol.rtol * scale,
                      derived_floor=s.tol.floor) for ix in unmeasured[:s.budget.worst]]
    extra = []
    if len(off) >= 1:
        full_hints = dg.hints_for(s.name, s.D, s.oracles.J, s.tol.rtol * scale, s.parts, tol=max(1e-6, 10 * s.tol.rtol))
        extra = [h for h in full_hints if h.kind in ("transpose", "one_slice", "one_entry", "missing_part",
                                                       "swapped_part")]
    return more, extra


def directional_check(s: Setting) -> TensorReport:
    """Gaussian probes and stratified sampled coordinates (fixed budget whatever the size), and JAX on every entry."""
    n, D, J = s.x.size, s.D, s.oracles.J
    scale = max(float(np.max(np.abs(J if J is not None else D))), s.tol.floor, 1e-300)
    entries, evals, taus = _probe_entries(s, scale)
    sampled = {int(i) for i in stratified(s.rng, n, s.budget.coordinates)}
    if J is not None:  # JAX judged every entry: measure the worst of those it rejects too
        off = np.abs(D - J).reshape(-1) > s.tol.rtol * scale
        sampled |= {int(i) for i in np.argsort(-np.abs(D - J).reshape(-1))[:4] if off[i]}
    more, calls = _coordinate_entries(s, scale, sampled)
    entries, evals = entries + more, evals + calls
    extra = []
    if J is not None:
        more, extra = _jax_only_entries(s, scale, entries)
        entries += more
    def allowed(e):
        return s.tol.rtol * scale * (1.0 if e.direction is None else float(np.linalg.norm(e.direction)))

    evals += _rejudge(entries, s.fp, s.x, s.tol.eps, s.f0, allowed,
                      scale * max(1.0, float(np.sqrt(n))), sharpen=False, noise=s.tol.noise)
    typical = float(np.sqrt(np.mean(D * D))) if n else 0.0
    rel = 0.1
    detection = {"probes": s.budget.probes, "coordinates": len(sampled), "n": n, "relative_error": rel,
                 "probability": 1.0 if J is not None and rel * typical > s.tol.rtol * scale
                 else detection_probability(rel * typical, taus, len(sampled), n),
                 "probability_fd_only": detection_probability(rel * typical, taus, len(sampled), n),
                 "jax_all": J is not None}
    report = _finish(s, "directional", entries, evals, (), detection)
    if not report.passed:
        report.hints += [h for h in extra if h.kind not in {x.kind for x in report.hints}]
    return report
