"""gradcheck's three verdicts over a seeded grid of cases: correct gradients are never
failed, planted errors are never passed.

Each function is written from its definition with its gradient by hand (an
independent reading); the grid crosses float32/float64, |x| from 1e-2 to 1e4,
saturated softmax/sigmoid/tanh, C- and Fortran-ordered arrays and transposed views,
with JAX as a second oracle in part of it. ``GRADPROOF_VERDICT_CASES`` scales the
grid up for a thorough run (``=4`` gives four times as many points).
Run with ``-s`` to see the counts of each verdict.
"""
import itertools
import os

import numpy as np
import pytest

from checks import gradcheck

SCALES = (1e-2, 1.0, 1e2, 1e4)
REPEAT = 6 * int(os.environ.get("GRADPROOF_VERDICT_CASES", "1"))  # 96 points each: 576 in CI


def _sig(z, xp=np):
    return xp.exp(-xp.logaddexp(0.0, -z))


def _layer(act, A, c, w):
    """f(X) = Σ w ⊙ act(A X + c) for a matrix X, and its gradient Aᵀ (w ⊙ act′(A X + c))."""
    forms = {
        "tanh": (lambda z, xp: xp.tanh(z), lambda z: 1 - np.tanh(z) ** 2),
        "sigmoid": (_sig, lambda z: _sig(z) * _sig(-z)),
        "softplus": (lambda z, xp: xp.logaddexp(0.0, z), _sig),
    }
    g, dg = forms[act]

    def f(X):
        xp = np if isinstance(X, np.ndarray) else __import__("jax.numpy", fromlist=["numpy"])
        return xp.sum(w * g(A @ X + c, xp))

    def grad(X):
        return (A.T @ (w * dg(A @ X.astype(np.float64) + c))).astype(X.dtype)
    return f, grad


def _softmax_ce(y):
    """f(Z) = Σᵣ logsumexp(Zᵣ) − Zᵣ[yᵣ] over rows, and its gradient softmax(Z) − onehot(y)."""
    rows = np.arange(len(y))

    def f(Z):
        if isinstance(Z, np.ndarray):
            m = Z.max(axis=1, keepdims=True)
            return float(np.sum(m[:, 0] + np.log(np.sum(np.exp(Z - m), axis=1)) - Z[rows, y]))
        from jax.scipy.special import logsumexp
        return (logsumexp(Z, axis=1) - Z[rows, y]).sum()

    def grad(Z):
        Z = Z.astype(np.float64)
        p = np.exp(Z - Z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        p[rows, y] -= 1.0
        return p
    return f, grad


def _layout(X, how):
    if how == "F":
        return np.asfortranarray(X)
    if how == "T":  # a transposed view of a C-ordered array
        return np.ascontiguousarray(X.T).T
    return np.ascontiguousarray(X)


def _cases(rng):
    """(f, x, grad, jax) for every point of the grid."""
    for _ in range(REPEAT):
        for scale in SCALES:
            for dtype in (np.float64, np.float32):
                for how in ("C", "F", "T"):
                    for act in ("tanh", "sigmoid", "softplus"):
                        k = int(rng.integers(2, 4))
                        A, c, w = rng.normal(size=(3, k)), rng.normal(size=(3, 1)), rng.normal(size=(3, 2))
                        X = _layout((rng.uniform(-1, 1, size=(k, 2)) * scale).astype(dtype), how)
                        f, grad = _layer(act, A, c, w)
                        yield f"{act} |x|~{scale:g} {np.dtype(dtype).name} {how}", f, X, grad
                    y = rng.integers(0, 3, size=2)
                    Z = _layout((rng.normal(size=(2, 3)) * scale).astype(dtype), how)
                    f, grad = _softmax_ce(y)
                    yield f"softmax-ce |x|~{scale:g} {np.dtype(dtype).name} {how}", f, Z, grad


def _plant(kind, grad, rng):
    def wrong(x):
        g = np.array(grad(x), dtype=np.float64)
        if kind == "sign":
            return -g
        if kind == "x2":
            return 2 * g
        if kind == "transpose":
            return g.T.copy() if g.shape[0] == g.shape[1] else g[::-1].copy()
        i = np.unravel_index(int(np.argmax(np.abs(g))), g.shape)
        g[i] *= 1.1  # one entry, the largest, 10 % off
        return g
    return wrong


def _run(cases, jax_every=4):
    out = []
    for n, (label, f, x, grad) in enumerate(cases):
        use_jax = "auto" if n % jax_every == 0 else False
        out.append((label, use_jax, gradcheck(f, x, grad, jax=use_jax)))
    return out


@pytest.fixture(scope="module")
def correct():
    cases = list(_cases(np.random.default_rng(20261201)))
    # next to a domain edge: √x with one entry at 1e-12 (x − h leaves the domain there)
    for k, dtype in enumerate((np.float64, np.float32) * 4):
        x = np.array([1e-12, 0.5, 2.0 + k], dtype=dtype)
        cases.append((f"sqrt edge {np.dtype(dtype).name}", lambda v: (np.sqrt(v) if isinstance(v, np.ndarray)
                                                                       else v ** 0.5).sum(), x,
                      lambda v: 0.5 / np.sqrt(v.astype(np.float64))))
    return _run(cases)


def test_correct_gradients_are_never_failed(correct):
    verdicts = [r.verdict for _, _, r in correct]
    failed = [(label, jax, str(r)) for label, jax, r in correct if r.verdict == "failed"]
    print(f"\ncorrect gradients: {len(verdicts)}; " + ", ".join(f"{v} {verdicts.count(v)}"
                                                            for v in ("passed", "cannot_judge", "failed")))
    assert len(correct) >= 500 * REPEAT // 6
    assert not failed, failed[:2]
    # what could not be judged: saturated layers and domain edges without a second oracle
    share = verdicts.count("cannot_judge") / len(verdicts)
    assert share < 0.25, share


def test_planted_errors_are_never_passed():
    rng = np.random.default_rng(7)
    planted = []
    for n, (label, f, x, grad) in enumerate(itertools.chain(_cases(rng), _cases(rng))):
        if len(planted) == 600 * REPEAT // 6:
            break
        kind = ("sign", "x2", "transpose", "one entry")[n % 4]
        wrong = _plant(kind, grad, rng)
        right, bad = np.asarray(grad(x), dtype=np.float64), wrong(x)
        if np.max(np.abs(bad - right)) <= 0.05 * np.max(np.abs(right)) or not np.any(right):
            continue  # the plant changed nothing (a saturated layer's gradient is exactly 0)
        planted.append((f"{label} [{kind}]", f, x, wrong))
    for dtype in (np.float64, np.float32):  # the wrong entry is the one next to the domain edge
        x = np.array([1e-12, 0.5, 2.0], dtype=dtype)
        planted.append(("sqrt edge, wrong there", lambda v: (np.sqrt(v) if isinstance(v, np.ndarray) else v ** 0.5)
                        .sum(), x, lambda v: 0.5 / np.sqrt(v.astype(np.float64)) * np.array([1.1, 1.0, 1.0])))
    results = _run(planted, jax_every=3)
    passed = [(label, str(r)) for label, _, r in results if r.verdict == "passed"]
    verdicts = [r.verdict for _, _, r in results]
    print(f"\nplanted errors: {len(verdicts)}; " + ", ".join(f"{v} {verdicts.count(v)}"
                                                         for v in ("failed", "cannot_judge", "passed")))
    assert len(results) >= 500 * REPEAT // 6
    assert not passed, passed[:2]
    # a planted error is mostly caught outright, not merely left unjudged
    caught = sum(r.verdict == "failed" for _, _, r in results) / len(results)
    assert caught > 0.8, caught

