"""Printers for the `get` and `status` view models: tables, tree, events, JSON and YAML."""

from __future__ import annotations

from datetime import datetime
from typing import List, Optional, Sequence

from kubectl_dynamo.api.times import parse_time
from kubectl_dynamo.flux.revision import short_revision
from kubectl_dynamo.output.color import GREEN, RED, YELLOW, paint
from kubectl_dynamo.output.printers import table, to_json, to_yaml
from kubectl_dynamo.status.model import (GRAPH_STATUS_LIST_KIND, VIEW_API_VERSION, EventInfo, GraphStatus, ServiceStatus,
                                         TreeRow, Verdict)

_VERDICT_COLORS = {
    Verdict.READY: GREEN,
    Verdict.PROGRESSING: YELLOW,
    Verdict.UNKNOWN: YELLOW,
    Verdict.DEGRADED: RED,
    Verdict.FAILED: RED,
}


def human_duration(seconds: float) -> str:
    """Format a duration like kubectl's AGE column (``duration.HumanDuration`` in apimachinery)."""
    seconds = int(seconds)
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        rest = seconds % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if hours < 24 * 8:
        rest = hours % 24
        return f"{days}d{rest}h" if rest else f"{days}d"
    if hours < 24 * 365 * 2:
        return f"{days}d"
    years = days // 365
    if hours < 24 * 365 * 8:
        rest = days % 365
        return f"{years}y{rest}d" if rest else f"{years}y"
    return f"{years}y"


def age(timestamp: Optional[str], now: datetime) -> str:
    when = parse_time(timestamp)
    if when is None:
        return "<unknown>"
    return human_duration((now - when).total_seconds())


def verdict_text(verdict: Verdict, color: bool) -> str:
    return paint(verdict.value, _VERDICT_COLORS[verdict], color)


# --- get --------------------------------------------------------------------------------


def get_table(graphs: Sequence[GraphStatus], *, now: datetime, wide: bool = False, all_namespaces: bool = False,
              no_headers: bool = False, color: bool = False) -> str:
    headers = ["NAME", "STATE", "SERVICES", "REPLICAS", "BACKEND", "FLUX", "AGE"]
    if wide:
        headers += ["OPERATOR", "READY REASON", "ORCHESTRATOR"]
    if all_namespaces:
        headers.insert(0, "NAMESPACE")
    rows = []
    for graph in graphs:
        row = [
            graph.name,
            verdict_text(graph.verdict, color),
            f"{graph.services_ready}/{len(graph.services)}",
            f"{graph.replicas_ready}/{graph.replicas_desired}",
            graph.backend or "-",
            graph.flux.column if graph.flux else "-",
            age(graph.created, now),
        ]
        if wide:
            row += [graph.operator_state or "-", graph.ready_reason or "-", graph.orchestrator]
        if all_namespaces:
            row.insert(0, graph.namespace)
        rows.append(row)
    return table(headers, rows, no_headers=no_headers)


def get_names(graphs: Sequence[GraphStatus]) -> str:
    return "".join(f"dynamographdeployment.nvidia.com/{graph.name}\n" for graph in graphs)


def get_document(graphs: Sequence[GraphStatus], *, single: bool, output: str) -> str:
    items = [graph.summary_dict() for graph in graphs]
    document = items[0] if single and len(items) == 1 else {"apiVersion": VIEW_API_VERSION, "kind": GRAPH_STATUS_LIST_KIND, "items": items}
    return to_json(document) if output == "json" else to_yaml(document)


def get_output(graphs: Sequence[GraphStatus], *, output: Optional[str], now: datetime, single: bool,
               all_namespaces: bool = False, no_headers: bool = False, color: bool = False) -> str:
    """Format graphs for `get` in the chosen -o format (None or wide: the table)."""
    if output in ("json", "yaml"):
        return get_document(graphs, single=single, output=output)
    if output == "name":
        return get_names(graphs)
    if not graphs:
        return ""
    return get_table(graphs, now=now, wide=output == "wide", all_namespaces=all_namespaces, no_headers=no_headers, color=color)


# --- status -----------------------------------------------------------------------------


def _generation_text(graph: GraphStatus) -> str:
    generation = "-" if graph.generation is None else str(graph.generation)
    observed = "-" if graph.observed_generation is None else str(graph.observed_generation)
    note = ""
    if graph.observed_generation is None:
        note = " (the operator does not record observedGeneration on graphs)"
    elif graph.generation is not None and graph.observed_generation < graph.generation:
        note = " (the operator has not processed the latest spec)"
    return f"{generation}, observed {observed}{note}"


def status_header(graph: GraphStatus, *, color: bool = False) -> str:
    lines = [
        ("Graph", graph.name),
        ("Namespace", graph.namespace),
        ("Verdict", verdict_text(graph.verdict, color) + (f": {graph.reason}" if graph.reason else "")),
    ]
    operator = graph.operator_state or "-"
    ready = graph.ready_status or "-"
    ready_detail = ", ".join(x for x in (graph.ready_reason, graph.ready_message) if x)
    lines.append(("Operator", f"state {operator}, Ready={ready}" + (f" ({ready_detail})" if ready_detail else "")))
    lines.append(("Generation", _generation_text(graph)))
    lines.append(("Backend", f"{graph.backend or '-'}, orchestrated by {graph.orchestrator}"))
    if graph.flux is not None:
        if graph.flux.managed:
            # The short form that get and drift print; -o yaml keeps the full revisions.
            revision = short_revision(graph.flux.applied_revision) or "-"
            source = short_revision(graph.flux.source_revision) or "-"
            flux = f"{graph.flux.verdict}, Kustomization {graph.flux.kustomization}, applied {revision}, source {source}"
        else:
            flux = "not managed by Flux"
        lines.append(("Flux", flux))
    width = max(len(label) for label, _ in lines) + 2
    return "".join(f"{label + ':':<{width}}{value}\n" for label, value in lines)


def _service_row(service: ServiceStatus, now: datetime, color: bool) -> List[str]:
    reason = "" if service.is_ready else service.reason
    if not service.is_ready and service.verdict is not Verdict.PROGRESSING:
        reason = f"{service.verdict.value}: {reason}" if reason else service.verdict.value
    return [
        service.name,
        service.type,
        service.kind or "-",
        service.workload_name or "-",
        str(service.desired),
        paint(str(service.ready), GREEN if service.is_ready else YELLOW, color),
        str(service.updated),
        "-" if service.available is None else str(service.available),
        str(service.restarts),
        age(service.created, now) if service.created else "-",
        reason,
    ]


def services_table(graph: GraphStatus, *, now: datetime, color: bool = False) -> str:
    headers = ["SERVICE", "TYPE", "KIND", "NAME", "DESIRED", "READY", "UPDATED", "AVAILABLE", "RESTARTS", "AGE", "REASON"]
    if not graph.services:
        return "No services in spec.services.\n"
    return table(headers, [_service_row(s, now, color) for s in graph.services])


def tree_text(rows: List[TreeRow], *, now: datetime, color: bool = False) -> str:
    """Draw the rows as a tree with box-drawing prefixes, like `kubectl tree`."""
    names = []
    for index, row in enumerate(rows):
        if row.depth == 0:
            names.append(f"{row.kind}/{row.name}")
            continue
        prefix = ""
        for level in range(1, row.depth):
            prefix += "│ " if _has_later_sibling(rows, index, level) else "  "
        prefix += "├─" if _has_later_sibling(rows, index, row.depth) else "└─"
        names.append(f"{prefix}{row.kind}/{row.name}")
    body = []
    for name, row in zip(names, rows):
        status = row.status
        if color and status in ("CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "OOMKilled", "Unschedulable", "Failed"):
            status = paint(status, RED, True)
        body.append([name, row.ready, "" if row.restarts is None else str(row.restarts), status,
                     age(row.created, now) if row.created else ""])
    return table(["NAME", "READY", "RESTARTS", "STATUS", "AGE"], body)


def _has_later_sibling(rows: List[TreeRow], index: int, depth: int) -> bool:
    # Is there a row at ``depth`` after ``index`` before the tree climbs above ``depth``?
    for later in rows[index + 1:]:
        if later.depth < depth:
            return False
        if later.depth == depth:
            return True
    return False


def events_table(events: List[EventInfo], *, now: datetime) -> str:
    if not events:
        return "No Warning events.\n"
    rows = [[age(e.last_seen, now), e.reason, f"{e.kind}/{e.name}", str(e.count), e.message] for e in events]
    return table(["LAST SEEN", "REASON", "OBJECT", "COUNT", "MESSAGE"], rows)


def status_text(graph: GraphStatus, *, now: datetime, tree: bool = False, events: bool = False, color: bool = False) -> str:
    parts = [status_header(graph, color=color), "\n"]
    parts.append(tree_text(graph.tree, now=now, color=color) if tree else services_table(graph, now=now, color=color))
    if events:
        parts += ["\n", "Warning events, newest last:\n", events_table(graph.events, now=now)]
    return "".join(parts)


def status_document(graph: GraphStatus, output: str) -> str:
    document = graph.to_dict()
    return to_json(document) if output == "json" else to_yaml(document)


def status_output(graph: GraphStatus, *, output: Optional[str], now: datetime, tree: bool = False,
                  events: bool = False, color: bool = False) -> str:
    """Format one graph for `status` in the chosen -o format (None: the text view)."""
    if output:
        return status_document(graph, output)
    return status_text(graph, now=now, tree=tree, events=events, color=color)


CLEAR_SCREEN = "\033[H\033[2J"


def watch_frame(text: str, *, first: bool, redraw: bool, separate: bool) -> str:
    """Return one frame of `status -w`: on a terminal it replaces the screen, in a pipe
    frames follow each other, separated by a blank line when ``separate``."""
    if redraw:
        return CLEAR_SCREEN + text
    if not first and separate:
        return "\n" + text
    return text
