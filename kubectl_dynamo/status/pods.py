"""Pod problems, named in the words a person would look for.

The checks follow what `kubectl describe pod` shows first: container waiting reasons
(ImagePullBackOff, CrashLoopBackOff), the last termination (OOMKilled), the
scheduler's message for an unschedulable pod, and the pod's own failure reason.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from kubectl_dynamo.status.model import PodInfo

Object = Dict[str, Any]

# Waiting reasons that no amount of waiting fixes: the image reference itself is wrong.
PERMANENT_PROBLEMS = frozenset({"InvalidImageName", "ErrImageNeverPull"})

# Problems a person must look at; a service with such a pod is Degraded, not Progressing.
# Ordered from the most to the least telling, to pick one reason for a service.
PROBLEM_ORDER = (
    "InvalidImageName",
    "ErrImageNeverPull",
    "ImagePullBackOff",
    "ErrImagePull",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
    "CrashLoopBackOff",
    "OOMKilled",
    "Evicted",
    "Failed",
    "Unschedulable",
)

# States that are part of normal start-up or shutdown; they explain, but do not degrade.
# SchedulingGated: Grove holds each pod until its whole gang can be scheduled.
BENIGN_ORDER = ("Unhealthy", "NotReady", "SchedulingGated", "ContainerCreating", "PodInitializing", "Pending", "Terminating")


def problem_rank(problem: str) -> int:
    """Return a sort key: lower is more telling; unknown problems sort after known ones."""
    if problem in PROBLEM_ORDER:
        return PROBLEM_ORDER.index(problem)
    if problem in BENIGN_ORDER:
        return len(PROBLEM_ORDER) + 1 + BENIGN_ORDER.index(problem)
    return len(PROBLEM_ORDER)


def is_degrading(problem: str) -> bool:
    return bool(problem) and problem not in BENIGN_ORDER


def _container_statuses(status: Object) -> List[Tuple[bool, Object]]:
    init = [(True, c) for c in status.get("initContainerStatuses") or []]
    main = [(False, c) for c in status.get("containerStatuses") or []]
    return init + main


def _last_termination(container: Object) -> Optional[Object]:
    return ((container.get("lastState") or {}).get("terminated")) or None


def _waiting_problem(container: Object) -> Optional[Tuple[str, str]]:
    waiting = (container.get("state") or {}).get("waiting")
    if not waiting:
        return None
    reason = waiting.get("reason") or "Waiting"
    message = waiting.get("message") or ""
    last = _last_termination(container)
    if reason == "CrashLoopBackOff" and last:
        exit_text = last.get("reason") or "Error"
        if last.get("exitCode") is not None:
            exit_text += f", exit code {last.get('exitCode')}"
        message = f"container {container.get('name')} last terminated: {exit_text}"
    elif message:
        message = f"container {container.get('name')}: {message}"
    return reason, message


def describe_problem(pod: Object) -> Tuple[str, str]:
    """Return (problem, message) for a pod that is not ready, or ("", "") for a ready pod."""
    meta, status = pod.get("metadata") or {}, pod.get("status") or {}
    phase = status.get("phase") or "Pending"
    if meta.get("deletionTimestamp"):
        return "Terminating", ""
    if phase == "Failed":
        return status.get("reason") or "Failed", status.get("message") or ""
    if phase == "Succeeded":
        return "Completed", "pod exited; it will not serve"

    candidates: List[Tuple[str, str]] = []
    for is_init, container in _container_statuses(status):
        waiting = _waiting_problem(container)
        if waiting and waiting[0] not in ("PodInitializing",) and not (is_init and waiting[0] == "ContainerCreating"):
            candidates.append(waiting)
            continue
        last = _last_termination(container)
        running = (container.get("state") or {}).get("running")
        if last and last.get("reason") == "OOMKilled" and not container.get("ready"):
            state = "restarted" if running else "stopped"
            candidates.append(("OOMKilled", f"container {container.get('name')} was OOMKilled and {state}"))

    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
            candidates.append((cond.get("reason") or "Unschedulable", cond.get("message") or ""))

    if candidates:
        return min(candidates, key=lambda item: problem_rank(item[0]))
    if phase == "Pending":
        return "Pending", ""
    ready = _pod_ready(pod)
    if phase == "Running" and not ready:
        return "NotReady", "running, but the readiness probe has not passed"
    return "", ""


def _pod_ready(pod: Object) -> bool:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return bool(statuses) and all(c.get("ready") for c in statuses)


def pod_info(pod: Object) -> PodInfo:
    """Summarise one pod: phase, ready containers, restarts and its main problem."""
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    containers = status.get("containerStatuses") or []
    total = len(spec.get("containers") or []) or len(containers)
    ready_containers = sum(1 for c in containers if c.get("ready"))
    restarts = sum(int(c.get("restartCount") or 0) for _init, c in _container_statuses(status))
    phase = status.get("phase") or "Pending"
    if meta.get("deletionTimestamp"):
        phase = "Terminating"
    problem, message = ("", "") if (_pod_ready(pod) and phase == "Running") else describe_problem(pod)
    return PodInfo(
        name=meta.get("name", ""),
        phase=phase,
        ready_containers=ready_containers,
        total_containers=total,
        restarts=restarts,
        created=meta.get("creationTimestamp"),
        node=spec.get("nodeName") or "",
        problem=problem,
        problem_message=message,
    )
