"""Operator facts about who owns a service's replica count (pure).

Mirrors the Dynamo 0.8.0 operator: ``reconcileScalingAdapters`` in
dynamographdeployment_controller.go, the adapter controller in
dynamographdeploymentscalingadapter_controller.go, ``validateReplicasChanges`` in
webhook/validation/dynamographdeployment.go and ``GetNumberOfNodes`` in
api/v1alpha1/dynamocomponentdeployment_types.go.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional

from kubectl_dynamo.api.labels import COMPONENT, ENABLE_GROVE, GRAPH

Object = Dict[str, Any]

#: The CRD default of ``multinode.nodeCount`` (minimum 2) at Dynamo 0.8.0.
DEFAULT_NODE_COUNT = 2


def services_of(dgd: Object) -> Dict[str, Object]:
    return ((dgd.get("spec") or {}).get("services")) or {}


def current_replicas(service: Object) -> int:
    """Return the service's replica count; the operator and its webhook read an unset count as 1."""
    value = service.get("replicas")
    return 1 if value is None else int(value)


def node_count(service: Object) -> int:
    """Return the nodes per replica: ``multinode.nodeCount``, or 1 for a single-node service."""
    multinode = service.get("multinode")
    if multinode is None:
        return 1
    value = multinode.get("nodeCount")
    return DEFAULT_NODE_COUNT if value is None else int(value)


def is_multinode(service: Object) -> bool:
    return node_count(service) > 1


#: Values of ``orchestrator``.
GROVE = "Grove"
LWS = "LeaderWorkerSet"


def orchestrator(dgd: Object, service: str) -> str:
    """Return what runs a multinode service: ``GROVE``, ``LWS``, or "" when the graph does not tell.

    The operator records each service's child kind in ``status.services`` (PodClique
    or PodCliqueScalingGroup under Grove, Deployment or LeaderWorkerSet without it).
    A graph with no status yet runs without Grove when it has the
    ``nvidia.com/enable-grove: "false"`` annotation; otherwise the operator's own
    settings decide, which the graph does not show.
    """
    recorded = ((dgd.get("status") or {}).get("services")) or {}
    entries = [recorded[service]] if isinstance(recorded.get(service), dict) else list(recorded.values())
    kinds = {str((entry or {}).get("componentKind", "")) for entry in entries}
    if kinds & {"PodClique", "PodCliqueScalingGroup"}:
        return GROVE
    if kinds & {"Deployment", "LeaderWorkerSet"}:
        return LWS
    annotations = (dgd.get("metadata") or {}).get("annotations") or {}
    if str(annotations.get(ENABLE_GROVE, "")).lower() == "false":
        return LWS
    return ""


def zero_multinode_reason(nodes_per_replica: int, runner: str) -> str:
    """Return why scaling a multinode service to 0 is rejected without --force, for its orchestrator.

    Facts of Dynamo 0.8.0: the operator accepts 0 for a multinode service. Under
    Grove, the service is a PodCliqueScalingGroup, whose webhook rejects 0 replicas,
    so the pods keep running and the graph goes not ready. Without Grove, the
    operator creates one LeaderWorkerSet per replica, so 0 deletes them all and
    the graph stops serving that service.
    """
    nodes = f"it is multinode ({nodes_per_replica} nodes per replica)"
    grove = ("Grove's webhook rejects a PodCliqueScalingGroup of 0 replicas, "
             "so the pods keep running and the graph goes not ready")
    lws = "0 replicas delete every LeaderWorkerSet of the service, so the graph stops serving it"
    if runner == GROVE:
        return f"{nodes} and runs under Grove: {grove}"
    if runner == LWS:
        return f"{nodes} and runs as LeaderWorkerSets: {lws}"
    return f"{nodes}. Under Grove, {grove}. With LeaderWorkerSet, {lws}"


def gpus_per_node(service: Object) -> int:
    """Return the GPUs one pod requests (``resources.limits.gpu``, else ``requests.gpu``), 0 if unset."""
    resources = service.get("resources") or {}
    for section in ("limits", "requests"):
        value = (resources.get(section) or {}).get("gpu")
        if value not in (None, ""):
            try:
                return int(str(value))
            except ValueError:
                return 0
    return 0


def adapter_name(graph: str, service: str) -> str:
    """Return the adapter's name: ``<graph>-<lower-case service>`` (``generateAdapterName``)."""
    return f"{graph}-{service.lower()}"


def adapter_expected(service: Object) -> bool:
    """Return whether the operator gives this service an adapter, for when the adapters cannot be listed.

    Dynamo 0.8.0 creates one for every service unless ``scalingAdapter.disable`` is
    true. Later operators create one only on ``scalingAdapter.enabled: true``. A
    0.8.0 API server prunes that unknown field, so its presence on a live object
    means the newer opt-in rule applies.
    """
    settings = service.get("scalingAdapter") or {}
    if "enabled" in settings:
        return bool(settings.get("enabled"))
    return not bool(settings.get("disable"))


def adapter_for(adapters: Iterable[Object], graph: str, service: str) -> Optional[Object]:
    """Return the live adapter of ``service`` among ``adapters`` listed for the graph, or None.

    An adapter matches by ``spec.dgdRef`` (what the adapter controller follows) or,
    failing that, by the graph and component labels the DGD controller sets.
    Adapters being deleted are skipped.
    """
    for adapter in adapters:
        meta = adapter.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            continue
        ref = (adapter.get("spec") or {}).get("dgdRef") or {}
        if ref.get("name") == graph and ref.get("serviceName") == service:
            return adapter
        labels = meta.get("labels") or {}
        if not ref and labels.get(GRAPH) == graph and labels.get(COMPONENT) == service:
            return adapter
    return None


def planner_services(dgd: Object) -> List[str]:
    return sorted(name for name, spec in services_of(dgd).items() if (spec or {}).get("componentType") == "planner")


def hpas_targeting(hpas: Iterable[Object], adapter: str) -> List[str]:
    """Return the names of the HorizontalPodAutoscalers whose scale target is the adapter."""
    names = []
    for hpa in hpas:
        target = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
        api_group = str(target.get("apiVersion", "")).split("/")[0]
        if target.get("kind") == "DynamoGraphDeploymentScalingAdapter" and target.get("name") == adapter and api_group in ("", "nvidia.com"):
            names.append((hpa.get("metadata") or {}).get("name", ""))
    return sorted(names)
