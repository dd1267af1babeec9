"""Hand the two sides to an external program, as `kubectl diff` does with ``KUBECTL_EXTERNAL_DIFF``.

Like kubectl, the variable contains a program and optional arguments separated
by spaces. Arguments made of anything but letters, digits, ``-`` and ``=`` are
dropped. The program gets two directories, ``LIVE-*`` (the live objects, or the
``--from`` version) and ``MERGED-*`` (the desired ones), each holding one YAML
file per object named ``[group.]version.Kind.namespace.name``. An object that
is created has no file in ``LIVE-*``; a deleted one has none in ``MERGED-*``.
Secret values are masked in both.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from typing import List, Tuple

from kubectl_dynamo.diff.model import ERROR, DiffReport, ObjectDiff
from kubectl_dynamo.errors import UsageError
from kubectl_dynamo.output.diff_text import object_yaml

ENV_VARIABLE = "KUBECTL_EXTERNAL_DIFF"
_VALID_ARGUMENT = re.compile(r"^[a-zA-Z0-9=-]+$")


@dataclass
class ExternalResult:
    exit_code: int
    stdout: str
    stderr: str
    dropped_arguments: List[str]


def parse_command(value: str) -> Tuple[List[str], List[str]]:
    """Split ``KUBECTL_EXTERNAL_DIFF`` into the command and the arguments kubectl would drop."""
    words = value.split(" ")
    program, arguments = words[0], words[1:]
    kept = [word for word in arguments if _VALID_ARGUMENT.match(word)]
    dropped = [word for word in arguments if word and not _VALID_ARGUMENT.match(word)]
    return [program, *kept], dropped


def file_name(entry: ObjectDiff) -> str:
    """Return kubectl's file name for an object: ``[group.]version.Kind.namespace.name``."""
    group, _, version = entry.api_version.rpartition("/")
    prefix = f"{group}." if group else ""
    return f"{prefix}{version}.{entry.kind}.{entry.namespace}.{entry.name}"


def run_external(report: DiffReport, command_text: str) -> ExternalResult:
    """Write both sides into temporary directories, run the program on them, and remove them."""
    command, dropped = parse_command(command_text)
    if not command[0]:
        raise UsageError(f"{ENV_VARIABLE} is set but names no program")
    live_dir = tempfile.mkdtemp(prefix="LIVE-")
    merged_dir = tempfile.mkdtemp(prefix="MERGED-")
    try:
        for entry in report.objects:
            if entry.action == ERROR or entry.comparison is None:
                continue
            name = file_name(entry)
            if entry.comparison.old is not None:
                _write(os.path.join(live_dir, name), object_yaml(entry.comparison.old))
            if entry.comparison.new is not None:
                _write(os.path.join(merged_dir, name), object_yaml(entry.comparison.new))
        try:
            process = subprocess.run([*command, live_dir, merged_dir], capture_output=True, text=True, check=False)
        except OSError as exc:
            raise UsageError(f"cannot run {ENV_VARIABLE} program {command[0]!r}: {exc.strerror}",
                             hint=f"Set {ENV_VARIABLE} to a program on PATH, e.g. 'diff -u -N'.") from exc
    finally:
        shutil.rmtree(live_dir, ignore_errors=True)
        shutil.rmtree(merged_dir, ignore_errors=True)
    return ExternalResult(process.returncode, process.stdout, process.stderr, dropped)


def _write(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
