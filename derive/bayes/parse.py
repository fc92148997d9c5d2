"""Numbers from the command line or the API, validated without eval/sympify.

Each parser returns an exact SymPy number (``Rational`` or ``Integer``) and raises
:class:`derive.errors.UsageError` with one line saying what was wrong, the value
received and what would work.
"""
from __future__ import annotations

import math
from fractions import Fraction

import sympy as sp

from ..errors import UsageError
from ..numerals import numeral

__all__ = ["data_list", "positive", "whole"]


def _fraction(option, value, hint):
    if isinstance(value, bool):
        raise UsageError(f"{option} must be a number, got {value!r}; {hint}")
    if isinstance(value, float) and not math.isfinite(value):
        raise UsageError(f"{option} must be a finite number, got {value!r}; {hint}")
    if isinstance(value, (int, Fraction)):
        return Fraction(value)
    number, why = numeral(repr(value) if isinstance(value, float) else str(value))
    if number is None:
        raise UsageError(f"{option} must be a finite number, got {str(value)[:40]!r} ({why}); {hint}")
    return number


LIMIT = Fraction(10) ** 100  # keeps every number, its square and its reciprocal finite as a float


def _in_range(option, value, f, hint):
    if abs(f) > LIMIT or (f != 0 and abs(f) < 1 / LIMIT):
        raise UsageError(f"{option} must lie between 1e-100 and 1e100 in magnitude, got {value!r}; {hint}")
    return f


def positive(option: str, value, example: str = "5") -> sp.Rational:
    """A finite number > 0, e.g. a variance or a Beta parameter.

    >>> positive("--tau2", "0.1")
    1/10
    """
    hint = f"use a number > 0, e.g. {option} {example}"
    f = _fraction(option, value, hint)
    if f <= 0:
        raise UsageError(f"{option} must be > 0, got {value!r}; {hint}")
    _in_range(option, value, f, hint)
    return sp.Rational(f.numerator, f.denominator)


def whole(option: str, value, *, low: int = 0, example: str = "10") -> sp.Integer:
    """A whole number ≥ ``low`` (counts such as N and y)."""
    hint = f"use a whole number ≥ {low}, e.g. {option} {example}"
    f = _fraction(option, value, hint)
    if f.denominator != 1:
        raise UsageError(f"{option} must be a whole number, got {value!r}; {hint}")
    if f < low:
        raise UsageError(f"{option} must be ≥ {low}, got {value!r}; {hint}")
    if f > 10**9:
        raise UsageError(f"{option} must be ≤ 10⁹, got {value!r}; {hint}")
    return sp.Integer(f.numerator)


def data_list(option: str, value) -> list:
    """Finite numbers from a list, or from text separated by commas and/or spaces."""
    hint = f"give finite numbers separated by commas or spaces, e.g. {option} 3.3,3.5,3.1"
    items = value if isinstance(value, (list, tuple)) else [value]
    parts = []
    for item in items:
        if isinstance(item, str):
            parts += [p for p in item.replace(",", " ").split() if p]
        else:
            parts.append(item)
    if not parts:
        raise UsageError(f"{option} is empty, got {value!r}; {hint}")
    if len(parts) > 200:
        raise UsageError(f"{option} takes at most 200 points, got {len(parts)}; {hint}")
    out = []
    for p in parts:
        f = _in_range(option, p, _fraction(option, p, hint), hint)
        out.append(sp.Rational(f.numerator, f.denominator))
    return out
