"""``gradcheck``: a gradient against JAX autodiff and finite differences, with a diagnosis.

Three values meet at every compared point — the gradient under test
("derived"), JAX's (when ``f`` can be traced) and a finite difference
(Richardson, or the complex step when ``f`` is complex-safe) — and the one
that disagrees is named. Finite differences always run in float64, whatever
the dtype of ``x``; tolerances come from their error estimate and from the
precision of the arrays involved (:mod:`checks.tolerances`).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from numeric.complex_step import accepts_complex
from numeric.finite_differences import directional_detail

from . import diagnosis as dg
from .report import GradcheckReport
from .taylor import taylor_order
from .tensor_check import Budget, Oracles, Setting, Tolerance, check_tensor
from .tolerances import SAFETY, eps_for, rtol_for
from .trees import as_float_array, flatten, rebuild

__all__ = ["FULL_LIMIT", "MODES", "assert_gradients", "gradcheck"]

FULL_LIMIT = 512  # "auto" checks every coordinate of tensors up to this size, else directional
MODES = ("auto", "full", "directional")


class _Counted:
    """f on a list of float64 tensors, with a call count and a scalar check."""

    def __init__(self, f, kind, names):
        self.f, self.kind, self.names, self.calls = f, kind, names, 0

    def __call__(self, arrays) -> float:
        self.calls += 1
        with np.errstate(all="ignore"):
            out = self.f(rebuild(self.kind, self.names, arrays))
        a = np.asarray(out)
        if a.size != 1:
            raise ValueError(f"f must return a scalar; it returned shape {a.shape}")
        return a.reshape(()).item() if np.iscomplexobj(a) else float(a.reshape(()))


def _jax_gradient(f, kind, names, arrays):
    """(gradients, status): JAX's gradient of f, or None and why not."""
    try:
        from numeric.autodiff import jax, jnp
    except ImportError as e:  # pragma: no cover - JAX is a dependency, but stay usable without it
        return None, f"not installed ({e})"
    try:
        g = jax.grad(lambda *a: f(rebuild(kind, names, list(a))), argnums=tuple(range(len(arrays))))(
            *[jnp.asarray(a, dtype=jnp.float64) for a in arrays])
        return [np.asarray(v, dtype=np.float64) for v in g], "used"
    except Exception as e:  # noqa: BLE001 - f is not traceable: NumPy on tracers, control flow, …
        first = (str(e).strip().splitlines() or [""])[0][:120]
        return None, f"f could not be traced ({type(e).__name__}: {first})"


def _value(f, kind, names, x64) -> np.ndarray:
    """f at x, once, checked to be a finite real scalar."""
    with np.errstate(all="ignore"):
        out = np.asarray(f(rebuild(kind, names, [a.copy() for a in x64])))
    if out.size != 1 or not np.issubdtype(out.dtype, np.number) or np.iscomplexobj(out):
        raise ValueError(f"f must return a real scalar; it returned {out.dtype} with shape {out.shape}")
    if not np.isfinite(float(out.reshape(()))):
        raise ValueError(f"f(x) = {float(out.reshape(()))} is not finite; check at a point inside f's domain")
    return out


def _derived(grad, x, kind, names, shapes):
    g = grad(x)
    if kind == "dict":
        if not isinstance(g, dict) or set(g) != set(names):
            got = sorted(g) if isinstance(g, dict) else type(g).__name__
            raise ValueError(f"grad(x) must return a dict with keys {sorted(names)}; got {got}")
        leaves = [g[n] for n in names]
    elif kind == "sequence":
        if not isinstance(g, (tuple, list)) or len(g) != len(names):
            raise ValueError(f"grad(x) must return a tuple of {len(names)} arrays, one per tensor of x; "
                             f"got {type(g).__name__}")
        leaves = list(g)
    else:
        leaves = [g]
    out = []
    for n, s, v in zip(names, shapes, leaves, strict=True):
        a = as_float_array(v, f"grad(x) for {n}")
        if a.shape != s:
            raise ValueError(f"grad(x) for {n} has shape {a.shape}; expected {s}, the shape of {n}")
        out.append(a)
    return out


def _validate(f, grad, mode, probes, coordinates, complex_mode, jax_mode, atol):
    if not callable(f):
        raise TypeError(f"f must be a callable returning a scalar; got {type(f).__name__}")
    if grad is not None and not callable(grad):
        raise TypeError(f"grad must be a callable returning the gradient (same structure as x) or None "
                        f"(check JAX's gradient); got {type(grad).__name__}")
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; choose one of: {', '.join(MODES)}")
    for what, v in (("probes", probes), ("coordinates", coordinates)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 0:
            raise ValueError(f"{what} must be a whole number ≥ 0; got {v!r}")
    if probes + coordinates == 0:
        raise ValueError("probes and coordinates are both 0; directional mode needs at least one")
    if complex_mode not in ("auto", True, False):
        raise ValueError(f"complex_step must be 'auto', True or False; got {complex_mode!r}")
    if jax_mode not in ("auto", True, False):
        raise ValueError(f"jax must be 'auto', True or False; got {jax_mode!r}")
    if atol is not None and not (isinstance(atol, (int, float)) and not isinstance(atol, bool)
                                 and 0 <= atol < np.inf):
        raise ValueError(f"atol must be a number ≥ 0 or None (the floor of f's rounding); got {atol!r}")


def gradcheck(f, x, grad=None, *, mode: str = "auto", jax="auto", complex_step="auto", probes: int = 4,
              coordinates: int = 11, taylor: bool = False, parts: dict | None = None, seed: int = 0,
              worst: int = 3, jax_gradient=None, rtol: float | None = None,
              atol: float | None = None, name: str = "x") -> GradcheckReport:
    """Check ``grad`` (the gradient of the scalar function ``f``) at ``x``.

    ``x`` is an array, a dict of arrays or a tuple of arrays; ``f(x)`` returns a
    scalar and ``grad(x)`` the gradient with the structure of ``x`` (without
    ``grad``, JAX's gradient of f is the one checked). ``mode``: ``"full"``
    compares every coordinate (4n + 1 evaluations per tensor), ``"directional"``
    uses ``probes`` Gaussian directions and ``coordinates`` stratified sampled
    coordinates (≈ 4·(probes + coordinates) evaluations, whatever the size),
    ``"auto"`` picks full up to 512 entries. ``jax``: ``"auto"`` uses JAX when
    f can be traced. ``parts``: {tensor: {label: array}} named contributions of
    the derived gradient (paths, time steps) for the diagnosis.
    ``taylor=True`` adds the Taylor-remainder test. ``jax_gradient``: an
    autodiff gradient computed elsewhere (structure of x), used as the JAX
    oracle; ``rtol`` overrides the dtype table (:data:`checks.RTOL`) for
    callers that know their rounding better; ``atol`` is an absolute tolerance
    that replaces the floors below. ``name`` names ``x`` in the report when it
    is a bare array or a tuple (``name="encoder"``: "gradcheck FAILED for encoder").

    Three verdicts (``report.verdict``): ``"passed"``, ``"failed"``, or
    ``"cannot_judge"`` when some entry had no oracle able to judge it (f not
    finite at the points differences need, a kink with no second oracle, f too
    noisy, a gradient below what differences resolve); ``report.passed`` is True
    only for ``"passed"``. Absolute floors, added to the relative tolerance: the
    derived gradient's own rounding, 16·ε in its precision (a formula
    like 1 − tanh² is a difference of O(1) quantities), and for a finite difference
    at step h also 16·ε·max(1, |f|)/h (f's rounding, taken to be at least ε in
    absolute terms). Where a tensor's whole gradient lies below an oracle's floor,
    that oracle judges by relative agreement only (exact zeros agree), and leaves a
    mismatch unjudged rather than failed.

    >>> import numpy as np
    >>> f = lambda v: np.sum(np.tanh(v) ** 2)
    >>> r = gradcheck(f, np.array([0.5, -1.0]), lambda v: 2 * np.tanh(v) / np.cosh(v) ** 2, jax=False)
    >>> r.passed, r.tensors["x"].diagnosis
    (True, 'ok')
    >>> r = gradcheck(f, np.array([0.5, -1.0]), lambda v: -2 * np.tanh(v) / np.cosh(v) ** 2, jax=False)
    >>> r.passed, r.tensors["x"].diagnosis, [h.kind for h in r.tensors["x"].hints]
    (False, 'derived_wrong', ['sign_flip'])
    """
    start = time.perf_counter()
    _validate(f, grad, mode, probes, coordinates, complex_step, jax, atol)
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string (what the report calls x); got {name!r}")
    pt = _point(f, x, name)
    jg, jax_status = _jax_oracle(f, x, pt, jax, jax_gradient)
    if grad is None:
        if jg is None:
            raise ValueError(f"grad is None, so JAX's gradient would be checked, but {jax_status}; pass grad")
        derived, jg, jax_status = jg, None, "is the gradient under test"
    else:
        derived = _derived(grad, x, pt.kind, pt.names, [a.shape for a in pt.given])
    tol = _tolerance(pt, derived, rtol, atol)
    rng = np.random.default_rng(seed)
    jg = [None] * len(pt.names) if jg is None else jg
    methods, tensors = set(), {}
    for i, name in enumerate(pt.names):
        use_complex, first = _finite_difference_method(pt, i, rng, complex_step)
        methods.add("complex step" if use_complex else "Richardson (central, h and h/2)")
        budget = Budget(full=mode == "full" or (mode == "auto" and pt.x64[i].size <= FULL_LIMIT),
                        probes=probes, coordinates=coordinates, worst=worst)
        tensors[name] = check_tensor(Setting(
            name=name, fp=pt.along(i), x=pt.x64[i], D=derived[i], dtype=pt.given[i].dtype, f0=pt.f0, rng=rng,
            first=first, oracles=Oracles(J=jg[i], use_complex=use_complex), tol=tol, budget=budget,
            parts=(parts or {}).get(name)))
        if taylor:
            _taylor(tensors[name], pt, i, derived[i], rng)
    return GradcheckReport(passed=all(t.passed for t in tensors.values()), tensors=tensors,
                           hints=_one_tensor_hint(tensors), evaluations=pt.fc.calls + 2,
                           seconds=time.perf_counter() - start, fd_method=" and ".join(sorted(methods)) or "none",
                           jax=jax_status, notes=pt.notes)


@dataclass
class _Point:
    """x flattened to float64 tensors, f counted, and f's value, noise and precision there."""

    kind: str
    names: list
    given: list  # the tensors as the caller gave them
    x64: list  # float64, C-ordered copies
    fc: _Counted
    f0: float
    noise: float
    eps: float
    out_dtype: object
    notes: list

    def along(self, i):
        """f as a function of tensor i alone."""
        def fp(v):
            v = np.asarray(v)
            return self.fc(self.x64[:i] + [v if np.iscomplexobj(v) else v.astype(np.float64)] + self.x64[i + 1:])
        return fp


def _point(f, x, name: str = "x") -> _Point:
    kind, leaves = flatten(x, name)
    names = [n for n, _ in leaves]
    given = [a for _, a in leaves]
    empty = [n for n, a in leaves if a.size == 0]
    if empty:
        raise ValueError(f"{empty[0]} has no entries (shape {dict(leaves)[empty[0]].shape}); nothing to check")
    x64 = [np.array(a, dtype=np.float64, order="C") for a in given]  # any strides or order: a C-ordered copy
    out, again = (_value(f, kind, names, x64) for _ in range(2))
    f0 = float(out.reshape(()))
    noise = abs(f0 - float(again.reshape(())))
    notes = []
    if noise > 0 or not np.isfinite(noise):
        noise = noise if np.isfinite(noise) else abs(f0)
        notes.append(f"f is not deterministic: two evaluations at x differ by {noise:.3g}; finite differences "
                     "carry that noise")
    if any(a.dtype != np.float64 for a in given):
        notes.append(f"x given as {', '.join(sorted({str(a.dtype) for a in given}))}: f was evaluated in float64 "
                     "for finite differences and JAX; grad was called with x as given")
    if out.dtype != np.float64:
        notes.append(f"f returns {out.dtype} even for float64 input: steps and error estimates use its precision")
    return _Point(kind, names, given, x64, _Counted(f, kind, names), f0, noise,
                  max(eps_for(out.dtype), eps_for(np.float64)), out.dtype, notes)


def _jax_oracle(f, x, pt: _Point, jax, jax_gradient):
    """(JAX's gradient per tensor or None, what became of JAX)."""
    if jax_gradient is not None:
        jg = _derived(lambda _: jax_gradient, x, pt.kind, pt.names, [a.shape for a in pt.given])
        return [a.astype(np.float64) for a in jg], "given"
    if jax is False:
        return None, "not requested"
    jg, status = _jax_gradient(f, pt.kind, pt.names, pt.x64)
    if jax is True and jg is None:
        raise ValueError(f"jax=True but JAX's gradient is unavailable: {status}")
    return jg, status


def _tolerance(pt: _Point, derived, rtol, atol) -> Tolerance:
    if rtol is None:
        rtol = rtol_for(*[a.dtype for a in pt.given], *[a.dtype for a in derived], pt.out_dtype)
    elif not (isinstance(rtol, (int, float)) and 0 < rtol < 1):
        raise ValueError(f"rtol must be a number in (0, 1) or None (from the dtype); got {rtol!r}")
    # the derived gradient's own rounding, absolute: a formula such as 1 − tanh² at saturation is a
    # difference of O(1) quantities, so its error is ε in absolute terms, whatever the entry's size.
    # Not ε·|f|: a constant added to f changes neither the gradient nor its rounding.
    working = np.result_type(*[a.dtype for a in pt.given], *[a.dtype for a in derived], np.float16)
    return Tolerance(rtol=rtol, eps=pt.eps, floor=16.0 * eps_for(working), atol=atol, noise=pt.noise)


def _finite_difference_method(pt: _Point, i, rng, complex_step):
    """(use the complex step?, (direction, Differences) of the first probe)."""
    fp, x, name = pt.along(i), pt.x64[i], pt.names[i]
    v = rng.standard_normal(x.shape)
    probe = directional_detail(fp, x, v, pt.eps, pt.f0, noise=pt.noise)  # directional mode's first probe
    use_complex = False
    if complex_step is not False and pt.noise == 0:  # a noisy f's complex step sees no noise
        use_complex = accepts_complex(fp, x, v, float(probe.value),
                                      SAFETY * float(probe.error) + 1e-9 * abs(float(probe.value)))
        if complex_step is True and not use_complex:
            pt.notes.append(f"complex_step=True but f is not complex-safe for {name}; used Richardson")
    elif complex_step is True:
        pt.notes.append(f"complex_step=True but f is not deterministic; used Richardson for {name}")
    return use_complex, (v, probe)


def _taylor(report, pt: _Point, i, derived, rng):
    """The Taylor-remainder test; a remainder falling slower than h² fails the tensor."""
    t = taylor_order(pt.along(i), pt.x64[i], derived, rng.standard_normal(pt.x64[i].shape), pt.f0, pt.eps)
    report.taylor = t
    if t["order"] is not None and t["order"] < 1.5 and report.passed:
        report.passed, report.diagnosis = False, dg.DERIVED
        report.hints.append(dg.Hint("taylor", f"Taylor remainder falls like h^{t['order']:.2f}, "
                                              "not h²: the gradient is wrong along a random direction"))


def _one_tensor_hint(tensors) -> list:
    failed = [n for n, t in tensors.items() if t.verdict == "failed"]
    if len(tensors) > 1 and len(failed) == 1:
        return [dg.Hint("one_tensor", f"only {failed[0]} is wrong; the other {len(tensors) - 1} tensor(s) agree")]
    return []


def assert_gradients(f, x, grad=None, **options) -> GradcheckReport:
    """:func:`gradcheck`, raising ``AssertionError`` with the readable report when it fails.

    >>> import numpy as np
    >>> assert_gradients(lambda v: np.sum(v ** 3), np.array([1.0, 2.0]), lambda v: 3 * v ** 2, jax=False).passed
    True
    >>> assert_gradients(lambda v: np.sum(v ** 3), np.array([1.0, 2.0]), lambda v: 3 * v, jax=False)
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    AssertionError: gradcheck FAILED for x  (...)
    ✗ x (2, float64, full): WRONG: the derived gradient is the odd one out
    ...
          x[1]           derived  6  FD  12 ± ...
    ...
    """
    __tracebackhide__ = True  # pytest: the failure shows the caller's line, not this function
    report = gradcheck(f, x, grad, **options)
    if not report.passed:  # failed, or could not be judged: neither is a passing assertion
        raise AssertionError(str(report))
    return report
