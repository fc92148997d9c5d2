"""gradproof — derive neural-network gradients symbolically, prove them, check them numerically.

The one name to import; the work is done by the packages ``derive`` (SymPy),
``numeric`` (NumPy/JAX) and ``checks``, which stay importable as before.

>>> import gradproof
>>> gradproof.derive("shared_bias").formula("b")
'δ_hidden + δ_out'

Everything but :data:`__version__` is imported on first use, so ``import gradproof``
costs nothing until a function is called.
"""
from __future__ import annotations

import importlib
from importlib import metadata

try:
    __version__ = metadata.version("gradproof")
except metadata.PackageNotFoundError:  # pragma: no cover - a bare source tree
    __version__ = "0+unknown"

_EXPORTS = {
    "derive": ("derive", "derive"), "names": ("derive", "names"), "model": ("derive", "model"),
    "load_model": ("derive", "load_model"), "trace": ("derive.trace", "trace"), "render": ("derive", "render"),
    "Derivation": ("derive", "Derivation"), "ModelDerivation": ("derive", "ModelDerivation"),
    "gradcheck": ("checks", "gradcheck"), "assert_gradients": ("checks", "assert_gradients"),
    "check_derivation": ("checks", "check_derivation"), "compile_gradient": ("numeric", "compile_gradient"),
}
__all__ = ["__version__", *sorted(_EXPORTS)]

_OURS = ("derive", "numeric", "checks")


class NotOurs(ImportError):
    """``derive``, ``numeric`` or ``checks`` resolved to another distribution's module."""


def ensure_ours() -> None:
    """Raise :class:`NotOurs` (one line: the path and the fix) when one of the three
    packages gradproof is built from is another distribution's (PyPI's ``derive`` is one)."""
    for name in _OURS:
        module = importlib.import_module(name)
        if not getattr(module, "__gradproof__", False):
            where = getattr(module, "__file__", None) or "(namespace package)"
            raise NotOurs(f"the module {name!r} at {where} is not gradproof's (another distribution installed "
                          f"files there); fix: pip uninstall {name}, then pip install --force-reinstall gradproof")


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'gradproof' has no attribute {name!r}")
    ensure_ours()
    module, attr = _EXPORTS[name]
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
