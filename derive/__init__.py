"""derive — symbolic backpropagation that shows its work and proves it.

Public surface:

* :func:`derive` builds a registered :class:`Derivation` (``derive("shared_bias")``);
* :func:`names` lists the registered derivations;
* :class:`Graph`, :func:`backprop` and :func:`prove` are the engine, for new models;
* :data:`ACTIVATIONS`, :data:`LOSSES` and :func:`activation` / :func:`loss` are the registries;
* :func:`model` / :func:`load_model` derive any network written as forward equations
  (a model file, :mod:`derive.model_file`), on the operator registry :data:`OPERATORS`.

This package never imports JAX.
"""
__gradproof__ = True  # gradproof.ensure_ours: this module is gradproof's, not another distribution's
from . import bayes, models  # noqa: F401  (registers the derivations)
from .derivation import Derivation, derive
from .engine import Sweep, backprop
from .errors import UsageError
from .functions import ACTIVATIONS, LOSSES, activation, loss
from .graph import Graph
from .model_doc import ModelDerivation, load_model, model
from .ops import OPERATORS
from .proof import ProofResult, prove
from .registry import REGISTRY, Spec, names, register

__all__ = [
    "ACTIVATIONS",
    "Derivation",
    "Graph",
    "LOSSES",
    "ModelDerivation",
    "OPERATORS",
    "ProofResult",
    "REGISTRY",
    "Spec",
    "Sweep",
    "UsageError",
    "activation",
    "backprop",
    "derive",
    "load_model",
    "loss",
    "model",
    "names",
    "prove",
    "register",
]
