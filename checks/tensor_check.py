"""One tensor's comparison: measure derived against finite differences (every
coordinate, or directional probes and sampled coordinates) and JAX, give
doubtful measurements a second look, and judge the result into a TensorReport."""
from __future__ import annotations

import numpy as np

from numeric.complex_step import complex_directional, complex_step
from numeric.finite_differences import directional_detail, richardson_detail

from . import diagnosis as dg
from .report import Entry, TensorReport
from .sampling import detection_probability, gaussian_probes, stratified
from .tolerances import SAFETY

__all__ = ["KINK_SHARE", "directional_check", "full_check"]

KINK_SHARE = 0.1  # a mismatch is a kink when the samples' distance from a smooth curve is this large


def _fd_full(fp, x, eps, use_complex):
    """(value, error, nonsmooth, evaluations) for every coordinate."""
    if use_complex:
        value = complex_step(fp, x)
        err = 8.0 * eps * np.maximum(np.abs(value), float(np.max(np.abs(value))) * 1e-3)
        return value, err, np.zeros_like(value), x.size
    d = richardson_detail(fp, x, eps)
    return d.value, d.error, d.nonsmooth, d.evaluations


def _unit(x, flat_index):
    e = np.zeros(x.size)
    e[flat_index] = 1.0
    return e.reshape(x.shape)


def _measure(fp, x, v, eps, f0, use_complex):
    """(value, error, nonsmooth or None, evaluations) of ∇f·v; the complex step
    leaves the kink measure to :func:`_rejudge`, which runs only on mismatches."""
    if use_complex:
        value = complex_directional(fp, x, v)
        return value, 8.0 * eps * max(abs(value), 1e-300), None, 1
    d = directional_detail(fp, x, v, eps, f0)
    return float(d.value), float(d.error), float(d.nonsmooth), d.evaluations


REFINE = (1 / 8, 1 / 64, 1 / 512)  # second looks with shorter steps
REFINE_AT_MOST = 32  # entries per tensor given a second look
SHARP = 1e-7  # an FD bound wider than this × max|gradient| is worth a second look


def _rejudge(entries, fp, x, eps, f0, tau, scale, sharpen=True):
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

    todo = [e for e in entries if e.fd is not None and (off(e) or vague(e))]
    todo.sort(key=lambda e: -abs(e.derived - e.fd) / max(e.allowed, 1e-300))
    calls = 0
    for e in todo[:REFINE_AT_MOST]:
        v = e.direction if e.direction is not None else _unit(x, int(np.ravel_multi_index(e.index, x.shape)))
        for shrink in (1.0, *REFINE) if e.fd_nonsmooth is None else REFINE:
            d = directional_detail(fp, x, v, eps, f0, shrink)
            calls += d.evaluations
            if float(d.error) < e.fd_error:
                e.fd, e.fd_error, e.fd_nonsmooth = float(d.value), float(d.error), float(d.nonsmooth)
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


def _judge(entries, votes, has_jax):
    """Classify each measured Entry; return (fd_bad, kinks, jax_bad) lists."""
    fd_bad, kinks, jax_bad = [], [], []
    for e in entries:
        d_fd = None if e.fd is None else abs(e.derived - e.fd)
        fd_off = d_fd is not None and d_fd > e.allowed
        if fd_off and (e.fd_nonsmooth or 0.0) >= KINK_SHARE * d_fd:
            e.kink = True
            kinks.append(e)
            continue
        jax_off = has_jax and e.jax is not None and abs(e.derived - e.jax) > e.jax_allowed
        if fd_off:
            fd_bad.append(e)
        if jax_off:
            jax_bad.append(e)
        if fd_off or jax_off:
            if not has_jax or e.jax is None or e.fd is None:
                votes[dg.DERIVED] += 1
            else:
                jf = abs(e.jax - e.fd) <= e.allowed
                if fd_off and jax_off:
                    votes[dg.DERIVED if jf else dg.NO_CONSENSUS] += 1
                elif fd_off:
                    votes[dg.FD_ODD] += 1
                else:
                    votes[dg.JAX_ODD] += 1
    return fd_bad, kinks, jax_bad


class _Measured(Entry):
    """An Entry with the private numbers the judgement needs."""

    def __init__(self, *a, fd_nonsmooth=None, jax_allowed=np.inf, direction=None, **k):
        super().__init__(*a, **k)
        self.fd_nonsmooth, self.jax_allowed, self.direction = fd_nonsmooth, jax_allowed, direction

    def public(self) -> Entry:
        return Entry(self.index, self.derived, self.jax, self.fd, self.fd_error, self.allowed, self.kink, self.probe)


def _rel(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.size == 0:
        return 0.0
    diff = float(np.max(np.abs(a - b)))
    return 0.0 if diff == 0 else diff / max(float(np.max(np.abs(b))), 1e-300)


def _finish(name, x, D, J, dtype, rtol, mode, entries, evals, parts, worst, extra_hints=(), detection=None):
    votes = {dg.DERIVED: 0, dg.FD_ODD: 0, dg.JAX_ODD: 0, dg.NO_CONSENSUS: 0}
    fd_bad, kinks, jax_bad = _judge(entries, votes, J is not None)
    if not fd_bad and not jax_bad:
        diagnosis = dg.KINK if kinks else dg.OK
    else:
        diagnosis = dg.odd_one_out(votes)
    passed = diagnosis in dg.PASSING
    smooth = [e for e in entries if e.fd is not None and not e.kink]
    rel_fd = _rel([e.derived for e in smooth], [e.fd for e in smooth]) if smooth else None
    rel_jax = _rel(D, J) if J is not None else None
    if J is not None:
        reference, abs_err, rel_err = "JAX", float(np.max(np.abs(D - J))) if D.size else 0.0, rel_jax
    else:
        reference = "finite differences" + (" (probes)" if mode == "directional" else "")
        abs_err = max([abs(e.derived - e.fd) for e in smooth], default=0.0)
        rel_err = rel_fd or 0.0
    hints = []
    if diagnosis == dg.DERIVED:
        ref = J
        if ref is None and mode == "full":
            ref = np.array([e.fd for e in entries]).reshape(D.shape)
        if ref is not None:
            allowed = (np.full(D.shape, max(e.jax_allowed for e in entries)) if J is not None
                       else np.array([e.allowed for e in entries]).reshape(D.shape))
            hints = dg.hints_for(name, D, ref, allowed, parts, tol=max(1e-6, 10 * rtol))
        else:
            probes = [e for e in entries if e.probe is not None]
            hints = dg.probe_hints(name, [e.derived for e in probes], [e.fd for e in probes], tol=max(1e-6, 10 * rtol))
    hints += list(extra_hints)

    def badness(e):
        scores = [0.0]
        if e.fd is not None and not e.kink:
            scores.append(abs(e.derived - e.fd) / max(e.allowed, 1e-300))
        if e.jax is not None:
            scores.append(abs(e.derived - e.jax) / max(e.jax_allowed, 1e-300))
        return max(scores)

    ranked = sorted(entries, key=badness, reverse=True)[:worst]
    fd_est = max([e.fd_error for e in entries if e.fd_error is not None], default=0.0)
    return TensorReport(name, tuple(x.shape), str(dtype), mode, passed, diagnosis, reference, abs_err,
                        rel_err, rel_jax, rel_fd, fd_est, rtol, [e.public() for e in ranked],
                        [e.index if e.probe is None else f"{name}·v{e.probe}" for e in kinks], hints, evals,
                        detection)


def full_check(name, fp, x, D, J, dtype, rtol, eps, f0, use_complex, rng, probes, coordinates, parts, worst, first,
          floor):
    value, err, nonsmooth, evals = _fd_full(fp, x, eps, use_complex)
    evals += first[1].evaluations
    scale = max(float(np.max(np.abs(value))) if value.size else 0.0, floor, 1e-300)
    allowed = SAFETY * err + rtol * scale
    jscale = max(float(np.max(np.abs(J))) if J is not None and J.size else 0.0, floor, 1e-300)
    entries = []
    for k, ix in enumerate(np.ndindex(*x.shape)):
        entries.append(_Measured(tuple(int(i) for i in ix), float(D[ix]), None if J is None else float(J[ix]),
                                 float(value[ix]), float(err[ix]), float(allowed[ix]),
                                 fd_nonsmooth=None if use_complex else float(nonsmooth[ix]),
                                 jax_allowed=rtol * jscale))
    evals += _rejudge(entries, fp, x, eps, f0, lambda e: rtol * scale, scale)
    report = _finish(name, x, D, J, dtype, rtol, "full", entries, evals, parts, worst)
    report.fd_values, report.fd_errors = value, err
    return report


def directional_check(name, fp, x, D, J, dtype, rtol, eps, f0, use_complex, rng, probes, coordinates, parts, worst,
                 first, floor):
    n = x.size
    scale = max(float(np.max(np.abs(J if J is not None else D))), floor, 1e-300)
    entries, evals, taus = [], 0, []
    directions = [first[0], *gaussian_probes(rng, x.shape, probes - 1)] if probes else []
    for k, v in enumerate(directions, 1):
        if k == 1:
            d = first[1]
            value, err, ns, calls = float(d.value), float(d.error), float(d.nonsmooth), d.evaluations
            if use_complex:
                value, err, calls = complex_directional(fp, x, v), 8.0 * eps * abs(complex_directional(fp, x, v)), 6
        else:
            value, err, ns, calls = _measure(fp, x, v, eps, f0, use_complex)
        evals += calls
        err = max(err, 8.0 * eps * float(np.sum(np.abs(D * v))))  # rounding of the sum ∇f·v itself
        tau = SAFETY * err + rtol * scale * float(np.linalg.norm(v))
        taus.append(tau)
        entries.append(_Measured(None, float(np.sum(D * v)), None if J is None else float(np.sum(J * v)),
                                 value, err, tau, probe=k, fd_nonsmooth=ns, direction=v,
                                 jax_allowed=rtol * scale * float(np.linalg.norm(v)) + tau))
    sampled = {int(i) for i in stratified(rng, n, coordinates)}
    if J is not None:  # JAX judged every entry: measure the worst of those it rejects too
        off = np.abs(D - J).reshape(-1) > rtol * scale
        sampled |= {int(i) for i in np.argsort(-np.abs(D - J).reshape(-1))[:4] if off[i]}
    for flat in sorted(sampled):
        value, err, ns, calls = _measure(fp, x, _unit(x, flat), eps, f0, use_complex)
        evals += calls
        ix = tuple(int(i) for i in np.unravel_index(flat, x.shape))
        entries.append(_Measured(ix, float(D.reshape(-1)[flat]), None if J is None else float(J.reshape(-1)[flat]),
                                 value, err, SAFETY * err + rtol * scale, fd_nonsmooth=ns,
                                 jax_allowed=rtol * scale))
    extra = []
    if J is not None:
        measured = {e.index for e in entries if e.index is not None}
        off = np.argwhere(np.abs(D - J) > rtol * scale)
        unmeasured = [tuple(int(i) for i in ix) for ix in off if tuple(int(i) for i in ix) not in measured]
        for ix in unmeasured[:worst]:
            entries.append(_Measured(ix, float(D[ix]), float(J[ix]), None, None, np.inf, jax_allowed=rtol * scale))
        if len(off) >= 1:
            full_hints = dg.hints_for(name, D, J, rtol * scale, parts, tol=max(1e-6, 10 * rtol))
            extra = [h for h in full_hints if h.kind in ("transpose", "one_slice", "one_entry", "missing_part",
                                                           "swapped_part")]
    evals += _rejudge(entries, fp, x, eps, f0,
                      lambda e: rtol * scale * (1.0 if e.direction is None else float(np.linalg.norm(e.direction))),
                      scale * max(1.0, float(np.sqrt(n))), sharpen=False)
    typical = float(np.sqrt(np.mean(D * D))) if n else 0.0
    rel = 0.1
    detection = {"probes": probes, "coordinates": len(sampled), "n": n, "relative_error": rel,
                 "probability": 1.0 if J is not None and rel * typical > rtol * scale
                 else detection_probability(rel * typical, taus, len(sampled), n),
                 "probability_fd_only": detection_probability(rel * typical, taus, len(sampled), n),
                 "jax_all": J is not None}
    report = _finish(name, x, D, J, dtype, rtol, "directional", entries, evals, parts, worst, (), detection)
    if not report.passed:
        report.hints += [h for h in extra if h.kind not in {x.kind for x in report.hints}]
    return report
