"""Expressions typed by users — losses, activations, trace functions — parsed safely.

The text is parsed with :func:`ast.parse` and the tree is walked against a
whitelist; nothing is ever passed to ``eval``, ``sympify`` or ``parse_expr``.
What is allowed: numbers, ``pi``, ``E``, the caller's variable names, the
operators ``+ - * / **`` (``^`` also means power, with its precedence), and the functions in
:data:`FUNCTIONS`. Length, depth, node count, literal size and constant
exponents are bounded, so no input can make SymPy work for long.

The result is an :class:`Expr` holding a plain tuple tree, which
:meth:`Expr.sympy` turns into SymPy and :mod:`numeric.expression` evaluates
with NumPy or JAX (an independent evaluator of the same tree).

>>> e = parse("(yhat_1 - 1/2)**2 - log(yhat_2)", variables=r"yhat_\\d+|y_\\d+", what="loss")
>>> e.variables
('yhat_1', 'yhat_2')
>>> import sympy as sp
>>> a, b = sp.symbols("a b")
>>> e.sympy({"yhat_1": a, "yhat_2": b})
(a - 1/2)**2 - log(b)
"""
from __future__ import annotations

import ast
import io
import math
import re
import tokenize
from dataclasses import dataclass

from .numerals import literal as literal_value

import sympy as sp

from .errors import UsageError

__all__ = ["Expr", "ExprError", "parse", "FUNCTIONS", "CONSTANTS", "MAX_LENGTH", "MAX_DEPTH"]

MAX_LENGTH = 500  # characters
MAX_DEPTH = 32  # nesting of operations
MAX_NODES = 400  # operations and leaves
MAX_EXPONENT = 64  # |n| in u**n when n is a constant and u is not
MAX_CONSTANT = 1e300  # magnitude of any constant subexpression

# name -> (min args, max args or None); ln is log, kept apart only to print as typed
FUNCTIONS = {"exp": (1, 1), "log": (1, 1), "ln": (1, 1), "sqrt": (1, 1), "sin": (1, 1), "cos": (1, 1),
             "tan": (1, 1), "tanh": (1, 1), "sigmoid": (1, 1), "softplus": (1, 1), "abs": (1, 1),
             "max": (2, None), "min": (2, None)}
CONSTANTS = ("pi", "E")

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,23}")
_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
# what each refused node kind is, in words
_REFUSED = {
    ast.Attribute: "attribute access ('.')", ast.Subscript: "subscripts ('[ ]'; write yhat_1, not yhat[1])",
    ast.Lambda: "lambda", ast.Compare: "comparisons", ast.BoolOp: "'and'/'or'", ast.IfExp: "'if'/'else'",
    ast.Tuple: "tuples (',')", ast.List: "lists", ast.Dict: "dicts", ast.Set: "sets",
    ast.ListComp: "comprehensions", ast.SetComp: "comprehensions", ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions", ast.JoinedStr: "strings", ast.Starred: "'*' unpacking",
    ast.NamedExpr: "':='", ast.Await: "'await'", ast.Yield: "'yield'", ast.YieldFrom: "'yield'",
    ast.Slice: "slices",
}
# typographic operators people paste from notes: one character each, so columns stay right
_TYPOGRAPHIC = str.maketrans({"−": "-", "×": "*", "·": "*", "⋅": "*"})


def _caret_to_power(source: str, fail) -> str:
    """``^`` as a power, with the power's precedence: the token is replaced by
    ``**`` before parsing (as Python's XOR it would bind looser than ``+``,
    so ``z^2 + 1`` would mean z^3). Comments are refused: they are not part of
    an expression, and ``ast`` would drop them silently."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return source  # ast.parse reports the syntax error with its column
    out, shift = [], 0
    for tok in tokens:
        if tok.type == tokenize.COMMENT:
            fail("comments ('#') are not allowed", tok.start[1] + 1)
        if tok.type == tokenize.OP and tok.string == "^":
            out.append((tok.start[1] + shift, 1))
            shift += 1
    for col, _ in out:
        source = source[:col] + "**" + source[col + 1:]
    return source


class ExprError(UsageError):
    """An expression was refused: says what, where (column) and what is allowed."""


@dataclass(frozen=True)
class Expr:
    """A parsed, checked expression: ``text`` as typed, ``tree`` as nested
    tuples, ``variables`` in order of first appearance (left to right)."""

    text: str
    tree: tuple
    variables: tuple

    def sympy(self, env: dict) -> sp.Expr:
        """The SymPy expression, with each variable name replaced by ``env[name]``."""
        return to_sympy(self.tree, env)


def parse(text, *, variables=None, what="expression", hint="") -> Expr:
    """Parse ``text`` into an :class:`Expr`, or raise :class:`ExprError`.

    ``variables`` is a regular expression the variable names must match in
    full (``None``: any plain name that is not a function or constant).
    ``what`` names the expression in messages (``"loss"``); ``hint`` says
    what would work.
    """
    def fail(problem, col=None):
        where = f" at column {col}" if col else ""
        shown = text if len(text) <= 60 else text[:57] + "..."
        raise ExprError(f"{what} {shown!r}: {problem}{where}" + (f"; {hint}" if hint else ""))

    if not isinstance(text, str):
        raise ExprError(f"{what}: expected text, got {type(text).__name__}")
    if not text.strip():
        fail("is empty")
    if len(text) > MAX_LENGTH:
        text = text[:60]
        fail(f"is longer than {MAX_LENGTH} characters")
    bad = next((i for i, ch in enumerate(text) if not ch.isprintable()), None)
    if bad is not None:
        fail(f"contains a control character {text[bad]!r}", bad + 1)
    source = _caret_to_power(text.translate(_TYPOGRAPHIC), fail)
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as e:
        fail(f"is not a valid expression ({e.msg})", e.offset)
    except (ValueError, RecursionError, MemoryError):
        fail("cannot be parsed (nested too deeply?)")
    offset = len(source) - len(source.lstrip())
    pattern = re.compile(variables) if isinstance(variables, str) else variables
    seen: dict = {}
    count = [0]

    def col(node):
        return getattr(node, "col_offset", 0) + 1 + offset

    def walk(node, depth):
        count[0] += 1
        if depth > MAX_DEPTH:
            fail(f"is nested more than {MAX_DEPTH} levels deep", col(node))
        if count[0] > MAX_NODES:
            fail(f"has more than {MAX_NODES} parts")
        if isinstance(node, ast.BinOp):
            op = _BINARY.get(type(node.op))
            if op is None:
                sym = source[node.left.end_col_offset:node.right.col_offset].strip() or type(node.op).__name__
                fail(f"operator {sym!r} is not allowed (use + - * / **)", col(node))
            return (op, walk(node.left, depth + 1), walk(node.right, depth + 1))
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return ("neg", walk(node.operand, depth + 1))
            if isinstance(node.op, ast.UAdd):
                return walk(node.operand, depth + 1)
            fail(f"operator {'not' if isinstance(node.op, ast.Not) else '~'!r} is not allowed", col(node))
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                kind = "strings" if isinstance(value, (str, bytes)) else repr(value)
                fail(f"{kind} are not allowed, only real numbers" if kind == "strings"
                     else f"{kind} is not allowed, only real numbers", col(node))
            text = ast.get_source_segment(source.strip(), node) or repr(value)
            number, why = literal_value(text, value)  # exact: 0.1 is 1/10, not the nearest double
            if number is None:
                fail(why, col(node))
            return ("num", number)
        if isinstance(node, ast.Name):
            name = node.id
            if name in CONSTANTS or name == "π":
                return ("const", "pi" if name == "π" else name)
            if name in FUNCTIONS:
                fail(f"function {name!r} needs an argument, e.g. {name}(…)", col(node))
            if name.startswith("_") or not name.isascii() or not _NAME.fullmatch(name):
                fail(f"name {name!r} is not allowed", col(node))
            if pattern is not None and not pattern.fullmatch(name):
                fail(f"unknown name {name!r}", col(node))
            seen.setdefault(name, None)
            return ("var", name)
        if isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Attribute):
                fail("attribute access ('.') not allowed", col(f))
            if not isinstance(f, ast.Name):
                fail(f"only the allowed functions can be called ({', '.join(FUNCTIONS)})", col(node))
            if f.id not in FUNCTIONS:
                fail(f"{f.id!r} is not an allowed function", col(node))
            if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
                fail(f"{f.id}() takes plain arguments only", col(node))
            lo, hi = FUNCTIONS[f.id]
            n = len(node.args)
            if n < lo or (hi is not None and n > hi):
                want = f"{lo}" if lo == hi else f"at least {lo}"
                fail(f"{f.id}() takes {want} argument{'s' if lo != 1 else ''}, got {n}", col(node))
            return ("call", f.id, tuple(walk(a, depth + 1) for a in node.args))
        kind = _REFUSED.get(type(node), f"{type(node).__name__} syntax")
        fail(f"{kind} not allowed", col(node))

    out = walk(tree.body, 0)
    _check_constants(out, fail)
    return Expr(text, out, tuple(seen))


def _has_var(t) -> bool:
    if t[0] == "var":
        return True
    if t[0] == "call":
        return any(_has_var(a) for a in t[2])
    return any(isinstance(a, tuple) and _has_var(a) for a in t[1:])


def _const_value(t) -> float:
    """Float value of a variable-free subtree; raises ArithmeticError/ValueError when undefined."""
    kind = t[0]
    if kind == "num":
        return float(t[1])
    if kind == "const":
        return math.pi if t[1] == "pi" else math.e
    if kind == "neg":
        return -_const_value(t[1])
    if kind == "call":
        args = [_const_value(a) for a in t[2]]
        f = {"exp": math.exp, "log": math.log, "ln": math.log, "sqrt": math.sqrt, "sin": math.sin, "cos": math.cos,
             "tan": math.tan, "tanh": math.tanh, "abs": abs, "max": max, "min": min,
             "sigmoid": lambda v: 1 / (1 + math.exp(-v)) if v > -700 else 0.0,
             "softplus": lambda v: math.log1p(math.exp(v)) if v < 700 else v}[t[1]]
        return f(*args) if t[1] in ("max", "min") else f(args[0])
    a, b = _const_value(t[1]), _const_value(t[2])
    if kind == "**":
        out = a ** b
        if isinstance(out, complex):
            raise ValueError("complex")
        return out
    return {"+": a + b, "-": a - b, "*": a * b}[kind] if kind != "/" else a / b


def _check_constants(t, fail):
    """Refuse constants that overflow or are undefined, and huge constant exponents."""
    if t[0] in ("num", "const", "var"):
        return
    if not _has_var(t):
        try:
            v = _const_value(t)
        except ZeroDivisionError:
            fail("divides by zero")
        except OverflowError:
            fail("has a constant part that is too large")
        except ValueError:
            fail("has a constant part that is undefined (e.g. log or sqrt of a negative number)")
        if not math.isfinite(v) or abs(v) > MAX_CONSTANT:
            fail("has a constant part that is too large")
        return
    for a in (t[2] if t[0] == "call" else t[1:]):
        if isinstance(a, tuple):
            _check_constants(a, fail)
    if t[0] == "/" and not _has_var(t[2]) and _const_value(t[2]) == 0:
        fail("divides by zero")
    if t[0] == "**" and not _has_var(t[2]):
        e = _const_value(t[2])
        if abs(e) > MAX_EXPONENT:
            fail(f"exponent {e:g} is too large (at most {MAX_EXPONENT} in size)")


def _sigmoid(u):
    return 1 / (1 + sp.exp(-u))


def _softplus(u):
    return sp.log(1 + sp.exp(u))


class RealAbs(sp.Function):
    """|u| for a real argument: d|u|/du = sign(u). (SymPy's Abs assumes a
    complex argument and differentiates through re and im.)"""

    nargs = 1

    @classmethod
    def eval(cls, arg):
        if arg.is_number:
            return sp.Abs(arg)

    def fdiff(self, argindex=1):
        return sp.sign(self.args[0])

    def _sympystr(self, printer):
        return f"abs({printer._print(self.args[0])})"

    def _latex(self, printer, exp=None):
        out = r"\left|" + printer._print(self.args[0]) + r"\right|"
        return out if exp is None else out + "^{" + str(exp) + "}"

    def _numpycode(self, printer):
        return f"numpy.abs({printer._print(self.args[0])})"

    def _eval_evalf(self, prec):
        return sp.Abs(self.args[0])._eval_evalf(prec)


_SYMPY = {"exp": sp.exp, "log": sp.log, "ln": sp.log, "sqrt": sp.sqrt, "sin": sp.sin, "cos": sp.cos, "tan": sp.tan,
          "tanh": sp.tanh, "sigmoid": _sigmoid, "softplus": _softplus, "abs": RealAbs,
          "max": sp.Max, "min": sp.Min}


def to_sympy(t, env: dict):
    """SymPy form of a tree; ``env`` maps variable names to SymPy expressions."""
    kind = t[0]
    if kind == "num":
        return sp.Rational(t[1].numerator, t[1].denominator)
    if kind == "const":
        return sp.pi if t[1] == "pi" else sp.E
    if kind == "var":
        return env[t[1]]
    if kind == "sym":  # a SymPy object placed in a tree by a caller (the trace's steps)
        return t[1]
    if kind == "neg":
        return -to_sympy(t[1], env)
    if kind == "call":
        return _SYMPY[t[1]](*[to_sympy(a, env) for a in t[2]])
    a, b = to_sympy(t[1], env), to_sympy(t[2], env)
    return {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "/": lambda: a / b,
            "**": lambda: a ** b}[kind]()
