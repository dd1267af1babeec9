"""Builders of Flux objects and DGDs as plain dicts, shaped as the controllers write them."""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Optional

SHA_A = "a" * 40
SHA_B = "b" * 40
REV_A = f"main@sha1:{SHA_A}"
REV_B = f"main@sha1:{SHA_B}"


def cond(type_: str, status: str, reason: str = "", message: str = "", time: str = "2026-12-04T20:00:00Z") -> dict:
    return {"type": type_, "status": status, "reason": reason, "message": message, "lastTransitionTime": time}


def dgd(name: str = "llm", namespace: str = "dynamo", *, ks: Optional[tuple] = ("flux-system", "apps"),
        labels: Optional[dict] = None, annotations: Optional[dict] = None, replicas: int = 2) -> dict:
    meta: Dict[str, Any] = {"name": name, "namespace": namespace, "labels": dict(labels or {})}
    if ks:
        meta["labels"].update({"kustomize.toolkit.fluxcd.io/name": ks[1], "kustomize.toolkit.fluxcd.io/namespace": ks[0]})
    if annotations:
        meta["annotations"] = dict(annotations)
    return {
        "apiVersion": "nvidia.com/v1alpha1",
        "kind": "DynamoGraphDeployment",
        "metadata": meta,
        "spec": {"services": {"Frontend": {"replicas": 1}, "VllmWorker": {"replicas": replicas}}},
    }


def inventory_id(obj: dict) -> dict:
    group, _, version = obj["apiVersion"].rpartition("/")
    meta = obj["metadata"]
    return {"id": f"{meta.get('namespace', '')}_{meta['name']}_{group}_{obj['kind']}", "v": version}


def kustomization(name: str = "apps", namespace: str = "flux-system", *, applied: str = REV_A,
                  attempted: Optional[str] = None, ready: Optional[dict] = None, extra_conditions: List[dict] = (),
                  suspend: bool = False, interval: str = "10m", inventory: Optional[List[dict]] = None,
                  source: str = "flux-repo", source_kind: str = "GitRepository", generation: int = 1,
                  observed: int = 1, last_reconciled: str = "2026-12-04T20:00:00Z", spec: Optional[dict] = None) -> dict:
    status: Dict[str, Any] = {
        "observedGeneration": observed,
        "lastAppliedRevision": applied,
        "lastAttemptedRevision": attempted if attempted is not None else applied,
        "conditions": [ready if ready is not None else cond("Ready", "True", "ReconciliationSucceeded", f"Applied revision: {applied}")]
        + list(extra_conditions),
    }
    if last_reconciled:
        status["history"] = [{"digest": "sha256:00", "firstReconciled": "2026-12-04T19:00:00Z",
                              "lastReconciled": last_reconciled, "lastReconciledStatus": "ReconciliationSucceeded",
                              "totalReconciliations": 3, "metadata": {"revision": applied}}]
    if inventory is not None:
        status["inventory"] = {"entries": inventory}
    body = {"interval": interval, "path": "./deploy", "prune": True, "suspend": suspend,
            "sourceRef": {"kind": source_kind, "name": source}}
    body.update(spec or {})
    return {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": name, "namespace": namespace, "generation": generation},
        "spec": body,
        "status": status,
    }


def git_repository(name: str = "flux-repo", namespace: str = "flux-system", *, revision: Optional[str] = REV_A,
                   ready: Optional[dict] = None, extra_conditions: List[dict] = (), suspend: bool = False,
                   digest: str = "sha256:" + "0" * 64, url: str = "https://example.com/org/repo.git") -> dict:
    status: Dict[str, Any] = {
        "conditions": [ready if ready is not None else cond("Ready", "True", "Succeeded", f"stored artifact for revision '{revision}'")]
        + list(extra_conditions),
    }
    if revision:
        sha = revision.rpartition(":")[2]
        status["artifact"] = {
            "revision": revision, "digest": digest,
            "path": f"gitrepository/{namespace}/{name}/{sha}.tar.gz",
            "url": f"http://source-controller.flux-system.svc.cluster.local./gitrepository/{namespace}/{name}/{sha}.tar.gz",
            "lastUpdateTime": "2026-12-04T19:59:00Z",
        }
    return {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": name, "namespace": namespace, "generation": 1},
        "spec": {"url": url, "interval": "1m", "ref": {"branch": "main"}, "suspend": suspend},
        "status": status,
    }


def clone(obj: dict) -> dict:
    return copy.deepcopy(obj)


def fields_v1(*paths: str) -> dict:
    """Build a ``fieldsV1`` tree owning the given dotted paths (``spec.services.W.replicas``)."""
    tree: Dict[str, Any] = {}
    for path in paths:
        node = tree
        for part in path.split("."):
            node = node.setdefault(f"f:{part}", {})
    return tree


def managed(manager: str, operation: str, time: str, *paths: str, subresource: str = "",
            api_version: str = "nvidia.com/v1alpha1") -> dict:
    entry = {"manager": manager, "operation": operation, "apiVersion": api_version, "time": time,
             "fieldsType": "FieldsV1", "fieldsV1": fields_v1(*paths)}
    if subresource:
        entry["subresource"] = subresource
    return entry


FLUX_FIELDS = (
    "metadata.labels.kustomize~toolkit~fluxcd~io/name",
    "metadata.labels.kustomize~toolkit~fluxcd~io/namespace",
    "spec.services.Frontend.replicas",
    "spec.services.VllmWorker.replicas",
)


def flux_entry(time: str = "2026-12-04T19:00:00Z", *extra: str) -> dict:
    """The kustomize-controller Apply entry for the fields ``dgd()`` sets in Git."""
    entry = managed("kustomize-controller", "Apply", time, *FLUX_FIELDS, *extra)
    # Dots inside label keys were written as ~ above so that they survive the split.
    entry["fieldsV1"] = _restore_dots(entry["fieldsV1"])
    return entry


def _restore_dots(tree: dict) -> dict:
    return {key.replace("~", "."): _restore_dots(value) for key, value in tree.items()}
