"""Discovery documents (``/version``, ``/api``, ``/apis``, APIResourceLists) for the kinds
the product uses, as the real API server shapes them (legacy, non-aggregated form)."""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Tuple

from kubectl_dynamo.api.kinds import ALL_KINDS, ResourceKind

OBJECT_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
# The kinds `kubectl get all` lists, as the real server marks them.
CATEGORY_ALL = {"pods", "services", "deployments", "replicasets", "horizontalpodautoscalers"}

VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-fakeapi",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.23.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def _version_priority(version: str) -> Tuple[int, int, int]:
    """Sort key of Kubernetes version priority: GA before beta before alpha, newer first."""
    match = re.match(r"^v(\d+)(?:(alpha|beta)(\d+))?$", version)
    if not match:
        return (3, 0, 0)
    major, level, minor = match.groups()
    rank = {None: 0, "beta": 1, "alpha": 2}[level]
    return (rank, -int(major), -int(minor or 0))


def group_versions(kinds=ALL_KINDS) -> Dict[str, List[str]]:
    """Map each group ("" for core) to its versions, preferred first."""
    groups: Dict[str, List[str]] = {}
    for kind in kinds:
        versions = groups.setdefault(kind.group, [])
        if kind.version not in versions:
            versions.append(kind.version)
    return {group: sorted(versions, key=_version_priority) for group, versions in groups.items()}


def find_kind(group: str, version: str, plural: str, kinds=ALL_KINDS) -> Optional[ResourceKind]:
    for kind in kinds:
        if kind.group == group and kind.version == version and kind.plural == plural:
            return kind
    return None


def api_versions(server_address: str) -> Dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _group_entry(group: str, versions: List[str]) -> Dict[str, Any]:
    entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": entries, "preferredVersion": entries[0]}


def api_group_list(kinds=ALL_KINDS) -> Dict[str, Any]:
    groups = [_group_entry(g, vs) for g, vs in group_versions(kinds).items() if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(group: str, kinds=ALL_KINDS) -> Optional[Dict[str, Any]]:
    versions = group_versions(kinds).get(group)
    if not group or not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_entry(group, versions)}


def resource_list(group: str, version: str, kinds=ALL_KINDS) -> Optional[Dict[str, Any]]:
    """Return the APIResourceList of one group version, or None when it is not served."""
    served = [k for k in kinds if k.group == group and k.version == version]
    if not served:
        return None
    resources: List[Dict[str, Any]] = []
    for kind in served:
        entry: Dict[str, Any] = {
            "name": kind.plural,
            "singularName": kind.kind.lower(),
            "namespaced": kind.namespaced,
            "kind": kind.kind,
            "verbs": list(OBJECT_VERBS),
        }
        if kind.short_names:
            entry["shortNames"] = list(kind.short_names)
        if kind.plural in CATEGORY_ALL:
            entry["categories"] = ["all"]
        resources.append(entry)
        for sub in kind.subresources:
            if sub == "scale":
                resources.append({
                    "name": f"{kind.plural}/scale", "singularName": "", "namespaced": kind.namespaced,
                    "group": "autoscaling", "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"],
                })
            elif sub == "log":
                resources.append({"name": f"{kind.plural}/log", "singularName": "", "namespaced": True, "kind": kind.kind, "verbs": ["get"]})
            else:
                resources.append({
                    "name": f"{kind.plural}/{sub}", "singularName": "", "namespaced": kind.namespaced,
                    "kind": kind.kind, "verbs": ["get", "patch", "update"],
                })
        if kind.plural == "services":
            resources.append({
                "name": "services/proxy", "singularName": "", "namespaced": True, "kind": "ServiceProxyOptions",
                "verbs": ["create", "delete", "get", "patch", "update"],
            })
    group_version = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}
