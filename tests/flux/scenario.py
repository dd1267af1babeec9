"""A Flux-managed fleet in the test API server: a GitRepository, Kustomizations and live graphs.

Times are relative to the moment of seeding so that "12m ago" and "in ~3m"
read the same on every run.
"""

from __future__ import annotations

import copy
import hashlib
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional

import yaml

from tests.flux.gitrepo import GRAPH, GitRepo

FLUX_NS = "flux-system"
REPO_NAME = "fleet"
REPO_URL = "https://example.com/org/fleet.git"


def stamp(delta_minutes: float) -> str:
    moment = datetime.now(timezone.utc) + timedelta(minutes=delta_minutes)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def revision(commit: str) -> str:
    return f"main@sha1:{commit}"


def ready(status: str = "True", reason: str = "ReconciliationSucceeded", message: str = "", minutes: float = -7) -> dict:
    return {"type": "Ready", "status": status, "reason": reason, "message": message, "lastTransitionTime": stamp(minutes)}


def git_repository(commit: str, *, digest: str = "", conditions: Optional[List[dict]] = None, suspend: bool = False) -> dict:
    rev = revision(commit)
    return {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": REPO_NAME, "namespace": FLUX_NS, "generation": 1},
        "spec": {"url": REPO_URL, "interval": "1m", "ref": {"branch": "main"}, "suspend": suspend},
        "status": {
            "observedGeneration": 1,
            "conditions": conditions or [ready(reason="Succeeded", message=f"stored artifact for revision '{rev}'")],
            "artifact": {
                "revision": rev,
                "digest": digest or "sha256:" + "0" * 64,
                "path": f"gitrepository/{FLUX_NS}/{REPO_NAME}/{commit}.tar.gz",
                "url": f"http://source-controller.{FLUX_NS}.svc.cluster.local./gitrepository/{FLUX_NS}/{REPO_NAME}/{commit}.tar.gz",
                "lastUpdateTime": stamp(-8),
            },
        },
    }


def kustomization(name: str, path: str, applied: str, *, attempted: Optional[str] = None,
                  conditions: Optional[List[dict]] = None, spec: Optional[dict] = None,
                  inventory: Optional[List[str]] = None) -> dict:
    body = {"interval": "10m", "path": path, "prune": True,
            "sourceRef": {"kind": "GitRepository", "name": REPO_NAME}}
    body.update(spec or {})
    entries = [{"id": f"dynamo_{graph}_nvidia.com_DynamoGraphDeployment", "v": "v1alpha1"} for graph in (inventory or [])]
    return {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": name, "namespace": FLUX_NS, "generation": 1},
        "spec": body,
        "status": {
            "observedGeneration": 1,
            "lastAppliedRevision": applied,
            "lastAttemptedRevision": attempted or applied,
            "conditions": conditions or [ready(message=f"Applied revision: {applied}")],
            "inventory": {"entries": entries},
            "history": [{"digest": "sha256:" + "1" * 64, "firstReconciled": stamp(-60), "lastReconciled": stamp(-7),
                         "lastReconciledDuration": "2s", "lastReconciledStatus": "ReconciliationSucceeded",
                         "totalReconciliations": 6, "metadata": {"revision": applied}}],
        },
    }


def managed_entry(manager: str, operation: str, minutes: float, fields: Dict[str, Any], subresource: str = "") -> dict:
    entry = {"manager": manager, "operation": operation, "apiVersion": "nvidia.com/v1alpha1", "time": stamp(minutes),
             "fieldsType": "FieldsV1", "fieldsV1": fields}
    if subresource:
        entry["subresource"] = subresource
    return entry


def _fields_of(value: Any) -> Dict[str, Any]:
    if not isinstance(value, dict):
        return {}
    return {f"f:{key}": _fields_of(child) for key, child in value.items()}


def live_graph(name: str, ks: str, *, image: str = "repo/vllm:v1", worker_replicas: int = 2,
               extra_entries: List[dict] = (), annotations: Optional[dict] = None) -> dict:
    """The DGD as Flux applied it: Git's fields, the owner labels, a kustomize-controller Apply entry."""
    graph = yaml.safe_load(GRAPH.format(name=name, image=image))
    graph["spec"]["services"]["VllmWorker"]["replicas"] = worker_replicas
    graph["metadata"]["labels"] = {"kustomize.toolkit.fluxcd.io/name": ks, "kustomize.toolkit.fluxcd.io/namespace": FLUX_NS}
    if annotations:
        graph["metadata"]["annotations"] = dict(annotations)
    applied_fields = _fields_of({"metadata": {"labels": graph["metadata"]["labels"]}, "spec": copy.deepcopy(graph["spec"])})
    graph["metadata"]["managedFields"] = [managed_entry("kustomize-controller", "Apply", -60, applied_fields)] + list(extra_entries)
    graph["status"] = {"state": "successful"}
    return graph


def serve_artifact(api, repo: GitRepo, commit: str, *, tamper: bool = False) -> str:
    """Serve the commit's tarball through the source-controller service proxy; return its digest."""
    data = repo.archive_targz(commit)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    api.seed({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "source-controller", "namespace": FLUX_NS},
              "spec": {"ports": [{"name": "http", "port": 80, "targetPort": 9090}]}})
    body = data + b"tampered" if tamper else data
    api.serve_proxy(FLUX_NS, "source-controller", f"gitrepository/{FLUX_NS}/{REPO_NAME}/{commit}.tar.gz", body, port="http")
    return digest
