"""Derived SymPy expressions evaluated in NumPy (numeric/generate.py writes code instead).

``compile_sweep`` turns a derivation's graph and recorded adjoints into a
function of parameter values that returns the loss, every node value, every
adjoint, each occurrence's contribution and each gradient — evaluating the
engine's matrix-form expressions, with each elementwise body lambdified once.
"""
from __future__ import annotations

import numpy as np
import sympy as sp
from sympy import HadamardProduct, Identity, MatAdd, MatMul, MatrixSymbol, Transpose
from sympy.matrices.expressions.diagonal import DiagMatrix

from derive.errors import UsageError
from derive.functions import is_generic
from derive.matexpr import Pointwise
from derive.ops.reductions import Softmax

__all__ = ["compile_sweep", "evaluate"]

_z = sp.Symbol("z")


def _lambdify(args, expr):
    parts = expr if isinstance(expr, (list, tuple)) else [expr]
    if any(is_generic(f) for e in parts for f in sp.sympify(e).atoms(sp.Function)):
        raise UsageError("numbers need concrete functions: give --activation, --output-activation and "
                         "--loss (generic g, g1, ℓ cannot be evaluated)")
    return sp.lambdify(args, expr, modules="numpy")


class _Evaluator:
    def __init__(self, dims=None):
        self.cache = {}
        self.dims = dims or {}

    def fn(self, lam: sp.Lambda):
        if lam not in self.cache:
            self.cache[lam] = _lambdify(lam.variables, lam.expr)
        return self.cache[lam]

    def __call__(self, e, env):
        if isinstance(e, MatrixSymbol):
            return env[e.name]
        if isinstance(e, MatAdd):
            return sum(self(a, env) for a in e.args)
        if isinstance(e, MatMul):
            out, scalar = None, 1.0
            for a in e.args:
                if isinstance(a, sp.MatrixExpr):
                    v = self(a, env)
                    out = v if out is None else out @ v
                else:
                    scalar *= float(a)
            return scalar * out
        if isinstance(e, Transpose):
            return self(e.arg, env).T
        if isinstance(e, HadamardProduct):
            out = self(e.args[0], env)
            for a in e.args[1:]:
                out = out * self(a, env)
            return out
        if isinstance(e, Pointwise):
            ops = [self(a, env) for a in e.operands]
            return np.broadcast_to(np.asarray(self.fn(e.fn)(*ops), dtype=np.float64), ops[0].shape).copy()
        if isinstance(e, DiagMatrix):
            return np.diag(self(e.args[0], env).reshape(-1))
        if isinstance(e, Identity):
            return np.eye(int(sp.sympify(e.rows).subs(self.dims)))
        raise TypeError(f"cannot evaluate {type(e).__name__}")


def evaluate(expr, env, dims=None):
    """Evaluate one engine expression with NumPy column vectors in ``env``;
    ``dims`` maps symbolic sizes to integers (for identity matrices)."""
    return _Evaluator(dims)(expr, env)


def _forward(node, args, acts):
    """A node's value from its operator's NumPy form. Values here are columns (one sample a
    column); an operator that acts along NumPy's last axis (softmax) sees rows."""
    if node.name in acts:  # an activation typed by the user: its SymPy definition, lambdified
        z = args[0]
        return np.broadcast_to(np.asarray(acts[node.name](z), dtype=np.float64), z.shape).copy()
    if isinstance(node.op, Softmax):
        return np.asarray(node.op.numpy(np, [a.T for a in args])).T
    return np.asarray(node.op.numpy(np, args), dtype=np.float64)


def compile_sweep(sweep):
    """A function ``run(values, batch=False) -> dict`` evaluating the derivation
    at ``values`` (arrays keyed by the graph's input, target and parameter names).

    With ``batch=True`` inputs and targets are N×dim arrays (one sample a row),
    evaluated in one vectorised sweep: the loss is summed over the batch,
    parameter gradients are those of the summed loss, and gradients with
    respect to an input are per sample (N×dim).
    """
    graph = sweep.graph
    ev = _Evaluator()
    acts, losses = {}, {}
    for n in graph.nodes.values():
        if n.kind == "activation" and (n.activation.expr is not None or n.activation.generic):
            acts[n.name] = _lambdify([_z], n.activation.f(_z))

    def loss_fn(loss, k, gradient=False):
        key = (id(loss), k, gradient)
        if key not in losses:
            yh, y = sp.symbols(f"yh0:{k}"), sp.symbols(f"y0:{k}")
            ell = loss.explicit(yh, y)
            losses[key] = _lambdify([yh, y], [sp.diff(ell, a) for a in yh] if gradient else ell)
        return losses[key]

    per_sample = any(isinstance(a, DiagMatrix) for e in sweep.definitions.values()
                     for a in sp.preorder_traversal(e))

    def run(values, batch=False):
        if batch and per_sample:  # a non-diagonal Jacobian (softmax without ce): one sample at a time
            return _stack(graph, [run(_row(graph, values, i)) for i in range(_batch_size(graph, values))])
        env = {}
        ev.dims = {}
        for n in graph.nodes.values():
            if n.kind in ("input", "target", "param"):
                v = np.asarray(values[n.name], dtype=np.float64)
                sizes = (v.shape + (1, 1))[:2] if n.kind == "param" else (v.shape[-1 if batch else 0], 1)
                for sym, size in zip(n.shape, sizes, strict=True):
                    if not sym.is_number:
                        ev.dims[sym] = size
                if batch and n.kind != "param":
                    env[n.name] = v.reshape(v.shape[0], -1).T
                else:
                    env[n.name] = v.reshape(-1, 1) if n.shape[1] == 1 else v
        L = 0.0
        for n in graph.nodes.values():
            if n.kind == "loss":
                yh, y = env[n.arg], env[n.target]
                val = float(np.sum(loss_fn(n.loss, yh.shape[0])(list(yh), list(y))))
                env[n.name] = np.array([[val]])
                L += val
            elif n.op is not None:
                env[n.name] = _forward(n, [env[i] for i in n.inputs()], acts)
        for name, (loss, pred, target) in sweep.opaque.items():
            # a loss that is not one function per component (typed, e.g. (ŷ₁ − ½)² − log ŷ₂):
            # ∇ŷℓ component by component, as SymPy differentiated it
            yh, y = env[pred], env[target]
            comps = loss_fn(loss, yh.shape[0], gradient=True)(list(yh), list(y))
            env[name] = np.vstack([np.broadcast_to(np.asarray(c, dtype=np.float64), yh.shape[1:]) for c in comps])
        for name, expr in sweep.definitions.items():
            env[name] = ev(expr, env)
        grads, contributions = {}, {}
        for p, g in sweep.gradients.items():
            shape = np.asarray(values[p]).shape
            node = graph.nodes[p]

            def shaped(a, node=node, shape=shape):
                if batch and node.kind != "param":
                    return a.T  # one row per sample
                if batch and node.shape[1] == 1:
                    a = a.sum(axis=1)  # a bias: summed over the batch
                return a.reshape(shape)

            contributions[p] = [(c.path, shaped(ev(c.expr, env))) for c in g.contributions]
            grads[p] = shaped(ev(g.total, env))
        return {"loss": L, "values": env, "gradients": grads, "contributions": contributions,
                "dims": dict(ev.dims)}

    return run


def _batch_size(graph, values):
    return next(np.asarray(values[n.name]).shape[0] for n in graph.nodes.values() if n.kind == "input")


def _row(graph, values, i):
    return {k: (np.asarray(v)[i] if graph.nodes[k].kind in ("input", "target") else v) for k, v in values.items()}


def _stack(graph, results):
    out = {"loss": sum(r["loss"] for r in results), "values": None, "gradients": {}, "contributions": {}}
    for p in results[0]["gradients"]:
        pick = np.stack if graph.nodes[p].kind != "param" else (lambda xs: np.sum(xs, axis=0))
        out["gradients"][p] = pick([r["gradients"][p] for r in results])
        out["contributions"][p] = [(path, pick([r["contributions"][p][k][1] for r in results]))
                                   for k, (path, _) in enumerate(results[0]["contributions"][p])]
    return out
