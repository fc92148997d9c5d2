"""``--check``: a derivation's gradient, lambdified, against JAX and finite differences.

For each activation/loss combination: the loss of the symbolic graph must
equal the independent forward function's loss, and :func:`checks.gradcheck`
compares the derived gradient with ``jax.grad`` of the independent JAX forward
and Richardson-extrapolated central differences of the independent NumPy
forward (tolerances from their error estimates; kinks left to JAX).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field

import numpy as np

from derive import derive
from derive.registry import entries, get
from derive.errors import CannotJudge, UsageError
from derive import progress
from derive.schema import header
from numeric import FORWARDS, compile_sweep

from .compare import TOLERANCES, relative_error
from .gradcheck import gradcheck
from .params import random_params, read_params, validate_params
from .rnn import check_eps_lr, flatten_rnn_params
from .tolerances import RTOL, SAFETY

__all__ = ["CheckReport", "ComboCheck", "check_derivation", "combinations", "GRID_HIDDEN", "GRID_OUTPUT"]

GRID_HIDDEN = ("sigmoid", "tanh", "relu", "softplus")
GRID_OUTPUT = (("identity", "mse"), ("sigmoid", "bce"), ("softmax", "ce"), ("tanh", "mse"))
DEFAULT_OUTPUT = {"mse": "identity", "bce": "sigmoid", "ce": "softmax"}
OUTPUTS_FOR = {"bce": ("sigmoid", "softmax"), "ce": ("softmax", "sigmoid")}


@dataclass
class ComboCheck:
    activation: str
    output_activation: str
    loss: str
    loss_value: float
    loss_independent: float
    gradients: dict
    contributions: dict
    passed: bool
    worked: dict | None = None  # rnn_bptt: P5's worked solution, computed

    def to_dict(self):
        extra = {"worked_solution": self.worked} if self.worked is not None else {}
        return {**extra,
            "activation": self.activation,
            "output_activation": self.output_activation,
            "loss": self.loss,
            "loss_value": self.loss_value,
            "loss_independent": self.loss_independent,
            "loss_rel_error": relative_error(self.loss_value, self.loss_independent),
            "gradients": self.gradients,
            "contributions": self.contributions,
            "passed": self.passed,
            "verdict": self.verdict,
        }

    @property
    def verdict(self) -> str:
        """``"passed"``; ``"cannot_judge"`` when nothing failed but some gradient could not be
        judged; else ``"failed"``."""
        if self.passed:
            return "passed"
        settled = (relative_error(self.loss_value, self.loss_independent) <= TOLERANCES["loss"]
                   and (self.worked is None or self.worked["rel_error_per_step_vs_reverse"] <= TOLERANCES["jax"]))
        verdicts = {g.get("verdict", "failed") for g in self.gradients.values()}
        return "cannot_judge" if settled and "failed" not in verdicts else "failed"


@dataclass
class CheckReport:
    name: str
    seed: int
    sizes: dict
    source: str
    checks: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    @property
    def verdict(self) -> str:
        verdicts = {c.verdict for c in self.checks} or {"failed"}
        return "failed" if "failed" in verdicts else "cannot_judge" if "cannot_judge" in verdicts else "passed"

    def params_label(self) -> str:
        return f"random, seed {self.seed}" if self.source == "random" else self.source

    def _repr_markdown_(self):  # Jupyter
        from .notebook import check_report_markdown

        return check_report_markdown(self)

    def to_dict(self):
        return {**header("check"), "name": self.name, "passed": self.passed, "verdict": self.verdict, "seed": self.seed,
                "sizes": self.sizes,
                "params": self.source, "tolerances": check_tolerances(), "notes": list(self.notes),
                "checks": [c.to_dict() for c in self.checks]}


def check_tolerances() -> dict:
    """What ``--check`` accepts: JAX within rtol (float64, wider where JAX's own rounding
    noise is), finite differences within 4 × their error estimate + rtol·max|FD|."""
    return {"jax": RTOL["float64"], "finite_difference": RTOL["float64"], "fd_error_estimate_factor": SAFETY,
            "loss": TOLERANCES["loss"]}


def combinations(options: dict, defaults: dict | None = None):
    """The (activation, output activation, loss) triples to check: what the
    user fixed, else the derivation's own concrete default, else the grid."""
    from derive.functions import ACTIVATIONS, LOSSES, custom_activation, custom_loss, is_expression

    defaults = defaults or {"activation": "g", "output_activation": "g1", "loss": "l"}

    def pick(key):
        value = options.get(key)
        if value is None and defaults.get(key) in ACTIVATIONS.keys() | LOSSES.keys():
            value = defaults[key]
        return value

    a, o, ls = pick("activation"), pick("output_activation"), pick("loss")
    for name, kind, table in ((a, "activation", ACTIVATIONS), (o, "output activation", ACTIVATIONS),
                              (ls, "loss", LOSSES)):
        if name is not None and name not in table:
            if is_expression(name):
                # vetted here, so a bad expression fails before any number is computed
                (custom_loss if kind == "loss" else custom_activation)(name)
                continue
            raise UsageError(f"--check needs a concrete {kind}; got {name!r}; choose one of: "
                             f"{', '.join(sorted(table))}, or type an expression")
    if a == "softmax":
        raise UsageError("softmax is an output activation; choose a hidden --activation from: "
                         f"{', '.join(GRID_HIDDEN + ('identity',))}")
    hidden = (a,) if a else GRID_HIDDEN
    pairs = [(oo, ll) for oo, ll in GRID_OUTPUT if (o in (None, oo)) and (ls in (None, ll))]
    if not pairs:  # a typed loss defaults to sigmoid outputs, where logs of ŷ are defined
        pairs = [(o or DEFAULT_OUTPUT.get(ls, "sigmoid"), ls or "mse")]
    for oo, ll in pairs:
        if ll in OUTPUTS_FOR and oo not in OUTPUTS_FOR[ll]:
            raise UsageError(f"loss {ll!r} needs outputs in {LOSS_RANGE[ll]}; output activation {oo!r} "
                             f"does not give that; use --output-activation {' or '.join(OUTPUTS_FOR[ll])}")
    return [(h, oo, ll) for h in hidden for oo, ll in pairs]


LOSS_RANGE = {"bce": "(0, 1)", "ce": "(0, 1) summing to 1"}



SIMPLEX_TOL = 1e-9  # how far from 1 the sum of a cross-entropy target may be (then it is renormalised)


def _check_targets(values, loss) -> tuple[dict, list]:
    """(values, notes): targets checked against the loss's domain — ce: non-negative, summing to 1
    within 1e-9 (renormalised to sum to exactly 1, as the proof assumes); bce: in [0, 1]."""
    notes, out = [], dict(values)
    for key in [k for k in values if k == "y" or (k[:1] == "y" and k[1:].isdigit())]:
        y = np.asarray(values[key], dtype=np.float64)
        total = float(np.sum(y))
        if loss == "ce" and (np.any(y < 0) or abs(total - 1.0) > SIMPLEX_TOL):
            raise UsageError(f"--params: key {key!r} must be a probability vector for loss 'ce' (entries ≥ 0 "
                             f"summing to 1 within {SIMPLEX_TOL:g}); got {np.round(y, 6).tolist()} with sum "
                             f"{total:.10g}")
        if loss == "ce" and total != 1.0:
            out[key] = y / total
            notes.append(f"{key} summed to {total:.12g}; divided by its sum (cross-entropy's proof takes Σy = 1)")
        if loss == "bce" and np.any((y < 0) | (y > 1)):
            raise UsageError(f"--params: key {key!r} must lie in [0, 1] for loss 'bce'; got "
                             f"{np.round(y, 6).tolist()}")
    return out, notes


def check_derivation(name: str, options: dict | None = None, *, seed: int = 0, params=None,
                     wrt=None, sizes=None, eps=None, lr=None) -> CheckReport:
    """Run the numeric checks of derivation ``name``; ``params`` is a path to
    a JSON file or a dict of arrays (then every combination uses it).
    ``eps`` and ``lr`` are rnn_bptt's central-difference step and learning rate."""
    from numeric.autodiff import jax_grad

    options = dict(options or {})
    entry = get(name)  # an unknown name fails here, with the list of valid ones
    _check_step_options(entry, eps, lr)
    raw_params = _raw_params(params, entry, options)
    combos = combinations(options, entry.defaults)
    extra = {k: v for k, v in options.items() if k not in ("activation", "output_activation", "loss")}
    forward = FORWARDS[name]
    report = CheckReport(name, seed, dict(sizes or {}), _params_source(params))
    fixed = None
    for n, (a, o, ls) in enumerate(combos):
        progress.update(f"checking {name} ({a}, {o}, {ls})", n + 1, len(combos))
        d = derive(name, wrt=wrt, activation=a, output_activation=o, loss=ls, **extra)
        if not report.sizes:
            report.sizes = dict(d.spec.check_sizes)
        if fixed is None and params is not None:
            fixed = _fixed_values(report, d, params, raw_params)
        strict = options.get("loss") == ls or len(combos) == 1  # a mismatched target is an error, not a skip
        values = _combo_values(report, d, fixed, (a, o, ls), [seed, n], strict)
        if values is None:
            continue
        combo = check_values(d, values, forward, jax_grad)
        _add_worked_solution(entry, d, combo, values, eps, lr)
        report.checks.append(combo)
    return report


def _check_step_options(entry, eps, lr) -> None:
    """Refuse ``--eps``/``--lr`` for a derivation that takes neither, and values not positive and finite."""
    if (eps is not None or lr is not None) and not entry.check_options:
        takers = [e.name for e in entries() if e.check_options]
        raise UsageError(f"--eps and --lr are for {' and '.join(takers)} --check")
    check_eps_lr(eps, lr)


def _raw_params(params, entry, options: dict):
    """The parsed ``--params`` file, or None; a sequence model's steps are flattened, setting ``options["steps"]``."""
    if not isinstance(params, str):
        return None
    raw_params = read_params(params)
    if entry.sequence_params:
        raw_params, T = flatten_rnn_params(raw_params)
        if options.get("steps") not in (None, T):
            raise UsageError(f"--steps {options['steps']} disagrees with the {T} time steps of 'x' in --params")
        options["steps"] = T
    return raw_params


def _params_source(params) -> str:
    """How the report names its point: ``"random"``, the file's path, or ``"given"`` (a dict of arrays)."""
    return "random" if params is None else (params if isinstance(params, str) else "given")


def _fixed_values(report: CheckReport, d, params, raw_params) -> dict:
    """The arrays of ``params`` (a file, validated against ``d``'s graph, sets the report's sizes; or a dict)."""
    if isinstance(params, str):
        fixed, report.sizes = validate_params(d.graph, raw_params)
        return fixed
    return {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}


def _combo_values(report: CheckReport, d, fixed, combo: tuple, seed: list, strict: bool):
    """The point to check one combination at: ``fixed`` fitted to its loss, else random; None to skip it (noted)."""
    a, o, ls = combo
    if fixed is None:
        return random_params(d.graph, report.sizes, ls, np.random.default_rng(seed))
    try:
        values, notes = _check_targets(fixed, ls)
        report.notes += [n for n in notes if n not in report.notes]
    except UsageError as e:
        if strict:
            raise
        report.notes.append(f"skipped {a}/{o}/{ls}: {str(e).removeprefix('--params: ')}")
        return None
    return values


def _add_worked_solution(entry, d, combo: ComboCheck, values, eps, lr) -> None:
    """Attach the entry's worked solution to ``combo`` (which then passes only if it agrees with the sweep)."""
    worked = d.spec.forward_mode if entry.worked_solution else ""  # the parameter it is about
    if worked and worked not in d.spec.wrt and (eps is not None or lr is not None):
        raise UsageError(f"--eps and --lr are {entry.problem}'s worked solution for {worked}; "
                         f"add {worked} to --wrt")
    if worked and worked in d.spec.wrt:
        combo.worked = _hook(entry.worked_solution)(d, values, eps=eps, lr=lr)
        # the worked solution's per-step route must give the same gradient as the sweep
        combo.passed = combo.passed and combo.worked["rel_error_per_step_vs_reverse"] <= TOLERANCES["jax"]


def _hook(where: str):
    """The function a registry entry names as ``module:function``."""
    module, _, fn = where.partition(":")
    return getattr(importlib.import_module(module), fn)


def oracle_noise(jax_at, values, g0, probes=2):
    """How much JAX's float64 gradient moves when every input is perturbed by a
    few ulps: the accuracy any float64 evaluation can claim at this point.
    Well-conditioned points give ~1e-16 (the 1e-12 tolerance stands);
    saturated ones (log(1 − ŷ) with ŷ ≈ 1) give more, and the tolerance follows."""
    rng = np.random.default_rng(0)
    noise = {p: 0.0 for p in g0}
    eps = np.finfo(np.float64).eps
    for _ in range(probes):
        shaken = {k: np.asarray(v) * (1 + 4 * eps * rng.choice([-1.0, 1.0], size=np.shape(v)))
                  for k, v in values.items()}
        g = jax_at(shaken)
        for p in g0:
            noise[p] = max(noise[p], float(np.max(np.abs(g[p] - g0[p]))) if np.size(g[p]) else 0.0)
    return noise


def check_values(d, values, forward, jax_grad, gradient_fn=None) -> ComboCheck:
    """Compare one derivation at one point. ``gradient_fn(values)`` may replace
    the derived gradients (tests plant wrong ones through it)."""
    opts = dict(d.options)
    label = (opts["activation"], opts["output_activation"], opts["loss"])
    a, o, ls = label
    result, loss_ind = _losses(d, values, forward, opts, label)
    derived = gradient_fn(values) if gradient_fn else result["gradients"]
    _require_finite_derived(derived, label)

    def jax_at(vals):
        return jax_grad(lambda q, xp: forward(q, xp=xp, **opts), vals, list(derived))

    jg = jax_at(values)
    noise = oracle_noise(jax_at, values, jg)
    passed = relative_error(result["loss"], loss_ind) <= TOLERANCES["loss"]
    if not all(np.all(np.isfinite(jg[p])) for p in derived):
        raise _oracles_not_finite(label)
    tol = jax_tolerances(jg, noise, derived)
    report = gradcheck(lambda q: forward({**values, **q}, xp=np, **opts), {p: values[p] for p in derived},
                       lambda q: derived, jax_gradient={p: jg[p] for p in derived}, mode="full",
                       complex_step=False, rtol=max(tol.values()),
                       parts={p: dict(result["contributions"][p]) for p in derived})
    grads, contribs = {}, {}
    for p, g in derived.items():
        if not np.all(np.isfinite(report.tensors[p].fd_values)):
            raise _oracles_not_finite(label)
        grads[p] = gradient_entry(report, p, g, jg[p], noise[p])
        passed = passed and report.tensors[p].passed
        contribs[p] = [{"path": path, "value": v.tolist()} for path, v in result["contributions"][p]]
    return ComboCheck(a, o, ls, result["loss"], loss_ind, grads, contribs, bool(passed))


def _losses(d, values, forward, opts: dict, label: tuple) -> tuple[dict, float]:
    """(the compiled sweep's result, the independent forward's loss) at ``values``; refuses a non-finite loss."""
    with np.errstate(all="ignore"):
        result = compile_sweep(d.sweep)(values)
        loss_ind = float(forward(values, xp=np, **opts))
    if not (np.isfinite(result["loss"]) and np.isfinite(loss_ind)):
        a, o, ls = label
        raise UsageError(f"the loss is not finite at these values ({a}, {o}, {ls}: L = {loss_ind}); "
                         f"the outputs leave the loss's domain — for bce/ce they must stay inside (0, 1)")
    return result, loss_ind


def _require_finite_derived(derived: dict, label: tuple) -> None:
    """Refuse to judge derived gradients that overflow to Inf or NaN where the loss is finite."""
    bad = [p for p, g in derived.items() if not np.all(np.isfinite(g))]
    if bad:
        a, o, ls = label
        raise CannotJudge(f"the derived ∂L/∂{bad[0]} does not evaluate to finite float64 numbers at these "
                          f"values ({a}, {o}, {ls}): its formula overflows where the loss does not — give smaller "
                          "parameters with --params")


def _oracles_not_finite(label: tuple) -> UsageError:
    """The error for a point where JAX or the finite differences are not finite."""
    a, o, ls = label
    return UsageError(f"the oracles are not finite at these values ({a}, {o}, {ls}); the point is "
                      "outside the functions' numeric range — use smaller parameters")


def jax_tolerances(jg: dict, noise: dict, names) -> dict:
    """Per parameter, JAX's tolerance: rtol, widened to 8× JAX's rounding noise relative to max|JAX|, ≤ 1e-6."""
    # JAX's tolerance widens to 8× its own rounding noise at this point (saturated outputs),
    # up to 1e-6; a gradient that is exactly zero has no relative noise to speak of
    scale = {p: float(np.max(np.abs(jg[p]))) if np.size(jg[p]) else 0.0 for p in names}
    return {p: min(max(RTOL["float64"], 8 * noise[p] / scale[p]), 1e-6) if scale[p] > 0 else RTOL["float64"]
            for p in names}


def gradient_entry(report, p: str, g, jax_g, noise: float) -> dict:
    """The report entry of parameter ``p`` (a built-in's or a model file's): derived vs JAX vs
    finite differences, errors, kinks and verdict."""
    t, g = report.tensors[p], np.asarray(g)
    smooth = np.ones(np.shape(g), dtype=bool)
    for ix in t.kinks:
        smooth[ix] = False
    return {"derived": g.tolist(), "jax": jax_g.tolist(), "finite_difference": t.fd_values.tolist(),
            "fd_error_estimate": float(np.max(t.fd_errors)) if np.size(t.fd_errors) else 0.0,
            "rel_error_jax": relative_error(g, jax_g),
            "rel_error_fd": relative_error(g[smooth], t.fd_values[smooth]) if smooth.any() else 0.0,
            "tolerance_jax": t.rtol, "jax_rounding_noise": noise,
            "kinks": [list(map(int, ix)) for ix in t.kinks], "passed": t.passed,
            "verdict": t.verdict, "unjudged": [list(u) for u in t.unjudged], "diagnosis": t.diagnosis,
            "hints": [str(h) for h in t.hints + report.hints]}
