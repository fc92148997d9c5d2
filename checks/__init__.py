"""checks — numbers against the symbolic derivations: reports, never bare booleans.

Public surface: :func:`check_derivation` (what ``--check`` runs),
:func:`check_values` (one derivation at one point, optionally with a planted
gradient), :func:`relative_error`, :data:`TOLERANCES`, and the parameter-file
helpers :func:`load_params`, :func:`validate_params`, :func:`random_params`.
"""
from .compare import TOLERANCES, relative_error
from .derivation_check import CheckReport, ComboCheck, check_derivation, check_values, combinations
from .params import load_params, random_params, validate_params

__all__ = [
    "CheckReport",
    "ComboCheck",
    "TOLERANCES",
    "check_derivation",
    "check_values",
    "combinations",
    "load_params",
    "random_params",
    "relative_error",
    "validate_params",
]
