"""The Kustomization's ``spec.ignore`` rules (kustomize-controller v1.9, Flux 2.9).

Each rule is ``{paths: [JSON pointer, …], target: selector}``. The selector's
``group``, ``version``, ``kind``, ``name`` and ``namespace`` are regular
expressions matched against the whole value; ``labelSelector`` and
``annotationSelector`` use Kubernetes selector syntax. A rule without a target
applies to every object. Listed paths are neither reported as drift nor reverted.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional

from kubectl_dynamo.api.selectors import selector_matches as label_selector_matches
from kubectl_dynamo.errors import InputError
from kubectl_dynamo.flux.fields import Path, parse_path

Object = Dict[str, Any]


def selector_matches(selector: str, values: Dict[str, str]) -> bool:
    """Match a Kubernetes label selector (``a=b,c!=d,e,!f,g in (x,y)``) against a map.

    Raises ``InputError`` for a selector it cannot parse.
    """
    try:
        return label_selector_matches(selector, values)
    except ValueError as exc:
        raise InputError(f"invalid selector {selector!r} in spec.ignore: {exc}") from None


def target_matches(target: Optional[Object], obj: Object) -> bool:
    """True when the object matches a kustomize-style selector (no target matches everything)."""
    if not target:
        return True
    api_version = str(obj.get("apiVersion", ""))
    group, _, version = api_version.rpartition("/")
    meta = obj.get("metadata") or {}
    fields = {"group": group, "version": version, "kind": obj.get("kind", ""),
              "name": meta.get("name", ""), "namespace": meta.get("namespace", "")}
    for field, actual in fields.items():
        pattern = target.get(field)
        if pattern and not re.fullmatch(str(pattern), str(actual)):
            return False
    if target.get("labelSelector") and not selector_matches(target["labelSelector"], meta.get("labels") or {}):
        return False
    if target.get("annotationSelector") and not selector_matches(target["annotationSelector"], meta.get("annotations") or {}):
        return False
    return True


def ignored_paths(kustomization: Object, obj: Object) -> List[Path]:
    """Return the ``spec.ignore`` paths of ``kustomization`` that apply to ``obj``."""
    paths: List[Path] = []
    for rule in (kustomization.get("spec") or {}).get("ignore") or []:
        if target_matches(rule.get("target"), obj):
            paths.extend(parse_path(str(p)) for p in rule.get("paths") or [])
    return paths
