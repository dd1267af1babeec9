"""Selection of the pods and containers of a graph to read: pure functions over pod objects.

The Dynamo 0.8.0 operator labels every pod of a graph, in both of its modes:

* DynamoComponentDeployment mode (Deployments and LeaderWorkerSets): the pod
  template carries the DCD's labels, which the graph controller sets to
  ``nvidia.com/dynamo-component: <service>`` and
  ``nvidia.com/dynamo-graph-deployment-name: <graph>``, plus
  ``nvidia.com/dynamo-component-type`` and ``nvidia.com/dynamo-sub-component-type``
  when the service sets them (dynamocomponentdeployment_controller.go and graph.go,
  Dynamo 0.8.0).
* Grove mode: each PodClique gets the same four labels from ``generateLabels``
  (graph.go, Dynamo 0.8.0), and Grove copies them onto its pods.

So one label selector on the graph name finds every pod, and the component label
names its service.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from kubectl_dynamo.api.labels import COMPONENT, COMPONENT_TYPE, GRAPH, SUB_COMPONENT_TYPE
from kubectl_dynamo.errors import NotFoundError
from kubectl_dynamo.logs.request import MAIN_CONTAINER, LogsRequest

#: The annotation kubectl reads to choose a pod's default container.
DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container"

#: Component types that are workers; ``--type worker`` matches all of them.
WORKER_TYPES = ("worker", "prefill", "decode")
UNKNOWN_SERVICE = "-"

Object = Dict[str, Any]


def graph_selector(graph: str) -> str:
    """Return the label selector of every pod of a graph."""
    return f"{GRAPH}={graph}"


@dataclass(frozen=True)
class GraphService:
    name: str
    component_type: str = ""
    sub_component_type: str = ""

    def describe(self) -> str:
        kinds = [k for k in (self.component_type, self.sub_component_type) if k]
        return f"{self.name} ({'/'.join(kinds)})" if kinds else self.name


def graph_services(dgd: Object) -> List[GraphService]:
    """Return the services of a DynamoGraphDeployment, in the file's order."""
    spec = dgd.get("spec") or {}
    services = spec.get("services")
    found: List[GraphService] = []
    if isinstance(services, Mapping):
        for name, body in services.items():
            body = body if isinstance(body, Mapping) else {}
            found.append(GraphService(str(name), str(body.get("componentType") or ""), str(body.get("subComponentType") or "")))
    # v1beta1 graphs list their services under spec.components, each with a name.
    for body in spec.get("components") or []:
        if isinstance(body, Mapping) and body.get("name"):
            found.append(GraphService(str(body["name"]), str(body.get("componentType") or ""), str(body.get("subComponentType") or "")))
    return found


def resolve_services(requested: Sequence[str], services: Sequence[GraphService], graph: str) -> Tuple[str, ...]:
    """Map SERVICE arguments to the graph's service names, matching case-insensitively.

    Raises NotFoundError naming the graph's services when one is unknown.
    """
    by_lower = {s.name.lower(): s.name for s in services}
    resolved: List[str] = []
    unknown: List[str] = []
    for name in requested:
        if any(s.name == name for s in services):
            resolved.append(name)
        elif name.lower() in by_lower:
            resolved.append(by_lower[name.lower()])
        else:
            unknown.append(name)
    if unknown:
        listing = ", ".join(s.describe() for s in services) or "none"
        noun = "service" if len(unknown) == 1 else "services"
        raise NotFoundError(
            f"{noun} {', '.join(repr(u) for u in unknown)} not found in graph {graph!r}; its services are: {listing}",
        )
    return tuple(dict.fromkeys(resolved))


def check_types(types: Sequence[str], services: Sequence[GraphService], graph: str) -> None:
    """Raise NotFoundError when no service of the graph has any of the requested types."""
    if not types or not services:
        return
    if any(type_matches(types, s.component_type, s.sub_component_type) for s in services):
        return
    listing = ", ".join(s.describe() for s in services)
    raise NotFoundError(f"graph {graph!r} has no service of type {' or '.join(types)}; its services are: {listing}")


def type_matches(types: Sequence[str], component_type: str, sub_component_type: str) -> bool:
    """Return whether a service's types match any requested ``--type``.

    ``worker`` matches workers of every kind (prefill and decode too); ``prefill``
    and ``decode`` match either the component type or the sub-component type.
    """
    for wanted in types:
        if wanted == "worker" and component_type in WORKER_TYPES:
            return True
        if wanted in (component_type, sub_component_type):
            return True
    return False


def pod_service(pod: Object) -> str:
    labels = (pod.get("metadata") or {}).get("labels") or {}
    return labels.get(COMPONENT) or UNKNOWN_SERVICE


def pod_types(pod: Object, services: Mapping[str, GraphService]) -> Tuple[str, str]:
    """Return a pod's component and sub-component type, from its labels, else from its graph service."""
    labels = (pod.get("metadata") or {}).get("labels") or {}
    component_type = labels.get(COMPONENT_TYPE, "")
    sub_component_type = labels.get(SUB_COMPONENT_TYPE, "")
    service = services.get(pod_service(pod))
    if service is not None:
        component_type = component_type or service.component_type
        sub_component_type = sub_component_type or service.sub_component_type
    return component_type, sub_component_type


def pod_selected(pod: Object, request: LogsRequest, services: Mapping[str, GraphService], wanted: Sequence[str]) -> bool:
    """Return whether a pod belongs to the requested services and types."""
    if wanted and pod_service(pod) not in wanted:
        return False
    if request.types:
        return type_matches(request.types, *pod_types(pod, services))
    return True


# --- containers ------------------------------------------------------------------


@dataclass(frozen=True)
class StreamKey:
    """One log stream: a container of one pod instance (the uid distinguishes replaced pods)."""

    namespace: str
    pod: str
    uid: str
    container: str


@dataclass(frozen=True)
class Target:
    key: StreamKey
    service: str

    @property
    def label(self) -> str:
        return f"{self.service}/{self.key.pod}/{self.key.container}"


@dataclass(frozen=True)
class ContainerChoice:
    """The containers to read in one pod, or why none can be read."""

    containers: Tuple[str, ...]
    problem: str = ""
    #: True when the problem is only that a pod lacks the container named by -c, which
    #: is expected in a graph whose services run different containers.
    lacks_named_container: bool = False


def pod_containers(pod: Object) -> Tuple[List[str], List[str], List[str]]:
    """Return the names of a pod's init, regular and ephemeral containers."""
    spec = pod.get("spec") or {}
    names = lambda field: [c.get("name", "") for c in spec.get(field) or [] if c.get("name")]  # noqa: E731
    return names("initContainers"), names("containers"), names("ephemeralContainers")


def choose_containers(pod: Object, request: LogsRequest) -> ContainerChoice:
    """Pick the containers of one pod to read.

    The default is the container named by ``kubectl.kubernetes.io/default-container``,
    else ``main`` (the container the operator builds), else a pod's only container.
    ``--all-containers`` reads init, regular and ephemeral containers, in that order.
    """
    init, regular, ephemeral = pod_containers(pod)
    everything = init + regular + ephemeral
    name = (pod.get("metadata") or {}).get("name", "")
    if request.all_containers:
        return ContainerChoice(tuple(everything))
    if request.container:
        if request.container in everything:
            return ContainerChoice((request.container,))
        problem = f"pod {name} has no container {request.container!r}; its containers are: {', '.join(everything) or 'none'}"
        return ContainerChoice((), problem, lacks_named_container=True)
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    preferred = annotations.get(DEFAULT_CONTAINER_ANNOTATION)
    if preferred and preferred in everything:
        return ContainerChoice((preferred,))
    if MAIN_CONTAINER in regular:
        return ContainerChoice((MAIN_CONTAINER,))
    if len(regular) == 1:
        return ContainerChoice((regular[0],))
    return ContainerChoice(
        (),
        f"pod {name} has no container {MAIN_CONTAINER!r}; its containers are: {', '.join(everything) or 'none'}. "
        "Choose one with -c, or read all with --all-containers",
    )


def pod_targets(pod: Object, choice: ContainerChoice) -> List[Target]:
    """Return the streams of the chosen containers of one pod."""
    metadata = pod.get("metadata") or {}
    service = pod_service(pod)
    return [
        Target(StreamKey(metadata.get("namespace", ""), metadata.get("name", ""), metadata.get("uid", ""), c), service)
        for c in choice.containers
    ]


def check_named_container(pods: Sequence[Object], request: LogsRequest) -> None:
    """Raise NotFoundError when ``-c NAME`` names a container that none of the pods has."""
    if not request.container or not pods:
        return
    names: List[str] = []
    for pod in pods:
        init, regular, ephemeral = pod_containers(pod)
        names.extend(n for n in init + regular + ephemeral if n not in names)
    if request.container not in names:
        raise NotFoundError(
            f"no pod of graph {request.graph!r} has a container {request.container!r}; their containers are: {', '.join(names)}",
        )


# --- container states ------------------------------------------------------------

#: A container that has run at least once has a log; one that never ran has none yet.
STARTED, WAITING, GONE = "started", "waiting", "gone"


@dataclass(frozen=True)
class ContainerState:
    phase: str  # STARTED, WAITING or GONE
    running: bool = False
    restart_count: int = 0
    has_previous: bool = False
    reason: str = ""
    #: The time the current instance started, to tell a restart from a dropped stream.
    started_at: str = ""


def container_state(pod: Object, container: str) -> ContainerState:
    """Describe a container from the pod's status: whether it has a log to read now."""
    status = pod.get("status") or {}
    if (pod.get("metadata") or {}).get("deletionTimestamp") and status.get("phase") in ("Succeeded", "Failed"):
        return ContainerState(GONE, reason="pod terminated")
    statuses: Iterable[Object] = (
        list(status.get("initContainerStatuses") or [])
        + list(status.get("containerStatuses") or [])
        + list(status.get("ephemeralContainerStatuses") or [])
    )
    for entry in statuses:
        if entry.get("name") != container:
            continue
        state = entry.get("state") or {}
        last = entry.get("lastState") or {}
        restarts = int(entry.get("restartCount") or 0)
        has_previous = bool(last.get("terminated")) or restarts > 0
        if "running" in state:
            started = (state.get("running") or {}).get("startedAt", "")
            return ContainerState(STARTED, True, restarts, has_previous, started_at=str(started or ""))
        if "terminated" in state:
            terminated = state.get("terminated") or {}
            return ContainerState(STARTED, False, restarts, has_previous, terminated.get("reason", "Terminated"), str(terminated.get("startedAt") or ""))
        waiting = state.get("waiting") or {}
        reason = waiting.get("reason") or "waiting"
        # A container waiting to restart (CrashLoopBackOff) still serves its last instance's log.
        return ContainerState(STARTED if has_previous else WAITING, False, restarts, has_previous, reason)
    phase = status.get("phase") or "Pending"
    if phase in ("Succeeded", "Failed"):
        return ContainerState(GONE, reason=f"pod {phase}")
    return ContainerState(WAITING, reason="Pending" if phase == "Pending" else "ContainerCreating")


# --- planning ----------------------------------------------------------------------


@dataclass
class StreamPlan:
    """Streams to start now, streams over the concurrency limit, and problems to report."""

    start: List[Target]
    over_limit: List[Target]
    problems: List[str]


def plan_streams(pods: Sequence[Object], request: LogsRequest, services: Mapping[str, GraphService], wanted: Sequence[str], limit: Optional[int] = None) -> StreamPlan:
    """Choose the streams of the selected pods, ordered by service then pod, and split them at ``limit``."""
    targets: List[Target] = []
    problems: List[str] = []
    selected = [p for p in pods if pod_selected(p, request, services, wanted)]
    selected.sort(key=lambda p: (pod_service(p), (p.get("metadata") or {}).get("name", "")))
    for pod in selected:
        choice = choose_containers(pod, request)
        targets.extend(pod_targets(pod, choice))
        # Pods without the -c container are skipped quietly; check_named_container
        # reports a name that no pod has.
        if choice.problem and not choice.lacks_named_container:
            problems.append(choice.problem)
    if limit is None or len(targets) <= limit:
        return StreamPlan(targets, [], problems)
    return StreamPlan(targets[:limit], targets[limit:], problems)
