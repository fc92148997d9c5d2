"""What SymPy cancels in a loss gradient and an output layer's Jacobian.

The loss gradient ∇ŷℓ and the composite δ = (∂ŷ/∂z)ᵀ ∇ŷℓ are computed by SymPy
at an explicit size and lifted back to one elementwise function of (ŷᵢ, yᵢ)
when every component is the same function; nothing here is typed in.
"""
from __future__ import annotations

from functools import cache

import sympy as sp

from .functions import Activation, Loss

__all__ = ["loss_gradient", "composite_delta", "needs_simplex"]

_s, _t = sp.symbols("s t")
_K0 = 3  # explicit size at which loss gradients are computed and lifted


def _lift(components, yhat, y, targets=None):
    """If every component i is the same function of (ŷᵢ, yᵢ), return it as a
    Lambda((s, t), …); otherwise None. ``targets`` is a substitution the
    components already carry (yₖ = 1 − Σⱼ<ₖ yⱼ); the candidate gets it too."""
    targets = targets or {}
    cand = sp.factor(sp.cancel(sp.together(components[0].subs({yhat[0]: _s, y[0]: _t}, simultaneous=True))))
    if not cand.free_symbols <= {_s, _t}:
        return None
    for i in range(len(components)):
        want = cand.subs({_s: yhat[i], _t: y[i]}, simultaneous=True).subs(targets)
        if not _vanishes(components[i] - want):
            return None
    return sp.Lambda((_s, _t), cand)


def _vanishes(expr) -> bool:
    """expr ≡ 0: as a rational function first (exact, and quick for the losses and output
    Jacobians here), then by simplify."""
    return sp.cancel(sp.together(expr)) == 0 or sp.simplify(expr) == 0


def _explicit_symbols():
    yhat = sp.symbols(f"yhat0:{_K0}")
    y = sp.symbols(f"y0:{_K0}")
    return yhat, y


@cache
def loss_gradient(loss: Loss, operand: int = 0):
    """∇ŷℓ (``operand`` 0) or ∇yℓ (1, the target's) as an elementwise Lambda((ŷ, y), …),
    computed by SymPy; None when the loss is generic or not separable."""
    if loss.generic or not loss.separable:
        return None
    yhat, y = _explicit_symbols()
    L = loss.explicit(yhat, y)
    return _lift([sp.diff(L, a) for a in (yhat, y)[operand]], yhat, y)


@cache
def composite_delta(act: Activation, loss: Loss):
    """δ = (∂ŷ/∂z)ᵀ ∇ŷℓ simplified by SymPy at explicit size, as an elementwise
    Lambda((ŷ, y), …) when it is one and is simpler than the plain product."""
    if loss.generic or act.generic or not loss.separable:
        return None
    yhat, y = _explicit_symbols()
    grad = sp.Matrix([sp.diff(loss.explicit(yhat, y), a) for a in yhat])
    jac_T = _output_jacobian_T(act, yhat)
    if jac_T is None:
        return None
    comps = list(jac_T * grad)
    if loss.simplex_targets:
        last = {y[-1]: 1 - sum(y[:-1])}
        comps = [sp.cancel(sp.together(c.subs(last))) for c in comps]  # rational: canonical form
        check = _lift(comps, yhat, y, last)
    else:
        check = _lift(comps, yhat, y)
    if check is None:
        return None
    plain = sp.count_ops(list(jac_T * grad)[0])
    if sp.count_ops(check.expr) >= plain:
        return None
    return check


def _output_jacobian_T(act: Activation, yhat):
    """(∂ŷ/∂z)ᵀ at explicit ŷ, as the activation's operator states it through its output
    (softmax: diag(ŷ) − ŷŷᵀ; σ: diag(ŷ ⊙ (1 − ŷ))); None when it is not a function of ŷ alone."""
    from .graph import activation_operator  # the graph imports the registry, which imports this module
    from .ops.evaluate import explicit

    k = len(yhat)
    z, h = sp.MatrixSymbol("z", k, 1), sp.MatrixSymbol("h", k, 1)
    jac_T = activation_operator(act).jacobian_T(0, h, [z], [(sp.Integer(k),)], through_output=True)
    if z in jac_T.free_symbols:
        return None
    return sp.Matrix(explicit(jac_T, {"h": sp.ImmutableMatrix(yhat)}, {}))


@cache
def needs_simplex(act: Activation, loss: Loss) -> bool:
    """Did the simplification use Σy = 1 (softmax + ce) or not (sigmoid + ce)?"""
    if not loss.simplex_targets:
        return False
    plain = Loss(loss.name, loss.description, loss.f)  # same loss, no assumption
    return composite_delta(act, plain) is None
