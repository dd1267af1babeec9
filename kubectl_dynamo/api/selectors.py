"""Kubernetes label selectors in their text form, matched against a map of labels."""

from __future__ import annotations

import re
from typing import List, Mapping

_REQUIREMENT = re.compile(
    r"^\s*(?P<neg>!)?\s*(?P<key>[A-Za-z0-9_./-]+)\s*"
    r"(?:(?P<op>==|=|!=)\s*(?P<value>[A-Za-z0-9_.-]*)|\s+(?P<setop>in|notin)\s*\((?P<values>[^)]*)\))?\s*$"
)


def _split_selector(text: str) -> List[str]:
    # Commas inside "in (a,b)" belong to the requirement, not between requirements.
    parts, depth, current = [], 0, ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current)
    return parts


def validate_selector(selector: str) -> None:
    """Raise UsageError unless every requirement of ``selector`` has label-selector syntax.

    Checking before the request turns a typo in ``-l`` into a usage error (exit 2)
    instead of the API server's 400.
    """
    from kubectl_dynamo.errors import UsageError

    for requirement in _split_selector(selector or ""):
        if not _REQUIREMENT.match(requirement):
            raise UsageError(
                f"invalid label selector {selector!r}: cannot parse {requirement.strip()!r}",
                hint="Write requirements as key=value, key!=value, key, !key or 'key in (a,b)', separated by commas.",
            )


def selector_matches(selector: str, values: Mapping[str, str]) -> bool:
    """Match a label selector (``a=b,c!=d,e,!f,g in (x,y)``) against a map; the empty selector matches all.

    Raises ValueError naming the requirement it cannot parse.
    """
    for requirement in _split_selector(selector or ""):
        match = _REQUIREMENT.match(requirement)
        if not match:
            raise ValueError(f"cannot parse {requirement.strip()!r}")
        key, present = match.group("key"), match.group("key") in values
        if match.group("neg"):
            if present:
                return False
        elif match.group("op") in ("=", "=="):
            if values.get(key) != match.group("value"):
                return False
        elif match.group("op") == "!=":
            if values.get(key) == match.group("value"):
                return False
        elif match.group("setop"):
            options = {v.strip() for v in match.group("values").split(",") if v.strip()}
            inside = present and values[key] in options
            if inside != (match.group("setop") == "in"):
                return False
        elif not present:
            return False
    return True
