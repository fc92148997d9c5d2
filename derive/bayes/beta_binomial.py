"""P6(a): the Beta–Binomial model, derived by SymPy step by step.

Y ~ Bin(N, θ), θ ~ Beta(α, β). Every result below is computed (``diff``,
``solve``, ``collect``, ``limit`` …) from the likelihood and the prior; the
known answers appear only in the tests.
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

from ..errors import UsageError
from ..registry import register
from .document import BayesDerivation
from .parse import positive, whole

__all__ = ["beta_binomial", "map_point", "symbolic"]

th = sp.Symbol("θ", positive=True)
N_ = sp.Symbol("N", positive=True, integer=True)
y_ = sp.Symbol("y", nonnegative=True, integer=True)
al, be = sp.symbols("α β", positive=True)
C, a, b = sp.symbols("C a b", real=True)
p, q, m, s, t0, lam = sp.symbols("p q m s θ₀ λ", positive=True)
NAMES = {th: r"\theta", al: r"\alpha", be: r"\beta", t0: r"\theta_{0}", lam: r"\lambda",
         sp.Symbol("p₁", positive=True): "p_{1}", sp.Symbol("q₁", positive=True): "q_{1}"}


@lru_cache(maxsize=1)
def symbolic() -> dict:
    """Every symbolic result of the derivation (computed once per process)."""
    r = {}
    pmf = sp.binomial(N_, y_) * th**y_ * (1 - th) ** (N_ - y_)
    prior = th ** (al - 1) * (1 - th) ** (be - 1) / sp.beta(al, be)
    r["pmf"], r["prior"] = pmf, prior
    # MLE: derivative of the log-likelihood set to zero
    ll = sp.expand_log(sp.log(pmf), force=True)
    d1 = sp.diff(ll, th)
    roots = sp.solve(sp.Eq(d1, 0), th)
    mle = roots[0]
    d2 = sp.diff(ll, th, 2)
    curv = sp.factor(sp.simplify(d2.subs(th, mle)))
    y_pos = sp.Symbol("y", positive=True)  # interior case 0 < y < N, N = y + m with m = N − y > 0
    curv_interior = sp.factor(curv.subs(y_, y_pos).subs(N_, y_pos + m))
    r.update(ll=ll, d1=d1, roots=roots, mle=mle, d2=d2, curv=curv, curv_interior=curv_interior)
    # posterior kernel: collect the powers of θ and 1 − θ, match Beta exponents
    kernel = pmf * prior
    const, shape = kernel.as_independent(th)
    log_shape = sp.expand(sp.expand_log(sp.log(shape), force=True))
    coeffs = sp.collect(log_shape, [sp.log(th), sp.log(1 - th)], evaluate=False)
    a_post, b_post = sp.symbols("a_post b_post")
    match = sp.solve([sp.Eq(a_post - 1, coeffs[sp.log(th)]), sp.Eq(b_post - 1, coeffs[sp.log(1 - th)])],
                     [a_post, b_post], dict=True)[0]
    A, B = match[a_post], match[b_post]
    beta_kernel = th ** (A - 1) * (1 - th) ** (B - 1)
    ratio = sp.simplify(sp.powsimp(shape / beta_kernel, force=True))
    evidence = const * sp.beta(A, B)  # ∫ θ^(A−1)(1−θ)^(B−1) dθ = B(A, B)
    log_ev = sp.expand_log(sp.log(evidence.rewrite(sp.gamma)), force=True)
    log_ev = log_ev.replace(lambda e: isinstance(e, sp.log) and isinstance(e.args[0], sp.gamma),
                            lambda e: sp.loggamma(e.args[0].args[0]))  # evaluates without huge integers
    r.update(log_evidence=log_ev)
    r.update(kernel=kernel, const=const, shape=shape, log_shape=log_shape, coeffs=coeffs, A=A, B=B,
             ratio=ratio, evidence=evidence)
    # moments of Beta(p, q) from the Beta integral: E[θ^k] = B(p + k, q)/B(p, q)
    e1 = sp.gammasimp(sp.expand_func(sp.beta(p + 1, q) / sp.beta(p, q)))
    e2 = sp.gammasimp(sp.expand_func(sp.beta(p + 2, q) / sp.beta(p, q)))
    var_pq = sp.factor(sp.simplify(e2 - e1**2))
    at = {p: A, q: B}
    mean = sp.simplify(e1.subs(at))
    var = sp.factor(var_pq.subs(at))
    weight = sp.solve(sp.Eq(mean, lam * y_ / N_ + (1 - lam) * al / (al + be)), lam)[0]
    r.update(e1=e1, e2=e2, var_pq=var_pq, mean=mean, var=var, weight=weight)
    # MAP: derivative of the log posterior set to zero
    lpost = sp.expand_log(sp.log(beta_kernel), force=True)
    map_roots = sp.solve(sp.diff(lpost, th), th)
    map_ = sp.simplify(map_roots[0])
    map_pq = sp.solve(sp.diff(sp.expand_log(sp.log(th ** (p - 1) * (1 - th) ** (q - 1)), force=True), th), th)[0]
    mcurv = sp.factor(sp.simplify(sp.diff(sp.expand_log(sp.log(th ** (p - 1) * (1 - th) ** (q - 1)), force=True),
                                          th, 2).subs(th, map_pq)))
    pp, qq = sp.symbols("p₁ q₁", positive=True)  # p = 1 + p₁, q = 1 + q₁ > 1
    mcurv_interior = sp.factor(mcurv.subs({p: 1 + pp, q: 1 + qq}))
    r.update(lpost=lpost, map_roots=map_roots, map=map_, map_pq=map_pq, mcurv=mcurv, mcurv_interior=mcurv_interior)
    # the loss ℓ(θ) = C(y − Nθ)² − aθ + bθ² whose minimiser is the MAP for every y
    loss = C * (y_ - N_ * th) ** 2 - a * th + b * th**2
    stat = sp.solve(sp.diff(loss, th), th)[0]
    num = sp.numer(sp.together(stat - map_))
    conditions = sp.Poly(num, y_).coeffs()
    ab = {k: sp.factor(v) for k, v in sp.solve(conditions, [a, b], dict=True)[0].items()}
    loss_curv = sp.factor(sp.diff(loss, th, 2).subs(ab))
    choice = {C: 1 / N_**2}
    ab_choice = {k: sp.simplify(v.subs(choice)) for k, v in ab.items()}
    reg = -a * th + b * th**2
    reg_min = sp.simplify(sp.solve(sp.diff(reg, th), th)[0].subs(ab))
    stat_check = sp.simplify(stat.subs(ab) - map_)
    unit_loss = loss.subs(ab).subs(C, 1)  # the family is C times this one loss:
    unit_check = sp.cancel(loss.subs(ab) / C - unit_loss)
    r.update(loss=loss, stat=stat, conditions=conditions, ab=ab, loss_curv=loss_curv, choice=choice,
             ab_choice=ab_choice, reg_min=reg_min, stat_check=stat_check,
             unit_loss=unit_loss, unit_check=unit_check)
    # limits as N → ∞ with y = Nθ₀ + s√N (a binomial count: fluctuations of order √N)
    grow = {y_: N_ * t0 + s * sp.sqrt(N_)}
    r.update(lim_mean=sp.limit(mean.subs(grow), N_, sp.oo), lim_map=sp.limit(map_.subs(grow), N_, sp.oo),
             lim_mle=sp.limit(mle.subs(grow), N_, sp.oo), lim_var=sp.limit(var.subs(grow), N_, sp.oo),
             lim_nvar=sp.factor(sp.limit((N_ * var).subs(grow), N_, sp.oo)),
             lim_bias=sp.factor(sp.limit((N_ * (mean - mle)).subs(grow), N_, sp.oo)),
             lim_weight=sp.limit(weight, N_, sp.oo))
    return r


def map_point(A, B):
    """(MAP value or None, explanation) for a Beta(A, B) posterior with numbers A, B > 0."""
    if A > 1 and B > 1:
        return (A - 1) / (A + B - 2), "the posterior mode (a′ − 1)/(a′ + b′ − 2), an interior maximum"
    if A == 1 and B == 1:
        return None, "the posterior is uniform: every θ in [0, 1] is a mode, no unique MAP"
    if A <= 1 and B <= 1:
        return None, "the density is unbounded at both ends (a′, b′ ≤ 1): no unique MAP"
    if A <= 1:
        return sp.Integer(0), "the density is largest at θ = 0 (a′ ≤ 1 < b′): MAP at the boundary"
    return sp.Integer(1), "the density is largest at θ = 1 (b′ ≤ 1 < a′): MAP at the boundary"


@register("beta_binomial", "P6(a): Beta–Binomial — MLE, posterior Beta(α+y, β+N−y), mean/MAP/variance, "
          "MAP as a regularised loss, N → ∞", problem="P6(a)",
          defaults={"alpha": "2", "beta": "2", "N": "10", "y": "7"})
def beta_binomial(alpha="2", beta="2", N="10", y="7") -> BayesDerivation:
    """Build the Beta–Binomial derivation; numbers are evaluated at α, β, N, y."""
    vals = {al: positive("--alpha", alpha, "2"), be: positive("--beta", beta, "2"),
            N_: whole("--N", N, low=1, example="10"), y_: whole("--y", y, example="7")}
    if vals[y_] > vals[N_]:
        raise UsageError(f"--y must be ≤ --N (successes out of N trials), got y = {y!r} with N = {N!r}; "
                         f"e.g. --N 10 --y 7")
    from .beta_binomial_text import build

    return build(symbolic(), vals, {"alpha": str(alpha), "beta": str(beta), "N": str(N), "y": str(y)})
