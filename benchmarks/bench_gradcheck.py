"""checks.gradcheck beside jax.test_util.check_grads and torch.autograd.gradcheck.

Run:  python benchmarks/bench_gradcheck.py [--trials N] [--big-trials M]

1. Accuracy: relative error max|num − exact| / max|exact| of the numerical
   derivative each checker compares against, on smooth functions, for float64
   and float32 inputs (exact = analytic gradient in float64); whether the
   checker passes the *correct* gradient; calls of f and wall time.
2. Detection: one entry of the gradient 10 % wrong among n = 10⁴ and 10⁶;
   the fraction of trials (random entry, random seed) each checker fails.

torch is optional (skipped when not installed); it is never a dependency.
"""
from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np

from checks import gradcheck
from numeric.autodiff import jax, jnp  # JAX on the CPU, float64 enabled

try:
    import torch
except ImportError:  # optional
    torch = None

N_SMOOTH = 16
A = np.random.default_rng(1).normal(size=(8, N_SMOOTH)) / 4
W_OUT = np.random.default_rng(2).normal(size=8)


def smooth_fns():
    """name → (f(x, xp), exact gradient in float64, point)."""
    def f1(x, xp):
        return xp.sum(xp.exp(xp.sin(x)) / (2 + x * x))

    def g1(x):
        return np.exp(np.sin(x)) * (np.cos(x) / (2 + x * x) - 2 * x / (2 + x * x) ** 2)

    def f2(x, xp):
        return xp.sum(xp.asarray(W_OUT, dtype=x.dtype) * xp.tanh(xp.asarray(A, dtype=x.dtype) @ x))

    def g2(x):
        return A.T @ (W_OUT * (1 - np.tanh(A @ x) ** 2))

    def f3(x, xp):  # large |x|: the function varies on the scale of x
        return xp.sum(xp.log(1 + (x / 1e4) ** 2) * 1e4)

    def g3(x):
        return 2 * (x / 1e4) / (1 + (x / 1e4) ** 2)

    rng = np.random.default_rng(0)
    return {"exp(sin x)/(2+x²)": (f1, g1, rng.normal(size=N_SMOOTH)),
            "tanh layer": (f2, g2, rng.normal(size=N_SMOOTH)),
            "log(1+(x/1e4)²), x ≈ 1e4": (f3, g3, rng.normal(size=N_SMOOTH) * 1e4)}


def rel(a, b):
    return float(np.max(np.abs(np.asarray(a, np.float64) - b)) / np.max(np.abs(b)))


class Count:
    def __init__(self, f):
        self.f, self.n = f, 0

    def __call__(self, *a):
        self.n += 1
        return self.f(*a)


def ours(f, g, x, **opt):
    fc = Count(lambda v: f(v, np))
    gx = g(x.astype(np.float64)).astype(x.dtype)
    t = time.perf_counter()
    r = gradcheck(fc, x, lambda v: gx, jax=False, **opt)
    dt = time.perf_counter() - t
    return rel(r.tensors["x"].fd_values, g(x.astype(np.float64))), r.passed, fc.n, dt


def jax_check(f, g, x):
    from jax._src.public_test_util import EPS, numerical_jvp, rand_like
    from jax.test_util import check_grads

    xj = jnp.asarray(x)
    tangent = rand_like(np.random.RandomState(0), xj)  # check_grads' own direction
    num = float(numerical_jvp(lambda v: f(v, jnp), (xj,), (tangent,), eps=EPS))
    exact = float(np.dot(g(x.astype(np.float64)), np.asarray(tangent, np.float64)))
    fc = Count(lambda v: f(v, jnp))
    t = time.perf_counter()
    try:
        check_grads(fc, (xj,), order=1, modes=["rev"])
        ok = True
    except AssertionError:
        ok = False
    return abs(num - exact) / abs(exact), ok, fc.n, time.perf_counter() - t


def torch_check(f, g, x, fast=False):
    from torch.autograd.gradcheck import (
        _get_numerical_jacobian,  # what gradcheck itself calls
    )

    def tf(v):
        return f(v, torch)

    xt = torch.tensor(x, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        num = _get_numerical_jacobian(tf, (xt,), eps=1e-6)[0][0].detach().reshape(-1).numpy()
    fc = Count(tf)
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ok = torch.autograd.gradcheck(fc, (xt,), fast_mode=fast, raise_exception=False)
        except RuntimeError:
            ok = False
    return rel(num, g(x.astype(np.float64))), ok, fc.n, time.perf_counter() - t


def accuracy_table():
    rows = []
    for name, (f, g, x0) in smooth_fns().items():
        for dtype in (np.float64, np.float32):
            x = x0.astype(dtype)
            dn = np.dtype(dtype).name
            rows.append((name, dn, "checks.gradcheck (Richardson)", *ours(f, g, x, complex_step=False)))
            rows.append((name, dn, "checks.gradcheck (auto: complex step)", *ours(f, g, x)))
            rows.append((name, dn, "jax check_grads", *jax_check(f, g, x)))
            if torch is not None:
                rows.append((name, dn, "torch gradcheck", *torch_check(f, g, x)))
                rows.append((name, dn, "torch gradcheck fast_mode", *torch_check(f, g, x, fast=True)))
    return rows


# ---- detection of one wrong entry ------------------------------------------------------------

def f_big(x, xp):
    return xp.sum(4 * xp.exp(x / 4))


def planted(x, i):
    g = np.exp(x / 4)
    g[i] *= 1.1
    return g


def detect_ours(x, i, seed, **opt):
    r = gradcheck(lambda v: f_big(v, np), x, lambda v: planted(v, i), jax=False, seed=seed, **opt)
    return not r.passed, r.evaluations, r.tensors["x"].detection["probability"]


def detect_jax(x, i):
    from jax.test_util import check_grads

    gi = jnp.asarray(planted(x, i))

    @jax.custom_vjp
    def f(v):
        return f_big(v, jnp)

    f.defvjp(lambda v: (f_big(v, jnp), None), lambda _, ct: (ct * gi,))
    try:
        check_grads(f, (jnp.asarray(x),), order=1, modes=["rev"])
        return False
    except AssertionError:
        return True


# a failing fast_mode check recomputes the full Jacobian (slow mode, 2n evaluations of f) for its
# message: 2·10⁶ evaluations of a 10⁶-input function is not run here
TORCH_FAIL_LIMIT = 10**5


def detect_torch(x, i, seed, factor=1.1):
    gi = torch.tensor(planted(x, i) if factor == 1.1 else np.exp(x / 4) * factor)

    class F(torch.autograd.Function):
        @staticmethod
        def forward(ctx, v):
            return f_big(v, torch)

        @staticmethod
        def backward(ctx, ct):
            return ct * gi

    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return not torch.autograd.gradcheck(F.apply, (torch.tensor(x, requires_grad=True),), fast_mode=True,
                                            raise_exception=False)


def detection_table(trials: dict):
    rows = []
    for n, k in trials.items():
        x = np.random.default_rng(n).normal(size=n)
        idx = np.random.default_rng(7).integers(n, size=k)
        for label, opt in (("checks.gradcheck directional (Richardson)", {"complex_step": False}),
                           ("checks.gradcheck directional (complex step)", {})):
            honest = gradcheck(lambda v: f_big(v, np), x, lambda v: np.exp(v / 4), jax=False, **opt)
            assert honest.passed, str(honest)
            t = time.perf_counter()
            res = [detect_ours(x, int(i), s, **opt) for s, i in enumerate(idx)]
            dt = (time.perf_counter() - t) / k
            rows.append((n, label, np.mean([r[0] for r in res]), f"{honest.evaluations} / {max(r[1] for r in res)}",
                         min(r[2] for r in res), dt, k))
        t = time.perf_counter()
        hits = [detect_jax(x, int(i)) for i in idx]
        rows.append((n, "jax check_grads (rev)", np.mean(hits), "3", None, (time.perf_counter() - t) / k, k))
        if torch is not None and n > TORCH_FAIL_LIMIT:
            rows.append((n, "torch gradcheck fast_mode", None, "—", None, None, 0))
        elif torch is not None:
            assert detect_torch(x, 0, 0, factor=2.0), "torch's planted gradient is not reaching gradcheck"
            t = time.perf_counter()
            hits = [detect_torch(x, int(i), s) for s, i in enumerate(idx)]
            rows.append((n, "torch gradcheck fast_mode", np.mean(hits), None, None, (time.perf_counter() - t) / k, k))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=100, help="detection trials at n = 10^4")
    ap.add_argument("--big-trials", type=int, default=20, help="detection trials at n = 10^6")
    args = ap.parse_args(argv)
    print(f"numpy {np.__version__}, jax {jax.__version__}, torch {torch.__version__ if torch else 'not installed'}, "
          f"{os.cpu_count()} CPUs\n")
    print("| function | dtype | checker | rel. error of its numerical derivative | passes the correct gradient "
          "| calls of f | time |")
    print("|---|---|---|---|---|---|---|")
    for name, dn, who, err, ok, calls, dt in accuracy_table():
        print(f"| {name} | {dn} | {who} | {err:.1e} | {'yes' if ok else '**no**'} | {calls} | {dt * 1e3:.1f} ms |")
    print("\n| n | checker | detection rate (10 % error in one entry) | calls of f (correct / planted, max) "
          "| stated probability "
          "| time per check | trials |")
    print("|---|---|---|---|---|---|---|")
    for n, who, rate, calls, p, dt, k in detection_table({10**4: args.trials, 10**6: args.big_trials}):
        if rate is None:
            print(f"| 10^{int(np.log10(n))} | {who} | not run (a failure falls back to 2n evaluations) "
                  "| — | — | — | 0 |")
            continue
        print(f"| 10^{int(np.log10(n))} | {who} | {rate:.2f} | {calls if calls is not None else '—'} | "
              f"{'—' if p is None else f'{p:.4f}'} | {dt * 1e3:.0f} ms | {k} |")


if __name__ == "__main__":
    main()
