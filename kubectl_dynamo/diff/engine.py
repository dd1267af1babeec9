"""`diff` without the command line: build a ``DiffReport`` for one of three modes.

* files against the cluster (``-f``): each DGD in the files against the live DGD,
  then the children rendered from the file against the live children;
* a live graph (``NAME``): the children rendered from the live DGD against the
  live children, which shows edits made behind the operator's back;
* two versions offline (``--from``): the rendering of one version against the
  other, with no cluster and without importing the ``kubernetes`` client.

A failure on one graph or one kind is recorded in the report as an error entry and
the rest is still compared, so one forbidden list does not hide every other change.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from kubectl_dynamo.api import kinds
from kubectl_dynamo.api.labels import LAST_APPLIED_GENERATION
from kubectl_dynamo.api.selectors import selector_matches
from kubectl_dynamo.api.load import Document, load_documents
from kubectl_dynamo.api.namespaces import document_namespace
from kubectl_dynamo.diff.compare import IgnoreRule, compare
from kubectl_dynamo.diff.live import LiveChildren, ResolvedSettings, fetch_children, resolve_settings, settings_for_live_graph
from kubectl_dynamo.diff.model import CHANGED, CHILDREN, CREATED, DELETED, ERROR, UNCHANGED, DiffReport, ObjectDiff, analyse_pods
from kubectl_dynamo.diff.normalize import live_hash, object_key
from kubectl_dynamo.diff.ownership import keep_fields_owned_elsewhere
from kubectl_dynamo.errors import ClusterError, DynamoError, ExitCode, NotFoundError, UsageError
from kubectl_dynamo.render.profiles import DEFAULT_PROFILE

Object = Dict[str, Any]

# The order children are printed in: the way the operator builds them, top down.
_KIND_ORDER = (
    "DynamoComponentDeployment", "PodCliqueSet", "LeaderWorkerSet", "PodGroup", "Deployment", "Service",
    "Ingress", "VirtualService", "PersistentVolumeClaim", "DynamoGraphDeploymentScalingAdapter",
    "ServiceAccount", "Role", "RoleBinding", "Secret",
)


@dataclass
class DiffRequest:
    """The user's request; exactly one of ``name`` and ``files`` is set."""

    name: Optional[str] = None
    files: Sequence[str] = ()
    from_ref: Optional[str] = None
    ignores: Sequence[IgnoreRule] = ()
    profile: str = DEFAULT_PROFILE
    namespace: Optional[str] = None  # -n; None means the context's namespace
    selector: Optional[str] = None  # -l: only graphs in the files whose labels match


@dataclass
class _Context:
    request: DiffRequest
    report: DiffReport
    settings_by_namespace: Dict[str, ResolvedSettings] = field(default_factory=dict)


def run_diff(request: DiffRequest, connect: Callable[[], Any]) -> DiffReport:
    """Build the report for a request; ``connect`` returns a ``Cluster`` and is not called offline."""
    if request.from_ref is not None:
        return diff_versions(request)
    cluster = connect()
    if request.name:
        return diff_live_graph(request, cluster)
    return diff_files(request, cluster)


# --- -f FILE against the cluster ---------------------------------------------------------


def diff_files(request: DiffRequest, cluster) -> DiffReport:
    """Compare each DGD in the files, and the children rendered from it, with the cluster."""
    report = DiffReport(old_label="live", new_label=_files_label(request.files))
    context = _Context(request, report)
    documents = _graph_documents(load_documents(request.files), report, request.selector)
    if request.selector and not documents:
        report.warnings.append(_nothing_selected(request))
    for document in documents:
        namespace = _document_namespace(document, request.namespace or cluster.namespace, request.namespace)
        desired = copy.deepcopy(document.body)
        desired.setdefault("metadata", {})["namespace"] = namespace
        name = document.name
        graph_entry = _new_entry(desired, graph=name)
        live: Optional[Object] = None
        try:
            live = cluster.get(kinds.DGD, name, namespace)
        except NotFoundError:
            live = None
        except ClusterError as exc:
            if exc.status == 0:  # no response at all, so every other request would fail the same way
                raise
            _fail(graph_entry, exc, f"cannot read the live graph: {exc}")
        # Fields another manager owns survive the apply, so the children are rendered with them.
        desired, kept = keep_fields_owned_elsewhere(live, desired)
        for kept_field in kept:
            managers = ", ".join(repr(manager) for manager in kept_field.managers)
            report.notes.append(
                f"note: {name}: kept live {kept_field.dotted}={kept_field.value!r}: the file leaves it out and field "
                f"manager {managers} owns it, so applying the file does not remove it"
            )
        if graph_entry.action != ERROR:
            _fill(graph_entry, live, desired, old_is_live=True, ignores=request.ignores)
        report.objects.append(graph_entry)
        _diff_children_live(context, cluster, desired, namespace, name, explain_hashes=False, live_dgd=live)
    return report


def diff_live_graph(request: DiffRequest, cluster) -> DiffReport:
    """Compare the children rendered from a live DGD with the live children."""
    namespace = request.namespace or cluster.namespace
    report = DiffReport(old_label="live", new_label=f"rendered from the live graph ({request.profile} profile)")
    context = _Context(request, report)
    try:
        live = cluster.get(kinds.DGD, request.name, namespace)
    except NotFoundError as exc:
        raise NotFoundError(
            f'dynamographdeployments.nvidia.com "{request.name}" not found in namespace "{namespace}"',
            status=404, reason="NotFound", hint="List the graphs with `kubectl dynamo get`, or pass -n NAMESPACE.",
        ) from exc
    _diff_children_live(context, cluster, live, namespace, request.name, explain_hashes=True, live_dgd=live)
    return report


def _diff_children_live(context: _Context, cluster, dgd: Object, namespace: str, graph: str, *, explain_hashes: bool,
                        live_dgd: Optional[Object]) -> None:
    report, request = context.report, context.request
    try:
        resolved = _settings(context, cluster, namespace)
        settings, notes = settings_for_live_graph(cluster, resolved, live_dgd)
        report.notes.extend(notes)
        rendered = _render(dgd, namespace, request.profile, settings, report, advice=_live_advice(resolved))
    except DynamoError as exc:
        entry = ObjectDiff(kinds.DGD.api_version, CHILDREN, namespace, graph, ERROR, graph)
        _fail(entry, exc, f"cannot render: {exc}")
        report.objects.append(entry)
        return

    live = fetch_children(cluster, namespace, graph, rendered, _extra_kinds(settings))
    entries = _pair_children(rendered, live, graph, request.ignores)
    _explain_causes(entries, rendered, live, request.profile, report, compare_hashes=explain_hashes)
    report.objects.extend(entries)


def _settings(context: _Context, cluster, namespace: str) -> ResolvedSettings:
    resolved = context.settings_by_namespace.get(namespace)
    if resolved is None:
        resolved = resolve_settings(cluster, namespace, context.request.profile)
        context.settings_by_namespace[namespace] = resolved
        context.report.notes.extend(resolved.notes)
    return resolved


def _live_advice(resolved: ResolvedSettings) -> str:
    """Say why a multinode graph fails against this cluster: the render flags do not exist in diff."""
    if "grove.io" in resolved.api_groups:
        return ("but the operator runs this graph without Grove and the cluster serves no LeaderWorkerSet "
                "with Volcano, so the operator would fail the graph too")
    return "but the cluster serves neither Grove nor LeaderWorkerSet with Volcano, so the operator would fail the graph too"


def _extra_kinds(settings: Any) -> Tuple[kinds.ResourceKind, ...]:
    extra = []
    if getattr(settings, "lws_enabled", False):
        extra.append(kinds.LEADER_WORKER_SET)
    return tuple(extra)


def _pair_children(rendered: List[Object], live: LiveChildren, graph: str, ignores: Sequence[IgnoreRule]) -> List[ObjectDiff]:
    entries: List[ObjectDiff] = []
    rendered_keys = set()
    for obj in rendered:
        key = object_key(obj)
        rendered_keys.add(key)
        entry = _new_entry(obj, graph=graph)
        error = live.errors.get(entry.kind)
        if error is not None:
            _fail(entry, error, f"cannot list live {_plural(entry.kind)}: {error}")
        else:
            _fill(entry, live.objects.get(key), obj, old_is_live=True, ignores=ignores)
        entries.append(entry)
    for key in live.owned:
        if key in rendered_keys:
            continue
        entry = _new_entry(live.objects[key], graph=graph)
        _fill(entry, live.objects[key], None, old_is_live=True, ignores=ignores)
        entries.append(entry)
    return sorted(entries, key=_child_order)


def _explain_causes(entries: List[ObjectDiff], rendered: List[Object], live: LiveChildren, profile: str,
                    report: DiffReport, *, compare_hashes: bool) -> None:
    """Say, for each differing child, whether the operator or someone else made the difference.

    The operator records on every child the generation it last wrote
    (``nvidia.com/last-applied-generation``). A higher ``metadata.generation``
    means someone changed the spec since, and the operator reverts that at its
    next reconcile. The operator also stores the hash of the spec it applied: when that
    differs from the rendered hash, the operator renders the object differently
    (another operator version, or a reconcile still pending).
    """
    rendered_by_key = {object_key(obj): obj for obj in rendered}
    mismatches = 0
    for entry in entries:
        key = (entry.api_version, entry.kind, entry.namespace, entry.name)
        live_obj = live.objects.get(key)
        if live_obj is None:
            continue
        edited = _edited_generation(live_obj)
        if edited and entry.action == CHANGED:
            entry.cause = (f"edited behind the operator's back: generation {edited[0]} is newer than the "
                           f"last-applied-generation {edited[1]}; the operator reverts it at its next reconcile")
            continue
        if not compare_hashes:
            continue
        live_value, rendered_value = live_hash(live_obj), live_hash(rendered_by_key.get(key))
        if live_value and rendered_value and live_value != rendered_value:
            mismatches += 1
            if entry.action == CHANGED:
                entry.cause = (f"the live last-applied-hash differs from the rendered one: the operator renders "
                               f"this object differently from the {profile} profile, or has not reconciled yet")
    if mismatches:
        report.notes.append(
            f"note: {mismatches} live object(s) carry a last-applied-hash that differs from the rendered one; "
            f"the operator may run a version other than the {profile} profile (see --operator-version), or has not reconciled yet"
        )


def _edited_generation(obj: Object) -> Optional[Tuple[int, int]]:
    """Return (generation, last-applied-generation) when the first is newer, as the operator checks it."""
    metadata = obj.get("metadata") or {}
    applied = (metadata.get("annotations") or {}).get(LAST_APPLIED_GENERATION)
    generation = metadata.get("generation")
    try:
        applied_number = int(applied)
    except (TypeError, ValueError):
        return None
    if isinstance(generation, int) and generation > 0 and generation > applied_number:
        return generation, applied_number
    return None


# --- --from: two versions offline --------------------------------------------------------


def diff_versions(request: DiffRequest) -> DiffReport:
    """Compare the DGDs and the renderings of two versions of the files, offline."""
    from kubectl_dynamo.diff.source import load_from

    report = DiffReport(old_label=f"{request.from_ref}", new_label=_files_label(request.files))
    namespace = request.namespace or "default"
    old_documents = _graph_documents(load_from(request.from_ref, request.files), report)
    new_documents = _graph_documents(load_documents(request.files), report)
    old_graphs = _by_identity(old_documents, namespace, request.namespace)
    new_graphs = _by_identity(new_documents, namespace, request.namespace)
    if request.selector:
        # A graph is selected by its labels in the new version, or in the old one when it was removed.
        selected = {key for key, graph in new_graphs.items() if _labels_match(request.selector, graph)}
        selected |= {key for key, graph in old_graphs.items() if key not in new_graphs and _labels_match(request.selector, graph)}
        old_graphs = {key: graph for key, graph in old_graphs.items() if key in selected}
        new_graphs = {key: graph for key, graph in new_graphs.items() if key in selected}
        if not selected:
            report.warnings.append(_nothing_selected(request))

    for identity in list(old_graphs) + [key for key in new_graphs if key not in old_graphs]:
        graph_namespace, graph = identity
        old, new = old_graphs.get(identity), new_graphs.get(identity)
        graph_entry = _new_entry(new or old, graph=graph)
        _fill(graph_entry, old, new, old_is_live=False, ignores=request.ignores)
        report.objects.append(graph_entry)
        try:
            old_children = _render(old, graph_namespace, request.profile, None, report, advice=_OFFLINE_ADVICE) if old else []
            new_children = _render(new, graph_namespace, request.profile, None, report, advice=_OFFLINE_ADVICE) if new else []
        except DynamoError as exc:
            entry = ObjectDiff(kinds.DGD.api_version, CHILDREN, graph_namespace, graph, ERROR, graph)
            _fail(entry, exc, f"cannot render: {exc}")
            report.objects.append(entry)
            continue
        report.objects.extend(_pair_versions(old_children, new_children, graph, request.ignores))
    return report


def _pair_versions(old_children: List[Object], new_children: List[Object], graph: str, ignores: Sequence[IgnoreRule]) -> List[ObjectDiff]:
    old_by_key = {object_key(obj): obj for obj in old_children}
    new_by_key = {object_key(obj): obj for obj in new_children}
    entries = []
    for key in list(old_by_key) + [key for key in new_by_key if key not in old_by_key]:
        old, new = old_by_key.get(key), new_by_key.get(key)
        entry = _new_entry(new or old, graph=graph)
        _fill(entry, old, new, old_is_live=False, ignores=ignores)
        entries.append(entry)
    return sorted(entries, key=_child_order)


_OFFLINE_ADVICE = "but diff --from renders with the profile's default operator settings, which enable neither"


def _by_identity(documents: Iterable[Document], namespace: str, requested: Optional[str]) -> Dict[Tuple[str, str], Object]:
    graphs: Dict[Tuple[str, str], Object] = {}
    for document in documents:
        graph_namespace = _document_namespace(document, namespace, requested)
        body = copy.deepcopy(document.body)
        body.setdefault("metadata", {})["namespace"] = graph_namespace
        graphs[(graph_namespace, document.name)] = body
    return graphs


# --- shared steps ------------------------------------------------------------------------


def _render(dgd: Object, namespace: str, profile: str, settings: Any, report: DiffReport, *, advice: str) -> List[Object]:
    from kubectl_dynamo.render.api import RenderOptions, render_graph

    options = RenderOptions(profile=profile, namespace=namespace, settings=settings, no_orchestrator_advice=advice)
    result = render_graph(copy.deepcopy(dgd), options)
    name = (dgd.get("metadata") or {}).get("name", "")
    for warning in result.warnings:
        line = f"{name}: {warning}"
        if line not in report.warnings:
            report.warnings.append(line)
    for obj in result.objects:
        obj.setdefault("metadata", {}).setdefault("namespace", namespace)
    return result.objects


def _graph_documents(documents: List[Document], report: DiffReport, selector: Optional[str] = None) -> List[Document]:
    graphs = []
    for document in documents:
        if document.kind == kinds.DGD.kind:
            if not document.name:
                raise UsageError(f"{document.origin}: the DynamoGraphDeployment has no metadata.name")
            if selector and not _labels_match(selector, document.body):
                continue
            graphs.append(document)
        else:
            report.warnings.append(
                f"{document.origin}: skipped {document.kind or 'a document without kind'} "
                f"{document.name!r}: diff compares DynamoGraphDeployments; use kubectl diff for other kinds"
            )
    return graphs


def _nothing_selected(request: DiffRequest) -> str:
    return f"no {kinds.DGD.kind} in {_files_label(request.files)} matches the selector {request.selector!r}"


def _labels_match(selector: str, obj: Object) -> bool:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    try:
        return selector_matches(selector, {str(key): str(value) for key, value in labels.items()})
    except ValueError as exc:
        raise UsageError(f"invalid -l/--selector {selector!r}", hint="Use key=value, key!=value, key, !key or key in (a,b), separated by commas.") from exc


def _document_namespace(document: Document, default: str, requested: Optional[str] = None) -> str:
    """Return the namespace of a graph document; like kubectl, one that contradicts -n is an error."""
    return document_namespace(document, requested, default)


def _files_label(files: Sequence[str]) -> str:
    return ", ".join("stdin" if path == "-" else path for path in files)


def _new_entry(obj: Object, *, graph: str) -> ObjectDiff:
    metadata = obj.get("metadata") or {}
    return ObjectDiff(obj.get("apiVersion", ""), obj.get("kind", ""), metadata.get("namespace") or "", metadata.get("name", ""), UNCHANGED, graph)


def _fill(entry: ObjectDiff, old: Optional[Object], new: Optional[Object], *, old_is_live: bool, ignores: Sequence[IgnoreRule]) -> None:
    try:
        entry.comparison = compare(old, new, old_is_live=old_is_live, ignores=ignores)
    except DynamoError:
        raise
    except Exception as exc:  # one object that cannot be compared must not stop the others
        _fail(entry, exc, f"cannot compare: {type(exc).__name__}: {exc}", code=int(ExitCode.INTERNAL))
        return
    if old is None:
        entry.action = CREATED
    elif new is None:
        entry.action = DELETED
    else:
        entry.action = CHANGED if entry.comparison.changed else UNCHANGED
    analyse_pods(entry)


def _fail(entry: ObjectDiff, exc: Exception, message: str, code: Optional[int] = None) -> None:
    entry.action = ERROR
    entry.error = message
    entry.error_code = code if code is not None else int(getattr(exc, "exit_code", ExitCode.INTERNAL))


def _child_order(entry: ObjectDiff) -> tuple:
    rank = _KIND_ORDER.index(entry.kind) if entry.kind in _KIND_ORDER else len(_KIND_ORDER)
    return (rank, entry.kind, entry.namespace, entry.name)


def _plural(kind: str) -> str:
    for resource in kinds.ALL_KINDS:
        if resource.kind == kind:
            return resource.resource
    return kind.lower() + "s"
