"""Text form of a drift report: one block per graph, then one per Kustomization."""

from __future__ import annotations

from datetime import datetime
from typing import List, Optional

from kubectl_dynamo.flux.drift import DriftReport, GraphDrift, KustomizationDrift, PendingChanges
from kubectl_dynamo.flux.fields import MISSING, FieldDrift, FieldOwner, short_value
from kubectl_dynamo.flux.objects import format_duration
from kubectl_dynamo.flux.revision import short_revision
from kubectl_dynamo.flux.sync import FAILING, PENDING, SOURCE_NOT_READY, SUSPENDED, SYNCED, FluxSync
from kubectl_dynamo.output.color import BOLD, DIM, GREEN, RED, YELLOW, paint
from kubectl_dynamo.output.printers import count_noun

_VERDICT_COLORS = {SYNCED: GREEN, PENDING: YELLOW, SUSPENDED: YELLOW, FAILING: RED, SOURCE_NOT_READY: RED}
_MAX_CHILD_CHANGES = 5


def ago(when: Optional[datetime], now: datetime) -> str:
    if when is None:
        return "at an unknown time"
    seconds = (now - when).total_seconds()
    return f"{format_duration(seconds)} ago" if seconds >= 0 else f"in {format_duration(seconds)}"


def revert_phrase(sync: FluxSync, now: datetime, action: str) -> str:
    """Say when, if ever, Flux undoes a live change: ``Flux will set it back at the next reconcile in ~3m``.

    ``action`` is what Flux does to the field: "set it back", "remove it" or "restore it".
    """
    if sync.reconcile_disabled:
        return "Flux will not touch it: the graph has kustomize.toolkit.fluxcd.io/reconcile: disabled"
    if sync.ssa_policy in ("Ignore", "IfNotPresent"):
        return f"Flux will not touch it: the graph has kustomize.toolkit.fluxcd.io/ssa: {sync.ssa_policy}"
    if sync.kustomization_suspended:
        return f"Flux will not {action} while Kustomization {sync.kustomization} is suspended"
    if sync.next_reconcile is None:
        return f"Flux will {action} at the next reconcile"
    remaining = (sync.next_reconcile - now).total_seconds()
    when = f"in ~{format_duration(remaining)}" if remaining > 0 else "(due now)"
    return f"Flux will {action} at the next reconcile {when}"


def _owner_text(owner: Optional[FieldOwner], now: datetime, verb: str = "set") -> str:
    if owner is None:
        return "by an unknown manager (managedFields do not cover it)"
    if owner.is_flux:
        # Only Flux owns the field, yet it differs: a webhook, a variable or the build changed it.
        return f"owned by {owner.manager} alone (last apply {ago(owner.time, now)})"
    subresource = f" on /{owner.subresource}" if owner.subresource else ""
    return f"{verb} by {owner.manager}{subresource} {ago(owner.time, now)}"


def drift_line(item: FieldDrift, sync: FluxSync, now: datetime, pending: Optional[PendingChanges] = None) -> str:
    upcoming = _pending_value(item, pending)
    if upcoming is not None:
        # The pending revision changes this very field: Flux will write the new Git value, not the old one.
        head = short_revision(pending.head_revision)
        action = f"set it to {short_value(upcoming)} from {head}" if upcoming is not MISSING else f"remove it ({head} drops it)"
        return (f"{item.text_path}: git {short_value(item.git)}, live {short_value(item.live)}, "
                f"{_owner_text(item.owner, now)}; {revert_phrase(sync, now, action)}")
    if item.kind == "extra":
        return (f"{item.text_path}: not in Git, live {short_value(item.live)}, {_owner_text(item.owner, now, 'added')}; "
                f"{revert_phrase(sync, now, 'remove it')}")
    if item.kind == "missing":
        return (f"{item.text_path}: git {short_value(item.git)}, absent live; "
                f"{revert_phrase(sync, now, 'restore it')}")
    return (f"{item.text_path}: git {short_value(item.git)}, live {short_value(item.live)}, "
            f"{_owner_text(item.owner, now)}; {revert_phrase(sync, now, 'set it back')}")


def _pending_value(item: FieldDrift, pending: Optional[PendingChanges]):
    """Return the branch head's value of the drifted field when the head changes it, else None."""
    if pending is None:
        return None
    for change in pending.changes:
        if change.path == item.path:
            return change.new
    return None


def _sync_line(sync: FluxSync, now: datetime, color: bool) -> str:
    verdict = paint(sync.verdict, _VERDICT_COLORS.get(sync.verdict, DIM), color)
    parts = [verdict]
    if sync.applied_revision or sync.source_revision:
        parts.append(sync.revision_summary())
    owners = ", ".join(x for x in (f"Kustomization {sync.kustomization}" if sync.kustomization else "", sync.source) if x)
    text = "  ".join(parts) + (f"  ({owners})" if owners else "")
    return text


def _graph_block(graph: GraphDrift, now: datetime, color: bool, named: bool = False) -> List[str]:
    sync = graph.sync
    lines = [f"{paint(f'{graph.namespace}/{graph.name}', BOLD, color)}: {_sync_line(sync, now, color)}"]
    if sync.detail and sync.verdict != SYNCED:
        lines.append(f"  {sync.detail}")
    if not sync.managed:
        if named:
            lines.append("  note: Flux does not manage this graph, so it has no Git state to drift from (not counted in the exit status)")
        return lines
    timing = []
    if sync.last_reconcile:
        timing.append(f"last reconcile {ago(sync.last_reconcile, now)}")
    if sync.next_reconcile:
        remaining = (sync.next_reconcile - now).total_seconds()
        timing.append(f"next in ~{format_duration(remaining)}" if remaining > 0 else "next reconcile due now")
    if timing:
        lines.append("  " + ", ".join(timing))

    for note in graph.notes:
        lines.extend(_note_lines(note))
    if graph.errors:
        lines.append("  " + paint("drift not computed:", RED, color) + " see the error on stderr")

    if graph.in_git and not graph.drifts and not graph.type_changes:
        lines.append(f"  no drift from {short_revision(graph.desired_revision)} ({graph.desired_origin})")
    if graph.drifts:
        lines.append(f"  drift from {short_revision(graph.desired_revision)} ({graph.desired_origin}), {count_noun(len(graph.drifts), 'field')}:")
        for item in graph.drifts:
            lines.append("    " + paint(drift_line(item, sync, now, graph.pending), YELLOW, color))
    if graph.type_changes:
        lines.append(f"  type changed by post-build substitution at {short_revision(graph.desired_revision)}, "
                     f"{count_noun(len(graph.type_changes), 'field')}:")
        for change in graph.type_changes:
            text = f"{change.text_path}: the live value is a string; {change.advice()}"
            lines.append("    " + paint(text, YELLOW, color))
    if graph.ignored:
        lines.append(f"  ignored ({len(graph.ignored)}):")
        for item in graph.ignored:
            live = short_value(item.live) if item.live is not MISSING else "absent"
            lines.append(f"    {item.text_path}: git {short_value(item.git)}, live {live}, {_owner_text(item.owner, now)}")
    if graph.pending is not None and graph.in_git:
        lines.extend(_pending_block(graph.pending, color))
    return lines


def _pending_block(pending: PendingChanges, color: bool) -> List[str]:
    head = short_revision(pending.head_revision)
    if not pending.any:
        return [f"  no pending changes: the branch head {head} builds the same graph"]
    lines = [f"  pending at the branch head {head} ({pending.head_origin}): graph {pending.graph}"]
    for change in pending.changes:
        if change.op == "add":
            text = f"{change.text_path}: + {short_value(change.new)}"
        elif change.op == "remove":
            text = f"{change.text_path}: - {short_value(change.old)}"
        else:
            text = f"{change.text_path}: {short_value(change.old)} -> {short_value(change.new)}"
        lines.append("    " + text)
    if pending.render_error:
        # A multi-line error (one problem a line) keeps its lines under the first one.
        lines.extend("    " + line for line in pending.render_error.splitlines())
    for child in pending.children:
        label = {"add": "created", "remove": "deleted", "change": "changed"}[child.op]
        where = f"{child.namespace}/{child.name}" if child.namespace else child.name
        lines.append(f"    {child.kind} {where}: {label}")
        for change in child.changes[:_MAX_CHILD_CHANGES]:
            lines.append(f"      {change.text_path}")
        if len(child.changes) > _MAX_CHILD_CHANGES:
            lines.append(f"      … and {count_noun(len(child.changes) - _MAX_CHILD_CHANGES, 'more field')}")
    return lines


def _note_lines(note: str) -> List[str]:
    """Return a note as lines; the lines of a multi-line error go under the note, indented further."""
    first, *rest = note.splitlines() or [""]
    return [f"  note: {first}"] + [f"    {line}" for line in rest]


def _kustomization_block(report: KustomizationDrift, color: bool) -> List[str]:
    if not (report.differs or report.orphans or report.notes):
        return []
    lines = [paint(f"Kustomization {report.name}", BOLD, color) + (f" at {short_revision(report.revision)}" if report.revision else "") + ":"]
    for name in report.to_prune:
        lines.append("  " + paint(f"to be pruned: {name} (in the inventory, gone from Git)", RED, color))
    for name in report.orphans:
        lines.append(f"  not in the inventory: graph {name} carries this Kustomization's labels; Flux neither updates nor prunes it")
    for name in report.not_applied:
        lines.append(f"  in Git, not applied: graph {name}")
    for name in report.head_adds:
        lines.append(f"  the branch head adds graph {name}")
    for name in report.head_removes:
        lines.append(f"  the branch head removes graph {name}" + (" (Flux will prune it)" if report.prune else ""))
    for note in report.notes:
        lines.extend(_note_lines(note))
    return lines


def format_report(report: DriftReport, *, color: bool = False) -> str:
    """Return the report as text, one block per graph and per Kustomization with findings."""
    blocks: List[List[str]] = [_graph_block(graph, report.now, color, named=report.explicit) for graph in report.graphs]
    blocks += [b for b in (_kustomization_block(k, color) for k in report.kustomizations) if b]
    if not blocks:
        return "No DynamoGraphDeployments found.\n"
    return "\n".join("\n".join(block) for block in blocks) + "\n"
