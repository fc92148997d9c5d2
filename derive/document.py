"""The document every derivation produces, and that every renderer prints.

A derivation (:class:`derive.Derivation`, :class:`derive.ModelDerivation`,
:class:`derive.bayes.BayesDerivation`, :class:`derive.trace.Trace`) builds one
:class:`Document`: a title, a preamble and :class:`Section` s of blocks. Each
formula is a :class:`Math`, carrying its Unicode and its LaTeX once; prose is
*rich text*, a tuple of plain strings and :class:`Math`. :mod:`derive.render`
prints a document as text, LaTeX or Markdown; nothing else writes a format.

The blocks:

* :class:`Prose` — a paragraph;
* :class:`Equations` — displayed equations (an ``align`` in LaTeX);
* :class:`Steps` — a caption before each equation (the backprop sweep);
* :class:`Items` — a numbered or bulleted list, each item with equations under it;
* :class:`Code` — a verbatim block;
* :class:`Table` — rows of cells (a preformatted table is :class:`Code`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Code", "Document", "Equation", "Equations", "Item", "Items", "Math", "Prose", "Section", "Step",
           "Steps", "Table", "rich"]


@dataclass(frozen=True)
class Math:
    """One formula: how it reads in Unicode, and its LaTeX."""

    text: str
    latex: str


def rich(*parts) -> tuple:
    """Rich text from strings and :class:`Math`, with empty strings dropped."""
    return tuple(p for p in parts if p != "")


@dataclass(frozen=True)
class Equation:
    """``lhs = form₁ = form₂ …``, optionally with a label before it and a note after it.

    ``stacked`` puts every form after the first on its own line, aligned at the ``=``.
    """

    lhs: Math
    forms: tuple
    label: tuple = ()
    note: str = ""
    stacked: bool = False


@dataclass(frozen=True)
class Prose:
    """A paragraph of rich text."""

    text: tuple


@dataclass(frozen=True)
class Equations:
    """Displayed equations; ``columns`` pads the text rendering's lhs and first form to a table."""

    rows: tuple
    columns: tuple = ()
    indent: int = 2
    measure: float = 0.0  # typeset width for the forms, when the width estimate undercounts them (logs, binomials)


@dataclass(frozen=True)
class Step:
    """A caption (the rule, in short and in words) and the equation it produces."""

    rule: str
    note: str
    words: str
    equation: Equation


@dataclass(frozen=True)
class Steps:
    """The recorded sweep: one :class:`Step` per rule applied, in order."""

    steps: tuple


@dataclass(frozen=True)
class Item:
    """A list entry; an entry with ``numbered=False`` in a numbered list is a remark between items."""

    text: tuple
    equations: tuple = ()
    numbered: bool = True


@dataclass(frozen=True)
class Items:
    items: tuple
    numbered: bool = False


@dataclass(frozen=True)
class Code:
    """Lines shown as they are (a verbatim block): code, or a preformatted table (``language="text"``)."""

    lines: tuple
    language: str = "python"


@dataclass(frozen=True)
class Table:
    """Rows of cells (each cell rich text) under an optional header; the text rendering
    pads the first columns to ``widths`` and leaves the header to the section's heading."""

    header: tuple
    rows: tuple
    widths: tuple = ()
    indent: int = 2


@dataclass(frozen=True)
class Section:
    """A heading and its blocks.

    ``brief`` is the heading as a typeset paragraph title (``Result``), when the
    text heading is a sentence (``Result: ∂L/∂b``); ``lead`` is a run-in sentence
    after that title (the text heading already says it). ``number`` numbers the
    section in every format.
    """

    heading: tuple
    blocks: tuple = ()
    brief: str = ""
    lead: tuple = ()
    number: int | None = None
    intro: tuple = ()  # a sentence before the heading (the occurrences a path list starts from)


@dataclass(frozen=True)
class Document:
    """What a derivation says, in order."""

    name: str
    title: tuple
    preamble: tuple = ()
    sections: tuple = field(default_factory=tuple)
    typeset_name: bool = True  # False: a typeset title is the title alone (a model file's name is its file's)
