"""The per-invocation state that commands share: streams, colour, connection flags."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import IO, Optional

from kubectl_dynamo.cluster.protocol import ConnectionOptions
from kubectl_dynamo.output.reporter import Reporter


@dataclass
class AppContext:
    debug: bool = False
    verbosity: int = 0
    color: str = "auto"
    stdout: IO = field(default_factory=lambda: sys.stdout)
    stderr: IO = field(default_factory=lambda: sys.stderr)
    connection: ConnectionOptions = field(default_factory=ConnectionOptions)
    _reporter: Optional[Reporter] = None

    @property
    def reporter(self) -> Reporter:
        if self._reporter is None:
            self._reporter = Reporter(self.stderr, self.color, self.verbosity)
        return self._reporter

    def connect(self):
        """Return a live ``Cluster`` for the connection flags of this invocation.

        The cluster layer is imported here, not at module level, so that offline
        commands never pay for importing the ``kubernetes`` client.
        """
        from kubectl_dynamo.cluster.kube import connect

        return connect(self.connection, trace=self.reporter.debug if self.verbosity > 0 else None)
