"""The ``nvidia.com/last-applied-hash`` annotation, computed as the 0.8.0 operator does.

The operator (controller_common/resource.go, Dynamo 0.8.0, functions GetSpecHash,
GetResourceHash and SortKeys) hashes the desired object like this:

1. Convert the typed object to an unstructured map and take its ``spec``; an object
   without ``spec`` (ServiceAccount, Role, RoleBinding) hashes as ``{}``.
2. JSON round trip into generic maps, then recursively sort: map keys by byte order,
   and every list whose first item is a map with Go's ``sort.SliceStable`` using
   "both have a string ``name``: compare names; else compare the alphabetically
   first key of each map".
3. Encode with Go ``encoding/json`` (compact; ``<``, ``>``, ``&``, U+2028 and U+2029
   escaped; numbers through float64) and take the lowercase hex SHA-256.

Step 1 reads the typed Go object, which has fields our plain dicts lack: a pod
template's ``metadata.creationTimestamp: null``, a container's ``resources: {}``,
canonical quantities. ``typed_spec`` adds those before hashing.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any, Callable, Dict, List

from kubectl_dynamo.api.quantity import QuantityError, canonical
from kubectl_dynamo.render.v0_8 import naming

Object = Dict[str, Any]

# Go escapes these besides what Python's json module escapes (quote, backslash and
# control characters, with the same short forms \n \r \t \b \f as Go 1.22 and later).
_GO_EXTRA_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                                   "\u2028": "\\u2028", "\u2029": "\\u2029"})


def _go_number(value) -> str:
    number = float(value)
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(f"cannot encode {value!r} as JSON")
    if isinstance(value, int) and abs(value) < 10**21:
        return str(value)
    if number == 0:
        return "0"
    magnitude = abs(number)
    if magnitude < 1e-6 or magnitude >= 1e21:
        text = repr(number)
        mantissa, _, exponent = text.partition("e")
        if exponent.startswith("-0"):
            exponent = "-" + exponent[2:]
        return f"{mantissa.removesuffix('.0')}e{exponent}"
    return format(Decimal(repr(number)).normalize(), "f")


def _has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_has_float(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_float(v) for v in value)
    return False


def _go_json_slow(value: Any) -> str:
    if isinstance(value, dict):
        items = sorted((str(k), v) for k, v in value.items())
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + _go_json_slow(v) for k, v in items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_go_json_slow(v) for v in value) + "]"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _go_number(value)
    return json.dumps(value, ensure_ascii=False)


def go_json(value: Any) -> str:
    """Encode like Go's ``json.Marshal`` of generic maps: compact, keys in byte order.

    Python's encoder writes floats differently (``2.0``, ``1e-07``), so values with
    floats take a slower path that formats numbers as Go does.
    """
    if _has_float(value):
        text = _go_json_slow(value)
    else:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text.translate(_GO_EXTRA_ESCAPES)


# --- Go's sort.SliceStable (insertion sort on blocks of 20, then in-place merges) ---

def _go_stable_sort(items: List[Any], less: Callable[[Any, Any], bool]) -> None:
    """Sort in place exactly as Go's ``sort.SliceStable`` does, even for a less
    function that is not a strict weak order (the operator's is not)."""

    def swap(i: int, j: int) -> None:
        items[i], items[j] = items[j], items[i]

    def lt(i: int, j: int) -> bool:
        return less(items[i], items[j])

    def insertion_sort(a: int, b: int) -> None:
        for i in range(a + 1, b):
            j = i
            while j > a and lt(j, j - 1):
                swap(j, j - 1)
                j -= 1

    def swap_range(a: int, b: int, n: int) -> None:
        for i in range(n):
            swap(a + i, b + i)

    def rotate(a: int, m: int, b: int) -> None:
        i, j = m - a, b - m
        while i != j:
            if i > j:
                swap_range(m - i, m, j)
                i -= j
            else:
                swap_range(m - i, m + j - i, i)
                j -= i
        swap_range(m - i, m, i)

    def sym_merge(a: int, m: int, b: int) -> None:
        if m - a == 1:
            i, j = m, b
            while i < j:
                h = (i + j) >> 1
                if lt(h, a):
                    i = h + 1
                else:
                    j = h
            for k in range(a, i - 1):
                swap(k, k + 1)
            return
        if b - m == 1:
            i, j = a, m
            while i < j:
                h = (i + j) >> 1
                if not lt(m, h):
                    i = h + 1
                else:
                    j = h
            for k in range(m, i, -1):
                swap(k, k - 1)
            return
        mid = (a + b) >> 1
        n = mid + m
        if m > mid:
            start, r = n - b, mid
        else:
            start, r = a, m
        p = n - 1
        while start < r:
            c = (start + r) >> 1
            if not lt(p - c, c):
                start = c + 1
            else:
                r = c
        end = n - start
        if start < m < end:
            rotate(start, m, end)
        if a < start < mid:
            sym_merge(a, start, mid)
        if mid < end < b:
            sym_merge(mid, end, b)

    n = len(items)
    block = 20
    a, b = 0, block
    while b <= n:
        insertion_sort(a, b)
        a, b = b, b + block
    insertion_sort(a, n)
    while block < n:
        a, b = 0, 2 * block
        while b <= n:
            sym_merge(a, a + block, b)
            a, b = b, b + 2 * block
        m = a + block
        if m < n:
            sym_merge(a, m, n)
        block *= 2


def _operator_less(left: Any, right: Any) -> bool:
    if isinstance(left, dict) and isinstance(right, dict):
        left_name, right_name = left.get("name"), right.get("name")
        if isinstance(left_name, str) and isinstance(right_name, str):
            return left_name < right_name
        if left and right:
            return min(left) < min(right)
    return False


def sort_keys(value: Any) -> Any:
    """Sort lists of maps the operator's way (map keys are sorted by ``go_json``)."""
    if isinstance(value, dict):
        return {k: sort_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        items = list(value)
        if items and isinstance(items[0], dict):
            _go_stable_sort(items, _operator_less)
        return [sort_keys(v) for v in items]
    return value


def hash_value(spec: Any) -> str:
    """SHA-256 of the canonical JSON of ``spec`` (None hashes as ``{}``)."""
    if spec is None:
        spec = {}
    return hashlib.sha256(go_json(sort_keys(spec)).encode("utf-8")).hexdigest()


# --- What the typed Go object adds to our plain dicts ---

def _canonical_quantities(resources: Any) -> None:
    if not isinstance(resources, dict):
        return
    for section in ("limits", "requests"):
        values = resources.get(section)
        if isinstance(values, dict):
            for key, quantity in list(values.items()):
                try:
                    values[key] = canonical(quantity)
                except QuantityError:
                    pass


def _typed_container(container: Any) -> None:
    if not isinstance(container, dict):
        return
    container.setdefault("name", "")
    resources = container.setdefault("resources", {})
    _canonical_quantities(resources)


def _typed_pod_spec(pod_spec: Any) -> None:
    if not isinstance(pod_spec, dict):
        return
    pod_spec.setdefault("containers", None)
    for key in ("containers", "initContainers"):
        for container in pod_spec.get(key) or []:
            _typed_container(container)
    for volume in pod_spec.get("volumes") or []:
        empty_dir = volume.get("emptyDir") if isinstance(volume, dict) else None
        if isinstance(empty_dir, dict) and "sizeLimit" in empty_dir:
            try:
                empty_dir["sizeLimit"] = canonical(empty_dir["sizeLimit"])
            except QuantityError:
                pass


def _typed_pod_template(template: Any) -> None:
    if not isinstance(template, dict):
        return
    metadata = template.setdefault("metadata", {})
    metadata.setdefault("creationTimestamp", None)
    _typed_pod_spec(template.setdefault("spec", {}))


def _typed_shared_spec(spec: Object) -> None:
    extra = spec.get("extraPodSpec")
    if isinstance(extra, dict):
        if any(key != "mainContainer" for key in extra):
            _typed_pod_spec(extra)
        if isinstance(extra.get("mainContainer"), dict):
            _typed_container(extra["mainContainer"])
    shared_memory = spec.get("sharedMemory")
    if isinstance(shared_memory, dict):
        try:
            shared_memory["size"] = canonical(shared_memory.get("size") or "0")
        except QuantityError:
            pass


def typed_spec(obj: Object) -> Any:
    """Return a copy of ``obj['spec']`` as the operator's typed object would present it."""
    spec = obj.get("spec")
    if spec is None:
        return None
    spec = json.loads(json.dumps(spec))  # a deep copy, faster than copy.deepcopy for JSON data
    kind = obj.get("kind")
    if kind == "Deployment":
        _typed_pod_template(spec.get("template"))
    elif kind == "LeaderWorkerSet":
        lwt = spec.setdefault("leaderWorkerTemplate", {})
        _typed_pod_template(lwt.get("leaderTemplate"))
        _typed_pod_template(lwt.setdefault("workerTemplate", {}))
        # NOTE: struct fields of the LWS API as published later (rolloutStrategy with a
        # required type, startupPolicy); assumed unchanged since v0.6.1, which 0.8.0 uses.
        spec.setdefault("rolloutStrategy", {}).setdefault("type", "")
        spec.setdefault("startupPolicy", "")
    elif kind == "PodCliqueSet":
        # NOTE: only the pod specs are typed here; other Grove fields the Go structs always
        # write (v0.1.0-alpha.3 of the Grove API) are taken as rendered.
        for clique in (spec.get("template") or {}).get("cliques") or []:
            _typed_pod_spec((clique.get("spec") or {}).get("podSpec"))
    elif kind == naming.DCD_KIND:
        _typed_shared_spec(spec)
    return spec


def spec_hash(obj: Object) -> str:
    """Return the value the operator writes into ``nvidia.com/last-applied-hash`` for ``obj``."""
    return hash_value(typed_spec(obj))


METADATA_ORDER = ("name", "namespace", "labels", "annotations", "ownerReferences")


def annotate(obj: Object, generation: int = 1) -> Object:
    """Add the hash and generation annotations the operator sets when it creates ``obj``."""
    metadata = obj.get("metadata") or {}
    annotations = dict(metadata.get("annotations") or {})
    annotations[naming.ANNOTATION_LAST_APPLIED_HASH] = spec_hash(obj)
    annotations[naming.ANNOTATION_LAST_APPLIED_GENERATION] = str(generation)
    metadata["annotations"] = annotations
    ordered = {key: metadata[key] for key in METADATA_ORDER if key in metadata}
    ordered.update((key, value) for key, value in metadata.items() if key not in ordered)
    obj["metadata"] = ordered
    return obj
