"""The scale request: ``SERVICE=N`` pairs, checked and matched to a graph's services (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence, Tuple

from kubectl_dynamo.errors import NotFoundError, UsageError

#: Kubernetes stores replica counts as int32, so the API server rejects anything larger.
MAX_REPLICAS = 2**31 - 1


@dataclass(frozen=True)
class ScaleRequest:
    """One invocation of ``scale``: the graph, the requested counts and the options."""

    name: str
    namespace: Optional[str]
    #: (service as typed, replicas) in the order given.
    targets: Tuple[Tuple[str, int], ...]
    current_replicas: Optional[int] = None
    force: bool = False
    #: None, "client" (print the requests) or "server" (send them with dryRun=All).
    dry_run: Optional[str] = None
    wait: bool = False
    timeout: float = 300.0
    git_file: Optional[str] = None
    commit: bool = False
    also_live: bool = False
    #: With git_file: write even when a kustomization that includes the file overrides the count.
    ignore_overlays: bool = False

    @property
    def writes_live(self) -> bool:
        return self.git_file is None or self.also_live


def parse_replicas(text: str, service: str) -> int:
    """Return ``text`` as a replica count: an integer from 0 to ``MAX_REPLICAS``, else raise UsageError."""
    value = text.strip()
    try:
        count = int(value, 10)
    except ValueError:
        raise UsageError(
            f"invalid replica count {text!r} for service {service!r}: expected an integer >= 0",
            hint=f"Write it as {service}=3.",
        ) from None
    if count < 0:
        raise UsageError(f"invalid replica count {count} for service {service!r}: replicas must be >= 0")
    if count > MAX_REPLICAS:
        raise UsageError(
            f"invalid replica count {count} for service {service!r}: the maximum is {MAX_REPLICAS}, "
            f"because Kubernetes stores replicas as a 32-bit integer",
        )
    return count


def parse_targets(assignments: Sequence[str], service: Optional[str], replicas: Optional[str]) -> Tuple[Tuple[str, int], ...]:
    """Return (service, replicas) pairs from ``SERVICE=N`` arguments or ``--service``/``--replicas``.

    The two forms may be combined. A service given twice must have the same count.
    """
    pairs: List[Tuple[str, int]] = []
    for text in assignments:
        name, sep, count = text.partition("=")
        if not sep or not name.strip():
            raise UsageError(
                f"invalid argument {text!r}: expected SERVICE=REPLICAS",
                hint="Example: kubectl dynamo scale llm-agg VllmWorker=3",
            )
        pairs.append((name.strip(), parse_replicas(count, name.strip())))
    if (service is None) != (replicas is None):
        missing = "--replicas" if replicas is None else "--service"
        raise UsageError(f"--service and --replicas go together: {missing} is missing")
    if service is not None and replicas is not None:
        pairs.append((service, parse_replicas(replicas, service)))
    if not pairs:
        raise UsageError(
            "no service to scale: give SERVICE=REPLICAS or --service S --replicas N",
            hint="Example: kubectl dynamo scale llm-agg VllmWorker=3",
        )
    return tuple(pairs)


def resolve_service(requested: str, services: Iterable[str], graph: str, where: str = "") -> str:
    """Return the graph's service key that ``requested`` names.

    An exact match wins; otherwise the name matches case-insensitively if exactly
    one service matches. ``where`` names the source of the graph in messages.
    """
    names = sorted(services)
    if requested in names:
        return requested
    folded = [name for name in names if name.lower() == requested.lower()]
    if len(folded) == 1:
        return folded[0]
    place = f" in {where}" if where else ""
    if len(folded) > 1:
        raise UsageError(
            f"service name {requested!r} is ambiguous in graph {graph}{place}: it matches {', '.join(folded)}",
            hint="Write the service name with its exact case.",
        )
    valid = ", ".join(names) if names else "(none)"
    raise NotFoundError(
        f"graph {graph}{place} has no service {requested!r}; its services are: {valid}",
        status=404,
        reason="NotFound",
    )


def resolve_targets(targets: Sequence[Tuple[str, int]], services: Iterable[str], graph: str, where: str = "") -> dict:
    """Return {service key: replicas}; raise UsageError when one service gets two different counts."""
    names = list(services)
    counts: dict = {}
    for requested, replicas in targets:
        key = resolve_service(requested, names, graph, where)
        if key in counts and counts[key] != replicas:
            raise UsageError(f"service {key} is given two replica counts: {counts[key]} and {replicas}")
        counts[key] = replicas
    return counts
