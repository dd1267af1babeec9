"""Compare two versions of one object and list the changes as ``DiffItem``s.

The comparison runs on normalised objects (see ``normalize``). Lists keyed by
``name`` (containers, env, volumes, ports) are compared item by item by name, so
an added variable is one change wherever it sits. Other lists (args, command,
tolerations) are compared whole. deepdiff walks the objects, and no code outside
this module uses its result types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from deepdiff import DeepDiff

from kubectl_dynamo.diff.normalize import ORDERED_LISTS, keyed_list, normalize, normalize_pair, sort_keyed_lists
from kubectl_dynamo.errors import UsageError

Object = Dict[str, Any]
Segment = Union[str, int]

# Keys of keyed-list items in the internal mapping form; never a real map key.
_ITEM = "\x00"
_MASK = "***"


@dataclass(frozen=True)
class DiffItem:
    """One change: ``op`` is add, remove or replace; ``path`` the segments from the object root.

    A segment is a map key, a list index, or the name of an item of a list keyed
    by name (``("spec", "template", "spec", "containers", "main", "image")``).
    """

    op: str
    path: Tuple[Segment, ...]
    old: Any = None
    new: Any = None
    # Positions in ``path`` that name an item of a list keyed by name.
    keyed_positions: Tuple[int, ...] = field(default=(), compare=False)

    @property
    def pointer(self) -> str:
        """Return the path as a JSON pointer with names for keyed-list items, as ``--ignore`` takes it."""
        return "".join("/" + str(segment).replace("~", "~0").replace("/", "~1") for segment in self.path)

    @property
    def dotted(self) -> str:
        """Return the path the way people write it: ``spec.template.spec.containers[main].image``."""
        text = ""
        for index, segment in enumerate(self.path):
            if isinstance(segment, int) or index in self.keyed_positions:
                text += f"[{segment}]"
            elif "." in segment or "/" in segment:
                text += f'["{segment}"]'
            else:
                text += ("." if text else "") + segment
        return text


@dataclass(frozen=True)
class IgnoreRule:
    """A ``--ignore [KIND:]POINTER`` rule: drop a path from both sides before comparing."""

    pointer: str
    kind: Optional[str] = None

    @classmethod
    def parse(cls, text: str) -> "IgnoreRule":
        kind: Optional[str] = None
        pointer = text
        if not text.startswith("/") and ":" in text:
            kind, pointer = text.split(":", 1)
        if not pointer.startswith("/") or kind == "":
            raise UsageError(
                f"invalid --ignore value {text!r}: expected a JSON pointer such as /spec/replicas, "
                "optionally after a kind and a colon (Deployment:/spec/replicas)"
            )
        return cls(pointer=pointer, kind=kind)

    @property
    def segments(self) -> List[str]:
        return [part.replace("~1", "/").replace("~0", "~") for part in self.pointer.split("/")[1:]]

    def applies_to(self, kind: str) -> bool:
        return self.kind is None or self.kind.lower() == kind.lower()


@dataclass
class Comparison:
    """Both sides of one object as shown to people, and the changes between them."""

    old: Optional[Object]
    new: Optional[Object]
    items: List[DiffItem]

    @property
    def changed(self) -> bool:
        return bool(self.items)


def compare(
    old: Optional[Object],
    new: Optional[Object],
    *,
    old_is_live: bool,
    ignores: Sequence[IgnoreRule] = (),
) -> Comparison:
    """Normalise both versions of an object and list what differs.

    Either side may be None (the object is created or deleted). ``old_is_live``
    means that ``old`` was read from a cluster, so that labels and annotations
    other controllers added there do not count as changes.
    """
    old_view = normalize(old) if old is not None else None
    new_view = normalize(new) if new is not None else None
    normalize_pair(old_view, new_view, keep_old_metadata=old_is_live)
    for view in (old_view, new_view):
        if view is not None:
            sort_keyed_lists(view)
    mask_secret_data(old_view, new_view)
    kind = (new_view or old_view or {}).get("kind", "")
    for rule in ignores:
        if rule.applies_to(kind):
            for view in (old_view, new_view):
                if view is not None:
                    _remove_pointer(view, rule.segments)
    return Comparison(old_view, new_view, diff_items(old_view, new_view))


def diff_items(old: Optional[Object], new: Optional[Object]) -> List[DiffItem]:
    """List the changes from ``old`` to ``new`` (both normalised and sorted)."""
    if old is None and new is None:
        return []
    if old is None:
        return [DiffItem("add", (), None, new)]
    if new is None:
        return [DiffItem("remove", (), old, None)]
    if old == new:  # most objects are unchanged, and plain equality is far cheaper than deepdiff
        return []
    keyed_old, keyed_new = _to_keyed(old), _to_keyed(new)
    prefix, old_root, new_root = _narrow(keyed_old, keyed_new)
    tree = DeepDiff(old_root, new_root, view="tree", verbose_level=2)
    items: Dict[Tuple[Segment, ...], DiffItem] = {}
    for report_type, levels in tree.items():
        for level in levels:
            raw_path = prefix + tuple(level.path(output_format="list"))
            path, keyed_positions, list_cut = _decode_path(raw_path)
            if list_cut or report_type.startswith("iterable_") or report_type.startswith("repetition"):
                # A change inside a list that is not keyed by name replaces the whole list.
                old_value, new_value = _lookup(keyed_old, path), _lookup(keyed_new, path)
                item = DiffItem("replace", path, _from_keyed(old_value), _from_keyed(new_value), keyed_positions)
            elif report_type == "dictionary_item_added":
                item = DiffItem("add", path, None, _from_keyed(level.t2), keyed_positions)
            elif report_type == "dictionary_item_removed":
                item = DiffItem("remove", path, _from_keyed(level.t1), None, keyed_positions)
            else:
                item = DiffItem("replace", path, _from_keyed(level.t1), _from_keyed(level.t2), keyed_positions)
            items[path] = item
    return [items[path] for path in sorted(items, key=lambda p: [str(s) for s in p])]


def mask_secret_data(old: Optional[Object], new: Optional[Object]) -> None:
    """Replace, in place, every value of a Secret's ``data`` and ``stringData`` with ``***``.

    As in `kubectl diff`, a value that differs between the sides shows as
    ``*** (before)`` and ``*** (after)``, so the diff shows which keys changed and never how.
    """
    kind = (new or old or {}).get("kind")
    if kind != "Secret":
        return
    for key in ("data", "stringData"):
        old_data = (old or {}).get(key) or {}
        new_data = (new or {}).get(key) or {}
        for name in set(old_data) | set(new_data):
            differs = name in old_data and name in new_data and old_data[name] != new_data[name]
            if name in old_data:
                old_data[name] = f"{_MASK} (before)" if differs else _MASK
            if name in new_data:
                new_data[name] = f"{_MASK} (after)" if differs else _MASK


# --- keyed form --------------------------------------------------------------------------


def _to_keyed(value: Any, key: str = "") -> Any:
    """Turn lists keyed by name into maps from ``\\0name`` to item, recursively."""
    if isinstance(value, dict):
        return {child_key: _to_keyed(child, child_key) for child_key, child in value.items()}
    if isinstance(value, list):
        if key not in ORDERED_LISTS and keyed_list(value) and len({item["name"] for item in value}) == len(value):
            return {_ITEM + item["name"]: _to_keyed(item) for item in value}
        return [_to_keyed(item) for item in value]
    return value


def _from_keyed(value: Any) -> Any:
    if isinstance(value, dict):
        if value and all(isinstance(key, str) and key.startswith(_ITEM) for key in value):
            return [_from_keyed(item) for item in value.values()]
        return {key: _from_keyed(child) for key, child in value.items()}
    if isinstance(value, list):
        return [_from_keyed(item) for item in value]
    return value


def _narrow(old: Any, new: Any) -> Tuple[Tuple[Any, ...], Any, Any]:
    """Descend to the smallest subtree holding every difference, so deepdiff walks only that.

    deepdiff copies its path bookkeeping at every level it visits, which costs
    milliseconds per Deployment; most changes sit deep in one branch.
    """
    prefix: List[Any] = []
    while isinstance(old, dict) and isinstance(new, dict):
        differing = [key for key in set(old) | set(new) if old.get(key, _ABSENT) != new.get(key, _ABSENT)]
        if len(differing) != 1 or differing[0] not in old or differing[0] not in new:
            break
        key = differing[0]
        if not isinstance(old[key], dict) or not isinstance(new[key], dict):
            break
        prefix.append(key)
        old, new = old[key], new[key]
    return tuple(prefix), old, new


_ABSENT = object()


def _decode_path(raw: Tuple[Any, ...]) -> Tuple[Tuple[Segment, ...], Tuple[int, ...], bool]:
    """Return the path with item markers removed, the keyed positions, and whether it was cut at a list."""
    path: List[Segment] = []
    keyed: List[int] = []
    for segment in raw:
        if isinstance(segment, int):
            return tuple(path), tuple(keyed), True
        if isinstance(segment, str) and segment.startswith(_ITEM):
            keyed.append(len(path))
            path.append(segment[len(_ITEM):])
        else:
            path.append(segment)
    return tuple(path), tuple(keyed), False


def _lookup(root: Any, path: Sequence[Segment]) -> Any:
    node = root
    for segment in path:
        if isinstance(node, dict):
            if segment in node:
                node = node[segment]
            elif isinstance(segment, str) and _ITEM + segment in node:
                node = node[_ITEM + segment]
            else:
                return None
        else:
            return None
    return node


def _remove_pointer(node: Any, segments: List[str]) -> None:
    """Delete every field matching the pointer; ``*`` matches any key, index or item."""
    if not segments:
        return
    head, rest = segments[0], segments[1:]
    if isinstance(node, dict):
        if head == "*":
            keys = list(node)
        else:
            keys = [head] if head in node else []
        for key in keys:
            if rest:
                _remove_pointer(node[key], rest)
            else:
                del node[key]
    elif isinstance(node, list):
        matches = [
            index for index, item in enumerate(node)
            if head == "*" or head == str(index) or (isinstance(item, dict) and item.get("name") == head)
        ]
        for index in reversed(matches):
            if rest:
                _remove_pointer(node[index], rest)
            else:
                del node[index]
