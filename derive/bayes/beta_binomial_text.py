"""The Beta–Binomial derivation as worked steps with prose (P6(a))."""
from __future__ import annotations

import sympy as sp

from .beta_binomial import (
    N_,
    NAMES,
    C,
    a,
    al,
    b,
    be,
    lam,
    m,
    map_point,
    p,
    q,
    s,
    t0,
    th,
    y_,
)
from .document import BayesDerivation, Step, eq

__all__ = ["build"]


def _e(lhs, *forms, t=None):
    return eq(lhs, *forms, names=NAMES, lhs_tex=t)


def _value(x):
    x = sp.nsimplify(x)
    return {"exact": str(x), "float": float(x)}


def build(r: dict, vals: dict, options: dict) -> BayesDerivation:
    """Assemble the steps from the symbolic results ``r`` and the numbers ``vals``."""
    A, B = r["A"], r["B"]
    var_form = r["var_pq"].subs({p: A, q: B})
    def ev(e):
        return sp.simplify(sp.expand_func(e.subs(vals)))

    log_ev = sp.N(r["log_evidence"].subs({k_: sp.Float(v_, 30) for k_, v_ in vals.items()}), 20)
    # exact p(y) only while its integers stay short: the Beta functions expand to Gamma functions of
    # α + y and β + N − y, which SymPy evaluates exactly
    small = vals[N_] <= 1000 and all(abs(v) <= 1000 for k, v in vals.items() if k is not N_)
    nA, nB = ev(A), ev(B)
    map_val, map_note = map_point(nA, nB)
    n, k = vals[N_], vals[y_]
    steps = [
        Step("Model", [
            ("Y ~ Bin(N, θ) counts successes in N independent trials with success probability θ; "
            "the prior is θ ~ Beta(α, β). Likelihood and prior density:")],
            [_e("p(y | θ)", r["pmf"], t=r"p(y \mid \theta)"),
             _e("p(θ)", r["prior"], t=r"p(\theta)")]),
        Step("Maximum likelihood: set the derivative of the log-likelihood to zero", [
            "Take logs (the binomial coefficient does not depend on θ) and differentiate:"],
            [_e("log p(y | θ)", r["ll"], t=r"\log p(y \mid \theta)"),
             _e("d/dθ log p(y | θ)", r["d1"], "0", t=r"\frac{d}{d\theta} \log p(y \mid \theta)"),
             _e("θ̂_MLE", *r["roots"], t=r"\hat{\theta}_{\mathrm{MLE}}")],
            [(f"SymPy's solve finds {len(r['roots'])} stationary point(s): the observed frequency. "
             "Second derivative, evaluated there:")]),
        Step("Second-derivative check: the MLE is a maximum", [],
             [_e("d²/dθ² log p(y | θ)", r["d2"], t=r"\frac{d^{2}}{d\theta^{2}} \log p(y \mid \theta)"),
              _e("at θ = y/N", r["curv"], t=r"\text{at } \theta = y/N"),
              _e("with N = y + m (m = N − y > 0)", r["curv_interior"],
                 t=r"\text{with } N = y + m,\ m = N - y > 0")],
             [("For 0 < y < N every factor is positive, so the curvature is negative (SymPy: "
              f"is_negative = {r['curv_interior'].is_negative}): θ̂ = y/N is the unique maximum. "
              "At y = 0 or y = N the log-likelihood is monotone on (0, 1) and its supremum is at the "
              "boundary θ = 0 or θ = 1, which is again y/N.")]),
        Step("Posterior kernel: multiply likelihood and prior, match exponents", [
            ("Bayes: p(θ | y) ∝ p(y | θ) p(θ). Split off the factor that does not depend on θ, "
            "take the log of the rest and collect the coefficients of log θ and log(1 − θ):")],
            [_e("p(y | θ) p(θ)", r["kernel"], t=r"p(y \mid \theta)\, p(\theta)"),
             _e("constant in θ", r["const"], t=r"\text{constant in } \theta"),
             _e("log of the θ-dependent part", r["log_shape"], t=r"\log(\text{kernel})"),
             *[_e(f"coefficient of {sp.sstr(kk).replace('-', '−')}", vv,
                  t=r"\text{coefficient of } " + sp.latex(kk, symbol_names=NAMES))
               for kk, vv in r["coeffs"].items()],
             _e("Beta(a′, b′) needs a′ − 1, b′ − 1 equal to these ⇒ a′", A, t="a'"),
             _e("b′", B, t="b'")],
            [(f"So θ | y ~ Beta(α + y, β + N − y): the kernel divided by θ^(a′−1)(1 − θ)^(b′−1) simplifies "
             f"to {r['ratio']} (a constant). The normaliser is the Beta integral "
             "∫₀¹ θ^(a′−1)(1 − θ)^(b′−1) dθ = B(a′, b′), which also gives the marginal likelihood:"),
             f"p(y) = {_u(r['evidence'])}."]),
        Step("Posterior mean and variance", [
            ("For Beta(p, q) the moments follow from the Beta integral, E[θᵏ] = B(p + k, q)/B(p, q); "
            "SymPy expands the Beta functions into Gamma functions and simplifies:")],
            [_e("E[θ]", r["e1"], t=r"\mathbb{E}[\theta]"),
             _e("E[θ²]", r["e2"], t=r"\mathbb{E}[\theta^{2}]"),
             _e("Var[θ] = E[θ²] − E[θ]²", r["var_pq"], t=r"\operatorname{Var}[\theta]"),
             _e("E[θ | y]", r["mean"], t=r"\mathbb{E}[\theta \mid y]"),
             _e("Var[θ | y]", var_form, t=r"\operatorname{Var}[\theta \mid y]"),
             _e("λ in E[θ | y] = λ·y/N + (1 − λ)·α/(α + β)", r["weight"],
                t=r"\lambda \text{ in } \mathbb{E}[\theta \mid y] = \lambda \tfrac{y}{N} + (1-\lambda)"
                  r"\tfrac{\alpha}{\alpha+\beta}")],
            [("The posterior mean is a weighted average of the MLE y/N and the prior mean α/(α + β), "
             "with weight N/(N + α + β) on the data (solved for by SymPy).")]),
        Step("MAP: set the derivative of the log posterior to zero", [
            "The log posterior is the log kernel (the constant drops out of the derivative):"],
            [_e("log p(θ | y)", (_u(r["lpost"]) + " + const",
                                 sp.latex(r["lpost"], symbol_names=NAMES) + r" + \text{const}"),
                t=r"\log p(\theta \mid y)"),
             _e("θ̂_MAP", *r["map_roots"], t=r"\hat{\theta}_{\mathrm{MAP}}"),
             _e("for Beta(p, q): mode", r["map_pq"], t=r"\text{for Beta}(p, q)\text{: mode}"),
             _e("curvature there", r["mcurv"], t=r"\text{curvature there}"),
             _e("with p = 1 + p₁, q = 1 + q₁", r["mcurv_interior"],
                t=r"\text{with } p = 1 + p_{1},\ q = 1 + q_{1}")],
            [("The curvature is negative whenever p, q > 1 (here α + y > 1 and β + N − y > 1), so the "
             "stationary point is the maximum of the posterior density. If α + y ≤ 1 or β + N − y ≤ 1 the "
             "density has no interior maximum and the MAP sits at a boundary (or is not unique).")]),
        Step("The MAP as the minimiser of a regularised squared-error loss", [
            ("Look for ℓ(θ) = C(y − Nθ)² − aθ + bθ² whose minimiser equals the MAP for every count y. "
            "SymPy sets dℓ/dθ = 0, subtracts the MAP, and requires the numerator to vanish as a "
            "polynomial in y (each coefficient zero), then solves for a and b:")],
            [_e("ℓ(θ)", r["loss"], t=r"\ell(\theta)"),
             _e("dℓ/dθ = 0 ⇒ θ*", r["stat"], t=r"\ell'(\theta) = 0 \Rightarrow \theta^{*}"),
             *[_e(f"coefficient of y^{k_}", c_, "0", t=rf"\text{{coefficient of }} y^{{{k_}}}")
               for k_, c_ in zip(range(len(r["conditions"]) - 1, -1, -1), r["conditions"], strict=True)],
             _e("a", r["ab"][a]), _e("b", r["ab"][b]),
             _e("ℓ″(θ)", r["loss_curv"], t=r"\ell''(\theta)"),
             _e("θ* − θ̂_MAP", r["stat_check"], t=r"\theta^{*} - \hat{\theta}_{\mathrm{MAP}}")],
            [("The solutions form a one-parameter family: for any C > 0, a = 2CN(α − 1) and "
             "b = CN(α + β − 2). Substituting them, ℓ(θ) = C·ℓ₁(θ) with "
             f"ℓ₁(θ) = {_u(r['unit_loss'])} free of C: the family is the positive multiples of one loss, "
             "and scaling a loss does not move its minimiser, so C only sets the units. ℓ″ > 0 (a minimum) "
             "needs C > 0 and N + α + β > 2."),
             ("A natural choice is C = 1/N², which makes the data term the squared error between θ and "
             f"the observed frequency, (y/N − θ)²; then a = {_u(r['ab_choice'][a])} and "
             f"b = {_u(r['ab_choice'][b])}. The regulariser −aθ + bθ² is smallest at "
             f"θ = a/(2b) = {_u(r['reg_min'])}, the prior mode, and its weight falls like 1/N. "
             "ℓ is not the negative log posterior (that is not quadratic); only its minimiser agrees "
             "with the MAP.")]),
        Step("Limits as N → ∞", [
            ("Let the count grow with the data, y = Nθ₀ + s√N (a binomial count fluctuates by order √N). "
            "SymPy's limit:")],
            [_e("lim E[θ | y]", r["lim_mean"], t=r"\lim_{N\to\infty} \mathbb{E}[\theta \mid y]"),
             _e("lim θ̂_MAP", r["lim_map"], t=r"\lim_{N\to\infty} \hat{\theta}_{\mathrm{MAP}}"),
             _e("lim θ̂_MLE", r["lim_mle"], t=r"\lim_{N\to\infty} \hat{\theta}_{\mathrm{MLE}}"),
             _e("lim N·(E[θ | y] − y/N)", r["lim_bias"],
                t=r"\lim_{N\to\infty} N\left(\mathbb{E}[\theta \mid y] - y/N\right)"),
             _e("lim Var[θ | y]", r["lim_var"], t=r"\lim_{N\to\infty} \operatorname{Var}[\theta \mid y]"),
             _e("lim N·Var[θ | y]", r["lim_nvar"], t=r"\lim_{N\to\infty} N \operatorname{Var}[\theta \mid y]"),
             _e("lim λ", r["lim_weight"], t=r"\lim_{N\to\infty} \lambda")],
            [("Posterior mean, MAP and MLE all converge to θ₀; the prior's pull on the mean shrinks like 1/N, "
             "the weight on the data tends to 1, and the posterior concentrates at θ₀ with variance "
             "≈ θ₀(1 − θ₀)/N. The prior is forgotten; the data decide.")]),
    ]
    numbers = [_e("θ̂_MLE", r["mle"], ev(r["mle"]), t=r"\hat{\theta}_{\mathrm{MLE}}"),
               _e("posterior", f"Beta({nA}, {nB})", t=r"\text{posterior}"),
               _e("E[θ | y]", r["mean"], ev(r["mean"]), sp.N(ev(r["mean"]), 10), t=r"\mathbb{E}[\theta \mid y]"),
               _e("Var[θ | y]", ev(r["var"]), sp.N(ev(r["var"]), 10), t=r"\operatorname{Var}[\theta \mid y]"),
               _e("p(y)", ev(r["evidence"]), sp.N(ev(r["evidence"]), 10), t=r"p(y)") if small else
               _e("log p(y)", sp.N(log_ev, 12), t=r"\log p(y)")]
    interior = nA > 1 and nB > 1
    if interior:
        numbers.insert(3, _e("θ̂_MAP", r["map"], map_val, sp.N(map_val, 10), t=r"\hat{\theta}_{\mathrm{MAP}}"))
    elif map_val is not None:
        numbers.insert(3, _e("θ̂_MAP", map_val, t=r"\hat{\theta}_{\mathrm{MAP}}"))
    ca = {C: vals[N_] ** -2}
    if interior:
        numbers.append(_e("loss with C = 1/N²", r["loss"].subs(r["ab"]).subs(ca).subs(vals),
                          t=r"\ell(\theta) \text{ with } C = 1/N^{2}"))
    steps.append(Step(f"Numbers: α = {vals[al]}, β = {vals[be]}, N = {n}, y = {k}", [
        "The same expressions evaluated exactly (and in decimals):"], numbers,
        [f"MAP: {map_note}."] + ([] if interior else [
            ("The stationary-point formula (α + y − 1)/(α + β + N − 2) does not apply here, and neither does the "
            "loss ℓ, whose minimiser is that formula.")])))
    results = {
        "symbolic": {"mle": _u(r["mle"]), "posterior": {"a": _u(A), "b": _u(B)}, "posterior_mean": _u(r["mean"]),
                     "posterior_variance": _u(var_form), "map": _u(r["map"]), "evidence": _u(r["evidence"]),
                     "loss": {"C": "any C > 0", "a": _u(r["ab"][a]), "b": _u(r["ab"][b]),
                              "choice": {"C": _u(1 / N_**2), "a": _u(r["ab_choice"][a]),
                                         "b": _u(r["ab_choice"][b])}},
                     "limits": {"posterior_mean": _u(r["lim_mean"]), "map": _u(r["lim_map"]),
                                "N_times_variance": _u(r["lim_nvar"]), "N_times_mean_minus_mle": _u(r["lim_bias"])}},
        "values": {"mle": _value(ev(r["mle"])), "posterior": {"a": _value(nA), "b": _value(nB)},
                   "posterior_mean": _value(ev(r["mean"])), "posterior_variance": _value(ev(r["var"])),
                   "map": None if map_val is None else _value(map_val), "map_note": map_note,
                   "evidence": _value(ev(r["evidence"])) if small else {"exact": None, "float": float(sp.exp(log_ev))},
                   "log_evidence": float(log_ev),
                   "loss": {"C": _value(ca[C]), "a": _value(ev(r["ab"][a].subs(ca))),
                            "b": _value(ev(r["ab"][b].subs(ca)))}},
    }
    ver = [("θ̂ = y/N is the only stationary point of the log-likelihood", len(r["roots"]) == 1),
           ("the log-likelihood's curvature at y/N is negative for 0 < y < N", r["curv_interior"].is_negative is True),
           ("kernel / θ^(α+y−1)(1−θ)^(β+N−y−1) is constant in θ", not r["ratio"].has(th)),
           ("the MAP is a maximum when α + y > 1 and β + N − y > 1", r["mcurv_interior"].is_negative is True),
           ("the minimiser of ℓ equals the MAP for every y", r["stat_check"] == 0),
           ("every solution (C, a, b) is C times one loss ℓ₁", r["unit_check"] == 0),
           ("posterior mean and MAP tend to θ₀ as N → ∞", r["lim_mean"] == t0 and r["lim_map"] == t0)]
    from .beta_binomial import beta_binomial  # noqa: F401  (for the registry entry's description)
    return BayesDerivation(
        "beta_binomial", "Y ~ Bin(N, θ), θ ~ Beta(α, β): MLE, posterior, mean/MAP/variance, the MAP as a "
        "regularised loss, and N → ∞ (P6(a)).", "P6(a)", options,
        "Beta–Binomial point estimates", steps, results, ver)


def _u(expr):
    from .document import u

    return u(expr)


_ = (m, s, lam, be, al)
