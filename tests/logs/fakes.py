"""Pod and graph builders, and an in-memory line source for the multiplexer's unit tests.

``LineSource`` implements the part of the ``Cluster`` interface that `logs` uses
(get, list, watch, stream_logs) with Python queues, so a test can decide exactly
when each line arrives, when a stream ends and which pod events the watch receives.
End-to-end behaviour is tested against the HTTP test API server instead.
"""

from __future__ import annotations

import queue
import threading
from typing import Dict, Iterator, List, Optional, Tuple

from kubectl_dynamo.cluster.protocol import LogOptions, ObjectList, WatchEvent
from kubectl_dynamo.errors import ClusterError, NotFoundError

END = object()


def graph(name: str = "llm", services: Optional[Dict[str, Tuple[str, str]]] = None, namespace: str = "default") -> dict:
    """Return a DynamoGraphDeployment with services given as {name: (componentType, subComponentType)}."""
    services = services if services is not None else {"Frontend": ("frontend", ""), "VllmWorker": ("worker", ""), "Planner": ("planner", "")}
    body = {}
    for service, (component_type, sub_type) in services.items():
        entry = {"componentType": component_type, "replicas": 1}
        if sub_type:
            entry["subComponentType"] = sub_type
        body[service] = entry
    return {
        "apiVersion": "nvidia.com/v1alpha1",
        "kind": "DynamoGraphDeployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"services": body},
    }


def pod(
    name: str,
    service: str,
    *,
    graph_name: str = "llm",
    component_type: str = "",
    sub_type: str = "",
    containers: Tuple[str, ...] = ("main",),
    init_containers: Tuple[str, ...] = (),
    namespace: str = "default",
    uid: Optional[str] = None,
    state: str = "running",
    restart_count: int = 0,
    started_at: str = "2026-01-01T00:00:00Z",
    annotations: Optional[dict] = None,
) -> dict:
    """Return a pod of a graph service as the Dynamo operator labels it.

    ``state`` is ``running``, ``waiting`` (ContainerCreating), ``crashloop``,
    ``terminated`` or ``pending`` (no container status yet).
    """
    labels = {"nvidia.com/dynamo-graph-deployment-name": graph_name, "nvidia.com/dynamo-component": service}
    if component_type:
        labels["nvidia.com/dynamo-component-type"] = component_type
    if sub_type:
        labels["nvidia.com/dynamo-sub-component-type"] = sub_type
    statuses = [] if state == "pending" else [container_status(c, state, restart_count, started_at) for c in containers]
    init_statuses = [container_status(c, "terminated", 0, started_at) for c in init_containers] if state != "pending" else []
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": uid or f"uid-{name}",
            "labels": labels,
            "annotations": dict(annotations or {}),
            "creationTimestamp": "2026-01-01T00:00:00Z",
        },
        "spec": {
            "containers": [{"name": c, "image": "example/dynamo:0.8.0"} for c in containers],
            "initContainers": [{"name": c, "image": "busybox"} for c in init_containers],
        },
        "status": {
            "phase": "Pending" if state in ("pending", "waiting") else "Running",
            "containerStatuses": statuses,
            "initContainerStatuses": init_statuses,
        },
    }


def container_status(name: str, state: str, restart_count: int = 0, started_at: str = "2026-01-01T00:00:00Z") -> dict:
    if state == "running":
        current = {"running": {"startedAt": started_at}}
    elif state == "terminated":
        current = {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": started_at}}
    elif state == "crashloop":
        current = {"waiting": {"reason": "CrashLoopBackOff"}}
    else:
        current = {"waiting": {"reason": "ContainerCreating"}}
    entry = {"name": name, "ready": state == "running", "restartCount": restart_count, "state": current}
    if restart_count:
        entry["lastState"] = {"terminated": {"exitCode": 1, "reason": "Error"}}
    return entry


class LineSource:
    """An in-memory ``Cluster`` for `logs`: scripted graphs, pods, log lines and pod events."""

    def __init__(self, namespace: str = "default") -> None:
        self.namespace = namespace
        self.context_name = "fake"
        self.graphs: Dict[str, dict] = {}
        self.pods: Dict[str, dict] = {}
        self.logs: Dict[Tuple[str, str, bool], List[str]] = {}
        self.errors: Dict[Tuple[str, str], ClusterError] = {}
        self.requests: List[Tuple[str, LogOptions]] = []
        self.open_streams: Dict[Tuple[str, str], List["queue.Queue"]] = {}
        self.events: "queue.Queue" = queue.Queue()
        self.lock = threading.Lock()
        #: Watches that end at once with 410 Gone, as after the server compacted its history.
        self.expired_watches = 0

    # --- scripting ------------------------------------------------------------------

    def add(self, *objects: dict) -> None:
        for obj in objects:
            if obj["kind"] == "Pod":
                self.pods[obj["metadata"]["name"]] = obj
            else:
                self.graphs[obj["metadata"]["name"]] = obj

    def set_logs(self, pod: str, container: str, lines: List[str], previous: bool = False) -> None:
        self.logs[(pod, container, previous)] = list(lines)

    def append(self, pod: str, container: str, lines: List[str]) -> None:
        """Add lines to a container's log and to every following stream of it."""
        with self.lock:
            self.logs.setdefault((pod, container, False), []).extend(lines)
            for stream in self.open_streams.get((pod, container), []):
                for line in lines:
                    stream.put(line)

    def end_streams(self, pod: str, container: str) -> None:
        """End every open follow stream of a container, as a dropped connection does."""
        with self.lock:
            for stream in self.open_streams.pop((pod, container), []):
                stream.put(END)

    def emit(self, event_type: str, obj: dict) -> None:
        if event_type == "DELETED":
            self.pods.pop(obj["metadata"]["name"], None)
        else:
            self.pods[obj["metadata"]["name"]] = obj
        self.events.put(WatchEvent(event_type, obj))

    # --- the Cluster methods `logs` uses ---------------------------------------------

    def get(self, kind, name, namespace=None):
        if name not in self.graphs:
            raise NotFoundError(f'{kind.resource} "{name}" not found', status=404, reason="NotFound")
        return self.graphs[name]

    def list(self, kind, namespace=None, *, all_namespaces=False, label_selector=None, field_selector=None):
        key, _, value = (label_selector or "").partition("=")
        items = [p for p in self.pods.values() if not key or p["metadata"]["labels"].get(key) == value]
        return ObjectList(items, "1")

    def watch(self, kind, namespace=None, **_kwargs) -> Iterator[WatchEvent]:
        if self.expired_watches:
            self.expired_watches -= 1
            raise ClusterError("too old resource version", status=410, reason="Expired")
        while True:
            yield self.events.get()

    def stream_logs(self, pod: str, options: LogOptions, namespace: Optional[str] = None) -> Iterator[str]:
        self.requests.append((pod, options))
        error = self.errors.get((pod, options.container or ""))
        if error is not None:
            raise error
        with self.lock:
            lines = list(self.logs.get((pod, options.container or "", options.previous), []))
            live: Optional["queue.Queue"] = None
            if options.follow:
                live = queue.Queue()
                self.open_streams.setdefault((pod, options.container or ""), []).append(live)
        if options.since_time:
            lines = [line for line in lines if line.split(" ", 1)[0] >= options.since_time]
        if options.tail_lines is not None:
            lines = lines[-options.tail_lines:] if options.tail_lines else []
        return self._lines(lines, live)

    @staticmethod
    def _lines(lines: List[str], live: Optional["queue.Queue"]) -> Iterator[str]:
        yield from lines
        if live is None:
            return
        while True:
            line = live.get()
            if line is END:
                return
            yield line


def ts(second: int, nanos: int = 0) -> str:
    """Return the RFC 3339 timestamp the kubelet would write at a second of 2026-01-01."""
    minutes, seconds = divmod(second, 60)
    fraction = f".{nanos:09d}" if nanos else ""
    return f"2026-01-01T00:{minutes:02d}:{seconds:02d}{fraction}Z"
