"""The independent numeric reading of a model file.

:func:`forward` walks the parsed equations (the text's syntax trees, not the
SymPy graph the derivation builds) with NumPy or JAX, asking each operator of
the registry for its NumPy/JAX form. :func:`derived` evaluates the *derived*
gradient at a point: the SymPy expressions of the sweep, evaluated entry by
entry in floating point — so the two sides share no code path but the
operators' definitions, which the registry test checks against each other.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from derive.model_file import ModelSpec, Tree
from derive.ops import INFIX, NEG, TRANSPOSE, Pow, function_operator
from derive.ops.evaluate import explicit

__all__ = ["forward", "loss_function", "derived"]


def _value(spec: ModelSpec, t: Tree, env: dict, xp):
    if t.kind == "var":
        return env[t.value]
    if t.kind == "num":
        return float(t.value)
    if t.kind == "const":
        return float(sp.pi) if t.value == "pi" else float(sp.E)
    args = [_value(spec, c, env, xp) for c in t.children]
    if t.kind == "neg":
        return NEG.numpy(xp, args)
    if t.kind == "T":
        return TRANSPOSE.numpy(xp, args)
    if t.kind == "pow":
        return Pow(exponent=sp.Rational(t.value.numerator, t.value.denominator)).numpy(xp, args)
    if t.kind == "infix":
        return INFIX[t.value].numpy(xp, args)
    op = spec.functions.get(t.value) or spec.losses.get(t.value) or function_operator(t.value, t.axis)
    return op.numpy(xp, args)


def forward(spec: ModelSpec, values: dict, xp=np) -> dict:
    """Every assigned quantity of the model at ``values`` (leaf name → array)."""
    env = dict(values)
    for e in spec.equations:
        env[e.name] = _value(spec, e.tree, env, xp)
    return env


def loss_function(spec: ModelSpec):
    """``f(values, xp)`` → the model's scalar loss."""
    def f(values, xp=np):
        return forward(spec, values, xp)[spec.loss]

    return f


def _explicit_value(array):
    a = np.asarray(array, dtype=np.float64)
    if a.ndim == 0:
        return sp.Float(float(a))
    if a.ndim == 1:
        return sp.ImmutableMatrix(a.shape[0], 1, [sp.Float(float(v)) for v in a])
    return sp.ImmutableMatrix(a.shape[0], a.shape[1], [sp.Float(float(v)) for v in a.ravel()])


def _array(value, shape):
    if not isinstance(value, sp.MatrixBase):
        return np.float64(complex(value).real)
    a = np.array([[complex(v).real for v in value.row(i)] for i in range(value.rows)], dtype=np.float64)
    return a.reshape(-1) if len(shape) == 1 else a.reshape(shape)


def derived(d, values: dict) -> dict:
    """The derived gradients, their occurrences and the loss at ``values``:
    ``{"loss": float, "gradients": {p: array}, "contributions": {p: [(label, array)]}}``,
    evaluated from the sweep's SymPy expressions (the symbolic side of the check)."""
    from derive.model_proof import derived_env, explicit_forward

    sw = d.sweep
    graph = sw.graph
    sizes = {}
    for name, leaf in graph.spec.leaves.items():
        for dim, n in zip(leaf.dims, np.shape(values[name]), strict=True):
            if isinstance(dim, str):
                sizes[sp.Symbol(dim, integer=True, positive=True)] = n
    leaves = {k: _explicit_value(v) for k, v in values.items()}
    nodes = explicit_forward(sw, sizes, leaves)
    env = derived_env(sw, leaves, nodes, sizes)
    grads, parts = {}, {}
    for p in d.wrt:
        shape = np.shape(values[p])
        g = sw.gradients[p]
        grads[p] = _array(explicit(g.total, env, sizes), shape)
        parts[p] = [(d.names[o.occurrence.name][0], _array(explicit(o.expr, env, sizes), shape))
                    for o in g.occurrences]
    loss = float(complex(nodes[graph.by_name[graph.spec.loss]]).real)
    return {"loss": loss, "gradients": grads, "contributions": parts}
