"""Kubernetes resource quantities (``1Gi``, ``500m``, ``1e3``) compared by value.

The API server stores a quantity in canonical form (``1024Mi`` comes back as
``1Gi``, ``1000m`` as ``1``), so two texts of the same amount must compare equal.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any, Optional

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1),
            "k": Decimal("1e3"), "M": Decimal("1e6"), "G": Decimal("1e9"), "T": Decimal("1e12"),
            "P": Decimal("1e15"), "E": Decimal("1e18")}
_PATTERN = re.compile(r"^([+-]?[0-9.]+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?$")


def parse_quantity(value: Any) -> Optional[Decimal]:
    """Return the amount a quantity stands for, or None when ``value`` is not a quantity."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return Decimal(str(value))
    if not isinstance(value, str):
        return None
    match = _PATTERN.match(value.strip())
    if not match:
        return None
    number, suffix = match.group(1), match.group(2) or ""
    try:
        amount = Decimal(number)
    except InvalidOperation:
        return None
    if suffix in _BINARY:
        return amount * _BINARY[suffix]
    if suffix in _DECIMAL:
        return amount * _DECIMAL[suffix]
    return amount * (Decimal(10) ** int(suffix[1:]))


def same_quantity(a: Any, b: Any) -> bool:
    """Tell whether two quantity texts (or numbers) stand for the same amount."""
    left, right = parse_quantity(a), parse_quantity(b)
    return left is not None and right is not None and left == right
