"""Go durations and RFC 3339 times as Kubernetes objects and kubectl flags write them."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Optional

NANOSECONDS_PER_SECOND = 10**9

# The units of Go's time.ParseDuration. "µs" is U+00B5 (micro sign) and "μs" is U+03BC (Greek mu).
_UNIT_NANOSECONDS = {
    "ns": 1, "us": 10**3, "µs": 10**3, "μs": 10**3, "ms": 10**6,
    "s": NANOSECONDS_PER_SECOND, "m": 60 * NANOSECONDS_PER_SECOND, "h": 3600 * NANOSECONDS_PER_SECOND,
}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_go_duration(text: str) -> int:
    """Parse a Go duration such as ``15m``, ``1h30m`` or ``-1.5s`` into nanoseconds.

    Accepts what Go's ``time.ParseDuration`` accepts: an optional sign, then one or
    more decimal numbers each with a unit, or a bare ``0``. Fractions are truncated
    to whole nanoseconds. Raises ValueError on anything else, including ``""``.
    """
    sign = -1 if text[:1] == "-" else 1
    body = text[1:] if text[:1] in ("-", "+") else text
    if body == "0":
        return 0
    position, total = 0, 0
    for match in _DURATION_PART.finditer(body):
        if match.start() != position:
            break
        number, unit = match.groups()
        whole, _, fraction = number.partition(".")
        size = _UNIT_NANOSECONDS[unit]
        total += int(whole or "0") * size
        if fraction:
            total += int(fraction) * size // 10 ** len(fraction)
        position = match.end()
    if position == 0 or position != len(body):
        raise ValueError(f"invalid duration {text!r}")
    return sign * total


def parse_time(text: Any) -> Optional[datetime]:
    """Parse an RFC 3339 time as the API server writes it; None when absent or invalid."""
    if not isinstance(text, str) or not text:
        return None
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    # Python 3.9's fromisoformat takes at most six fractional digits.
    value = re.sub(r"(\.\d{6})\d+", r"\1", value)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed
