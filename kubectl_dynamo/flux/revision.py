"""Flux artifact revisions: parsing, comparing and printing them.

source-controller writes ``<ref>@sha1:<hex>`` (``main@sha1:363a…``, a full
``refs/heads/main@sha1:…`` when ``spec.ref.name`` is used) or ``sha1:<hex>`` for a
pure commit ref. Objects written before Flux v2.0 carry the legacy
``<ref>/<hex>`` form. The part after the last ``@`` is ``<algorithm>:<hash>``
(fluxcd/pkg git ``SplitRevision``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_HEX = re.compile(r"^[0-9a-fA-F]{7,64}$")
_DIGEST = re.compile(r"^([a-z0-9]+):([0-9a-zA-Z=_-]+)$")


@dataclass(frozen=True)
class Revision:
    """A parsed revision; ``ref`` is "" for a pure commit, ``hash`` is "" when unparsable."""

    text: str
    ref: str = ""
    algorithm: str = ""
    hash: str = ""

    @property
    def commit(self) -> str:
        """Return the Git commit id, or "" when the revision names none (OCI and Bucket digests)."""
        return self.hash if self.algorithm in ("sha1", "sha256") and _HEX.match(self.hash) else ""

    def short(self, length: int = 7) -> str:
        """Return ``<ref>@<short hash>`` (or the hash alone), the form tables print."""
        if not self.hash:
            return self.text
        short_hash = self.hash[:length]
        return f"{self.ref}@{short_hash}" if self.ref else short_hash


def parse_revision(text: str) -> Revision:
    """Parse a revision in the current or the legacy form; unknown forms keep only ``text``."""
    text = (text or "").strip()
    if not text:
        return Revision("")

    ref, _, tail = text.rpartition("@")
    match = _DIGEST.match(tail)
    if match:
        return Revision(text, ref, match.group(1), match.group(2))

    # Legacy "<ref>/<hex>": the ref itself may contain slashes (feature/x/<hex>).
    ref, slash, tail = text.rpartition("/")
    if slash and _HEX.match(tail) and len(tail) in (40, 64):
        return Revision(text, ref, "sha1" if len(tail) == 40 else "sha256", tail.lower())

    if _HEX.match(text) and len(text) in (40, 64):
        return Revision(text, "", "sha1" if len(text) == 40 else "sha256", text.lower())
    return Revision(text)


def same_revision(a: str, b: str) -> bool:
    """Return True when two revision strings name the same content.

    Hashes decide when both have one, so ``main/<hex>`` equals ``main@sha1:<hex>``;
    otherwise the strings must be equal.
    """
    left, right = parse_revision(a), parse_revision(b)
    if left.hash and right.hash:
        return left.hash.lower() == right.hash.lower()
    return left.text == right.text


def short_revision(text: str, length: int = 7) -> str:
    return parse_revision(text).short(length)
