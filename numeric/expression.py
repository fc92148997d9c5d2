"""Numbers from a user's expression tree, with NumPy or JAX.

:func:`derive.expr.parse` checks the text and returns a plain tuple tree;
this module evaluates that tree directly, one array operation per node. It
never goes through SymPy, so a numeric check of a custom loss or activation
compares two independent readings of what the user typed.

>>> from derive.expr import parse
>>> tree = parse("x1*exp(x2) + log(sin(x1))").tree
>>> round(float(evaluate(tree, {"x1": 0.5, "x2": 1.0})), 12)
0.623974227844
"""
from __future__ import annotations

import math
from functools import reduce

import numpy as np

__all__ = ["evaluate", "function_of"]


def _functions(xp):
    return {
        "exp": xp.exp, "log": xp.log, "ln": xp.log, "sqrt": xp.sqrt, "sin": xp.sin, "cos": xp.cos, "tan": xp.tan,
        "tanh": xp.tanh, "abs": xp.abs,
        "sigmoid": lambda u: 0.5 * (1.0 + xp.tanh(0.5 * u)),  # never overflows
        "softplus": lambda u: xp.logaddexp(0.0, u),
        "max": lambda *a: reduce(xp.maximum, a), "min": lambda *a: reduce(xp.minimum, a),
    }


def evaluate(tree, env: dict, xp=np):
    """Value of ``tree`` with variables from ``env`` (numbers or arrays)."""
    fns = _functions(xp)

    def ev(t):
        kind = t[0]
        if kind == "num":
            return float(t[1])
        if kind == "const":
            return math.pi if t[1] == "pi" else math.e
        if kind == "var":
            return env[t[1]]
        if kind == "neg":
            return -ev(t[1])
        if kind == "call":
            return fns[t[1]](*[ev(a) for a in t[2]])
        a, b = ev(t[1]), ev(t[2])
        if kind == "+":
            return a + b
        if kind == "-":
            return a - b
        if kind == "*":
            return a * b
        if kind == "/":
            return a / b
        return a ** b

    return ev(tree)


def function_of(tree, *names):
    """``f(*values, xp=np)`` evaluating ``tree`` with ``names`` bound in order."""
    def f(*values, xp=np):
        return evaluate(tree, dict(zip(names, values, strict=True)), xp)
    return f
