"""The parsed and checked flags of one `logs` invocation."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Tuple

from kubectl_dynamo.api.times import NANOSECONDS_PER_SECOND, parse_go_duration
from kubectl_dynamo.errors import UsageError

#: Values of ``--type``: the operator's component types (consts.go, Dynamo 0.8.0).
SERVICE_TYPES = ("frontend", "worker", "prefill", "decode", "planner")
OUTPUT_FORMATS = ("text", "json")

#: The container the Dynamo operator builds for every service (MainContainerName, consts.go, Dynamo 0.8.0).
MAIN_CONTAINER = "main"
#: Lines printed per container when following without --tail, as `kubectl logs -l -f` does.
FOLLOW_DEFAULT_TAIL = 10
#: Concurrent log requests without --max-log-requests, the same default as stern.
DEFAULT_MAX_LOG_REQUESTS = 50

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")


@dataclass(frozen=True)
class LogsRequest:
    graph: str
    services: Tuple[str, ...] = ()
    types: Tuple[str, ...] = ()
    follow: bool = False
    since_seconds: Optional[int] = None
    since_time: Optional[str] = None
    #: Lines per container; None means the default (all, or 10 with --follow); -1 means all.
    tail: Optional[int] = None
    container: Optional[str] = None
    all_containers: bool = False
    previous: bool = False
    timestamps: bool = False
    include: Tuple[str, ...] = ()
    exclude: Tuple[str, ...] = ()
    max_log_requests: int = DEFAULT_MAX_LOG_REQUESTS
    output: str = "text"

    @property
    def tail_lines(self) -> Optional[int]:
        """Return the tailLines to send on a stream's first request; None means all lines."""
        if self.tail is None:
            return FOLLOW_DEFAULT_TAIL if self.follow and not self.has_since else None
        return None if self.tail < 0 else self.tail

    @property
    def has_since(self) -> bool:
        return self.since_seconds is not None or self.since_time is not None


def parse_duration(text: str) -> int:
    """Parse a Go duration such as ``5m``, ``1h30m`` or ``90s`` into whole seconds (rounded up)."""
    try:
        nanoseconds = parse_go_duration(text.strip())
    except ValueError:
        raise UsageError(
            f"invalid --since value {text!r}: expected a duration such as 30s, 5m or 1h30m",
        ) from None
    if nanoseconds <= 0:
        raise UsageError(f"invalid --since value {text!r}: the duration must be greater than zero")
    return -(-nanoseconds // NANOSECONDS_PER_SECOND)


def check_since_time(text: str) -> str:
    """Return ``text`` if it is an RFC 3339 time, else raise a UsageError with an example."""
    if not _RFC3339.match(text.strip()):
        raise UsageError(
            f"invalid --since-time value {text!r}: expected an RFC 3339 time such as 2026-01-02T15:04:05Z",
        )
    return text.strip()


def check_request(request: LogsRequest) -> None:
    """Reject flag combinations that cannot work, naming the flags involved."""
    if request.since_seconds is not None and request.since_time is not None:
        raise UsageError("--since and --since-time cannot be used together: choose one")
    if request.container and request.all_containers:
        raise UsageError("-c/--container and --all-containers cannot be used together: choose one")
    if request.previous and request.follow:
        raise UsageError(
            "--previous cannot be combined with --follow: the log of a terminated container does not grow",
            hint="Drop -f to print the previous containers' logs, or drop -p to follow the running ones.",
        )
    if request.max_log_requests < 1:
        raise UsageError(f"invalid --max-log-requests value {request.max_log_requests}: it must be at least 1")
    if request.tail is not None and request.tail < -1:
        raise UsageError(f"invalid --tail value {request.tail}: use a count of lines, or -1 for all lines")
    for flag, value in [("--type", t) for t in request.types]:
        if value not in SERVICE_TYPES:
            raise UsageError(f"invalid {flag} value {value!r}: choose from {', '.join(SERVICE_TYPES)}")
    if request.output not in OUTPUT_FORMATS:
        raise UsageError(f"invalid -o value {request.output!r}: choose from {', '.join(OUTPUT_FORMATS)}")
