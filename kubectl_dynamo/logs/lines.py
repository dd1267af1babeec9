"""From raw log lines to output: timestamps, resuming without duplicates, filters, format.

Every request sets ``timestamps=true``, so each line arrives as
``<RFC 3339 time with nanoseconds> <message>``. The time lets a dropped stream
resume where it stopped. It is printed only with ``--timestamps``.
"""

from __future__ import annotations

import calendar
import json
import re
from typing import Callable, Optional, Pattern, Sequence, Tuple

from kubectl_dynamo.errors import UsageError
from kubectl_dynamo.logs.targets import Target
from kubectl_dynamo.output.color import paint, stable_color

_TIMESTAMP = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$")


def split_timestamp(line: str) -> Tuple[str, str]:
    """Split ``<timestamp> <message>`` into its parts; a line without a timestamp gets ""."""
    timestamp, _separator, message = line.partition(" ")
    if len(timestamp) >= 20 and timestamp[4] == "-" and timestamp[10] == "T":
        return timestamp, message
    return "", line


def timestamp_ns(text: str) -> Optional[int]:
    """Return an RFC 3339 time as nanoseconds since the epoch, or None when it does not parse."""
    match = _TIMESTAMP.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    seconds = calendar.timegm((int(year), int(month), int(day), int(hour), int(minute), int(second)))
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    nanos = int((fraction or "").ljust(9, "0")) if fraction else 0
    return seconds * 1_000_000_000 + nanos


class ResumePoint:
    """The position reached in one container's log, to reconnect without repeating lines.

    It keeps the last timestamp seen and how many lines carried exactly that
    timestamp, because several lines can share one. A reconnect asks for
    ``sinceTime=<last timestamp>``; ``admit`` then drops every line older than it
    and the first ``count`` lines at it. Servers that round ``sinceTime`` down to
    the second only send more lines to drop.
    """

    __slots__ = ("last", "count", "_resume_ns", "_resume_count", "_seen_at_resume")

    def __init__(self) -> None:
        self.last = ""
        self.count = 0
        self._resume_ns: Optional[int] = None
        self._resume_count = 0
        self._seen_at_resume = 0

    def start_resume(self) -> None:
        """Begin dropping the lines already seen, for a request sent with ``sinceTime=self.last``."""
        self._resume_ns = timestamp_ns(self.last) if self.last else None
        self._resume_count = self.count
        self._seen_at_resume = 0

    def admit(self, timestamp: str) -> bool:
        """Record a line's timestamp and return whether the line is new."""
        if self._resume_ns is not None and timestamp:
            line_ns = timestamp_ns(timestamp)
            if line_ns is not None:
                if line_ns < self._resume_ns:
                    return False
                if line_ns == self._resume_ns:
                    self._seen_at_resume += 1
                    if self._seen_at_resume <= self._resume_count:
                        return False
                else:
                    self._resume_ns = None
        if timestamp == self.last:
            self.count += 1
        elif timestamp:
            self.last = timestamp
            self.count = 1
        return True


class LineFilter:
    """``--include`` and ``--exclude``: keep a message that matches any include and no exclude."""

    def __init__(self, include: Sequence[str] = (), exclude: Sequence[str] = ()) -> None:
        self.include = [_compile("--include", p) for p in include]
        self.exclude = [_compile("--exclude", p) for p in exclude]

    @property
    def active(self) -> bool:
        return bool(self.include or self.exclude)

    def keep(self, message: str) -> bool:
        if self.include and not any(p.search(message) for p in self.include):
            return False
        return not any(p.search(message) for p in self.exclude)


def _compile(flag: str, pattern: str) -> Pattern:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise UsageError(f"invalid {flag} regular expression {pattern!r}: {exc}") from None


#: Turns a line's timestamp and message into one output line, newline included.
Formatter = Callable[[str, str], str]


class LineFormat:
    """Builds the output line of each stream: a coloured ``service/pod[/container]`` prefix or JSON."""

    def __init__(self, *, output: str = "text", color: bool = False, show_container: bool = False, timestamps: bool = False) -> None:
        self.output = output
        self.color = color
        self.show_container = show_container
        self.timestamps = timestamps

    def prefix(self, target: Target) -> str:
        text = f"{target.service}/{target.key.pod}"
        if self.show_container:
            text += f"/{target.key.container}"
        return paint(text, stable_color(target.service), self.color)

    def for_target(self, target: Target) -> Formatter:
        """Return the function that formats one line of this target's stream."""
        if self.output == "json":
            service, pod, container = target.service, target.key.pod, target.key.container

            def as_json(timestamp: str, message: str) -> str:
                record = {"service": service, "pod": pod, "container": container, "timestamp": timestamp, "message": message}
                return json.dumps(record, ensure_ascii=False) + "\n"

            return as_json

        prefix = self.prefix(target) + " "
        if self.timestamps:
            return lambda timestamp, message: f"{prefix}{timestamp} {message}\n" if timestamp else f"{prefix}{message}\n"
        return lambda _timestamp, message: prefix + message + "\n"
