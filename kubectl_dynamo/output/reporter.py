"""Messages for people on stderr, so that stdout carries only results."""

from __future__ import annotations

import sys
from typing import IO, Optional

from kubectl_dynamo.output.color import RED, YELLOW, paint, use_color


class Reporter:
    """Writes warnings, notes and errors to stderr with a fixed prefix per kind."""

    def __init__(self, stream: Optional[IO] = None, color: str = "auto", verbosity: int = 0) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.color = use_color(color, self.stream)
        self.verbosity = verbosity

    def _write(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def warn(self, message: str) -> None:
        self._write(paint("warning:", YELLOW, self.color) + " " + message)

    def note(self, message: str) -> None:
        self._write(message)

    def error(self, message: str) -> None:
        self._write(paint("error:", RED, self.color) + " " + message)

    def debug(self, message: str) -> None:
        if self.verbosity > 0:
            self._write("debug: " + message)
