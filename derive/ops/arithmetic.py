"""``+ - *`` ``/`` ``**`` and unary minus, with NumPy broadcasting.

Rules (Ḡ is the adjoint of the result; a broadcast operand's adjoint is summed
over the broadcast axis):

* ``A + B``   Ā = Ḡ,  B̄ = Ḡ            ``A − B``   Ā = Ḡ,  B̄ = −Ḡ
* ``A * B``   Ā = Ḡ ⊙ B,  B̄ = Ḡ ⊙ A   (a scalar factor c: c̄ = sum(Ḡ ⊙ B))
* ``A / B``   Ā = Ḡ ⊘ B,  B̄ = −Ḡ ⊙ A ⊘ B²
* ``A ** c``  Ā = c A^(c−1) ⊙ Ḡ   (c a constant)
"""
from __future__ import annotations

import sympy as sp
from sympy import Identity, MatAdd, OneMatrix

from ..matexpr import Pointwise
from .base import (Diag, Operator, ShapeError, broadcast, expand_to, hadamard, is_scalar, reduce_to, total,
                   transpose)

__all__ = ["Add", "Sub", "Neg", "Mul", "Div", "Pow", "ADD", "SUB", "NEG", "MUL", "DIV"]

_r, _s, _t = sp.symbols("r s t")


def _explicit_broadcast(value, shape_from, shape_to):
    """An explicit value broadcast to ``shape_to`` (vectors are columns)."""
    if tuple(shape_from) == tuple(shape_to):
        return value
    if not shape_from:
        rows, cols = (shape_to[0], 1) if len(shape_to) == 1 else shape_to
        return sp.ImmutableMatrix(int(rows), int(cols), [value] * (int(rows) * int(cols)))
    rows = int(shape_to[0])
    return sp.ImmutableMatrix.vstack(*[value.T] * rows)


def _vector_rule(op, position, shapes):
    """The result's and the operand's shapes when a local Jacobian matrix exists (a scalar or
    vector result, a scalar or vector operand); else the operator's MissingRule."""
    full, mine = op.shape(shapes), shapes[position]
    if len(full) > 1 or len(mine) > 1:
        Operator.jacobian_T(op, position, None, None, shapes)
    return full, mine


def _broadcast_T(full, mine, scale=1):
    """(∂out/∂operand)ᵀ of an operand added into the result: I, or a row of ones for a broadcast scalar."""
    if is_scalar(full):
        return sp.Integer(scale)
    return scale * (Identity(full[0]) if not is_scalar(mine) else OneMatrix(1, full[0]))


class _Binary(Operator):
    arity = (2, 2)
    symbol = "?"

    def shape(self, shapes):
        return broadcast(self.symbol, *shapes)

    def _explicit_pair(self, args, shapes):
        full = self.shape(shapes)
        return [_explicit_broadcast(a, s, full) for a, s in zip(args, shapes, strict=True)], full


class Add(_Binary):
    name, symbol = "add", "+"
    words = "sum: each operand's adjoint is the result's (summed over broadcast axes)"

    def symbolic(self, args, shapes):
        full = self.shape(shapes)
        if is_scalar(full):
            return args[0] + args[1]
        return MatAdd(*[expand_to(a, s, full) for a, s in zip(args, shapes, strict=True)])

    def explicit(self, args, shapes):
        (a, b), full = self._explicit_pair(args, shapes)
        return a + b

    def numpy(self, xp, args):
        return args[0] + args[1]

    def vjp(self, adjoint, out, args, shapes):
        full = self.shape(shapes)
        return [reduce_to(adjoint, s, full) for s in shapes]

    def jvp(self, tangents, out, args, shapes):
        return self.symbolic(tangents, shapes)  # linear: the same operation on the tangents

    def jacobian_T(self, position, out, args, shapes, through_output=False):
        """I (or a row of ones for a broadcast scalar); minus that for a difference's second operand."""
        full, mine = _vector_rule(self, position, shapes)
        return _broadcast_T(full, mine, -1 if self.name == "sub" and position == 1 else 1)


class Sub(Add):
    name, symbol = "sub", "-"
    words = "difference: Ā = Ḡ, B̄ = −Ḡ (summed over broadcast axes)"

    def symbolic(self, args, shapes):
        full = self.shape(shapes)
        if is_scalar(full):
            return args[0] - args[1]
        a, b = (expand_to(x, s, full) for x, s in zip(args, shapes, strict=True))
        return MatAdd(a, -b)

    def explicit(self, args, shapes):
        (a, b), full = self._explicit_pair(args, shapes)
        return a - b

    def numpy(self, xp, args):
        return args[0] - args[1]

    def vjp(self, adjoint, out, args, shapes):
        full = self.shape(shapes)
        return [reduce_to(adjoint, shapes[0], full), reduce_to(-adjoint, shapes[1], full)]


class Neg(Operator):
    name = "neg"
    words = "negation: Ā = −Ḡ"

    def shape(self, shapes):
        return shapes[0]

    def symbolic(self, args, shapes):
        return -args[0]

    def explicit(self, args, shapes):
        return -args[0]

    def numpy(self, xp, args):
        return -args[0]

    def vjp(self, adjoint, out, args, shapes):
        return [-adjoint]

    def jvp(self, tangents, out, args, shapes):
        return -tangents[0]

    def jacobian_T(self, position, out, args, shapes, through_output=False):
        full, mine = _vector_rule(self, position, shapes)
        return _broadcast_T(full, mine, -1)


def _scaled(c, m):
    """c · M for a scalar c and a matrix expression M (a scalar times a scalar is plain)."""
    return c * m


class Mul(_Binary):
    name, symbol = "mul", "*"
    words = "elementwise product: Ā = Ḡ ⊙ B, B̄ = Ḡ ⊙ A (a scalar factor gets sum(Ḡ ⊙ other))"

    def symbolic(self, args, shapes):
        (a, b), (sa, sb) = args, shapes
        full = self.shape(shapes)
        if is_scalar(sa) or is_scalar(sb):
            return a * b
        return hadamard(expand_to(a, sa, full), expand_to(b, sb, full))

    def explicit(self, args, shapes):
        (a, b), (sa, sb) = args, shapes
        if is_scalar(sa) or is_scalar(sb):
            return a * b
        (a, b), _ = self._explicit_pair(args, shapes)
        return a.multiply_elementwise(b)

    def numpy(self, xp, args):
        return args[0] * args[1]

    def vjp(self, adjoint, out, args, shapes):
        full = self.shape(shapes)
        out_ = []
        for i in (0, 1):
            other, so, si = args[1 - i], shapes[1 - i], shapes[i]
            if is_scalar(full):
                out_.append(adjoint * other)
            elif is_scalar(si):  # c * M: c̄ = sum(Ḡ ⊙ M)
                out_.append(total(hadamard(adjoint, expand_to(other, so, full))))
            elif is_scalar(so):  # M * c: M̄ = c Ḡ
                out_.append(_scaled(other, adjoint))
            else:
                out_.append(reduce_to(hadamard(adjoint, expand_to(other, so, full)), si, full))
        return out_

    def jacobian_T(self, position, out, args, shapes, through_output=False):
        """diag(other), c I for a scalar factor c; a scalar operand's is the other's row otherᵀ."""
        full, mine = _vector_rule(self, position, shapes)
        other, so = args[1 - position], shapes[1 - position]
        if is_scalar(full):
            return other
        if is_scalar(mine):
            return transpose(other)
        return other * Identity(full[0]) if is_scalar(so) else Diag(other)

    def jvp(self, tangents, out, args, shapes):
        """Ȧ ⊙ B + A ⊙ Ḃ (product rule)."""
        (a, b), (da, db) = args, tangents
        return ADD.symbolic([self.symbolic([da, b], shapes), self.symbolic([a, db], shapes)],
                            [self.shape(shapes)] * 2)


class Div(_Binary):
    name, symbol = "div", "/"
    words = "elementwise quotient: Ā = Ḡ ⊘ B, B̄ = −Ḡ ⊙ A ⊘ B²"

    def symbolic(self, args, shapes):
        (a, b), (sa, sb) = args, shapes
        full = self.shape(shapes)
        if is_scalar(sb):
            return a / b if is_scalar(sa) else (1 / b) * a
        return Pointwise(sp.Lambda((_s, _t), _s / _t), expand_to(a, sa, full), expand_to(b, sb, full))

    def explicit(self, args, shapes):
        if is_scalar(shapes[1]):
            return args[0] / args[1]
        (a, b), _ = self._explicit_pair(args, shapes)
        return a.multiply_elementwise(b.applyfunc(lambda v: 1 / v))

    def numpy(self, xp, args):
        return args[0] / args[1]

    def vjp(self, adjoint, out, args, shapes):
        (a, b), (sa, sb) = args, shapes
        full = self.shape(shapes)
        if is_scalar(full):
            return [adjoint / b, -adjoint * a / b ** 2]
        if is_scalar(sb):  # M / c
            return [(1 / b) * adjoint, -total(hadamard(adjoint, a)) / b ** 2]
        B = expand_to(b, sb, full)
        A = expand_to(a, sa, full)
        da = Pointwise(sp.Lambda((_s, _t), _s / _t), adjoint, B)
        db = Pointwise(sp.Lambda((_r, _s, _t), -_r * _s / _t ** 2), adjoint, A, B)
        return [reduce_to(da, sa, full), reduce_to(db, sb, full)]

    def jacobian_T(self, position, out, args, shapes, through_output=False):
        """diag(1 ⊘ B) for A, diag(−A ⊘ B²) for B (a scalar: 1/b I, −a/b²; a scalar operand: a row)."""
        full, mine = _vector_rule(self, position, shapes)
        (a, b), (sa, sb) = args, shapes
        if is_scalar(full):
            return 1 / b if position == 0 else -a / b ** 2
        if position == 0:
            if is_scalar(sb):
                return (1 / b) * (Identity(full[0]) if not is_scalar(sa) else OneMatrix(1, full[0]))
            d = Pointwise(sp.Lambda(_t, 1 / _t), b)
            return transpose(d) if is_scalar(sa) else Diag(d)
        if is_scalar(sb):
            return transpose((-1 / b ** 2) * a)
        d = Pointwise(sp.Lambda((_s, _t), -_s / _t ** 2), expand_to(a, sa, full), b)
        return Diag(d)

    def jvp(self, tangents, out, args, shapes):
        """Ȧ ⊘ B − (A ⊘ B) ⊙ Ḃ ⊘ B: (Ȧ − out ⊙ Ḃ) ⊘ B, with broadcasting."""
        (da, db), b, sb = tangents, args[1], shapes[1]
        full = self.shape(shapes)
        first = self.symbolic([da, b], shapes)
        second = self.symbolic([MUL.symbolic([out, db], [full, sb]), b], [full, sb])
        return SUB.symbolic([first, second], [full, full])


class Pow(Operator):
    """``A ** c`` for a constant c (``static['exponent']``, a SymPy number)."""

    name = "pow"
    words = "power: Ā = c A^(c−1) ⊙ Ḡ"
    arity = (1, 1)

    def key(self):
        return f"pow[{self.static['exponent']}]"

    def shape(self, shapes):
        return shapes[0]

    @property
    def c(self):
        return sp.sympify(self.static["exponent"])

    def symbolic(self, args, shapes):
        if is_scalar(shapes[0]):
            return args[0] ** self.c
        return Pointwise(sp.Lambda(_t, _t ** self.c), args[0])

    def explicit(self, args, shapes):
        if is_scalar(shapes[0]):
            return args[0] ** self.c
        return args[0].applyfunc(lambda v: v ** self.c)

    def numpy(self, xp, args):
        c = self.c
        return args[0] ** (int(c) if c.is_Integer else float(c))

    def vjp(self, adjoint, out, args, shapes):
        c = self.c
        if is_scalar(shapes[0]):
            return [c * args[0] ** (c - 1) * adjoint]
        factor = args[0] if c == 2 else Pointwise(sp.Lambda(_t, _t ** (c - 1)), args[0])
        return [c * hadamard(factor, adjoint)]

    def jacobian_T(self, position, out, args, shapes, through_output=False):
        """diag(c A^(c−1))."""
        full, _ = _vector_rule(self, position, shapes)
        c = self.c
        if is_scalar(full):
            return c * args[0] ** (c - 1)
        return Diag(Pointwise(sp.Lambda(_t, c * _t ** (c - 1)), args[0]))

    def jvp(self, tangents, out, args, shapes):
        return self.vjp(tangents[0], out, args, shapes)[0]  # elementwise: the same rule forwards


def check_exponent(value) -> None:
    if value is None:
        raise ShapeError("'**' needs a constant exponent (a number, e.g. x ** 2)")
    if abs(value) > 64:
        raise ShapeError(f"'**' exponent {value} is out of range (|c| ≤ 64)")


ADD, SUB, NEG, MUL, DIV = Add(), Sub(), Neg(), Mul(), Div()
