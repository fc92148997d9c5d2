"""A model file's derivation: forward pass, shapes, occurrences and paths, the
sweep step by step, the result, and the proof, rendered as text, LaTeX,
Markdown or JSON (the same schema as a built-in derivation's).

>>> d = model("input x[n]\\nparam w[n]\\nL = sum(w * x) ** 2", name="square")
>>> d.formula("w")
'2·sum(w ⊙ x) x'
>>> d.proof.holds
True
"""
from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path

import sympy as sp

from .derivation import _finite_sums, _rename_dummies, aligned
from .errors import UsageError
from .index import entry
from .model_file import ModelSpec, parse_model, read_model
from .model_proof import default_sizes, prove_model
from .printing import latex, tex_text, unicode
from .proof import ProofResult
from .sweep import MAX_PATHS, ModelSweep, build_graph, sweep

__all__ = ["ModelDerivation", "model", "load_model"]


def model(text: str, *, wrt=None, sizes=None, name: str = "model", path: str | None = None) -> ModelDerivation:
    """The derivation of the model written in ``text`` (the model-file format).

    ``wrt`` overrides the file's ``wrt`` line; ``sizes`` (named dim → int)
    the proof's sizes.
    """
    return ModelDerivation(parse_model(text, path or f"<{name}>"), name=name, wrt=wrt, sizes=sizes)


def load_model(path: str, *, wrt=None, sizes=None) -> ModelDerivation:
    """The derivation of the model file at ``path``."""
    return ModelDerivation(read_model(path), name=Path(path).stem, wrt=wrt, sizes=sizes)


class ModelDerivation:
    """Everything derived from one model file; renders itself."""

    def __init__(self, spec: ModelSpec, *, name: str, wrt=None, sizes=None):
        self.spec, self.name = spec, name
        self.graph = build_graph(spec)
        self.wrt = self._wrt(wrt)
        self.sizes = self._sizes(sizes)
        self._proof: ProofResult | None = None

    def _wrt(self, wrt):
        if wrt is None:
            return list(self.spec.wrt)
        wrt = [w.strip() for w in (wrt.split(",") if isinstance(wrt, str) else wrt) if w.strip()]
        leaves = self.spec.leaves
        choices = sorted(n for n, lf in leaves.items() if lf.kind in ("param", "input"))
        for w in wrt:
            if w not in leaves or leaves[w].kind not in ("param", "input"):
                raise UsageError(f"--wrt {w!r} is not a param or input of {self.name}; choose from: "
                                 f"{', '.join(choices)}")
        from .model_file import _reaches

        reach = _reaches(self.spec.equations, self.spec.loss)
        for w in wrt:
            if w not in reach:
                raise UsageError(f"--wrt {w!r} does not reach the loss {self.spec.loss!r} of {self.name}")
        if not wrt:
            raise UsageError(f"--wrt needs at least one name; choose from: {', '.join(choices)}")
        return wrt

    def _sizes(self, sizes):
        out = default_sizes(self.spec.dims)
        for k, v in (sizes or {}).items():
            if k not in out:
                raise UsageError(f"size {k!r} is not a dimension of {self.name}; its dims: "
                                 f"{', '.join(self.spec.dims) or '(none)'}")
            if not isinstance(v, int) or not 1 <= v <= 8:
                raise UsageError(f"proof size {k} = {v!r}: give an integer from 1 to 8")
            out[k] = v
        return out

    @cached_property
    def sweep(self) -> ModelSweep:
        return sweep(self.graph, self.wrt)

    @property
    def names(self):
        return self.graph.names

    @property
    def proof(self) -> ProofResult:
        if self._proof is None:
            self._proof = prove_model(self.sweep, self.sizes)
        return self._proof

    @property
    def title(self) -> str:
        return self.spec.title or f"model {self.name}"

    # -- pieces ------------------------------------------------------------------
    def u(self, expr) -> str:
        return unicode(expr, self.names)

    def tex(self, expr) -> str:
        return latex(expr, self.names)

    def formula(self, param, form="matrix") -> str:
        g = self.sweep.gradients[param]
        return self.u(g.total if form == "matrix" else g.expanded)

    def component(self, param):
        """(index symbols, the (i, j) entry of ∂L/∂param in forward quantities), indexed
        structurally (:mod:`derive.index`); ((), None) for a scalar."""
        shape = self.graph.node(param).shape
        if not shape:
            return (), None
        idx = sp.symbols("i j")[:len(shape)]
        at = idx if len(shape) == 2 else (idx[0], 0)
        return idx, _rename_dummies(_finite_sums(entry(self.sweep.gradients[param].expanded, *at)))

    def _component_lhs(self, param, tex=False):
        idx, _ = self.component(param)
        u, t = self.names[param]
        if tex:
            return rf"\frac{{\partial L}}{{\partial \left({t}\right)_{{{''.join(map(str, idx))}}}}}"
        return f"∂L/∂{u}[{','.join(map(str, idx))}]"

    def forward(self):
        """[(name, unicode rhs, latex rhs)] for each assignment."""
        out = []
        for e in self.spec.equations:
            n = self.graph.node(e.name)
            out.append((e.name, self.u(n.form), self.tex(n.form)))
        return out

    def shapes(self):
        """[(name, kind, dims as text)] for every leaf and assignment."""
        rows = []
        for n in self.graph.nodes:
            if n.name is None:
                continue
            kind = n.kind if n.kind != "op" else ("loss" if n.name == self.spec.loss else "computed")
            dims = " × ".join(str(s) for s in n.shape) or "scalar"
            rows.append((n.name, kind, dims))
        return rows

    def _lhs(self, step, tex=False):
        if step.anonymous:
            inner = (self.tex if tex else self.u)(step.lhs)
            return rf"\frac{{\partial L}}{{\partial \left({inner}\right)}}" if tex else f"∂L/∂({inner})"
        return (self.tex if tex else self.u)(step.lhs)

    def steps_rows(self):
        """[(rule, note, [unicode lhs, forms…], [latex lhs, forms…])]."""
        return [(s.rule, s.note, [self._lhs(s)] + [self.u(f) for f in s.forms],
                 [self._lhs(s, tex=True)] + [self.tex(f) for f in s.forms]) for s in self.sweep.steps]

    def occurrences(self, p):
        """[(occurrence unicode, occurrence latex, assignment, paths as unicode chains)]."""
        out = []
        for o in self.sweep.gradients[p].occurrences:
            ou, ot = self.names[o.occurrence.name]
            chains = [[ou] + [self.names[x][0] for x in path] for path in o.paths]
            out.append((ou, ot, o.equation, chains))
        return out

    # -- text ----------------------------------------------------------------------
    def text(self, proof=True) -> str:
        head = f"{self.name} — {self.title}"
        L = [head, "=" * len(head), "", "Forward pass"]
        L += [f"  {self.names[n][0]} = {u}" for n, u, _ in self.forward()]
        L += ["", "Shapes"] + [f"  {self.names[n][0]}: {dims}  ({kind})" for n, kind, dims in self.shapes()]
        for p in self.wrt:
            L += self._paths_text(p)
        L += ["", "Backpropagation, step by step (reverse sweep; x̄ means ∂L/∂x, ⊙ is the elementwise product)"]
        for rule, note, forms, _ in self.steps_rows():
            L.append(f"  [{rule}]" + (f"  {note}" if note else ""))
            L.append("    " + " = ".join(forms))
        for p in self.wrt:
            g = self.sweep.gradients[p]
            forms = [self.u(g.total)] + ([self.u(g.expanded)] if g.expanded != g.total else [])
            L += ["", f"Result: ∂L/∂{self.names[p][0]} = " + " = ".join(forms)]
            idx, comp = self.component(p)
            if comp is not None:
                L.append(f"  component {','.join(map(str, idx))}:  {self._component_lhs(p)} = {self.u(comp)}")
        if proof:
            L += ["", *self.proof_text()]
        return "\n".join(L) + "\n"

    def _paths_text(self, p):
        occ = self.occurrences(p)
        u = self.names[p][0]
        L = [""]
        if len(occ) > 1:
            where = ", ".join(f"{ou} in {self.names[eq][0]}" for ou, _, eq, _ in occ)
            L.append(f"Occurrences of {u}: used at {len(occ)} sites; untie them as {where}")
        L.append(f"Computational paths from {u} to {self.names[self.spec.loss][0]}")
        k = 0
        for _, _, _, chains in occ:
            for chain in chains[:MAX_PATHS]:
                k += 1
                L.append(f"  {k}. " + " → ".join(chain))
            if len(chains) > MAX_PATHS:
                L.append(f"  … more than {MAX_PATHS} paths from this occurrence; the sweep sums them all")
        return L

    def proof_text(self):
        pr = self.proof
        sizes = ", ".join(f"{k} = {v}" for k, v in pr.sizes.items()) or "scalars"
        L = [f"Proof against sympy.diff of the explicit scalar loss ({sizes}): " + ("HOLDS" if pr.holds else "FAILS")]
        for c in pr.checks:
            what = {"occurrence": f"occurrence {c.label}: its adjoint = ∂L/∂(that occurrence) of the untied model",
                    "path": f"chain rule for {c.label}: Σ over paths of Π (local Jacobian)ᵀ = that adjoint",
                    "total": f"total {c.label} = sympy.diff of the loss"}[c.what]
            plural = "s" if c.components != 1 else ""
            how = f"; randomized identity test, P(false pass) < {c.false_pass:.0e}" if c.false_pass else ""
            L.append(f"  {'✓' if c.holds else '✗'} {c.param}: {what} [{c.components} component{plural}{how}]")
        L += [f"  assuming {a}" for a in pr.assumptions]
        L += [f"  ({x})" for x in pr.omitted + pr.notes]
        return L

    # -- JSON ----------------------------------------------------------------------
    def to_dict(self, proof=True) -> dict:
        grads = {}
        for p in self.wrt:
            g = self.sweep.gradients[p]
            grads[p] = {
                "matrix": self.u(g.total), "expanded": self.u(g.expanded), "latex": self.tex(g.expanded),
                "elementwise": self._elementwise_json(p),
                "contributions": [{"occurrence": ou, "site": eq, "path": self.names[eq][0],
                                   "adjoint": self.u(o.expr), "paths": chains, "chains": []}
                                  for (ou, _, eq, chains), o in zip(self.occurrences(p), g.occurrences,
                                                                    strict=True)]}
        out = {"name": self.name, "description": self.title, "problem": "model file",
               "options": {"file": self.spec.path, "wrt": list(self.wrt)},
               "forward": [{"lhs": self.names[n][0], "rhs": u, "latex": f"{self.names[n][1]} = {t}", "note": ""}
                           for n, u, t in self.forward()],
               "shapes": {n: [str(s) for s in self.graph.node(n).shape] for n, _, _ in self.shapes()},
               "typed": [],
               "steps": [{"rule": r, "note": note, "forms": forms, "latex": tex}
                         for r, note, forms, tex in self.steps_rows()],
               "gradients": grads}
        if proof:
            pr = self.proof
            out["proof"] = {"sizes": pr.sizes, "holds": pr.holds, "cached": pr.cached,
                            "assumptions": pr.assumptions, "omitted": pr.omitted,
                            "checks": [{"kind": c.what, "param": c.param, "label": c.label, "holds": c.holds,
                                        "components": c.components, "false_pass_bound": c.false_pass}
                                       for c in pr.checks]}
        return out

    def _elementwise_json(self, p):
        idx, comp = self.component(p)
        if comp is None:
            return None
        return {"index": [str(s) for s in idx], "adjoints": None, "expanded": self.u(comp), "latex": self.tex(comp)}

    def json(self, proof=True) -> str:
        return json.dumps(self.to_dict(proof), ensure_ascii=False, indent=2)

    # -- LaTeX and Markdown ----------------------------------------------------------
    def _forward_tex(self):
        return [aligned(self.names[n][1], [t]) for n, _, t in self.forward()]

    def _shapes_tex(self):
        out = []
        for n, _, _ in self.shapes():
            shape = self.graph.node(n).shape
            space = " \\times ".join(str(s) for s in shape)
            out.append(rf"{self.names[n][1]} \in \mathbb{{R}}" + (f"^{{{space}}}" if shape else ""))
        return out

    def _result_tex(self, p):
        g = self.sweep.gradients[p]
        forms = [self.tex(g.total)] + ([self.tex(g.expanded)] if g.expanded != g.total else [])
        out = aligned(rf"\frac{{\partial L}}{{\partial {self.names[p][1]}}}", forms)
        _, comp = self.component(p)
        if comp is not None:
            out += " \\\\\n" + aligned(self._component_lhs(p, tex=True), [self.tex(comp)])
        return out

    def _steps_tex(self):
        rows = []
        for rule, note, _, tex in self.steps_rows():
            head = tex_text(f"{rule}: {note}" if note else rule)
            rows.append(rf"\intertext{{\emph{{{head}}}}}" + "\n" + aligned(tex[0], tex[1:]))
        return " \\\\\n".join(rows)

    def _paths_tex(self, p):
        items = []
        for _, ot, _, chains in self.occurrences(p):
            for chain in chains[:MAX_PATHS]:
                tex_chain = " \\to ".join([ot] + [self.names[x][1] for x in self._chain_names(chain)])
                items.append(rf"\item ${tex_chain}$")
        return items

    def _chain_names(self, chain):
        back = {u: n for n, (u, _) in self.names.items()}
        return [back.get(c, c) for c in chain[1:]]

    def latex(self, proof=True) -> str:
        T = tex_text
        title = "".join(ch if ord(ch) < 128 else "?" for ch in T(self.title))  # a comment may hold any character
        L = [rf"\section*{{{title}}}", rf"Model file \texttt{{{T(self.spec.path)}}}.", "",
             r"\paragraph{Forward pass.}",
             r"\begin{align*}", " \\\\\n".join(self._forward_tex()), r"\end{align*}",
             "Shapes: " + ", ".join(f"${x}$" for x in self._shapes_tex()) + "."]
        for p in self.wrt:
            L += ["", rf"\paragraph{{Computational paths from ${self.names[p][1]}$ to the loss.}}",
                  r"\begin{enumerate}", *self._paths_tex(p), r"\end{enumerate}"]
        L += ["", r"\paragraph{Backpropagation, step by step.} "
              r"$\bar{x}$ denotes $\partial L/\partial x$; $\odot$ is the elementwise product.",
              r"\begin{align*}", self._steps_tex(), r"\end{align*}"]
        L += [r"\paragraph{Result.}", r"\begin{align*}", " \\\\\n".join(self._result_tex(p) for p in self.wrt),
              r"\end{align*}"]
        if proof:
            lines = self.proof_text()
            L += [r"\paragraph{Proof.} " + T(lines[0]), r"\begin{itemize}"]
            L += [r"\item " + T(x.strip()) for x in lines[1:]] + [r"\end{itemize}"]
        return "\n".join(L) + "\n"

    def markdown(self, proof=True) -> str:
        L = [f"## {self.name}: {self.title}", "", "**Forward pass**", "", "$$", r"\begin{aligned}",
             " \\\\\n".join(self._forward_tex()), r"\end{aligned}", "$$", "",
             "Shapes: " + ", ".join(f"${x}$" for x in self._shapes_tex()) + "."]
        for p in self.wrt:
            L += ["", f"**Computational paths from ${self.names[p][1]}$**", ""]
            L += [f"{k}. " + item.removeprefix(r"\item ") for k, item in enumerate(self._paths_tex(p), 1)]
        L += ["", "**Backpropagation, step by step** ($\\bar{x}$ is $\\partial L/\\partial x$)", ""]
        for rule, note, _, tex in self.steps_rows():
            L.append(f"- *{rule}*{': ' + note if note else ''}: ${tex[0]} = " + " = ".join(tex[1:]) + "$")
        L += ["", "**Result**", "", "$$", r"\begin{aligned}", " \\\\\n".join(self._result_tex(p) for p in self.wrt),
              r"\end{aligned}", "$$"]
        if proof:
            lines = self.proof_text()
            L += ["", "**Proof:** " + lines[0], ""] + [f"- {x.strip()}" for x in lines[1:]]
        return "\n".join(L) + "\n"

    def _repr_markdown_(self):
        return self.markdown(proof=False)

    def _repr_latex_(self):
        p = self.wrt[0]
        return rf"$\frac{{\partial L}}{{\partial {self.names[p][1]}}} = {self.tex(self.sweep.gradients[p].expanded)}$"
