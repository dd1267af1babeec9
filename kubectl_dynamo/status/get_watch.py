"""`get -w`: follow every listed graph with watch requests and yield rows that changed."""

from __future__ import annotations

import queue
import threading
from typing import Dict, Iterator, List, Optional, Sequence, Set, Tuple

from kubectl_dynamo.api import kinds
from kubectl_dynamo.api.kinds import ResourceKind
from kubectl_dynamo.status.build import GraphSnapshot, build_status
from kubectl_dynamo.status.gather import _FIELDS, _graph_of, child_kinds, selector_for
from kubectl_dynamo.status.model import GraphStatus
from kubectl_dynamo.status.watch import _KindWatcher, _key


def _row(graph: GraphStatus) -> Tuple:
    return (graph.verdict, graph.services_ready, len(graph.services), graph.replicas_ready, graph.replicas_desired,
            graph.operator_state, graph.ready_reason, graph.orchestrator)


def watch_rows(cluster, graphs: List[GraphStatus], *, names: Sequence[str] = (), all_namespaces: bool = False,
               selector: Optional[str] = None) -> Iterator[GraphStatus]:
    """Yield a graph's new status each time its row would change; runs until interrupted.

    The Flux column keeps the value of the first list: Kustomizations are not watched.
    """
    namespace = None if all_namespaces else cluster.namespace
    out: "queue.Queue" = queue.Queue()
    stop = threading.Event()
    store: Dict[ResourceKind, Dict[Tuple[str, str], dict]] = {}
    started: Set[ResourceKind] = set()
    loaded: Set[ResourceKind] = set()
    shown = {(g.namespace, g.name): _row(g) for g in graphs}
    flux = {(g.namespace, g.name): g.flux for g in graphs}

    def start(kind: ResourceKind, label_selector: Optional[str]) -> None:
        if kind in started:
            return
        started.add(kind)
        store.setdefault(kind, {})
        _KindWatcher(cluster, kind, namespace, label_selector=label_selector, out=out, stop=stop,
                     all_namespaces=all_namespaces).start()

    start(kinds.DGD, selector)
    try:
        while True:
            item = out.get()
            batch = [item]
            while True:
                try:
                    batch.append(out.get_nowait())
                except queue.Empty:
                    break
            for what, kind, *rest in batch:
                if what == "error":
                    raise rest[0]
                if what == "reset":
                    loaded.add(kind)
                    store[kind] = {_key(o): o for o in rest[0]}
                elif rest[0] == "DELETED":
                    store[kind].pop(_key(rest[1]), None)
                else:
                    store[kind][_key(rest[1])] = rest[1]
            dgds = [d for d in store.get(kinds.DGD, {}).values() if not names or d["metadata"].get("name") in names]
            for kind in child_kinds(dgds) if dgds else []:
                start(kind, selector_for(kind, None))
            if not all(k in loaded for k in started):
                continue
            grouped: Dict[Tuple[str, str], Dict[str, List[dict]]] = {}
            for kind, field_name in _FIELDS.items():
                for obj in store.get(kind, {}).values():
                    grouped.setdefault(_graph_of(kind, obj), {}).setdefault(field_name, []).append(obj)
            for dgd in sorted(dgds, key=_key):
                key = _key(dgd)
                snapshot = GraphSnapshot(dgd=dgd, **grouped.get(key, {}))
                snapshot.flux = flux.get(key)
                graph = build_status(snapshot)
                if shown.get(key) != _row(graph):
                    shown[key] = _row(graph)
                    yield graph
    finally:
        stop.set()
