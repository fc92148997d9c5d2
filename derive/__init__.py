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

import importlib

# name -> the submodule that defines it; imported on first use (PEP 562), so that
# `python -m derive shared_bias` imports the one model it derives and nothing else
_EXPORTS = {
    "ACTIVATIONS": "functions", "LOSSES": "functions", "activation": "functions", "loss": "functions",
    "Derivation": "derivation", "derive": "derivation",
    "Sweep": "engine", "backprop": "engine",
    "UsageError": "errors",
    "Graph": "graph",
    "ModelDerivation": "model_doc", "load_model": "model_doc", "model": "model_doc",
    "OPERATORS": "ops",
    "ProofResult": "proof", "prove": "proof",
    "REGISTRY": "registry", "Spec": "registry", "names": "registry", "register": "registry",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'derive' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
