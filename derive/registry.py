"""The registry of derivations: ``@register("shared_bias", ...)`` on a function
that declares a model and returns a :class:`Spec`."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from .errors import unknown
from .graph import Graph

__all__ = ["Spec", "Entry", "register", "get", "names", "REGISTRY"]


@dataclass
class Spec:
    """What a model module declares: the graph, what to differentiate, the
    sizes at which to prove, and prose that answers the problem's questions."""

    graph: Graph
    wrt: list
    proof_sizes: dict
    title: str
    forward_notes: dict = field(default_factory=dict)
    constraints: list = field(default_factory=list)
    discussion: list = field(default_factory=list)
    options: dict = field(default_factory=dict)


@dataclass
class Entry:
    name: str
    description: str
    problem: str
    build: Callable[..., Spec]
    defaults: dict
    choices_wrt: tuple


REGISTRY: dict[str, Entry] = {}


def register(name, description, *, problem="", defaults=None, wrt=()):
    """Class the decorated builder as derivation ``name``."""

    def deco(fn):
        REGISTRY[name] = Entry(name, description, problem, fn, dict(defaults or {}), tuple(wrt))
        return fn

    return deco


def get(name) -> Entry:
    if name not in REGISTRY:
        raise unknown("derivation", name, REGISTRY)
    return REGISTRY[name]


def names() -> list[str]:
    return sorted(REGISTRY)
