"""checks.gradcheck on user functions: planted bugs caught with the right
diagnosis, kinks told apart from wrong gradients, directional mode, Taylor
test, float32, and clear errors for bad arguments."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from checks import assert_gradients, gradcheck

ROOT = Path(__file__).resolve().parents[1]


def _xp(a):
    if isinstance(a, np.ndarray):
        return np
    import jax.numpy as jnp

    return jnp


# a small MLP loss: f({W, b}) = Σ tanh(W x + b)²
X = np.array([0.3, -1.2, 0.8])


def mlp(p):
    xp = _xp(p["W"])
    return xp.sum(xp.tanh(p["W"] @ X + p["b"]) ** 2)


def mlp_grad(p):
    t = np.tanh(p["W"] @ X + p["b"])
    d = 2 * t * (1 - t**2)
    return {"W": np.outer(d, X), "b": d}


@pytest.fixture
def params(rng):
    return {"W": rng.normal(size=(3, 3)), "b": rng.normal(size=3)}


def kinds(report, name):
    return [h.kind for h in report.tensors[name].hints]


@pytest.mark.parametrize("jax", [False, "auto"])
def test_correct_gradient_passes_with_and_without_jax(params, jax):
    report = gradcheck(mlp, params, mlp_grad, jax=jax)
    assert report.passed, str(report)
    assert {t.diagnosis for t in report.tensors.values()} == {"ok"}
    assert report.jax == ("used" if jax == "auto" else "not requested")
    assert report.tensors["W"].max_rel_error < 1e-9


@pytest.mark.parametrize("jax", [False, "auto"])
@pytest.mark.parametrize("plant,tensor,hint", [
    (lambda g: {**g, "W": -g["W"]}, "W", "sign_flip"),
    (lambda g: {**g, "b": 2 * g["b"]}, "b", "constant_factor"),
    (lambda g: {**g, "W": g["W"].T}, "W", "transpose"),
])
def test_planted_bugs_are_named(params, jax, plant, tensor, hint):
    report = gradcheck(mlp, params, lambda p: plant(mlp_grad(p)), jax=jax)
    assert not report.passed
    assert report.failed == [tensor]
    t = report.tensors[tensor]
    assert t.diagnosis == "derived_wrong"
    assert hint in kinds(report, tensor), str(report)
    assert [h.kind for h in report.hints] == ["one_tensor"]
    assert f"gradcheck FAILED for {tensor}" in str(report)


def test_factor_two_is_stated_as_two(params):
    report = gradcheck(mlp, params, lambda p: {**mlp_grad(p), "b": 2 * mlp_grad(p)["b"]}, jax=False)
    assert "derived ≈ 2 × reference" in str(report)


@pytest.mark.parametrize("complex_step", [False, "auto"])
def test_one_entry_off_by_1e_minus_6_relative_is_caught_and_located(params, complex_step):
    def plant(p):
        g = mlp_grad(p)
        g["W"] = g["W"].copy()
        g["W"][1, 2] *= 1 + 1e-6
        return g

    report = gradcheck(mlp, params, plant, jax=False, complex_step=complex_step)
    assert report.failed == ["W"], str(report)
    assert "only one entry of ∂/∂W is wrong: W[1, 2]" in str(report)
    assert report.tensors["W"].worst[0].index == (1, 2)


def test_worst_entries_carry_all_three_values(params):
    report = gradcheck(mlp, params, lambda p: {**mlp_grad(p), "b": -mlp_grad(p)["b"]})
    e = report.tensors["b"].worst[0]
    assert e.jax == pytest.approx(-e.derived) and e.fd == pytest.approx(e.jax, rel=1e-8)
    assert e.fd_error is not None and e.fd_error < 1e-6


def _rnn(X, W, U, c):
    xp = _xp(X)
    h, total = xp.zeros(W.shape[0]), 0.0
    for t in range(X.shape[0]):
        h = xp.tanh(W @ h + U @ X[t])
        total = total + c @ h
    return total


def _rnn_grad(X, W, U, c, wrong_step=None):
    hs = [np.zeros(W.shape[0])]
    for t in range(X.shape[0]):
        hs.append(np.tanh(W @ hs[-1] + U @ X[t]))
    out, h_bar, deltas = np.zeros_like(X), np.zeros(W.shape[0]), {}
    for t in range(X.shape[0], 0, -1):
        delta = (1 - hs[t] ** 2) * (c + h_bar)
        deltas[t] = delta
        h_bar = W.T @ delta
    for t in range(1, X.shape[0] + 1):
        out[t - 1] = U.T @ deltas[t - 1 if t == wrong_step else t]
    return out


def test_one_wrong_time_step_is_named(rng):
    W, U, c = rng.normal(size=(3, 3)) / 2, rng.normal(size=(3, 2)), rng.normal(size=3)
    X = rng.normal(size=(5, 2))
    def f(X):
        return _rnn(X, W, U, c)
    assert gradcheck(f, X, lambda X: _rnn_grad(X, W, U, c)).passed
    report = gradcheck(f, X, lambda X: _rnn_grad(X, W, U, c, wrong_step=3))
    assert report.tensors["x"].diagnosis == "derived_wrong"
    assert "one_slice" in kinds(report, "x")
    assert "only the slice x[2]" in str(report)  # step t = 3 is row 2


def test_relu_at_and_next_to_kinks_is_judged_by_jax_or_not_at_all():
    x = np.array([0.0, 1e-9, -1e-9, 1e-5, -3e-5, 0.7, -0.4])
    def f(v):
        return _xp(v).sum(3.0 * _xp(v).maximum(v, 0.0) + 0.5 * v**2)
    def good(v):
        return 3.0 * (v > 0) + v
    alone = gradcheck(f, x, good, jax=False)  # finite differences straddle the kink at x[0]…x[4]
    assert alone.verdict == "cannot_judge" and not alone.passed, str(alone)
    assert [label for label, _ in alone.tensors["x"].unjudged] == [f"x[{i}]" for i in range(5)]
    assert "cannot judge x[0], x[1], x[2], x[3], x[4]: x ± h straddles a kink" in str(alone)
    # with JAX, entries next to the kink are judged by it; at x[0] JAX's maximum splits the tie (1.5)
    # while derived takes 0: both are one-sided choices, so x[0] alone stays unjudged
    both = gradcheck(f, x, good)
    assert both.verdict == "cannot_judge" and [label for label, _ in both.tensors["x"].unjudged] == ["x[0]"]
    nudged = gradcheck(f, x[1:], good)
    assert nudged.passed and nudged.tensors["x"].diagnosis == "kink", str(nudged)
    assert "kink crossed at x[0]" in str(nudged)
    bad = gradcheck(f, x, lambda v: good(v) * np.where(v == 0.7, 2.0, 1.0), jax=False)
    assert bad.verdict == "failed" and bad.tensors["x"].diagnosis == "derived_wrong"
    assert bad.tensors["x"].worst[0].index == (5,)


def test_jax_odd_one_out_when_f_hides_a_path_from_tracing():
    import jax

    def f(v):

        return _xp(v).sum(v * (jax.lax.stop_gradient(v) if not isinstance(v, np.ndarray) else v))
    report = gradcheck(f, np.array([0.5, -1.5, 2.0]), lambda v: 2 * v)
    assert report.tensors["x"].diagnosis == "jax_odd_one_out"
    assert not report.passed


def test_finite_differences_odd_one_out_exposes_a_wrong_custom_rule():
    import jax
    import jax.numpy as jnp

    @jax.custom_vjp
    def square(v):
        return v * v

    square.defvjp(lambda v: (v * v, v), lambda v, g: (g * v,))  # wrong: should be 2 v g
    def f(v):
        return jnp.sum(square(jnp.asarray(v)))
    report = gradcheck(f, np.array([0.5, -1.5, 2.0]), jax.grad(f))
    assert report.tensors["x"].diagnosis == "fd_odd_one_out"
    assert not report.passed


def test_numpy_only_function_is_checked_without_jax_and_says_why(params):
    def f(p):
        return float(np.sum(np.tanh(p["W"] @ X + p["b"]) ** 2))
    report = gradcheck(f, params, mlp_grad)
    assert report.passed
    assert report.jax.startswith("f could not be traced")


def test_without_grad_jax_gradient_is_the_one_checked(params):
    report = gradcheck(mlp, params)
    assert report.passed and report.jax == "is the gradient under test"


def test_float32_inputs_are_evaluated_in_float64_and_use_float32_tolerance(params):
    p32 = {k: v.astype(np.float32) for k, v in params.items()}
    def g32(p):
        return {k: v.astype(np.float32) for k, v in mlp_grad(p).items()}
    report = gradcheck(mlp, p32, g32, jax=False)
    assert report.passed, str(report)
    assert report.tensors["W"].rtol == 2.0**-13 and report.tensors["W"].dtype == "float32"
    assert any("float32: f was evaluated in float64" in n for n in report.notes)
    bad = gradcheck(mlp, p32, lambda p: {**g32(p), "b": g32(p)["b"] * np.float32(1.01)}, jax=False)
    assert bad.failed == ["b"]


def _sum_log(v):
    return float(np.sum(np.log1p(v * v)))


def test_directional_mode_cost_does_not_grow_with_size(rng):
    calls = []
    for n in (10**3, 10**5):
        x = rng.normal(size=n)
        r = gradcheck(_sum_log, x, lambda v: 2 * v / (1 + v * v), jax=False, complex_step=False)
        assert r.passed and r.tensors["x"].mode == "directional", str(r)
        calls.append(r.evaluations)
    assert calls[0] == calls[1] <= 64


def test_directional_mode_catches_one_entry_off_by_10_percent_among_10_000(rng):
    n, caught = 10**4, 0
    x = rng.normal(size=n)
    for seed in range(20):
        i = int(np.random.default_rng(seed).integers(n))

        def grad(v, i=i):
            g = 2 * v / (1 + v * v)
            g[i] *= 1.1
            return g

        r = gradcheck(_sum_log, x, grad, jax=False, complex_step=False, seed=seed)
        caught += not r.passed
        assert r.tensors["x"].detection["probability"] >= 0.99
    assert caught == 20


def test_directional_mode_with_jax_locates_the_entry(rng):
    import jax.numpy as jnp

    x = rng.normal(size=2000)

    def grad(v):
        g = np.cos(v)
        g[1234] *= 1 + 1e-6
        return g

    r = gradcheck(lambda v: jnp.sum(jnp.sin(v)), x, grad)
    assert r.tensors["x"].mode == "directional" and not r.passed
    assert r.tensors["x"].worst[0].index == (1234,)
    assert "x[1234]" in str(r)


def test_taylor_remainder_order(rng):
    x = rng.normal(size=6)
    good = gradcheck(_sum_log, x, lambda v: 2 * v / (1 + v * v), jax=False, taylor=True)
    assert abs(good.tensors["x"].taylor["order"] - 2) < 0.3
    bad = gradcheck(_sum_log, x, lambda v: 2.02 * v / (1 + v * v), jax=False, taylor=True)
    assert abs(bad.tensors["x"].taylor["order"] - 1) < 0.3
    assert "Taylor remainder: fitted order 1." in str(bad)


def test_complex_step_is_used_when_f_is_complex_safe_and_not_otherwise():
    x = np.array([0.3, -0.7])
    assert gradcheck(lambda v: np.sum(np.exp(v)), x, np.exp, jax=False).fd_method == "complex step"
    r = gradcheck(lambda v: float(np.sum(np.exp(v))), x, np.exp, jax=False)  # float() drops the imaginary part
    assert r.fd_method.startswith("Richardson") and r.passed


def test_richardson_reaches_1e_minus_10_on_smooth_functions(rng):
    x = rng.normal(size=8)
    def f(v):
        return float(np.sum(np.exp(np.sin(v)) / (2 + v * v)))
    exact = np.exp(np.sin(x)) * (np.cos(x) / (2 + x * x) - 2 * x / (2 + x * x) ** 2)
    r = gradcheck(f, x, lambda v: exact, jax=False, complex_step=False)
    assert r.tensors["x"].max_rel_error < 1e-10, str(r)


def test_assert_gradients_message_names_tensor_index_and_values(params):
    def plant(p):
        g = mlp_grad(p)
        g["b"] = g["b"].copy()
        g["b"][2] += 0.5
        return g

    with pytest.raises(AssertionError) as info:
        assert_gradients(mlp, params, plant, jax=False)
    msg = str(info.value)
    assert "gradcheck FAILED for b" in msg and "b[2]" in msg and "derived" in msg and "FD" in msg


@pytest.mark.parametrize("call,error,message", [
    (lambda: gradcheck("f", np.ones(2), None), TypeError, "f must be a callable"),
    (lambda: gradcheck(np.sum, np.ones(2), "g"), TypeError, "grad must be a callable"),
    (lambda: gradcheck(np.sum, np.arange(3), np.ones_like), TypeError, "integer dtype int64"),
    (lambda: gradcheck(np.sum, np.array([1.0, np.nan]), np.ones_like), ValueError, "non-finite"),
    (lambda: gradcheck(np.sum, np.ones(2), np.ones_like, mode="fast"), ValueError,
     "unknown mode 'fast'; choose one of: auto, full, directional"),
    (lambda: gradcheck(lambda v: v, np.ones(2), np.ones_like, jax=False), ValueError, "f must return a real scalar"),
    (lambda: gradcheck(np.sum, np.ones(2), lambda v: np.ones(3), jax=False), ValueError,
     r"grad\(x\) for x has shape \(3,\); expected \(2,\)"),
    (lambda: gradcheck(lambda p: np.sum(p["a"]), {"a": np.ones(2)}, lambda p: {"b": 1}, jax=False), ValueError,
     r"must return a dict with keys \['a'\]; got \['b'\]"),
    (lambda: gradcheck(np.sum, np.ones(2), np.ones_like, probes=-1), ValueError, "probes must be a whole number"),
    (lambda: gradcheck(np.sum, np.ones(2), np.ones_like, complex_step="yes"), ValueError, "complex_step must be"),
    (lambda: gradcheck(np.sum, np.ones(2), np.ones_like, rtol=2.0), ValueError, r"rtol must be a number in \(0, 1\)"),
])
def test_bad_arguments_raise_clear_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_report_to_dict_is_plain_data(params):
    import json

    d = gradcheck(mlp, params, mlp_grad, jax=False).to_dict()
    text = json.dumps(d)
    assert '"passed": true' in text and d["tensors"]["W"]["diagnosis"] == "ok"


def test_import_checks_does_not_need_hypothesis():
    code = ("import sys\nsys.modules['hypothesis'] = None\nimport checks\n"
            "print(checks.gradcheck.__name__, 'hypothesis' in sys.modules and sys.modules['hypothesis'] is not None)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.split() == ["gradcheck", "False"]


def test_tuple_of_array_and_scalar_names_the_wrong_one():
    def f(p):
        return np.sum(p[0] ** 2) * p[1]

    def grad(p, factor=1.0):
        return 2 * p[0] * p[1], factor * np.sum(p[0] ** 2)

    x = (np.array([1.0, 2.0]), 3.0)
    assert gradcheck(f, x, grad, jax=False).passed
    report = gradcheck(f, x, lambda p: grad(p, 2.0), jax=False)
    assert report.failed == ["x[1]"] and report.tensors["x[1]"].shape == ()
    assert "derived ≈ 2 × reference" in str(report)


def test_a_large_constant_in_f_does_not_excuse_a_wrong_gradient():
    import numpy as np

    from checks import gradcheck

    x = np.array([0.3, -0.2, 0.5, 0.1])
    for offset in (1e6, 1e10):
        def f(v, offset=offset):
            return offset + np.sum(v ** 2)

        assert gradcheck(f, x, lambda v: 2 * v, jax=False).passed
        assert not gradcheck(f, x, lambda v: 2.2 * v, jax=False).passed  # 10% off everywhere


# three verdicts: what used to pass wrongly or fail wrongly


def test_nan_among_the_differences_is_never_agreement():
    # x[0] = 0 is v**1.5's domain edge: x − h gives NaN there; x[1] is wrong by 6×
    r = gradcheck(lambda v: np.sum(v**1.5), np.array([0.0, 1.0, 4.0]), lambda v: np.array([7.0, 9.0, 3.0]), jax=False)
    assert r.verdict == "failed" and r.tensors["x"].worst[0].index == (1,)
    assert ("x[0]", "f is not finite at the points finite differences need (a domain edge?)") in r.tensors["x"].unjudged
    right = gradcheck(lambda v: np.sum(v**1.5), np.array([0.0, 1.0, 4.0]), lambda v: 1.5 * np.sqrt(v), jax=False)
    assert right.verdict == "cannot_judge" and [u for u, _ in right.tensors["x"].unjudged] == ["x[0]"]
    assert "cannot judge x[0]: f is not finite" in str(right)
    with_jax = gradcheck(lambda v: (v**1.5).sum(), np.array([0.0, 1.0, 4.0]), lambda v: 1.5 * np.sqrt(v))
    assert with_jax.passed, str(with_jax)  # JAX judges the edge entry


def test_f_not_finite_at_every_perturbed_point_judges_nothing():
    x0 = np.array([1.0, 2.0, 3.0])
    r = gradcheck(lambda v: 0.0 if np.array_equal(v, x0) else np.nan, x0, lambda v: 0 * v, jax=False)
    assert r.verdict == "cannot_judge" and len(r.tensors["x"].unjudged) == 3


@pytest.mark.parametrize("layout", ["fortran", "transposed", "strided", "negative"])
@pytest.mark.parametrize("complex_step", [False, True])
def test_every_memory_layout_is_perturbed(layout, complex_step):
    base = np.arange(1.0, 7.0).reshape(2, 3) / 7
    x = {"fortran": np.asfortranarray(base), "transposed": base.T, "strided": np.arange(12.0)[::2].reshape(2, 3) / 9,
         "negative": base[:, ::-1]}[layout]
    def f(v):
        return _xp(v).sum(_xp(v).sin(v) * _xp(v).arange(v.size).reshape(v.shape))
    def good(v):
        return np.cos(v) * np.arange(v.size).reshape(v.shape)
    assert gradcheck(f, x, good, jax=False, complex_step=complex_step).passed
    assert gradcheck(f, x, lambda v: 0 * v, jax=False, complex_step=complex_step).verdict == "failed"
    assert gradcheck(f, x, good).passed


def test_zero_dimensional_and_empty_inputs():
    assert gradcheck(lambda v: float(v) ** 3, np.array(2.0), lambda v: 3 * v**2, jax=False).passed
    with pytest.raises(ValueError, match=r"x has no entries \(shape \(0,\)\); nothing to check"):
        gradcheck(lambda v: 0.0, np.zeros(0), lambda v: v)


def test_a_noisy_function_is_judged_only_above_its_noise():
    rng = np.random.default_rng(0)
    def f(v):
        return np.sum(v**2) + 1e-6 * rng.random()
    zero = gradcheck(f, np.zeros(3), lambda v: 0 * v, jax=False)  # the gradient 0 is below f's noise
    assert zero.verdict == "cannot_judge" and "f is not deterministic" in str(zero)
    assert gradcheck(f, np.zeros(3), lambda v: 0 * v + 1e-4, jax=False).verdict != "passed"
    assert gradcheck(f, np.ones(3), lambda v: 2 * v, jax=False).passed  # noise 1e-6 against a gradient of 2
    assert gradcheck(f, np.ones(3), lambda v: 3 * v, jax=False).verdict == "failed"


def test_a_kink_without_a_second_oracle_is_not_passed():
    r = gradcheck(lambda v: np.sum(np.maximum(v, 0)), np.array([0.0, 1.0]), lambda v: np.array([0.7, 1.0]), jax=False)
    assert r.verdict == "cannot_judge" and [u for u, _ in r.tensors["x"].unjudged] == ["x[0]"]
    far = gradcheck(lambda v: np.sum(np.maximum(v, 0)), np.array([0.0, 1.0]), lambda v: np.array([42.0, 1.0]),
                    jax=False)
    assert far.verdict == "failed"  # outside both one-sided slopes by far: no kink explains it


def _ce(y):
    def f(z):
        if isinstance(z, np.ndarray):
            m = z.max()
            return float(m + np.log(np.sum(np.exp(z - m))) - z[y])
        from jax.scipy.special import logsumexp
        return logsumexp(z) - z[y]
    def grad(z):
        p = np.exp(z - z.max())
        p /= p.sum()
        p[y] -= 1.0
        return p
    return f, grad


def test_saturated_softmax_cross_entropy_is_no_false_alarm():
    f, grad = _ce(1)
    z = np.array([0.0, 100.0, 0.0, 0.0])  # the target wins: every entry of the gradient ≈ 3.7e-44
    assert gradcheck(f, z, grad).passed
    assert gradcheck(f, z, grad, jax=False).verdict != "failed"
    assert gradcheck(f, z, lambda z: 2 * grad(z)).verdict != "passed"
    rng = np.random.default_rng(3)
    for _ in range(40):
        f, grad = _ce(int(rng.integers(4)))
        z = rng.normal(size=4) * 100
        assert gradcheck(f, z, grad).passed
        assert gradcheck(f, z, lambda z, grad=grad: -grad(z)).verdict != "passed"


def test_atol_accepts_absolute_differences_it_names():
    def f(v):
        return np.sum(np.maximum(v, 0))
    assert gradcheck(f, np.array([0.0, 1.0]), lambda v: np.array([0.5, 1.0]), jax=False, atol=1e-6).passed
    tiny = gradcheck(lambda v: 1e-20 * np.sum(v), np.ones(2), lambda v: 2e-20 * np.ones(2), jax=False,
                     complex_step=False)
    assert tiny.verdict == "cannot_judge"  # 1e-20 is far below what differences of an O(1)-rounded f resolve
    with pytest.raises(ValueError, match="atol must be a number ≥ 0"):
        gradcheck(f, np.ones(2), lambda v: v, atol=-1.0)


def test_assert_gradients_does_not_pass_what_it_cannot_judge():
    with pytest.raises(AssertionError, match="gradcheck CANNOT JUDGE x"):
        assert_gradients(lambda v: np.sum(np.maximum(v, 0)), np.array([0.0, 1.0]),
                         lambda v: np.array([0.0, 1.0]), jax=False)


def test_a_constant_added_to_f_does_not_widen_the_tolerance():
    a = np.array([0.05, 0.02, 8e-4, -1.5e-3])
    x = np.array([0.3, -0.7, 1.1, 0.4], np.float32)
    wrong = (a * [1, 1.04, -1, 2]).astype(np.float32)  # 4 % off, a sign flip, a factor 2
    for c in (0.0, 1e3, 1e8):
        assert gradcheck(lambda v, c=c: c + (a * v).sum(), x, lambda v: wrong).verdict == "failed", c
        assert gradcheck(lambda v, c=c: c + (a * v).sum(), x, lambda v: a.astype(np.float32)).passed, c


def test_directional_mode_catches_one_entry_10_percent_off():
    rng = np.random.default_rng(5)
    w, x = rng.standard_normal(900), rng.standard_normal(900).astype(np.float32)
    def g(v):
        return w * (1 - np.tanh(v.astype(float)) ** 2)
    k = int(np.argmax(np.abs(g(x))))
    def bad(v):
        return (g(v) * np.where(np.arange(900) == k, 1.1, 1.0)).astype(np.float32)
    reports = [gradcheck(lambda v: np.sum(w * np.tanh(v)) + 1e4, x, bad, jax=False, seed=s) for s in range(10)]
    assert not [r for r in reports if r.verdict == "passed"]
