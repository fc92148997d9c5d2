"""Losses ``ℓ(ŷ, y)`` → scalar: ``ce``, ``bce``, ``mse`` and a generic ℓ a model
declares (``loss l``). Each is the sum over entries of one function of (ŷᵢ, yᵢ),
so it applies to vectors and, entry by entry, to matrices (a batch).

Rule: ŷ̄ = L̄ ∇ŷℓ and ȳ = L̄ ∇yℓ, the gradients computed by SymPy from the loss's
definition (never typed in). The target of a generic ℓ has no rule (its ∇yℓ is not
a quantity the derivation names); a registered loss's target does (an autoencoder's
input is also its target).
"""
from __future__ import annotations

import sympy as sp

from ..cancel import loss_gradient
from ..functions import LOSSES, Loss, generic_loss
from ..matexpr import Pointwise

from .base import Apply, MissingRule, Operator, ScalarApply, ShapeError, hadamard, shape_text, total

__all__ = ["LossOp", "LOSS_OPS", "generic"]


def _numpy_losses():
    return {
        "ce": lambda xp, yh, y: -xp.sum(y * xp.log(yh)),
        "bce": lambda xp, yh, y: -xp.sum(y * xp.log(yh) + (1 - y) * xp.log(1 - yh)),
        "mse": lambda xp, yh, y: 0.5 * xp.sum((yh - y) ** 2),
    }


_NUMPY = _numpy_losses()


class LossOp(Operator):
    arity = (2, 2)

    def __init__(self, loss: Loss, name: str | None = None):
        super().__init__(function=loss)
        self.loss = loss
        self.name = name or loss.name
        self.words = f"loss gradient: ŷ̄ = L̄ ∇ŷ{loss.label}, ȳ = L̄ ∇y{loss.label}, computed by SymPy"

    @property
    def differentiable(self):
        """(0, 1) when SymPy finds ∇yℓ, else (0,); asked only when a rule is used, so that
        importing the registry differentiates no loss."""
        return (0, 1) if loss_gradient(self.loss, 1) is not None else (0,)

    def check_vjp(self, position: int, operand: str):
        if position:  # the prediction always has a rule: differentiate the loss for the target's only
            super().check_vjp(position, operand)

    def shape(self, shapes):
        a, b = shapes
        if a != b:
            raise ShapeError(f"{self.name}(prediction, target) needs equal shapes; got {shape_text(a)} and "
                             f"{shape_text(b)}")
        if not a:
            raise ShapeError(f"{self.name}(prediction, target) needs vectors or matrices; got scalars")
        return ()

    def symbolic(self, args, shapes):
        return ScalarApply.of(self, *args)

    def explicit(self, args, shapes):
        return self.loss.explicit(list(args[0]), list(args[1]))

    def numpy(self, xp, args):
        if self.loss.generic:
            raise MissingRule(f"loss {self.name!r} is generic (declared with 'loss'); it has no numbers — "
                              "use ce, bce or mse to --check")
        return _NUMPY[self.loss.name](xp, *args)

    def gradient(self, args, shape):
        """∇ŷℓ as a matrix expression: elementwise (registered losses, computed by
        SymPy), else ∇ŷℓ(ŷ, y) itself, which the proof expands by ``sympy.diff``."""
        lam = loss_gradient(self.loss)
        if lam is None:
            return Apply.of(LossGradient(self), shape, *args)
        return Pointwise(lam, args[0], args[1])

    def target_gradient(self, args):
        """∇yℓ, elementwise, computed by SymPy; None for a generic or non-separable loss."""
        lam = loss_gradient(self.loss, 1)
        return None if lam is None else Pointwise(lam, args[0], args[1])

    def vjp(self, adjoint, out, args, shapes):
        target = self.target_gradient(args)
        return [adjoint * self.gradient(args, shapes[0]), None if target is None else adjoint * target]

    def jacobian_T(self, position, out, args, shapes, through_output=False):
        """(∂ℓ/∂ŷ)ᵀ = ∇ŷℓ (or ∇yℓ for the target), a column like its operand."""
        self.check_vjp(position, "target")
        return self.gradient(args, shapes[0]) if position == 0 else self.target_gradient(args)

    def jvp(self, tangents, out, args, shapes):
        """sum(∇ŷℓ ⊙ ẏ̂) + sum(∇yℓ ⊙ ẏ) (a target without a rule is data: its tangent is not used)."""
        first = total(hadamard(self.gradient(args, shapes[0]), tangents[0]))
        target = self.target_gradient(args)
        return first if target is None else first + total(hadamard(target, tangents[1]))

    def unicode(self, printed):
        label = self.loss.label if self.loss.generic else self.name
        return f"{label}({', '.join(printed)})"

    def latex(self, printed):
        label = self.loss.latex if self.loss.generic else rf"\operatorname{{{self.name}}}"
        return rf"{label}\left({', '.join(printed)}\right)"


class LossGradient(Operator):
    """∇ŷℓ(ŷ, y) of a generic loss: an opaque vector whose entries are ∂ℓ/∂ŷᵢ."""

    name = "gradient"
    arity = (2, 2)
    differentiable = ()

    def __init__(self, loss_op: LossOp):
        super().__init__(function=loss_op.loss)
        self.loss_op = loss_op

    def shape(self, shapes):
        return shapes[0]

    def explicit(self, args, shapes):
        yhat, y = args
        k = len(yhat)
        at_s, at_t = sp.symbols(f"_yh0:{k}"), sp.symbols(f"_y0:{k}")  # differentiate at symbols, then substitute
        ell = self.loss_op.loss.explicit(at_s, at_t)
        point = dict(zip(at_s, yhat, strict=True)) | dict(zip(at_t, y, strict=True))
        return sp.ImmutableMatrix(yhat.shape[0], yhat.shape[1], [sp.diff(ell, v).xreplace(point) for v in at_s])

    def unicode(self, printed):
        return f"∇{printed[0]}{self.loss_op.loss.label}"

    def latex(self, printed):
        return rf"\nabla_{{{printed[0]}}} {self.loss_op.loss.latex}"


LOSS_OPS = {name: LossOp(loss) for name, loss in LOSSES.items()}


def generic(name: str) -> LossOp:
    """A generic differentiable loss ``name`` (prints as ℓ)."""
    return LossOp(generic_loss(), name=name)


