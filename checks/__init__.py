"""checks — gradients against JAX and finite differences: reports, never bare booleans.

Public surface: :func:`gradcheck` and :func:`assert_gradients` (any scalar
function of arrays, with a diagnosis), :class:`GradcheckReport`,
:func:`check_derivation` (what ``--check`` runs),
:func:`check_values` (one derivation at one point, optionally with a planted
gradient), :func:`relative_error`, :data:`TOLERANCES`, and the parameter-file
helpers :func:`load_params`, :func:`validate_params`, :func:`random_params`.
``checks.strategies`` (hypothesis strategies) is loaded on first access, so
``import checks`` works without hypothesis.
"""
__gradproof__ = True  # gradproof.ensure_ours: this module is gradproof's, not another distribution's
from .compare import TOLERANCES, relative_error
from .derivation_check import (
    CheckReport,
    ComboCheck,
    check_derivation,
    check_values,
    combinations,
)
from .gradcheck import assert_gradients, gradcheck
from .params import load_params, random_params, validate_params
from .report import Entry, GradcheckReport, TensorReport
from .tolerances import RTOL

__all__ = [
    "RTOL",
    "TOLERANCES",
    "CheckReport",
    "ComboCheck",
    "Entry",
    "GradcheckReport",
    "TensorReport",
    "assert_gradients",
    "check_derivation",
    "check_values",
    "combinations",
    "gradcheck",
    "load_params",
    "random_params",
    "relative_error",
    "validate_params",
]


def __getattr__(name):
    if name == "strategies":  # needs hypothesis, a test extra: import only when asked for
        import importlib

        return importlib.import_module(".strategies", __name__)
    raise AttributeError(f"module 'checks' has no attribute {name!r}")
