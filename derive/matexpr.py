"""Matrix-expression pieces the engine needs beyond SymPy's own.

``Pointwise`` is an elementwise function of one or more equally-shaped
matrices (g′(z₁), ŷ − y, h ⊙ (1 − h)). SymPy's ``ElementwiseApplyFunction``
takes a single argument and prints as ``(t ↦ …)∘(z)``; the engine needs
several arguments (a loss gradient depends on ŷ and y) and a printable label.

``explicit`` expands a matrix expression into an explicit SymPy ``Matrix``
given explicit values for its symbols; the proof and the numeric evaluator
use it instead of ``MatrixSymbol.diff``/``doit``, whose behaviour on these
trees is fragile across SymPy versions.
"""
from __future__ import annotations

import sympy as sp
from sympy import (
    Basic, HadamardProduct, MatrixExpr,
    OneMatrix,
)

__all__ = ["Pointwise", "hadamard", "explicit", "ones"]


class Pointwise(MatrixExpr):
    """``Pointwise(Lambda((s, t), body), A, B, label=...)`` has entries
    ``body(A[i, j], B[i, j])``; ``label`` (a string, may be empty) prints as
    ``label(A)``, otherwise the body is printed with A, B in place of s, t."""

    def __new__(cls, fn: sp.Lambda, *args, label: str = ""):
        if args and isinstance(args[0], sp.Symbol):  # rebuilt by SymPy via func(*args)
            label, args = args[0].name, args[1:]
            label = "" if label == "_" else label
        if not args:
            raise ValueError("Pointwise needs at least one matrix argument")
        shape = args[0].shape
        for a in args[1:]:
            if a.shape != shape:
                raise ValueError(f"Pointwise arguments differ in shape: {shape} vs {a.shape}")
        return Basic.__new__(cls, fn, sp.Symbol(label or "_"), *args)

    @property
    def fn(self) -> sp.Lambda:
        return self.args[0]

    @property
    def label(self) -> str:
        s = self.args[1].name
        return "" if s == "_" else s

    @property
    def operands(self):
        return self.args[2:]

    @property
    def shape(self):
        return self.operands[0].shape

    def _entry(self, i, j, **kwargs):
        return self.fn(*[a[i, j] for a in self.operands])

    def _eval_transpose(self):
        return Pointwise(self.fn, *[a.T for a in self.operands], label=self.label)


def hadamard(a, b):
    """a ⊙ b, dropping a factor that is the all-ones matrix."""
    if isinstance(a, OneMatrix):
        return b
    if isinstance(b, OneMatrix):
        return a
    return HadamardProduct(a, b)


def ones(rows, cols=1):
    return OneMatrix(rows, cols)


def explicit(expr, env: dict, dims: dict | None = None) -> sp.ImmutableMatrix:
    """Expand a matrix expression to an explicit matrix.

    ``env`` maps symbol names to explicit matrices; ``dims`` maps symbolic
    sizes to integers (for ``Identity(m)`` and friends). One evaluator serves
    the engine and the operator registry (:func:`derive.ops.evaluate.explicit`).
    """
    from .ops.evaluate import explicit as evaluate

    return evaluate(expr, env, {sp.sympify(k): v for k, v in (dims or {}).items()})
