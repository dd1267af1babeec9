"""Follow one graph with watch requests and rebuild its status on every change.

Each kind (the DGD, its children, optionally Warning events) gets a thread that
lists once, then watches from the list's resourceVersion and feeds a queue. After
a 410 Gone (expired resourceVersion) the thread lists again. The caller's thread
drains the queue, applies the changes to an in-memory copy and rebuilds the
status, so nothing polls.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Dict, Iterator, Optional, Set, Tuple

from kubectl_dynamo.api import kinds
from kubectl_dynamo.api.kinds import ResourceKind
from kubectl_dynamo.errors import ClusterError, NotFoundError
from kubectl_dynamo.status.build import GraphSnapshot, build_status
from kubectl_dynamo.status.gather import _FIELDS, child_kinds, get_graph, selector_for
from kubectl_dynamo.status.model import GraphStatus

Object = Dict

# Seconds the server keeps one watch open before the thread starts the next one.
_WATCH_SECONDS = 55
# Seconds to wait before retrying after an API error other than 410 Gone.
_RETRY_SECONDS = 1.0
# Consecutive API errors after which a watch gives up and reports the error.
_MAX_ERRORS = 5


class _KindWatcher(threading.Thread):
    """A thread that lists one kind, then watches it and puts every change on the shared queue."""

    def __init__(self, cluster, kind: ResourceKind, namespace: str, *, label_selector: Optional[str] = None,
                 field_selector: Optional[str] = None, out: "queue.Queue", stop: threading.Event,
                 all_namespaces: bool = False) -> None:
        super().__init__(name=f"watch-{kind.plural}", daemon=True)
        self.cluster, self.kind, self.namespace = cluster, kind, namespace
        self.label_selector, self.field_selector = label_selector, field_selector
        self.out, self.stop = out, stop
        self.all_namespaces = all_namespaces

    def run(self) -> None:
        errors = 0
        resource_version: Optional[str] = None
        while not self.stop.is_set():
            try:
                if resource_version is None:
                    listed = self.cluster.list(self.kind, self.namespace, all_namespaces=self.all_namespaces, label_selector=self.label_selector,
                                               field_selector=self.field_selector)
                    resource_version = listed.resource_version or ""
                    self.out.put(("reset", self.kind, list(listed.items)))
                for event in self.cluster.watch(self.kind, self.namespace, all_namespaces=self.all_namespaces, label_selector=self.label_selector,
                                                field_selector=self.field_selector,
                                                resource_version=resource_version or None,
                                                timeout_seconds=_WATCH_SECONDS):
                    if self.stop.is_set():
                        return
                    if event.type == "BOOKMARK":
                        resource_version = (event.object.get("metadata") or {}).get("resourceVersion") or resource_version
                        continue
                    if event.type == "ERROR":
                        raise ClusterError("watch error", status=int((event.object or {}).get("code") or 0))
                    resource_version = (event.object.get("metadata") or {}).get("resourceVersion") or resource_version
                    self.out.put(("event", self.kind, event.type, event.object))
                errors = 0
            except NotFoundError:
                # The kind is not served (CRD not installed): nothing of it will ever exist.
                self.out.put(("reset", self.kind, []))
                return
            except ClusterError as exc:
                if exc.status == 410:
                    resource_version = None  # expired: list again
                    continue
                errors += 1
                if errors >= _MAX_ERRORS:
                    self.out.put(("error", self.kind, exc))
                    return
                self.stop.wait(_RETRY_SECONDS)


def _key(obj: Object) -> Tuple[str, str]:
    meta = obj.get("metadata") or {}
    return meta.get("namespace", ""), meta.get("name", "")


class GraphWatch:
    """The live state of one graph, kept current by watch requests.

    Use as a context manager; ``statuses(deadline)`` yields a fresh
    ``GraphStatus`` after each batch of changes.
    """

    def __init__(self, cluster, namespace: str, name: str, *, events: bool = True, flux: bool = False) -> None:
        self.cluster, self.namespace, self.name = cluster, namespace, name
        self.with_events, self.with_flux = events, flux
        self.queue: "queue.Queue" = queue.Queue()
        self.stop = threading.Event()
        self.store: Dict[ResourceKind, Dict[Tuple[str, str], Object]] = {}
        self.started: Set[ResourceKind] = set()
        self.dgd: Optional[Object] = None
        self.flux = None

    def __enter__(self) -> "GraphWatch":
        self.dgd = get_graph(self.cluster, self.namespace, self.name)
        if self.with_flux:
            from kubectl_dynamo.flux.sync import flux_sync

            self.flux = flux_sync(self.cluster, self.dgd)
        self._start(kinds.DGD, field_selector=f"metadata.name={self.name}")
        if self.with_events:
            self._start(kinds.EVENT, field_selector="type=Warning")
        self._start_children()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        self.stop.set()

    def _start(self, kind: ResourceKind, *, label_selector: Optional[str] = None, field_selector: Optional[str] = None) -> None:
        if kind in self.started:
            return
        self.started.add(kind)
        self.store.setdefault(kind, {})
        _KindWatcher(self.cluster, kind, self.namespace, label_selector=label_selector, field_selector=field_selector,
                     out=self.queue, stop=self.stop).start()

    def _start_children(self) -> None:
        # A graph that gains a multinode service needs one more kind watched.
        for kind in child_kinds([self.dgd]):
            self._start(kind, label_selector=selector_for(kind, [self.name]))

    def _apply(self, item) -> None:
        what, kind = item[0], item[1]
        if what == "error":
            raise item[2]
        if what == "reset":
            self.store[kind] = {_key(obj): obj for obj in item[2]}
        else:
            event_type, obj = item[2], item[3]
            if event_type == "DELETED":
                self.store[kind].pop(_key(obj), None)
            else:
                self.store[kind][_key(obj)] = obj
        if kind is kinds.DGD:
            dgd = self.store[kind].get((self.namespace, self.name))
            if dgd is None:
                raise NotFoundError(
                    f'dynamographdeployments.nvidia.com "{self.name}" was deleted from namespace "{self.namespace}"',
                    status=404, reason="NotFound",
                )
            self.dgd = dgd
            self._start_children()

    def _ready_to_build(self) -> bool:
        # Wait for the first list of every started kind, so that a half-loaded store
        # never shows a service as missing.
        return all(kind in self.loaded for kind in self.started)

    def snapshot(self) -> GraphSnapshot:
        values = {_FIELDS[kind]: list(objs.values()) for kind, objs in self.store.items() if kind in _FIELDS}
        snapshot = GraphSnapshot(dgd=self.dgd or {}, **values)
        if self.with_events:
            snapshot.events = list(self.store.get(kinds.EVENT, {}).values())
        snapshot.flux = self.flux
        return snapshot

    def statuses(self, deadline: Optional[float] = None) -> Iterator[GraphStatus]:
        """Yield the graph's status once every kind is loaded, then after each batch of changes.

        Returns when ``deadline`` (a ``time.monotonic()`` value) passes; raises
        NotFoundError when the graph is deleted and ClusterError when a watch fails for good.
        """
        self.loaded: Set[ResourceKind] = set()
        last_yielded = None
        while True:
            timeout = None if deadline is None else deadline - time.monotonic()
            if timeout is not None and timeout <= 0:
                return
            try:
                item = self.queue.get(timeout=timeout)
            except queue.Empty:
                return
            self._take(item)
            # Drain whatever else already arrived, so one redraw covers a burst.
            while True:
                try:
                    self._take(self.queue.get_nowait())
                except queue.Empty:
                    break
            if not self._ready_to_build():
                continue
            status = build_status(self.snapshot())
            fingerprint = repr(status.to_dict())
            if fingerprint != last_yielded:
                last_yielded = fingerprint
                yield status

    def _take(self, item) -> None:
        if item[0] == "reset":
            self.loaded.add(item[1])
        self._apply(item)
