"""Component (index) forms of matrix expressions, built structurally.

``entry(expr, i, j)`` is the (i, j) entry of a matrix expression: a product
A B … gives Σ_k A[i, k] B[k, …], with no sum where the inner size is 1; diag(v)
and the identity pass their index through instead of summing over a Kronecker
delta; transposes swap the indices; elementwise nodes take the entries of their
operands. Nothing here calls a summation algorithm (SymPy's ``expr[i, j]``
followed by ``Sum.doit`` runs Gosper's algorithm on every nested product and
takes minutes on a T = 3 RNN's ∂L/∂W).
"""
from __future__ import annotations

import sympy as sp
from sympy import (
    DiagMatrix, HadamardPower, HadamardProduct, Identity, MatAdd, MatMul, MatPow, MatrixExpr, MatrixSymbol, OneMatrix,
    Transpose, ZeroMatrix,
)

from .matexpr import Pointwise

__all__ = ["entry"]


def _one(n) -> bool:
    return sp.sympify(n) == 1


def entry(expr, i, j):
    """The (i, j) entry of ``expr`` as a scalar SymPy expression (indices 0-based;
    pass 0 for the column of a vector)."""
    if not isinstance(expr, MatrixExpr):
        return expr
    if isinstance(expr, MatrixSymbol):
        return expr[i, j]
    if isinstance(expr, MatAdd):
        return sp.Add(*[entry(a, i, j) for a in expr.args])
    if isinstance(expr, MatMul):
        return _product(expr, i, j)
    if isinstance(expr, MatPow) and expr.exp.is_Integer and expr.exp > 0:  # W² = W W
        return _product(MatMul(*[expr.base] * int(expr.exp), evaluate=False), i, j)
    if isinstance(expr, Transpose):
        return entry(expr.arg, j, i)
    if isinstance(expr, HadamardProduct):
        return sp.Mul(*[entry(a, i, j) for a in expr.args])
    if isinstance(expr, HadamardPower):
        return entry(expr.base, i, j) ** expr.exp
    if isinstance(expr, Pointwise):
        return expr.fn(*[entry(a, i, j) for a in expr.operands])
    if isinstance(expr, DiagMatrix):
        return entry(expr.args[0], i, 0) * sp.KroneckerDelta(i, j)
    if isinstance(expr, Identity):
        return sp.KroneckerDelta(i, j)
    if isinstance(expr, ZeroMatrix):
        return sp.Integer(0)
    if isinstance(expr, OneMatrix):
        return sp.Integer(1)
    return expr[i, j]  # a node this module does not know: SymPy's own indexing


def _product(expr, i, j):
    coeff = sp.Mul(*[a for a in expr.args if not isinstance(a, MatrixExpr)])
    factors = [a for a in expr.args if isinstance(a, MatrixExpr)]
    terms, limits, row = [], [], i
    for k, f in enumerate(factors):
        last = k == len(factors) - 1
        if isinstance(f, (DiagMatrix, Identity)) and not last:
            if isinstance(f, DiagMatrix):
                terms.append(entry(f.args[0], row, 0))
            continue  # diag(v) B: the row index passes through
        if last:
            col = j
        elif _one(f.shape[1]):
            col = 0
        else:
            col = sp.Dummy("k")
            limits.append((col, 0, f.shape[1] - 1))
        terms.append(entry(f, row, col))
        row = col
    body = coeff * sp.Mul(*terms)
    for lim in reversed(limits):
        body = sp.Sum(body, lim)
    return body
