"""The documents the golden tests pin: every built-in, every example model file,
both trace modes, each rendered as text, LaTeX, Markdown and JSON.

``python tests/golden/cases.py --write`` rewrites the pinned files after an
intended change to an output (review the diff before committing it).
"""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FORMATS = ("text", "latex", "markdown", "json")

BUILTINS = {
    "shared_bias": {},
    "shared_bias_tanh_bce": {"name": "shared_bias", "activation": "tanh", "loss": "bce"},
    "input_gradient": {},
    "sigmoid_mlp": {},
    "shared_bias_typed": {"name": "shared_bias", "activation": "z + z**3/3",
                          "loss": "(yhat_1 - y_1)**2 + log(1 + yhat_2**2)"},
    "rnn_bptt": {},
    "rnn_bptt_w": {"name": "rnn_bptt", "wrt": ["W", "V"], "steps": 2},
    "normal_normal": {},
    "beta_binomial": {},
}
PROVED = ("shared_bias", "model_least_squares", "model_residual_block", "normal_normal", "beta_binomial",
          "trace_forward", "trace_reverse")  # also pinned with their proof (or verification, or sympy.diff check)
TRACES = {
    "trace_forward": ("x*y + sin(x)", {"x": "2", "y": "3"}, "x", False),
    "trace_reverse": ("log(x*y) + x**2/y", {"x": "1/2", "y": "3"}, None, True),
}


def documents():
    """{case name: document object}: everything :func:`render` can print."""
    import derive
    from derive.trace import trace

    out = {}
    for case, options in BUILTINS.items():
        options = dict(options)
        name = options.pop("name", case)
        out[case] = derive.derive(name, **options)
    for path in sorted((ROOT / "examples" / "models").glob("*.gp")):  # named as from the repository's root
        out["model_" + path.stem] = derive.model(path.read_text(encoding="utf-8"), name=path.stem,
                                                 path=f"examples/models/{path.name}")
    for case, (text, at, wrt, reverse) in TRACES.items():
        out[case] = trace(text, at, wrt=wrt, reverse=reverse)
    return out


def render(doc, fmt: str, proof: bool = False) -> str:
    """One format of a document; without the proof section unless asked (the cache must be off)."""
    return getattr(doc, fmt)(proof=proof)


def path(case: str, fmt: str, proof: bool = False) -> Path:
    ext = {"text": "txt", "latex": "tex", "markdown": "md", "json": "json"}[fmt]
    return HERE / f"{case}{'.proved' if proof else ''}.{ext}"


def pinned():
    """[(case, format, proof)] for every pinned file."""
    return [(c, f, False) for c in CASES for f in FORMATS] + [(c, f, True) for c in PROVED for f in FORMATS]


CASES = [*BUILTINS, *("model_" + p.stem for p in sorted((ROOT / "examples" / "models").glob("*.gp"))), *TRACES]


if __name__ == "__main__" and "--write" in sys.argv:
    sys.path.insert(0, str(ROOT))
    import os

    os.environ["GRADPROOF_CACHE"] = "off"
    docs = documents()
    for case, fmt, proof in pinned():
        path(case, fmt, proof).write_text(render(docs[case], fmt, proof), encoding="utf-8")
    print(f"wrote {len(list(HERE.glob('*.*'))) - 1} files to {HERE}")
