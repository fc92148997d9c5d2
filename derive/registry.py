"""The registry of derivations: ``@register("shared_bias", ...)`` on a function
that declares a model and returns a :class:`Spec`."""
from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Callable

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
    constraints: list = field(default_factory=list)
    discussion: list = field(default_factory=list)
    check_sizes: dict = field(default_factory=dict)  # sizes for random --check points
    indices: dict = field(default_factory=dict)  # param -> index names for its elementwise form
    batch: str = ""  # name of the batch dimension for the shapes table ("" for none)
    sections: list = field(default_factory=list)  # extra (heading, [lines]) blocks, e.g. pseudocode
    forward_mode: str = ""  # also derive this parameter's gradient by forward sensitivities


@dataclass
class Entry:
    name: str
    description: str
    problem: str
    build: Callable[..., Spec]
    defaults: dict
    params: str = ""  # the --params file's keys and shapes, for --help and the README
    check_options: dict = field(default_factory=dict)  # extra --check options: flag -> help line
    sequence_params: bool = False  # --params gives x and y as lists of time steps (flattened to x1, x2, …)
    loss_example: str = "(yhat_1 - y_1)**2 - log(yhat_2)"  # a typed --loss for the --help examples
    worked_solution: str = ""  # "module:function" giving --check's worked solution of spec.forward_mode's param


REGISTRY: dict[str, Entry] = {}


def register(name, description, *, problem="", defaults=None, params="", **extra):
    """Register the decorated builder as derivation ``name``; ``defaults`` are
    its options (every keyword the builder takes); ``params`` documents the
    keys of its ``--params`` file; ``extra`` sets the other :class:`Entry` fields."""

    def deco(fn):
        REGISTRY[name] = Entry(name, description, problem, fn, dict(defaults or {}), params, **extra)
        return fn

    return deco


def get(name) -> Entry:
    if name not in REGISTRY:
        raise unknown("derivation", name, REGISTRY)
    return REGISTRY[name]


def names() -> list[str]:
    return sorted(REGISTRY)
