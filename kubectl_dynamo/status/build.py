"""Turn live objects into the `status` and `get` view models (pure; no I/O).

``GraphSnapshot`` contains what ``kubectl_dynamo.status.gather`` listed for one
graph. ``build_status`` judges every service of the graph from those children,
never from the DGD's own status alone, and ``build_tree`` lays out the same
objects for ``--tree``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Tuple

from kubectl_dynamo.api import labels as L
from kubectl_dynamo.status.model import (
    EventInfo,
    FluxInfo,
    GraphStatus,
    PodInfo,
    ServiceStatus,
    TreeRow,
    Verdict,
    WorkloadInfo,
    worst,
)
from kubectl_dynamo.status.pods import PERMANENT_PROBLEMS, is_degrading, pod_info, problem_rank
from kubectl_dynamo.output.printers import count_noun
from kubectl_dynamo.status.readiness import (
    Assessment,
    assess_deployment,
    assess_lws_group,
    assess_pcsg,
    assess_podclique,
    condition,
)

Object = Dict[str, Any]

GROVE_KINDS = ("PodClique", "PodCliqueScalingGroup")
DCD_KINDS = ("Deployment", "LeaderWorkerSet")


@dataclass
class GraphSnapshot:
    """The live objects of one graph, as listed by the graph's labels."""

    dgd: Object
    dcds: List[Object] = field(default_factory=list)
    deployments: List[Object] = field(default_factory=list)
    leader_worker_sets: List[Object] = field(default_factory=list)
    podcliques: List[Object] = field(default_factory=list)
    scaling_groups: List[Object] = field(default_factory=list)
    pods: List[Object] = field(default_factory=list)
    # None when events were not read (they only refine the reasons).
    events: Optional[List[Object]] = None
    podcliqueset: Optional[Object] = None
    flux: Any = None  # kubectl_dynamo.flux.sync.FluxSync, or None when not asked

    @property
    def name(self) -> str:
        return _meta(self.dgd).get("name", "")

    @property
    def namespace(self) -> str:
        return _meta(self.dgd).get("namespace", "")


def _meta(obj: Optional[Object]) -> Object:
    return (obj or {}).get("metadata") or {}


def _labels(obj: Object) -> Dict[str, str]:
    return _meta(obj).get("labels") or {}


def _name(obj: Object) -> str:
    return _meta(obj).get("name", "")


# --- the graph's spec -------------------------------------------------------------------


def service_specs(dgd: Object) -> Dict[str, Object]:
    """Return ``spec.services`` sorted by service name (the API server sorts map keys too)."""
    services = (dgd.get("spec") or {}).get("services") or {}
    return {name: services[name] or {} for name in sorted(services)}


def node_count(service: Object) -> int:
    multinode = service.get("multinode") or {}
    try:
        return max(1, int(multinode.get("nodeCount") or 1))
    except (TypeError, ValueError):
        return 1


def service_type(service: Object) -> str:
    sub = service.get("subComponentType") or ""
    return sub or service.get("componentType") or "-"


def desired_replicas(service: Object) -> int:
    # An unset replicas count becomes 1 in the Deployment (Kubernetes default) and one LWS.
    replicas = service.get("replicas")
    try:
        return 1 if replicas is None else int(replicas)
    except (TypeError, ValueError):
        return 1


def child_name(graph: str, service: str) -> str:
    """Return ``<graph>-<lowercase service>``: the DCD, Deployment and DGDSA name (graph.go, Dynamo 0.8.0)."""
    return f"{graph}-{service.lower()}"


def grove_name(graph: str, service: str) -> str:
    """Return ``<graph>-0-<lowercase service>``: the PodClique or PodCliqueScalingGroup name."""
    return f"{graph}-0-{service.lower()}"


def orchestration_mode(snapshot: GraphSnapshot) -> str:
    """Return "grove", "dcd" or "" (not decided yet) for the graph.

    Live children decide first; without any, the kinds in the operator's
    ``status.services``; then the ``nvidia.com/enable-grove: "false"`` annotation.
    """
    if snapshot.podcliques or snapshot.scaling_groups:
        return "grove"
    if snapshot.dcds or snapshot.deployments or snapshot.leader_worker_sets:
        return "dcd"
    status_kinds = {entry.get("componentKind") for entry in ((snapshot.dgd.get("status") or {}).get("services") or {}).values()}
    if status_kinds & set(GROVE_KINDS):
        return "grove"
    if status_kinds & set(DCD_KINDS):
        return "dcd"
    if str(_meta(snapshot.dgd).get("annotations", {}).get(L.ENABLE_GROVE, "")).lower() == "false":
        return "dcd"
    return ""


# --- pods and events --------------------------------------------------------------------


def _selector_matches(selector: Object, labels: Dict[str, str]) -> bool:
    match = (selector or {}).get("matchLabels") or {}
    if not match and not (selector or {}).get("matchExpressions"):
        return False
    if any(labels.get(k) != v for k, v in match.items()):
        return False
    for expr in (selector or {}).get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        present = key in labels
        if op == "In" and not (present and labels[key] in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


def _pods_sorted(pods: Iterable[Object]) -> List[PodInfo]:
    return sorted((pod_info(pod) for pod in pods), key=lambda info: info.name)


def event_info(event: Object) -> EventInfo:
    involved = event.get("involvedObject") or event.get("regarding") or {}
    last = event.get("lastTimestamp") or event.get("eventTime") or (event.get("series") or {}).get("lastObservedTime")
    last = last or event.get("firstTimestamp") or _meta(event).get("creationTimestamp")
    return EventInfo(
        type=event.get("type") or "",
        reason=event.get("reason") or "",
        message=(event.get("message") or event.get("note") or "").strip(),
        kind=involved.get("kind") or "",
        name=involved.get("name") or "",
        count=int(event.get("count") or (event.get("series") or {}).get("count") or 1),
        last_seen=last,
    )


def _events_for(events: Optional[List[Object]], objects: Iterable[Tuple[str, str]], prefixes: Iterable[Tuple[str, str]] = ()) -> List[EventInfo]:
    """Return the Warning events of the given (kind, name) objects, oldest first.

    ``prefixes`` matches objects by name prefix, for the ReplicaSets of a Deployment
    (``<deployment>-<pod-template-hash>``), which are not listed.
    """
    if not events:
        return []
    wanted = set(objects)
    prefix_list = list(prefixes)
    found = []
    for event in events:
        if (event.get("type") or "") != "Warning":
            continue
        info = event_info(event)
        if (info.kind, info.name) in wanted or any(info.kind == k and info.name.startswith(p) for k, p in prefix_list):
            found.append(info)
    return sorted(found, key=lambda e: (e.last_seen or "", e.kind, e.name))


# --- services ---------------------------------------------------------------------------


def _workload_info(assessment: Assessment, obj: Optional[Object], pods: List[PodInfo]) -> WorkloadInfo:
    return WorkloadInfo(
        kind=assessment.kind,
        name=assessment.name,
        desired=assessment.desired,
        ready=assessment.ready,
        updated=assessment.updated,
        available=assessment.available,
        total=assessment.total,
        generation=assessment.generation,
        observed_generation=assessment.observed_generation,
        created=_meta(obj).get("creationTimestamp") if obj else None,
        pods=pods,
    )


@dataclass
class _Found:
    """The workload objects of one service and the product's judgement of them."""

    assessment: Optional[Assessment]
    workloads: List[WorkloadInfo]
    objects: List[Tuple[str, str]]  # (kind, name) of the service's objects, for events
    prefixes: List[Tuple[str, str]]
    expected_kind: str
    expected_name: str
    created: Optional[str]


def _find_dcd_mode(snapshot: GraphSnapshot, service: str, spec: Object, pods: List[Object]) -> Tuple[_Found, Optional[Object]]:
    graph = snapshot.name
    dcd = next((d for d in snapshot.dcds if (d.get("spec") or {}).get("serviceName") == service), None)
    dcd = dcd or next((d for d in snapshot.dcds if _labels(d).get(L.COMPONENT) == service), None)
    dcd_name = _name(dcd) if dcd else child_name(graph, service)
    objects: List[Tuple[str, str]] = [("DynamoComponentDeployment", dcd_name)]
    multinode = node_count(spec) > 1
    desired = desired_replicas(spec)

    lws_objects = sorted(
        (o for o in snapshot.leader_worker_sets if _name(o).startswith(dcd_name + "-") and _name(o)[len(dcd_name) + 1:].isdigit()),
        key=lambda o: int(_name(o)[len(dcd_name) + 1:]),
    )
    deployment = next((d for d in snapshot.deployments if _name(d) == dcd_name), None)

    if lws_objects or (multinode and deployment is None):
        workloads = []
        for lws in lws_objects:
            lws_pods = [p for p in pods if _labels(p).get(L.LWS_NAME) == _name(lws)]
            single = assess_lws_group(_name(lws), [lws], 1)
            workloads.append(_workload_info(single, lws, _pods_sorted(lws_pods)))
            objects.append(("LeaderWorkerSet", _name(lws)))
        objects.extend(("Pod", _name(p)) for p in pods)
        assessment = assess_lws_group(f"{dcd_name}-0", lws_objects, desired) if lws_objects else None
        created = _meta(lws_objects[0]).get("creationTimestamp") if lws_objects else None
        found = _Found(assessment, workloads, objects, [], "LeaderWorkerSet", f"{dcd_name}-0", created)
        return found, dcd

    if deployment is None:
        return _Found(None, [], objects + [("Pod", _name(p)) for p in pods], [], "Deployment", dcd_name, None), dcd
    selector = (deployment.get("spec") or {}).get("selector") or {}
    own_pods = [p for p in pods if _selector_matches(selector, _labels(p))]
    assessment = assess_deployment(deployment)
    objects.append(("Deployment", dcd_name))
    objects.extend(("Pod", _name(p)) for p in own_pods)
    workloads = [_workload_info(assessment, deployment, _pods_sorted(own_pods))]
    found = _Found(assessment, workloads, objects, [("ReplicaSet", dcd_name + "-")], "Deployment", dcd_name,
                   _meta(deployment).get("creationTimestamp"))
    return found, dcd


def _find_grove_mode(snapshot: GraphSnapshot, service: str, spec: Object, pods: List[Object]) -> _Found:
    name = grove_name(snapshot.name, service)
    objects: List[Tuple[str, str]] = [("Pod", _name(p)) for p in pods]
    if node_count(spec) > 1:
        pcsg = next((o for o in snapshot.scaling_groups if _name(o) == name), None)
        if pcsg is None:
            return _Found(None, [], objects, [], "PodCliqueScalingGroup", name, None)
        assessment = assess_pcsg(pcsg)
        members = [c for c in snapshot.podcliques if _name(c).startswith(name + "-")]
        objects.append(("PodCliqueScalingGroup", name))
        objects.extend(("PodClique", _name(c)) for c in members)
        workload = _workload_info(assessment, pcsg, _pods_sorted(pods))
        return _Found(assessment, [workload], objects, [], "PodCliqueScalingGroup", name, _meta(pcsg).get("creationTimestamp"))
    clique = next((o for o in snapshot.podcliques if _name(o) == name), None)
    if clique is None:
        return _Found(None, [], objects, [], "PodClique", name, None)
    assessment = assess_podclique(clique)
    objects.append(("PodClique", name))
    workload = _workload_info(assessment, clique, _pods_sorted(pods))
    return _Found(assessment, [workload], objects, [], "PodClique", name, _meta(clique).get("creationTimestamp"))


def _pod_problem_reason(pods: List[PodInfo]) -> Tuple[str, str]:
    """Return (problem, text) for the most telling problem among the pods, or ("", "")."""
    with_problem = [p for p in pods if p.problem and not p.ready]
    if not with_problem:
        return "", ""
    top = min(with_problem, key=lambda p: problem_rank(p.problem))
    same = [p for p in with_problem if p.problem == top.problem]
    text = top.problem
    if top.problem_message:
        text += ": " + top.problem_message
    if len(same) > 1:
        text += f" ({len(same)} pods)"
    else:
        text += f" (pod {top.name})"
    return top.problem, text


def _dcd_summary(dcd: Optional[Object]) -> Optional[Dict[str, Any]]:
    if not dcd:
        return None
    conditions = [
        {k: c.get(k) for k in ("type", "status", "reason", "message") if c.get(k) is not None}
        for c in (dcd.get("status") or {}).get("conditions") or []
    ]
    return {"name": _name(dcd), "creationTimestamp": _meta(dcd).get("creationTimestamp"), "conditions": conditions}


def build_service(snapshot: GraphSnapshot, mode: str, service: str, spec: Object, pods: List[Object]) -> ServiceStatus:
    """Judge one service of the graph from its workload, its pods and their events."""
    desired = desired_replicas(spec)
    dcd = None
    if mode == "grove":
        found = _find_grove_mode(snapshot, service, spec, pods)
    else:
        found, dcd = _find_dcd_mode(snapshot, service, spec, pods)
    pod_infos = [p for w in found.workloads for p in w.pods] or _pods_sorted(pods)
    events = _events_for(snapshot.events, found.objects, found.prefixes)

    result = ServiceStatus(
        name=service,
        type=service_type(spec),
        verdict=Verdict.PROGRESSING,
        kind=found.expected_kind if found.assessment else "",
        workload_name=found.expected_name if found.assessment else "",
        desired=desired,
        ready=found.assessment.ready if found.assessment else 0,
        updated=found.assessment.updated if found.assessment else 0,
        available=found.assessment.available if found.assessment else None,
        restarts=sum(p.restarts for p in pod_infos),
        created=found.created,
        multinode_nodes=node_count(spec),
        component_deployment=_dcd_summary(dcd),
        workloads=found.workloads,
        events=events,
    )
    _judge(result, snapshot, mode, found, dcd, pod_infos, events)
    return result


def _judge(result: ServiceStatus, snapshot: GraphSnapshot, mode: str, found: _Found, dcd: Optional[Object],
           pods: List[PodInfo], events: List[EventInfo]) -> None:
    """Set the verdict, reason and failed_for_good of one service."""
    valid = condition(dcd, "Valid")
    if valid is not None and valid.get("status") == "False":
        result.verdict, result.failed_for_good = Verdict.FAILED, True
        result.reason = f"{valid.get('reason') or 'ValidationFailed'}: {valid.get('message') or ''}".rstrip(": ")
        return

    assessment = found.assessment
    if assessment is None:
        result.verdict, result.reason = _missing_workload(snapshot, mode, result.name, found, dcd)
        return

    problem, problem_text = _pod_problem_reason(pods)
    if assessment.failed_for_good:
        result.verdict, result.failed_for_good, result.reason = Verdict.FAILED, True, assessment.reason
        return
    if problem in PERMANENT_PROBLEMS:
        result.verdict, result.failed_for_good, result.reason = Verdict.FAILED, True, problem_text
        return

    mismatch = ""
    if assessment.desired != result.desired:
        mismatch = f"{assessment.kind} {assessment.name} has {count_noun(assessment.desired, 'replica')}, the graph asks for {result.desired}; "
        if assessment.edited_outside_operator:
            mismatch += "it was edited outside the operator, which reverts such edits on its next sync"
        else:
            mismatch += "the operator has not applied the change yet"
    if assessment.is_ready and not mismatch:
        result.verdict = Verdict.READY
        return

    if is_degrading(problem):
        result.verdict, result.reason = Verdict.DEGRADED, problem_text
        return
    result.verdict = Verdict.PROGRESSING
    reason = mismatch or assessment.reason
    # A Warning event (for example "Readiness probe failed: ...") is more telling than a
    # start-up state such as NotReady or ContainerCreating.
    detail = _latest_warning(events) or problem_text
    result.reason = f"{reason}; {detail}" if detail and reason else (reason or detail)


def _latest_warning(events: List[EventInfo]) -> str:
    if not events:
        return ""
    event = events[-1]
    return f"{event.reason}: {event.message} ({event.kind.lower()} {event.name})"


def _missing_workload(snapshot: GraphSnapshot, mode: str, service: str, found: _Found, dcd: Optional[Object]) -> Tuple[Verdict, str]:
    status = snapshot.dgd.get("status") or {}
    if not status and not mode:
        return Verdict.UNKNOWN, "no children: the operator has not reconciled this graph yet"
    if not mode:
        return Verdict.PROGRESSING, "no workload yet: waiting for the operator to create it"
    if mode == "dcd" and dcd is None:
        return Verdict.PROGRESSING, f"DynamoComponentDeployment {child_name(snapshot.name, service)} not created yet"
    available = condition(dcd, "Available")
    if available is not None and available.get("status") == "False" and available.get("message"):
        return Verdict.PROGRESSING, f"{found.expected_kind} {found.expected_name} not created: {available.get('message')}"
    return Verdict.PROGRESSING, f"{found.expected_kind} {found.expected_name} not created yet"


# --- the graph --------------------------------------------------------------------------


def orchestrator_label(mode: str, services: List[ServiceStatus]) -> str:
    if mode == "grove":
        return "Grove"
    kinds = sorted({s.kind for s in services if s.kind})
    if not kinds:
        if mode == "dcd":
            return "Deployment"
        return "-"
    return "+".join(kinds)


def flux_info(flux: Any) -> Optional[FluxInfo]:
    if flux is None:
        return None
    return FluxInfo(
        verdict=flux.verdict,
        kustomization=getattr(flux, "kustomization", "") or "",
        source_revision=getattr(flux, "source_revision", "") or "",
        applied_revision=getattr(flux, "applied_revision", "") or "",
        details=flux.to_dict(),
    )


def build_status(snapshot: GraphSnapshot) -> GraphStatus:
    """Build the status view model of one graph from its live objects."""
    dgd = snapshot.dgd
    meta, spec, status = _meta(dgd), dgd.get("spec") or {}, dgd.get("status") or {}
    mode = orchestration_mode(snapshot)
    pods_by_service: Dict[str, List[Object]] = {}
    for pod in snapshot.pods:
        labels = _labels(pod)
        if labels.get(L.GRAPH) == snapshot.name:
            pods_by_service.setdefault(labels.get(L.COMPONENT, ""), []).append(pod)
    services = [build_service(snapshot, mode, name, svc, pods_by_service.get(name, []))
                for name, svc in service_specs(dgd).items()]

    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {})
    operator_state = status.get("state") or ""
    verdict = worst([s.verdict for s in services])
    reason = ""
    if operator_state == "failed":
        verdict = Verdict.FAILED
        reason = f"{ready.get('reason') or 'failed'}: {ready.get('message') or ''}".rstrip(": ")
    elif not status and not mode:
        verdict = Verdict.UNKNOWN
        reason = "the operator has not reconciled this graph yet (no status, no children); is the Dynamo operator running?"
    elif verdict is not Verdict.READY:
        not_ready = [s for s in services if not s.is_ready]
        reason = f"{len(not_ready)} of {len(services)} services not ready: " + ", ".join(s.name for s in not_ready)

    graph_objects = [("DynamoGraphDeployment", snapshot.name)]
    if mode == "grove":
        graph_objects.append(("PodCliqueSet", snapshot.name))
    events = _events_for(snapshot.events, graph_objects) + [e for s in services for e in s.events]
    events.sort(key=lambda e: (e.last_seen or "", e.kind, e.name))

    return GraphStatus(
        name=snapshot.name,
        namespace=snapshot.namespace,
        uid=meta.get("uid", ""),
        verdict=verdict,
        operator_state=operator_state,
        ready_status=ready.get("status", ""),
        ready_reason=ready.get("reason", ""),
        ready_message=ready.get("message", ""),
        generation=meta.get("generation"),
        observed_generation=status.get("observedGeneration"),
        backend=spec.get("backendFramework") or _backend_from_dcds(snapshot.dcds),
        orchestrator=orchestrator_label(mode, services),
        created=meta.get("creationTimestamp"),
        services=services,
        flux=flux_info(snapshot.flux),
        events=events,
        reason=reason,
        tree=build_tree(snapshot, mode, services),
    )


def _backend_from_dcds(dcds: List[Object]) -> str:
    backends = sorted({(d.get("spec") or {}).get("backendFramework") for d in dcds} - {None, ""})
    return ",".join(backends)


# --- the tree ---------------------------------------------------------------------------


def _pod_rows(depth: int, pods: List[PodInfo]) -> List[TreeRow]:
    rows = []
    for pod in pods:
        status = pod.problem or pod.phase
        rows.append(TreeRow(depth, "Pod", pod.name, f"{pod.ready_containers}/{pod.total_containers}", pod.restarts, status, pod.created))
    return rows


def _workload_row(depth: int, workload: WorkloadInfo) -> TreeRow:
    restarts = sum(p.restarts for p in workload.pods)
    return TreeRow(depth, workload.kind, workload.name, f"{workload.ready}/{workload.desired}", restarts, "", workload.created)


def build_tree(snapshot: GraphSnapshot, mode: str, services: List[ServiceStatus]) -> List[TreeRow]:
    """Lay out graph -> component deployments -> workloads -> pods, found through labels."""
    rows = [TreeRow(0, "DynamoGraphDeployment", snapshot.name, "", None, (snapshot.dgd.get("status") or {}).get("state", ""),
                    _meta(snapshot.dgd).get("creationTimestamp"))]
    if mode == "grove":
        pcs = snapshot.podcliqueset
        rows.append(TreeRow(1, "PodCliqueSet", snapshot.name, "", None, "" if pcs else "not found", _meta(pcs).get("creationTimestamp") if pcs else None))
        for service in services:
            for workload in service.workloads:
                rows.append(_workload_row(2, workload))
                if workload.kind == "PodCliqueScalingGroup":
                    members = sorted((c for c in snapshot.podcliques if _name(c).startswith(workload.name + "-")), key=_name)
                    clique_of = {_name(p): _labels(p).get(L.GROVE_PODCLIQUE, "") for p in snapshot.pods}
                    for clique in members:
                        a = assess_podclique(clique)
                        clique_pods = [p for p in workload.pods if clique_of.get(p.name) == _name(clique)]
                        restarts = sum(p.restarts for p in clique_pods)
                        rows.append(TreeRow(3, "PodClique", a.name, f"{a.ready}/{a.desired}", restarts, "", _meta(clique).get("creationTimestamp")))
                        rows.extend(_pod_rows(4, clique_pods))
                    member_names = {_name(c) for c in members}
                    rest = [p for p in workload.pods if clique_of.get(p.name) not in member_names]
                    rows.extend(_pod_rows(3, rest))
                else:
                    rows.extend(_pod_rows(3, workload.pods))
        return rows
    for service in services:
        dcd = service.component_deployment
        if dcd is None and not service.workloads:
            continue
        available = next((c for c in (dcd or {}).get("conditions", []) if c.get("type") == "Available"), {})
        status = {"True": "Available", "False": available.get("reason") or "NotAvailable"}.get(available.get("status", ""), "")
        if dcd is None:
            status = "not found"
        name = dcd["name"] if dcd else child_name(snapshot.name, service.name)
        rows.append(TreeRow(1, "DynamoComponentDeployment", name, "", None, status, dcd.get("creationTimestamp") if dcd else None))
        for workload in service.workloads:
            rows.append(_workload_row(2, workload))
            rows.extend(_pod_rows(3, workload.pods))
    return rows
