"""Explicit evaluation of the matrix expressions the operators build.

``explicit(expr, env)`` replaces every symbol by its explicit value (an
``ImmutableMatrix`` of scalars, or a scalar) and evaluates the tree: what the
proof compares with ``sympy.diff``, and, with floating-point values, the
derived gradient's numbers in ``--check``. Every operator node evaluates
through its operator's explicit form.
"""
from __future__ import annotations

import sympy as sp
from sympy import (
    DiagMatrix, HadamardPower, HadamardProduct, Identity, ImmutableMatrix, MatAdd, MatMul, MatPow, MatrixExpr,
    MatrixSymbol, OneMatrix, Transpose, ZeroMatrix,
)

from ..matexpr import Pointwise
from .base import Apply, Block, ScalarApply
from .linear import product

__all__ = ["explicit"]


def _shape_of(value):
    if not isinstance(value, sp.MatrixBase):
        return ()
    r, c = value.shape
    return (r,) if c == 1 else (r, c)


def _size(n, dims):
    return int(sp.sympify(n).xreplace(dims))


def explicit(expr, env: dict, dims: dict | None = None, sizes_as_numbers: bool = True):
    """The explicit value of ``expr``; ``env`` maps symbol names to values and
    ``dims`` symbolic sizes to integers (for the shapes of ones and blocks, and,
    unless ``sizes_as_numbers`` is false, for a size inside a scalar: a mean's 1/n)."""
    dims = {k: sp.Integer(v) for k, v in (dims or {}).items()}
    in_scalars = dims if sizes_as_numbers else {}
    memo: dict = {}

    def ev(e):
        if e in memo:
            return memo[e]
        out = _matrix(e) if isinstance(e, MatrixExpr) else _scalar(e)
        memo[e] = out
        return out

    def _scalar(e):
        if isinstance(e, ScalarApply):
            args = [ev(a) for a in e.operands]
            return e.op.explicit(args, [_shape_of(a) for a in args])
        if isinstance(e, sp.Symbol):  # a size (n in a mean's 1/n), else a scalar quantity
            return in_scalars[e] if e in in_scalars else env.get(e.name, e)
        if not e.args or isinstance(e, (sp.Number, sp.NumberSymbol)):
            return e
        return e.func(*[ev(a) for a in e.args])

    def _matrix(e):
        if isinstance(e, MatrixSymbol):
            return ImmutableMatrix(env[e.name])
        if isinstance(e, MatAdd):
            parts = [ev(a) for a in e.args]
            total = parts[0]
            for p in parts[1:]:
                total = total + p
            return ImmutableMatrix(total)
        if isinstance(e, MatMul):
            scalar, out = sp.Integer(1), None
            for a in e.args:
                if isinstance(a, MatrixExpr):
                    v = ev(a)
                    out = v if out is None else product(out, v)
                else:
                    scalar = scalar * ev(a)
            return ImmutableMatrix(out * scalar)
        if isinstance(e, Transpose):
            return ev(e.arg).T
        if isinstance(e, HadamardProduct):
            parts = [ev(a) for a in e.args]
            out = parts[0]
            for p in parts[1:]:
                out = out.multiply_elementwise(p)
            return ImmutableMatrix(out)
        if isinstance(e, MatPow):  # SymPy writes W W as W²
            return ImmutableMatrix(ev(e.base) ** int(e.exp))
        if isinstance(e, HadamardPower):
            base, k = ev(e.base), ev(e.exp)
            return base.applyfunc(lambda v: v ** k)
        if isinstance(e, Pointwise):
            ops = [ev(a) for a in e.operands]
            rows, cols = ops[0].shape
            return ImmutableMatrix(rows, cols, lambda i, j: e.fn(*[o[i, j] for o in ops]))
        if isinstance(e, DiagMatrix):
            return ImmutableMatrix(sp.diag(*list(ev(e.args[0]))))
        if isinstance(e, Apply):
            args = [ev(a) for a in e.operands]
            shapes = [_shape_of(a) if r < 2 else a.shape for a, r in zip(args, e.ranks, strict=True)]
            return ImmutableMatrix(e.op.explicit(args, shapes))
        if isinstance(e, Block):
            v = ev(e.args[0])
            start, size = _size(e.args[1], dims), _size(e.args[2], dims)
            return ImmutableMatrix(v[start:start + size, :])
        if isinstance(e, (Identity, ZeroMatrix, OneMatrix)):
            rows, cols = (_size(s, dims) for s in e.shape)
            fill = {Identity: sp.eye, ZeroMatrix: sp.zeros, OneMatrix: sp.ones}[type(e)]
            return ImmutableMatrix(fill(rows) if isinstance(e, Identity) else fill(rows, cols))
        raise TypeError(f"cannot evaluate matrix expression node {type(e).__name__}: {e}")

    return ev(expr)
