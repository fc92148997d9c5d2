"""What every operator is made of: shapes, broadcasting, and the symbolic nodes
that stand for an operator applied to operands.

Shapes are tuples of SymPy sizes: ``()`` a scalar, ``(n,)`` a vector (a column
n × 1 in matrix expressions), ``(m, n)`` a matrix. Three representations of a
value run through the package, and every operator knows all three:

* *symbolic*: a SymPy matrix expression (``MatrixSymbol``, ``MatMul``, …) or,
  for a scalar, a SymPy scalar expression — what derivations print;
* *explicit*: an ``ImmutableMatrix`` of scalar SymPy expressions (vectors as
  columns) — what the proof differentiates with ``sympy.diff``;
* *numeric*: a NumPy/JAX array with NumPy's shapes — the independent oracle.

Broadcasting follows NumPy: a scalar against anything, and a vector of size n
against a matrix whose last axis is n (added to every row). The adjoint of a
broadcast operand sums over the broadcast axis (:func:`reduce_to`).
"""
from __future__ import annotations

import sympy as sp
from sympy import Basic, DiagMatrix, HadamardProduct, Identity, MatMul, MatrixExpr, OneMatrix, Transpose

from ..errors import UsageError

__all__ = ["Diag", "Operator", "ShapeError", "MissingRule", "Apply", "ScalarApply", "Block", "broadcast",
           "expand_to", "reduce_to", "as_matrix_shape", "is_scalar", "shape_text", "total", "hadamard",
           "transpose"]


class Diag(DiagMatrix):
    """diag(v) without SymPy's assumptions query on the common case. ``DiagMatrix.doit``
    asks whether v is already diagonal; the first such query imports SymPy's SAT solver
    (~0.4 s of every command with a softmax, a ⊙ or an activation Jacobian). A rule's
    v is a column symbol or an elementwise expression, never diagonal unless it is 1×1;
    every other kind of v goes to SymPy's own ``doit``."""

    def doit(self, **hints):
        vector = self._vector
        if vector.shape == (1, 1):
            return vector
        sympys = (MatMul, Transpose, sp.MatrixBase, Identity, sp.ZeroMatrix)
        if isinstance(vector, sympys) or not isinstance(vector, MatrixExpr):
            return DiagMatrix(vector).doit(**hints)
        return self


class ShapeError(UsageError):
    """Operands whose shapes do not fit the operator (the message names both)."""


class MissingRule(UsageError):
    """An operator has no rule for what was asked of it (the message names it)."""


def is_scalar(shape) -> bool:
    return len(shape) == 0


def as_matrix_shape(shape) -> tuple:
    """(rows, cols) of the matrix expression that stands for a value of ``shape``."""
    if len(shape) == 0:
        return (sp.Integer(1), sp.Integer(1))
    if len(shape) == 1:
        return (shape[0], sp.Integer(1))
    return tuple(shape)


def shape_text(shape) -> str:
    """How a shape reads in messages: ``scalar``, ``vector[n]``, ``matrix[m, n]``."""
    if len(shape) == 0:
        return "scalar"
    kind = "vector" if len(shape) == 1 else "matrix"
    return f"{kind}[{', '.join(str(s) for s in shape)}]"


def broadcast(op: str, a, b) -> tuple:
    """The shape of ``a op b`` under NumPy broadcasting, or a :class:`ShapeError`."""
    if a == b or not b:
        return a
    if not a:
        return b
    if len(a) == 1 and len(b) == 2 and a[0] == b[1]:
        return b
    if len(a) == 2 and len(b) == 1 and b[0] == a[1]:
        return a
    raise ShapeError(f"'{op}' needs equal shapes, a scalar, or a vector matching a matrix's last axis; "
                     f"got {shape_text(a)} {op} {shape_text(b)}")


def expand_to(expr, shape_from, shape_to):
    """The symbolic value of ``expr`` broadcast from ``shape_from`` to ``shape_to``."""
    if tuple(shape_from) == tuple(shape_to):
        return expr
    if not shape_from:
        return expr * OneMatrix(*as_matrix_shape(shape_to))
    # a vector along the last axis of a matrix: every row is vᵀ
    return OneMatrix(shape_to[0], 1) * transpose(expr)


def reduce_to(adjoint, shape_to, shape_full):
    """The adjoint of a broadcast operand: ``adjoint`` (of ``shape_full``) summed
    over the axes broadcasting added."""
    if tuple(shape_to) == tuple(shape_full):
        return adjoint
    if not shape_to:
        return total(adjoint)
    return transpose(adjoint) * OneMatrix(shape_full[0], 1)


class Operator:
    """One operator: everything about it in one place.

    Subclasses set ``name`` (as written in model files), ``words`` (the VJP
    rule in words) and ``arity``, and implement :meth:`shape`, :meth:`symbolic`,
    :meth:`explicit`, :meth:`numpy` and :meth:`vjp`. ``static`` holds what a
    model fixes at parse time (an axis, an exponent, the function applied).
    """

    name = ""
    words = ""
    arity = (1, 1)
    differentiable = None  # None: every operand; else a tuple of operand positions that have a VJP

    def __init__(self, **static):
        self.static = static

    def key(self) -> str:
        """A name unique to this operator and its static arguments."""
        extra = ",".join(f"{k}={v}" for k, v in sorted(self.static.items()) if k != "function")
        return f"{self.name}[{extra}]" if extra else self.name

    def __repr__(self):
        return f"<operator {self.key()}>"

    # -- the rules -----------------------------------------------------------
    def shape(self, shapes):
        raise MissingRule(f"operator {self.name!r} has no shape rule")

    def symbolic(self, args, shapes):
        """The matrix expression (or scalar) of the result."""
        raise MissingRule(f"operator {self.name!r} has no symbolic form")

    def explicit(self, args, shapes):
        """The result on explicit SymPy matrices (vectors are n × 1 columns)."""
        raise MissingRule(f"operator {self.name!r} has no explicit SymPy form")

    def numpy(self, xp, args):
        """The result with NumPy or JAX (``xp``) on arrays with NumPy's shapes."""
        raise MissingRule(f"operator {self.name!r} has no NumPy/JAX form")

    def emit(self, printed: list, bind=None) -> str:
        """NumPy code for the result, given the operands' code: the NumPy form run on code
        (:mod:`derive.ops.emit`), so a generated line is exactly the operator's NumPy form;
        ``bind(code) -> name`` binds each array-module call to a variable once."""
        from .emit import emit

        return emit(self, printed, bind)

    def vjp(self, adjoint, out, args, shapes) -> list:
        """The adjoint sent to each operand, given the adjoint of the result;
        ``None`` where the operand has no rule (see :meth:`check_vjp`)."""
        raise MissingRule(f"operator {self.name!r} has no VJP rule")

    def jvp(self, tangents, out, args, shapes):
        """The tangent of the result, given a tangent for every operand (forward mode)."""
        raise MissingRule(f"operator {self.name!r} has no JVP rule")

    def jacobian_T(self, position, out, args, shapes, through_output=False):
        """(∂out/∂operand)ᵀ for a vector operand of a vector (or scalar) result, as a
        matrix expression: the factor a path listing multiplies by. With
        ``through_output``, f′ is written through the output where an identity is proved."""
        raise MissingRule(f"operator {self.name!r} has no local Jacobian for its operand {position + 1}")

    def jacobian(self, position, out, args, shapes, through_output=False):
        """∂out/∂operand: the factor forward sensitivities multiply by."""
        return transpose(self.jacobian_T(position, out, args, shapes, through_output))

    def identities(self, args, out, shapes) -> dict:
        """{form of a derivative: the same through the output}, for a derivation's second form."""
        return {}

    def check_vjp(self, position: int, operand: str):
        if self.differentiable is not None and position not in self.differentiable:
            raise MissingRule(f"operator {self.name!r} has no VJP rule for its operand {position + 1} "
                              f"({operand}); it cannot be differentiated through that operand")

    # -- printing (of the symbolic application node) ---------------------------
    def unicode(self, printed: list) -> str:
        return f"{self.name}({', '.join(printed)})"

    def latex(self, printed: list) -> str:
        name = self.name.replace("_", r"\_")
        return rf"\operatorname{{{name}}}\left({', '.join(printed)}\right)"


_APPLY: dict = {}


def _subclass(base, op: Operator):
    key = (base.__name__, op.key(), id(op) if op.static.get("function") is not None else 0)
    if key not in _APPLY:
        _APPLY[key] = type(f"{base.__name__}_{op.name}", (base,), {"op": op})
    return _APPLY[key]


class Apply(MatrixExpr):
    """A vector or matrix result of an operator with no SymPy matrix form of its
    own (softmax, log_softmax, concat). Prints through the operator; keeps its
    operands' ranks, since an n × 1 matrix and a vector look alike as matrices."""

    op: Operator = None

    @classmethod
    def of(cls, op: Operator, shape, *args, ranks=None):
        rows, cols = as_matrix_shape(shape)
        ranks = sp.Tuple(*[sp.Integer(r) for r in (ranks or [len(shape)] * len(args))])
        return _subclass(cls, op)(rows, cols, ranks, *args)

    def __new__(cls, rows, cols, ranks, *args):
        return Basic.__new__(cls, sp.sympify(rows), sp.sympify(cols), ranks, *args)

    @property
    def shape(self):
        return self.args[0], self.args[1]

    @property
    def ranks(self):
        return [int(r) for r in self.args[2]]

    @property
    def operands(self):
        return self.args[3:]

    def _sympystr(self, printer):
        return self.op.unicode([printer._print(a) for a in self.operands])

    def _latex(self, printer):
        return self.op.latex([printer._print(a) for a in self.operands])

    def _eval_transpose(self):
        return None

    def _entry(self, i, j, **kwargs):
        from sympy.matrices.expressions.matexpr import MatrixElement

        return MatrixElement(self, i, j)


class ScalarApply(sp.Expr):
    """A scalar result of an operator applied to vectors or matrices (sum, a loss)."""

    op: Operator = None
    is_commutative = True

    @classmethod
    def of(cls, op: Operator, *args):
        return _subclass(cls, op)(*args)

    def __new__(cls, *args):
        return Basic.__new__(cls, *args)

    @property
    def operands(self):
        return self.args

    def _sympystr(self, printer):
        return self.op.unicode([printer._print(a) for a in self.operands])

    def _latex(self, printer):
        return self.op.latex([printer._print(a) for a in self.operands])


class Block(MatrixExpr):
    """Rows ``start + 1 … start + size`` of a column vector (the adjoint of one
    part of a concatenation); prints 1-based, as in the math."""

    def __new__(cls, vector, start, size):
        return Basic.__new__(cls, vector, sp.sympify(start), sp.sympify(size))

    @property
    def shape(self):
        return self.args[2], sp.Integer(1)

    def _range(self, printer):
        v, start, size = self.args
        return printer._print(start + 1), printer._print(start + size)

    def _sympystr(self, printer):
        lo, hi = self._range(printer)
        return f"{printer._print(self.args[0])}[{lo}:{hi}]"

    def _entry(self, i, j, **kwargs):
        return self.args[0][self.args[1] + i, j]

    def _latex(self, printer):
        lo, hi = self._range(printer)
        return rf"{printer._print(self.args[0])}_{{[{lo}:{hi}]}}"


def total(expr):
    """Σ of the entries of a matrix expression, as a scalar."""
    from .reductions import SUM

    return ScalarApply.of(SUM, expr)


def _ones_scale(x):
    """c when ``x`` is c times a matrix of ones, else None."""
    if isinstance(x, OneMatrix):
        return sp.Integer(1)
    if isinstance(x, MatMul):
        mats = [f for f in x.args if isinstance(f, MatrixExpr)]
        if len(mats) == 1 and isinstance(mats[0], OneMatrix):
            return sp.Mul(*[f for f in x.args if not isinstance(f, MatrixExpr)])
    return None


def hadamard(a, b):
    """a ⊙ b, where a factor c·1 (a scalar times ones, as a sum's adjoint is) becomes the scalar c."""
    for x, y in ((a, b), (b, a)):
        c = _ones_scale(x)
        if c is not None and x.shape == y.shape:
            return y if c == 1 else c * y
    return HadamardProduct(a, b)


def transpose(e):
    """eᵀ as a reader would write it: (A B)ᵀ = Bᵀ Aᵀ and (Aᵀ)ᵀ = A are applied;
    anything else keeps its ᵀ outside (relu(W x + b)ᵀ, not relu(xᵀ Wᵀ + bᵀ))."""
    if isinstance(e, (MatMul, Transpose, OneMatrix, Identity)):
        return e.T
    return Transpose(e)
