"""The registry of derivations: ``@register("shared_bias", ...)`` on a function
that declares a model and returns a :class:`Spec`."""
from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import unknown
from .graph import Graph

__all__ = ["Spec", "Entry", "register", "get", "names", "entries", "REGISTRY", "BUILT_INS"]


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

# Where each built-in is declared: importing only the one a command names keeps
# `python -m derive shared_bias` from importing every model (tests check the table
# against what the modules register).
BUILT_INS = {
    "shared_bias": "derive.models.shared_bias",
    "input_gradient": "derive.models.mlp",
    "sigmoid_mlp": "derive.models.mlp",
    "rnn_bptt": "derive.models.rnn",
    "beta_binomial": "derive.bayes.beta_binomial",
    "normal_normal": "derive.bayes.normal_normal",
}


def register(name, description, *, problem="", defaults=None, params="", **extra):
    """Register the decorated builder as derivation ``name``; ``defaults`` are
    its options (every keyword the builder takes); ``params`` documents the
    keys of its ``--params`` file; ``extra`` sets the other :class:`Entry` fields."""

    def deco(fn):
        REGISTRY[name] = Entry(name, description, problem, fn, dict(defaults or {}), params, **extra)
        return fn

    return deco


def get(name) -> Entry:
    if name not in REGISTRY and name in BUILT_INS:
        importlib.import_module(BUILT_INS[name])
    if name not in REGISTRY:
        raise unknown("derivation", name, names())
    return REGISTRY[name]


def names() -> list[str]:
    """Every derivation's name (the built-ins without importing them)."""
    return sorted(set(REGISTRY) | set(BUILT_INS))


def entries() -> list[Entry]:
    """Every derivation's :class:`Entry`, in name order (imports every built-in)."""
    return [get(n) for n in names()]
