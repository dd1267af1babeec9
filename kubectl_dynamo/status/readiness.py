"""Readiness of the workloads behind a service.

Two views live here. The ``operator_*_ready`` predicates mirror the Dynamo operator
0.8.0 exactly (``IsDeploymentReady`` and ``IsLeaderWorkerSetReady`` in
dynamocomponentdeployment_controller.go, ``checkPodCliqueReady`` and ``checkPCSGReady``
in grove.go), so that tests can pin them to the operator's own test vectors.
``assess_*`` is the product's stricter rule: a workload is ready only when its status
describes the current generation and updated == ready == desired (desired 0 is
ready). The operator's rule lets a rollout count as done while old pods still
satisfy the ready count; the stricter rule does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from kubectl_dynamo.api.labels import LAST_APPLIED_GENERATION
from kubectl_dynamo.output.printers import count_noun

Object = Dict[str, Any]


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _optional_int(value: Any) -> Optional[int]:
    return None if value is None else _int(value)


def condition(obj: Optional[Object], condition_type: str) -> Optional[Object]:
    """Return the status condition of that type, or None."""
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == condition_type:
            return cond
    return None


def _condition_true(obj: Optional[Object], condition_type: str) -> bool:
    cond = condition(obj, condition_type)
    return cond is not None and cond.get("status") == "True"


def _desired(obj: Object) -> int:
    replicas = (obj.get("spec") or {}).get("replicas")
    return 1 if replicas is None else _int(replicas)


# --- the operator's predicates (Dynamo 0.8.0) -------------------------------------------


def operator_deployment_ready(deployment: Optional[Object]) -> bool:
    """Mirror ``IsDeploymentReady``: the rule behind the DCD ``Available`` condition."""
    if not deployment:
        return False
    spec = deployment.get("spec") or {}
    if spec.get("paused"):
        return False
    desired = _desired(deployment)
    if desired == 0:
        return True
    status = deployment.get("status") or {}
    generation = _int((deployment.get("metadata") or {}).get("generation"))
    if _int(status.get("observedGeneration")) < generation:
        return False
    if _int(status.get("updatedReplicas")) < desired or _int(status.get("availableReplicas")) < desired:
        return False
    return _condition_true(deployment, "Available")


def operator_lws_ready(lws: Optional[Object]) -> bool:
    """Mirror ``IsLeaderWorkerSetReady``."""
    if not lws:
        return False
    desired = _desired(lws)
    if desired == 0:
        return True
    if _int((lws.get("status") or {}).get("readyReplicas")) < desired:
        return False
    return _condition_true(lws, "Available")


def operator_podclique_ready(podclique: Optional[Object]) -> bool:
    """Mirror ``checkPodCliqueReady``: spec.replicas == status.readyReplicas, or 0 desired."""
    if not podclique:
        return False
    desired = _int((podclique.get("spec") or {}).get("replicas"))
    return desired == 0 or desired == _int((podclique.get("status") or {}).get("readyReplicas"))


def operator_pcsg_ready(pcsg: Optional[Object]) -> bool:
    """Mirror ``checkPCSGReady``: spec.replicas == status.availableReplicas, or 0 desired."""
    if not pcsg:
        return False
    desired = _int((pcsg.get("spec") or {}).get("replicas"))
    return desired == 0 or desired == _int((pcsg.get("status") or {}).get("availableReplicas"))


# --- the product's assessment -----------------------------------------------------------


@dataclass
class Assessment:
    """Counters and readiness of one workload as the product judges it."""

    kind: str
    name: str
    desired: int
    ready: int
    updated: int
    available: Optional[int]
    total: Optional[int]
    generation: Optional[int]
    observed_generation: Optional[int]
    is_ready: bool
    # Why not ready, in a person's words; "" when ready.
    reason: str = ""
    failed_for_good: bool = False
    # The spec was changed by someone other than the operator since its last apply.
    edited_outside_operator: bool = False


def edited_outside_operator(obj: Object) -> bool:
    """Return True when the object's generation passed the one the operator last applied.

    The operator treats that as a manual change and re-applies its own spec on its
    next sync, so for example a `kubectl scale deployment` is reverted.
    """
    meta = obj.get("metadata") or {}
    stamped = _optional_int((meta.get("annotations") or {}).get(LAST_APPLIED_GENERATION))
    generation = _optional_int(meta.get("generation"))
    return stamped is not None and generation is not None and generation > stamped


def _generation_problem(obj: Object, *, required: bool) -> str:
    """Return why the status may describe an older spec, or "" when it is current.

    ``required`` is True for kinds that always report ``status.observedGeneration``
    (Deployments). For other kinds a missing value is not counted against the object.
    """
    generation = _optional_int((obj.get("metadata") or {}).get("generation"))
    observed = _optional_int((obj.get("status") or {}).get("observedGeneration"))
    if generation is None or generation == 0:
        return ""
    if observed is None:
        return "status not yet written for the current spec" if required else ""
    if observed < generation:
        return f"status is stale (observedGeneration {observed} < generation {generation})"
    return ""


def _counts_reason(desired: int, ready: int, updated: int, total: Optional[int], ready_word: str = "ready") -> str:
    """Return why the counters are not all equal to ``desired``, or "" when they are."""
    if updated < desired:
        return f"rollout in progress: {updated}/{desired} updated"
    if total is not None and total > desired:
        # Old pods of a rollout, or surplus pods of a scale-down, still running.
        return f"{count_noun(total, 'replica')} running, {desired} desired"
    if updated > desired or ready > desired:
        return f"scaling down: {count_noun(max(updated, ready), 'replica')}, {desired} desired"
    if ready < desired:
        return f"{ready}/{desired} {ready_word}"
    return ""


def assess_deployment(deployment: Object) -> Assessment:
    meta, spec, status = deployment.get("metadata") or {}, deployment.get("spec") or {}, deployment.get("status") or {}
    desired = _desired(deployment)
    result = Assessment(
        kind="Deployment",
        name=meta.get("name", ""),
        desired=desired,
        ready=_int(status.get("readyReplicas")),
        updated=_int(status.get("updatedReplicas")),
        available=_int(status.get("availableReplicas")),
        total=_int(status.get("replicas")),
        generation=_optional_int(meta.get("generation")),
        observed_generation=_optional_int(status.get("observedGeneration")),
        is_ready=False,
        edited_outside_operator=edited_outside_operator(deployment),
    )
    stale = _generation_problem(deployment, required=True)
    progressing = condition(deployment, "Progressing")
    replica_failure = condition(deployment, "ReplicaFailure")
    if spec.get("paused"):
        result.reason = "Deployment is paused"
    elif stale:
        result.reason = stale
    elif desired == 0:
        if result.total:
            result.reason = f"scaling down: {count_noun(result.total, 'replica')} left"
        else:
            result.is_ready = True
    elif progressing and progressing.get("status") == "False" and progressing.get("reason") == "ProgressDeadlineExceeded":
        # Kubernetes has given up on this rollout; it stays failed until the spec changes.
        result.reason = "ProgressDeadlineExceeded: " + (progressing.get("message") or "rollout made no progress")
        result.failed_for_good = True
    elif replica_failure and replica_failure.get("status") == "True":
        result.reason = f"{replica_failure.get('reason') or 'ReplicaFailure'}: {replica_failure.get('message') or ''}".rstrip(": ")
    else:
        reason = _counts_reason(desired, result.ready, result.updated, result.total)
        if not reason and (result.available or 0) < desired:
            reason = f"{result.available}/{desired} available"
        result.reason = reason
        result.is_ready = not reason
    return result


def assess_lws_group(name: str, lws_objects: List[Object], desired_groups: int) -> Assessment:
    """Assess the LeaderWorkerSets ``<dcd>-0`` … ``<dcd>-(n-1)`` of one multinode service.

    The Dynamo operator 0.8.0 creates one LeaderWorkerSet with ``replicas: 1`` per
    replica of the service; ``desired_groups`` is that replica count.
    """
    ready = updated = total = 0
    problems: List[str] = []
    for lws in lws_objects:
        status = lws.get("status") or {}
        ready += _int(status.get("readyReplicas"))
        updated += _int(status.get("updatedReplicas"))
        total += _int(status.get("replicas"))
        stale = _generation_problem(lws, required=False)
        if stale:
            problems.append(f"{lws['metadata'].get('name')}: {stale}")
    missing = desired_groups - len(lws_objects)
    result = Assessment(
        kind="LeaderWorkerSet",
        name=name,
        desired=desired_groups,
        ready=ready,
        updated=updated,
        available=None,
        total=total,
        generation=None,
        observed_generation=None,
        is_ready=False,
    )
    if problems:
        result.reason = problems[0]
    elif missing > 0:
        noun = "LeaderWorkerSet" if missing == 1 else "LeaderWorkerSets"
        result.reason = f"{missing} {noun} not created yet"
    elif desired_groups == 0 and not lws_objects:
        result.is_ready = True
    else:
        reason = _counts_reason(desired_groups, ready, updated, total)
        result.reason = reason
        result.is_ready = not reason
    return result


def _assess_grove(obj: Object, kind: str, ready_field: str, ready_word: str) -> Assessment:
    meta, status = obj.get("metadata") or {}, obj.get("status") or {}
    desired = _int((obj.get("spec") or {}).get("replicas"))
    ready = _int(status.get(ready_field))
    result = Assessment(
        kind=kind,
        name=meta.get("name", ""),
        desired=desired,
        ready=ready,
        updated=_int(status.get("updatedReplicas")),
        available=ready if ready_field == "availableReplicas" else None,
        total=_optional_int(status.get("replicas")),
        generation=_optional_int(meta.get("generation")),
        observed_generation=_optional_int(status.get("observedGeneration")),
        is_ready=False,
    )
    stale = _generation_problem(obj, required=False)
    if stale:
        result.reason = stale
    elif desired == 0:
        result.is_ready = True
    else:
        result.reason = _counts_reason(desired, result.ready, result.updated, result.total, ready_word=ready_word)
        result.is_ready = not result.reason
    return result


def assess_podclique(podclique: Object) -> Assessment:
    """Assess a Grove PodClique (a single-node service in Grove mode)."""
    return _assess_grove(podclique, "PodClique", "readyReplicas", "ready")


def assess_pcsg(pcsg: Object) -> Assessment:
    """Assess a Grove PodCliqueScalingGroup (a multinode service in Grove mode).

    Its replicas are gangs of leader and worker pods. ``availableReplicas`` counts
    the gangs that are up, so it is the ready count here, as in the operator.
    """
    return _assess_grove(pcsg, "PodCliqueScalingGroup", "availableReplicas", "available")
