"""Read a graph's live children from the cluster: one list per kind, found by labels.

The number of requests depends on the kinds a graph uses, never on how many
services or pods it has. A DCD-mode graph of single-node services costs a GET of
the DGD and a list each of DCDs, Deployments and pods. When something is not
ready, one list of the namespace's Warning events follows, and Flux adds its own
lists. The lists run in parallel threads, so the wall time is about two or three
round trips.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from kubectl_dynamo.api import kinds
from kubectl_dynamo.api.kinds import ResourceKind
from kubectl_dynamo.api.missing import graph_not_found, kind_not_served
from kubectl_dynamo.errors import NotFoundError
from kubectl_dynamo.api import labels as L
from kubectl_dynamo.status.build import DCD_KINDS, GROVE_KINDS, GraphSnapshot, node_count, service_specs

Object = Dict

# The children listed per mode; pods are always listed.
_DCD_CHILDREN = (kinds.DCD, kinds.DEPLOYMENT, kinds.LEADER_WORKER_SET)
_GROVE_CHILDREN = (kinds.GROVE_POD_CLIQUE, kinds.GROVE_SCALING_GROUP)


def child_kinds(dgds: Iterable[Object]) -> List[ResourceKind]:
    """Return the kinds to list for these graphs, judged from their status and spec.

    A graph whose ``status.services`` names only Deployments and LeaderWorkerSets
    needs no Grove lists, and the other way round; a graph without that status
    (new, or failed) needs both. LeaderWorkerSets are listed only for graphs with
    a multinode service, Deployments only for graphs with a single-node one.
    """
    wanted: Set[ResourceKind] = set()
    for dgd in dgds:
        recorded = {e.get("componentKind") for e in ((dgd.get("status") or {}).get("services") or {}).values()}
        specs = service_specs(dgd).values()
        multinode = any(node_count(s) > 1 for s in specs)
        single = any(node_count(s) <= 1 for s in specs)
        dcd_mode = bool(recorded) and recorded <= set(DCD_KINDS)
        grove_mode = bool(recorded) and recorded <= set(GROVE_KINDS)
        if not grove_mode:
            wanted.add(kinds.DCD)
            if single:
                wanted.add(kinds.DEPLOYMENT)
            if multinode:
                wanted.add(kinds.LEADER_WORKER_SET)
        if not dcd_mode:
            wanted.add(kinds.GROVE_POD_CLIQUE)
            if multinode:
                wanted.add(kinds.GROVE_SCALING_GROUP)
    wanted.add(kinds.POD)
    order = (*_DCD_CHILDREN, *_GROVE_CHILDREN, kinds.POD)
    return [k for k in order if k in wanted]


def selector_for(kind: ResourceKind, graph_names: Optional[Sequence[str]]) -> str:
    """Return the label selector of the children of these graphs (None: every graph)."""
    key = L.GROVE_PART_OF if kind is kinds.GROVE_SCALING_GROUP else L.GRAPH
    if graph_names is None:
        return key
    if len(graph_names) == 1:
        return f"{key}={graph_names[0]}"
    return f"{key} in ({','.join(sorted(graph_names))})"


def list_or_empty(cluster, kind: ResourceKind, namespace: Optional[str], *, all_namespaces: bool = False,
                  label_selector: Optional[str] = None, field_selector: Optional[str] = None) -> List[Object]:
    """List objects; a kind the server does not serve (its CRD is not installed) has none."""
    try:
        return list(cluster.list(kind, namespace, all_namespaces=all_namespaces, label_selector=label_selector,
                                 field_selector=field_selector).items)
    except NotFoundError:
        return []


def _run_parallel(tasks: Dict[str, Callable[[], object]]) -> Dict[str, object]:
    if len(tasks) <= 1:
        return {key: task() for key, task in tasks.items()}
    with ThreadPoolExecutor(max_workers=min(8, len(tasks))) as pool:
        futures = {key: pool.submit(task) for key, task in tasks.items()}
        return {key: future.result() for key, future in futures.items()}


_FIELDS = {
    kinds.DCD: "dcds",
    kinds.DEPLOYMENT: "deployments",
    kinds.LEADER_WORKER_SET: "leader_worker_sets",
    kinds.GROVE_POD_CLIQUE: "podcliques",
    kinds.GROVE_SCALING_GROUP: "scaling_groups",
    kinds.POD: "pods",
}


def _graph_of(kind: ResourceKind, obj: Object) -> Tuple[str, str]:
    meta = obj.get("metadata") or {}
    key = L.GROVE_PART_OF if kind is kinds.GROVE_SCALING_GROUP else L.GRAPH
    return meta.get("namespace", ""), (meta.get("labels") or {}).get(key, "")


def get_graph(cluster, namespace: str, name: str) -> Object:
    """GET one DGD; a missing graph raises NotFoundError with the next step."""
    try:
        return cluster.get(kinds.DGD, name, namespace)
    except NotFoundError as exc:
        if kind_not_served(exc):
            raise  # the DGD CRD is not installed: the cluster layer's message names it
        raise graph_not_found(name, namespace) from exc


def warning_events(cluster, namespace: Optional[str], *, all_namespaces: bool = False) -> List[Object]:
    """List the Warning events (one request; the type is filtered again here)."""
    events = list_or_empty(cluster, kinds.EVENT, namespace, all_namespaces=all_namespaces, field_selector="type=Warning")
    return [e for e in events if e.get("type") == "Warning"]


def gather_graph(cluster, namespace: str, name: str, *, events: Optional[bool] = False, tree: bool = False,
                 flux: bool = True) -> GraphSnapshot:
    """Read one graph and its children, in two rounds of parallel requests.

    The GET of the DGD and the list of pods (the largest list) go first, together;
    the DGD decides which other kinds to list. ``events`` True also lists the
    Warning events, and None lists them when the operator does not report the
    graph as successful (``snapshot.events`` stays None otherwise). ``tree`` also
    reads the Grove PodCliqueSet.
    """
    first = _run_parallel({
        "dgd": lambda: get_graph(cluster, namespace, name),
        "pods": lambda: list_or_empty(cluster, kinds.POD, namespace, label_selector=selector_for(kinds.POD, [name])),
    })
    dgd = first["dgd"]
    tasks: Dict[str, Callable[[], object]] = {}
    for kind in child_kinds([dgd]):
        if kind is not kinds.POD:
            tasks[_FIELDS[kind]] = (lambda k=kind: list_or_empty(cluster, k, namespace, label_selector=selector_for(k, [name])))
    if events or (events is None and (dgd.get("status") or {}).get("state") != "successful"):
        tasks["events"] = lambda: warning_events(cluster, namespace)
    if flux:
        tasks["flux"] = lambda: _flux_one(cluster, dgd)
    if tree and kinds.GROVE_POD_CLIQUE in child_kinds([dgd]):
        tasks["podcliqueset"] = lambda: _get_or_none(cluster, kinds.GROVE_POD_CLIQUE_SET, name, namespace)
    results = _run_parallel(tasks)
    flux_state = results.pop("flux", None)
    snapshot = GraphSnapshot(dgd=dgd, pods=first["pods"], **results)
    snapshot.flux = flux_state
    return snapshot


def _get_or_none(cluster, kind: ResourceKind, name: str, namespace: str) -> Optional[Object]:
    try:
        return cluster.get(kind, name, namespace)
    except NotFoundError:
        return None


def _flux_one(cluster, dgd: Object):
    from kubectl_dynamo.flux.sync import flux_sync

    return flux_sync(cluster, dgd)


def list_graphs(cluster, namespace: Optional[str], *, all_namespaces: bool = False, names: Sequence[str] = (),
                selector: Optional[str] = None) -> Tuple[List[Object], List[str]]:
    """List DGDs (one request); return them and the requested names that were not found.

    Unlike children, a DGD kind the server does not serve is an error (NotFoundError).
    """
    items = list(cluster.list(kinds.DGD, namespace, all_namespaces=all_namespaces, label_selector=selector).items)
    if names:
        by_name = {(d.get("metadata") or {}).get("name"): d for d in items}
        found = [by_name[n] for n in dict.fromkeys(names) if n in by_name]
        missing = [n for n in dict.fromkeys(names) if n not in by_name]
        return found, missing
    return items, []


def gather_graphs(cluster, dgds: List[Object], namespace: Optional[str], *, all_namespaces: bool = False,
                  restrict_names: bool = False, flux: bool = True) -> List[GraphSnapshot]:
    """Read the children of several graphs with one list per kind (for `get`).

    ``restrict_names`` lists only the children of these graphs (by an ``in``
    selector); otherwise every child in the namespace is listed and grouped.
    Events are not read: the verdict never depends on them.
    """
    if not dgds:
        return []
    names = sorted({(d.get("metadata") or {}).get("name", "") for d in dgds}) if restrict_names else None
    list_ns = None if all_namespaces else namespace
    tasks: Dict[str, Callable[[], object]] = {}
    for kind in child_kinds(dgds):
        tasks[_FIELDS[kind]] = (lambda k=kind: list_or_empty(cluster, k, list_ns, all_namespaces=all_namespaces,
                                                             label_selector=selector_for(k, names)))
    if flux:
        tasks["flux"] = lambda: _flux_many(cluster, dgds)
    results = _run_parallel(tasks)

    grouped: Dict[Tuple[str, str], Dict[str, List[Object]]] = {}
    for kind, field_name in _FIELDS.items():
        for obj in results.get(field_name, []) or []:
            grouped.setdefault(_graph_of(kind, obj), {}).setdefault(field_name, []).append(obj)
    flux_states = results.get("flux") or {}
    snapshots = []
    for dgd in dgds:
        meta = dgd.get("metadata") or {}
        key = (meta.get("namespace", ""), meta.get("name", ""))
        snapshot = GraphSnapshot(dgd=dgd, **grouped.get(key, {}))
        snapshot.flux = flux_states.get(key)
        snapshots.append(snapshot)
    return snapshots


def _flux_many(cluster, dgds: List[Object]):
    from kubectl_dynamo.flux.sync import flux_sync_many

    return flux_sync_many(cluster, dgds)
