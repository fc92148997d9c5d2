"""``A @ B`` and ``A.T``.

Rules (vectors are columns; Ḡ is the adjoint of the result):

* matrix · vector   ``z = A x``     Ā = ḡ xᵀ,  x̄ = Aᵀ ḡ
* matrix · matrix   ``Z = A B``     Ā = Ḡ Bᵀ,  B̄ = Aᵀ Ḡ
* vector · matrix   ``z = aᵀ B``    ā = B ḡ,   B̄ = a ḡᵀ
* vector · vector   ``s = aᵀ b``    ā = s̄ b,   b̄ = s̄ a
* transpose         ``Z = Aᵀ``      Ā = Ḡᵀ
* affine map        ``z = Σₖ Aₖ vₖ + c``   each (Aₖ, vₖ) as matrix · vector,  c̄ = ḡ

The affine map is how the built-in derivations declare a layer (``W x + b``,
``W h + U x + b``): its rules are the matrix product's and the sum's.
"""
from __future__ import annotations

import sympy as sp
from sympy import Identity, MatAdd, MatMul as _Product, Transpose

from .base import MissingRule, Operator, ScalarApply, ShapeError, shape_text, transpose

__all__ = ["MatMul", "TransposeOp", "Affine", "MATMUL", "TRANSPOSE"]


def product(a, b) -> sp.ImmutableMatrix:
    """The explicit product a b, entry by entry as sums of products. SymPy's own matrix product
    first looks for a domain for the entries, which for the nested tanh of an unrolled RNN costs
    more than the product (T = 10: 45 s of a 96 s proof)."""
    if not (isinstance(a, sp.MatrixBase) and isinstance(b, sp.MatrixBase)):
        return a * b  # a scalar factor
    rows, inner, cols = a.rows, a.cols, b.cols
    # a zero factor (structurally 0) is skipped, not multiplied: SymPy's 0·e asks whether e is finite, which for
    # a tanh of nested tanh's walks the whole argument (a T = 10 RNN's path check: 68 s of 75 s)
    return sp.ImmutableMatrix(rows, cols, [sp.Add(*[a[i, k] * b[k, j] for k in range(inner)
                                                    if a[i, k] != 0 and b[k, j] != 0])
                                           for i in range(rows) for j in range(cols)])


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
            return product(a.T, b)[0, 0]
        if len(sa) == 1:
            return product(b.T, a)
        return product(a, b)

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

    def jacobian_T(self, position, out, args, shapes, through_output=False):
        """A x: (∂(A x)/∂x)ᵀ = Aᵀ;  aᵀ B: (∂(Bᵀa)/∂a)ᵀ = B;  aᵀ b: b for a, a for b."""
        (sa, sb), (a, b) = shapes, args
        if len(shapes[position]) != 1:
            return super().jacobian_T(position, out, args, shapes)
        if len(sa) == 1 and len(sb) == 1:
            return b if position == 0 else a
        return transpose(a) if position == 1 else b

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


class Affine(Operator):
    """``z = A₁ v₁ + … + Aₖ vₖ (+ c)``: operands ``[A₁, v₁, …, Aₖ, vₖ]`` and, with
    ``static['bias']``, ``c`` last; every ``vᵢ`` and ``c`` a vector."""

    name = "affine"
    words = "affine map: Āₖ = z̄ vₖᵀ, v̄ₖ = Aₖᵀ z̄, c̄ = z̄"
    arity = (2, None)

    def __init__(self, terms: int = 1, bias: bool = False):
        super().__init__(terms=terms, bias=bias)

    def _pairs(self, items):
        k = self.static["terms"]
        return [(items[2 * i], items[2 * i + 1]) for i in range(k)], (items[2 * k] if self.static["bias"] else None)

    def shape(self, shapes):
        pairs, bias = self._pairs(shapes)
        out = None
        for sa, sv in pairs:
            if len(sa) != 2 or len(sv) != 1:
                raise ShapeError(f"an affine map takes matrix @ vector terms; got {shape_text(sa)} @ {shape_text(sv)}")
            s = MATMUL.shape([sa, sv])
            if out is not None and s != out:
                raise ShapeError(f"the terms of an affine map differ in shape: {shape_text(out)} and {shape_text(s)}")
            out = s
        if bias is not None and bias != out:
            raise ShapeError(f"the bias of an affine map has shape {shape_text(bias)} but the map gives "
                             f"{shape_text(out)}")
        return out

    def _combine(self, args, shapes, form):
        (pairs, bias), (spairs, _) = self._pairs(args), self._pairs(shapes)
        parts = [form([a, v], list(s)) for (a, v), s in zip(pairs, spairs, strict=True)]
        return parts + ([bias] if bias is not None else [])

    def symbolic(self, args, shapes):
        parts = self._combine(args, shapes, MATMUL.symbolic)
        return parts[0] if len(parts) == 1 else MatAdd(*parts)

    def explicit(self, args, shapes):
        parts = self._combine(args, shapes, MATMUL.explicit)
        return sp.ImmutableMatrix(sum(parts[1:], parts[0]))

    def numpy(self, xp, args):
        pairs, bias = self._pairs(args)
        out = sum(a @ v for a, v in pairs)
        return out if bias is None else out + bias

    def vjp(self, adjoint, out, args, shapes):
        (pairs, bias), (spairs, _) = self._pairs(args), self._pairs(shapes)
        grads = []
        for (a, v), s in zip(pairs, spairs, strict=True):
            grads += MATMUL.vjp(adjoint, out, [a, v], list(s))
        return grads + ([adjoint] if bias is not None else [])

    def jvp(self, tangents, out, args, shapes):
        """Σ (Ȧₖ vₖ + Aₖ v̇ₖ) + ċ."""
        (pairs, bias), (dpairs, dbias), (spairs, _) = self._pairs(args), self._pairs(tangents), self._pairs(shapes)
        parts = [MATMUL.jvp([da, dv], out, [a, v], list(s))
                 for (a, v), (da, dv), s in zip(pairs, dpairs, spairs, strict=True)]
        parts += [dbias] if bias is not None else []
        return parts[0] if len(parts) == 1 else MatAdd(*parts)

    def jacobian_T(self, position, out, args, shapes, through_output=False):
        """Aₖᵀ for vₖ, the identity for the bias; a matrix operand has no Jacobian matrix."""
        if self.static["bias"] and position == 2 * self.static["terms"]:
            return Identity(shapes[position][0])
        if position % 2 == 0:
            raise MissingRule(f"operator 'affine' has no local Jacobian matrix for its matrix operand {position + 1}")
        return transpose(args[position - 1])

    def unicode(self, printed):
        pairs, bias = self._pairs(printed)
        return " + ".join([f"{a} {v}" for a, v in pairs] + ([bias] if bias is not None else []))

    def latex(self, printed):
        return self.unicode(printed)


MATMUL, TRANSPOSE = MatMul(), TransposeOp()
