"""The result of a diff as printers see it: one entry per object, and a summary.

``DiffReport`` is the view model that `diff` hands to the text, JSON and
external-diff printers. It also decides the exit code: 0 when nothing differs,
1 when something does, and the largest error code when an object could not be
compared, as `kubectl diff` does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from kubectl_dynamo.diff.compare import Comparison, DiffItem
from kubectl_dynamo.errors import ExitCode

CREATED, CHANGED, DELETED, UNCHANGED, ERROR = "created", "changed", "deleted", "unchanged", "error"
# The kind of the entry that stands for all children of a graph when rendering it failed.
CHILDREN = "children"

# The paths of each workload kind's pod templates, whose change recreates its pods.
_TEMPLATE_PATHS: Dict[str, Tuple[Tuple[str, ...], ...]] = {
    "Deployment": (("spec", "template"),),
    "StatefulSet": (("spec", "template"),),
    "LeaderWorkerSet": (
        ("spec", "leaderWorkerTemplate", "leaderTemplate"),
        ("spec", "leaderWorkerTemplate", "workerTemplate"),
        ("spec", "leaderWorkerTemplate", "size"),
    ),
}
WORKLOAD_KINDS = frozenset({"Deployment", "StatefulSet", "LeaderWorkerSet", "PodCliqueSet"})


@dataclass
class ObjectDiff:
    """One object in the diff: both sides, the changes, and what they do to pods."""

    api_version: str
    kind: str
    namespace: str
    name: str
    action: str  # created, changed, deleted, unchanged or error
    graph: str  # the DGD the object belongs to
    comparison: Optional[Comparison] = None
    error: str = ""
    error_code: int = 0
    # Pods the change recreates (a changed pod template); None when it does not.
    restart_paths: List[str] = field(default_factory=list)
    # Replica changes as (path, old, new); they scale without restarting pods.
    scaling: List[Tuple[str, Any, Any]] = field(default_factory=list)
    # Number of live pods of a workload, from its replicas; None when unknown.
    pods: Optional[int] = None
    # Why a live child differs from its rendering (``diff NAME`` only).
    cause: str = ""

    @property
    def ref(self) -> str:
        """Return ``Kind namespace/name``, the object's name in headers and summaries."""
        if self.kind == CHILDREN:
            return f"children of DynamoGraphDeployment {self.namespace}/{self.name}"
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"

    @property
    def items(self) -> List[DiffItem]:
        return self.comparison.items if self.comparison else []

    @property
    def restarts(self) -> bool:
        return bool(self.restart_paths)

    @property
    def metadata_only(self) -> bool:
        """Tell whether every change of a child is in labels or annotations, which the operator sets only at creation.

        The graph itself is applied by kubectl or Flux, which do update its metadata.
        """
        if self.kind == "DynamoGraphDeployment":
            return False
        return self.action == CHANGED and all(item.path[:1] == ("metadata",) for item in self.items)


@dataclass
class DiffReport:
    objects: List[ObjectDiff] = field(default_factory=list)
    # Lines for stderr: rendering warnings and notes on where settings came from.
    warnings: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    # What the two sides are, for headers: e.g. "live" and "graph.yaml".
    old_label: str = "live"
    new_label: str = "rendered"

    @property
    def differs(self) -> bool:
        return any(entry.action in (CREATED, CHANGED, DELETED) for entry in self.objects)

    @property
    def errors(self) -> List[ObjectDiff]:
        return [entry for entry in self.objects if entry.action == ERROR]

    def exit_code(self) -> int:
        if self.errors:
            return max(max(entry.error_code for entry in self.errors), int(ExitCode.USAGE))
        return int(ExitCode.DIFFERS) if self.differs else int(ExitCode.OK)

    def counts(self) -> Dict[str, int]:
        result = {CREATED: 0, CHANGED: 0, DELETED: 0, UNCHANGED: 0, ERROR: 0}
        for entry in self.objects:
            result[entry.action] += 1
        return result


def analyse_pods(entry: ObjectDiff) -> None:
    """Fill in which changes of a workload restart its pods and which only scale it."""
    if entry.kind not in WORKLOAD_KINDS or entry.comparison is None:
        return
    old = entry.comparison.old or {}
    entry.pods = _pod_count(entry.kind, old) if old else None
    if entry.action != CHANGED:
        return
    for item in entry.items:
        path = item.path
        if _is_replicas(entry.kind, path):
            entry.scaling.append((item.dotted, item.old, item.new))
        elif _in_pod_template(entry.kind, path):
            entry.restart_paths.append(item.dotted)


def _is_replicas(kind: str, path: Tuple[Any, ...]) -> bool:
    if path == ("spec", "replicas"):
        return True
    # A PodCliqueSet scales one clique through spec.template.cliques[<name>].spec.replicas.
    return kind == "PodCliqueSet" and len(path) >= 2 and path[-1] == "replicas" and path[-2] == "spec"


def _in_pod_template(kind: str, path: Tuple[Any, ...]) -> bool:
    if kind == "PodCliqueSet":
        return "podSpec" in path or (path[:2] == ("spec", "template") and "metadata" in path[2:])
    return any(path[: len(prefix)] == prefix for prefix in _TEMPLATE_PATHS.get(kind, ()))


def _pod_count(kind: str, obj: Dict[str, Any]) -> Optional[int]:
    spec = obj.get("spec") or {}
    replicas = spec.get("replicas", 1)
    if not isinstance(replicas, int):
        return None
    if kind == "LeaderWorkerSet":
        size = (spec.get("leaderWorkerTemplate") or {}).get("size", 1)
        return replicas * size if isinstance(size, int) else None
    if kind == "PodCliqueSet":
        return None
    return replicas
