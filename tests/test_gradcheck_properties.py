"""No false alarms: correct gradients pass over many hypothesis examples —
float32 inputs, magnitudes up to 1e4, points at and next to ReLU kinks.

The ``ci`` profile runs a dozen examples per property; ``thorough`` hundreds."""
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from checks import check_values, gradcheck, random_params
from checks import strategies as cst
from derive import derive
from numeric import FORWARDS
from numeric.autodiff import jax_grad


def _sig(z):  # accurate in both tails (f itself may be ≈ e^(−z) ≈ 1e-240 at |x| ≈ 1e4)
    return np.exp(-np.logaddexp(0.0, -z))


ACT = {  # (activation, derivative), written from their definitions
    "sigmoid": (_sig, lambda z: _sig(z) * (1 - _sig(z))),
    "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z: (z > 0).astype(float)),
    "softplus": (lambda z: np.logaddexp(0.0, z), _sig),
    "identity": (lambda z: z, np.ones_like),
}


@given(x=cst.arrays(), act=cst.activations(), seed=st.integers(0, 2**31),
       f32=st.booleans(), complex_step=st.sampled_from(["auto", False]))
def test_correct_gradients_of_a_layer_pass(x, act, seed, f32, complex_step):
    """f(x) = Σ w ⊙ g(A x + c) over shapes, activations, magnitudes 1e-2 … 1e4, float64 and float32."""
    g, dg = ACT[act]
    x = x.reshape(-1)
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(3, x.size)) / np.sqrt(x.size)
    c, w = rng.normal(size=3), rng.normal(size=3)
    dtype = np.float32 if f32 else np.float64
    x = x.astype(dtype)

    def f(v):
        return np.sum(w * g(A @ v + c))

    def grad(v):
        v = v.astype(dtype)
        with np.errstate(invalid="ignore"):  # float32 BLAS may raise a spurious flag on (near-)zero input
            return (A.astype(dtype).T @ (w.astype(dtype) * dg(A.astype(dtype) @ v + c.astype(dtype)))).astype(dtype)

    report = gradcheck(f, x, grad, jax=False, complex_step=complex_step)
    assert report.verdict != "failed", str(report)  # without JAX, a saturated layer may be beyond judging


@given(x=cst.near_kinks(shape=(6,)), seed=st.integers(0, 2**31))
def test_relu_next_to_kinks_is_never_a_false_alarm(x, seed):
    c = np.random.default_rng(seed).normal(size=x.shape)

    def f(v):
        return np.sum(c * np.maximum(v, 0.0) + 0.25 * v**2)

    report = gradcheck(f, x, lambda v: c * (v > 0) + 0.5 * v, jax=False)
    assert report.verdict != "failed", str(report)
    # without a second oracle an entry whose x ± h straddles the kink is left unjudged, never passed
    near = {f"x[{i}]" for i in np.flatnonzero(np.abs(x) < 1e-2)}
    assert {label for label, _ in report.tensors["x"].unjudged} <= near, str(report)


@given(m=cst.sizes(1, 4), d=cst.sizes(1, 4), seed=st.integers(0, 2**31),
       offset=st.sampled_from([0.0, 1e-12, -1e-12, 1e-7, -1e-7, 1e-4]),
       out_loss=st.sampled_from([("identity", "mse"), ("sigmoid", "bce"), ("softmax", "ce")]))
def test_shared_bias_relu_at_kinks_passes_check(m, d, seed, offset, out_loss):
    """The derivation's --check with some hidden pre-activations at or next to ReLU's kink."""
    out, loss = out_loss
    if out == "softmax" and m == 1:
        out, loss = "identity", "mse"
    deriv = _relu_shared_bias(out, loss)
    rng = np.random.default_rng(seed)
    values = random_params(deriv.graph, {"d": d, "m": m}, loss, rng)
    z1 = values["W"] @ values["x"] + values["b"]
    at = rng.random(m) < 0.5
    values["b"] = np.where(at, values["b"] - z1 + offset, values["b"])
    report = check_values(deriv, values, FORWARDS["shared_bias"], jax_grad)
    # exactly at the kink derived (ReLU′(0) = 0) and JAX (maximum's tie: ½) pick different one-sided
    # slopes, so those entries are left unjudged; anywhere else the check passes
    expected = ("passed", "cannot_judge") if offset == 0.0 and at.any() else ("passed",)
    assert report.verdict in expected, {p: (g["diagnosis"], g["unjudged"], g["rel_error_jax"], g["rel_error_fd"])
                                        for p, g in report.gradients.items()}


_CACHE = {}


def _relu_shared_bias(out, loss):
    key = (out, loss)
    if key not in _CACHE:
        _CACHE[key] = derive("shared_bias", activation="relu", output_activation=out, loss=loss,
                             wrt=["b", "W", "U"])
    return _CACHE[key]


@given(x=cst.arrays(shape=(4,), scale=cst.magnitudes()), seed=st.integers(0, 2**31))
def test_jax_oracle_never_false_alarms(x, seed):
    import jax.numpy as jnp

    w = np.random.default_rng(seed).normal(size=4)
    s = max(1.0, float(np.max(np.abs(x))))

    def f(v):
        xp = np if isinstance(v, np.ndarray) else jnp
        return xp.sum(w * xp.log1p((v / s) ** 2))

    report = gradcheck(f, x, lambda v: w * 2 * (v / s) / (1 + (v / s) ** 2) / s)
    assert report.passed and report.jax == "used", str(report)
