"""gradproof — derive neural-network gradients symbolically, prove them, check them numerically.

The one name to import; the work is done by the packages ``derive`` (SymPy),
``numeric`` (NumPy/JAX) and ``checks``, which stay importable as before.

>>> import gradproof
>>> gradproof.derive("shared_bias").formula("b")
'δ_hidden + δ_out'

Everything, :data:`__version__` too, is imported on first use, so ``import gradproof``
costs nothing until a function is called.
"""
from __future__ import annotations

import importlib
import sys
from pathlib import Path

_EXPORTS = {
    "derive": ("derive", "derive"), "names": ("derive", "names"), "model": ("derive", "model"),
    "load_model": ("derive", "load_model"), "trace": ("derive.trace", "trace"), "render": ("derive", "render"),
    "Derivation": ("derive", "Derivation"), "ModelDerivation": ("derive", "ModelDerivation"),
    "gradcheck": ("checks", "gradcheck"), "assert_gradients": ("checks", "assert_gradients"),
    "check_derivation": ("checks", "check_derivation"), "compile_gradient": ("numeric", "compile_gradient"),
}
__all__ = ["__version__", *sorted(_EXPORTS)]

_OURS = ("derive", "numeric", "checks")
_MARKER = "__gradproof__ = True"


class NotOurs(ImportError):
    """``derive``, ``numeric`` or ``checks`` resolved to another distribution's module."""


def ensure_ours() -> None:
    """Raise :class:`NotOurs` (one line: the path and the fix) when one of the three
    packages gradproof is built from is another distribution's (PyPI's ``derive`` is one).
    A package not imported yet is judged by its ``__init__.py``'s source, without importing
    it (``numeric`` and ``checks`` import NumPy and SymPy, which a command may not need)."""
    import importlib.util

    for name in _OURS:
        module = sys.modules.get(name)
        if module is not None:
            ours, where = getattr(module, "__gradproof__", False), getattr(module, "__file__", None)
        else:
            spec = importlib.util.find_spec(name)
            where = spec.origin if spec is not None and spec.has_location else None
            ours = where is not None and _MARKER in Path(where).read_text(encoding="utf-8", errors="replace")
        if not ours:
            raise NotOurs(f"the module {name!r} at {where or '(namespace package)'} is not gradproof's (another "
                          f"distribution installed files there); fix: pip uninstall {name}, then pip install "
                          f"--force-reinstall gradproof")


def _version() -> str:
    from importlib import metadata  # ~40 ms: read when asked for, not by every command

    try:
        return metadata.version("gradproof")
    except metadata.PackageNotFoundError:  # pragma: no cover - a bare source tree
        return "0+unknown"


def __getattr__(name):
    if name == "__version__":
        globals()[name] = value = _version()
        return value
    if name not in _EXPORTS:
        raise AttributeError(f"module 'gradproof' has no attribute {name!r}")
    ensure_ours()
    module, attr = _EXPORTS[name]
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
