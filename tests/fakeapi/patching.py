"""Patch semantics by content type, and the simplified ``fieldsV1`` of managedFields."""

from __future__ import annotations

import copy
from typing import Any, Dict, List

import jsonpatch

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH, APPLY_PATCH)


class PatchError(ValueError):
    """A patch the server rejects; the handler responds 422 (or 400) with the message."""


def merge_patch(target: Any, patch: Any) -> Any:
    """Apply an RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge(target: Any, patch: Any) -> Any:
    """Approximate a strategic merge patch: like a merge patch, but lists of objects
    that all carry ``name`` (containers, env, ports, volumes) merge by name."""
    if isinstance(patch, dict):
        if patch.get("$patch") == "replace":
            return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
        result = copy.deepcopy(target) if isinstance(target, dict) else {}
        for key, value in patch.items():
            if key.startswith("$"):
                continue
            if value is None:
                result.pop(key, None)
            else:
                result[key] = strategic_merge(result.get(key), value)
        return result
    if isinstance(patch, list) and isinstance(target, list) and _named(patch) and _named(target):
        merged = [copy.deepcopy(item) for item in target]
        index = {item["name"]: i for i, item in enumerate(merged)}
        for item in patch:
            if item.get("$patch") == "delete":
                if item["name"] in index:
                    merged = [m for m in merged if m["name"] != item["name"]]
                    index = {m["name"]: i for i, m in enumerate(merged)}
                continue
            if item["name"] in index:
                merged[index[item["name"]]] = strategic_merge(merged[index[item["name"]]], item)
            else:
                index[item["name"]] = len(merged)
                merged.append(copy.deepcopy(item))
        return merged
    return copy.deepcopy(patch)


def _named(items: List[Any]) -> bool:
    return bool(items) and all(isinstance(item, dict) and "name" in item for item in items)


def apply_patch(target: Dict[str, Any], patch: Any, content_type: str) -> Dict[str, Any]:
    if content_type == JSON_PATCH:
        if not isinstance(patch, list):
            raise PatchError("json: cannot unmarshal object into Go value of type []handlers.jsonPatchOp")
        try:
            return jsonpatch.apply_patch(target, patch)
        except jsonpatch.JsonPatchTestFailed as exc:
            raise PatchError(f"the server rejected our request due to an error in our request: {exc}") from None
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
            raise PatchError(f"the server rejected our request due to an error in our request: {exc}") from None
    if not isinstance(patch, dict):
        kind = "array" if isinstance(patch, list) else type(patch).__name__
        raise PatchError(f"json: cannot unmarshal {kind} into Go value of type map[string]interface {{}}")
    if content_type == MERGE_PATCH:
        return merge_patch(target, patch)
    return strategic_merge(target, patch)


def fields_v1(obj: Any) -> Dict[str, Any]:
    """Return a simplified ``fieldsV1`` set: every map key as ``f:<key>``, lists as leaves."""
    if not isinstance(obj, dict):
        return {}
    fields: Dict[str, Any] = {}
    for key, value in obj.items():
        if key in ("apiVersion", "kind"):
            continue
        if key == "metadata" and isinstance(value, dict):
            value = {k: v for k, v in value.items() if k in ("labels", "annotations", "finalizers", "ownerReferences")}
            if not value:
                continue
        fields[f"f:{key}"] = fields_v1(value) if isinstance(value, dict) else {}
    return fields
