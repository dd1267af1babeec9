"""View models of `get` and `status`: what the printers and `-o json|yaml` read.

Every value here is computed from live objects by ``kubectl_dynamo.status.build``.
The printers never look at raw objects, so the table and the JSON output cannot
disagree.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from kubectl_dynamo.api.kinds import DGD

#: The apiVersion of kubectl-dynamo's own documents (-o json|yaml), which no API server serves.
VIEW_API_VERSION = "kubectl-dynamo/v1alpha1"
GRAPH_STATUS_KIND = "GraphStatus"
GRAPH_STATUS_LIST_KIND = "GraphStatusList"


class Verdict(str, enum.Enum):
    """The product's verdict on a service or a graph, worst last."""

    READY = "Ready"
    PROGRESSING = "Progressing"
    UNKNOWN = "Unknown"
    DEGRADED = "Degraded"
    FAILED = "Failed"

    def __str__(self) -> str:
        return self.value


# Rank used to take the worst verdict of several services.
_SEVERITY = {
    Verdict.READY: 0,
    Verdict.PROGRESSING: 1,
    Verdict.UNKNOWN: 2,
    Verdict.DEGRADED: 3,
    Verdict.FAILED: 4,
}


def worst(verdicts: List[Verdict], default: Verdict = Verdict.READY) -> Verdict:
    """Return the most severe verdict, or ``default`` for an empty list."""
    if not verdicts:
        return default
    return max(verdicts, key=_SEVERITY.__getitem__)


@dataclass
class PodInfo:
    name: str
    phase: str
    ready_containers: int
    total_containers: int
    restarts: int
    created: Optional[str]  # RFC 3339 creationTimestamp
    node: str = ""
    # The one problem a person would look at first, e.g. "CrashLoopBackOff"; "" when none.
    problem: str = ""
    problem_message: str = ""

    @property
    def ready(self) -> bool:
        return self.phase == "Running" and self.total_containers > 0 and self.ready_containers == self.total_containers

    def to_dict(self) -> Dict[str, Any]:
        return {
            "name": self.name,
            "phase": self.phase,
            "ready": f"{self.ready_containers}/{self.total_containers}",
            "restarts": self.restarts,
            "node": self.node or None,
            "creationTimestamp": self.created,
            "problem": self.problem or None,
            "problemMessage": self.problem_message or None,
        }


@dataclass
class WorkloadInfo:
    """One Deployment, LeaderWorkerSet, PodClique or PodCliqueScalingGroup."""

    kind: str
    name: str
    desired: int
    ready: int
    updated: int
    available: Optional[int]  # None where the kind does not report it (LeaderWorkerSet)
    total: Optional[int]
    generation: Optional[int]
    observed_generation: Optional[int]
    created: Optional[str]
    pods: List[PodInfo] = field(default_factory=list)

    def to_dict(self) -> Dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "desired": self.desired,
            "ready": self.ready,
            "updated": self.updated,
            "available": self.available,
            "replicas": self.total,
            "generation": self.generation,
            "observedGeneration": self.observed_generation,
            "creationTimestamp": self.created,
            "pods": [pod.to_dict() for pod in self.pods],
        }


@dataclass
class EventInfo:
    type: str
    reason: str
    message: str
    kind: str
    name: str
    count: int
    last_seen: Optional[str]

    def to_dict(self) -> Dict[str, Any]:
        return {
            "type": self.type,
            "reason": self.reason,
            "object": f"{self.kind}/{self.name}",
            "count": self.count,
            "lastTimestamp": self.last_seen,
            "message": self.message,
        }


@dataclass
class ServiceStatus:
    """One entry of the graph's ``spec.services`` and the live objects behind it."""

    name: str
    type: str  # frontend, worker, prefill, decode, planner, or "-"
    verdict: Verdict
    # The workload kind people would `kubectl get`: Deployment, LeaderWorkerSet, PodClique,
    # PodCliqueScalingGroup, or "" while nothing exists yet.
    kind: str
    workload_name: str
    desired: int
    ready: int
    updated: int
    available: Optional[int]
    restarts: int
    created: Optional[str]
    reason: str = ""
    # True when waiting cannot help: the spec or the cluster must change first.
    failed_for_good: bool = False
    multinode_nodes: int = 1
    component_deployment: Optional[Dict[str, Any]] = None  # DCD name and its conditions
    workloads: List[WorkloadInfo] = field(default_factory=list)
    events: List[EventInfo] = field(default_factory=list)

    @property
    def is_ready(self) -> bool:
        return self.verdict is Verdict.READY

    @property
    def pods(self) -> List[PodInfo]:
        return [pod for workload in self.workloads for pod in workload.pods]

    def to_dict(self) -> Dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "verdict": self.verdict.value,
            "reason": self.reason or None,
            "failedForGood": self.failed_for_good,
            "workload": {"kind": self.kind or None, "name": self.workload_name or None},
            "desired": self.desired,
            "ready": self.ready,
            "updated": self.updated,
            "available": self.available,
            "restarts": self.restarts,
            "nodesPerReplica": self.multinode_nodes,
            "creationTimestamp": self.created,
            "componentDeployment": self.component_deployment,
            "workloads": [workload.to_dict() for workload in self.workloads],
        }


@dataclass
class FluxInfo:
    """The Flux sync state of a graph, copied from ``kubectl_dynamo.flux.sync.FluxSync``."""

    verdict: str  # Synced, Pending, Failing, Suspended, SourceNotReady, NotManaged
    kustomization: str = ""
    source_revision: str = ""
    applied_revision: str = ""
    details: Optional[Dict[str, Any]] = None

    @property
    def managed(self) -> bool:
        return self.verdict != "NotManaged"

    @property
    def column(self) -> str:
        return self.verdict if self.managed else "-"

    def to_dict(self) -> Dict[str, Any]:
        if self.details is not None:
            return self.details
        return {
            "verdict": self.verdict,
            "kustomization": self.kustomization or None,
            "sourceRevision": self.source_revision or None,
            "appliedRevision": self.applied_revision or None,
        }


@dataclass
class GraphStatus:
    """Everything `status` shows about one DynamoGraphDeployment."""

    name: str
    namespace: str
    uid: str
    verdict: Verdict
    # The operator's own view: status.state and the Ready condition.
    operator_state: str
    ready_status: str
    ready_reason: str
    ready_message: str
    generation: Optional[int]
    observed_generation: Optional[int]
    backend: str
    orchestrator: str  # Deployment, LeaderWorkerSet, Deployment+LeaderWorkerSet, Grove, or "-"
    created: Optional[str]
    services: List[ServiceStatus]
    flux: Optional[FluxInfo] = None
    events: List[EventInfo] = field(default_factory=list)
    # Graph-level explanation when the verdict does not come from one service.
    reason: str = ""
    # Objects for --tree: (kind, name, ready text, restarts, depth).
    tree: List["TreeRow"] = field(default_factory=list)

    @property
    def is_ready(self) -> bool:
        return self.verdict is Verdict.READY

    @property
    def services_ready(self) -> int:
        return sum(1 for service in self.services if service.is_ready)

    @property
    def replicas_desired(self) -> int:
        return sum(service.desired for service in self.services)

    @property
    def replicas_ready(self) -> int:
        return sum(min(service.ready, service.desired) for service in self.services)

    @property
    def failed_for_good(self) -> bool:
        return any(service.failed_for_good for service in self.services) or self.ready_reason == "ValidationFailed"

    def not_ready(self) -> List[ServiceStatus]:
        return [service for service in self.services if not service.is_ready]

    def identity(self) -> Dict[str, Any]:
        """Return the document's own type and, under ``graph``, the graph it describes.

        The document is a summary, not the DynamoGraphDeployment, so it carries
        kubectl-dynamo's apiVersion: `kubectl apply` rejects it instead of taking it
        for the graph.
        """
        return {
            "apiVersion": VIEW_API_VERSION,
            "kind": GRAPH_STATUS_KIND,
            "graph": {
                "apiVersion": DGD.api_version,
                "kind": DGD.kind,
                "namespace": self.namespace,
                "name": self.name,
                "uid": self.uid or None,
                "generation": self.generation,
                "creationTimestamp": self.created,
            },
        }

    def summary_dict(self) -> Dict[str, Any]:
        """Return the row of `get` as a dict: the same values as the table, plus identity."""
        return {
            **self.identity(),
            "verdict": self.verdict.value,
            "reason": self.reason or None,
            "services": {"ready": self.services_ready, "total": len(self.services)},
            "replicas": {"ready": self.replicas_ready, "desired": self.replicas_desired},
            "backend": self.backend or None,
            "flux": self.flux.to_dict() if self.flux else None,
            "operator": {
                "state": self.operator_state or None,
                "ready": {"status": self.ready_status or None, "reason": self.ready_reason or None},
            },
            "orchestrator": self.orchestrator,
        }

    def to_dict(self) -> Dict[str, Any]:
        return {
            **self.identity(),
            "verdict": self.verdict.value,
            "reason": self.reason or None,
            "operator": {
                "state": self.operator_state or None,
                "observedGeneration": self.observed_generation,
                "ready": {
                    "status": self.ready_status or None,
                    "reason": self.ready_reason or None,
                    "message": self.ready_message or None,
                },
            },
            "backend": self.backend or None,
            "orchestrator": self.orchestrator,
            "services": {"ready": self.services_ready, "total": len(self.services)},
            "replicas": {"ready": self.replicas_ready, "desired": self.replicas_desired},
            "flux": self.flux.to_dict() if self.flux else None,
            "serviceStatuses": [service.to_dict() for service in self.services],
            "events": [event.to_dict() for event in self.events],
        }


@dataclass
class TreeRow:
    depth: int
    kind: str
    name: str
    ready: str
    restarts: Optional[int]
    status: str
    created: Optional[str]

    def to_dict(self) -> Dict[str, Any]:
        return {
            "depth": self.depth,
            "kind": self.kind,
            "name": self.name,
            "ready": self.ready,
            "restarts": self.restarts,
            "status": self.status,
            "creationTimestamp": self.created,
        }


def current_time():
    """Return the time ages are measured against (a function, so tests can pin it)."""
    from datetime import datetime, timezone

    return datetime.now(timezone.utc)
