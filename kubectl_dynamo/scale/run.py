"""The ``scale`` use case: one call from the command line to a finished ``ScaleReport``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Optional

from kubectl_dynamo.errors import ClusterError, DynamoError, UsageError
from kubectl_dynamo.flux.objects import NAME_LABEL as FLUX_NAME_LABEL, NAMESPACE_LABEL as FLUX_NAMESPACE_LABEL
from kubectl_dynamo.scale import gitfile, overlays
from kubectl_dynamo.scale.flux import flux_notice
from kubectl_dynamo.scale.live import Events, LiveOutcome, execute, plan_live, read_state
from kubectl_dynamo.scale.plan import Plan
from kubectl_dynamo.scale.request import ScaleRequest


@dataclass
class ScaleReport:
    request: ScaleRequest
    namespace: str = ""
    file_edit: Optional[gitfile.FileEdit] = None
    commit: Optional[gitfile.Commit] = None
    live: Optional[LiveOutcome] = None
    #: The ``GraphStatus`` that ended ``--wait``.
    wait_status: Any = None
    #: Why ``--wait`` failed (timed out, graph failed) after the writes succeeded; the caller raises it.
    wait_error: Optional[DynamoError] = None


def check_options(request: ScaleRequest) -> None:
    """Raise UsageError for option combinations that cannot work together."""
    if request.commit and not request.git_file:
        raise UsageError("--commit needs --git-file PATH, the graph's file in your Git checkout")
    if request.ignore_overlays and not request.git_file:
        raise UsageError("--ignore-overlays only makes sense with --git-file")
    if request.also_live and not request.git_file:
        raise UsageError("--also-live only makes sense with --git-file; without it, scale writes to the cluster anyway")
    if request.wait and not request.writes_live:
        raise UsageError(
            "--wait needs a live write: with --git-file alone nothing changes in the cluster until Flux applies the commit",
            hint="Add --also-live, or push the commit and wait with `kubectl dynamo status NAME`.",
        )
    if request.wait and request.dry_run:
        raise UsageError("--wait cannot be combined with --dry-run: nothing is written to wait for")
    if request.timeout <= 0:
        raise UsageError(f"invalid --timeout {request.timeout:g}: expected a number of seconds > 0")


def scale(request: ScaleRequest, *, connect: Callable[[], Any], events: Events, now: Optional[datetime] = None) -> ScaleReport:
    """Plan every change, then write the Git file, commit, write the cluster and wait, in that order.

    Every check (file, graph, services, counts, preconditions) runs before the
    first write, so a rejected request leaves both the file and the cluster as
    they were.
    """
    check_options(request)
    report = ScaleReport(request, namespace=request.namespace or "")

    if request.git_file:
        report.file_edit = gitfile.plan_file_edit(
            request.git_file, request.name, request.namespace, request.targets,
            current_replicas=None if request.writes_live else request.current_replicas, force=request.force,
        )
        overlays.check_overlays(report.file_edit, events.warn, ignore=request.ignore_overlays)
        if request.commit and not request.dry_run and not report.file_edit.unchanged:
            gitfile.check_committable(request.git_file)

    cluster = plan = state = None
    if request.writes_live:
        cluster = connect()
        report.namespace = request.namespace or cluster.namespace
        state = read_state(cluster, report.namespace, request.name, events)
        plan = plan_live(state, request, now=now)
        _announce(plan, events)
        _warn_about_flux(cluster, state.dgd, plan, request, events, now)

    edit = report.file_edit
    if edit is not None and not request.dry_run and not edit.unchanged:
        for warning in edit.warnings:
            events.warn(warning)
        gitfile.write_file_edit(edit)
        if request.commit:
            report.commit = gitfile.commit_file_edit(edit)

    if plan is not None:
        try:
            report.live = execute(cluster, request, state, plan, events)
        except DynamoError:
            if edit is not None and not request.dry_run and not edit.unchanged:
                done = f"committed as {report.commit.sha}" if report.commit else "not committed"
                events.note(f"{edit.path} was already edited ({done}); the cluster write failed")
            raise
        if request.wait:
            try:
                report.wait_status = _wait(cluster, report, plan, events)
            except DynamoError as exc:
                # The writes happened: the report still lists them before the error is raised.
                report.wait_error = exc
    return report


def _announce(plan: Plan, events: Events) -> None:
    for note in plan.notes:
        events.note(note)
    for warning in plan.warnings:
        events.warn(warning)
    if plan.gpus_before != plan.gpus_after:
        events.note(f"GPUs of graph {plan.graph}: {plan.gpus_before} -> {plan.gpus_after}")


def _warn_about_flux(cluster, dgd: dict, plan: Plan, request: ScaleRequest, events: Events, now: Optional[datetime]) -> None:
    changed = [c.service for c in plan.changes if not c.unchanged]
    labels = (dgd.get("metadata") or {}).get("labels") or {}
    if not changed or not (labels.get(FLUX_NAME_LABEL) and labels.get(FLUX_NAMESPACE_LABEL)):
        return
    from kubectl_dynamo.flux.sync import flux_sync

    try:
        sync = flux_sync(cluster, dgd)
    except ClusterError as exc:
        events.debug(f"cannot read the graph's Kustomization ({exc}); not checking what Flux will do")
        return
    if request.git_file and request.commit:
        hint = f"Push the commit of {request.git_file} before then, so that Git has the new count."
    elif request.git_file:
        hint = f"Commit and push {request.git_file} before then, so that Git has the new count."
    else:
        pairs = " ".join(f"{c.service}={c.desired}" for c in plan.changes if not c.unchanged)
        hint = (f"To keep the new count, change it in Git: kubectl dynamo scale {plan.graph} {pairs} "
                f"--git-file <the graph's file in your checkout> --commit")
    notice = flux_notice(sync, dgd, changed, now or datetime.now(timezone.utc), hint)
    for warning in notice.warnings:
        events.warn(warning)
    for note in notice.notes:
        events.note(note)


def _wait(cluster, report: ScaleReport, plan: Plan, events: Events) -> Any:
    from kubectl_dynamo.status.wait import wait_for_graph

    services = {c.service: c.desired for c in plan.changes}
    return wait_for_graph(
        cluster, report.namespace, report.request.name,
        services=services, timeout=report.request.timeout, on_progress=events.progress,
    )
