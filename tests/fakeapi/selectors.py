"""Label and field selectors, parsed the way the API server parses them.

Label selectors support equality (``a=b``, ``a==b``, ``a!=b``), set-based
(``a in (x,y)``, ``a notin (x)``) and existence (``a``, ``!a``) requirements;
field selectors support ``=``, ``==`` and ``!=`` on dotted paths.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Dict, List, Optional

Matcher = Callable[[Dict[str, Any]], bool]


class SelectorError(ValueError):
    """A selector the API server would reject with 400 BadRequest."""


def _split_top_level(text: str) -> List[str]:
    """Split on commas that are not inside parentheses."""
    parts, depth, current = [], 0, []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [part.strip() for part in parts if part.strip()]


_SET = re.compile(r"^([A-Za-z0-9./_-]+)\s+(in|notin)\s+\((.*)\)$")
_EQUALITY = re.compile(r"^([A-Za-z0-9./_-]+)\s*(==|!=|=)\s*([A-Za-z0-9._-]*)$")
_EXISTS = re.compile(r"^(!?)([A-Za-z0-9./_-]+)$")


def parse_label_selector(text: Optional[str]) -> Matcher:
    """Return a predicate over an object's labels dict."""
    requirements = []
    for part in _split_top_level(text or ""):
        match = _SET.match(part)
        if match:
            key, op, values = match.group(1), match.group(2), {v.strip() for v in match.group(3).split(",") if v.strip()}
            if op == "in":
                requirements.append(lambda labels, k=key, vs=values: labels.get(k) in vs)
            else:
                requirements.append(lambda labels, k=key, vs=values: labels.get(k) not in vs)
            continue
        match = _EQUALITY.match(part)
        if match:
            key, op, value = match.groups()
            if op == "!=":
                requirements.append(lambda labels, k=key, v=value: labels.get(k) != v)
            else:
                requirements.append(lambda labels, k=key, v=value: labels.get(k) == v)
            continue
        match = _EXISTS.match(part)
        if match:
            negated, key = match.groups()
            if negated:
                requirements.append(lambda labels, k=key: k not in labels)
            else:
                requirements.append(lambda labels, k=key: k in labels)
            continue
        raise SelectorError(f"unable to parse requirement: {part!r}")
    return lambda labels: all(requirement(labels or {}) for requirement in requirements)


def _field_value(obj: Dict[str, Any], path: str) -> str:
    node: Any = obj
    for key in path.split("."):
        if not isinstance(node, dict):
            return ""
        node = node.get(key)
    if node is None:
        return ""
    if isinstance(node, bool):
        return "true" if node else "false"
    return str(node)


def parse_field_selector(text: Optional[str]) -> Matcher:
    """Return a predicate over a whole object (``metadata.name``, ``status.phase``, ...)."""
    requirements = []
    for part in _split_top_level(text or ""):
        match = re.match(r"^([A-Za-z0-9._-]+)\s*(==|!=|=)\s*(.*)$", part)
        if not match:
            raise SelectorError(f"invalid selector: '{part}'; can't understand '{part}'")
        path, op, value = match.groups()
        if op == "!=":
            requirements.append(lambda obj, p=path, v=value: _field_value(obj, p) != v)
        else:
            requirements.append(lambda obj, p=path, v=value: _field_value(obj, p) == v)
    return lambda obj: all(requirement(obj) for requirement in requirements)


# Kubernetes groups whose kinds are built in (strategic merge patch works on them only).
BUILTIN_GROUPS = {"", "apps", "batch", "autoscaling", "networking.k8s.io", "rbac.authorization.k8s.io", "policy"}

# Field selectors the real API server accepts per resource (Kubernetes 1.32), beyond
# metadata.name and metadata.namespace, which every resource accepts. Custom
# resources accept only those two unless their CRD declares selectableFields.
SUPPORTED_FIELDS = {
    ("", "pods"): {
        "spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName", "spec.hostNetwork",
        "status.phase", "status.podIP", "status.podIPs", "status.nominatedNodeName",
    },
    ("", "events"): {
        "involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
        "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
        "reason", "reportingComponent", "source", "type",
    },
    ("", "secrets"): {"type"},
    ("", "namespaces"): {"status.phase"},
    ("apps", "replicasets"): {"status.replicas"},
}


def check_field_selector(group: str, plural: str, text: Optional[str]) -> None:
    """Raise ``SelectorError`` with the real server's message for an unsupported field."""
    for part in _split_top_level(text or ""):
        field = re.split(r"==|!=|=", part, maxsplit=1)[0].strip()
        if field in ("metadata.name", "metadata.namespace") or field in SUPPORTED_FIELDS.get((group, plural), ()):
            continue
        if group in BUILTIN_GROUPS:
            raise SelectorError(f'field label not supported: {field}')
        raise SelectorError(f'"{field}" is not a known field selector: only "metadata.name", "metadata.namespace"')
