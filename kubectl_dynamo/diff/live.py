"""Reading what a graph looks like in a cluster: its children and the operator's settings.

Children are found with one list request per kind: kinds whose objects the
operator labels with the graph name are listed by that label, the rest (PVCs,
discovery RBAC) are listed in the namespace and matched by the rendered names.
Only objects that a DGD or DCD owns count as children the operator would delete.
"""

from __future__ import annotations

import dataclasses
import importlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from kubectl_dynamo.api import kinds
from kubectl_dynamo.api.kinds import ResourceKind, kind_for
from kubectl_dynamo.api.labels import ENABLE_GROVE, GRAPH
from kubectl_dynamo.diff.normalize import object_key
from kubectl_dynamo.errors import ClusterError

Object = Dict[str, Any]

OPERATOR_SELECTOR = "control-plane=controller-manager,app.kubernetes.io/name=dynamo-operator"
OPERATOR_CONTAINER = "manager"
_OWNER_KINDS = frozenset({"DynamoGraphDeployment", "DynamoComponentDeployment"})

# Kinds listed by the graph label even when the rendering has none of them, so that
# children the operator would delete show up.
_ALWAYS_LISTED = (kinds.DCD, kinds.DEPLOYMENT, kinds.SERVICE, kinds.DGDSA)
_PARALLEL_LISTS = 4


@dataclass
class LiveChildren:
    """The live children of one graph, keyed like ``object_key``, and the kinds that failed."""

    objects: Dict[Tuple[str, str, str, str], Object] = field(default_factory=dict)
    # Live objects owned by the graph or its DCDs: deleted when no longer rendered.
    owned: List[Tuple[str, str, str, str]] = field(default_factory=list)
    # Kind name -> the error that listing it raised.
    errors: Dict[str, ClusterError] = field(default_factory=dict)


def fetch_children(cluster, namespace: str, graph: str, rendered: List[Object], extra_kinds: Tuple[ResourceKind, ...] = ()) -> LiveChildren:
    """List the live children of ``graph`` with one request per kind."""
    result = LiveChildren()
    by_label: Dict[str, ResourceKind] = {kind.kind: kind for kind in _ALWAYS_LISTED + tuple(extra_kinds)}
    by_name: Dict[str, ResourceKind] = {}
    wanted_names: Dict[str, set] = {}
    for obj in rendered:
        kind = kind_for(obj.get("apiVersion", ""), obj.get("kind", ""))
        if kind is None:
            continue
        labels = (obj.get("metadata") or {}).get("labels") or {}
        if labels.get(GRAPH) == graph:
            by_label.setdefault(kind.kind, kind)
        else:
            by_name.setdefault(kind.kind, kind)
            wanted_names.setdefault(kind.kind, set()).add((obj.get("metadata") or {}).get("name"))
    rendered_kinds = {obj.get("kind") for obj in rendered}
    requests = [(kind, f"{GRAPH}={graph}", kind.kind in rendered_kinds) for kind in by_label.values()]
    requests += [(kind, None, True) for kind in by_name.values() if kind.kind not in by_label]

    # The lists are independent, so they run side by side. Results are merged in request order.
    with ThreadPoolExecutor(max_workers=_PARALLEL_LISTS) as pool:
        answers = list(pool.map(lambda request: _list(cluster, *request, namespace=namespace), requests))
    for (kind, selector, _), (items, error) in zip(requests, answers):
        if error is not None:
            result.errors[kind.kind] = error
        for obj in items:
            if selector is None and (obj.get("metadata") or {}).get("name") not in wanted_names[kind.kind]:
                continue
            _add(result, obj, kind)
            if selector is not None and _owned_by_graph(obj):
                result.owned.append(object_key(obj))
    return result


def _list(cluster, kind: ResourceKind, selector: Optional[str], required: bool, *, namespace: str) -> Tuple[List[Object], Optional[ClusterError]]:
    try:
        return cluster.list(kind, namespace, label_selector=selector).items, None
    except ClusterError as exc:
        # A kind the cluster does not serve has no live objects; that only matters when it was rendered.
        if exc.status == 404 and not required:
            return [], None
        if exc.status == 0:  # no response at all, so nothing else can be compared either
            raise
        if exc.status == 404:
            served = ClusterError(f"the cluster does not serve {kind.resource} (is its CRD installed?)", status=404, reason="NotFound")
            return [], served
        return [], exc


def _add(result: LiveChildren, obj: Object, kind: ResourceKind) -> None:
    # Some servers leave apiVersion and kind out of list items, so they come from the request.
    obj.setdefault("apiVersion", kind.api_version)
    obj.setdefault("kind", kind.kind)
    result.objects[object_key(obj)] = obj


def _owned_by_graph(obj: Object) -> bool:
    references = (obj.get("metadata") or {}).get("ownerReferences") or []
    return any(isinstance(ref, dict) and ref.get("kind") in _OWNER_KINDS for ref in references)


# --- operator settings -------------------------------------------------------------------


@dataclass
class ResolvedSettings:
    settings: Any
    # The origin of the settings, for a note on stderr.
    source: str
    notes: List[str] = field(default_factory=list)
    # The API groups that discovery found; empty when discovery failed.
    api_groups: frozenset = frozenset()


def resolve_settings(cluster, namespace: str, profile: str) -> ResolvedSettings:
    """Return the operator settings for rendering against this cluster.

    Flags come from the args of the live operator Deployment's ``manager``
    container when it can be read. The Grove, LeaderWorkerSet and Kai scheduler
    switches come from API discovery, as the operator detects them at start-up.
    """
    from kubectl_dynamo.render.v0_8.settings import OperatorSettings

    notes: List[str] = []
    settings = OperatorSettings()
    source = "profile defaults"
    args, where, problem = _operator_args(cluster, namespace)
    parser = _settings_parser()
    if args is not None and parser is not None:
        settings = parser(args)
        source = f"operator Deployment {where}"
    elif args is not None:
        notes.append(f"note: found the operator Deployment {where}, but this build cannot read its flags; rendering with the {profile} profile defaults")
    else:
        notes.append(f"note: {problem}; rendering with the {profile} profile defaults (Helm release dynamo-platform in dynamo-system)")

    try:
        groups = set(cluster.api_groups())
    except ClusterError as exc:
        if exc.status == 0:
            raise
        notes.append(f"note: API discovery failed ({exc}); assuming Grove, LeaderWorkerSet and Kai scheduler are absent")
        groups = set()
    settings = dataclasses.replace(
        settings,
        grove_enabled="grove.io" in groups,
        lws_enabled="leaderworkerset.x-k8s.io" in groups and "scheduling.volcano.sh" in groups,
        kai_scheduler_enabled="scheduling.run.ai" in groups,
    )
    return ResolvedSettings(settings, source, notes, frozenset(groups))


def _settings_parser():
    try:
        module = importlib.import_module("kubectl_dynamo.render.v0_8.settings")
    except ImportError:  # pragma: no cover - the module ships with the package
        return None
    return getattr(module, "settings_from_operator_args", None)


def _operator_args(cluster, namespace: str) -> Tuple[Optional[List[str]], str, str]:
    """Return the manager container's args, where they came from, and why they are missing."""
    try:
        deployments = cluster.list(kinds.DEPLOYMENT, all_namespaces=True, label_selector=OPERATOR_SELECTOR).items
    except ClusterError as exc:
        if exc.status == 0:
            raise
        # A user allowed into one namespace may still see an operator restricted to it.
        try:
            deployments = cluster.list(kinds.DEPLOYMENT, namespace, label_selector=OPERATOR_SELECTOR).items
        except ClusterError:
            return None, "", f"cannot list operator Deployments ({exc})"
    if not deployments:
        return None, "", f"no operator Deployment found (labels {OPERATOR_SELECTOR})"
    chosen = _pick_operator(deployments, namespace)
    metadata = chosen.get("metadata") or {}
    where = f"{metadata.get('namespace', '')}/{metadata.get('name', '')}"
    containers = ((chosen.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers") or []
    for container in containers:
        if container.get("name") == OPERATOR_CONTAINER:
            return [str(arg) for arg in container.get("args") or []], where, ""
    return None, where, f"the operator Deployment {where} has no {OPERATOR_CONTAINER!r} container"


def _pick_operator(deployments: List[Object], namespace: str) -> Object:
    """Prefer the operator restricted to ``namespace``, then a cluster-wide one."""

    def restricted_to(deployment: Object) -> str:
        for container in deployment.get("spec", {}).get("template", {}).get("spec", {}).get("containers") or []:
            for arg in container.get("args") or []:
                if str(arg).lstrip("-").startswith("restrictedNamespace="):
                    return str(arg).split("=", 1)[1]
        return ""

    for deployment in deployments:
        if restricted_to(deployment) == namespace:
            return deployment
    for deployment in deployments:
        if not restricted_to(deployment):
            return deployment
    return deployments[0]


# --- the orchestrator of one live graph --------------------------------------------------


def settings_for_live_graph(cluster, resolved: ResolvedSettings, live_dgd: Optional[Object]) -> Tuple[Any, List[str]]:
    """Return the settings to render one existing graph with, and notes on what its live children changed.

    The operator checks for Grove and LeaderWorkerSet once at start-up, so API
    discovery can disagree with it: Grove installed after the operator started,
    or Volcano missing from discovery. The live children show what the operator
    does: DCDs and no PodCliqueSet mean it runs without Grove, LeaderWorkerSets
    mean it runs with LeaderWorkerSet. A graph with no live children keeps the
    discovery result.
    """
    settings = resolved.settings
    if not live_dgd:
        return settings, []
    metadata = live_dgd.get("metadata") or {}
    graph, namespace = metadata.get("name", ""), metadata.get("namespace", "")
    annotations = metadata.get("annotations") or {}
    notes: List[str] = []

    # A graph annotated nvidia.com/enable-grove: "false" runs without Grove whatever the operator found.
    grove_allowed = str(annotations.get(ENABLE_GROVE, "")).lower() != "false"
    if getattr(settings, "grove_enabled", False) and grove_allowed:
        # NOTE: fetch_children lists these DCDs again, so a cluster serving grove.io costs one more request per graph.
        dcds = _list_quietly(cluster, kinds.DCD, namespace, f"{GRAPH}={graph}")
        if dcds and not _exists(cluster, kinds.GROVE_POD_CLIQUE_SET, namespace, graph):
            settings = dataclasses.replace(settings, grove_enabled=False)
            notes.append(
                f"note: {graph}: rendering without Grove although the cluster serves grove.io: the live graph has "
                f"{len(dcds)} DynamoComponentDeployment(s) and no PodCliqueSet, so the operator runs it without Grove"
            )
    if not getattr(settings, "lws_enabled", False) and "leaderworkerset.x-k8s.io" in resolved.api_groups:
        sets = _list_quietly(cluster, kinds.LEADER_WORKER_SET, namespace, f"{GRAPH}={graph}")
        if sets:
            settings = dataclasses.replace(settings, lws_enabled=True)
            notes.append(
                f"note: {graph}: rendering with LeaderWorkerSet although API discovery found no scheduling.volcano.sh: "
                f"the live graph has {len(sets)} LeaderWorkerSet(s), so the operator runs with LeaderWorkerSet"
            )
    return settings, notes


def _list_quietly(cluster, kind: ResourceKind, namespace: str, selector: str) -> List[Object]:
    """List for inference only: a failure means no evidence, and the children lists report it."""
    try:
        return cluster.list(kind, namespace, label_selector=selector).items
    except ClusterError as exc:
        if exc.status == 0:
            raise
        return []


def _exists(cluster, kind: ResourceKind, namespace: str, name: str) -> bool:
    try:
        cluster.get(kind, name, namespace)
    except ClusterError as exc:
        if exc.status == 0:
            raise
        return False  # not found, or unreadable: either way no evidence of Grove
    return True
