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

import numpy as np

from numeric.complex_step import accepts_complex
from numeric.finite_differences import directional_detail

from . import diagnosis as dg
from .report import GradcheckReport
from .taylor import taylor_order
from .tensor_check import Setting, directional_check, full_check
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
              atol: float | None = None) -> GradcheckReport:
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
    that replaces the floors below.

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
    kind, leaves = flatten(x)
    names = [n for n, _ in leaves]
    given = [a for _, a in leaves]
    empty = [n for n, a in leaves if a.size == 0]
    if empty:
        raise ValueError(f"{empty[0]} has no entries (shape {dict(leaves)[empty[0]].shape}); nothing to check")
    x64 = [np.array(a, dtype=np.float64, order="C") for a in given]  # any strides or order: a C-ordered copy
    fc = _Counted(f, kind, names)
    out, again = (_value(f, kind, names, x64) for _ in range(2))
    f0 = float(out.reshape(()))
    noise = abs(f0 - float(again.reshape(())))
    eps = max(eps_for(out.dtype), eps_for(np.float64))
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

    if jax_gradient is not None:
        jg, jax_status = _derived(lambda _: jax_gradient, x, kind, names, [a.shape for a in given]), "given"
        jg = [a.astype(np.float64) for a in jg]
    elif jax is False:
        jg, jax_status = None, "not requested"
    else:
        jg, jax_status = _jax_gradient(f, kind, names, x64)
    if jax is True and jg is None:
        raise ValueError(f"jax=True but JAX's gradient is unavailable: {jax_status}")
    if grad is None:
        if jg is None:
            raise ValueError(f"grad is None, so JAX's gradient would be checked, but {jax_status}; pass grad")
        derived, jg, jax_status = jg, None, "is the gradient under test"
    else:
        derived = _derived(grad, x, kind, names, [a.shape for a in given])
    if rtol is None:
        rtol = rtol_for(*[a.dtype for a in given], *[a.dtype for a in derived], out.dtype)
    elif not (isinstance(rtol, (int, float)) and 0 < rtol < 1):
        raise ValueError(f"rtol must be a number in (0, 1) or None (from the dtype); got {rtol!r}")
    rng = np.random.default_rng(seed)
    parts = dict(parts or {})
    # the derived gradient's own rounding, absolute: a formula such as 1 − tanh² at saturation is a
    # difference of O(1) quantities, so its error is ε in absolute terms, whatever the entry's size.
    # Not ε·|f|: a constant added to f changes neither the gradient nor its rounding.
    working = np.result_type(*[a.dtype for a in given], *[a.dtype for a in derived], np.float16)
    floor = 16.0 * eps_for(working)
    methods, tensors = set(), {}
    jg = [None] * len(names) if jg is None else jg
    for i, name in enumerate(names):
        def fp(v, i=i):
            v = np.asarray(v)
            return fc(x64[:i] + [v if np.iscomplexobj(v) else v.astype(np.float64)] + x64[i + 1:])

        n = x64[i].size
        full = mode == "full" or (mode == "auto" and n <= FULL_LIMIT)
        use_complex = False
        v = rng.standard_normal(x64[i].shape)
        probe = directional_detail(fp, x64[i], v, eps, f0, noise=noise)  # directional mode's first probe
        if complex_step is not False and n > 0 and noise == 0:  # a noisy f's complex step sees no noise
            use_complex = accepts_complex(fp, x64[i], v, float(probe.value),
                                          SAFETY * float(probe.error) + 1e-9 * abs(float(probe.value)))
            if complex_step is True and not use_complex:
                notes.append(f"complex_step=True but f is not complex-safe for {name}; used Richardson")
        elif complex_step is True:
            notes.append(f"complex_step=True but f is not deterministic; used Richardson for {name}")
        methods.add("complex step" if use_complex else "Richardson (central, h and h/2)")
        check = full_check if full else directional_check
        tensors[name] = check(Setting(name, fp, x64[i], derived[i], jg[i], given[i].dtype, rtol, eps, f0,
                                      use_complex, rng, probes, coordinates, parts.get(name), worst, (v, probe),
                                      floor, atol, noise))
        if taylor:
            t = taylor_order(fp, x64[i], derived[i], rng.standard_normal(x64[i].shape), f0, eps)
            tensors[name].taylor = t
            if t["order"] is not None and t["order"] < 1.5 and tensors[name].passed:
                tensors[name].passed, tensors[name].diagnosis = False, dg.DERIVED
                tensors[name].hints.append(dg.Hint("taylor", f"Taylor remainder falls like h^{t['order']:.2f}, "
                                                             "not h²: the gradient is wrong along a random direction"))
    hints = []
    failed = [n for n, t in tensors.items() if t.verdict == "failed"]
    if len(tensors) > 1 and len(failed) == 1:
        hints.append(dg.Hint("one_tensor", f"only {failed[0]} is wrong; the other {len(tensors) - 1} "
                                           f"tensor(s) agree"))
    return GradcheckReport(all(t.passed for t in tensors.values()), tensors, hints, fc.calls + 2,
                           time.perf_counter() - start,
                           " and ".join(sorted(methods)) or "none", jax_status, notes)


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
    report = gradcheck(f, x, grad, **options)
    if not report.passed:  # failed, or could not be judged: neither is a passing assertion
        raise AssertionError(str(report))
    return report
