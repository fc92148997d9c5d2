"""Generated gradient code (NumPy and JAX) against jax.grad of the independent forwards.

The oracle is ``numeric/models.py`` — forwards written from the problem
statements — summed over a batch with ``jax.vmap`` and differentiated by
``jax.grad``; the generated code comes from the derivation's matrix form.
"""
import re

import numpy as np
import pytest

from checks import random_params, relative_error
from derive import UsageError, derive
from numeric import FORWARDS, compile_gradient, gradient_source
from numeric.autodiff import jax, jnp

N = 5  # samples per batch
TOL = 1e-12

CASES = [
    ("shared_bias", {"activation": "tanh", "output_activation": "sigmoid", "loss": "bce"}, None),
    ("shared_bias", {"activation": "relu", "output_activation": "identity", "loss": "mse"}, None),
    ("shared_bias", {"activation": "tanh", "output_activation": "softmax", "loss": "mse"}, None),
    ("shared_bias", {"activation": "sigmoid", "output_activation": "sigmoid",
                     "loss": "(yhat_1 - y_1)**2 - log(yhat_2)"}, None),
    ("shared_bias", {"activation": "z/(1+exp(-z))", "output_activation": "softplus", "loss": "mse"}, None),
    ("input_gradient", {"activation": "tanh", "layers": 1}, None),
    ("input_gradient", {"activation": "sigmoid", "layers": 2}, None),
    ("input_gradient", {"activation": "softplus", "layers": 2}, ["x", "W1", "b2", "W3"]),
    ("sigmoid_mlp", {}, None),
    ("sigmoid_mlp", {"activation": "tanh"}, ["b2", "W2", "b1", "W1", "x"]),
    ("rnn_bptt", {"steps": 4}, None),
    ("rnn_bptt", {"steps": 3, "loss": "(yhat_1 - y_1)**2 - y_2*log(yhat_2)", "output_activation": "sigmoid"},
     ["b", "W", "U", "V", "c", "h0"]),
]


def _batch(d, loss, rng, n=N):
    """Random parameters at the derivation's check sizes and n samples of inputs and targets."""
    graph = d.graph
    sizes = dict(d.spec.check_sizes)
    values = random_params(graph, sizes, loss, rng)
    for node in graph.nodes.values():
        if node.kind not in ("input", "target"):
            continue
        dim = np.size(values[node.name])
        if node.kind == "input":
            values[node.name] = rng.normal(size=(n, dim))
        elif loss == "ce":
            values[node.name] = rng.dirichlet(np.ones(dim), size=n)
        else:
            values[node.name] = rng.uniform(0.05, 0.95, size=(n, dim))
    return values


def _oracle(name, d, values, wrt):
    """Loss summed over the batch and its jax.grad, from the independent forward."""
    forward = FORWARDS[name]
    opts = {k: v for k, v in d.options.items() if k in ("activation", "output_activation", "loss")}
    per_sample = [n.name for n in d.graph.nodes.values() if n.kind in ("input", "target")]
    jv = {k: jnp.asarray(v) for k, v in values.items()}

    def total(sub):
        q = {**jv, **sub}
        shared = {k: v for k, v in q.items() if k not in per_sample}
        batched = {k: q[k] for k in per_sample}
        losses = jax.vmap(lambda s: forward({**shared, **s}, xp=jnp, **opts))(batched)
        return jnp.sum(losses)

    loss, grads = jax.value_and_grad(total)({k: jv[k] for k in wrt})
    return float(loss), {k: np.asarray(v) for k, v in grads.items()}


@pytest.mark.parametrize("name,options,wrt", CASES, ids=lambda c: str(c)[:40])
@pytest.mark.parametrize("backend", ["numpy", "jax"])
def test_generated_gradient_matches_jax_grad_of_the_independent_forward(name, options, wrt, backend, rng):
    d = derive(name, wrt=wrt, **options)
    values = _batch(d, d.options["loss"], rng)
    grad = compile_gradient(d, backend=backend)
    loss, grads = grad(values)
    want_loss, want = _oracle(name, d, values, d.spec.wrt)
    assert relative_error(float(loss), want_loss) <= TOL
    assert relative_error(float(grad.loss(values)), want_loss) <= TOL
    alone = grad.gradient(values)
    assert set(grads) == set(d.spec.wrt)
    for p in d.spec.wrt:
        got = np.asarray(grads[p])
        assert got.shape == np.shape(values[p]), p
        assert relative_error(got, want[p]) <= TOL, (p, relative_error(got, want[p]))
        assert relative_error(np.asarray(alone[p]), want[p]) <= TOL, p


@pytest.mark.parametrize("backend", ["numpy", "jax"])
def test_one_sample_as_vectors(backend, rng):
    d = derive("sigmoid_mlp", wrt=["W1", "b2", "x"], activation="tanh")
    batch = _batch(d, "bce", rng, n=1)
    one = {k: (v[0] if d.graph.nodes[k].kind in ("input", "target") else v) for k, v in batch.items()}
    grad = compile_gradient(d, backend=backend)
    loss1, g1 = grad(one)
    lossb, gb = grad(batch)
    assert np.shape(g1["x"]) == (4,) and np.shape(gb["x"]) == (1, 4)
    assert float(loss1) == pytest.approx(float(lossb), rel=1e-15)
    for p in g1:
        np.testing.assert_allclose(np.reshape(g1[p], -1), np.reshape(gb[p], -1), rtol=1e-14)


def test_batch_gradient_is_the_sum_of_per_sample_gradients(rng):
    d = derive("rnn_bptt", steps=3)
    values = _batch(d, "ce", rng, n=4)
    grad = compile_gradient(d)
    _, total = grad(values)
    parts = [grad({k: (v[i:i + 1] if d.graph.nodes[k].kind in ("input", "target") else v)
                   for k, v in values.items()})[1]["b"] for i in range(4)]
    assert relative_error(total["b"], np.sum(parts, axis=0)) <= TOL


def test_a_wrong_gradient_is_caught_by_the_oracle(rng):
    """The comparison above can fail: a planted factor 1.001 on the hidden path is seen
    (planted in the plain source, where δ_hidden has a line of its own; it runs on NumPy too)."""
    d = derive("shared_bias", activation="tanh", output_activation="sigmoid", loss="bce")
    values = _batch(d, "bce", rng)
    source = gradient_source(d.sweep, "jax")
    planted = re.sub(r"(# delta_hidden = )(\w+)", r"\2 = 1.001 * \2\n    \1\2", source, count=1)
    assert planted != source
    ns = {"numpy": np, "functools": None}
    exec(planted, ns)
    p = {k: (np.reshape(v, (-1, 1)) if k == "b" else np.asarray(v)) for k, v in values.items()}
    g = ns["gradient"](p, N)
    _, want = _oracle("shared_bias", d, values, ["b"])
    assert relative_error(np.reshape(g["b"], -1), want["b"]) > 1e-5


@pytest.mark.parametrize("backend", ["numpy", "jax"])
def test_each_product_is_computed_once(backend):
    """Common subexpressions: the RNN's Vᵀ(ŷ_t − y_t) is used by two definitions
    (ō_t's and h̄_t's) but multiplied once; T steps need 3T forward products
    (W h, U x, V h) and 2T − 1 backward ones (Vᵀ ō_t, Wᵀ δ_{t+1}). The NumPy
    build writes some of them into dead arrays (numpy.matmul(a, b, out=c))."""
    T = 5
    source = gradient_source(derive("rnn_bptt", steps=T).sweep, backend)
    body = source.split("def gradient")[1].split("def loss_and_gradient")[0]
    assert len(re.findall(r" @ |numpy\.matmul\(", body)) == 3 * T + 2 * T - 1
    by_v = r"^    v_\d+ = (v_\d+ @ p_V|numpy\.matmul\(v_\d+, p_V, out=v_\d+\))$"
    assert len(re.findall(by_v, body, re.M)) == T


def test_softmax_jacobian_is_never_formed(rng):
    source = gradient_source(derive("shared_bias", activation="tanh", output_activation="softmax",
                                    loss="mse").sweep)
    assert "diag" not in source and "outer" not in source


def test_refusals():
    with pytest.raises(UsageError, match="concrete functions"):
        compile_gradient(derive("shared_bias"))
    d = derive("sigmoid_mlp")
    with pytest.raises(UsageError, match="unknown backend 'torch'; choose one of: numpy, jax"):
        compile_gradient(d, backend="torch")
    with pytest.raises(UsageError, match="missing value for 'y'; sigmoid_mlp needs: x, y, W1"):
        compile_gradient(d)({"x": np.zeros(3)})


def test_gradients_alone_never_form_the_loss():
    """sigmoid + bce: δ_out = ŷ − y, so the gradients need no logarithm; only the loss does."""
    source = gradient_source(derive("shared_bias", activation="tanh", output_activation="sigmoid",
                                    loss="bce").sweep)
    alone = source.split("def gradient(")[1].split("def loss_and_gradient")[0]
    both = source.split("def loss_and_gradient(")[1]
    assert "log" not in alone and "numpy.log" in both


def test_printer_forms():
    from numeric.generate import _PRINTER
    import sympy as sp

    z = sp.Symbol("z")
    assert _PRINTER.doprint(sp.log(1 + sp.exp(z))) == "numpy.logaddexp(0, z)"
    assert _PRINTER.doprint(sp.Max(0, z)) == "numpy.maximum(0, z)"
    assert _PRINTER.doprint(1 / (1 + sp.exp(-z))) == "1/(1 + numpy.exp(-z))"
    relu_prime = eval("lambda z: " + _PRINTER.doprint(sp.Heaviside(z, 0)), {"numpy": np})
    assert list(relu_prime(np.array([-1.0, 0.0, 2.0]))) == [0.0, 0.0, 1.0]


@pytest.mark.parametrize("name,options,wrt", CASES, ids=lambda c: str(c)[:40])
def test_numpy_build_by_small_row_blocks_on_threads(name, options, wrt, rng, monkeypatch):
    """The NumPy build cut into blocks of one to three rows (so several threads share
    every elementwise chain, and the last block is short) gives the plain source's numbers."""
    import numeric.generate as generate

    d = derive(name, wrt=wrt, **options)
    values = _batch(d, d.options["loss"], rng, n=11)
    plain = compile_gradient(d, backend="jax", jit=False)
    want_loss, want = plain(values)
    monkeypatch.setattr(generate, "BLOCK", 3 * max(np.size(v[0]) for v in values.values()))
    monkeypatch.setattr(generate, "_WORKERS", 2)
    loss, got = compile_gradient(d)(values)
    assert relative_error(loss, float(want_loss)) <= TOL
    for p in d.spec.wrt:
        assert relative_error(got[p], np.asarray(want[p])) <= TOL, p


def test_by_rows():
    from numeric.generate import by_rows

    rng = np.random.default_rng(1)
    a, b, row = rng.normal(size=(37, 5)), rng.normal(size=(37, 1)), rng.normal(size=(1, 5))
    want = np.tanh(a + row) * b
    import numeric.generate as generate

    for block in (5, 16, 10_000):
        generate.BLOCK, keep = block, generate.BLOCK
        try:
            np.testing.assert_array_equal(by_rows(lambda a, b: np.tanh(a + row) * b, a, b), want)
            over = a.copy()  # written over block by block, each block read first
            assert by_rows(lambda a, b: np.tanh(a + row) * b, over, b, out=over) is over
            np.testing.assert_array_equal(over, want)
            sm = by_rows(lambda z: np.exp(z) / np.sum(np.exp(z), axis=-1, keepdims=True), a)
            np.testing.assert_allclose(np.sum(sm, axis=-1), 1.0, rtol=1e-15)
            assert by_rows(lambda a: a, a) is not a  # a result never aliases an operand
        finally:
            generate.BLOCK = keep


def test_numpy_build_fuses_elementwise_chains():
    """z₁ = W x + b, h₁ = tanh(z₁) is one pass over the batch (no array for z₁), 1 − h₁²
    is computed where δ_hidden needs it (not kept from the forward pass), and dead
    arrays are written over; the plain source (JAX) keeps a statement per value."""
    d = derive("shared_bias", activation="tanh", output_activation="sigmoid", loss="bce")
    build, plain = gradient_source(d.sweep), gradient_source(d.sweep, "jax")
    body = build.split("def gradient(")[1].split("def loss_and_gradient")[0]
    assert "# z1: inside" in body and "# delta_hidden: inside" in body
    assert re.search(r"by_rows\(lambda v_\d+: numpy.tanh\(p_b.T \+ v_\d+\), v_\d+, out=v_\d+\)", body)
    assert body.count("by_rows(") == 3 and "out=" in body
    assert "by_rows" not in plain and "# z1 = " in plain
