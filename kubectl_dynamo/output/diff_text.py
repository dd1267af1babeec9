"""Printers for `diff`: a unified YAML diff per object with a summary, and JSON.

Objects are dumped as YAML with sorted keys (as kubectl prints them), so that the
order in which defaults were filled in never shows as a change.
"""

from __future__ import annotations

import difflib
import json
from typing import Any, Dict, List

import yaml

from kubectl_dynamo.diff.model import CHANGED, CREATED, DELETED, ERROR, DiffReport, ObjectDiff
from kubectl_dynamo.output.color import BOLD, GREEN, RED, YELLOW, paint

try:
    from yaml import CSafeDumper as _Dumper
except ImportError:  # pragma: no cover
    from yaml import SafeDumper as _Dumper  # type: ignore[assignment]

CYAN = 36
_CONTEXT_LINES = 3
_MAX_PATHS = 3
_HEADER_MARK = {CREATED: "+", CHANGED: "~", DELETED: "-"}
_HEADER_COLOR = {CREATED: GREEN, CHANGED: YELLOW, DELETED: RED}


def object_yaml(obj: Any) -> str:
    """Dump one normalised object as YAML with sorted keys, or nothing for an absent side."""
    if obj is None:
        return ""
    return yaml.dump(obj, Dumper=_Dumper, default_flow_style=False, sort_keys=True, allow_unicode=True, width=1_000_000)


def format_text(report: DiffReport, *, color: bool) -> str:
    """Return every created, changed and deleted object as a unified diff, then the summary.

    Returns "" when nothing differs and nothing failed: like kubectl diff, stdout
    then stays empty, and ``format_no_differences`` is the line for stderr.
    """
    if not report.differs and not report.errors:
        return ""
    parts: List[str] = []
    for entry in report.objects:
        if entry.action in (CREATED, CHANGED, DELETED):
            parts.append(_object_section(entry, report, color))
    parts.append(format_summary(report, color=color))
    return "".join(parts)


def _object_section(entry: ObjectDiff, report: DiffReport, color: bool) -> str:
    header = f"{_HEADER_MARK[entry.action]} {entry.ref} {_describe(entry)}"
    lines = [paint(header, _HEADER_COLOR[entry.action], color) + "\n"]
    if entry.cause:
        lines.append(f"  ({entry.cause})\n")
    old_text = object_yaml(entry.comparison.old if entry.comparison else None)
    new_text = object_yaml(entry.comparison.new if entry.comparison else None)
    old_name = f"{report.old_label}" if entry.action != CREATED else "/dev/null"
    new_name = f"{report.new_label}" if entry.action != DELETED else "/dev/null"
    diff_lines = difflib.unified_diff(
        old_text.splitlines(keepends=True), new_text.splitlines(keepends=True),
        fromfile=old_name, tofile=new_name, n=_CONTEXT_LINES,
    )
    for line in diff_lines:
        if not line.endswith("\n"):
            line += "\n"
        lines.append(_paint_diff_line(line, color))
    lines.append("\n")
    return "".join(lines)


def _paint_diff_line(line: str, color: bool) -> str:
    if line.startswith(("---", "+++")):
        return paint(line.rstrip("\n"), BOLD, color) + "\n"
    if line.startswith("@@"):
        return paint(line.rstrip("\n"), CYAN, color) + "\n"
    if line.startswith("+"):
        return paint(line.rstrip("\n"), GREEN, color) + "\n"
    if line.startswith("-"):
        return paint(line.rstrip("\n"), RED, color) + "\n"
    return line


def _describe(entry: ObjectDiff) -> str:
    if entry.action == CREATED:
        return "created" + (f" (starts {_pods(entry.comparison.new)})" if _starts_pods(entry) else "")
    if entry.action == DELETED:
        return "deleted" + (f" (stops {_count(entry.pods)})" if entry.pods else "")
    if entry.restarts:
        return "changed (pods restart" + (f": {_count(entry.pods)}" if entry.pods else "") + ")"
    if entry.scaling:
        return "changed (scales, no restart)"
    if entry.metadata_only:
        return "changed (metadata only)"
    return "changed"


def _starts_pods(entry: ObjectDiff) -> bool:
    return entry.kind in ("Deployment", "StatefulSet", "LeaderWorkerSet", "PodCliqueSet")


def _pods(obj: Any) -> str:
    replicas = ((obj or {}).get("spec") or {}).get("replicas", 1)
    return _count(replicas) if isinstance(replicas, int) else "pods"


def _count(pods: Any) -> str:
    return f"{pods} pod" if pods == 1 else f"{pods} pods"


def format_no_differences(report: DiffReport) -> str:
    """Return the line reporting that nothing differs, with the number of objects compared."""
    return f"No differences ({len(report.objects)} objects compared)."


def format_summary(report: DiffReport, *, color: bool) -> str:
    """Return the closing summary: counts, then which pods restart and which changes do not restart any."""
    counts = report.counts()
    figures = [f"{counts[action]} {action}" for action in (CHANGED, CREATED, DELETED, "unchanged") if counts[action] or action == CHANGED]
    if counts[ERROR]:
        figures.append(paint(f"{counts[ERROR]} failed", RED, color))
    lines = [paint("Summary:", BOLD, color) + " " + ", ".join(figures) + "\n"]

    restarting = [entry for entry in report.objects if entry.restarts]
    if restarting:
        lines.append("Pods that will restart (pod template changed):\n")
        for entry in restarting:
            pods = f" ({_count(entry.pods)})" if entry.pods else ""
            lines.append(f"  {entry.ref}{pods}: {_paths(entry.restart_paths)}\n")
    scaling = [entry for entry in report.objects if entry.scaling]
    if scaling:
        lines.append("Changes that do not restart pods:\n")
        for entry in scaling:
            for path, old, new in entry.scaling:
                lines.append(f"  {entry.ref}: {path} {_scalar(old)} -> {_scalar(new)}\n")
    starting = [entry for entry in report.objects if entry.action == CREATED and _starts_pods(entry)]
    stopping = [entry for entry in report.objects if entry.action == DELETED and _starts_pods(entry)]
    if starting:
        lines.append("New workloads (start pods): " + ", ".join(entry.ref for entry in starting) + "\n")
    if stopping:
        lines.append("Removed workloads (their pods stop): " + ", ".join(entry.ref for entry in stopping) + "\n")
    metadata_only = [entry for entry in report.objects if entry.metadata_only]
    if metadata_only:
        lines.append(
            "Labels or annotations only (the operator writes them only when it creates an object): "
            + ", ".join(entry.ref for entry in metadata_only) + "\n"
        )
    return "".join(lines)


def _paths(paths: List[str]) -> str:
    shown = ", ".join(paths[:_MAX_PATHS])
    if len(paths) > _MAX_PATHS:
        shown += f" and {len(paths) - _MAX_PATHS} more"
    return shown


def _scalar(value: Any) -> str:
    return "(unset)" if value is None else str(value)


def format_error_lines(report: DiffReport) -> List[str]:
    """Return one line per object that could not be compared, for stderr."""
    return [f"{entry.ref}: {entry.error}" for entry in report.errors]


def format_json(report: DiffReport) -> str:
    """Return the report as JSON: every object with its changes, a flat change list, and the summary."""
    return json.dumps(report_document(report), indent=2, ensure_ascii=False, default=str) + "\n"


def format_yaml(report: DiffReport) -> str:
    """Return the same document as ``format_json``, as YAML."""
    return yaml.dump(report_document(report), Dumper=_Dumper, default_flow_style=False, sort_keys=False,
                     allow_unicode=True, width=1_000_000)


def report_document(report: DiffReport) -> Dict[str, Any]:
    """Return the structured form of a report that ``-o json`` and ``-o yaml`` print."""
    objects: List[Dict[str, Any]] = []
    changes: List[Dict[str, Any]] = []
    for entry in report.objects:
        object_changes = [
            {"op": item.op, "path": item.pointer, "old": item.old, "new": item.new}
            for item in entry.items
        ]
        objects.append({
            "apiVersion": entry.api_version,
            "kind": entry.kind,
            "namespace": entry.namespace,
            "name": entry.name,
            "graph": entry.graph,
            "action": entry.action,
            "restartsPods": entry.restarts,
            "pods": entry.pods,
            "cause": entry.cause or None,
            "error": entry.error or None,
            "changes": object_changes,
        })
        reference = f"{entry.kind}/{entry.namespace}/{entry.name}" if entry.namespace else f"{entry.kind}/{entry.name}"
        changes.extend({"object": reference, **change} for change in object_changes)
    summary = dict(report.counts())
    summary["podsRestart"] = [
        {"object": entry.ref, "pods": entry.pods, "paths": entry.restart_paths} for entry in report.objects if entry.restarts
    ]
    summary["noRestart"] = [
        {"object": entry.ref, "path": path, "old": old, "new": new}
        for entry in report.objects for path, old, new in entry.scaling
    ]
    return {"objects": objects, "changes": changes, "summary": summary}
