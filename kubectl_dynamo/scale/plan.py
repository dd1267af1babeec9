"""Planning a scale: who owns each count, which writes to send, in which order (pure).

``plan_scale`` takes the objects read from the cluster and returns a ``Plan``. It
raises before anything is written when a precondition fails, so a request is
either planned whole or rejected whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Dict, List, Mapping, Optional, Sequence

from kubectl_dynamo.api.kinds import DGD, DGDSA, ResourceKind
from kubectl_dynamo.api.times import parse_time
from kubectl_dynamo.errors import DynamoError, ExitCode, UsageError
from kubectl_dynamo.scale import rules

Object = Dict[str, Any]

GRAPH = "graph"
ADAPTER = "adapter"

#: An adapter scaled less than this many seconds ago is reported as "scaled recently".
RECENT_SCALE_SECONDS = 120


class PreconditionFailed(DynamoError):
    """``--current-replicas`` did not match the live count (kubectl scale exits 1 here too)."""

    exit_code = ExitCode.DIFFERS


@dataclass
class ServiceChange:
    service: str
    current: int
    desired: int
    #: GRAPH (the DGD's spec.services.<S>.replicas) or ADAPTER (the adapter's /scale).
    owner: str
    adapter: Optional[str] = None
    node_count: int = 1
    gpus_per_node: int = 0
    autoscalers: List[str] = field(default_factory=list)
    #: rules.GROVE, rules.LWS, or "" when the graph does not show what runs the service.
    orchestrator: str = ""

    @property
    def unchanged(self) -> bool:
        return self.current == self.desired

    @property
    def field_path(self) -> str:
        return f"spec.services.{self.service}.replicas"

    @property
    def gpu_delta(self) -> int:
        return (self.desired - self.current) * self.node_count * self.gpus_per_node


@dataclass
class Write:
    """One request that changes one or more counts."""

    kind: ResourceKind
    name: str
    namespace: str
    patch_type: str  # "json" or "merge"
    body: Any
    changes: List[ServiceChange]
    subresource: Optional[str] = None

    @property
    def resource(self) -> str:
        return resource_name(self.kind, self.name)

    @property
    def path(self) -> str:
        return self.kind.path(self.namespace, self.name, self.subresource)

    @property
    def content_type(self) -> str:
        return "application/json-patch+json" if self.patch_type == "json" else "application/merge-patch+json"

    @property
    def sort_key(self) -> tuple:
        # Decreases go first, so that the graph never needs more GPUs than at the start or the end.
        return (sum(c.gpu_delta for c in self.changes), sum(c.desired - c.current for c in self.changes))


@dataclass
class Plan:
    graph: str
    namespace: str
    resource_version: str
    changes: List[ServiceChange]
    writes: List[Write]
    warnings: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    #: GPUs of the services left as they are: replicas x nodes per replica x GPUs per pod.
    other_gpus: int = 0

    @property
    def gpus_before(self) -> int:
        """Return the GPUs the whole graph requests now."""
        return self.other_gpus + sum(c.current * c.node_count * c.gpus_per_node for c in self.changes)

    @property
    def gpus_after(self) -> int:
        """Return the GPUs the whole graph requests after the change."""
        return self.other_gpus + sum(c.desired * c.node_count * c.gpus_per_node for c in self.changes)


def _singular(kind: ResourceKind) -> str:
    """Return the kind as kubectl prints it after a write: ``dynamographdeployment.nvidia.com``."""
    return f"{kind.kind.lower()}.{kind.group}" if kind.group else kind.kind.lower()


def resource_name(kind: ResourceKind, name: str) -> str:
    return f"{_singular(kind)}/{name}"


def json_pointer(*parts: str) -> str:
    """Return an RFC 6901 pointer, escaping ``~`` and ``/`` inside the parts."""
    return "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in parts)


def plan_scale(
    dgd: Object,
    counts: Mapping[str, int],
    *,
    adapters: Optional[Sequence[Object]],
    hpas: Sequence[Object] = (),
    current_replicas: Optional[int] = None,
    force: bool = False,
    now: Optional[datetime] = None,
) -> Plan:
    """Return the writes that set ``counts`` ({service key: replicas}) on the graph.

    ``adapters`` are the scaling adapters listed for the graph, or None when the
    cluster could not list them; then the operator's rule decides
    (``rules.adapter_expected``). Raises ``PreconditionFailed`` when
    ``current_replicas`` does not match a service, and ``UsageError`` when a
    multinode service would go to 0 without ``force``.
    """
    meta = dgd.get("metadata") or {}
    graph, namespace = meta.get("name", ""), meta.get("namespace", "")
    services = rules.services_of(dgd)
    plan = Plan(graph, namespace, str(meta.get("resourceVersion", "")), [], [])
    adapter_objects: Dict[str, Object] = {}

    for service, desired in counts.items():
        spec = services[service] or {}
        change = ServiceChange(
            service=service,
            current=rules.current_replicas(spec),
            desired=desired,
            owner=GRAPH,
            node_count=rules.node_count(spec),
            gpus_per_node=rules.gpus_per_node(spec),
            orchestrator=rules.orchestrator(dgd, service),
        )
        if adapters is None:
            if rules.adapter_expected(spec):
                change.owner, change.adapter = ADAPTER, rules.adapter_name(graph, service)
        else:
            adapter = rules.adapter_for(adapters, graph, service)
            if adapter is not None:
                change.owner, change.adapter = ADAPTER, adapter["metadata"]["name"]
                adapter_objects[service] = adapter
                _compare_adapter(plan, change, adapter, now)
        if change.adapter:
            change.autoscalers = rules.hpas_targeting(hpas, change.adapter)
        plan.changes.append(change)

    plan.other_gpus = sum(
        rules.current_replicas(spec or {}) * rules.node_count(spec or {}) * rules.gpus_per_node(spec or {})
        for name, spec in services.items() if name not in counts
    )
    _check_preconditions(plan.changes, current_replicas, force, plan)
    _describe_other_writers(plan, dgd)
    plan.writes = _writes(plan, adapter_objects)
    return plan


def _compare_adapter(plan: Plan, change: ServiceChange, adapter: Object, now: Optional[datetime]) -> None:
    """Take the current count from the adapter, which wins over the graph, and note a pending sync."""
    adapter_replicas = (adapter.get("spec") or {}).get("replicas")
    if adapter_replicas is not None and int(adapter_replicas) != change.current:
        plan.notes.append(
            f"scaling adapter {change.adapter} asks for {adapter_replicas} replicas of {change.service}, "
            f"the graph still has {change.current}; the operator has not copied the count yet"
        )
        change.current = int(adapter_replicas)
    last_scale = (adapter.get("status") or {}).get("lastScaleTime")
    when = parse_time(last_scale)
    if when is not None:
        age = ((now or datetime.now(timezone.utc)) - when).total_seconds()
        if 0 <= age < RECENT_SCALE_SECONDS:
            plan.notes.append(f"{change.service} was scaled {int(age)}s ago (scaling adapter {change.adapter}, lastScaleTime {last_scale})")


def _check_preconditions(changes: List[ServiceChange], current_replicas: Optional[int], force: bool, plan: Plan) -> None:
    if current_replicas is not None:
        wrong = [c for c in changes if c.current != current_replicas]
        if wrong:
            found = ", ".join(f"{c.service} has {c.current}" for c in wrong)
            raise PreconditionFailed(
                f"expected {current_replicas} current replicas, but {found}; nothing was written",
                hint="Read the counts again with `kubectl dynamo status`, then retry with the right --current-replicas.",
            )
    for change in changes:
        if change.desired != 0 or change.node_count <= 1 or change.unchanged:
            continue
        reason = rules.zero_multinode_reason(change.node_count, change.orchestrator)
        if not force:
            raise UsageError(
                f"will not scale {change.service} to 0 without --force: {reason}",
                hint="Scale it to 1 to keep the model served, or pass --force to write 0 anyway.",
            )
        plan.warnings.append(f"scaling {change.service} to 0 because of --force: {reason}")


def _describe_other_writers(plan: Plan, dgd: Object) -> None:
    planners = rules.planner_services(dgd)
    changed = [c for c in plan.changes if not c.unchanged]
    if planners and changed:
        plan.warnings.append(
            f"graph {plan.graph} has a planner ({', '.join(planners)}); it may change the replicas of "
            f"{', '.join(c.service for c in changed)} again"
        )
    for change in changed:
        if change.autoscalers:
            plan.warnings.append(
                f"HorizontalPodAutoscaler {', '.join(change.autoscalers)} targets scaling adapter {change.adapter}; "
                f"it may change the replicas of {change.service} again"
            )


def _writes(plan: Plan, adapters: Mapping[str, Object]) -> List[Write]:
    writes: List[Write] = []
    graph_changes = [c for c in plan.changes if c.owner == GRAPH and not c.unchanged]
    if graph_changes:
        operations: List[Dict[str, Any]] = [{"op": "test", "path": "/metadata/resourceVersion", "value": plan.resource_version}]
        for change in graph_changes:
            operations.append({"op": "add", "path": json_pointer("spec", "services", change.service, "replicas"), "value": change.desired})
        writes.append(Write(DGD, plan.graph, plan.namespace, "json", operations, graph_changes))
    for change in plan.changes:
        if change.owner != ADAPTER or change.unchanged:
            continue
        body: Dict[str, Any] = {"spec": {"replicas": change.desired}}
        version = ((adapters.get(change.service) or {}).get("metadata") or {}).get("resourceVersion")
        if version:
            # A stale resourceVersion in the patch makes the server return 409 instead of overwriting.
            body = {"metadata": {"resourceVersion": str(version)}, **body}
        writes.append(Write(DGDSA, change.adapter or "", plan.namespace, "merge", body, [change], subresource="scale"))
    writes.sort(key=lambda write: write.sort_key)
    return writes
