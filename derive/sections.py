"""Sections that every backprop derivation's document has, built the same way
for a built-in (:mod:`derive.derivation`) and a model file (:mod:`derive.model_doc`)."""
from __future__ import annotations

from .document import Item, Items, Math, Section, Steps, rich

__all__ = ["proof_section", "steps_section"]


def steps_section(steps) -> Section:
    """The reverse sweep, one :class:`~derive.document.Step` per rule applied."""
    lead = rich(Math("x̄", r"\bar{x}"), " denotes ", Math("∂L/∂x", r"\partial L/\partial x"), "; ",
                Math("⊙", r"\odot"), " is the elementwise product.")
    return Section(("Backpropagation, step by step (reverse sweep; x̄ means ∂L/∂x, ⊙ is the elementwise product)",),
                   (Steps(tuple(steps)),), brief="Backpropagation, step by step", lead=lead)


def proof_section(lines) -> Section:
    """The proof's verdict line and one item per check, assumption and note."""
    head = (lines[0],)
    return Section(head, (Items(tuple(Item((x.strip(),)) for x in lines[1:])),), brief="Proof", lead=head)
