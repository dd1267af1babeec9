"""Scaling a live graph: read, plan, write with optimistic locking, retry on conflict.

The graph write is one JSON patch for all graph-owned services, guarded by a
``test`` of the resourceVersion read, so a concurrent writer makes it fail as a
whole. Adapter writes go to each adapter's ``/scale`` subresource. When a request
needs more than one write, each is first sent with ``dryRun=All`` so that RBAC,
admission webhooks and conflicts surface before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, List, Optional, Sequence

from kubectl_dynamo.api import labels
from kubectl_dynamo.api.kinds import DGD, DGDSA, HPA
from kubectl_dynamo.api.missing import graph_not_found, kind_not_served
from kubectl_dynamo.errors import ClusterError, ConflictError, NotFoundError
from kubectl_dynamo.scale import rules
from kubectl_dynamo.scale.plan import Plan, Write, plan_scale
from kubectl_dynamo.scale.request import ScaleRequest, resolve_targets

#: Attempts at a write that keeps losing races before giving up.
MAX_ATTEMPTS = 5

#: The field manager of scale's writes. kustomize-controller takes over the fields of every
#: manager whose name starts with "kubectl" and then drops those that Git does not set, so
#: with a "kubectl..." name a count that Git leaves out would be removed at the next reconcile.
FIELD_MANAGER = "dynamo-scale"


@dataclass
class Events:
    """Callbacks through which the core reports to the user while it works."""

    warn: Callable[[str], None] = lambda message: None
    note: Callable[[str], None] = lambda message: None
    debug: Callable[[str], None] = lambda message: None
    #: Receives a line whenever what ``--wait`` waits for changes.
    progress: Callable[[str], None] = lambda line: None


@dataclass
class LiveState:
    dgd: dict
    #: Adapters listed for the graph, or None when the cluster could not list them.
    adapters: Optional[List[dict]]
    hpas: List[dict]


@dataclass
class LiveOutcome:
    plan: Plan
    #: Writes sent, in order (for a client dry run: the writes that would be sent).
    written: List[Write] = field(default_factory=list)
    dry_run: Optional[str] = None
    attempts: int = 1


class PartialWriteError(ClusterError):
    """A later write failed after earlier ones succeeded; the message lists both."""


def read_state(cluster, namespace: str, name: str, events: Events) -> LiveState:
    """Read the graph, its scaling adapters and the HorizontalPodAutoscalers of the namespace."""
    try:
        dgd = cluster.get(DGD, name, namespace)
    except NotFoundError as exc:
        if kind_not_served(exc):
            raise  # the DGD CRD is not installed: the cluster layer's message names it
        raise graph_not_found(name, namespace) from None
    dgd.setdefault("metadata", {}).setdefault("namespace", namespace)

    adapters: Optional[List[dict]]
    try:
        adapters = cluster.list(DGDSA, namespace, label_selector=f"{labels.GRAPH}={name}").items
    except NotFoundError:
        # The adapter CRD is not installed: an operator from before scaling adapters, so the graph owns every count.
        adapters = []
    except ClusterError as exc:
        events.debug(f"cannot list scaling adapters ({exc}); deciding from the operator's rule")
        adapters = None

    hpas: List[dict] = []
    try:
        hpas = cluster.list(HPA, namespace).items
    except ClusterError as exc:
        events.debug(f"cannot list HorizontalPodAutoscalers ({exc}); not checking for autoscalers")
    return LiveState(dgd, adapters, hpas)


def plan_live(state: LiveState, request: ScaleRequest, *, now: Optional[datetime] = None, done: Sequence[str] = ()) -> Plan:
    """Return the plan for ``request`` on ``state``, leaving out the services in ``done``."""
    services = rules.services_of(state.dgd)
    counts = resolve_targets(request.targets, list(services), state.dgd["metadata"]["name"])
    counts = {service: replicas for service, replicas in counts.items() if service not in done}
    return plan_scale(
        state.dgd, counts, adapters=state.adapters, hpas=state.hpas,
        current_replicas=request.current_replicas, force=request.force, now=now,
    )


def execute(cluster, request: ScaleRequest, state: LiveState, plan: Plan, events: Events) -> LiveOutcome:
    """Send the plan's writes; on a lost race or connection, read again, plan the rest again and retry.

    Retrying after a lost connection is safe because every write carries the
    resourceVersion it was planned from: if the first try was applied, the
    retry plans nothing for that service instead of writing twice.
    """
    outcome = LiveOutcome(plan, dry_run=request.dry_run)
    if request.dry_run == "client" or not plan.writes:
        outcome.written = list(plan.writes)
        return outcome

    namespace, name = plan.namespace, plan.graph
    written: List[Write] = []
    last_error: Optional[ClusterError] = None
    for attempt in range(1, MAX_ATTEMPTS + 1):
        outcome.attempts = attempt
        write, real = plan.writes[0], False
        try:
            if len(plan.writes) > 1 and request.dry_run is None:
                for write in plan.writes:
                    _send(cluster, write, dry_run=True)
            real = True
            for write in plan.writes:
                _send(cluster, write, dry_run=request.dry_run == "server")
                written.append(write)
            outcome.written = written
            return outcome
        except ClusterError as exc:
            last_error = exc
            if exc.status != 0 and not _lost_race(cluster, exc, write, plan):
                raise _failure(exc, write, plan, written) from None
            events.debug(f"attempt {attempt}: {exc}; reading {name} again")
        # A real write whose connection was lost may or may not have been applied.
        uncertain = write if real and last_error.status == 0 else None
        try:
            state = read_state(cluster, namespace, name, events)
        except ClusterError as exc:
            if uncertain is None:
                raise
            raise _failure(exc, uncertain, plan, written, unknown=True) from None
        done = [change.service for write in written for change in write.changes]
        fresh = plan_live(state, request, done=done)
        if uncertain is not None:
            services = {c.service for c in uncertain.changes}
            if all(c.unchanged for c in fresh.changes if c.service in services):
                # The lost write was applied: count it as written, and plan only the rest.
                written.append(uncertain)
                done += sorted(services)
                fresh = plan_live(state, request, done=done)
        plan.changes = [c for c in plan.changes if c.service in done] + fresh.changes
        plan.writes, plan.resource_version = fresh.writes, fresh.resource_version
        if not plan.writes:
            outcome.written = written
            return outcome

    services = ", ".join(c.service for w in plan.writes for c in w.changes)
    prefix = _written_summary(written) or "nothing was written"
    if last_error is not None and last_error.status == 0:
        raise ClusterError(
            f"gave up scaling {services} after {MAX_ATTEMPTS} attempts: {last_error}; {prefix}",
            hint=f"Check the connection to the API server, then the counts with: kubectl dynamo status {name} -n {namespace}",
        )
    raise ConflictError(
        f"gave up scaling {services} after {MAX_ATTEMPTS} attempts: dynamographdeployment {name} changed between "
        f"every read and write; {prefix}",
        status=409, reason="Conflict",
        hint="Another writer (the operator, a planner or Flux) is changing the graph; retry in a moment.",
    )


def _send(cluster, write: Write, *, dry_run: bool) -> dict:
    return cluster.patch(
        write.kind, write.name, write.body, patch_type=write.patch_type,
        namespace=write.namespace, subresource=write.subresource, dry_run=dry_run, field_manager=FIELD_MANAGER,
    )


def _lost_race(cluster, error: ClusterError, write: Write, plan: Plan) -> bool:
    """Return whether ``error`` on ``write`` means another writer changed the object first.

    A stale resourceVersion in a merge patch gives 409. A failed JSON-patch
    ``test`` gives 422 on a real API server, so a 422 on the graph's patch counts
    as a lost race only when the graph's resourceVersion has moved since it was read.
    """
    if isinstance(error, ConflictError) or error.status == 409:
        return True
    if error.status != 422 or write.kind is not DGD:
        return False
    try:
        live = cluster.get(DGD, plan.graph, plan.namespace)
    except ClusterError:
        return False
    return str((live.get("metadata") or {}).get("resourceVersion", "")) != plan.resource_version


def _written_summary(written: Sequence[Write]) -> str:
    if not written:
        return ""
    parts = [f"{c.service} {c.current} -> {c.desired} ({w.resource})" for w in written for c in w.changes]
    return "already written: " + ", ".join(parts)


def _failure(error: ClusterError, failed: Write, plan: Plan, written: List[Write], *, unknown: bool = False) -> ClusterError:
    """Return the error to raise for the failed write ``failed``, naming what was and was not written."""
    resource = failed.kind.resource + (f"/{failed.subresource}" if failed.subresource else "")
    # The cluster layer puts the API server's own message into the hint of a 403.
    server_text = f"{error} {error.hint or ''}"
    hint = error.hint
    if "admission webhook" in server_text:
        server_message = str(error)
        if "admission webhook" in (error.hint or ""):
            server_message = (error.hint or "").replace("The API server said: ", "")
        message = f"the admission webhook rejected the change of {failed.resource}: {server_message}"
        hint = None
        if failed.kind is DGD:
            names = ", ".join(rules.adapter_name(plan.graph, c.service) for c in failed.changes)
            hint = (f"The operator expects a scaling adapter ({names}) to own the count, "
                    f"and it may not exist yet. Retry in a moment.")
    elif error.status == 403:
        message = f"cannot scale {failed.resource}: {error}"
        hint = f"Check your permissions with: kubectl auth can-i patch {resource} -n {plan.namespace}"
    else:
        message = f"failed to scale {failed.resource}: {error}"
    done = _written_summary(written)
    if unknown:
        message += f"; whether the write of {failed.resource} was applied is unknown"
        hint = f"Check the counts with: kubectl dynamo status {plan.graph} -n {plan.namespace}"
    if done:
        message += f"; {done}"
    elif not unknown:
        message += "; nothing was written"
    if written:
        undo = " ".join(f"{c.service}={c.current}" for w in written for c in w.changes)
        hint = (hint + " " if hint else "") + f"To undo what was written: kubectl dynamo scale {plan.graph} {undo} -n {plan.namespace}"
        return PartialWriteError(message, status=error.status, reason=error.reason, hint=hint)
    return type(error)(message, status=error.status, reason=error.reason, hint=hint)
