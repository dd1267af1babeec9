"""Exit codes and the product's error types.

This module is the only table of exit codes. Commands raise the errors below;
only the top-level entry point (``kubectl_dynamo.cli.main``) turns them into exit
codes, so a library caller gets exceptions, never ``sys.exit``.
"""

from __future__ import annotations

import enum
from typing import Optional, Sequence


class ExitCode(enum.IntEnum):
    OK = 0
    # Differences, drift or a graph that is not ready, like `kubectl diff` exit 1.
    DIFFERS = 1
    USAGE = 2
    CLUSTER = 3
    NOT_FOUND = 4
    # A bug in kubectl-dynamo itself (sysexits.h EX_SOFTWARE); above 1, so that
    # `diff` and `drift` callers never read a crash as "differences found".
    INTERNAL = 70
    INTERRUPTED = 130
    # Killed by a closed pipe (`| head`), as a Go program such as kubectl is: 128 + SIGPIPE.
    BROKEN_PIPE = 141


class DynamoError(Exception):
    """Base of every error the product reports to the user.

    ``str(error)`` is the one-line message printed after ``error: ``; ``hint`` is an
    optional next step printed on its own line.
    """

    exit_code = ExitCode.USAGE

    def __init__(self, message: str, *, hint: Optional[str] = None) -> None:
        super().__init__(message)
        self.hint = hint


class UsageError(DynamoError):
    """Invalid flags or arguments that click could not catch by itself."""

    exit_code = ExitCode.USAGE


class InputError(DynamoError):
    """Unreadable or invalid input files (YAML syntax, schema, operator checks)."""

    exit_code = ExitCode.USAGE


class ValidationError(InputError):
    """One or more schema or operator-rule violations in a DGD document.

    ``problems`` contains one line per violation, each naming the file, the document,
    the field path and the fix, so that several problems are reported together.
    """

    def __init__(self, problems: Sequence[str], *, hint: Optional[str] = None) -> None:
        count = len(problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"{count} {noun} found:\n  " + "\n  ".join(problems), hint=hint)
        self.problems = list(problems)


class ClusterError(DynamoError):
    """The API server could not be reached or responded with an error.

    ``status`` is the HTTP status when there was a response (0 for transport
    failures); ``reason`` is the Kubernetes Status reason, e.g. ``Forbidden``.
    """

    exit_code = ExitCode.CLUSTER

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        reason: str = "",
        hint: Optional[str] = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.reason = reason


class ConflictError(ClusterError):
    """A write lost an optimistic-concurrency race (HTTP 409)."""


class NotFoundError(ClusterError):
    """A named object does not exist (HTTP 404, or absent from a list)."""

    exit_code = ExitCode.NOT_FOUND


class TimeoutExpired(DynamoError):
    """A ``--wait`` or ``--timeout`` deadline passed before the condition held."""

    exit_code = ExitCode.DIFFERS
