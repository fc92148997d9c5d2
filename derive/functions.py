"""Registries of activations and losses, each entry a SymPy definition.

An activation is a scalar function applied elementwise (or, for softmax, a
vector function). Its derivative is always computed by ``sympy.diff``. Where a
textbook identity writes the derivative through the activation's own output
(σ′ = σ(1−σ), tanh′ = 1−tanh²), the entry states that identity and the
registry *proves* it with SymPy before a derivation first uses it, so the printed form
is a named, checked rewrite rather than a typed-in formula.

A loss is a scalar function of the output vector ŷ and the target vector y,
defined on explicit component symbols; its gradient is computed by SymPy.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache, lru_cache
from collections.abc import Callable


import sympy as sp

from .errors import UsageError, unknown
from .expr import FUNCTIONS, parse
from .symbols import SUB as _SUBSCRIPT

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
    "custom_activation",
    "custom_loss",
    "proved_identity",
]

_t = sp.Symbol("t")


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
    expr: object = None  # the parsed Expr of a user-typed activation

    def derivative(self, z):
        """f′(z), computed by SymPy (or the generic derivative function)."""
        if self.derivative_fn is not None:
            return self.derivative_fn(z)
        d = sp.diff(self.f(_t), _t).subs(_t, z)
        if self.expr is not None:
            # a typed expression keeps SymPy's Heaviside(0) = ½: where max/min's arguments tie on a
            # whole interval (max(min(z, 1), |z|) on [0, 1]) the two halves add up to the derivative
            return d
        # the named relu′(0): SymPy's Heaviside(0) is ½; take the subgradient 0, as jax.nn.relu does
        return d.replace(sp.Heaviside, lambda x, *h0: sp.Heaviside(x, 0))

    def check_identity(self) -> bool:
        """Prove the stated output identity with SymPy: f′(t) − id(f(t)) ≡ 0."""
        if self.output_identity is None:
            return True
        gap = self.derivative(_t) - self.output_identity(self.f(_t))
        # written in exponentials, these identities cancel as rational functions of e^t — exact and
        # quick; simplify (slow, and it imports much of SymPy) is only the fallback
        if sp.cancel(sp.together(gap.rewrite(sp.exp))) == 0:
            return True
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
    ACTIVATIONS[a.name] = a
    return a


_PROVED: set = set()


def proved_identity(a: Activation) -> Callable:
    """``a.output_identity``, proved by SymPy (f′(t) − id(f(t)) ≡ 0) the first time a
    derivation uses it — not at import, which the command line pays on every run."""
    key = id(a.output_identity)
    if key not in _PROVED:
        if not a.check_identity():  # pragma: no cover - a wrong table entry
            raise AssertionError(f"identity for {a.name} does not hold")
        _PROVED.add(key)
    return a.output_identity


_add(Activation("sigmoid", "logistic σ(z) = 1/(1+e^(−z)); σ′ = σ(1−σ)", _sigmoid, "σ", r"\sigma",
                output_identity=lambda h: h * (1 - h), identity_name="sigmoid identity σ′ = σ(1 − σ)"))
_add(Activation("tanh", "hyperbolic tangent; tanh′ = 1 − tanh²", sp.tanh, "tanh", r"\tanh",
                output_identity=lambda h: 1 - h**2, identity_name="tanh identity tanh′ = 1 − tanh²"))
def _relu(z):
    """max(0, z), evaluated only for a number: for an expression SymPy's Max factors z looking for
    a sign it can decide (a T = 10 RNN's explicit forward: 5 s of nested factoring, for nothing)."""
    return unevaluated(sp.Max, 0, z) if isinstance(z, sp.Basic) and not z.is_number else sp.Max(0, z)


@cache
def unevaluated(func, *args):
    """``func(*args, evaluate=False)``, one object per distinct arguments: SymPy caches only the
    evaluated constructors, and equal but distinct objects compare by walking both trees."""
    basic = [sp.Integer(a) if isinstance(a, int) else a for a in args]  # relu passes a Python 0
    if issubclass(func, (sp.Max, sp.Min)) and len(basic) == 2 and all(isinstance(a, sp.Basic) for a in basic) \
            and sum(a.is_Number for a in basic) == 1:
        return _lattice(func, *sorted(basic, key=lambda a: not a.is_Number))
    return func(*args, evaluate=False)


def _lattice(func, *args):
    """``Max(0, z)`` as SymPy builds it unevaluated (the number first, as SymPy's ``ordered`` puts
    it), without ``ordered``'s sort keys: for a nested z they walk its tree (relu of a T = 20 RNN:
    most of the explicit forward pass)."""
    obj = sp.Expr.__new__(func, *args)
    obj._argset = frozenset(args)
    return obj


_add(Activation("relu", "rectifier max(0, z); relu′ = 𝟙[z > 0] (Heaviside)", _relu, "relu",
                r"\operatorname{relu}"))
_add(Activation("softplus", "softplus log(1 + e^z); softplus′ = σ", lambda z: sp.log(1 + sp.exp(z)),
                "softplus", r"\operatorname{softplus}"))
_add(Activation("identity", "identity z ↦ z (linear output)", lambda z: z, "id", r"\operatorname{id}"))
_add(Activation("softmax", "softmax over the vector (output layer); ∂ŷ/∂z = diag(ŷ) − ŷŷᵀ",
                None, "softmax", r"\operatorname{softmax}", vector=True))


_ACTIVATION_HINT = "or an expression in z, e.g. 'z/(1+exp(-z))'"
_LOSS_HINT = "or an expression in yhat_1…yhat_k and y_1…y_k, e.g. '(yhat_1 - y_1)**2 - log(yhat_2)'"


def is_expression(text) -> bool:
    """Typed text to parse, rather than a registry name: anything that is not
    a plain identifier, or a lone variable (``z``, ``yhat_1``, ``y_2``)."""
    if not isinstance(text, str) or not text.strip():
        return False
    return not text.replace("_", "a").isalnum() or text == "z" or bool(_COMPONENT.fullmatch(text))


def activation(name: str, *, generic_name: str = "g", hidden: bool = False) -> Activation:
    """Look up an activation by name, or parse an expression in ``z``;
    ``"g"`` (or the model's generic name) gives a generic one. Unknown
    names, bad expressions, and softmax for a hidden layer raise a
    :class:`UsageError`."""
    if name in (None, "generic", generic_name):
        return generic_activation(generic_name)
    choices = [n for n, a in ACTIVATIONS.items() if not (hidden and a.vector)] + [generic_name]
    if name in ACTIVATIONS and hidden and ACTIVATIONS[name].vector:
        raise UsageError(f"{name} is an output activation, not a hidden one; choose one of: "
                         f"{', '.join(sorted(choices))}, {_ACTIVATION_HINT}")
    if name in ACTIVATIONS:
        return ACTIVATIONS[name]
    if not is_expression(name):
        e = unknown("hidden activation" if hidden else "activation", name, choices)
        raise UsageError(f"{e}, {_ACTIVATION_HINT}")
    return custom_activation(name, generic_name)


@lru_cache(maxsize=64)
def custom_activation(text: str, generic_name: str = "g") -> Activation:
    """An elementwise activation typed as an expression in ``z``; its
    derivative is ``sympy.diff`` of the parsed expression.

    >>> a = custom_activation("z/(1+exp(-z))")
    >>> u = sp.Symbol("u")
    >>> a.derivative(u).simplify() == sp.diff(u / (1 + sp.exp(-u)), u).simplify()
    True
    """
    e = parse(text, variables="z", what="activation", hint=f"write a function of z, {_EXPR_ALLOWED}")
    if "z" not in e.variables:
        raise UsageError(f"activation {text!r} does not depend on z; write a function of z, "
                         "e.g. 'z/(1+exp(-z))'")
    base = generic_name.rstrip("0123456789")
    pretty = base + generic_name[len(base):].translate(_SUBSCRIPT)
    return Activation(
        name=generic_name,
        description=f"{pretty}(z) = {text.strip()}",
        f=lambda u: e.sympy({"z": u}),
        label=pretty,
        latex=generic_name,
        expr=e,
    )


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
    expr: object = None  # the parsed Expr of a user-typed loss
    outputs: int = 0  # for a typed loss: the highest output index it uses

    @property
    def reads_target(self) -> bool:
        """False for a typed loss that names no target y_i (``(yhat_1 - 1/2)**2 - log(yhat_2)``)."""
        return self.expr is None or any(v.startswith("y_") for v in self.expr.variables)

    @property
    def separable(self) -> bool:
        """The same function of (ŷᵢ, yᵢ) summed over i (registered losses);
        a typed loss names its components and is not."""
        return self.expr is None

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
                lambda yh, y: sp.Rational(1, 2) * sum((a - b) ** 2 for a, b in zip(yh, y, strict=True))),
    "bce": Loss("bce", "binary cross-entropy −Σ [y log ŷ + (1 − y) log(1 − ŷ)]; ŷ in (0, 1)",
                lambda yh, y: -sum(b * sp.log(a) + (1 - b) * sp.log(1 - a) for a, b in zip(yh, y, strict=True)),
                output_range="(0, 1)"),
    "ce": Loss("ce", "cross-entropy −Σ y log ŷ with targets summing to 1 (pair with softmax)",
               lambda yh, y: -sum(b * sp.log(a) for a, b in zip(yh, y, strict=True)),
               simplex_targets=True, output_range="(0, 1), summing to 1"),
}


def loss(name: str) -> Loss:
    """Look up a loss by name, or parse an expression in ``yhat_i``, ``y_i``;
    ``"l"`` gives the generic ℓ."""
    if name in (None, "l", "generic", "ℓ"):
        return generic_loss()
    if name in LOSSES:
        return LOSSES[name]
    if not is_expression(name):
        raise UsageError(f"{unknown('loss', name, list(LOSSES) + ['l'])}, {_LOSS_HINT}")
    return custom_loss(name)


_COMPONENT = re.compile(r"(yhat|y)_([1-9][0-9]?)")


@lru_cache(maxsize=64)
def custom_loss(text: str) -> Loss:
    """A loss typed as an expression in the output components ``yhat_1 …
    yhat_k`` and targets ``y_1 … y_k`` (1-based, as in the math).

    >>> L = custom_loss("(yhat_1 - 1/2)**2 - log(yhat_2)")
    >>> a, b = sp.symbols("a b")
    >>> [sp.diff(L.explicit([a, b], [0, 0]), v) for v in (a, b)]
    [2*a - 1, -1/b]
    """
    e = parse(text, variables=_COMPONENT, what="loss",
              hint=f"use yhat_1…yhat_k (outputs), y_1…y_k (targets), {_EXPR_ALLOWED}")
    if not any(v.startswith("yhat_") for v in e.variables):
        raise UsageError(f"loss {text!r} does not depend on the outputs; use yhat_1…yhat_k, "
                         "e.g. '(yhat_1 - y_1)**2'")
    outputs = max(int(_COMPONENT.fullmatch(v).group(2)) for v in e.variables)

    def f(yhat, y):
        if outputs > len(yhat):
            raise UsageError(f"loss {text!r} uses component {outputs} but the model has "
                             f"{len(yhat)} output{'s' if len(yhat) != 1 else ''}")
        env = {f"yhat_{i}": v for i, v in enumerate(yhat, 1)} | {f"y_{i}": v for i, v in enumerate(y, 1)}
        return e.sympy(env)

    return Loss("custom", f"ℓ(ŷ, y) = {text.strip()}", f, expr=e, outputs=outputs)


_EXPR_ALLOWED = "numbers, pi, E, + - * / ** and " + ", ".join(FUNCTIONS)
