"""The entry points behind `get` and `status`: read the cluster, return view models."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, List, Optional, Sequence

from kubectl_dynamo.errors import UsageError
from kubectl_dynamo.status.build import build_status
from kubectl_dynamo.status.gather import gather_graph, gather_graphs, list_graphs, warning_events
from kubectl_dynamo.status.model import GraphStatus
from kubectl_dynamo.status.watch import GraphWatch


@dataclass
class GetResult:
    graphs: List[GraphStatus]
    missing: List[str] = field(default_factory=list)


def get_graphs(cluster, *, names: Sequence[str] = (), all_namespaces: bool = False, selector: Optional[str] = None,
               sort_by: str = "name") -> GetResult:
    """Return the status of the graphs `get` lists, sorted, and the requested names not found."""
    if names and selector:
        raise UsageError("names and a label selector (-l) cannot be given together",
                         hint="Drop the names to list every graph the selector matches, or drop -l.")
    namespace = None if all_namespaces else cluster.namespace
    dgds, missing = list_graphs(cluster, namespace, all_namespaces=all_namespaces, names=names, selector=selector)
    snapshots = gather_graphs(cluster, dgds, namespace, all_namespaces=all_namespaces,
                              restrict_names=bool(names or selector))
    graphs = [build_status(snapshot) for snapshot in snapshots]
    return GetResult(sort_graphs(graphs, sort_by), missing)


def sort_graphs(graphs: List[GraphStatus], sort_by: str) -> List[GraphStatus]:
    if sort_by == "age":
        # Oldest first, as `kubectl get --sort-by=.metadata.creationTimestamp` prints.
        return sorted(graphs, key=lambda g: (g.created or "", g.namespace, g.name))
    return sorted(graphs, key=lambda g: (g.namespace, g.name))


def graph_status(cluster, name: str, *, events: bool = False, tree: bool = False) -> GraphStatus:
    """Return the status of one graph in the cluster's namespace.

    Warning events only refine the reasons, so without ``events`` they are read
    only when the operator or the product finds the graph not ready.
    """
    snapshot = gather_graph(cluster, cluster.namespace, name, events=True if events else None, tree=tree)
    status = build_status(snapshot)
    if snapshot.events is None and not status.is_ready:
        snapshot.events = warning_events(cluster, cluster.namespace)
        status = build_status(snapshot)
    return status


def watch_graph(cluster, name: str, *, deadline: Optional[float] = None) -> Iterator[GraphStatus]:
    """Yield the graph's status now and after every change, until ``deadline`` (monotonic) passes."""
    with GraphWatch(cluster, cluster.namespace, name, events=True, flux=True) as watch:
        yield from watch.statuses(deadline)
