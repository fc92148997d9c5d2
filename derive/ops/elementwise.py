"""Elementwise functions ``h = f(z)``: the registered activations, ``exp log sqrt
abs sin cos``, and generic functions a model declares (``function g``).

Rule: z̄ = f′(z) ⊙ h̄, with f′ computed by SymPy; where a textbook identity writes
f′ through the output (σ′ = σ(1 − σ), tanh′ = 1 − tanh², exp′ = exp) the
identity is proved by SymPy before it is used, and the derivation shows both.
"""
from __future__ import annotations

import sympy as sp

from ..expr import RealAbs
from ..functions import ACTIVATIONS, Activation, generic_activation, proved_identity
from ..matexpr import Pointwise
from .base import Diag, Operator, hadamard, is_scalar

__all__ = ["Elementwise", "ELEMENTWISE", "elementwise", "generic"]

_t = sp.Symbol("t")


def _numpy_forms():
    def sigmoid(xp, z):
        return 1 / (1 + xp.exp(-z))

    def softplus(xp, z):
        return xp.logaddexp(0.0, z) if hasattr(xp, "logaddexp") else xp.log1p(xp.exp(z))

    return {"sigmoid": sigmoid, "tanh": lambda xp, z: xp.tanh(z), "relu": lambda xp, z: xp.maximum(z, 0.0),
            "softplus": softplus, "identity": lambda xp, z: z, "exp": lambda xp, z: xp.exp(z),
            "log": lambda xp, z: xp.log(z), "sqrt": lambda xp, z: xp.sqrt(z), "abs": lambda xp, z: xp.abs(z),
            "sin": lambda xp, z: xp.sin(z), "cos": lambda xp, z: xp.cos(z)}


_NUMPY = _numpy_forms()


class Elementwise(Operator):
    """``f`` applied to every entry; ``static['function']`` is an :class:`Activation`."""

    words = "elementwise function: Z̄ = f′(Z) ⊙ H̄"

    def __init__(self, function: Activation, name: str | None = None):
        super().__init__(function=function)
        self.name = name or function.name
        self.f = function

    def shape(self, shapes):
        return shapes[0]

    @property
    def label(self) -> str:
        return self.f.label

    def symbolic(self, args, shapes):
        if is_scalar(shapes[0]):
            return self.f.f(args[0])
        return Pointwise(sp.Lambda(_t, self.f.f(_t)), args[0], label=self.label)

    def explicit(self, args, shapes):
        if is_scalar(shapes[0]):
            return self.f.f(args[0])
        return args[0].applyfunc(self.f.f)

    def numpy(self, xp, args):
        if self.f.generic:
            from .base import MissingRule

            raise MissingRule(f"function {self.label!r} is generic (declared with 'function'); it has no "
                              "numbers — give a concrete function to --check")
        return _NUMPY[self.name](xp, args[0])

    def derivative(self, z, h, shape):
        """(f′ as a label form, f′ through the output or None, the identity's name)."""
        if is_scalar(shape):
            raw = self.f.derivative(z)
            ident = proved_identity(self.f)(h) if self.f.output_identity is not None else None
            return raw, ident, self.f.identity_name
        raw = Pointwise(sp.Lambda(_t, self.f.derivative(_t)), z, label=self.label + "′")
        if self.f.output_identity is not None:
            return raw, Pointwise(sp.Lambda(_t, proved_identity(self.f)(_t)), h), self.f.identity_name
        return raw, None, ""

    def vjp(self, adjoint, out, args, shapes):
        if self.name == "identity":
            return [adjoint]
        raw, _, _ = self.derivative(args[0], out, shapes[0])
        return [raw * adjoint if is_scalar(shapes[0]) else hadamard(raw, adjoint)]

    def jvp(self, tangents, out, args, shapes):
        return self.vjp(tangents[0], out, args, shapes)[0]  # f′(Z) ⊙ Ż: elementwise, the same rule forwards

    def jacobian_T(self, position, out, args, shapes, through_output=False):
        """diag(f′(z)): symmetric, so it is also the Jacobian."""
        if len(shapes[0]) > 1:
            return super().jacobian_T(position, out, args, shapes)
        raw, ident, _ = self.derivative(args[0], out, shapes[0])
        d = ident if through_output and ident is not None else raw
        return d if is_scalar(shapes[0]) else Diag(d)

    jacobian = jacobian_T

    def identities(self, args, out, shapes) -> dict:
        """{f′ label form: f′ through the output}, for the derivation's second form."""
        raw, ident, _ = self.derivative(args[0], out, shapes[0])
        return {} if ident is None else {raw: ident}

    def unicode(self, printed):
        return f"{self.label}({printed[0]})"

    def latex(self, printed):
        return rf"{self.f.latex}\left({printed[0]}\right)"


def _plain(name, f, label, latex, identity=None, identity_name="", description=""):
    return Activation(name, description or f"{name} (elementwise)", f, label, latex,
                      output_identity=identity, identity_name=identity_name)


_EXTRA = [
    _plain("exp", sp.exp, "exp", r"\exp", identity=lambda h: h, identity_name="exp′ = exp"),
    _plain("log", sp.log, "log", r"\log"),
    _plain("sqrt", sp.sqrt, "sqrt", r"\operatorname{sqrt}", identity=lambda h: 1 / (2 * h),
           identity_name="sqrt′ = 1/(2 sqrt)"),
    _plain("abs", RealAbs, "abs", r"\operatorname{abs}"),
    _plain("sin", sp.sin, "sin", r"\sin"),
    _plain("cos", sp.cos, "cos", r"\cos"),
]

ELEMENTWISE = {a.name: Elementwise(a) for a in [*[a for a in ACTIVATIONS.values() if not a.vector], *_EXTRA]}


def elementwise(name: str) -> Elementwise:
    return ELEMENTWISE[name]


def generic(name: str) -> Elementwise:
    """A generic elementwise function ``name`` (prints as g and g′)."""
    return Elementwise(generic_activation(name), name=name)
