"""Model files: a network written as its forward equations.

::

    # softmax regression with weight decay
    input x[d]
    target y[k]
    param W[k, d]
    param b[k]
    const lam                 # a scalar from --params; never differentiated
    yhat = softmax(W @ x + b)
    L = ce(yhat, y) + lam / 2 * sum(W * W)
    wrt W, b

Declarations: ``input``, ``target``, ``param``, ``const`` (a name, then dims in
brackets: none is a scalar, one a column vector, two a matrix; dims are names
or integers), ``function g`` (a generic elementwise function) and ``loss l``
(a generic loss ℓ(ŷ, y)). Then one assignment per line; the last one is the
loss and must be a scalar. ``wrt`` is optional (default: every param).

Each line is parsed with :func:`ast.parse` and walked against a whitelist;
nothing is evaluated. Every error is one line ``FILE:LINE:COL: what was
wrong, what was found, what would work``.

>>> m = parse_model("input x[n]\\nparam w[n]\\nL = sum(w * x) ** 2", "demo.gp")
>>> [e.name for e in m.equations], m.wrt, m.leaves["w"].shape
(['L'], ['w'], (n,))
"""
from __future__ import annotations

import ast
import io
import keyword
import math
import re
import tokenize
from dataclasses import dataclass, field
from typing import NamedTuple

import sympy as sp

from .errors import UsageError
from .numerals import literal as literal_value
from .ops import FUNCTIONS, INFIX, MissingRule, ShapeError, shape_text
from .ops import losses as _losses
from .ops.losses import LossOp
from .ops.elementwise import generic as _generic_function

__all__ = ["ModelSpec", "Leaf", "Equation", "Tree", "ModelError", "parse_model", "read_model",
           "MAX_FILE", "MAX_LINES"]

MAX_FILE = 64_000  # characters
MAX_LINES = 400
MAX_LINE = 500
MAX_STATEMENTS = 120
MAX_NODES = 400  # per line
MAX_DEPTH = 32
MAX_DIM = 10_000  # an integer dimension
MAX_CONSTANT = 1e300  # any constant subexpression
KINDS = ("input", "target", "param", "const")
RESERVED = {*KINDS, "function", "loss", "wrt", "pi", "E", "T"}
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,23}\Z")
_DECL = re.compile(r"\s*(input|target|param|const|function|loss|wrt)\b(.*)\Z")
# typographic operators pasted from notes, one character each so that columns stay right
_TYPOGRAPHIC = str.maketrans({"−": "-", "×": "*", "·": "*", "⋅": "*"})
_INFIX = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.MatMult: "@", ast.Pow: "**"}
_REFUSED = {
    ast.Subscript: "subscripts ('[ ]')", ast.Lambda: "lambda", ast.Compare: "comparisons",
    ast.BoolOp: "'and'/'or'", ast.IfExp: "'if'/'else'", ast.Tuple: "tuples", ast.List: "lists",
    ast.Dict: "dicts", ast.Set: "sets", ast.ListComp: "comprehensions", ast.GeneratorExp: "comprehensions",
    ast.JoinedStr: "strings", ast.Starred: "'*' unpacking", ast.NamedExpr: "':='", ast.Await: "'await'",
}


class ModelError(UsageError):
    """A model file was refused: ``FILE:LINE:COL: message``."""


class Tree(NamedTuple):
    """One node of a parsed right-hand side. ``kind``: var, num, const, neg, T,
    infix (value: + - * / @), pow (value: the exponent), call (value: the
    function's name; ``axis`` for sum/mean)."""

    kind: str
    value: object
    children: tuple
    line: int
    col: int
    axis: int | None = None


@dataclass(frozen=True)
class Leaf:
    name: str
    kind: str  # input | target | param | const
    shape: tuple  # SymPy sizes
    dims: tuple  # as written: names or ints
    line: int


@dataclass(frozen=True)
class Equation:
    name: str
    tree: Tree
    text: str  # the right-hand side as typed
    line: int
    col: int  # of the right-hand side


@dataclass
class ModelSpec:
    """A parsed, shape-checked model."""

    path: str
    text: str
    title: str
    leaves: dict
    equations: list
    wrt: list
    functions: dict = field(default_factory=dict)  # generic elementwise functions declared
    losses: dict = field(default_factory=dict)  # generic losses declared
    shapes: dict = field(default_factory=dict)  # every name -> shape
    dims: list = field(default_factory=list)  # the named dimensions, in order of appearance

    @property
    def loss(self) -> str:
        return self.equations[-1].name

    def dim_symbol(self, name):
        return _dim(name)


def _dim(d):
    return sp.Integer(d) if isinstance(d, int) else sp.Symbol(d, integer=True, positive=True)


class _Fail:
    """Raises the one-line error for a position in the file."""

    def __init__(self, path):
        self.path = path

    def __call__(self, line, col, message):
        raise ModelError(f"{self.path}:{line}:{col}: {message}")


def read_model(path: str) -> ModelSpec:
    """Read and parse the model file at ``path`` (size-limited, one clear line on any error)."""
    import os
    import stat

    try:
        info = os.stat(path)
    except OSError as e:
        raise UsageError(f"cannot read model file {path!r}: {e.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise UsageError(f"model file {path!r} is not a regular file")
    if info.st_size > MAX_FILE * 4:
        raise UsageError(f"model file {path!r} is {info.st_size} bytes; at most {MAX_FILE} characters")
    try:
        with open(path, encoding="utf-8", newline="") as f:  # keep a lone \r: it is not a line break
            text = f.read(MAX_FILE * 4 + 1)
    except UnicodeDecodeError as e:
        raise UsageError(f"model file {path!r} is not UTF-8 text (byte {e.start})") from None
    except OSError as e:
        raise UsageError(f"cannot read model file {path!r}: {e.strerror}") from None
    return parse_model(text, path)


def parse_model(text: str, path: str = "<model>") -> ModelSpec:
    """Parse the text of a model file (see the module docstring)."""
    fail = _Fail(path)
    if len(text) > MAX_FILE:
        fail(1, 1, f"the file has {len(text)} characters; at most {MAX_FILE}")
    # lines end at \n (or \r\n) only: str.splitlines also breaks at form feeds, \x1c-\x1e, \x85 and
    # U+2028, which would shift every later line number; left in a line, they are control characters
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) > MAX_LINES:
        fail(MAX_LINES + 1, 1, f"the file has {len(lines)} lines; at most {MAX_LINES}")
    state = _State(fail, path, text)
    for number, raw in enumerate(lines, 1):
        state.line(number, raw)
    return state.finish()


def _strip_comment(raw: str) -> str:
    cut = raw.find("#")
    return raw if cut < 0 else raw[:cut]


class _State:
    def __init__(self, fail, path, text):
        self.fail, self.path, self.text = fail, path, text
        self.leaves: dict = {}
        self.functions: dict = {}
        self.losses: dict = {}
        self.equations: list = []
        self.shapes: dict = {}
        self.where: dict = {}  # name -> line of its declaration or assignment
        self.wrt: list | None = None
        self.wrt_line = 0
        self.dims: list = []
        self.title = ""

    # -- one line ----------------------------------------------------------------
    def line(self, number, raw):
        if len(raw) > MAX_LINE:
            self.fail(number, MAX_LINE + 1, f"the line is longer than {MAX_LINE} characters")
        bad = next((i for i, ch in enumerate(raw) if not (ch.isprintable() or ch == "\t")), None)
        if bad is not None:
            self.fail(number, bad + 1, f"control character {raw[bad]!r} in the line")
        if not self.title and not self.equations and not self.leaves and raw.lstrip().startswith("#"):
            self.title = raw.lstrip()[1:].strip()
        body = _strip_comment(raw).translate(_TYPOGRAPHIC)
        if not body.strip():
            return
        wide = next((i for i, ch in enumerate(body) if not ch.isascii()), None)
        if wide is not None:  # Python would read ｘ as x (NFKC): refuse rather than guess
            self.fail(number, wide + 1, f"character {body[wide]!r} is not allowed outside a comment; names, "
                                        "numbers and operators are ASCII (+ - * / ** @)")
        if self.wrt is not None and not _DECL.match(body):
            self.fail(number, 1, "nothing may follow the 'wrt' line; put it last")
        m = _DECL.match(body)
        if m and not body[m.end(1):].lstrip().startswith("="):
            self.declaration(number, m.group(1), m.group(2), m.start(2))
        else:
            self.assignment(number, body)

    def _name(self, number, col, name, what):
        if not _NAME.match(name) or keyword.iskeyword(name):
            self.fail(number, col, f"{what} {name!r} is not a valid name (a letter, then letters, digits "
                                   "or '_', at most 24 characters)")
        if name in RESERVED or name in FUNCTIONS:
            self.fail(number, col, f"{what} {name!r} is a reserved word or a built-in function; choose "
                                   "another name")
        if name in self.where:
            self.fail(number, col, f"name {name!r} is already defined on line {self.where[name]}; each "
                                   "name is declared or assigned once")

    def declaration(self, number, kind, rest, start):
        if kind == "wrt":
            return self.wrt_line_(number, rest, start)
        items = _split_items(rest)
        if not items:
            self.fail(number, start + 1, f"'{kind}' needs a name, e.g. '{_EXAMPLE[kind]}'")
        for col, item in items:
            self.declare_one(number, kind, item, start + col + 1)

    def declare_one(self, number, kind, item, col):
        m = re.fullmatch(r"([^\[\]\s]+)\s*(?:\[(.*)\])?\s*", item.strip())
        if not m:
            self.fail(number, col, f"cannot read declaration {item.strip()!r}; write e.g. '{_EXAMPLE[kind]}'")
        name, dims_text = m.group(1), m.group(2)
        self._name(number, col, name, kind)
        if kind in ("function", "loss"):
            if dims_text is not None:
                self.fail(number, col, f"'{kind} {name}' takes no dimensions")
            table = self.functions if kind == "function" else self.losses
            table[name] = _generic_function(name) if kind == "function" else _losses.generic(name)
            self.where[name] = number
            return
        dims = self.parse_dims(number, col, name, dims_text)
        if kind == "const" and dims:
            self.fail(number, col, f"const {name!r} is a scalar; write 'const {name}' (or declare an input "
                                   f"to have a tensor that is not differentiated)")
        shape = tuple(_dim(d) for d in dims)
        self.leaves[name] = Leaf(name, kind, shape, dims, number)
        self.shapes[name] = shape
        self.where[name] = number

    def parse_dims(self, number, col, name, dims_text):
        if dims_text is None:
            return ()
        parts = [p.strip() for p in dims_text.split(",")]
        if len(parts) > 2 or not all(parts):
            self.fail(number, col, f"{name}[{dims_text}]: give one dim (a vector) or two (a matrix), "
                                   "e.g. W[m, d]")
        dims = []
        for p in parts:
            if p.isdigit():
                if not 1 <= int(p) <= MAX_DIM:
                    self.fail(number, col, f"dimension {p} of {name!r} is out of range (1 to {MAX_DIM})")
                dims.append(int(p))
            elif _NAME.match(p) and not keyword.iskeyword(p):
                dims.append(p)
                if p not in self.dims:
                    self.dims.append(p)
            else:
                self.fail(number, col, f"dimension {p!r} of {name!r} is not a name or a positive integer")
        return tuple(dims)

    def wrt_line_(self, number, rest, start):
        if self.wrt is not None:
            self.fail(number, 1, f"'wrt' is given twice (first on line {self.wrt_line})")
        items = _split_items(rest)
        if not items:
            self.fail(number, start + 1, "'wrt' needs names, e.g. 'wrt W, b'")
        self.wrt, self.wrt_line = [], number
        for col, item in items:
            name = item.strip()
            where = start + col + 1
            if name not in self.leaves:
                known = sorted(n for n, lf in self.leaves.items() if lf.kind in ("param", "input"))
                what = ("an assigned quantity, not a leaf" if name in self.shapes else "not declared")
                self.fail(number, where, f"wrt {name!r}: {what}; differentiate with respect to params or "
                                         f"inputs: {', '.join(known) or '(none declared)'}")
            kind = self.leaves[name].kind
            if kind in ("target", "const"):
                self.fail(number, where, f"wrt {name!r}: a {kind} is data and is never differentiated; "
                                         "declare it as a param or input to differentiate it")
            if name in self.wrt:
                self.fail(number, where, f"wrt {name!r} is listed twice")
            self.wrt.append(name)

    # -- assignments ---------------------------------------------------------------
    def assignment(self, number, body):
        if len(self.equations) >= MAX_STATEMENTS:
            self.fail(number, 1, f"more than {MAX_STATEMENTS} assignments")
        lead = len(body) - len(body.lstrip())
        source, added = _caret_to_power(body.strip(), lambda msg, c: self.fail(number, lead + c, msg))
        try:
            mod = ast.parse(source, mode="exec")
        except SyntaxError as e:
            col = lead + _original_col(e.offset or 1, added)
            self.fail(number, col, f"not a valid line ({e.msg}); write 'name = expression' or a declaration "
                                   "(input, target, param, const, function, loss, wrt)")
        except (ValueError, RecursionError, MemoryError):
            self.fail(number, lead + 1, "the line cannot be parsed (nested too deeply?)")
        stmt = mod.body[0] if len(mod.body) == 1 else None
        if not isinstance(stmt, ast.Assign) or len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Name):
            self.fail(number, lead + 1, "expected one assignment 'name = expression' (or a declaration: input, "
                                        "target, param, const, function, loss, wrt)")
        target = stmt.targets[0].id
        self._name(number, lead + 1, target, "assigned name")
        walker = _Walker(self, number, lead, source, added)
        tree = walker.walk(stmt.value, 0)
        shape = walker.shape(tree)
        rhs_col = walker.col(stmt.value)
        text = ast.get_source_segment(source, stmt.value) or ""
        self.equations.append(Equation(target, tree, text, number, rhs_col))
        self.shapes[target] = shape
        self.where[target] = number

    # -- the whole file ------------------------------------------------------------
    def finish(self) -> ModelSpec:
        last = self.text.count("\n") + 1
        if not self.equations:
            self.fail(last, 1, "no assignments; a model needs at least one, the last being the scalar loss, "
                               "e.g. 'L = mse(yhat, y)'")
        loss = self.equations[-1]
        if self.shapes[loss.name]:
            self.fail(loss.line, loss.col, f"the last assignment is the loss and must be a scalar; "
                                           f"{loss.name!r} is a {shape_text(self.shapes[loss.name])} "
                                           f"(reduce it, e.g. sum(...) or mse(yhat, y))")
        used = _reaches(self.equations, loss.name)
        for e in self.equations[:-1]:
            if e.name not in used:
                self.fail(e.line, 1, f"{e.name!r} is assigned but never reaches the loss {loss.name!r}; use "
                                     "it or remove the line")
        wrt = self.wrt if self.wrt is not None else [n for n, lf in self.leaves.items() if lf.kind == "param"]
        for name in wrt:
            if name not in used:
                line = self.wrt_line if self.wrt is not None else self.leaves[name].line
                self.fail(line, 1, f"{name!r} does not reach the loss {loss.name!r}, so ∂{loss.name}/∂{name} "
                                   "is 0; remove it from wrt (or use it)")
        if not wrt:
            self.fail(self.wrt_line or last, 1, "nothing to differentiate: declare a param or give 'wrt NAME'")
        return ModelSpec(self.path, self.text, self.title, dict(self.leaves), list(self.equations), list(wrt),
                         dict(self.functions), dict(self.losses), dict(self.shapes), list(self.dims))


_EXAMPLE = {"input": "input x[d]", "target": "target y[k]", "param": "param W[m, d]", "const": "const lam",
            "function": "function g", "loss": "loss l", "wrt": "wrt W, b"}


def _split_items(rest: str) -> list:
    """Comma-separated items outside brackets, with their columns in ``rest``."""
    items, depth, start = [], 0, 0
    for i, ch in enumerate(rest + ","):
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == "," and depth == 0:
            piece = rest[start:i]
            if piece.strip():
                items.append((start + len(piece) - len(piece.lstrip()), piece))
            start = i + 1
    return items


def _reaches(equations, loss) -> set:
    """Every name the loss depends on (leaves and assignments)."""
    deps = {e.name: _names(e.tree) for e in equations}
    seen, todo = set(), [loss]
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        seen.add(n)
        todo.extend(deps.get(n, ()))
    return seen


def _names(t: Tree) -> set:
    if t.kind == "var":
        return {t.value}
    out = set()
    for c in t.children:
        out |= _names(c)
    return out


def _caret_to_power(source: str, fail) -> tuple[str, list]:
    """``^`` means a power, with the power's precedence (see :mod:`derive.expr`); also returns
    where the rewrite added characters, so that columns can be reported as written."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return source
    cols = [tok.start[1] for tok in tokens if tok.type == tokenize.OP and tok.string == "^"]
    for shift, col in enumerate(cols):
        at = col + shift
        source = source[:at] + "**" + source[at + 1:]
    return source, [col + shift + 1 for shift, col in enumerate(cols)]  # where each added * sits


def _original_col(col: int, added: list) -> int:
    """A column of the rewritten line (``^`` → ``**``) as a column of the line as written."""
    return col - sum(1 for a in added if a < col)


class _Walker:
    """Walks one right-hand side against the whitelist, building a :class:`Tree`."""

    def __init__(self, state: _State, line: int, lead: int, source: str, added: list = ()):
        self.state, self.line, self.lead, self.source = state, line, lead, source
        self.added = list(added)  # columns of the rewritten source where ^ → ** added a character
        self.count = 0

    def fail(self, node, message):
        self.state.fail(self.line, self.col(node), message)

    def col(self, node):
        return self.lead + _original_col(getattr(node, "col_offset", 0), self.added) + 1

    def tree(self, node, kind, value, children=(), axis=None):
        return Tree(kind, value, tuple(children), self.line, self.col(node), axis)

    def walk(self, node, depth):
        self.count += 1
        if depth > MAX_DEPTH:
            self.fail(node, f"the expression is nested more than {MAX_DEPTH} levels deep")
        if self.count > MAX_NODES:
            self.fail(node, f"the expression has more than {MAX_NODES} parts; split it over several lines")
        handler = _HANDLERS.get(type(node))
        if handler is None:
            what = _REFUSED.get(type(node), f"{type(node).__name__} syntax")
            self.fail(node, f"{what} not allowed in a model; use + - * / ** @, .T, numbers, declared names "
                            "and the functions " + ", ".join(sorted(FUNCTIONS)))
        return handler(self, node, depth)

    def binop(self, node, depth):
        op = _INFIX.get(type(node.op))
        if op is None:
            text = self.source[node.left.end_col_offset:node.right.col_offset].strip() or type(node.op).__name__
            self.fail(node, f"operator {text!r} is not allowed (use + - * / ** @)")
        left = self.walk(node.left, depth + 1)
        if op == "**":
            out = self.tree(node, "pow", self.exponent(node.right), (left,))
            value = _constant(out)
            if value is not None and (isinstance(value, complex) or not abs(value) <= MAX_CONSTANT):
                self.fail(node, "this constant power is undefined, not real, or too large")
            return out
        right = self.walk(node.right, depth + 1)
        if op == "/" and (_constant(right) == 0 or _exact_zero(right)):
            self.fail(node.right, "division by zero (the divisor is a constant 0)")
        # point at the operator itself, so a shape error names the right column
        at = self.source.find(op, node.left.end_col_offset, node.right.col_offset)
        out = self.tree(node, "infix", op, (left, right))
        value = _constant(out)
        if value is not None and not abs(value) <= MAX_CONSTANT:
            self.fail(node, f"the constant part is too large (at most {MAX_CONSTANT:g} in size) or undefined")
        return out._replace(col=self.lead + _original_col(at, self.added) + 1) if at >= 0 else out

    def exponent(self, node):
        value = self.constant(node)
        if value is None:
            self.fail(node, "'**' needs a constant exponent (a number, e.g. x ** 2)")
        if abs(value) > 64:
            self.fail(node, f"exponent {float(value):g} is out of range (|c| ≤ 64)")
        return value

    def constant(self, node):
        """The value of a literal number (or its negation), else None."""
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            v = self.constant(node.operand)
            return None if v is None else (-v if isinstance(node.op, ast.USub) else v)
        if isinstance(node, ast.Constant):
            return self.number(node).value
        return None

    def unary(self, node, depth):
        if isinstance(node.op, ast.UAdd):
            return self.walk(node.operand, depth + 1)
        if isinstance(node.op, ast.USub):
            inner = self.walk(node.operand, depth + 1)
            if inner.kind == "num":
                return inner._replace(value=-inner.value, col=self.col(node))
            return self.tree(node, "neg", None, (inner,))
        self.fail(node, "operators 'not' and '~' are not allowed")

    def number(self, node, depth=0):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            kind = "strings" if isinstance(value, (str, bytes)) else repr(value)
            self.fail(node, f"{kind} are not allowed, only real numbers")
        literal = ast.get_source_segment(self.source, node) or repr(value)
        number, why = literal_value(literal, value)
        if number is None:
            self.fail(node, why)
        return self.tree(node, "num", number)

    def name(self, node, depth):
        n = node.id
        if n in ("pi", "E"):
            return self.tree(node, "const", n)
        if n in FUNCTIONS or n in self.state.functions or n in self.state.losses:
            self.fail(node, f"{n!r} is a function; call it, e.g. {n}(…)")
        if n not in self.state.shapes:
            known = sorted(self.state.shapes)
            self.fail(node, f"unknown name {n!r}; declare it (input, target, param, const) or assign it on an "
                            f"earlier line; known: {', '.join(known) or '(none yet)'}")
        return self.tree(node, "var", n)

    def attribute(self, node, depth):
        if node.attr != "T":
            self.fail(node, f"attribute '.{node.attr}' is not allowed; '.T' (transpose) is the only one")
        return self.tree(node, "T", None, (self.walk(node.value, depth + 1),))

    def checked_call(self, node, depth):
        t = self.call(node, depth)
        if t.children and all(_constant(c) is not None for c in t.children):
            try:
                _call_value(t)
            except (ValueError, OverflowError, ZeroDivisionError):
                self.fail(node, f"{t.value}() of a constant is undefined or too large here")
        return t

    def call(self, node, depth):
        f = node.func
        if not isinstance(f, ast.Name):
            self.fail(node, "only functions can be called: " + ", ".join(sorted(FUNCTIONS)))
        name = f.id
        known = name in FUNCTIONS or name in self.state.functions or name in self.state.losses
        if not known:
            self.fail(node, f"unknown function {name!r}; use one of {', '.join(sorted(FUNCTIONS))}, or declare "
                            f"'function {name}' (generic elementwise) or 'loss {name}' (generic loss)")
        if any(isinstance(a, ast.Starred) for a in node.args):
            self.fail(node, f"{name}() takes plain arguments")
        axis = self.axis_of(node, name)
        args = node.args[:1] if name in ("sum", "mean") else node.args
        lo, hi = _arity(self.state, name)
        if not lo <= len(args) <= (hi if hi is not None else len(args)):
            want = f"{lo}" if lo == hi else f"at least {lo}"
            self.fail(node, f"{name}() takes {want} argument{'s' if lo != 1 else ''}, got {len(args)}")
        children = [self.walk(a, depth + 1) for a in args]
        return self.tree(node, "call", name, children, axis)

    def axis_of(self, node, name):
        extra = node.args[1:] if name in ("sum", "mean") else []
        kws = node.keywords
        if kws and (name not in ("sum", "mean") or len(kws) > 1 or kws[0].arg != "axis"):
            self.fail(node, f"{name}() takes no keyword arguments" + (
                " except axis=" if name in ("sum", "mean") else ""))
        given = extra + [k.value for k in kws]
        if len(given) > 1:
            self.fail(node, f"{name}() takes one array and at most one axis")
        if not given:
            return None
        value = self.constant(given[0])
        if value is None or value.denominator != 1:
            self.fail(given[0], f"the axis of {name}() must be an integer (0, 1 or -1)")
        return int(value)

    # -- shapes --------------------------------------------------------------------
    def shape(self, t: Tree):
        """The shape of ``t``; a mismatch fails at the operator's column."""
        try:
            return _shape(self.state, t, self.shape)
        except (ShapeError, MissingRule) as e:
            self.state.fail(t.line, t.col, str(e))


def _constant(t: Tree):
    """The value of a subtree without names (exact where it is rational), or None if it has a name in it."""
    try:
        if t.kind == "num":
            return t.value
        if t.kind == "const":
            return math.pi if t.value == "pi" else math.e
        if t.kind == "neg":
            v = _constant(t.children[0])
            return None if v is None else -v
        if t.kind == "infix" and t.value in "+-*/":
            a, b = (_constant(c) for c in t.children)
            if a is None or b is None:
                return None
            if t.value == "/":
                return a / b if b != 0 else math.inf
            return {"+": a + b, "-": a - b, "*": a * b}[t.value]
        if t.kind == "pow":
            v = _constant(t.children[0])
            return None if v is None else complex(float(v) ** float(t.value)) if float(v) < 0 and \
                t.value.denominator != 1 else float(v) ** float(t.value)
        if t.kind == "call" and t.value in _MATH:
            return _call_value(t)
    except (ValueError, OverflowError, ZeroDivisionError, TypeError):
        return math.nan
    return None


def _exact(t: Tree):
    """The exact SymPy value of a constant subtree (cos(pi/2) is 0 here, 6e-17 in floats), or None."""
    if t.kind == "num":
        return sp.Rational(t.value.numerator, t.value.denominator)
    if t.kind == "const":
        return sp.pi if t.value == "pi" else sp.E
    kids = [_exact(c) for c in t.children]
    if any(k is None for k in kids):
        return None
    if t.kind == "neg":
        return -kids[0]
    if t.kind == "infix" and t.value in "+-*/":
        a, b = kids
        return {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b != 0 else sp.zoo}[t.value]
    if t.kind == "pow":
        return kids[0] ** sp.Rational(t.value.numerator, t.value.denominator)
    if t.kind == "call" and t.value in _EXACT:
        return _EXACT[t.value](kids[0])
    return None


def _exact_zero(t: Tree) -> bool:
    if _constant(t) is None or abs(_constant(t)) > 1e-6:  # names in it, or plainly nonzero: no SymPy needed
        return False
    return _exact(t) == 0


_EXACT = {"exp": sp.exp, "log": sp.log, "sqrt": sp.sqrt, "sin": sp.sin, "cos": sp.cos, "abs": sp.Abs,
          "tanh": sp.tanh}

_MATH = {"exp": math.exp, "log": math.log, "sqrt": math.sqrt, "sin": math.sin, "cos": math.cos, "abs": abs,
         "tanh": math.tanh}


def _call_value(t: Tree):
    if t.value not in _MATH:
        return None
    v = _constant(t.children[0])
    return None if v is None else _MATH[t.value](float(v))


def _arity(state, name):
    if name in state.functions:
        return (1, 1)
    if name in state.losses:
        return (2, 2)
    if name in ("sum", "mean"):
        return (1, 1)
    return FUNCTIONS[name].arity


def _shape(state, t: Tree, recurse):
    """One node's shape from its children's (``recurse`` gives theirs, with positions)."""
    from .ops import function_operator

    if t.kind == "var":
        return state.shapes[t.value]
    if t.kind in ("num", "const"):
        return ()
    shapes = [recurse(c) for c in t.children]
    if t.kind == "neg":
        return shapes[0]
    if t.kind == "T":
        from .ops import TRANSPOSE

        return TRANSPOSE.shape(shapes)
    if t.kind == "pow":
        return shapes[0]
    if t.kind == "infix":
        return INFIX[t.value].shape(shapes)
    op = state.functions.get(t.value) or state.losses.get(t.value) or function_operator(t.value, t.axis)
    if isinstance(op, LossOp):
        _prediction_first(state, t)
    return op.shape(shapes)


def _prediction_first(state, t: Tree):
    """A loss takes (prediction, target): a declared target written first is a swap."""
    kinds = [state.leaves[c.value].kind if c.kind == "var" and c.value in state.leaves else None
             for c in t.children]
    if kinds[0] == "target" and kinds[1] != "target":
        first, second = (c.value if c.kind == "var" else "…" for c in t.children)
        raise ShapeError(f"{t.value}(prediction, target) takes the prediction first, and {first} is declared a "
                         f"target; write {t.value}({second}, {first})")


_HANDLERS = {ast.BinOp: _Walker.binop, ast.UnaryOp: _Walker.unary, ast.Constant: _Walker.number,
             ast.Name: _Walker.name, ast.Attribute: _Walker.attribute, ast.Call: _Walker.checked_call}
