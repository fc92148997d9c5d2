"""A derivation that is a sequence of worked steps rather than a backprop graph.

:class:`BayesDerivation` has the same surface as :class:`derive.Derivation`:
``text()``, ``latex()``, ``markdown()``, ``to_dict()``/``json()`` and the
Jupyter hooks. Each :class:`Step` holds prose and equations; every equation is
built from SymPy expressions by :func:`eq`, which prints them as Unicode and LaTeX.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import sympy as sp
from sympy.printing.str import StrPrinter

from ..printing import tex_text

__all__ = ["BayesDerivation", "Equation", "Step", "eq", "prose_tex", "tex", "u"]

_SUP = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


class _Unicode(StrPrinter):
    """Linear Unicode: x², √(…), a·b, −; symbols print by their (Unicode) names."""

    def _print_Pow(self, expr, rational=False):
        b, e = expr.as_base_exp()
        if e == sp.S.Half:
            return f"√({self._print(b)})"
        if e.is_Integer and 1 < e < 10:
            base = self.parenthesize(b, sp.printing.precedence.PRECEDENCE["Pow"])
            return base + str(e).translate(_SUP)
        return super()._print_Pow(expr, rational)

    def _print_binomial(self, expr):
        return f"C({self._print(expr.args[0])}, {self._print(expr.args[1])})"

    def _print_beta(self, expr):
        return f"B({', '.join(self._print(a) for a in expr.args)})"

    def _print_Infinity(self, expr):
        return "∞"

    def _print_Pi(self, expr):
        return "π"


def u(expr) -> str:
    """``expr`` as one line of Unicode.

    >>> u(sp.Symbol("θ") ** 2 - 2 * sp.Symbol("α"))
    '−2·α + θ²'
    """
    s = _Unicode().doprint(sp.sympify(expr))
    s = s.replace("**", "^").replace("*", "·").replace(" - ", " − ").replace("(-", "(−")
    return "−" + s[1:] if s.startswith("-") else s


_TEX_LEFTOVERS = {"α": r"\alpha ", "β": r"\beta ", "θ": r"\theta ", "μ": r"\mu ", "σ": r"\sigma ",
                  "τ": r"\tau ", "λ": r"\lambda ", "ₙ": "_{n}", "²": "^{2}", "₀": "_{0}", "₁": "_{1}",
                  "₂": "_{2}", "∗": "^{*}"}


def tex(expr, names: dict) -> str:
    """``expr`` as LaTeX, with ``names`` mapping Unicode-named symbols to LaTeX
    (SymPy does not apply them inside some function arguments, e.g. B(α, β))."""
    out = sp.latex(sp.sympify(expr), symbol_names=names)
    for k, v in _TEX_LEFTOVERS.items():
        out = out.replace(k, v)
    return out


_PROSE = {"θ̂": r"\hat{\theta}", "μ̂": r"\hat{\mu}", "~": r"\sim", "¹": "^{1}", "Π": r"\Pi", "″": "''",
          "…": r"\ldots", "ᵏ": "^{k}", "α": r"\alpha", "β": r"\beta", "∞": r"\infty", "∝": r"\propto",
          "∫": r"\int", "√": r"\surd", "²": "^{2}", "ₙ": "_{n}", "∗": "^{*}", "≠": r"\neq",
          "⇒": r"\Rightarrow", "·": r"\cdot", "π": r"\pi", "ℓ": r"\ell", "λ": r"\lambda",
          "ᵢ": "_{i}", "κ": r"\kappa", "∑": r"\sum", "∈": r"\in", "∏": r"\prod", "±": r"\pm"}


def prose_tex(s: str) -> str:
    """Prose with Unicode math → pdflatex-safe text (extends :func:`tex_text`)."""
    keep = {}
    for k, (src, dst) in enumerate(_PROSE.items()):
        mark = chr(0xE000 + k)
        if src in s:
            s = s.replace(src, mark)
            keep[mark] = f"${dst}$"
    out = tex_text(s)
    for mark, dst in keep.items():
        out = out.replace(mark, dst)
    return out


@dataclass
class Equation:
    """One displayed line: ``lhs = form₁ = form₂ …`` in Unicode and LaTeX."""

    text: str
    lhs_latex: str
    forms_latex: list

    @property
    def latex(self) -> str:
        return " = ".join([self.lhs_latex, *self.forms_latex])

    @property
    def aligned(self) -> str:
        """For an align environment: the alignment point at the equation's own '=';
        a form too wide for the page continues on indented lines."""
        from ..printing import break_tex, tex_width

        room = max(24.0, 46.0 - tex_width(self.lhs_latex))  # log, binomials: wider than the estimate
        rows = []
        for k, form in enumerate(self.forms_latex):
            lines = break_tex(form, room)
            rows.append(f"{self.lhs_latex if k == 0 else ''} &= {lines[0]}")
            rows += [rf"&\qquad {ln}" for ln in lines[1:]]
        return " \\\\\n  ".join(rows)


def eq(lhs, *forms, names: dict, lhs_tex: str | None = None) -> Equation:
    """An equation from SymPy expressions; a form may also be a string (Unicode
    prose) or a (Unicode, LaTeX) pair."""
    lu = lhs if isinstance(lhs, str) else u(lhs)
    lt = lhs_tex if lhs_tex is not None else (prose_tex(lhs).replace("$", "") if isinstance(lhs, str)
                                              else tex(lhs, names))
    fu = [f[0] if isinstance(f, tuple) else f if isinstance(f, str) else u(f) for f in forms]
    ft = [f[1] if isinstance(f, tuple) else prose_tex(f).replace("$", "") if isinstance(f, str)
          else tex(f, names) for f in forms]
    return Equation(" = ".join([lu] + fu), lt, ft)


@dataclass
class Step:
    """A heading, its prose (what is done and why) and its equations, in order."""

    title: str
    prose: list = field(default_factory=list)
    equations: list = field(default_factory=list)
    after: list = field(default_factory=list)  # prose after the equations
    table: list = field(default_factory=list)  # preformatted lines (fixed-width table)


@dataclass
class BayesDerivation:
    """A worked Bayesian derivation; renders like :class:`derive.Derivation`."""

    name: str
    description: str
    problem: str
    options: dict
    title: str
    steps: list
    results: dict  # JSON-ready values (exact strings and floats)
    verifications: list  # [(claim, holds)] proved symbolically while deriving
    sequential: list | None = None  # normal_normal: predictives after each data point

    @property
    def holds(self) -> bool:
        return all(ok for _, ok in self.verifications)

    def _verification_lines(self):
        head = "Symbolic verification: " + ("HOLDS" if self.holds else "FAILS")
        return head, [f"{'✓' if ok else '✗'} {claim}" for claim, ok in self.verifications]

    def text(self, proof=True) -> str:
        """The whole derivation as readable Unicode text, step by step."""
        title = f"{self.name} — {self.title}"
        L = [title, "=" * len(title), "", self.description,
             "options: " + ", ".join(f"{k} = {v}" for k, v in self.options.items())]
        for k, st in enumerate(self.steps, 1):
            L += ["", f"{k}. {st.title}"]
            L += [f"  {p}" for p in st.prose]
            L += [f"    {e.text}" for e in st.equations]
            L += [f"    {x}" for x in st.table]
            L += [f"  {p}" for p in st.after]
        if proof and self.verifications:
            head, lines = self._verification_lines()
            L += ["", head] + [f"  {x}" for x in lines]
        return "\n".join(L) + "\n"

    def latex(self, proof=True) -> str:
        """LaTeX body (amsmath); wrap with :func:`derive.cli.standalone` to compile."""
        L = [r"\section*{{{}}}".format(prose_tex(f"{self.name}: {self.title}")), prose_tex(self.description), ""]
        for st in self.steps:
            L.append(rf"\paragraph{{{prose_tex(st.title)}.}}")
            L += [prose_tex(p) + "\n" for p in st.prose]
            if st.equations:
                L += [r"\begin{align*}", " \\\\\n".join("  " + e.aligned for e in st.equations),
                      r"\end{align*}"]
            if st.table:
                L += [r"\begin{verbatim}"] + [_ascii(x) for x in st.table] + [r"\end{verbatim}"]
            L += [prose_tex(p) + "\n" for p in st.after]
        if proof and self.verifications:
            head, lines = self._verification_lines()
            L += [rf"\paragraph{{{prose_tex(head)}.}}", r"\begin{itemize}"]
            L += [r"\item " + prose_tex(x) for x in lines] + [r"\end{itemize}"]
        return "\n".join(L) + "\n"

    def markdown(self, proof=True) -> str:
        """GitHub/Jupyter Markdown with $$…$$ math."""
        L = [f"## {self.name}: {self.title}", "", self.description, ""]
        for k, st in enumerate(self.steps, 1):
            L += [f"**{k}. {st.title}**", ""] + [p + "\n" for p in st.prose]
            for e in st.equations:
                L += ["$$", e.latex, "$$", ""]
            if st.table:
                L += ["```"] + st.table + ["```", ""]
            L += [p + "\n" for p in st.after]
        if proof and self.verifications:
            head, lines = self._verification_lines()
            L += [f"**{head}**", ""] + [f"- {x}" for x in lines]
        return "\n".join(L) + "\n"

    def to_dict(self, proof=True) -> dict:
        """A JSON-ready description (schema in the README)."""
        out = {"name": self.name, "description": self.description, "problem": self.problem,
               "options": dict(self.options),
               "steps": [{"title": s.title, "prose": s.prose + s.after, "table": s.table,
                          "equations": [{"text": e.text, "latex": e.latex} for e in s.equations]}
                         for s in self.steps],
               "results": self.results}
        if self.sequential is not None:
            out["sequential"] = self.sequential
        if proof:
            out["verification"] = {"holds": self.holds,
                                   "checks": [{"claim": c, "holds": ok} for c, ok in self.verifications]}
        return out

    def json(self, proof=True) -> str:
        return json.dumps(self.to_dict(proof), ensure_ascii=False, indent=2, allow_nan=False)

    def plot(self, path) -> None:
        """Write the sequential predictives as a 3×5 grid (normal_normal only; needs matplotlib)."""
        if self.sequential is None:
            from ..errors import UsageError

            raise UsageError(f"--plot draws normal_normal's sequential predictives; {self.name} has no plot")
        from .plot import save_plot

        save_plot(self.sequential, float(sp.Rational(self.results["values"]["sigma2"])), path)

    def _repr_latex_(self):
        return self.latex(proof=False)

    def _repr_markdown_(self):
        return self.markdown(proof=False)


_ASCII = {"μ": "mu", "σ": "sigma", "ₖ": "_k", "²": "^2", "x̄": "xbar", "—": "-", "−": "-", "θ": "theta",
          "α": "alpha", "β": "beta", "τ": "tau", "ₙ": "_n"}


def _ascii(line: str) -> str:
    """A table line for a LaTeX verbatim block (ASCII only)."""
    import unicodedata

    for k, v in _ASCII.items():
        line = line.replace(k, v)
    line = unicodedata.normalize("NFKD", line)
    return "".join(ch for ch in line if ord(ch) < 128)
