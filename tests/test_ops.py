"""Every operator of the registry: its VJP against sympy.diff and JAX, its NumPy
form against its SymPy form, at random shapes.

A new operator is one class and one line of CASES; the test that every
registered operator has a line here is computed from the registry.
"""
import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from derive.ops import OPERATORS, MissingRule, Pow, ShapeError
from derive.ops.elementwise import ELEMENTWISE
from derive.ops.elementwise import generic as generic_function
from derive.ops.evaluate import explicit
from derive.ops.linear import Affine
from derive.ops.losses import LOSS_OPS
from derive.ops.reductions import Mean, Sum

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy

# (operator, operand shapes as a function of sizes (a, b), domain of the random values)
V, M, S = "vector", "matrix", "scalar"
CASES = [
    ("add", lambda a, b: [(a, b), (a, b)], "real"),
    ("add", lambda a, b: [(a, b), (b,)], "real"),  # a vector along the rows of a matrix
    ("add", lambda a, b: [(), (a,)], "real"),
    ("sub", lambda a, b: [(a,), (a,)], "real"),
    ("sub", lambda a, b: [(b,), (a, b)], "real"),
    ("neg", lambda a, b: [(a, b)], "real"),
    ("mul", lambda a, b: [(a, b), (a, b)], "real"),
    ("mul", lambda a, b: [(), (a, b)], "real"),
    ("mul", lambda a, b: [(a,), ()], "real"),
    ("mul", lambda a, b: [(a, b), (b,)], "real"),
    ("div", lambda a, b: [(a, b), (a, b)], "positive"),
    ("div", lambda a, b: [(a,), ()], "positive"),
    ("div", lambda a, b: [(), (a,)], "positive"),
    ("pow", lambda a, b: [(a, b)], "positive"),
    ("matmul", lambda a, b: [(a, b), (b,)], "real"),
    ("matmul", lambda a, b: [(a, b), (b, a)], "real"),
    ("matmul", lambda a, b: [(a,), (a, b)], "real"),
    ("matmul", lambda a, b: [(a,), (a,)], "real"),
    ("transpose", lambda a, b: [(a, b)], "real"),
    ("sum", lambda a, b: [(a, b)], "real"),
    ("sum", lambda a, b: [(a,)], "real"),
    ("sum:0", lambda a, b: [(a, b)], "real"),
    ("sum:1", lambda a, b: [(a, b)], "real"),
    ("mean", lambda a, b: [(a, b)], "real"),
    ("mean:0", lambda a, b: [(a, b)], "real"),
    ("mean:-1", lambda a, b: [(a, b)], "real"),
    ("softmax", lambda a, b: [(a,)], "real"),
    ("softmax", lambda a, b: [(a, b)], "real"),
    ("log_softmax", lambda a, b: [(a,)], "real"),
    ("log_softmax", lambda a, b: [(a, b)], "real"),
    ("concat", lambda a, b: [(a,), (b,)], "real"),
    ("concat", lambda a, b: [(a,), (b,), (a,)], "real"),
    ("ce", lambda a, b: [(a,), (a,)], "positive"),
    ("ce", lambda a, b: [(a, b), (a, b)], "positive"),
    ("bce", lambda a, b: [(a,), (a,)], "unit"),
    ("mse", lambda a, b: [(a, b), (a, b)], "real"),
    *[(name, lambda a, b: [(a, b)], "positive" if name in ("log", "sqrt") else "real")
      for name in ("sigmoid", "tanh", "relu", "softplus", "identity", "exp", "log", "sqrt", "abs", "sin", "cos")],
    ("tanh", lambda a, b: [()], "real"),
    ("exp", lambda a, b: [(a,)], "real"),
    ("affine:1", lambda a, b: [(a, b), (b,), (a,)], "real"),  # the built-ins' layer W x + b
    ("affine:2", lambda a, b: [(a, b), (b,), (a, a), (a,), (a,)], "real"),  # W h + U x + b
]


def _operator(key):
    name, _, axis = key.partition(":")
    if name == "pow":
        return Pow(exponent=sp.Rational(3, 2))
    if name == "affine":
        return Affine(terms=int(axis), bias=True)
    if axis:
        return (Sum if name == "sum" else Mean)(axis=int(axis))
    return OPERATORS[name]


def _values(rng, shape, domain):
    if domain == "positive":
        return rng.uniform(0.3, 2.0, size=shape)
    if domain == "unit":
        return rng.uniform(0.1, 0.9, size=shape)
    v = rng.normal(size=shape)
    return np.where(np.abs(v) < 0.05, 0.3, v)  # keep relu and abs away from their kinks


def _explicit(a):
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 0:
        return sp.Float(float(a), 30)
    if a.ndim == 1:
        return sp.ImmutableMatrix(len(a), 1, [sp.Float(float(x), 30) for x in a])
    return sp.ImmutableMatrix(*a.shape, [sp.Float(float(x), 30) for x in a.ravel()])


def _symbols(name, shape):
    if not shape:
        return sp.Symbol(name)
    rows, cols = (shape[0], 1) if len(shape) == 1 else shape
    return sp.ImmutableMatrix(rows, cols, [sp.Symbol(f"{name}_{i}_{j}") for i in range(rows) for j in range(cols)])


def _symbolic(name, shape):
    if not shape:
        return sp.Symbol(name)
    return sp.MatrixSymbol(name, *((shape[0], 1) if len(shape) == 1 else shape))


def _flat(v):
    if isinstance(v, list):
        return v
    return list(v) if isinstance(v, sp.MatrixBase) else [v]


def _array(v, shape):
    return np.array([float(x) for x in _flat(v)], dtype=np.float64).reshape(shape)


def test_every_registered_operator_is_tested():
    tested = {key.partition(":")[0] for key, _, _ in CASES}
    assert set(OPERATORS) - tested == set()


@pytest.mark.parametrize("key,shapes,domain", CASES, ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(CASES)])
@given(a=st.integers(1, 3), b=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_vjp_matches_sympy_diff_and_jax(key, shapes, domain, a, b, seed):
    op = _operator(key)
    rng = np.random.default_rng(seed)
    in_shapes = shapes(a, b)
    out_shape = op.shape([tuple(sp.Integer(s) for s in sh) for sh in in_shapes])
    out_shape = tuple(int(s) for s in out_shape)
    args = [_values(rng, sh, domain) for sh in in_shapes]
    if key in ("ce",):
        args[1] = rng.uniform(0.0, 1.0, size=in_shapes[1])
    weights = rng.normal(size=out_shape)
    # sympy.diff of Σ weights ⊙ op(args) at the point, against the VJP rule's explicit value
    syms = [_symbols(f"a{i}", sh) for i, sh in enumerate(in_shapes)]
    concrete = [tuple(sp.Integer(s) for s in sh) for sh in in_shapes]
    out = op.explicit(syms, [tuple(int(s) for s in sh) for sh in in_shapes])
    f = sum(w * o for w, o in zip(np.ravel(weights), _flat(out), strict=True))
    point = {s: v for sym, val in zip(syms, args, strict=True)
             for s, v in zip(_flat(sym), _flat(_explicit(val)), strict=True)}
    symbolic = [_symbolic(f"a{i}", sh) for i, sh in enumerate(concrete)]
    out_sym = op.symbolic(symbolic, concrete)
    env = {f"a{i}": _explicit(v) for i, v in enumerate(args)} | {"G": _explicit(weights)}
    adjoint = _symbolic("G", tuple(sp.Integer(s) for s in out_shape))
    for i in range(len(args)):
        try:
            op.check_vjp(i, f"a{i}")
        except MissingRule:
            continue
        rule = op.vjp(adjoint, out_sym, symbolic, concrete)[i]
        mine = _array(explicit(rule, env, {}), in_shapes[i])
        brute = _array([sp.diff(f, s).xreplace(point) for s in _flat(syms[i])], in_shapes[i])
        np.testing.assert_allclose(mine, brute, rtol=1e-10, atol=1e-12, err_msg=f"{key} operand {i + 1} vs sympy.diff")

        def g(x, i=i):
            xs = [jnp.asarray(v) for v in args]
            xs[i] = x
            return jnp.sum(jnp.asarray(weights) * op.numpy(jnp, xs))

        jg = np.asarray(jax.grad(g)(jnp.asarray(args[i], dtype=jnp.float64)))
        np.testing.assert_allclose(mine, jg, rtol=1e-10, atol=1e-12, err_msg=f"{key} operand {i + 1} vs JAX")


@pytest.mark.parametrize("key,shapes,domain", CASES, ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(CASES)])
def test_numpy_form_matches_sympy_form(key, shapes, domain, rng):
    op = _operator(key)
    in_shapes = shapes(3, 2)
    args = [_values(rng, sh, domain) for sh in in_shapes]
    ours = np.asarray(op.numpy(np, args), dtype=np.float64)
    theirs = op.explicit([_explicit(a) for a in args], in_shapes)
    np.testing.assert_allclose(ours, _array(theirs, ours.shape), rtol=1e-12, atol=1e-14)


def test_shape_errors_name_both_shapes():
    n, m = sp.symbols("n m", integer=True, positive=True)
    with pytest.raises(ShapeError, match=r"matrix\[n, m\] @ matrix\[n, m\] \(m ≠ n\)"):
        OPERATORS["matmul"].shape([(n, m), (n, m)])
    with pytest.raises(ShapeError, match=r"vector\[n\] \+ vector\[m\]"):
        OPERATORS["add"].shape([(n,), (m,)])
    with pytest.raises(ShapeError, match="axis 2 does not exist"):
        Sum(axis=2).shape([(n, m)])


def test_a_generic_loss_has_no_rule_for_its_target():
    from derive.ops.losses import generic as generic_loss

    OPERATORS["ce"].check_vjp(1, "y")  # a registered loss has one: ∇yℓ by SymPy
    with pytest.raises(MissingRule, match="'l' has no VJP rule for its operand 2"):
        generic_loss("l").check_vjp(1, "y")


def test_a_generic_function_has_no_numbers():
    with pytest.raises(MissingRule, match="'g' is generic"):
        generic_function("g").numpy(np, [np.zeros(2)])


@pytest.mark.parametrize("key,shapes,domain", CASES, ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(CASES)])
def test_jvp_matches_jax(key, shapes, domain, rng):
    """The forward-mode tangent rule against jax.jvp, with a random tangent for every operand
    (a loss's target is data: its tangent is zero)."""
    op = _operator(key)
    in_shapes = shapes(3, 2)
    concrete = [tuple(sp.Integer(s) for s in sh) for sh in in_shapes]
    args = [_values(rng, sh, domain) for sh in in_shapes]
    if key == "ce":
        args[1] = rng.uniform(0.0, 1.0, size=in_shapes[1])
    tangents = [rng.normal(size=sh) for sh in in_shapes]
    if op.differentiable is not None:
        tangents = [t if i in op.differentiable else np.zeros_like(t) for i, t in enumerate(tangents)]
    symbolic = [_symbolic(f"a{i}", sh) for i, sh in enumerate(concrete)]
    dots = [_symbolic(f"t{i}", sh) for i, sh in enumerate(concrete)]
    rule = op.jvp(dots, op.symbolic(symbolic, concrete), symbolic, concrete)
    env = {f"a{i}": _explicit(v) for i, v in enumerate(args)} | {f"t{i}": _explicit(t) for i, t in enumerate(tangents)}
    _, theirs = jax.jvp(lambda *xs: op.numpy(jnp, list(xs)), tuple(jnp.asarray(a) for a in args),
                        tuple(jnp.asarray(t) for t in tangents))
    theirs = np.asarray(theirs)
    np.testing.assert_allclose(_array(explicit(rule, env, {}), theirs.shape), theirs, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("key,shapes,domain", CASES, ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(CASES)])
def test_local_jacobian_matches_jax(key, shapes, domain, rng):
    """(∂out/∂operand)ᵀ, the factor of a path listing, and ∂out/∂operand, that of forward sensitivities,
    against jax.jacobian, for every scalar or vector operand of a scalar or vector result."""
    op = _operator(key)
    in_shapes = shapes(3, 2)
    concrete = [tuple(sp.Integer(s) for s in sh) for sh in in_shapes]
    out_shape = op.shape(concrete)
    args = [_values(rng, sh, domain) for sh in in_shapes]
    symbolic = [_symbolic(f"a{i}", sh) for i, sh in enumerate(concrete)]
    out_sym = op.symbolic(symbolic, concrete)
    env = {f"a{i}": _explicit(v) for i, v in enumerate(args)}
    must = key.partition(":")[0] in {"affine", "softmax", "log_softmax", "matmul", "add", "sub", "neg", "mul",
                                     "div", "pow", "sum", "mean", *ELEMENTWISE, *LOSS_OPS}
    for i, sh in enumerate(in_shapes):
        if len(sh) > 1 or len(out_shape) > 1:
            continue
        try:
            jt = op.jacobian_T(i, out_sym, symbolic, concrete)
            j = op.jacobian(i, out_sym, symbolic, concrete)
        except MissingRule:
            assert not must, f"{key}: no local Jacobian for operand {i + 1}"
            continue

        def f(x, i=i):
            xs = [jnp.asarray(v) for v in args]
            xs[i] = x
            return op.numpy(jnp, xs)

        theirs = np.asarray(jax.jacobian(f)(jnp.asarray(args[i]))).reshape(-1, sh[0] if sh else 1)
        mine_t, mine = explicit(jt, env, {}), explicit(j, env, {})
        for m, want in ((mine_t, theirs.T), (mine, theirs)):  # a row is not a column: the orientation counts
            if isinstance(m, sp.MatrixBase):
                assert m.shape == want.shape, f"{key} operand {i + 1}: {m.shape} ≠ {want.shape}"
            else:
                assert want.size == 1, f"{key} operand {i + 1}: a scalar where a {want.shape} is due"
        np.testing.assert_allclose(_array(mine_t, theirs.T.shape), theirs.T, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(_array(mine, theirs.shape), theirs, rtol=1e-10, atol=1e-12)
