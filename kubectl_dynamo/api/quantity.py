"""Kubernetes resource quantities (``1Gi``, ``500m``, ``1e3``): parsing, canonical text and comparison.

The operator stores quantities as ``resource.Quantity`` values, which serialise in
canonical form ("1000m" becomes "1", "0.5Gi" becomes "512Mi"); objects and hashes
therefore carry the canonical text, not what the user wrote. This module reproduces
the rules of k8s.io/apimachinery/pkg/api/resource (parse, round up to nano units,
base-1024 suffixes only for exact multiples, otherwise decimal suffixes in steps of
three).
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Any, Optional, Tuple

_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_BY_EXPONENT = {v: k for k, v in _DECIMAL.items()}
_BINARY_BY_EXPONENT = {v: k for k, v in _BINARY.items()}

_PATTERN = re.compile(r"^([+-]?)(\d*)(?:\.(\d*))?(.*)$")


class QuantityError(ValueError):
    pass


def parse(text: str) -> Tuple[Fraction, str]:
    """Return the exact value and the format (``binary``, ``decimal`` or ``exponent``)."""
    if not isinstance(text, str):
        text = str(text)
    match = _PATTERN.match(text.strip()) if text.strip() else None
    if not match:
        raise QuantityError(f"quantity {text!r} is empty")
    sign, whole, fraction, suffix = match.groups()
    if not whole and not fraction:
        raise QuantityError(f"quantity {text!r} has no number")
    number = Fraction(int(whole or "0"))
    if fraction:
        number += Fraction(int(fraction), 10 ** len(fraction))
    if sign == "-":
        number = -number
    if suffix in _BINARY:
        return number * (2 ** _BINARY[suffix]), "binary"
    if suffix in _DECIMAL:
        return number * Fraction(10) ** _DECIMAL[suffix], "decimal"
    if suffix[:1] in ("e", "E") and re.fullmatch(r"[eE][+-]?\d+", suffix):
        return number * Fraction(10) ** int(suffix[1:]), "exponent"
    raise QuantityError(f"quantity {text!r} has an unknown suffix {suffix!r}; use one of Ki, Mi, Gi, Ti, m, k, M, G, T or none")


def is_valid(text: str) -> bool:
    try:
        parse(text)
    except QuantityError:
        return False
    return True


def is_zero(text: Optional[str]) -> bool:
    if text in (None, ""):
        return True
    try:
        return parse(str(text))[0] == 0
    except QuantityError:
        return False


def parse_quantity(value: Any) -> Optional[Fraction]:
    """Return the exact amount of a quantity text or number, or None when ``value`` is not a quantity."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    try:
        return parse(str(value))[0]
    except QuantityError:
        return None


def same_quantity(a: Any, b: Any) -> bool:
    """Return True when two quantity texts or numbers are the same amount (``1Gi`` and ``1024Mi``)."""
    left, right = parse_quantity(a), parse_quantity(b)
    return left is not None and right is not None and left == right


def canonical(text) -> str:
    """Return the canonical form of a quantity, e.g. ``1000m`` -> ``1``, ``2048Mi`` -> ``2Gi``."""
    if isinstance(text, bool):
        raise QuantityError(f"quantity {text!r} is not a number")
    if isinstance(text, int):
        text = str(text)
    value, fmt = parse(str(text))
    # Values are kept to nano units, rounding away from zero as the Go type does.
    nanos = value * 10**9
    if nanos.denominator != 1:
        nanos = Fraction(math.ceil(nanos) if nanos > 0 else math.floor(nanos))
    value = nanos / 10**9
    negative = value < 0
    magnitude = -value if negative else value
    sign = "-" if negative else ""

    if fmt == "binary":
        if magnitude < 1024 or magnitude.denominator != 1:
            fmt = "decimal"
        else:
            amount = magnitude.numerator
            exponent = 0
            while amount % 1024 == 0 and exponent < 60:
                amount //= 1024
                exponent += 10
            return f"{sign}{amount}{_BINARY_BY_EXPONENT[exponent]}"

    if magnitude == 0:
        return "0"
    # Integer mantissa with the exponent lowered to a multiple of three.
    mantissa, exponent = magnitude, 0
    while mantissa.denominator != 1:
        mantissa *= 10
        exponent -= 1
    mantissa_int = mantissa.numerator
    while mantissa_int % 10 == 0:
        mantissa_int //= 10
        exponent += 1
    shift = exponent % 3
    mantissa_int *= 10**shift
    exponent -= shift
    if fmt == "decimal" and exponent in _DECIMAL_BY_EXPONENT:
        return f"{sign}{mantissa_int}{_DECIMAL_BY_EXPONENT[exponent]}"
    if exponent == 0:
        return f"{sign}{mantissa_int}"
    return f"{sign}{mantissa_int}e{exponent}"
