"""Fields of a live DGD that applying a file leaves alone, found through ``managedFields``.

A file that omits a field removes it on apply only when the applier owns it.
A field that another manager set (the scaling adapter copying ``replicas`` into
the DGD, the planner, an autoscaler) survives a server-side apply by Flux or
kubectl, so a diff must not show it as removed. Fields that kubectl wrote do not:
Flux's kustomize-controller takes over every manager whose name starts with
``kubectl`` before it applies, and so drops them. Argo CD users meet this as
OutOfSync after autoscaling and need ``ignoreDifferences``.

The rule here: a map field that the live object has and the file lacks is kept
when ``managedFields`` names an owner of that exact field and no owner is a
known applier. Without ``managedFields`` the field counts as removed, which is
what a client-side `kubectl apply` of the whole object does.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Set, Tuple

Object = Dict[str, Any]

# Field managers of the tools that apply files: Flux, Helm, Argo CD, and every
# manager whose name starts with "kubectl" (kubectl, kubectl-edit, kubectl-client-side-apply).
APPLIERS = frozenset({
    "kustomize-controller", "helm-controller", "helm", "argocd-controller", "argocd-application-controller",
    "before-first-apply",
})
APPLIER_PREFIX = "kubectl"


@dataclass(frozen=True)
class KeptField:
    path: Tuple[str, ...]
    value: Any
    managers: Tuple[str, ...]

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


def keep_fields_owned_elsewhere(live: Optional[Object], desired: Object) -> Tuple[Object, List[KeptField]]:
    """Return ``desired`` with the live ``spec`` fields that applying it would not remove, and those fields."""
    if not live:
        return desired, []
    owners = _owners_by_path(live.get("metadata", {}).get("managedFields") or [])
    if not owners:
        return desired, []
    merged = copy.deepcopy(desired)
    kept: List[KeptField] = []
    _walk(live.get("spec"), merged.setdefault("spec", {}), ("spec",), owners, kept)
    return merged, kept


def _walk(live: Any, desired: Dict[str, Any], path: Tuple[str, ...], owners: Dict[Tuple[str, ...], Set[str]], kept: List[KeptField]) -> None:
    if not isinstance(live, dict):
        return
    for key, live_value in live.items():
        child_path = path + (key,)
        if key not in desired:
            managers = owners.get(child_path, set())
            if managers and not any(_is_applier(manager) for manager in managers):
                desired[key] = copy.deepcopy(live_value)
                kept.append(KeptField(child_path, live_value, tuple(sorted(managers))))
        elif isinstance(desired[key], dict):
            _walk(live_value, desired[key], child_path, owners, kept)


def _is_applier(manager: str) -> bool:
    return manager in APPLIERS or manager.startswith(APPLIER_PREFIX)


def _owners_by_path(entries: List[Object]) -> Dict[Tuple[str, ...], Set[str]]:
    """Map each field path named in ``fieldsV1`` (map keys only) to the managers that own it."""
    owners: Dict[Tuple[str, ...], Set[str]] = {}
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("fieldsType", "FieldsV1") != "FieldsV1":
            continue
        manager = str(entry.get("manager", ""))
        _collect(entry.get("fieldsV1") or {}, (), manager, owners)
    return owners


def _collect(fields: Any, path: Tuple[str, ...], manager: str, owners: Dict[Tuple[str, ...], Set[str]]) -> None:
    if not isinstance(fields, dict):
        return
    for key, child in fields.items():
        # "f:name" is a map field; "k:{...}" and "v:..." name list items, which this rule leaves to the diff.
        if not key.startswith("f:"):
            continue
        child_path = path + (key[2:],)
        owners.setdefault(child_path, set()).add(manager)
        _collect(child, child_path, manager, owners)
