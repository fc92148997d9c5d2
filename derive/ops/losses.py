"""Losses ``ℓ(ŷ, y)`` → scalar: ``ce``, ``bce``, ``mse`` and a generic ℓ a model
declares (``loss l``). Each is the sum over entries of one function of (ŷᵢ, yᵢ),
so it applies to vectors and, entry by entry, to matrices (a batch).

Rule: ŷ̄ = L̄ ∇ŷℓ, the gradient computed by SymPy from the loss's definition
(never typed in). The target is data: it has no VJP rule here.
"""
from __future__ import annotations


from ..engine import loss_gradient
from ..functions import LOSSES, Loss, generic_loss
from ..matexpr import Pointwise
from .base import MissingRule, Operator, ScalarApply, ShapeError, shape_text

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
    differentiable = (0,)

    def __init__(self, loss: Loss, name: str | None = None):
        super().__init__(function=loss)
        self.loss = loss
        self.name = name or loss.name
        self.words = f"loss gradient: ŷ̄ = L̄ ∇ŷ{loss.label}, computed by SymPy"

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

    def gradient(self, args):
        """∇ŷℓ as a matrix expression: elementwise (registered losses), else an
        opaque symbol the derivation names and the proof computes."""
        lam = loss_gradient(self.loss)
        if lam is None:
            return None
        return Pointwise(lam, args[0], args[1])

    def vjp(self, adjoint, out, args, shapes):
        grad = self.gradient(args)
        if grad is None:
            raise MissingRule(f"loss {self.name!r} has no elementwise gradient; the engine names it ∇ℓ")
        return [adjoint * grad, None]

    def unicode(self, printed):
        label = self.loss.label if self.loss.generic else self.name
        return f"{label}({', '.join(printed)})"

    def latex(self, printed):
        label = self.loss.latex if self.loss.generic else r"\operatorname{%s}" % self.name
        return r"%s\left(%s\right)" % (label, ", ".join(printed))


LOSS_OPS = {name: LossOp(loss) for name, loss in LOSSES.items()}


def generic(name: str) -> LossOp:
    """A generic differentiable loss ``name`` (prints as ℓ)."""
    return LossOp(generic_loss(), name=name)


