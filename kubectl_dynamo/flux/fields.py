"""Field-level comparison of a Git object with the live one, by server-side apply ownership.

Flux applies with server-side apply and force, so it owns exactly the fields
present in Git. A field counts as drift when Git sets it and the live value
differs, or when a ``kubectl`` manager added a field Git lacks (Flux takes
those managers' fields over and drops them, fluxcd/pkg ssa
``PatchReplaceFieldsManagers``). Fields that other managers own and Git does
not set (the operator, a scaling adapter, ``--field-manager=foo``) are never drift.

Paths are tuples of keys. Lists are compared whole: the DGD CRD declares no
list-map keys, so server-side apply treats its lists as atomic.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from kubectl_dynamo.api.times import parse_time
from kubectl_dynamo.flux import objects as fx

Object = Dict[str, Any]
Path = Tuple[str, ...]


class _Missing:
    def __repr__(self) -> str:
        return "<absent>"


#: The value of a field that an object does not set.
MISSING: Any = _Missing()

# Metadata that the API server or controllers own on every object.
_COMPARED_METADATA = ("labels", "annotations")
# Annotations the Dynamo operator writes on graphs (conversion and apply bookkeeping).
OPERATOR_ANNOTATION = re.compile(r"^nvidia\.com/(dgd-|last-applied-hash$)")


# --- paths ------------------------------------------------------------------

def format_path(path: Sequence[Any]) -> str:
    """Format a path the way people write it: ``spec.services.VllmWorker.replicas``.

    A key containing a dot is written in brackets: ``metadata.labels[app.kubernetes.io/name]``.
    """
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif "." in part or not part:
            text += f"[{part}]"
        else:
            text += ("." if text else "") + part
    return text


def parse_path(text: str) -> Path:
    """Parse a JSON pointer (``/spec/services/W/replicas``) or a dotted path with ``[key]`` parts.

    ``*`` as a whole segment matches any key.
    """
    text = text.strip()
    if text.startswith("/"):
        return tuple(part.replace("~1", "/").replace("~0", "~") for part in text[1:].split("/"))
    parts: List[str] = []
    for match in re.finditer(r"\[([^\]]*)\]|([^.\[\]]+)", text):
        parts.append(match.group(1) if match.group(1) is not None else match.group(2))
    return tuple(parts)


def path_matches(pattern: Path, path: Path) -> bool:
    """True when ``pattern`` equals ``path`` or one of its prefixes (``*`` matches any key)."""
    if len(pattern) > len(path):
        return False
    return all(want == "*" or want == str(have) for want, have in zip(pattern, path))


# --- managedFields -------------------------------------------------------------

@dataclass(frozen=True)
class FieldOwner:
    """One ``metadata.managedFields`` entry, without its field set."""

    manager: str
    operation: str
    time: Optional[datetime]
    subresource: str = ""

    @property
    def is_flux(self) -> bool:
        return self.manager == fx.FLUX_MANAGER and self.operation == "Apply"

    @property
    def taken_over_by_flux(self) -> bool:
        """True when Flux rewrites this entry into its own before applying, so its extra fields get dropped."""
        if self.subresource:
            return False
        if self.manager == "before-first-apply":
            return True
        if self.manager == fx.FLUX_MANAGER and self.operation == "Update":
            return True
        return self.manager.startswith("kubectl") and self.operation in ("Update", "Apply")

    def to_dict(self) -> Dict[str, Any]:
        return {"manager": self.manager, "operation": self.operation,
                "time": fx.format_time(self.time), "subresource": self.subresource}


def _field_paths(fields: Any, prefix: Path = ()) -> Iterator[Path]:
    """Yield every path a ``fieldsV1`` tree names (``f:`` keys; list keys kept as their raw text)."""
    if not isinstance(fields, dict):
        return
    for key, child in fields.items():
        if key == ".":
            continue
        if key.startswith("f:"):
            part = key[2:]
        else:
            part = key  # k:{...}, v:..., i:N name list items
        path = prefix + (part,)
        yield path
        yield from _field_paths(child, path)


@dataclass
class ManagedFields:
    """The owners of a live object's fields, read from ``metadata.managedFields``."""

    entries: List[Tuple[FieldOwner, frozenset]]

    @classmethod
    def of(cls, obj: Object) -> "ManagedFields":
        entries = []
        for raw in (obj.get("metadata") or {}).get("managedFields") or []:
            owner = FieldOwner(
                manager=str(raw.get("manager", "")),
                operation=str(raw.get("operation", "")),
                time=parse_time(raw.get("time")),
                subresource=str(raw.get("subresource", "") or ""),
            )
            entries.append((owner, frozenset(_field_paths(raw.get("fieldsV1") or {}))))
        return cls(entries)

    def owners(self, path: Path) -> List[FieldOwner]:
        """Return the entries that own ``path``, a parent of it (atomic lists) or a field below it."""
        found = []
        for owner, paths in self.entries:
            if any(path[:length] in paths for length in range(1, len(path) + 1)) or any(p[: len(path)] == path for p in paths):
                found.append(owner)
        return found

    def exact_owners(self, path: Path) -> List[FieldOwner]:
        return [owner for owner, paths in self.entries if path in paths]

    def who_set(self, path: Path) -> Optional[FieldOwner]:
        """Return the manager that most likely wrote the live value at ``path``.

        Prefers an owner other than Flux's apply (Flux would have written the Git
        value), then the newest entry.
        """
        owners = self.owners(path)
        if not owners:
            return None
        others = [o for o in owners if not o.is_flux] or owners
        return max(others, key=lambda o: o.time.timestamp() if o.time else 0.0)

    def leaves(self, owner_filter) -> Iterator[Tuple[FieldOwner, Path]]:
        """Yield (owner, path) for the leaf fields of entries that ``owner_filter`` accepts."""
        for owner, paths in self.entries:
            if not owner_filter(owner):
                continue
            for path in paths:
                if not any(other[: len(path)] == path and len(other) > len(path) for other in paths):
                    yield owner, path


# --- comparison ----------------------------------------------------------------

@dataclass(frozen=True)
class FieldDrift:
    """One field where the live object differs from what Flux would apply.

    ``kind`` is ``changed`` (Git sets it, live differs), ``missing`` (Git sets
    it, live lacks it) or ``extra`` (live only, owned by a manager Flux takes over).
    """

    path: Path
    git: Any
    live: Any
    kind: str
    owner: Optional[FieldOwner] = None

    @property
    def text_path(self) -> str:
        return format_path(self.path)

    def to_dict(self) -> Dict[str, Any]:
        return {
            "path": self.text_path,
            "kind": self.kind,
            "git": None if self.git is MISSING else self.git,
            "live": None if self.live is MISSING else self.live,
            "setBy": self.owner.to_dict() if self.owner else None,
        }


def _empty(value: Any) -> bool:
    return value is MISSING or value is None or value == {} or value == []


def values_equal(git: Any, live: Any) -> bool:
    """Compare a Git value with a live one, forgiving what the API server normalises.

    An empty map or list equals an absent field, and a number equals the same
    number written as a string (quantities such as ``"1"`` and ``1``).
    """
    if _empty(git) and _empty(live):
        return True
    if isinstance(git, dict) and isinstance(live, dict):
        keys = set(git) | set(live)
        return all(values_equal(git.get(k, MISSING), live.get(k, MISSING)) for k in keys)
    if isinstance(git, list) and isinstance(live, list):
        return len(git) == len(live) and all(values_equal(a, b) for a, b in zip(git, live))
    if isinstance(git, bool) or isinstance(live, bool):
        return git == live
    if isinstance(git, (int, float)) and isinstance(live, (int, float)):
        return git == live
    if isinstance(git, (int, float, str)) and isinstance(live, (int, float, str)) and type(git) is not type(live):
        return str(git) == str(live)
    return git == live


def _walk_desired(git: Any, live: Any, path: Path) -> Iterator[Tuple[Path, Any, Any]]:
    """Yield (path, git value, live value) for each Git leaf that differs from live."""
    if isinstance(git, dict) and git:
        live_map = live if isinstance(live, dict) else {}
        if live is not MISSING and not isinstance(live, dict) and live is not None:
            yield path, git, live
            return
        for key, value in git.items():
            yield from _walk_desired(value, live_map.get(key, MISSING), path + (str(key),))
        return
    if git is None:
        return  # a null in an apply configuration sets nothing
    if not values_equal(git, live):
        yield path, git, live


def _compared_roots(obj: Object) -> Iterator[Tuple[Path, Any]]:
    for key, value in obj.items():
        if key in ("apiVersion", "kind", "status"):
            continue
        if key == "metadata":
            for meta_key in _COMPARED_METADATA:
                if meta_key in (value or {}):
                    yield ("metadata", meta_key), value[meta_key]
            continue
        yield (key,), value


def _get(obj: Any, path: Path) -> Any:
    for part in path:
        if not isinstance(obj, dict) or part not in obj:
            return MISSING
        obj = obj[part]
    return obj


def operator_owned(path: Path) -> bool:
    return path[:2] == ("metadata", "annotations") and len(path) > 2 and bool(OPERATOR_ANNOTATION.match(path[2]))


@dataclass
class Comparison:
    drifts: List[FieldDrift]
    #: Differences on paths excluded by ``spec.ignore`` rules or ``--ignore``.
    ignored: List[FieldDrift]
    #: Live-only fields that other managers own: not Flux's business, listed for -o json.
    kept: List[Tuple[Path, FieldOwner]]


def compare(git: Object, live: Object, *, ignore: Iterable[Path] = (), merge_policy: bool = False) -> Comparison:
    """Compare the object Flux would apply (``git``) with the ``live`` object.

    ``ignore`` paths (and their sub-fields) are reported apart. With
    ``merge_policy`` (``kustomize.toolkit.fluxcd.io/ssa: Merge``), fields that
    ``kubectl`` added are kept by Flux, so they are not drift.
    """
    ignore = list(ignore)
    managed = ManagedFields.of(live)
    drifts: List[FieldDrift] = []
    ignored: List[FieldDrift] = []

    for root, value in _compared_roots(git):
        for path, git_value, live_value in _walk_desired(value, _get(live, root), root):
            if operator_owned(path):
                continue
            kind = "missing" if live_value is MISSING else "changed"
            item = FieldDrift(path, git_value, live_value, kind, managed.who_set(path))
            (ignored if any(path_matches(p, path) for p in ignore) else drifts).append(item)

    kept: List[Tuple[Path, FieldOwner]] = []
    seen = set()
    for owner, path in managed.leaves(lambda o: not o.is_flux):
        if path[0] in ("status", "apiVersion", "kind") or not _user_field(path):
            continue
        if any(part.startswith(("k:", "v:", "i:")) for part in path):
            path = path[: next(i for i, part in enumerate(path) if part.startswith(("k:", "v:", "i:")))]
        if _covered_by_git(git, path) or path in seen or operator_owned(path):
            continue
        live_value = _get(live, path)
        if live_value is MISSING:
            continue
        seen.add(path)
        if owner.taken_over_by_flux and not merge_policy:
            item = FieldDrift(path, MISSING, live_value, "extra", owner)
            (ignored if any(path_matches(p, path) for p in ignore) else drifts).append(item)
        else:
            kept.append((path, owner))
    return Comparison(drifts, ignored, kept)


def _user_field(path: Path) -> bool:
    if path[0] != "metadata":
        return True
    return len(path) > 2 and path[1] in _COMPARED_METADATA


def _covered_by_git(git: Object, path: Path) -> bool:
    """True when Git sets ``path``, a parent of it as a leaf value, or a list containing it."""
    node: Any = git
    for part in path:
        if not isinstance(node, dict):
            return True  # Git sets a scalar or an atomic list above this path
        if part not in node:
            return False
        node = node[part]
    return True


# --- plain object diff (revision to revision) -----------------------------------

@dataclass(frozen=True)
class Change:
    """One difference between two versions of an object: ``op`` is add, remove or change."""

    op: str
    path: Path
    old: Any = MISSING
    new: Any = MISSING

    @property
    def text_path(self) -> str:
        return format_path(self.path)

    def to_dict(self) -> Dict[str, Any]:
        return {"op": self.op, "path": self.text_path,
                "old": None if self.old is MISSING else self.old,
                "new": None if self.new is MISSING else self.new}


def diff_values(old: Any, new: Any, path: Path = ()) -> List[Change]:
    """Return the differences from ``old`` to ``new``; maps recurse, lists compare whole."""
    if isinstance(old, dict) and isinstance(new, dict):
        changes: List[Change] = []
        for key in list(old) + [k for k in new if k not in old]:
            changes.extend(diff_values(old.get(key, MISSING), new.get(key, MISSING), path + (str(key),)))
        return changes
    if values_equal(old, new):
        return []
    if old is MISSING:
        return [Change("add", path, new=new)]
    if new is MISSING:
        return [Change("remove", path, old=old)]
    return [Change("change", path, old, new)]


def diff_objects(old: Object, new: Object) -> List[Change]:
    """Diff two manifests of the same object, leaving out server-set metadata and status."""
    return diff_values(_comparable(old), _comparable(new))


def _comparable(obj: Object) -> Object:
    result = {k: v for k, v in obj.items() if k not in ("status",)}
    meta = obj.get("metadata") or {}
    result["metadata"] = {k: meta[k] for k in ("name", "namespace", "labels", "annotations") if k in meta}
    return result


def short_value(value: Any, limit: int = 60) -> str:
    """Format a value for one line of text: scalars as YAML would, structures as compact JSON."""
    if value is MISSING:
        return "<absent>"
    if isinstance(value, str):
        text = value if value and value.strip() == value and "\n" not in value else json.dumps(value)
    elif isinstance(value, bool) or value is None:
        text = json.dumps(value)
    elif isinstance(value, (int, float)):
        text = str(value)
    else:
        text = json.dumps(value, separators=(",", ":"), sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."
