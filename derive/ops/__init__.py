"""The operator registry: one class per operator, everything about it in one place.

Each operator (:class:`Operator`) carries its shape rule, its symbolic form
(what derivations print), its explicit SymPy form (what the proof
differentiates with ``sympy.diff``), its NumPy/JAX form (the independent
numeric oracle) and its VJP rule, named in words. The engine
(:mod:`derive.sweep`), the proof and the evaluators are loops that ask the
operator. :data:`OPERATORS` lists every operator a model file may use, by the
name it is written with.

>>> sorted(OPERATORS)[:6]
['abs', 'add', 'bce', 'ce', 'concat', 'cos']
"""
from __future__ import annotations

from .arithmetic import ADD, DIV, MUL, NEG, SUB, Pow
from .base import Apply, Block, MissingRule, Operator, ScalarApply, ShapeError, shape_text
from .elementwise import ELEMENTWISE, Elementwise
from .linear import MATMUL, TRANSPOSE
from .losses import LOSS_OPS, LossOp
from .reductions import CONCAT, LOG_SOFTMAX, MEAN, SOFTMAX, SUM, Mean, Sum

__all__ = ["OPERATORS", "FUNCTIONS", "Operator", "Apply", "ScalarApply", "Block", "MissingRule", "ShapeError",
           "Elementwise", "LossOp", "Pow", "Sum", "Mean", "shape_text", "function_operator", "INFIX", "NEG",
           "TRANSPOSE"]

# infix and postfix operators, by name
INFIX = {"+": ADD, "-": SUB, "*": MUL, "/": DIV, "@": MATMUL}

# what a model file may call, by name (reductions take an optional axis)
FUNCTIONS: dict[str, Operator] = {
    **ELEMENTWISE,
    "softmax": SOFTMAX,
    "log_softmax": LOG_SOFTMAX,
    "sum": SUM,
    "mean": MEAN,
    "concat": CONCAT,
    **LOSS_OPS,
}

OPERATORS: dict[str, Operator] = {
    **{op.name: op for op in (ADD, SUB, NEG, MUL, DIV, MATMUL, TRANSPOSE)},
    "pow": Pow(exponent=2),
    **FUNCTIONS,
}


def function_operator(name: str, axis=None) -> Operator:
    """The operator a call ``name(…)`` in a model file applies (``axis`` for sum/mean)."""
    if name in ("sum", "mean") and axis is not None:
        return (Sum if name == "sum" else Mean)(axis=axis)
    return FUNCTIONS[name]
