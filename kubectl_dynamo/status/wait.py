"""Wait until a graph's services are ready, with watch requests and a deadline.

``wait_for_graph`` is shared by `status --wait` and `scale --wait`. A service
counts as ready by the rules of ``kubectl_dynamo.status.readiness``: its
workload's status describes the current generation and updated == ready ==
desired. The wait ends early when a service fails for good (for example
ProgressDeadlineExceeded, or an invalid image name), because waiting longer
cannot help.
"""

from __future__ import annotations

import time
from typing import Callable, Dict, List, Optional

from kubectl_dynamo.errors import DynamoError, ExitCode, NotFoundError, TimeoutExpired
from kubectl_dynamo.status.model import GraphStatus, ServiceStatus
from kubectl_dynamo.status.watch import GraphWatch
from kubectl_dynamo.output.printers import count_noun


class GraphFailed(DynamoError):
    """A waited-for service failed in a way that waiting cannot fix."""

    exit_code = ExitCode.DIFFERS

    def __init__(self, message: str, status: GraphStatus, *, hint: Optional[str] = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


def _selected(status: GraphStatus, services: Optional[Dict[str, Optional[int]]]) -> List[ServiceStatus]:
    if not services:
        return list(status.services)
    by_name = {s.name: s for s in status.services}
    missing = [name for name in services if name not in by_name]
    if missing:
        known = ", ".join(by_name) or "none"
        raise NotFoundError(
            f'service "{missing[0]}" not found in graph {status.namespace}/{status.name}',
            status=404, reason="NotFound", hint=f"The graph's services are: {known}.",
        )
    return [by_name[name] for name in services]


def service_waiting_reason(service: ServiceStatus, replicas: Optional[int]) -> str:
    """Return why this service does not yet count as done, or "" when it does."""
    if replicas is not None and service.desired != replicas:
        return f"the graph asks for {count_noun(service.desired, 'replica')}, not {replicas} yet"
    if not service.is_ready:
        return service.reason or service.verdict.value
    return ""


def progress_line(status: GraphStatus, pending: Dict[str, str]) -> str:
    """Return one line for stderr: how many services are ready and what the first laggard waits for."""
    total = len(pending) if pending else 0
    if not pending:
        return f"{status.namespace}/{status.name}: every service is ready"
    first, why = next(iter(pending.items()))
    more = f" (+{total - 1} more)" if total > 1 else ""
    return f"waiting for {status.namespace}/{status.name}: {first}: {why}{more}"


def wait_for_graph(
    cluster,
    namespace: str,
    name: str,
    *,
    services: Optional[Dict[str, Optional[int]]] = None,
    timeout: float,
    on_progress: Callable[[str], None],
) -> GraphStatus:
    """Return the graph's status as soon as every selected service is ready.

    ``services`` maps service names to the replica count they must reach (None:
    any count); without it every service of the graph is waited for.
    ``on_progress`` receives a line whenever what is being waited for changes.
    Raises TimeoutExpired (naming the services not ready and why) when
    ``timeout`` seconds pass, GraphFailed when a selected service fails for
    good, and NotFoundError when the graph or a named service does not exist.
    """
    deadline = time.monotonic() + timeout
    last_line = ""
    status: Optional[GraphStatus] = None
    pending: Dict[str, str] = {}
    with GraphWatch(cluster, namespace, name, events=False) as watch:
        for status in watch.statuses(deadline):
            selected = _selected(status, services)
            pending = {}
            for service in selected:
                why = service_waiting_reason(service, (services or {}).get(service.name))
                if why:
                    pending[service.name] = why
            if not pending:
                return status
            failed = [s for s in selected if s.failed_for_good and s.name in pending]
            if failed or (status.failed_for_good and status.ready_reason == "ValidationFailed"):
                detail = "; ".join(f"{s.name}: {s.reason}" for s in failed) or status.reason
                raise GraphFailed(
                    f"graph {namespace}/{name} cannot become ready: {detail}", status,
                    hint=f"Run `kubectl dynamo status {name} -n {namespace} --events` for details.",
                )
            line = progress_line(status, pending)
            if line != last_line:
                last_line = line
                on_progress(line)
    if status is None:
        raise TimeoutExpired(f"timed out after {_seconds(timeout)} waiting for graph {namespace}/{name}: no status was read")
    detail = "; ".join(f"{svc}: {why}" for svc, why in pending.items())
    raise TimeoutExpired(
        f"timed out after {_seconds(timeout)} waiting for graph {namespace}/{name}: not ready: {detail}",
        hint=f"Run `kubectl dynamo status {name} -n {namespace} --events` to see why.",
    )


def _seconds(timeout: float) -> str:
    if timeout >= 60 and timeout % 60 == 0:
        return f"{int(timeout // 60)}m"
    return f"{timeout:g}s"
