"""Registries of activations and losses, each entry a SymPy definition.

An activation is a scalar function applied elementwise (or, for softmax, a
vector function). Its derivative is always computed by ``sympy.diff``. Where a
textbook identity writes the derivative through the activation's own output
(σ′ = σ(1−σ), tanh′ = 1−tanh²), the entry states that identity and the
registry *proves* it with SymPy when the entry is created, so the printed form
is a named, checked rewrite rather than a typed-in formula.

A loss is a scalar function of the output vector ŷ and the target vector y,
defined on explicit component symbols; its gradient is computed by SymPy.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import sympy as sp

from .errors import UsageError, unknown

__all__ = [
    "is_generic",
    "Activation",
    "Loss",
    "ACTIVATIONS",
    "LOSSES",
    "activation",
    "loss",
    "generic_activation",
    "generic_loss",
]

_t = sp.Symbol("t")
_SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _generic_function(name: str, prime: str):
    """An undefined scalar function whose derivative is another undefined
    function, so ``sympy.diff(g(u), x)`` gives ``g′(u)·∂u/∂x`` (no Subs)."""
    gp = type(prime, (sp.Function,), {"generic": True})
    g = type(name, (sp.Function,), {"fdiff": lambda self, argindex=1: gp(self.args[0]), "generic": True})
    return g, gp


def is_generic(f) -> bool:
    """True for an applied generic function (g, g′, ℓ, ∂ᵢℓ) made here."""
    return bool(getattr(type(f), "generic", False))


@dataclass(frozen=True)
class Activation:
    """An elementwise activation ``h = f(z)``.

    ``f`` maps a SymPy scalar to a SymPy scalar. ``label`` is how it prints
    (``g``, ``σ``, ``tanh``). ``output_identity`` optionally writes f′(z)
    through h = f(z); ``identity_name`` names it in derivations.
    ``vector`` marks softmax, whose Jacobian is not diagonal.
    """

    name: str
    description: str
    f: Callable
    label: str
    latex: str
    output_identity: Callable | None = None
    identity_name: str = ""
    vector: bool = False
    generic: bool = False
    derivative_fn: Callable | None = field(default=None, compare=False)

    def derivative(self, z):
        """f′(z), computed by SymPy (or the generic derivative function)."""
        if self.derivative_fn is not None:
            return self.derivative_fn(z)
        d = sp.diff(self.f(_t), _t).subs(_t, z)
        # relu′(0): SymPy's Heaviside(0) is ½; take the subgradient 0, as JAX does
        return d.replace(sp.Heaviside, lambda x, *h0: sp.Heaviside(x, 0))

    def check_identity(self) -> bool:
        """Prove the stated output identity with SymPy: f′(t) − id(f(t)) ≡ 0."""
        if self.output_identity is None:
            return True
        gap = self.derivative(_t) - self.output_identity(self.f(_t))
        return sp.simplify(gap) == 0


def generic_activation(name: str = "g", label: str | None = None, latex: str | None = None) -> Activation:
    """A generic (undefined) activation that prints as ``g`` and ``g′``."""
    g, gp = _generic_function(name, name + "'")
    pretty = name.rstrip("0123456789") + name[len(name.rstrip("0123456789")):].translate(_SUBSCRIPT)
    return Activation(
        name=name,
        description=f"generic elementwise activation {pretty} (undefined function)",
        f=g,
        label=label or pretty,
        latex=latex or name,
        generic=True,
        derivative_fn=gp,
    )


def _sigmoid(z):
    return 1 / (1 + sp.exp(-z))


ACTIVATIONS: dict[str, Activation] = {}


def _add(a: Activation) -> Activation:
    if not a.vector and not a.check_identity():  # pragma: no cover - a wrong table entry
        raise AssertionError(f"identity for {a.name} does not hold")
    ACTIVATIONS[a.name] = a
    return a


_add(Activation("sigmoid", "logistic σ(z) = 1/(1+e^(−z)); σ′ = σ(1−σ)", _sigmoid, "σ", r"\sigma",
                output_identity=lambda h: h * (1 - h), identity_name="sigmoid identity σ′ = σ(1 − σ)"))
_add(Activation("tanh", "hyperbolic tangent; tanh′ = 1 − tanh²", sp.tanh, "tanh", r"\tanh",
                output_identity=lambda h: 1 - h**2, identity_name="tanh identity tanh′ = 1 − tanh²"))
_add(Activation("relu", "rectifier max(0, z); relu′ = 𝟙[z > 0] (Heaviside)", lambda z: sp.Max(0, z), "relu",
                r"\operatorname{relu}"))
_add(Activation("softplus", "softplus log(1 + e^z); softplus′ = σ", lambda z: sp.log(1 + sp.exp(z)),
                "softplus", r"\operatorname{softplus}"))
_add(Activation("identity", "identity z ↦ z (linear output)", lambda z: z, "id", r"\operatorname{id}"))
_add(Activation("softmax", "softmax over the vector (output layer); ∂ŷ/∂z = diag(ŷ) − ŷŷᵀ",
                None, "softmax", r"\operatorname{softmax}", vector=True))


def activation(name: str, *, generic_name: str = "g", hidden: bool = False) -> Activation:
    """Look up an activation by name; ``"g"`` (or the model's generic name)
    gives a generic one. Unknown names, and softmax for a hidden layer, raise
    a :class:`UsageError`."""
    if name in (None, "generic", generic_name):
        return generic_activation(generic_name)
    choices = [n for n, a in ACTIVATIONS.items() if not (hidden and a.vector)] + [generic_name]
    if name not in ACTIVATIONS or (hidden and ACTIVATIONS[name].vector):
        what = "hidden activation" if hidden else "activation"
        if name in ACTIVATIONS:
            raise UsageError(f"{name} is an output activation, not a hidden one; choose one of: "
                             f"{', '.join(sorted(choices))}")
        raise unknown(what, name, choices)
    return ACTIVATIONS[name]


@dataclass(frozen=True)
class Loss:
    """A scalar loss ℓ(ŷ, y) over k-vectors.

    ``f(yhat, y)`` takes two lists of SymPy scalars and returns the loss.
    ``simplex_targets`` says the targets are assumed to sum to one (one-hot or
    a probability vector), which SymPy may use when simplifying.
    ``output_range`` documents where ŷ must lie for the loss to be defined.
    """

    name: str
    description: str
    f: Callable
    label: str = "ℓ"
    latex: str = r"\ell"
    simplex_targets: bool = False
    generic: bool = False
    output_range: str = ""

    def explicit(self, yhat, y):
        return self.f(list(yhat), list(y))


def generic_loss() -> Loss:
    """A generic differentiable loss ℓ(ŷ₁…ŷₖ, y₁…yₖ); SymPy's diff yields
    ∂ℓ/∂ŷᵢ as undefined functions ``dl_i``."""
    cache: dict[int, type] = {}

    def partial(i):
        if i not in cache:
            cache[i] = type(f"dl_{i}", (sp.Function,), {"generic": True})
        return cache[i]

    def fdiff(self, argindex=1):
        return partial(argindex - 1)(*self.args)

    ell = type("ell", (sp.Function,), {"fdiff": fdiff, "generic": True})
    return Loss("l", "generic differentiable loss ℓ(ŷ, y)", lambda yh, y: ell(*yh, *y), generic=True)


LOSSES: dict[str, Loss] = {
    "mse": Loss("mse", "squared error ½‖ŷ − y‖²",
                lambda yh, y: sp.Rational(1, 2) * sum((a - b) ** 2 for a, b in zip(yh, y))),
    "bce": Loss("bce", "binary cross-entropy −Σ [y log ŷ + (1 − y) log(1 − ŷ)]; ŷ in (0, 1)",
                lambda yh, y: -sum(b * sp.log(a) + (1 - b) * sp.log(1 - a) for a, b in zip(yh, y)),
                output_range="(0, 1)"),
    "ce": Loss("ce", "cross-entropy −Σ y log ŷ with targets summing to 1 (pair with softmax)",
               lambda yh, y: -sum(b * sp.log(a) for a, b in zip(yh, y)),
               simplex_targets=True, output_range="(0, 1), summing to 1"),
}


def loss(name: str) -> Loss:
    """Look up a loss by name; ``"l"`` gives the generic ℓ."""
    if name in (None, "l", "generic", "ℓ"):
        return generic_loss()
    if name not in LOSSES:
        raise unknown("loss", name, list(LOSSES) + ["l"])
    return LOSSES[name]
