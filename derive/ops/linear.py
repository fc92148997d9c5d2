"""``A @ B`` and ``A.T``.

Rules (vectors are columns; Ḡ is the adjoint of the result):

* matrix · vector   ``z = A x``     Ā = ḡ xᵀ,  x̄ = Aᵀ ḡ
* matrix · matrix   ``Z = A B``     Ā = Ḡ Bᵀ,  B̄ = Aᵀ Ḡ
* vector · matrix   ``z = aᵀ B``    ā = B ḡ,   B̄ = a ḡᵀ
* vector · vector   ``s = aᵀ b``    ā = s̄ b,   b̄ = s̄ a
* transpose         ``Z = Aᵀ``      Ā = Ḡᵀ
"""
from __future__ import annotations

import sympy as sp
from sympy import MatAdd, MatMul as _Product, Transpose

from .base import Operator, ScalarApply, ShapeError, shape_text, transpose

__all__ = ["MatMul", "TransposeOp", "MATMUL", "TRANSPOSE"]


class MatMul(Operator):
    name = "matmul"
    words = "matrix product: Ā = Ḡ Bᵀ, B̄ = Aᵀ Ḡ"
    arity = (2, 2)

    def shape(self, shapes):
        a, b = shapes
        if not a or not b:
            raise ShapeError(f"'@' needs vectors or matrices, not scalars (use '*' to scale); "
                             f"got {shape_text(a)} @ {shape_text(b)}")
        if a[-1] != b[0]:
            raise ShapeError(f"'@' needs the inner sizes to agree; got {shape_text(a)} @ {shape_text(b)} "
                             f"({a[-1]} ≠ {b[0]})")
        return tuple(a[:-1]) + tuple(b[1:])

    def symbolic(self, args, shapes):
        (a, b), (sa, sb) = args, shapes
        if len(sa) == 1 and len(sb) == 1:
            return ScalarApply.of(self, a, b)
        if len(sa) == 1:
            return transpose(b) * a
        return a * b

    def explicit(self, args, shapes):
        (a, b), (sa, sb) = args, shapes
        if len(sa) == 1 and len(sb) == 1:
            return (a.T * b)[0, 0]
        if len(sa) == 1:
            return sp.ImmutableMatrix(b.T * a)
        return sp.ImmutableMatrix(a * b)

    def numpy(self, xp, args):
        return args[0] @ args[1]

    def vjp(self, adjoint, out, args, shapes):
        (a, b), (sa, sb) = args, shapes
        g = adjoint
        if len(sa) == 1 and len(sb) == 1:
            return [g * b, g * a]
        if len(sa) == 1:
            return [b * g, _Product(a, transpose(g))]
        return [_Product(g, transpose(b)), transpose(a) * g]

    def jvp(self, tangents, out, args, shapes):
        """Ȧ B + A Ḃ."""
        (a, b), (da, db) = args, tangents
        s = self.shape(shapes)
        first, second = self.symbolic([da, b], shapes), self.symbolic([a, db], shapes)
        return first + second if not s else MatAdd(first, second)

    def unicode(self, printed):  # the vector · vector form: aᵀ b
        return f"{printed[0]}ᵀ {printed[1]}"

    def latex(self, printed):
        return rf"{printed[0]}^{{\top}} {printed[1]}"


class TransposeOp(Operator):
    name = "transpose"
    words = "transpose: Ā = Ḡᵀ"

    def shape(self, shapes):
        (a,) = shapes
        if len(a) != 2:
            raise ShapeError(f"'.T' needs a matrix; got {shape_text(a)} (a vector is already a column: "
                             "write v @ A for vᵀA, or u @ v for uᵀv)")
        return (a[1], a[0])

    def symbolic(self, args, shapes):
        return Transpose(args[0])

    def explicit(self, args, shapes):
        return args[0].T

    def numpy(self, xp, args):
        return args[0].T

    def vjp(self, adjoint, out, args, shapes):
        return [transpose(adjoint)]

    def jvp(self, tangents, out, args, shapes):
        return transpose(tangents[0])


MATMUL, TRANSPOSE = MatMul(), TransposeOp()
