"""Exact values of decimal numerals, refused before any work when they are not short ones.

``Fraction("1e999999999")`` builds a 10⁹-digit integer and ``1_000`` is a
Python-only spelling; both are refused here, from the text alone, so that no
numeral a user types can make the exact arithmetic after it run long.
"""
from __future__ import annotations

import re
from fractions import Fraction

__all__ = ["MAX_EXPONENT", "MAX_LENGTH", "MAX_LITERAL", "literal", "numeral"]

MAX_LENGTH = 400  # characters of one numeral
MAX_EXPONENT = 400  # |n| in 1eN
MAX_LITERAL = 1e30  # magnitude of a number as typed in an expression or a model file
_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE]([+-]?\d+))?")
_RATIO = re.compile(r"[+-]?\d+/\d+")


def numeral(text: str) -> tuple[Fraction | None, str]:
    """(exact value, "") of a decimal numeral such as ``-1.5e-3`` (or a ratio ``1/10``), or (None, why not).

    >>> numeral("0.1")
    (Fraction(1, 10), '')
    >>> numeral("1_000")[1]
    'underscores are not allowed in numbers (write 1000)'
    >>> numeral("1e999999999")[1]
    'the exponent is out of range (|n| ≤ 400 in 1eN)'
    """
    text = text.strip()
    if "_" in text:
        return None, f"underscores are not allowed in numbers (write {text.replace('_', '')[:40]})"
    if len(text) > MAX_LENGTH:
        return None, f"the numeral is {len(text)} characters long (at most {MAX_LENGTH})"
    if _RATIO.fullmatch(text):
        num, den = text.split("/")
        return (Fraction(int(num), int(den)), "") if int(den) else (None, "division by zero")
    m = _DECIMAL.fullmatch(text)
    if m is None:
        return None, "not a decimal number (digits, an optional point and exponent, e.g. -1.5e-3)"
    if m.group(1) is not None and abs(int(m.group(1))) > MAX_EXPONENT:
        return None, f"the exponent is out of range (|n| ≤ {MAX_EXPONENT} in 1eN)"
    return Fraction(text), ""


def literal(text: str, value) -> tuple[Fraction | None, str]:
    """(exact value, "") of a number literal in a typed expression, or (None, the message).

    ``value`` is what Python's parser read (0x1F, 0o17 and 0b101 are taken from it);
    the magnitude must be 0 or between 1e-300 and :data:`MAX_LITERAL`.

    >>> literal("0x1F", 31)
    (Fraction(31, 1), '')
    >>> literal("1e31", 1e31)[1]
    "number '1e31' is out of range (0, or 1e-300 ≤ |x| ≤ 1e+30)"
    """
    number, why = numeral(text)
    if number is None and "_" not in text and text[:2].lower() in ("0x", "0o", "0b"):
        number = Fraction(value)
    elif number is None:
        return None, f"number {text[:20]!r}: {why}"
    if abs(number) > MAX_LITERAL or (number != 0 and abs(number) < Fraction(1, 10**300)):
        return None, f"number {text[:20]!r} is out of range (0, or 1e-300 ≤ |x| ≤ {MAX_LITERAL:g})"
    return number, ""
