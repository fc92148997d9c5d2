"""Reductions and vector functions: ``sum``, ``mean`` (all entries or one axis),
``softmax`` and ``log_softmax`` (of a vector, or of each row of a matrix),
``concat`` (stacking vectors).

Rules (1 is a vector or matrix of ones; Ḡ the adjoint of the result):

* ``s = sum(A)``        Ā = s̄ 1;    ``mean``: Ā = s̄ 1 / (number of entries)
* ``v = sum(A, 0)``     Ā = 1 v̄ᵀ  (A = m × n, v = Aᵀ1);  ``sum(A, 1)``: Ā = v̄ 1ᵀ  (v = A 1)
* ``s = softmax(z)``    z̄ = (diag(s) − s sᵀ) s̄;   rows of a matrix: Z̄ = S ⊙ (S̄ − (S ⊙ S̄) 1 1ᵀ)
* ``o = log_softmax(z)`` z̄ = ō − softmax(z) sum(ō); rows: Z̄ = Ō − softmax(Z) ⊙ (Ō 1 1ᵀ)
* ``c = concat(u, v)``  ū = c̄[1:n_u], v̄ = c̄[n_u + 1 : n_u + n_v]
"""
from __future__ import annotations

import sympy as sp
from sympy import HadamardProduct, Identity, MatAdd, OneMatrix

from .base import Apply, Block, Diag, Operator, ScalarApply, ShapeError, is_scalar, shape_text, transpose

__all__ = ["Sum", "Mean", "Softmax", "LogSoftmax", "Concat", "SUM", "MEAN", "SOFTMAX", "LOG_SOFTMAX", "CONCAT"]


def _axis(shape, axis):
    """The axis as 0 or 1 (NumPy's −1 is the last), checked against the shape."""
    if axis is None:
        return None
    n = len(shape)
    if n == 0 or axis not in range(-n, n):
        raise ShapeError(f"axis {axis} does not exist for a {shape_text(shape)} (axes 0…{n - 1} or -1)")
    return axis % n


class Sum(Operator):
    """``sum(A)`` or ``sum(A, axis)`` (``static['axis']``)."""

    name = "sum"
    words = "sum: Ā = s̄ 1 (over an axis: the adjoint is repeated along it)"
    arity = (1, 1)

    def __init__(self, axis=None):
        super().__init__(axis=axis)

    @property
    def axis(self):
        return self.static["axis"]

    def count(self, shape, axis):
        return sp.Integer(1) if is_scalar(shape) else (sp.Mul(*shape) if axis is None else shape[axis])

    def shape(self, shapes):
        (a,) = shapes
        axis = _axis(a, self.axis) if self.axis is not None else None
        if axis is None or len(a) == 1:
            return ()
        return (a[1],) if axis == 0 else (a[0],)

    def _scale(self, shape):
        return sp.Integer(1)

    def symbolic(self, args, shapes):
        (a,), (sa,) = args, shapes
        axis = _axis(sa, self.axis)
        k = self._scale(sa)
        if axis is None or len(sa) == 1:
            return a if is_scalar(sa) else ScalarApply.of(self.whole(), a)
        return k * (transpose(a) * OneMatrix(sa[0], 1) if axis == 0 else a * OneMatrix(sa[1], 1))

    def whole(self):
        return self if self.axis is None else type(self)()

    def explicit(self, args, shapes):
        (a,), (sa,) = args, shapes
        axis = _axis(sa, self.axis)
        k = self._scale(sa)
        if is_scalar(sa):
            return a
        if axis is None or len(sa) == 1:
            return k * sum(a)
        if axis == 0:
            return sp.ImmutableMatrix([k * sum(a[:, j]) for j in range(a.shape[1])])
        return sp.ImmutableMatrix([k * sum(a[i, :]) for i in range(a.shape[0])])

    def numpy(self, xp, args):
        return xp.sum(args[0]) if self.axis is None else xp.sum(args[0], axis=self.axis)

    def vjp(self, adjoint, out, args, shapes):
        (sa,) = shapes
        axis = _axis(sa, self.axis)
        k = self._scale(sa)
        if is_scalar(sa):
            return [adjoint]
        if axis is None or len(sa) == 1:
            rows, cols = (sa[0], 1) if len(sa) == 1 else sa
            return [(k * adjoint) * OneMatrix(rows, cols)]
        if axis == 0:
            return [k * (OneMatrix(sa[0], 1) * transpose(adjoint))]
        return [k * (adjoint * OneMatrix(1, sa[1]))]

    def jvp(self, tangents, out, args, shapes):
        return self.symbolic(tangents, shapes)  # linear

    def jacobian_T(self, position, out, args, shapes, through_output=False):
        """The sum of a vector: a column of ones (the mean's: 1/n)."""
        (sa,) = shapes
        if len(sa) != 1:
            return super().jacobian_T(position, out, args, shapes)
        return self._scale(sa) * OneMatrix(sa[0], 1)

    def unicode(self, printed):
        return f"{self.name}({printed[0]})"

    def latex(self, printed):
        return rf"\operatorname{{{self.name}}}\left({printed[0]}\right)"


class Mean(Sum):
    name = "mean"
    words = "mean: Ā = s̄ 1 / (number of entries averaged)"

    def _scale(self, shape):
        axis = _axis(shape, self.axis)
        return 1 / self.count(shape, axis)

    def explicit(self, args, shapes):
        return super().explicit(args, shapes)

    def symbolic(self, args, shapes):
        (sa,) = shapes
        axis = _axis(sa, self.axis)
        if axis is None or len(sa) == 1:
            return args[0] if is_scalar(sa) else ScalarApply.of(self.whole(), args[0])
        return super().symbolic(args, shapes)

    def numpy(self, xp, args):
        return xp.mean(args[0]) if self.axis is None else xp.mean(args[0], axis=self.axis)


def _explicit_softmax(v):
    e = [sp.exp(a) for a in v]
    s = sum(e)
    return [a / s for a in e]


def _rows(a, f, shape):
    if len(shape) == 1:
        return sp.ImmutableMatrix(f(list(a)))
    return sp.ImmutableMatrix([f(list(a[i, :])) for i in range(a.shape[0])])


class Softmax(Operator):
    name = "softmax"
    words = "softmax: z̄ = (diag(s) − s sᵀ) s̄ (each row of a matrix on its own)"

    def shape(self, shapes):
        if is_scalar(shapes[0]):
            raise ShapeError("softmax needs a vector or a matrix (row by row); got a scalar")
        return shapes[0]

    def symbolic(self, args, shapes):
        return Apply.of(self, shapes[0], args[0])

    def explicit(self, args, shapes):
        return _rows(args[0], _explicit_softmax, shapes[0])

    def numpy(self, xp, args):
        z = args[0]
        e = xp.exp(z - xp.max(z, axis=-1, keepdims=True))
        return e / xp.sum(e, axis=-1, keepdims=True)

    def vjp(self, adjoint, out, args, shapes):
        (sa,) = shapes
        s, g = out, adjoint
        if len(sa) == 1:
            return [MatAdd(Diag(s), -(s * transpose(s))) * g]
        sg = HadamardProduct(s, g)
        return [HadamardProduct(s, MatAdd(g, -(sg * OneMatrix(sa[1], sa[1]))))]

    def jvp(self, tangents, out, args, shapes):
        return self.vjp(tangents[0], out, args, shapes)[0]  # the Jacobian is symmetric: J ż = Jᵀ ż

    def jacobian_T(self, position, out, args, shapes, through_output=False):
        """diag(s) − s sᵀ (of a vector): symmetric, so it is also the Jacobian."""
        if len(shapes[0]) != 1:
            return super().jacobian_T(position, out, args, shapes)
        return MatAdd(Diag(out), -(out * transpose(out)))

    jacobian = jacobian_T


class LogSoftmax(Softmax):
    name = "log_softmax"
    words = "log-softmax: z̄ = ō − softmax(z) sum(ō) (each row of a matrix on its own)"

    def explicit(self, args, shapes):
        def f(v):
            lse = sp.log(sum(sp.exp(a) for a in v))
            return [a - lse for a in v]

        return _rows(args[0], f, shapes[0])

    def numpy(self, xp, args):
        z = args[0]
        m = xp.max(z, axis=-1, keepdims=True)
        return z - m - xp.log(xp.sum(xp.exp(z - m), axis=-1, keepdims=True))

    def vjp(self, adjoint, out, args, shapes):
        (sa,) = shapes
        s = Apply.of(SOFTMAX, sa, args[0])  # softmax(z) = exp(log_softmax(z))
        if len(sa) == 1:
            return [MatAdd(adjoint, -(s * ScalarApply.of(SUM, adjoint)))]
        return [MatAdd(adjoint, -HadamardProduct(s, adjoint * OneMatrix(sa[1], sa[1])))]

    def jacobian_T(self, position, out, args, shapes, through_output=False):
        """(I − 1 sᵀ)ᵀ = I − s 1ᵀ, s = softmax(z) (of a vector)."""
        (sa,) = shapes
        if len(sa) != 1:
            return Operator.jacobian_T(self, position, out, args, shapes)
        return Identity(sa[0]) - Apply.of(SOFTMAX, sa, args[0]) * OneMatrix(1, sa[0])

    def jacobian(self, position, out, args, shapes, through_output=False):
        return transpose(self.jacobian_T(position, out, args, shapes))

    def jvp(self, tangents, out, args, shapes):
        """ż − 1 sum(softmax(z) ⊙ ż) (each row of a matrix on its own)."""
        (sa,), dz = shapes, tangents[0]
        s = Apply.of(SOFTMAX, sa, args[0])
        if len(sa) == 1:
            return MatAdd(dz, -(OneMatrix(sa[0], 1) * ScalarApply.of(SUM, HadamardProduct(s, dz))))
        return MatAdd(dz, -(HadamardProduct(s, dz) * OneMatrix(sa[1], sa[1])))


class Concat(Operator):
    name = "concat"
    words = "concatenation: each part's adjoint is its block of the result's"
    arity = (2, None)

    def shape(self, shapes):
        for i, s in enumerate(shapes, 1):
            if len(s) != 1:
                raise ShapeError(f"concat stacks vectors; operand {i} is a {shape_text(s)}")
        return (sp.Add(*[s[0] for s in shapes]),)

    def symbolic(self, args, shapes):
        return Apply.of(self, self.shape(shapes), *args, ranks=[1] * len(args))

    def explicit(self, args, shapes):
        return sp.ImmutableMatrix.vstack(*args)

    def numpy(self, xp, args):
        return xp.concatenate(args)

    def vjp(self, adjoint, out, args, shapes):
        out_, start = [], sp.Integer(0)
        for s in shapes:
            out_.append(Block(adjoint, start, s[0]))
            start = start + s[0]
        return out_

    def jvp(self, tangents, out, args, shapes):
        return self.symbolic(tangents, shapes)  # linear

    def unicode(self, printed):
        return "[" + "; ".join(printed) + "]"

    def latex(self, printed):
        rows = r"\\ ".join(printed)
        return rf"\begin{{bmatrix}}{rows}\end{{bmatrix}}"


SUM, MEAN, SOFTMAX, LOG_SOFTMAX, CONCAT = Sum(), Mean(), Softmax(), LogSoftmax(), Concat()
