"""The three renderers of a :class:`derive.document.Document`: text, LaTeX, Markdown.

Each is a class with one method per block type (``equations``, ``steps``, …),
found by the block's class name, as SymPy's printers find ``_print_<Class>``.
A renderer decides layout only; what is said, and in what order, is the
document's.

>>> from derive.document import Document, Equation, Equations, Math, Section
>>> doc = Document("demo", ("a square",), sections=(
...     Section(("Forward pass",), (Equations((Equation(Math("y", "y"), (Math("x²", "x^{2}"),)),)),)),))
>>> print(text(doc), end="")
demo — a square
===============
<BLANKLINE>
Forward pass
  y = x²
"""
from __future__ import annotations

import json
import unicodedata

from .document import Code, Document, Equation, Items, Math, Prose, Section, Steps, Table
from .printing import break_tex, tex_width
from .symbols import ascii_text, tex_text

__all__ = ["TEX_WIDTH", "Rendered", "aligned", "latex", "markdown", "text"]

TEX_WIDTH = 64  # characters of display math that fit an A4 line at 11pt with 2 cm margins


def text(doc: Document) -> str:
    return _Text().document(doc)


def latex(doc: Document) -> str:
    """A LaTeX body (amsmath); :func:`derive.pdf.standalone` wraps it to compile."""
    return _Latex().document(doc)


def markdown(doc: Document) -> str:
    """GitHub/Jupyter Markdown with ``$…$`` and ``$$…$$`` math."""
    return _Markdown().document(doc)


class Rendered:
    """``text()``, ``latex()``, ``markdown()``, ``json()`` and the notebook's Markdown, for any
    class whose ``document(proof)`` returns a :class:`~derive.document.Document` and whose
    ``to_dict(proof)`` its data."""

    def printed(self, printer, expr, **settings) -> str:
        """``printer(expr, self.names, **settings)``, each distinct formula printed once (a document
        prints many of them more than once)."""
        memo = self.__dict__.setdefault("_printed_memo", {})
        key = (printer, expr)
        if key not in memo:
            memo[key] = printer(expr, self.names, **settings)
        return memo[key]

    def text(self, proof=True) -> str:
        """The whole derivation as readable Unicode text."""
        return text(self.document(proof))

    def latex(self, proof=True) -> str:
        """A LaTeX body (amsmath); :func:`derive.pdf.standalone` wraps it to compile."""
        return latex(self.document(proof))

    def markdown(self, proof=True) -> str:
        """GitHub/Jupyter Markdown with $…$ and $$…$$ math."""
        return markdown(self.document(proof))

    def json(self, proof=True) -> str:
        """The derivation's data (``to_dict``, schema in the README) as JSON; never NaN or ∞."""
        return json.dumps(self.to_dict(proof), ensure_ascii=False, indent=2, allow_nan=False)

    def _repr_markdown_(self):  # Jupyter
        return markdown(self.document(False))


def aligned(lhs: str, forms, room: float | None = None) -> str:
    """``lhs &= f₁ \\\\ &= f₂ …`` for an align environment, each form broken onto
    indented continuation lines when it would run past the margin."""
    room = max(32.0, TEX_WIDTH - tex_width(lhs)) if room is None else room
    rows = []
    for k, form in enumerate(forms):
        lines = break_tex(form, room)
        rows.append(f"  {lhs if k == 0 else ''} &= {lines[0]}")
        rows += [rf"  &\qquad {ln}" for ln in lines[1:]]
    return " \\\\\n".join(rows)


def width(s: str) -> int:
    """Columns ``s`` takes in a terminal (combining marks take none)."""
    return sum(1 for ch in s if not unicodedata.combining(ch))


def pad(s: str, columns: int) -> str:
    """Left-justify by displayed width."""
    return s + " " * max(0, columns - width(s))


def _typeset_title(doc: Document) -> tuple:
    """``name: title``; a title without the name starts with a capital letter, as a heading does."""
    if doc.typeset_name:
        return (f"{doc.name}: ", *doc.title)
    first, *rest = doc.title
    return (first[:1].upper() + first[1:], *rest) if isinstance(first, str) else doc.title


class _Renderer:
    """Walks a document; subclasses say how each part looks."""

    def document(self, doc: Document) -> str:
        lines = self.title(doc)
        for section in doc.sections:
            lines += self.section(section)
        return "\n".join(lines) + "\n"

    def section(self, s: Section) -> list:
        lines = self.heading(s)
        for block in s.blocks:
            lines += getattr(self, type(block).__name__.lower())(block)
        return lines

    def rich(self, parts) -> str:
        parts = parts if isinstance(parts, tuple) else (parts,)  # a table cell may be one str or Math
        return "".join(p if isinstance(p, str) else self.math(p) for p in parts)


class _Text(_Renderer):
    def title(self, doc):
        head = f"{doc.name} — {self.rich(doc.title)}"
        lines = [head, "=" * len(head)]
        if doc.preamble:
            lines += [""] + [self.rich(p.text) for p in doc.preamble]
        return lines

    def heading(self, s):
        number = f"{s.number}. " if s.number is not None else ""
        return ["", *([self.rich(s.intro)] if s.intro else []), number + self.rich(s.heading)]

    def math(self, m: Math) -> str:
        return m.text

    def prose(self, p: Prose, indent="  "):
        return [indent + self.rich(p.text)]

    def equation(self, e: Equation, indent: str) -> list:
        head = f"{indent}{self.rich(e.label)}{e.lhs.text}"
        if not e.stacked:
            return [" = ".join([head, *(f.text for f in e.forms)]) + (f"   {e.note}" if e.note else "")]
        lines = [f"{head} = {e.forms[0].text}"]
        return lines + [" " * (width(head) + 1) + "= " + f.text for f in e.forms[1:]]

    def equations(self, b):
        if not b.columns:
            return [ln for e in b.rows for ln in self.equation(e, " " * b.indent)]
        left, first = b.columns
        return [" " * b.indent + f"{pad(e.lhs.text, left)} = {pad(e.forms[0].text, first)} {e.note}" for e in b.rows]

    def steps(self, b: Steps):
        lines = []
        for st in b.steps:
            lines.append(f"  [{st.rule}]" + (f"  {st.note}" if st.note else ""))
            lines += self.equation(st.equation, "    ")
        return lines

    def items(self, b: Items):
        lines, k = [], 0
        for item in b.items:
            mark = ""
            if b.numbered and item.numbered:
                k += 1
                mark = f"{k}. "
            lines.append(f"  {mark}{self.rich(item.text)}")
            lines += [ln for e in item.equations for ln in self.equation(e, "     ")]
        return lines

    def code(self, b: Code):
        return ["    " + x for x in b.lines]

    def table(self, b: Table):
        """Rows only (the heading says what the columns are), cells padded to ``widths``."""
        out = []
        for row in b.rows:
            cells = [self.rich(c) for c in row]
            padded = [pad(c, w) for c, w in zip(cells, b.widths, strict=False)] + cells[len(b.widths):]
            out.append(" " * b.indent + " ".join(padded).rstrip())
        return out


class _Latex(_Renderer):
    def title(self, doc):
        lines = [r"\section*{" + self.rich(_typeset_title(doc)) + "}"]
        return lines + [self.rich(p.text) + "\n" for p in doc.preamble]

    def heading(self, s):
        number = f"{s.number}. " if s.number is not None else ""
        title = s.brief or self.rich(s.heading)
        lead = " " + self.rich(s.lead or s.intro) if s.lead or s.intro else ""
        return ["", r"\paragraph{" + number + title + ".}" + lead]

    def rich(self, parts) -> str:
        parts = parts if isinstance(parts, tuple) else (parts,)
        return "".join(tex_text(p) if isinstance(p, str) else self.math(p) for p in parts)

    def math(self, m: Math) -> str:
        return f"${m.latex}$"

    def prose(self, p: Prose):
        return [self.rich(p.text) + "\n"]

    def row(self, e: Equation, measure=0.0, notes=True) -> str:
        """One equation for an align environment; one without forms is its label and its expression."""
        if not e.forms:
            return rf"  \text{{{self.rich(e.label)}}} &\quad {e.lhs.latex}"
        room = max(24.0, measure - tex_width(e.lhs.latex)) if measure else None
        row = aligned(e.lhs.latex, [f.latex for f in e.forms], room)
        return row + rf" \quad \text{{{tex_text(e.note)}}}" if e.note and notes else row

    def _align(self, equations, measure=0.0, notes=True) -> list:
        rows = " \\\\\n".join(self.row(e, measure, notes) for e in equations)
        return [r"\begin{align*}", rows, r"\end{align*}"]

    def equations(self, b):  # a table's notes (the forward pass's) are for the text rendering
        return self._align(b.rows, b.measure, notes=not b.columns)

    def steps(self, b: Steps):
        rows = [r"\intertext{\emph{" + tex_text(st.words) + "}}\n"
                + aligned(st.equation.lhs.latex, [f.latex for f in st.equation.forms]) for st in b.steps]
        return [r"\begin{align*}", " \\\\\n".join(rows), r"\end{align*}"]

    def items(self, b: Items):
        env = "enumerate" if b.numbered else "itemize"
        lines = [rf"\begin{{{env}}}"]
        for item in b.items:
            mark = r"\item " if item.numbered or not b.numbered else r"\item[] "
            lines.append(mark + self.rich(item.text))
            if item.equations:
                lines += self._align(item.equations)
        return lines + [rf"\end{{{env}}}"]

    def code(self, b: Code):
        return [r"{\small", r"\begin{verbatim}", *(ascii_text(x) for x in b.lines), r"\end{verbatim}", "}"]

    def table(self, b: Table):
        rows = [" & ".join(self.rich(c) for c in row) + r" \\" for row in b.rows]
        head = [" & ".join(self.rich(c) for c in b.header) + r" \\ \hline"] if b.header else []
        return [r"\begin{center}\small", r"\begin{tabular}{" + "l" * len(b.rows[0]) + "}", *head, *rows,
                r"\end{tabular}", r"\end{center}"]


_MD_SPECIAL = {c: "\\" + c for c in "\\`*_<>[]$|"}


def md_text(s: str) -> str:
    """Prose for Markdown: every character Markdown (or its $…$ math) would read as markup is escaped.

    >>> md_text("loss = (yhat_1 - y_1)**2, model <square>")
    'loss = (yhat\\\\_1 - y\\\\_1)\\\\*\\\\*2, model \\\\<square\\\\>'
    """
    return "".join(_MD_SPECIAL.get(ch, ch) for ch in s)


class _Markdown(_Renderer):
    def rich(self, parts) -> str:
        parts = parts if isinstance(parts, tuple) else (parts,)
        return "".join(md_text(p) if isinstance(p, str) else self.math(p) for p in parts)
    def title(self, doc):
        lines = [f"## {self.rich(_typeset_title(doc))}"]
        for p in doc.preamble:
            lines += ["", self.rich(p.text)]
        return lines

    def heading(self, s):
        number = f"{s.number}. " if s.number is not None else ""
        if s.lead or s.intro:
            return ["", f"**{number}{s.brief or self.rich(s.heading)}:** {self.rich(s.lead or s.intro)}", ""]
        return ["", f"**{number}{s.brief or self.rich(s.heading)}**", ""]

    def math(self, m: Math) -> str:
        return f"${m.latex}$"

    def prose(self, p: Prose):
        return [self.rich(p.text) + "\n"]

    def _display(self, equations, notes=True) -> list:
        rows = " \\\\\n".join(_Latex().row(e, notes=notes) for e in equations)
        return ["$$", r"\begin{aligned}", rows, r"\end{aligned}", "$$"]

    def equations(self, b):
        return self._display(b.rows, notes=not b.columns)

    def steps(self, b: Steps):
        return [f"- *{md_text(st.rule)}*{': ' + md_text(st.note) if st.note else ''}: "
                f"${' = '.join([st.equation.lhs.latex, *(f.latex for f in st.equation.forms)])}$" for st in b.steps]

    def items(self, b: Items):
        lines, k = [], 0
        for item in b.items:
            if b.numbered and item.numbered:
                k += 1
                lines.append(f"{k}. {self.rich(item.text)}")
            else:
                lines.append(("   " if b.numbered else "- ") + self.rich(item.text))
            if item.equations:
                lines += ["", *self._display(item.equations), ""]
        return lines

    def code(self, b: Code):
        return [f"```{b.language}", *b.lines, "```"]

    def table(self, b: Table):
        header = b.header or ("",) * len(b.rows[0])
        lines = ["| " + " | ".join(self.rich(c) for c in row) + " |" for row in (header, *b.rows)]
        return [lines[0], "|" + "---|" * len(header), *lines[1:]]
