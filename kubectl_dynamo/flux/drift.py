"""`kubectl dynamo drift`: does each live graph match Git, and what will Flux do next?

``detect_drift(cluster, request)`` is the one entry point. Per Kustomization
that owns a requested graph it:

1. computes the sync verdict (``sync``), without Git;
2. builds the objects Flux applies from the applied revision, read from a local
   clone (``--source``) or from the source-controller artifact (``--from-cluster``);
3. compares each graph field by field with the live one and names who set each
   drifted field (``fields``), minus ``spec.ignore`` and ``--ignore`` paths;
4. lists inventory objects Git no longer has (to be pruned) and graphs that
   carry the Kustomization's labels without being in its inventory;
5. with ``--source``, shows what the branch head would change against the
   applied revision, for the graph and, through the renderer, its children.

Errors of one Kustomization are collected and reported; the others still run.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from kubectl_dynamo.api import kinds
from kubectl_dynamo.api.missing import graph_not_found, kind_not_served
from kubectl_dynamo.errors import DynamoError, ExitCode, InputError, NotFoundError, UsageError
from kubectl_dynamo.flux import build as flux_build
from kubectl_dynamo.flux import objects as fx
from kubectl_dynamo.flux import source as flux_source
from kubectl_dynamo.flux.fields import (Change, FieldDrift, FieldOwner, ManagedFields, compare, diff_objects, format_path,
                                        operator_owned, parse_path, path_matches)
from kubectl_dynamo.flux.ignore import ignored_paths
from kubectl_dynamo.flux.revision import same_revision, short_revision
from kubectl_dynamo.flux.sync import NOT_MANAGED, SYNCED, FluxSync, evaluate_sync, gather

Object = Dict[str, Any]
Key = Tuple[str, str]

_DGD_GROUP = kinds.DGD.group
_DGD_KIND = kinds.DGD.kind


@dataclass(frozen=True)
class DriftRequest:
    """The graphs and Git origin a drift run compares; ``namespace`` None means the context's namespace."""

    names: Tuple[str, ...] = ()
    namespace: Optional[str] = None
    all_namespaces: bool = False
    selector: Optional[str] = None
    source_dir: Optional[str] = None
    from_cluster: bool = False
    ignore: Tuple[str, ...] = ()
    kubectl: Optional[str] = None
    #: Compare with a server-side apply dry run as kustomize-controller, as `flux diff` does.
    server_dry_run: bool = False

    def validate(self) -> None:
        if self.source_dir and self.from_cluster:
            raise UsageError("--source and --from-cluster are mutually exclusive: read Git from a clone or from the cluster")
        if self.names and self.all_namespaces:
            raise UsageError("a graph name cannot be combined with -A/--all-namespaces")
        if self.names and self.selector:
            raise UsageError("a graph name cannot be combined with -l/--selector")
        if self.server_dry_run and not (self.source_dir or self.from_cluster):
            raise UsageError("--server-dry-run needs the Git content: add --source DIR or --from-cluster")
        if self.source_dir:
            # Checked before the cluster is read, so that a typo fails the same way for every graph.
            flux_source.check_clone(Path(self.source_dir))


@dataclass(frozen=True)
class ChildChange:
    """A child object of a graph that the pending revision adds, removes or changes."""

    op: str
    kind: str
    namespace: str
    name: str
    changes: Tuple[Change, ...] = ()

    def to_dict(self) -> Dict[str, Any]:
        return {"op": self.op, "kind": self.kind, "namespace": self.namespace, "name": self.name,
                "changes": [c.to_dict() for c in self.changes]}


@dataclass
class PendingChanges:
    """The changes the branch head brings to one graph once Flux applies it."""

    head_revision: str
    head_origin: str
    graph: str = "unchanged"  # unchanged, changed, added or removed
    changes: List[Change] = field(default_factory=list)
    children: List[ChildChange] = field(default_factory=list)
    render_error: str = ""

    @property
    def any(self) -> bool:
        return self.graph != "unchanged" or bool(self.children)

    def to_dict(self) -> Dict[str, Any]:
        return {"headRevision": self.head_revision, "headOrigin": self.head_origin, "graph": self.graph,
                "changes": [c.to_dict() for c in self.changes], "children": [c.to_dict() for c in self.children],
                "renderError": self.render_error}


@dataclass
class GraphDrift:
    namespace: str
    name: str
    sync: FluxSync
    desired_revision: str = ""
    desired_origin: str = ""
    in_git: Optional[bool] = None  # None when Git was not read
    drifts: List[FieldDrift] = field(default_factory=list)
    ignored: List[FieldDrift] = field(default_factory=list)
    kept: List[Tuple[Tuple[str, ...], FieldOwner]] = field(default_factory=list)
    pending: Optional[PendingChanges] = None
    notes: List[str] = field(default_factory=list)
    errors: List[DynamoError] = field(default_factory=list)
    #: String fields of the live graph that substitution turns into another type in the Git build.
    type_changes: List[flux_build.TypeChange] = field(default_factory=list)

    @property
    def differs(self) -> bool:
        """True when the graph is out of sync, drifted, leaves Git, or has pending changes."""
        if not self.sync.managed:
            return False
        return (self.sync.verdict != SYNCED or bool(self.drifts) or self.in_git is False
                or bool(self.type_changes) or bool(self.pending and self.pending.any))

    def to_dict(self) -> Dict[str, Any]:
        return {
            "namespace": self.namespace, "name": self.name, "sync": self.sync.to_dict(),
            "desiredRevision": self.desired_revision, "desiredOrigin": self.desired_origin,
            "inGit": self.in_git,
            "drift": [d.to_dict() for d in self.drifts],
            "ignored": [d.to_dict() for d in self.ignored],
            "keptFields": [{"path": format_path(p), "manager": o.manager, "operation": o.operation} for p, o in self.kept],
            "typeChanges": [c.to_dict() for c in self.type_changes],
            "pending": self.pending.to_dict() if self.pending else None,
            "notes": list(self.notes),
            "errors": [str(e) for e in self.errors],
        }


@dataclass
class KustomizationDrift:
    name: str
    revision: str = ""
    prune: bool = False
    to_prune: List[str] = field(default_factory=list)
    orphans: List[str] = field(default_factory=list)
    not_applied: List[str] = field(default_factory=list)
    #: Graphs the branch head adds or removes, as "namespace/name" (``--source`` only).
    head_adds: List[str] = field(default_factory=list)
    head_removes: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    errors: List[DynamoError] = field(default_factory=list)

    @property
    def differs(self) -> bool:
        """True when Flux will prune or apply something. Orphans are NotManaged graphs, so they do not count."""
        return bool(self.to_prune or self.not_applied or self.head_adds or self.head_removes)

    def to_dict(self) -> Dict[str, Any]:
        return {"name": self.name, "revision": self.revision, "prune": self.prune, "toPrune": self.to_prune,
                "orphans": self.orphans, "notApplied": self.not_applied, "headAdds": self.head_adds,
                "headRemoves": self.head_removes, "notes": self.notes,
                "errors": [str(e) for e in self.errors]}


@dataclass
class DriftReport:
    graphs: List[GraphDrift]
    kustomizations: List[KustomizationDrift]
    now: datetime
    explicit: bool = False  # graphs were named: an unmanaged one gets a note saying why it has no drift

    @property
    def errors(self) -> List[DynamoError]:
        found: List[DynamoError] = []
        for item in list(self.kustomizations) + list(self.graphs):
            for error in item.errors:
                if error not in found:
                    found.append(error)
        return found

    @property
    def exit_code(self) -> int:
        """Return 0 when nothing differs, 1 on drift or pending changes, above 1 on errors.

        NotManaged graphs are reported but never make the code 1: Flux has nothing to compare them with.
        """
        codes = [int(error.exit_code) for error in self.errors]
        if codes:
            return max(codes + [int(ExitCode.USAGE)])
        if any(g.differs for g in self.graphs) or any(k.differs for k in self.kustomizations):
            return int(ExitCode.DIFFERS)
        return int(ExitCode.OK)

    def to_dict(self) -> Dict[str, Any]:
        return {
            "apiVersion": "kubectl-dynamo/v1alpha1",
            "kind": "DriftReport",
            "time": fx.format_time(self.now),
            "graphs": [g.to_dict() for g in self.graphs],
            "kustomizations": [k.to_dict() for k in self.kustomizations],
            "exitCode": self.exit_code,
        }


# --- entry point -------------------------------------------------------------------

def detect_drift(cluster, request: DriftRequest, *, now: Optional[datetime] = None) -> DriftReport:
    """Build the drift report for the requested graphs (see the module docstring)."""
    request.validate()
    now = now or datetime.now(timezone.utc)
    namespace = request.namespace or cluster.namespace
    graphs = _fetch_graphs(cluster, request, namespace)
    for graph in graphs:
        graph.setdefault("apiVersion", kinds.DGD.api_version)
        graph.setdefault("kind", kinds.DGD.kind)

    found = gather(cluster, graphs)
    results: Dict[Key, GraphDrift] = {}
    groups: Dict[Key, List[Object]] = {}
    for graph in graphs:
        key = _key(graph)
        ks = found.owners[key]
        state = evaluate_sync(graph, ks, found.source_of(ks), now, unreadable=found.unreadable)
        results[key] = GraphDrift(key[0], key[1], state)
        if ks is not None:
            groups.setdefault(_key(ks), []).append(graph)

    reports: List[KustomizationDrift] = []
    for ks_key in sorted(groups):
        members = groups[ks_key]
        ks = found.owners[_key(members[0])]
        source = found.source_of(ks)
        reports.append(_check_kustomization(cluster, request, ks, source, members, results, now,
                                            scope=None if request.all_namespaces else namespace))

    ordered = [results[_key(g)] for g in graphs]
    return DriftReport(ordered, reports, now, explicit=bool(request.names))


def _key(obj: Object) -> Key:
    meta = obj.get("metadata") or {}
    return meta.get("namespace", ""), meta.get("name", "")


def _fetch_graphs(cluster, request: DriftRequest, namespace: str) -> List[Object]:
    if request.names:
        return [_get_graph(cluster, name, namespace) for name in request.names]
    if request.all_namespaces:
        return list(cluster.list(kinds.DGD, all_namespaces=True, label_selector=request.selector).items)
    return list(cluster.list(kinds.DGD, namespace, label_selector=request.selector).items)


def _get_graph(cluster, name: str, namespace: str) -> Object:
    try:
        return cluster.get(kinds.DGD, name, namespace)
    except NotFoundError as exc:
        if kind_not_served(exc):
            raise  # the DGD CRD is not installed: the cluster layer's message names it
        raise graph_not_found(name, namespace) from None


# --- one Kustomization ------------------------------------------------------------

def _check_kustomization(cluster, request: DriftRequest, ks: Object, source: Optional[Object],
                         members: List[Object], results: Dict[Key, GraphDrift], now: datetime,
                         scope: Optional[str]) -> KustomizationDrift:
    ks_ns, ks_name = _key(ks)
    spec = ks.get("spec") or {}
    status = ks.get("status") or {}
    report = KustomizationDrift(f"{ks_ns}/{ks_name}", prune=bool(spec.get("prune")))
    member_results = [results[_key(m)] for m in members]
    live_by_key = {_key(m): m for m in members}

    # Graphs that carry the labels but are missing from the inventory are not Flux's.
    managed = []
    for graph, result in zip(members, member_results):
        if result.sync.verdict == NOT_MANAGED:
            report.orphans.append(f"{result.namespace}/{result.name}")
        else:
            managed.append((graph, result))

    if not request.source_dir and not request.from_cluster:
        for result in member_results:
            result.notes.append("field drift needs the Git content: pass --source DIR (a clone) or --from-cluster")
        return report

    applied = str(status.get("lastAppliedRevision") or "")
    with tempfile.TemporaryDirectory(prefix="kubectl-dynamo-drift-") as scratch:
        try:
            tree = _desired_tree(cluster, request, ks, source, applied, Path(scratch) / "applied", report)
            variables = _variables(cluster, ks)
            type_changes: List[flux_build.TypeChange] = []
            desired = flux_build.build(tree, ks, variables, kubectl=request.kubectl, type_changes=type_changes)
        except DynamoError as error:
            report.errors.append(error)
            for result in member_results:
                result.errors.append(error)
            return report
        report.revision = tree.revision
        desired_by_key = {_object_key(obj): obj for obj in desired}

        _membership(report, ks, desired, desired_by_key, live_by_key, scope)

        for graph, result in managed:
            result.desired_revision, result.desired_origin = tree.revision, tree.origin
            wanted = desired_by_key.get((_DGD_GROUP, _DGD_KIND) + _key(graph))
            result.in_git = wanted is not None
            if wanted is None:
                action = "Flux will prune it at the next reconcile" if report.prune and not _prune_disabled(graph) else \
                    "Flux leaves it in place (prune is off or disabled for it)"
                result.notes.append(f"not in Git at {short_revision(tree.revision)}; {action}")
                continue
            _compare_graph(result, ks, wanted, graph, request)
            # Comparison takes "1" and 1 as equal; a string Flux would apply as a number is still a difference.
            result.type_changes = [c for c in _changes_of(type_changes, graph)
                                   if isinstance(_value_at(graph, c.path), str)]
            if request.server_dry_run:
                try:
                    _compare_on_server(cluster, result, ks, wanted, graph, request)
                except DynamoError as error:
                    result.errors.append(error)

        if request.source_dir and source is not None:
            _pending(request, ks, source, tree, variables, desired_by_key, managed, Path(scratch) / "head", report)
    return report


def _desired_tree(cluster, request: DriftRequest, ks: Object, source: Optional[Object], applied: str,
                  dest: Path, report: KustomizationDrift) -> flux_source.SourceTree:
    kind, src_ns, src_name = _source_ref(ks)
    if request.from_cluster:
        if source is None:
            raise NotFoundError(f"{kind}/{src_ns}/{src_name} not found; --from-cluster reads its artifact")
        tree = flux_source.tree_from_artifact(cluster, source, dest)
        if applied and not same_revision(applied, tree.revision):
            report.notes.append(f"the artifact holds {short_revision(tree.revision)} while {short_revision(applied)} "
                                "is applied; comparing with the artifact, which the next reconcile applies")
        return tree
    if kind != "GitRepository":
        raise InputError(f"the source of Kustomization {report.name} is {kind}/{src_ns}/{src_name}; "
                         "--source reads GitRepository sources only",
                         hint="Use --from-cluster to read its artifact.")
    revision = applied
    if not revision:
        revision = str((((source or {}).get("status") or {}).get("artifact") or {}).get("revision") or "")
        if not revision:
            raise InputError(f"Kustomization {report.name} has applied no revision and its source has no artifact")
        report.notes.append(f"nothing applied yet; comparing with the source revision {short_revision(revision)}")
    ignore_spec = ((source or {}).get("spec") or {}).get("ignore")
    return flux_source.tree_from_clone(Path(request.source_dir), revision, dest, ignore_spec=ignore_spec)


def _changes_of(changes: List[flux_build.TypeChange], graph: Object) -> List[flux_build.TypeChange]:
    namespace, name = _key(graph)
    return [c for c in changes if (c.kind, c.namespace, c.name) == (_DGD_KIND, namespace, name)]


def _value_at(obj: Any, path: Tuple[str, ...]) -> Any:
    for part in path:
        if isinstance(obj, dict):
            obj = obj.get(part)
        elif isinstance(obj, list) and part.isdigit() and int(part) < len(obj):
            obj = obj[int(part)]
        else:
            return None
    return obj


def _explain_type_changes(render_error: str, changes: List[flux_build.TypeChange]) -> str:
    """Replace the renderer's advice with the substitution's for fields whose type substitution changed."""
    if not render_error or not changes:
        return render_error
    lines = render_error.split("\n")
    for index, line in enumerate(lines):
        for change in changes:
            if f"{change.text_path}:" in line:
                head = line.split("; quote", 1)[0]
                lines[index] = f"{head}; {change.advice()}"
                break
    return "\n".join(lines)


def _source_ref(ks: Object) -> Tuple[str, str, str]:
    ref = (ks.get("spec") or {}).get("sourceRef") or {}
    return str(ref.get("kind", "")), str(ref.get("namespace") or _key(ks)[0]), str(ref.get("name", ""))


def _variables(cluster, ks: Object) -> Dict[str, str]:
    post_build = (ks.get("spec") or {}).get("postBuild") or {}
    config_maps: Dict[str, Optional[Object]] = {}
    secrets: Dict[str, Optional[Object]] = {}
    for ref in post_build.get("substituteFrom") or []:
        kind, name = ref.get("kind"), str(ref.get("name", ""))
        target, resource = (config_maps, kinds.CONFIG_MAP) if kind == "ConfigMap" else (secrets, kinds.SECRET)
        try:
            target[name] = cluster.get(resource, name, _key(ks)[0])
        except NotFoundError:
            target[name] = None
    return flux_build.resolve_variables(ks, config_maps, secrets)


def _object_key(obj: Object) -> Tuple[str, str, str, str]:
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    meta = obj.get("metadata") or {}
    return group, str(obj.get("kind", "")), str(meta.get("namespace", "") or ""), str(meta.get("name", ""))


def _prune_disabled(obj: Object) -> bool:
    return fx.metadata_value(obj, fx.PRUNE_KEY).lower() == "disabled"


def _membership(report: KustomizationDrift, ks: Object, desired: List[Object], desired_by_key: Dict,
                live_by_key: Dict[Key, Object], scope: Optional[str]) -> None:
    listed = fx.inventory(ks)
    entries = listed or []
    inventory_keys = {entry.key() for entry in entries}
    if report.prune:
        for entry in entries:
            if entry.key() not in desired_by_key:
                live = live_by_key.get((entry.namespace, entry.name)) if entry.kind == _DGD_KIND else None
                if live is not None and _prune_disabled(live):
                    continue
                report.to_prune.append(f"{entry.kind}/{entry.namespace}/{entry.name}" if entry.namespace
                                       else f"{entry.kind}/{entry.name}")
    elif any(entry.key() not in desired_by_key for entry in entries):
        report.notes.append("spec.prune is false: objects removed from Git stay in the cluster")
    if listed is None:
        report.notes.append("the Kustomization has no status.inventory, so pruning and unapplied graphs are not checked")
        return
    for obj in desired:
        key = _object_key(obj)
        if key[:2] != (_DGD_GROUP, _DGD_KIND) or key in inventory_keys:
            continue
        if scope is None or key[2] == scope:
            report.not_applied.append(f"{key[2]}/{key[3]}")


def _compare_graph(result: GraphDrift, ks: Object, wanted: Object, live: Object, request: DriftRequest) -> None:
    ignore = ignored_paths(ks, wanted) + [parse_path(p) for p in request.ignore]
    if str(wanted.get("apiVersion")) != str(live.get("apiVersion")):
        result.notes.append(f"Git uses {wanted.get('apiVersion')}, the cluster served {live.get('apiVersion')}; "
                            "fields are compared as they are")
    comparison = compare(wanted, live, ignore=ignore, merge_policy=result.sync.ssa_policy == "Merge")
    result.drifts, result.ignored, result.kept = comparison.drifts, comparison.ignored, comparison.kept


def _compare_on_server(cluster, result: GraphDrift, ks: Object, wanted: Object, live: Object,
                       request: DriftRequest) -> None:
    """Replace the Git-field drift with the outcome of a server-side apply dry run.

    The dry run applies the Git object as kustomize-controller with force, as
    `flux diff` does, so API defaulting, webhooks and true field ownership are
    the server's. Fields kubectl managers added stay as computed client-side,
    because Flux removes them by rewriting managedFields before it applies.
    """
    from kubectl_dynamo.errors import ClusterError

    meta = wanted.get("metadata") or {}
    body = {key: value for key, value in wanted.items() if key != "status"}
    body["metadata"] = {k: meta[k] for k in ("name", "namespace", "labels", "annotations") if k in meta}
    namespace, name = _key(live)
    try:
        after = cluster.patch(kinds.DGD, name, body, patch_type="apply", namespace=namespace, dry_run=True,
                              field_manager=fx.FLUX_MANAGER, force=True)
    except ClusterError as error:
        if error.status == 403:
            error.hint = "The dry run needs patch on dynamographdeployments; drop --server-dry-run to compare client-side."
        raise

    managed = ManagedFields.of(live)
    ignore = ignored_paths(ks, wanted) + [parse_path(p) for p in request.ignore]
    extras = [d for d in result.drifts if d.kind == "extra"]
    drifts: List[FieldDrift] = []
    ignored = [d for d in result.ignored if d.kind == "extra"]
    for change in diff_objects(live, after):
        if operator_owned(change.path):
            continue
        kind = {"add": "missing", "remove": "extra", "change": "changed"}[change.op]
        item = FieldDrift(change.path, change.new, change.old, kind, managed.who_set(change.path))
        if any(item.path == e.path for e in extras):
            continue
        (ignored if any(path_matches(p, change.path) for p in ignore) else drifts).append(item)
    result.drifts = drifts + extras
    result.ignored = ignored
    result.notes.append("compared with a server-side apply dry run as kustomize-controller")


# --- pending changes ---------------------------------------------------------------

def _pending(request: DriftRequest, ks: Object, source: Object, tree: flux_source.SourceTree,
             variables: Dict[str, str], desired_by_key: Dict, managed: List[Tuple[Object, GraphDrift]], dest: Path,
             report: KustomizationDrift) -> None:
    clone = Path(request.source_dir or ".")
    head, origin = flux_source.resolve_head(clone, source)
    if not head:
        report.notes.append(f"pending changes not computed: {origin}")
        return
    artifact = str(((source.get("status") or {}).get("artifact") or {}).get("revision") or "")
    if artifact and not same_revision(artifact, head):
        report.notes.append(f"Flux has fetched {short_revision(artifact)}; the branch head in the clone is "
                            f"{short_revision(head)}")
    if same_revision(head, tree.revision):
        for _graph, result in managed:
            result.pending = PendingChanges(head, origin)
        return
    try:
        head_tree = flux_source.tree_from_clone(clone, head, dest, ignore_spec=(source.get("spec") or {}).get("ignore"))
        head_changes: List[flux_build.TypeChange] = []
        head_objects = flux_build.build(head_tree, ks, variables, kubectl=request.kubectl, type_changes=head_changes)
    except DynamoError as error:
        report.notes.append(f"pending changes not computed: the build at {short_revision(head)} fails: {error}")
        return
    head_by_key = {_object_key(obj): obj for obj in head_objects}
    applied_graphs, head_graphs = _graph_keys(desired_by_key), _graph_keys(head_by_key)
    report.head_adds = [f"{k[2]}/{k[3]}" for k in sorted(head_graphs - applied_graphs)]
    report.head_removes = [f"{k[2]}/{k[3]}" for k in sorted(applied_graphs - head_graphs)]
    for graph, result in managed:
        key = (_DGD_GROUP, _DGD_KIND) + _key(graph)
        result.pending = _pending_for(head, origin, desired_by_key.get(key), head_by_key.get(key), graph)
        result.pending.render_error = _explain_type_changes(result.pending.render_error, _changes_of(head_changes, graph))


def _graph_keys(objects_by_key: Dict) -> set:
    return {key for key in objects_by_key if key[:2] == (_DGD_GROUP, _DGD_KIND)}


def _pending_for(head: str, origin: str, old: Optional[Object], new: Optional[Object], live: Object) -> PendingChanges:
    pending = PendingChanges(head, origin)
    if old is None and new is None:
        return pending
    if old is None:
        pending.graph = "added"
    elif new is None:
        pending.graph = "removed"
    else:
        pending.changes = diff_objects(old, new)
        pending.graph = "changed" if pending.changes else "unchanged"
    if pending.graph == "unchanged":
        return pending
    namespace = _key(live)[0] or "default"
    before, error_before = _render(old, namespace)
    after, error_after = _render(new, namespace)
    pending.render_error = error_before or error_after
    if not pending.render_error:
        pending.children = _diff_children(before, after)
    return pending


def _render(dgd: Optional[Object], namespace: str) -> Tuple[List[Object], str]:
    if dgd is None:
        return [], ""
    try:
        from kubectl_dynamo.render.api import RenderOptions, render_graph

        return list(render_graph(dgd, RenderOptions(namespace=namespace)).objects), ""
    except DynamoError as error:
        return [], f"children not rendered: {error}"
    except (ImportError, NotImplementedError) as error:
        return [], f"children not rendered: the renderer is unavailable ({error})"


def _diff_children(before: List[Object], after: List[Object]) -> List[ChildChange]:
    old = {_object_key(o): o for o in before}
    new = {_object_key(o): o for o in after}
    changes: List[ChildChange] = []
    for key in sorted(set(old) | set(new), key=lambda k: (k[1], k[2], k[3])):
        _group, kind, namespace, name = key
        if key not in old:
            changes.append(ChildChange("add", kind, namespace, name))
        elif key not in new:
            changes.append(ChildChange("remove", kind, namespace, name))
        else:
            diff = diff_objects(old[key], new[key])
            if diff:
                changes.append(ChildChange("change", kind, namespace, name, tuple(diff)))
    return changes
