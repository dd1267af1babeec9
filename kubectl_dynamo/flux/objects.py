"""Reading Flux objects and the marks Flux leaves on applied objects (pure).

Label and annotation keys, Kustomization inventory ids, conditions, Go duration
strings and RFC 3339 times, as kustomize-controller and source-controller v1.9
write them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

from kubectl_dynamo.api.times import NANOSECONDS_PER_SECOND, parse_go_duration

Object = Dict[str, Any]

NAME_LABEL = "kustomize.toolkit.fluxcd.io/name"
NAMESPACE_LABEL = "kustomize.toolkit.fluxcd.io/namespace"
RECONCILE_KEY = "kustomize.toolkit.fluxcd.io/reconcile"
SSA_KEY = "kustomize.toolkit.fluxcd.io/ssa"
SUBSTITUTE_KEY = "kustomize.toolkit.fluxcd.io/substitute"
PRUNE_KEY = "kustomize.toolkit.fluxcd.io/prune"

#: The field manager kustomize-controller applies with (server-side apply, force).
FLUX_MANAGER = "kustomize-controller"

SSA_POLICIES = ("Override", "Merge", "IfNotPresent", "Ignore")

#: Source kinds a Kustomization may reference and the plugin reads.
SOURCE_KINDS = ("GitRepository", "OCIRepository", "Bucket")


# --- per-object marks ------------------------------------------------------

def metadata_value(obj: Object, key: str) -> str:
    """Return the value of ``key`` as a label or, failing that, an annotation ("" when unset).

    Flux accepts its per-object marks in either place (fluxcd/pkg ssa ``AnyInMetadata``).
    """
    meta = obj.get("metadata") or {}
    for section in ("labels", "annotations"):
        value = (meta.get(section) or {}).get(key)
        if value is not None:
            return str(value)
    return ""


def reconcile_disabled(obj: Object) -> bool:
    return metadata_value(obj, RECONCILE_KEY).lower() == "disabled"


def ssa_policy(obj: Object) -> str:
    """Return the object's ``kustomize.toolkit.fluxcd.io/ssa`` value in its canonical spelling."""
    value = metadata_value(obj, SSA_KEY)
    for policy in SSA_POLICIES:
        if value.lower() == policy.lower():
            return policy
    return value


def substitute_disabled(obj: Object) -> bool:
    return metadata_value(obj, SUBSTITUTE_KEY).lower() == "disabled"


def owner_labels(obj: Object) -> Optional[tuple]:
    """Return (namespace, name) of the Kustomization named by the object's labels, or None."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    name = labels.get(NAME_LABEL)
    namespace = labels.get(NAMESPACE_LABEL)
    if not name or not namespace:
        return None
    return namespace, name


# --- inventory -------------------------------------------------------------

@dataclass(frozen=True)
class InventoryEntry:
    namespace: str
    name: str
    group: str
    kind: str
    version: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def key(self) -> tuple:
        return (self.group, self.kind, self.namespace, self.name)


def parse_inventory_id(entry_id: str, version: str = "") -> Optional[InventoryEntry]:
    """Parse ``<namespace>_<name>_<group>_<kind>`` (cli-utils ObjMetadata); None when malformed.

    The namespace ends at the first ``_``, the kind starts after the last one, the
    group lies between the last two, and ``__`` inside the name stands for ``:``.
    """
    namespace, sep, rest = entry_id.partition("_")
    if not sep:
        return None
    rest, sep, kind = rest.rpartition("_")
    if not sep:
        return None
    name, sep, group = rest.rpartition("_")
    if not sep or not name or not kind:
        return None
    return InventoryEntry(namespace, name.replace("__", ":"), group, kind, version)


def inventory(kustomization: Object) -> Optional[List[InventoryEntry]]:
    """Return the Kustomization's inventory, or None when its status has none."""
    inv = (kustomization.get("status") or {}).get("inventory")
    if inv is None:
        return None
    entries = []
    for item in inv.get("entries") or []:
        entry = parse_inventory_id(str(item.get("id", "")), str(item.get("v", "")))
        if entry is not None:
            entries.append(entry)
    return entries


def in_inventory(entries: List[InventoryEntry], obj: Object) -> bool:
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    meta = obj.get("metadata") or {}
    key = (group, obj.get("kind", ""), meta.get("namespace", ""), meta.get("name", ""))
    return any(entry.key() == key for entry in entries)


# --- conditions, durations, times ------------------------------------------

def condition(obj: Optional[Object], type_: str) -> Optional[Object]:
    if not obj:
        return None
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == type_:
            return cond
    return None


def condition_true(obj: Optional[Object], type_: str) -> bool:
    cond = condition(obj, type_)
    return bool(cond) and cond.get("status") == "True"


def parse_duration(text: Any) -> Optional[float]:
    """Return the seconds of a Go duration string (``10m``, ``1h30m``, ``90s``), or None if invalid."""
    if not isinstance(text, str) or not text:
        return None
    try:
        return parse_go_duration(text) / NANOSECONDS_PER_SECOND
    except ValueError:
        return None


def format_duration(seconds: float) -> str:
    """Format a duration for people, rounded: ``45s``, ``12m``, ``3h5m``, ``2d``.

    Under 90 seconds it counts seconds, then whole minutes, then hours and minutes.
    """
    seconds = int(round(abs(seconds)))
    if seconds < 90:
        return f"{seconds}s"
    minutes = int(round(seconds / 60))
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes}m" if minutes and hours < 8 else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours}h" if hours and days < 8 else f"{days}d"


def format_time(value: Optional[datetime]) -> Optional[str]:
    if value is None:
        return None
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def ref_string(kind: str, namespace: str, name: str) -> str:
    return f"{kind}/{namespace}/{name}"
