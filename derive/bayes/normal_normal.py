"""P6(b): the Normal–Normal model, derived by SymPy by completing the square.

μ ~ N(0, τ²), xᵢ = μ + εᵢ, εᵢ ~ N(0, σ²). The conjugate update is derived once
for a general prior N(m₀, v₀) and data summarised by n, S = Σxᵢ, Q = Σxᵢ²; the
P6 posterior, the sequential updates and the order-invariance proof all reuse it.
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

from ..errors import UsageError
from ..registry import register
from .parse import data_list, positive

__all__ = ["DEFAULT_DATA", "complete_square", "normal_normal", "symbolic", "update"]

DEFAULT_DATA = "3.3, 3.5, 3.1, 1.8, 3.0, 0.74, 2.5, 2.4, 1.6, 2.1, 2.4, 1.3, 1.7, 0.19"

mu = sp.Symbol("μ", real=True)
s2, t2 = sp.Symbol("σ²", positive=True), sp.Symbol("τ²", positive=True)
n = sp.Symbol("n", positive=True, integer=True)
S, Q = sp.Symbol("S", real=True), sp.Symbol("Q", positive=True)
m0, v0 = sp.Symbol("m₀", real=True), sp.Symbol("v₀", positive=True)
xs = sp.Symbol("x∗", real=True)
mn, vn = sp.Symbol("μₙ", real=True), sp.Symbol("σₙ²", positive=True)
xbar = sp.Symbol("x̄", real=True)
x1, x2 = sp.symbols("x₁ x₂", real=True)
n1, n2 = sp.symbols("n₁ n₂", positive=True, integer=True)
S1, S2 = sp.symbols("S₁ S₂", real=True)
_i = sp.Symbol("i", integer=True)
x = sp.IndexedBase("x")
NAMES = {mu: r"\mu", s2: r"\sigma^{2}", t2: r"\tau^{2}", m0: "m_{0}", v0: "v_{0}", xs: "x^{*}",
         mn: r"\mu_{n}", vn: r"\sigma_{n}^{2}", xbar: r"\bar{x}", x1: "x_{1}", x2: "x_{2}", n1: "n_{1}",
         n2: "n_{2}", S1: "S_{1}", S2: "S_{2}"}


def complete_square(expo, var):
    """Write ``expo`` (quadratic in ``var``) as −(var − c)²/(2w) + k. Matching the
    coefficients of var², var and 1 of a·var² + b·var + k₀ with those of the square
    gives w = −1/(2a), c = −b/(2a), k = k₀ − b²/(4a); SymPy reads a, b, k₀ off the
    polynomial and factors each result. Returns (c, w, k)."""
    poly = sp.Poly(sp.expand(expo), var)
    if poly.degree() != 2:
        raise ValueError(f"complete_square needs a quadratic in {var}; got degree {poly.degree()}")
    a, b, k0 = (poly.coeff_monomial(var**j) for j in (2, 1, 0))
    return sp.factor(-b / (2 * a)), sp.factor(-1 / (2 * a)), sp.factor(k0 - b**2 / (4 * a))


def _pull(e):
    """Σᵢ c·f(i) = c·Σᵢ f(i) for a factor c free of i."""
    c, f = e.function.as_independent(_i)
    return c * sp.Sum(f, *e.limits).doit()


@lru_cache(maxsize=1)
def symbolic() -> dict:
    """Every symbolic result of the derivation (computed once per process)."""
    r = {}
    sq = sp.Sum(sp.expand((x[_i] - mu) ** 2), (_i, 1, n)).doit()
    sq = sp.expand(sq).replace(lambda e: isinstance(e, sp.Sum), _pull)
    sq = sq.subs({sp.Sum(x[_i], (_i, 1, n)): S, sp.Sum(x[_i] ** 2, (_i, 1, n)): Q})
    loglik = -sq / (2 * s2)  # up to −(n/2) log(2πσ²)
    r.update(sq=sq, loglik=loglik)
    # general conjugate update: prior N(m₀, v₀)
    c, w, k = complete_square(loglik - (mu - m0) ** 2 / (2 * v0), mu)
    r.update(m_upd=c, v_upd=w, k_upd=k, prec_upd=sp.expand(1 / w),
             square_check=sp.cancel(-(mu - c) ** 2 / (2 * w) + k - (loglik - (mu - m0) ** 2 / (2 * v0))))
    # P6: prior N(0, τ²)
    p6 = {m0: 0, v0: t2}
    r.update(mean=sp.cancel(c.subs(p6)), var=sp.cancel(w.subs(p6)), prec=sp.expand(1 / w.subs(p6)))
    r["mean_via_var"] = sp.cancel(r["mean"] / r["var"])  # μₙ/σₙ² = S/σ²
    # MLE and MAP
    d_ll = sp.diff(loglik, mu)
    r.update(d_ll=d_ll, mle_roots=sp.solve(d_ll, mu), d2_ll=sp.diff(loglik, mu, 2))
    logpost = loglik - mu**2 / (2 * t2)
    d_lp = sp.diff(logpost, mu)
    r.update(logpost=logpost, d_lp=d_lp, map_roots=sp.solve(d_lp, mu), d2_lp=sp.diff(logpost, mu, 2))
    r["map_minus_mean"] = sp.cancel(r["map_roots"][0] - r["mean"])
    # posterior predictive: ∫ N(x*|μ, σ²) N(μ|μₙ, σₙ²) dμ
    expo = -(xs - mu) ** 2 / (2 * s2) - (mu - mn) ** 2 / (2 * vn)
    cp, wp, kp = complete_square(expo, mu)
    gauss = sp.integrate(sp.exp(-(mu - cp) ** 2 / (2 * wp)), (mu, -sp.oo, sp.oo))
    pred = sp.simplify(sp.exp(kp) * gauss / (2 * sp.pi * sp.sqrt(s2 * vn)))
    pm, pv, pk = complete_square(sp.expand(sp.expand_log(sp.log(pred), force=True)), xs)
    r.update(pred_expo=expo, pred_c=cp, pred_w=wp, pred_k=kp, pred_gauss=gauss, pred=pred,
             pred_mean=pm, pred_var=pv, pred_norm=sp.cancel(pk))
    r["var_gap"] = sp.cancel(pv - s2)  # predictive minus plug-in variance
    r["var_gap_limit"] = sp.limit(r["var"], n, sp.oo)
    # marginal likelihood p(D) = ∫ Πᵢ N(xᵢ|μ, σ²) N(μ|0, τ²) dμ
    ce, we, ke = complete_square(logpost, mu)
    g2 = sp.integrate(sp.exp(-(mu - ce) ** 2 / (2 * we)), (mu, -sp.oo, sp.oo))
    evidence = (2 * sp.pi * s2) ** (-n / 2) * (2 * sp.pi * t2) ** sp.Rational(-1, 2) * sp.exp(ke) * g2
    # a tidier way to write the same p(D), proved equal below
    tidy_k = -Q / (2 * s2) + S**2 * t2 / (2 * s2 * (s2 + n * t2))
    tidy = (2 * sp.pi * s2) ** (-n / 2) * sp.sqrt(s2 / (s2 + n * t2)) * sp.exp(tidy_k)
    r.update(ev_k=ke, ev_w=we, ev_gauss=g2, evidence=evidence, ev_tidy=tidy, ev_tidy_k=tidy_k,
             ev_tidy_check=sp.cancel(sp.expand_log(sp.log(evidence) - sp.log(tidy), force=True)),
             log_ev_tidy=-n / 2 * sp.log(2 * sp.pi * s2) + sp.log(s2 / (s2 + n * t2)) / 2 + tidy_k)
    # order invariance: one point at a time, in either order, equals the batch
    def one(m_, v_, nn, ss):
        at = {m0: m_, v0: v_, n: nn, S: ss}
        return c.subs(at, simultaneous=True), w.subs(at, simultaneous=True)

    a12 = one(*one(m0, v0, 1, x1), 1, x2)
    a21 = one(*one(m0, v0, 1, x2), 1, x1)
    batch = one(m0, v0, 2, x1 + x2)
    blocks = one(*one(m0, v0, n1, S1), n2, S2)
    batch_blocks = one(m0, v0, n1 + n2, S1 + S2)
    r.update(seq12=a12, seq21=a21, batch2=batch,
             diff12=[sp.cancel(a12[j] - batch[j]) for j in range(2)],
             diff21=[sp.cancel(a21[j] - batch[j]) for j in range(2)],
             diff_blocks=[sp.cancel(blocks[j] - batch_blocks[j]) for j in range(2)])
    return r


def update(m_prior, v_prior, count, total, sigma2):
    """Posterior (mean, variance) from prior N(m_prior, v_prior) after ``count``
    points summing to ``total`` with noise variance ``sigma2`` — the derived
    update, evaluated exactly.

    >>> update(0, 5, 1, 2, 1)
    (5/3, 5/6)
    """
    r = symbolic()
    at = {m0: m_prior, v0: v_prior, n: count, S: total, s2: sigma2}
    return sp.nsimplify(r["m_upd"].subs(at)), sp.nsimplify(r["v_upd"].subs(at))


@register("normal_normal", "P6(b): Normal–Normal — posterior by completing the square, predictive vs MLE/MAP "
          "plug-ins, marginal likelihood and Bayes factor, sequential updates",
          problem="P6(b)", defaults={"data": DEFAULT_DATA, "sigma2": "1", "tau2": "5", "compare_tau2": "0.1"})
def normal_normal(data=DEFAULT_DATA, sigma2="1", tau2="5", compare_tau2="0.1"):
    """Build the Normal–Normal derivation for ``data`` (list or comma/space-separated text)."""
    values = data_list("--data", data)
    sig = positive("--sigma2", sigma2, "1")
    tau = positive("--tau2", tau2, "5")
    other = positive("--compare-tau2", compare_tau2, "0.1")
    if other == tau:
        raise UsageError(f"--compare-tau2 must differ from --tau2 to compare two models, got {compare_tau2!r} "
                         f"for both; e.g. --tau2 5 --compare-tau2 0.1")
    from .normal_normal_text import build

    opts = {"data": ", ".join(str(sp.Float(v, 15)).rstrip("0").rstrip(".") if v.q != 1 else str(v) for v in values),
            "sigma2": str(sigma2), "tau2": str(tau2), "compare_tau2": str(compare_tau2)}
    return build(symbolic(), values, sig, tau, other, opts)
