"""Evaluation traces (P4): an expression split into elementary steps v₁ … vₙ,
each with its exact value, and its tangent (forward mode) or adjoint (reverse
mode) by the chain rule written out before it is evaluated.

>>> t = trace("ln(sin(x1)) + x1*exp(x2)", {"x1": "pi/6", "x2": "1"}, wrt="x1")
>>> [s.definition_text for s in t.steps]
['x1', 'sin(v1)', 'ln(v2)', 'x2', 'exp(v4)', 'v1·v5', 'v3 + v6']
>>> t.tangent_value
sqrt(3) + E
>>> t.proof
True
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import sympy as sp

from . import render
from .document import Document
from .errors import UsageError
from .schema import header
from .expr import Expr, parse, to_sympy
from .graph import display
from .printing import latex as _latex, unicode as _unicode

__all__ = ["MAX_VARIABLES", "P4_EXAMPLE", "Trace", "TraceStep", "trace"]

MAX_VARIABLES = 20
P4_EXAMPLE = ("ln(sin(x1)) + x1*exp(x2)", {"x1": "pi/6", "x2": "1"})  # problem P4's function and point
_OPS = {"+": (" + ", " + "), "-": (" − ", " - "), "*": ("·", r" \cdot "), "/": ("/", " / ")}


@dataclass
class TraceStep:
    """vᵢ = op(operands): operands are earlier v symbols or constants."""

    index: int
    op: str  # "input", "+", "-", "*", "/", "**", "neg", or a function name
    operands: tuple  # SymPy: v symbols or exact constants
    variable: str = ""  # for an input step, the variable's name
    value: object = None  # exact
    tangent: object = None  # exact ∂vᵢ/∂(wrt)
    partials: tuple = ()  # ∂op/∂operand for each v operand: ((v symbol, SymPy expr), ...)
    adjoint: object = None  # exact ∂f/∂vᵢ (reverse mode)

    @property
    def symbol(self):
        return sp.Symbol(f"v{self.index}")

    @property
    def definition(self):
        """The step as a SymPy expression in earlier v's."""
        if self.op == "input":
            return sp.Symbol(self.variable)
        return to_sympy(_tree_of(self.op, self.operands), {})

    def _args(self, tex=False):
        return [(_latex(a) if tex else _unicode(a)) for a in self.operands]

    @property
    def definition_text(self) -> str:
        return _format(self.op, self._args(), self.variable, tex=False)

    @property
    def definition_latex(self) -> str:
        return _format(self.op, self._args(tex=True), self.variable, tex=True)


def _tree_of(op, operands):
    """A tree whose leaves are SymPy objects (to_sympy passes them through)."""
    leaves = tuple(("sym", a) for a in operands)
    if op == "neg":
        return ("neg", leaves[0])
    if op in ("+", "-", "*", "/", "**"):
        return (op, leaves[0], leaves[1])
    return ("call", op, leaves)


def _format(op, args, variable, tex):
    if op == "input":
        return display(variable)[1] if tex else variable
    if op == "neg":
        return f"-{args[0]}" if tex else f"−{args[0]}"
    if op == "**":
        base, power = (a if (a.isalnum() or a.startswith("\\")) and "/" not in a else f"({a})" for a in args)
        return f"{{{args[0]}}}^{{{args[1]}}}" if tex else f"{base}^{power}"
    if op in _OPS:
        return _OPS[op][1 if tex else 0].join(args)
    name = rf"\operatorname{{{op}}}" if tex and op not in ("exp", "ln", "log", "sin", "cos", "tan", "tanh") \
        else (f"\\{op}" if tex else op)
    if tex and op == "abs":
        return rf"\left|{args[0]}\right|"
    return f"{name}({', '.join(args)})" if not tex else rf"{name}\left({', '.join(args)}\right)"


class _Decomposer:
    """Post-order, left to right: each input gets a v the first time it is
    read; each operation on at least one v becomes a new v; identical
    operations on identical operands share one v; constants are folded."""

    def __init__(self):
        self.steps: list[TraceStep] = []
        self.memo: dict = {}

    def add(self, op, operands, variable=""):
        key = (op, operands, variable)
        if key not in self.memo:
            step = TraceStep(len(self.steps) + 1, op, operands, variable)
            self.steps.append(step)
            self.memo[key] = step.symbol
        return self.memo[key]

    def walk(self, t):
        kind = t[0]
        if kind in ("num", "const"):
            return to_sympy(t, {})
        if kind == "var":
            return self.add("input", (), t[1])
        if kind == "neg":
            a = self.walk(t[1])
            return -a if _constant(a) else self.add("neg", (a,))
        if kind == "call":
            args = tuple(self.walk(a) for a in t[2])
            if all(_constant(a) for a in args):
                return to_sympy(_tree_of(t[1], args), {})
            return self.add(t[1], args)
        a, b = self.walk(t[1]), self.walk(t[2])
        if _constant(a) and _constant(b):
            return to_sympy(_tree_of(kind, (a, b)), {})
        return self.add(kind, (a, b))


def _constant(a) -> bool:
    return not (isinstance(a, sp.Symbol) and a.name.startswith("v"))


MAX_DIGITS = 2000  # an exact value whose integers grow past this is refused, not printed


def _exact(e):
    """An exact value as SymPy evaluates it (no ``simplify``: it can take
    minutes on values such as exp(1000)), refused when its integers grow huge."""
    if any(a.is_Integer and abs(a) > 10 ** MAX_DIGITS for a in sp.preorder_traversal(e)):
        raise UsageError(f"an exact value has more than {MAX_DIGITS} digits; choose a smaller point")
    return e


def _real(e, what):
    """float(e), or a UsageError when e is not a finite real number."""
    if e.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise UsageError(f"{what} is undefined")
    c = complex(sp.N(e, 30))
    if not math.isfinite(c.real) or not math.isfinite(c.imag):
        raise UsageError(f"{what} is too large to evaluate")
    if abs(c.imag) > 1e-12 * max(1.0, abs(c.real)):
        raise UsageError(f"{what} is not a real number")
    return c.real


@dataclass
class Trace(render.Rendered):
    """The evaluation trace of one expression at one point."""

    expr: Expr
    at: dict  # variable -> exact SymPy value
    at_text: dict  # variable -> as typed
    wrt: str
    reverse: bool
    steps: list = field(default_factory=list)

    @property
    def variables(self):
        return list(self.expr.variables)

    @property
    def f(self):
        return self.steps[-1]

    @property
    def value(self):
        return self.f.value

    @property
    def tangent_value(self):
        return self.f.tangent

    @cached_property
    def function(self):
        return self.expr.sympy({v: sp.Symbol(v) for v in self.variables})

    @cached_property
    def brute(self) -> dict:
        """sympy.diff of the whole expression at the point, per variable."""
        point = {sp.Symbol(v): self.at[v] for v in self.variables}
        wanted = self.variables if self.reverse else [self.wrt]
        return {v: sp.diff(self.function, sp.Symbol(v)).xreplace(point) for v in wanted}

    @cached_property
    def gradient(self) -> dict:
        """∂f/∂x for every input, from the adjoints (reverse mode only)."""
        return {s.variable: s.adjoint for s in self.steps if s.op == "input"} if self.reverse else {}

    @cached_property
    def comparison(self) -> str:
        """How the trace's derivatives compare with sympy.diff at the point:
        "exact", "60 digits" (equal numerically, not shown symbolically) or ""."""
        mine = {self.wrt: self.tangent_value} | self.gradient
        verdicts = [_same(mine[v], b) for v, b in self.brute.items()]
        return "" if "" in verdicts else ("60 digits" if "60 digits" in verdicts else "exact")

    @property
    def proof(self) -> bool:
        """The trace's derivatives equal sympy.diff of the expression at the point."""
        return bool(self.comparison)

    # -- rendering ------------------------------------------------------------
    def _dot(self, i):
        return f"v̇{i}"

    def tangent_rows(self):
        """[(lhs, rule, substituted, exact, float)] for v̇ᵢ = ∂vᵢ/∂wrt."""
        rows = []
        vals = {s.symbol: s.value for s in self.steps}
        dots = {s.symbol: s.tangent for s in self.steps}
        for s in self.steps:
            lhs = self._dot(s.index)
            if s.op == "input":
                seed = "1" if s.variable == self.wrt else "0"
                rows.append((lhs, f"∂{s.variable}/∂{self.wrt}", seed, s.tangent, None))
                continue
            rule = _terms((d, self._dot(int(v.name[1:]))) for v, d in s.partials)
            sub = _terms((_exact(d.xreplace(vals)), _paren(_unicode(dots[v]))) for v, d in s.partials)
            rows.append((lhs, rule, sub, s.tangent, None))
        return rows

    def adjoint_rows(self):
        """[(lhs, rule, substituted, exact)] for v̄ᵢ = ∂f/∂vᵢ, last step first."""
        vals = {s.symbol: s.value for s in self.steps}
        users = {s.symbol: [] for s in self.steps}
        for s in self.steps:
            for v, d in s.partials:
                users[v].append((s, d))
        rows = []
        bars = {}
        for s in reversed(self.steps):
            lhs = f"v̄{s.index}"
            if s is self.f:
                rows.append((lhs, "∂f/∂v" + str(s.index), "1", s.adjoint))  # the seed
            else:
                rule = _terms((d, f"v̄{u.index}") for u, d in users[s.symbol])
                sub = _terms((_exact(d.xreplace(vals)), _paren(_unicode(bars[u.index]))) for u, d in users[s.symbol])
                rows.append((lhs, rule, sub, s.adjoint))
            bars[s.index] = s.adjoint
        return rows

    def _at_text(self):
        return ", ".join(f"{v} = {_unicode(self.at[v])}" for v in self.variables)

    def document(self, proof=True) -> Document:
        """The trace as a :class:`derive.document.Document` (:mod:`derive.trace_doc`); ``proof``:
        with the comparison against ``sympy.diff``."""
        from . import trace_doc

        return trace_doc.document(self, proof)

    def to_dict(self, proof=True) -> dict:
        def num(e):
            return {"exact": _unicode(e), "latex": _latex(e), "float": float(sp.N(e, 30))}

        tangents = {r[0]: r for r in self.tangent_rows()}
        out = {
            **header("trace"),
            "expression": self.expr.text, "function": _unicode(self.function),
            "variables": self.variables, "wrt": self.wrt, "mode": "reverse" if self.reverse else "forward",
            "at": {v: {"typed": self.at_text[v], **num(self.at[v])} for v in self.variables},
            "steps": [{"name": f"v{s.index}", "definition": s.definition_text, "latex": s.definition_latex,
                       "value": num(s.value),
                       "tangent": {"rule": tangents[self._dot(s.index)][1],
                                   "substituted": tangents[self._dot(s.index)][2], **num(s.tangent)}}
                      for s in self.steps],
            "value": num(self.value), "derivative": num(self.tangent_value),
        }
        if proof:
            out["proof"] = {"against": "sympy.diff", "holds": self.proof, "method": self.comparison or None}
        if self.reverse:
            rows = {r[0]: r for r in self.adjoint_rows()}
            for d, s in zip(out["steps"], self.steps, strict=True):
                r = rows[f"v̄{s.index}"]
                d["adjoint"] = {"rule": r[1], "substituted": r[2], **num(s.adjoint)}
            out["gradient"] = {v: num(g) for v, g in self.gradient.items()}
        return out


def _same(a, b) -> str:
    """"exact" when the difference is 0 as SymPy writes it or after expanding
    or cancelling; "60 digits" when it only vanishes numerically (no
    ``simplify``: it can take minutes); "" when the two differ."""
    d = a - b
    if d == 0:
        return "exact"
    scale = max(1.0, abs(complex(sp.N(b, 60))))
    if abs(complex(sp.N(d, 60))) > 1e-45 * scale:
        return ""
    if sp.count_ops(d) <= 60 and (sp.expand(d) == 0 or sp.cancel(d) == 0):
        return "exact"
    return "60 digits"


def _terms(pairs, tex=False) -> str:
    """Σ factor·name, written as a person would: 1·v̇ is v̇, −1·v̇ is −v̇."""
    out = ""
    minus = "-" if tex else "−"
    for factor, name in pairs:
        if factor == 1:
            term, neg = name, False
        elif factor == -1:
            term, neg = name, True
        else:
            text = _latex(factor) if tex else _unicode(factor)
            neg = text.startswith(minus) and " " not in text.strip(minus + " ")
            text = text[1:].strip() if neg else text
            term = f"{_paren_tex(text)} \\, {name}" if tex else f"{_paren(text)}·{name}"
        out += (f" {minus} " if neg else " + ") + term if out else (minus if neg else "") + term
    return out


def _paren(s: str) -> str:
    return f"({s})" if any(c in s for c in " +−-/") and not (s.startswith("(") and s.endswith(")")) else s


def _paren_tex(s: str) -> str:
    return rf"\left({s}\right)" if any(c in s for c in "+-") else s


def parse_point(items, variables) -> tuple[dict, dict]:
    """``["x1=pi/6", "x2=1"]`` → exact values; each value is a constant expression."""
    at, typed = {}, {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UsageError(f"--at takes NAME=VALUE pairs, e.g. --at x1=pi/6 x2=1; got {item!r}")
        if name not in variables:
            raise UsageError(f"--at gives {name!r}, which the expression does not use; "
                             f"its variables: {', '.join(variables)}")
        if name in at:
            raise UsageError(f"--at gives {name!r} twice")
        e = parse(value, variables="(?!)", what=f"value of {name}",
                  hint="give a number or a constant expression such as pi/6, 1/3, sqrt(2), E")
        at[name] = to_sympy(e.tree, {})
        typed[name] = value.strip()
    missing = [v for v in variables if v not in at]
    if missing:
        hint = " (for Euler's number write E)" if missing[0] == "e" else ""
        raise UsageError(f"no value for {missing[0]!r}: give --at " + " ".join(f"{v}=…" for v in variables) + hint)
    return at, typed


def trace(text: str, at, *, wrt: str | None = None, reverse: bool = False) -> Trace:
    """Trace ``text`` at the point ``at`` (a dict of values as text or
    numbers, or a list of ``NAME=VALUE`` strings), differentiating with
    respect to ``wrt`` (default: the first variable)."""
    expr = parse(text, what="expression",
                 hint="use variable names, numbers, pi, E, + - * / ** and exp, ln, log, sqrt, sin, cos, tan, "
                      "tanh, sigmoid, softplus, abs, max, min")
    variables = list(expr.variables)
    if not variables:
        raise UsageError(f"expression {text!r} has no variables to differentiate")
    if len(variables) > MAX_VARIABLES:
        raise UsageError(f"expression {text!r} has {len(variables)} variables; at most {MAX_VARIABLES}")
    items = [f"{k}={v}" for k, v in at.items()] if isinstance(at, dict) else list(at)
    point, typed = parse_point(items, variables)
    wrt = wrt if wrt is not None else variables[0]
    if wrt not in variables:
        raise UsageError(f"--wrt {wrt!r} is not a variable of the expression; choose one of: {', '.join(variables)}")
    dec = _Decomposer()
    dec.walk(expr.tree)
    t = Trace(expr, point, typed, wrt, reverse, dec.steps)
    _evaluate(t)
    return t


def _evaluate(t: Trace):
    vals, dots = {}, {}
    for s in t.steps:
        where = f"v{s.index} = {s.definition_text} at {t._at_text()}"
        if s.op == "input":
            s.value = t.at[s.variable]
            s.tangent = sp.Integer(1 if s.variable == t.wrt else 0)
        else:
            d = s.definition
            # the operation applied to the operands' values: the definition SymPy built may have
            # simplified it already (v1/v1 → 1), which would hide a 0/0 at this point
            try:
                s.value = _exact(to_sympy(_tree_of(s.op, tuple(vals.get(a, a) for a in s.operands)), {}))
            except (ValueError, OverflowError, RecursionError, MemoryError):
                raise UsageError(f"{where} is too large to evaluate exactly") from None
            _real(s.value, where)
            s.partials = tuple((v, sp.diff(d, v)) for v in dict.fromkeys(a for a in s.operands if not _constant(a)))
            parts = []
            for v, p in s.partials:
                pv = p.xreplace(vals)
                _real(pv, f"∂v{s.index}/∂{v} = {_unicode(p)} at {t._at_text()} (the derivative)")
                parts.append(pv * dots[v])
            s.tangent = _exact(sp.Add(*parts))
        vals[s.symbol], dots[s.symbol] = s.value, s.tangent
    if t.reverse:
        bars = {s.symbol: sp.Integer(0) for s in t.steps}
        bars[t.f.symbol] = sp.Integer(1)
        for s in reversed(t.steps):
            s.adjoint = _exact(bars[s.symbol])
            for v, p in s.partials:
                bars[v] = bars[v] + s.adjoint * p.xreplace(vals)
