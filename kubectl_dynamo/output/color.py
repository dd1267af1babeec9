"""Colour decisions: ``--color auto|always|never``, ``NO_COLOR`` and tty detection."""

from __future__ import annotations

import os
import zlib
from typing import IO

COLOR_CHOICES = ("auto", "always", "never")

_RESET = "\033[0m"
# Readable on dark and light backgrounds; red is kept for errors and deletions.
_PALETTE = (32, 33, 34, 35, 36, 92, 93, 94, 95, 96)


def use_color(mode: str, stream: IO) -> bool:
    """Decide whether to colour output written to ``stream``.

    ``always`` and ``never`` win; ``auto`` colours only a terminal and only when
    the ``NO_COLOR`` environment variable is unset or empty (no-color.org).
    """
    if mode == "always":
        return True
    if mode == "never":
        return False
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def paint(text: str, code: int, enabled: bool) -> str:
    """Wrap text in an ANSI SGR code when enabled."""
    if not enabled:
        return text
    return f"\033[{code}m{text}{_RESET}"


def stable_color(name: str) -> int:
    """Return an ANSI colour code derived from a name, the same on every run."""
    return _PALETTE[zlib.crc32(name.encode("utf-8")) % len(_PALETTE)]


RED = 31
GREEN = 32
YELLOW = 33
BOLD = 1
DIM = 2
