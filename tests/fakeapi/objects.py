"""Builders for the objects tests seed most often: pods with readiness, restarts and
waiting reasons, and Flux sources and Kustomizations with their Ready condition."""

from __future__ import annotations

from typing import Any, Dict, Iterable, Optional

Object = Dict[str, Any]

TIME = "2026-01-01T00:00:00Z"


def pod(
    name: str,
    namespace: str = "default",
    *,
    labels: Optional[Dict[str, str]] = None,
    containers: Iterable[str] = ("main",),
    phase: str = "Running",
    ready: bool = True,
    restarts: int = 0,
    waiting: Optional[str] = None,
    waiting_message: str = "",
    last_terminated: Optional[str] = None,
    owner: Optional[Object] = None,
    node: Optional[str] = "node-1",
    created: str = TIME,
) -> Object:
    """Return a Pod as the API server serves it, with conditions and container statuses.

    ``waiting`` (e.g. ``CrashLoopBackOff``) puts every container in that waiting state
    and makes the pod not ready; ``last_terminated`` (e.g. ``OOMKilled``) records the
    previous instance's end, as after a restart.
    """
    names = list(containers)
    ready = ready and waiting is None and phase == "Running"
    statuses = []
    for container in names:
        state: Object = {"running": {"startedAt": created}}
        if waiting:
            state = {"waiting": {"reason": waiting, **({"message": waiting_message} if waiting_message else {})}}
        status: Object = {
            "name": container, "ready": ready, "started": waiting is None, "restartCount": restarts,
            "image": f"registry.example/{container}:1", "imageID": "", "state": state, "lastState": {},
        }
        if last_terminated:
            status["lastState"] = {"terminated": {"reason": last_terminated, "exitCode": 137 if last_terminated == "OOMKilled" else 1,
                                                  "startedAt": created, "finishedAt": created}}
        statuses.append(status)
    conditions = [
        {"type": "PodScheduled", "status": "True" if node else "False", "lastTransitionTime": created},
        {"type": "Initialized", "status": "True", "lastTransitionTime": created},
        {"type": "ContainersReady", "status": "True" if ready else "False", "lastTransitionTime": created},
        {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": created},
    ]
    metadata: Object = {"name": name, "namespace": namespace, "labels": dict(labels or {}), "creationTimestamp": created}
    if owner is not None:
        metadata["ownerReferences"] = [{
            "apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
            "uid": owner["metadata"].get("uid", ""), "controller": True, "blockOwnerDeletion": True,
        }]
    spec: Object = {"containers": [{"name": c, "image": f"registry.example/{c}:1"} for c in names]}
    if node:
        spec["nodeName"] = node
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": spec,
        "status": {"phase": phase, "conditions": conditions, "containerStatuses": statuses, "startTime": created},
    }


def _ready(ready: bool, reason: str, message: str, generation: int = 1) -> Object:
    return {"type": "Ready", "status": "True" if ready else "False", "reason": reason, "message": message,
            "observedGeneration": generation, "lastTransitionTime": TIME}


def git_repository(name: str, namespace: str = "flux-system", *, url: str = "https://git.example/apps.git",
                   branch: str = "main", revision: str = "main@sha1:0123456789abcdef0123456789abcdef01234567",
                   ready: bool = True) -> Object:
    """Return a Flux GitRepository with an artifact at ``revision``."""
    return {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": name, "namespace": namespace, "generation": 1},
        "spec": {"url": url, "ref": {"branch": branch}, "interval": "1m"},
        "status": {
            "observedGeneration": 1,
            "conditions": [_ready(ready, "Succeeded" if ready else "GitOperationFailed", f"stored artifact for revision '{revision}'")],
            "artifact": {
                "path": f"gitrepository/{namespace}/{name}/{revision.rsplit(':', 1)[-1]}.tar.gz",
                "url": f"http://source-controller.flux-system.svc.cluster.local./gitrepository/{namespace}/{name}/latest.tar.gz",
                "revision": revision, "lastUpdateTime": TIME,
            },
        },
    }


def kustomization(name: str, namespace: str = "flux-system", *, source: str = "apps", path: str = "./deploy",
                  target_namespace: Optional[str] = None,
                  revision: str = "main@sha1:0123456789abcdef0123456789abcdef01234567", ready: bool = True,
                  inventory: Iterable[str] = ()) -> Object:
    """Return a Flux Kustomization applied at ``revision``; ``inventory`` entries use
    Flux's id form ``<namespace>_<name>_<group>_<Kind>``."""
    spec: Object = {"interval": "10m", "path": path, "prune": True, "sourceRef": {"kind": "GitRepository", "name": source}}
    if target_namespace:
        spec["targetNamespace"] = target_namespace
    return {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": name, "namespace": namespace, "generation": 1},
        "spec": spec,
        "status": {
            "observedGeneration": 1,
            "lastAppliedRevision": revision,
            "lastAttemptedRevision": revision,
            "conditions": [_ready(ready, "ReconciliationSucceeded" if ready else "ReconciliationFailed", f"Applied revision: {revision}")],
            "inventory": {"entries": [{"id": entry, "v": "v1alpha1"} for entry in inventory]},
        },
    }
