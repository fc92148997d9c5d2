"""``python -m derive FILE.gp --check``: a model file's derived gradient against
JAX and finite differences of the independent NumPy/JAX reading of the file.

The report has the schema of a built-in's ``--check`` (``checks[].gradients[NAME]
.derived``, ``rel_error_jax``, …); the activation/loss fields are ``null``
because the model file writes its own functions.
"""
from __future__ import annotations

import numpy as np

from derive.errors import EXIT, UsageError
from derive.ops.losses import LossOp
from numeric.model import derived, forward, loss_function

from .compare import TOLERANCES, relative_error
from .derivation_check import CheckReport, ComboCheck, gradient_entry, jax_tolerances, oracle_noise
from .gradcheck import gradcheck
from .params import _array, read_params

__all__ = ["check_model", "model_values", "CHECK_SIZES"]

CHECK_SIZES = (3, 4)


def _target_losses(d) -> dict:
    """target name -> the name of the loss it feeds (ce, bce, mse, …)."""
    out = {}
    for n in d.graph.nodes:
        if n.kind == "op" and isinstance(n.op, LossOp):
            t = d.graph.nodes[n.inputs[1]]
            if t.kind == "target":
                out[t.name] = n.op.loss.name
    return out


def random_values(d, sizes: dict, rng: np.random.Generator, positive: bool = False) -> dict:
    """Seeded values for every leaf: targets suited to their loss (a probability
    vector, per row, for ce; probabilities for bce); with ``positive``, every other
    leaf in [0.2, 1] (inside the domain of log, sqrt and division)."""
    feeds = _target_losses(d)
    out = {}
    for name, leaf in d.spec.leaves.items():
        shape = tuple(sizes[x] if isinstance(x, str) else x for x in leaf.dims)
        if positive and not (leaf.kind == "target" and feeds.get(name) in ("ce", "bce")):
            out[name] = rng.uniform(0.2, 1.0, size=shape) if shape else np.float64(rng.uniform(0.2, 1.0))
        elif leaf.kind == "const":
            out[name] = np.float64(rng.uniform(0.5, 1.5))
        elif leaf.kind == "target" and feeds.get(name) == "ce":
            out[name] = rng.dirichlet(np.ones(shape[-1]), size=shape[:-1] or None)
        elif leaf.kind == "target" and feeds.get(name) == "bce":
            out[name] = rng.uniform(0.05, 0.95, size=shape)
        elif leaf.kind == "param" and len(shape) == 2:
            out[name] = rng.normal(size=shape) / np.sqrt(shape[1])
        else:
            out[name] = rng.normal(size=shape)
    return out


def model_values(d, raw: dict) -> tuple[dict, dict]:
    """Validate a parsed ``--params`` object against the model: every leaf by name,
    with its declared number of axes; named dims must agree. Returns (arrays, sizes)."""
    leaves = d.spec.leaves
    if not isinstance(raw, dict):
        raise UsageError(f"--params: expected a JSON object with keys {', '.join(leaves)}; "
                         f"got {type(raw).__name__}")
    missing = [n for n in leaves if n not in raw]
    if missing:
        raise UsageError(f"--params: missing key {missing[0]!r}; required keys: {', '.join(leaves)}")
    extra = sorted(set(raw) - set(leaves))
    if extra:
        raise UsageError(f"--params: unknown key {extra[0]!r}; expected keys: {', '.join(leaves)}")
    values, sizes, origin = {}, {}, {}
    for name, leaf in leaves.items():
        arr = _array(name, raw[name])
        if arr.ndim != len(leaf.dims) or arr.size == 0:
            want = ["a number", "a vector (list of numbers)", "a matrix (list of rows)"][len(leaf.dims)]
            raise UsageError(f"--params: key {name!r} has {arr.ndim} axes but must be {want} of shape "
                             f"[{', '.join(map(str, leaf.dims))}]")
        for dim, n in zip(leaf.dims, arr.shape, strict=True):
            key = str(dim)
            if isinstance(dim, int) and n != dim:
                raise UsageError(f"--params: key {name!r} has size {n} where its declaration says {dim}")
            if key in sizes and sizes[key] != n:
                raise UsageError(f"--params: key {name!r} has {key} = {n} but {origin[key]!r} has {key} = "
                                 f"{sizes[key]}")
            sizes.setdefault(key, n)
            origin.setdefault(key, name)
        values[name] = arr if arr.ndim else np.float64(arr)
    for name, loss in _target_losses(d).items():
        if loss == "ce" and not np.allclose(np.sum(values[name], axis=-1), 1.0, atol=1e-9):
            raise UsageError(f"--params: target {name!r} feeds ce, so it must sum to 1 (per row)")
    return values, {k: v for k, v in sizes.items() if not k.isdigit()}


def check_model(d, *, seed: int = 0, params=None) -> CheckReport:
    """Check the derivation ``d`` (a :class:`derive.model_doc.ModelDerivation`) at one point:
    random (seeded) or ``params`` (a path to JSON, or a dict of arrays)."""
    from numeric.autodiff import jax_grad

    generic = [*d.spec.functions, *d.spec.losses]
    if generic:
        raise UsageError(f"--check needs numbers, and {d.name} declares generic {', '.join(generic)} (no values "
                         "to compute with); replace them with concrete functions and losses (tanh, ce, …) to check")
    notes = []
    if params is None:
        sizes = {dim: CHECK_SIZES[i % len(CHECK_SIZES)] for i, dim in enumerate(d.spec.dims)}
        values = random_values(d, sizes, np.random.default_rng(seed))
        source = "random"
        if not _finite(d, values):
            values = random_values(d, sizes, np.random.default_rng(seed), positive=True)
            notes.append("random values drawn in [0.2, 1]: at signed values the model leaves the domain of a "
                         "log, sqrt, power or division")
    else:
        raw = read_params(params) if isinstance(params, str) else {k: np.asarray(v).tolist()
                                                                     for k, v in params.items()}
        values, sizes = model_values(d, raw)
        source = params if isinstance(params, str) else "given"
    report = CheckReport(d.name, seed, dict(sizes), source)
    report.checks.append(_check_point(d, values, jax_grad))
    report.notes.extend(notes + d.sweep.assumptions)
    return report


def _finite(d, values) -> bool:
    """Every value of the independent forward pass is finite at ``values``."""
    with np.errstate(all="ignore"):
        env = forward(d.spec, values, np)
    return all(np.all(np.isfinite(v)) for v in env.values())


def _check_point(d, values, jax_grad) -> ComboCheck:
    """Compare the model's derived gradient at ``values`` with JAX and finite differences."""
    f = loss_function(d.spec)
    ours, independent = _model_losses(d, f, values)
    grads = ours["gradients"]

    def jax_at(vals):
        return jax_grad(lambda q, xp: f(q, xp), vals, list(grads))

    jg = jax_at(values)
    if not all(np.all(np.isfinite(jg[p])) for p in grads):
        raise UsageError(f"JAX's gradient of {d.name} is not finite at these values; give other values "
                         "with --params")
    noise = oracle_noise(jax_at, values, jg)
    tol = jax_tolerances(jg, noise, grads)
    rep = gradcheck(lambda q: f({**values, **q}, np), {p: values[p] for p in grads}, lambda q: grads,
                    jax_gradient=jg, mode="full", complex_step=False, rtol=max(tol.values()),
                    parts={p: dict(ours["contributions"][p]) for p in grads})
    passed = relative_error(ours["loss"], independent) <= TOLERANCES["loss"]
    out = {}
    for p, g in grads.items():
        passed = passed and rep.tensors[p].passed
        out[p] = gradient_entry(rep, p, g, jg[p], noise[p])
    contribs = {p: [{"path": label, "value": np.asarray(v).tolist()} for label, v in ours["contributions"][p]]
                for p in grads}
    return ComboCheck(None, None, None, ours["loss"], independent, out, contribs, bool(passed))


def _model_losses(d, f, values) -> tuple[dict, float]:
    """(the derived graph's result, the independent forward's loss) at ``values``; refuses a non-finite loss."""
    with np.errstate(all="ignore"):
        ours = derived(d, values)
        independent = float(f(values, np))
    if not (np.isfinite(ours["loss"]) and np.isfinite(independent)):
        raise UsageError(f"the loss of {d.name} is not finite at these values (L = {independent}); a log, "
                         "sqrt or division left its domain — give values inside it with --params")
    return ours, independent


def _vec(v):
    return "[" + ", ".join(f"{x: .10g}" for x in np.ravel(v)) + "]"


def render_model_check(report: CheckReport) -> str:
    """The text of ``FILE.gp --check``."""
    c = report.checks[0]
    sizes = ", ".join(f"{k} = {v}" for k, v in report.sizes.items()) or "scalars"
    L = [f"{report.name} --check  (params: {report.params_label()}, sizes: {sizes})",
         f"loss: derived graph {c.loss_value:.15g}, independent forward {c.loss_independent:.15g}", ""]
    head = f"{'param':<8} {'err JAX':>9} {'err FD':>9}  ok"
    L += [head, "-" * len(head)]
    for p, g in c.gradients.items():
        L.append(f"{p:<8} {g['rel_error_jax']:>9.2e} {g['rel_error_fd']:>9.2e}  {'✓' if g['passed'] else '✗'}")
    for p, g in c.gradients.items():
        L += ["", f"∂L/∂{p}:", f"  derived            {_vec(g['derived'])}", f"  JAX                {_vec(g['jax'])}",
              f"  finite differences {_vec(g['finite_difference'])}  (error estimate {g['fd_error_estimate']:.1e})"]
        parts = c.contributions.get(p, [])
        if len(parts) > 1:
            L += [f"  {part['path']:<18} {_vec(part['value'])}" for part in parts]
        if g["kinks"]:
            L.append(f"  note: x ± h straddles a kink at {g['kinks']}; finite differences cannot judge it there, "
                     "JAX still does")
        L += [f"  ? cannot judge {label}: {why}" for label, why in g["unjudged"]]
        if g["verdict"] == "failed":
            L.append(f"  ✗ {g['diagnosis']}" + "".join(f"; {h}" for h in g["hints"]))
    L += [f"note: {n}" if n.startswith("random values") else f"note: assuming {n}" for n in report.notes]
    last = {"passed": "check passed", "failed": "CHECK FAILED",
            "cannot_judge": "CANNOT JUDGE: no oracle disagrees, but some entries could not be judged"}
    L += ["", last[report.verdict]]
    return "\n".join(L) + "\n"


def run_model_check(d, *, seed=0, params=None, as_json=False) -> tuple[int, str]:
    """(exit status, text) for the CLI."""
    import json

    report = check_model(d, seed=seed, params=params)
    text = json.dumps(report.to_dict(), indent=2, allow_nan=False) + "\n" if as_json else render_model_check(report)
    return EXIT[report.verdict], text
