"""Markdown for the check reports in a notebook (``_repr_markdown_``): a summary
table a person reads at a glance, then the full text report where something
did not pass."""
from __future__ import annotations

__all__ = ["check_report_markdown", "gradcheck_markdown", "tensor_markdown"]

_MARK = {"passed": "✓", "failed": "✗", "cannot_judge": "?"}


def _table(header, rows) -> list[str]:
    cells = [header, *rows]
    return ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in cells[:1]] + \
        ["|" + "---|" * len(header)] + \
        ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in cells[1:]]


def _text_block(text: str) -> list[str]:
    return ["", "```text", text.rstrip("\n"), "```"]


def _tensor_row(t) -> list:
    shape = "×".join(map(str, t.shape)) or "scalar"
    return [f"{_MARK[t.verdict]} `{t.name}`", shape, t.dtype, t.mode, t.verdict.replace("_", " "),
            f"{t.max_rel_error:.2g}", t.reference, t.diagnosis]


_TENSOR_HEADER = ["tensor", "shape", "dtype", "mode", "verdict", "max rel. error", "against", "diagnosis"]


def tensor_markdown(t) -> str:
    lines = _table(_TENSOR_HEADER, [_tensor_row(t)])
    if t.verdict != "passed":
        lines += _text_block("\n".join(t.lines()))
    return "\n".join(lines) + "\n"


def gradcheck_markdown(r) -> str:
    head = f"**gradcheck: {r.verdict.replace('_', ' ')}** — {r.evaluations} evaluations of f, {r.seconds:.3g} s; " \
           f"finite differences: {r.fd_method}; JAX: {r.jax}"
    lines = [head, "", *_table(_TENSOR_HEADER, [_tensor_row(t) for t in r.tensors.values()])]
    lines += [f"- hint: {h}" for h in r.hints] + [f"- note: {n}" for n in r.notes]
    if r.verdict != "passed":
        lines += _text_block(str(r))
    return "\n".join(lines) + "\n"


def check_report_markdown(r) -> str:
    """A ``--check`` report (built-in or model file): one row per combination and parameter."""
    sizes = ", ".join(f"{k} = {v}" for k, v in r.sizes.items())
    lines = [f"**{r.name} --check: {r.verdict.replace('_', ' ')}** — params: {r.params_label()}; sizes: {sizes}", ""]
    rows = []
    for c in r.checks:
        combo = " / ".join(x for x in (c.activation, c.output_activation, c.loss) if x) or "—"
        for p, g in c.gradients.items():
            rows.append([combo, f"`{p}`", f"{g['rel_error_jax']:.2g}", f"{g['rel_error_fd']:.2g}",
                         f"{_MARK[g['verdict']]} {g['verdict'].replace('_', ' ')}"])
    lines += _table(["combination", "param", "rel. error vs JAX", "vs finite differences", "verdict"], rows)
    lines += [f"- note: {n}" for n in r.notes]
    return "\n".join(lines) + "\n"
