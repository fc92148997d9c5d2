"""The Normal–Normal derivation as worked steps with prose (P6(b))."""
from __future__ import annotations

import sympy as sp

from .document import BayesDerivation, Step, eq, u
from .normal_normal import (
    NAMES,
    S1,
    S2,
    Q,
    S,
    m0,
    mn,
    mu,
    n,
    n1,
    n2,
    s2,
    t2,
    update,
    v0,
    vn,
    x1,
    x2,
    xbar,
    xs,
)

__all__ = ["build", "sequential"]


def _e(lhs, *forms, t=None):
    return eq(lhs, *forms, names=NAMES, lhs_tex=t)


def _f(x, digits=10):
    return float(sp.N(x, 30)) if digits is None else sp.Float(sp.N(x, 30), digits)


def _normal(mean, var):
    return {"mean": float(mean), "variance": float(var)}


def sequential(data, sigma2, tau2) -> list:
    """The three predictive distributions before any data and after each point,
    updating one point at a time with the derived update."""
    out, m_k, v_k = [], sp.Integer(0), tau2
    for k in range(len(data) + 1):
        if k:
            m_k, v_k = update(m_k, v_k, 1, data[k - 1], sigma2)
        mle = sum(data[:k], sp.Integer(0)) / k if k else None
        out.append({"k": k, "x": None if not k else float(data[k - 1]),
                    "posterior": _normal(m_k, v_k),
                    "predictive": {"posterior": _normal(m_k, sigma2 + v_k),
                                   "mle_plugin": None if mle is None else _normal(mle, sigma2),
                                   "map_plugin": _normal(m_k, sigma2)},
                    "exact": {"mean": str(m_k), "variance": str(v_k)}})
    return out


def _sci(x):
    return f"{float(sp.N(x, 30)):.6e}"


def build(r, data, sig, tau, other, options) -> BayesDerivation:
    """Assemble the steps from the symbolic results ``r`` and the numbers."""
    nn, SS, QQ = len(data), sum(data, sp.Integer(0)), sum((d**2 for d in data), sp.Integer(0))
    at = {n: nn, S: SS, Q: QQ, s2: sig, t2: tau}
    post_m, post_v = sp.nsimplify(r["mean"].subs(at)), sp.nsimplify(r["var"].subs(at))
    mle = SS / nn
    log_ev = {tt: sp.N(r["log_ev_tidy"].subs({**at, t2: tt}), 30) for tt in (tau, other)}
    log_bf = log_ev[tau] - log_ev[other]
    better, worse = (tau, other) if log_bf > 0 else (other, tau)
    seq = sequential(data, sig, tau)
    last = seq[-1]["exact"]
    steps = [
        Step("Model", [
            ("Prior μ ~ N(0, τ²); each observation xᵢ = μ + εᵢ with independent εᵢ ~ N(0, σ²). "
            "Write n for the number of points, S = Σᵢ xᵢ and Q = Σᵢ xᵢ²; the likelihood depends on the data "
            "only through them. Expanding the sum of squares (SymPy, term by term):")],
            [_e("Σᵢ (xᵢ − μ)²", r["sq"], t=r"\sum_{i=1}^{n} (x_{i} - \mu)^{2}"),
             _e("log p(D | μ)", (u(r["loglik"]) + " − (n/2)·log(2πσ²)",
                                 sp.latex(r["loglik"], symbol_names=NAMES) + r" - \tfrac{n}{2}\log(2\pi\sigma^{2})"),
                t=r"\log p(D \mid \mu)")]),
        Step("Posterior p(μ | D) by completing the square", [
            ("For a general prior N(m₀, v₀) the log posterior is log p(D | μ) − (μ − m₀)²/(2v₀) + const, "
            "a quadratic in μ. SymPy matches it to −(μ − c)²/(2w) + k (equal coefficients of μ², μ, 1) and solves:")],
            [_e("posterior mean c", r["m_upd"], t=r"\text{posterior mean } c"),
             _e("posterior variance w", r["v_upd"], t=r"\text{posterior variance } w"),
             _e("1/w", r["prec_upd"], t=r"1/w"),
             _e("with m₀ = 0, v₀ = τ²: μₙ", r["mean"], t=r"\text{with } m_{0} = 0,\ v_{0} = \tau^{2}:\ \mu_{n}"),
             _e("σₙ²", r["var"], t=r"\sigma_{n}^{2}"),
             _e("1/σₙ²", r["prec"], t=r"1/\sigma_{n}^{2}"),
             _e("μₙ/σₙ²", r["mean_via_var"], t=r"\mu_{n}/\sigma_{n}^{2}")],
            [("So p(μ | D) = N(μ | μₙ, σₙ²): precisions add (1/σₙ² = n/σ² + 1/τ²) and μₙ = σₙ²·S/σ². "
             "σₙ² is the posterior variance; the posterior standard deviation is σₙ = √σₙ². The density is "
             "N(μₙ, σₙ²), never N(μₙ, σₙ).")]),
        Step("MLE and MAP: set derivatives to zero", [
            "Differentiate the log-likelihood and the log posterior in μ and solve:"],
            [_e("d/dμ log p(D | μ)", r["d_ll"], "0", t=r"\frac{d}{d\mu}\log p(D \mid \mu)"),
             _e("μ̂_MLE", *r["mle_roots"], "x̄", t=r"\hat{\mu}_{\mathrm{MLE}}"),
             _e("d²/dμ² log p(D | μ)", r["d2_ll"], t=r"\frac{d^{2}}{d\mu^{2}}\log p(D \mid \mu)"),
             _e("d/dμ log p(μ | D)", r["d_lp"], "0", t=r"\frac{d}{d\mu}\log p(\mu \mid D)"),
             _e("μ̂_MAP", *r["map_roots"], t=r"\hat{\mu}_{\mathrm{MAP}}"),
             _e("d²/dμ² log p(μ | D)", r["d2_lp"], t=r"\frac{d^{2}}{d\mu^{2}}\log p(\mu \mid D)"),
             _e("μ̂_MAP − μₙ", r["map_minus_mean"], t=r"\hat{\mu}_{\mathrm{MAP}} - \mu_{n}")],
            [("Both second derivatives are negative constants, so each stationary point is the maximum. "
             "The MAP equals the posterior mean μₙ (a Gaussian's mode is its mean); it shrinks the sample "
             "mean x̄ towards the prior mean 0.")]),
        Step("Posterior predictive p(x* | D)", [
            ("p(x* | D) = ∫ N(x* | μ, σ²) N(μ | μₙ, σₙ²) dμ. The exponent is quadratic in μ; complete the "
            "square in μ, integrate the Gaussian (SymPy's integrate), then complete the square in x*:")],
            [_e("exponent", r["pred_expo"], t=r"\text{exponent}"),
             _e("= −(μ − c)²/(2w) + k with c", r["pred_c"], t=r"-\frac{(\mu - c)^{2}}{2w} + k:\ c"),
             _e("w", r["pred_w"]), _e("k", r["pred_k"]),
             _e("∫ exp(−(μ − c)²/(2w)) dμ", r["pred_gauss"], t=r"\int e^{-(\mu - c)^{2}/(2w)}\, d\mu"),
             _e("p(x* | D)", r["pred"], t=r"p(x^{*} \mid D)"),
             _e("predictive mean", r["pred_mean"], t=r"\text{predictive mean}"),
             _e("predictive variance", r["pred_var"], t=r"\text{predictive variance}")],
            [("p(x* | D) = N(x* | μₙ, σ² + σₙ²): the variances add (the noise σ² plus the remaining "
             "uncertainty about μ, σₙ²) — not the standard deviations.")]),
        Step("Plug-in predictives and how their variances compare", [
            ("Plugging a point estimate of μ into the likelihood gives N(x* | x̄, σ²) (MLE) and "
            "N(x* | μₙ, σ²) (MAP). The gap to the posterior predictive variance, and its large-n limit:")],
            [_e("(σ² + σₙ²) − σ²", r["var_gap"], t=r"(\sigma^{2} + \sigma_{n}^{2}) - \sigma^{2}"),
             _e("lim_{n→∞} σₙ²", r["var_gap_limit"], t=r"\lim_{n\to\infty} \sigma_{n}^{2}")],
            [("The plug-ins ignore parameter uncertainty: they treat μ as known, so their variance σ² is smaller "
             "than the posterior predictive's σ² + σₙ² by exactly σₙ² > 0, and they are overconfident — most "
             "with little data. The MAP plug-in has the right centre (μₙ) but too small a spread; the MLE plug-in "
             "also ignores the prior. As n → ∞, σₙ² → 0 and all three coincide.")]),
        Step("Marginal likelihood p(D) in closed form", [
            ("p(D) = ∫ Πᵢ N(xᵢ | μ, σ²) N(μ | 0, τ²) dμ. Complete the square in μ in the log of the "
            "integrand and integrate the Gaussian:")],
            [_e("k", r["ev_k"]), _e("w", r["ev_w"]),
             _e("∫ exp(−(μ − c)²/(2w)) dμ", r["ev_gauss"], t=r"\int e^{-(\mu - c)^{2}/(2w)}\, d\mu"),
             _e("p(D)", r["evidence"], r["ev_tidy"], t=r"p(D)"),
             _e("log p(D)", r["log_ev_tidy"], t=r"\log p(D)")],
            [("(SymPy shows log of the first form minus log of the second is "
             f"{r['ev_tidy_check']}.) Equivalently x ~ N(0, σ²I + τ²·11ᵀ): every pair of points is correlated "
             "through the shared μ.")]),
        Step("Order invariance: sequential updating equals the batch update", [
            ("Apply the derived update (prior N(m₀, v₀)) to one point x₁, use the result as the prior for x₂, "
            "and compare with the other order and with both points at once:")],
            [_e("x₁ then x₂: mean", sp.simplify(r["seq12"][0]), t=r"x_{1}\text{ then }x_{2}\text{: mean}"),
             _e("x₁ then x₂: variance", sp.simplify(r["seq12"][1]), t=r"x_{1}\text{ then }x_{2}\text{: variance}"),
             _e("batch {x₁, x₂}: mean", r["batch2"][0], t=r"\text{batch } \{x_{1}, x_{2}\}\text{: mean}"),
             _e("batch: variance", r["batch2"][1], t=r"\text{batch: variance}"),
             _e("(x₁ then x₂) − batch", str(r["diff12"]), t=r"(x_{1}\text{ then }x_{2}) - \text{batch}"),
             _e("(x₂ then x₁) − batch", str(r["diff21"]), t=r"(x_{2}\text{ then }x_{1}) - \text{batch}"),
             _e("blocks (n₁, S₁) then (n₂, S₂) − batch (n₁ + n₂, S₁ + S₂)", str(r["diff_blocks"]),
                t=r"(n_{1}, S_{1})\text{ then }(n_{2}, S_{2}) - \text{batch}")],
            [("All differences simplify to 0: the posterior depends on the data only through n and S = Σxᵢ, "
             "which do not depend on the order, so updating point by point in any order gives the batch "
             "posterior.")]),
    ]
    ev_lines = []
    for tt in (tau, other):
        ev_lines.append(_e(f"τ² = {tt}: log p(D)", _f(log_ev[tt]), t=rf"\tau^{{2}} = {sp.latex(tt)}:\ \log p(D)"))
        ev_lines.append(_e(f"τ² = {tt}: p(D)", (_sci(sp.exp(log_ev[tt])), _sci(sp.exp(log_ev[tt])).replace(
            "e", r"\times 10^{") + "}"), t=rf"\tau^{{2}} = {sp.latex(tt)}:\ p(D)"))
    numbers = [
        _e("n, S, Q", f"{nn}, {SS} = {_f(SS)}, {QQ} = {_f(QQ)}".replace("−", "-"), t=r"n,\ S,\ Q"),
        _e("μ̂_MLE = x̄", mle, _f(mle), t=r"\hat{\mu}_{\mathrm{MLE}} = \bar{x}"),
        _e("μₙ = μ̂_MAP", post_m, _f(post_m), t=r"\mu_{n} = \hat{\mu}_{\mathrm{MAP}}"),
        _e("σₙ²", post_v, _f(post_v), t=r"\sigma_{n}^{2}"),
        _e("σₙ", sp.sqrt(post_v), _f(sp.sqrt(post_v)), t=r"\sigma_{n}"),
        _e("posterior predictive variance σ² + σₙ²", sig + post_v, _f(sig + post_v),
           t=r"\sigma^{2} + \sigma_{n}^{2}"),
        _e("plug-in variance σ²", sig, t=r"\text{plug-in variance } \sigma^{2}"),
        *ev_lines,
        _e(f"log Bayes factor log p(D | τ² = {tau}) − log p(D | τ² = {other})", _f(log_bf),
           t=rf"\log \frac{{p(D \mid \tau^{{2}} = {sp.latex(tau)})}}{{p(D \mid \tau^{{2}} = {sp.latex(other)})}}"),
    ]
    verdict = (f"The data favour τ² = {better}: its marginal likelihood is larger by a factor "
               f"e^{abs(float(log_bf)):.4g} ≈ {float(sp.exp(abs(log_bf))):.4g}.")
    steps.append(Step(f"Numbers: σ² = {sig}, τ² = {tau}, n = {nn} data points", [
        "The expressions above evaluated exactly (and in decimals); p(D) is evaluated, not left as an integral:"],
        numbers, [verdict, _why(tau, other, better, mle, sig, nn)]))
    head = (f"{'k':>3}  {'xₖ':>6}  {'μₖ (= MAP)':>10}  {'σₖ²':>8}  {'σ² + σₖ²':>9}  {'x̄ₖ (MLE)':>9}")
    rows = [head, "-" * len(head)]
    for row in seq:
        p = row["predictive"]
        rows.append(f"{row['k']:>3}  {'' if row['x'] is None else format(row['x'], '.4g'):>6}  "
                    f"{row['posterior']['mean']:>10.5f}  {row['posterior']['variance']:>8.5f}  "
                    f"{p['posterior']['variance']:>9.5f}  "
                    f"{'—' if p['mle_plugin'] is None else format(p['mle_plugin']['mean'], '.5f'):>9}")
    steps.append(Step("Sequential updating: the three predictives after each point", [
        ("Starting from the prior (k = 0), update one point at a time with the derived update; the MLE "
        "plug-in is undefined before any data. "
        "Posterior predictive N(μₖ, σ² + σₖ²), MAP plug-in N(μₖ, σ²), MLE plug-in N(x̄ₖ, σ²):")], [],
        [(f"After all {nn} points the sequential posterior has mean {last['mean']} and variance "
          f"{last['variance']}, identical to the batch result (mean {post_m}, variance {post_v}). "
          "`--plot FILE.png` draws these as 15 panels.")],
        table=rows))
    results = {
        "symbolic": {"posterior_mean": u(r["mean"]), "posterior_variance": u(r["var"]),
                     "posterior_precision": u(r["prec"]), "mle": u(r["mle_roots"][0]), "map": u(r["map_roots"][0]),
                     "predictive": {"mean": u(r["pred_mean"]), "variance": u(r["pred_var"])},
                     "plugin_variance_gap": u(r["var_gap"]), "evidence": u(r["ev_tidy"]),
                     "log_evidence": u(r["log_ev_tidy"])},
        "values": {"sigma2": str(sig), "tau2": str(tau), "compare_tau2": str(other),
                   "n": nn, "S": float(SS), "Q": float(QQ), "mle": float(mle),
                   "posterior": {"mean": float(post_m), "variance": float(post_v), "sd": float(sp.sqrt(post_v)),
                                 "exact": {"mean": str(post_m), "variance": str(post_v)}},
                   "predictive": {"posterior": _normal(post_m, sig + post_v), "mle_plugin": _normal(mle, sig),
                                  "map_plugin": _normal(post_m, sig)},
                   "evidence": [{"tau2": float(tt), "log_p": float(log_ev[tt]), "p": float(sp.exp(log_ev[tt]))}
                                for tt in (tau, other)],
                   "log_bayes_factor": float(log_bf), "bayes_factor": float(sp.exp(log_bf)),
                   "favoured_tau2": float(better)},
    }
    ver = [("−(μ − c)²/(2w) + k equals the log posterior for the solved c, w, k", r["square_check"] == 0),
           ("the MAP equals the posterior mean μₙ", r["map_minus_mean"] == 0),
           ("p(x* | D) has mean μₙ and variance σ² + σₙ²",
            r["pred_mean"] == mn and sp.simplify(r["pred_var"] - s2 - vn) == 0),
           ("the predictive variance exceeds the plug-ins' by σₙ² > 0", (r["var_gap"] - vn) == 0),
           ("the two forms of p(D) agree", r["ev_tidy_check"] == 0),
           ("x₁ then x₂ = x₂ then x₁ = batch", r["diff12"] == [0, 0] and r["diff21"] == [0, 0]),
           ("blocks (n₁, S₁) then (n₂, S₂) = batch", r["diff_blocks"] == [0, 0]),
           ("sequential numbers after the last point = batch numbers",
            sp.Rational(last["mean"]) == post_m and sp.Rational(last["variance"]) == post_v)]
    _ = (S1, S2, m0, v0, mu, n1, n2, x1, x2, xbar, xs, worse)
    return BayesDerivation(
        "normal_normal", "μ ~ N(0, τ²), xᵢ = μ + εᵢ, εᵢ ~ N(0, σ²): posterior, predictive vs plug-ins, marginal "
        "likelihood and Bayes factor, order invariance, sequential updates (P6(b)).", "P6(b)", options,
        "Normal–Normal: posterior, predictive, marginal likelihood", steps, results, ver, sequential=seq)


def _why(tau, other, better, mle, sig, nn):
    small = min(tau, other)
    return (f"Why: a prior variance of τ² = {small} puts about 95% of the prior mass within "
            f"±{float(2 * sp.sqrt(small)):.2g} of 0, while the sample mean is {float(mle):.4g} "
            f"with standard error {float(sp.sqrt(sig / nn)):.3g}; "
            f"the marginal likelihood averages the likelihood over the prior, so it rewards the prior that "
            f"put mass where the data are." if better != small else
            f"Why: the marginal likelihood averages the likelihood over the prior. The sample mean "
            f"{float(mle):.4g} (standard error {float(sp.sqrt(sig / nn)):.3g}) lies where the tighter prior "
            f"τ² = {small} already puts its mass, so the wider prior only spreads mass where the data are not.")
