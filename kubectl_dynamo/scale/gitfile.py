"""Changing a graph's replica counts in a local Git checkout, the GitOps way.

ruamel.yaml's round-trip loader finds where each ``replicas`` value sits. The
new number is then spliced into the original text, so comments, key order,
quoting, indentation and line endings stay byte for byte as they were. A
re-parse of the result checks that nothing but the requested numbers changed.
"""

from __future__ import annotations

import difflib
import os
import re
import subprocess
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from kubectl_dynamo.api.kinds import DGD
from kubectl_dynamo.errors import DynamoError, InputError, UsageError
from kubectl_dynamo.scale import rules
from kubectl_dynamo.scale.plan import PreconditionFailed
from kubectl_dynamo.scale.request import resolve_targets

DGD_KIND = DGD.kind
# A plain or quoted YAML integer as it appears in the file.
_NUMBER = re.compile(r"""(?P<plain>[-+]?[0-9]+)|"(?P<double>[-+]?[0-9]+)"|'(?P<single>[-+]?[0-9]+)'""")


@dataclass
class FileChange:
    service: str
    current: int
    desired: int
    #: 1-based line of the value in the file (of the inserted line when replicas was absent).
    line: int
    inserted: bool = False

    @property
    def unchanged(self) -> bool:
        return self.current == self.desired


@dataclass
class FileEdit:
    path: str
    graph: str
    namespace: str
    original: str
    updated: str
    changes: List[FileChange]
    warnings: List[str] = field(default_factory=list)

    @property
    def unchanged(self) -> bool:
        return self.original == self.updated

    def diff(self) -> str:
        """Return the change as a unified diff, as `git diff` would show it."""
        lines = difflib.unified_diff(
            self.original.splitlines(keepends=True), self.updated.splitlines(keepends=True),
            fromfile="a/" + self.path.lstrip("/"), tofile="b/" + self.path.lstrip("/"),
        )
        return "".join(lines)


@dataclass
class Commit:
    sha: str
    branch: str
    subject: str


def plan_file_edit(
    path: str,
    graph: str,
    namespace: Optional[str],
    targets: Sequence[Tuple[str, int]],
    *,
    current_replicas: Optional[int] = None,
    force: bool = False,
) -> FileEdit:
    """Return the edit that sets the requested counts in ``path``, without writing it.

    Raises ``InputError`` when the file cannot be read or parsed, contains no
    such graph, or sets replicas in a form that cannot be edited safely.
    """
    try:
        with open(path, "r", encoding="utf-8", newline="") as handle:
            text = handle.read()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None

    documents = _load_all(text, path)
    index, document = _find_graph(documents, graph, namespace, path)
    services = (document.get("spec") or {}).get("services") or {}
    counts = resolve_targets(targets, list(services), graph, where=path)

    changes: List[FileChange] = []
    splices: List[Tuple[int, int, str]] = []
    warnings: List[str] = []
    newline = "\r\n" if "\r\n" in text else "\n"
    line_starts = _line_starts(text)
    for service, desired in counts.items():
        spec = services[service]
        if not hasattr(spec, "lc"):
            raise InputError(f"{path}: spec.services.{service} is not a mapping, so its replicas cannot be set")
        change, splice = _edit_service(text, line_starts, newline, path, service, spec, desired)
        changes.append(change)
        if splice is not None:
            splices.append(splice)
        if desired == 0 and rules.is_multinode(spec) and not change.unchanged:
            if not force:
                reason = rules.zero_multinode_reason(rules.node_count(spec), rules.orchestrator(document, service))
                raise UsageError(
                    f"will not scale {service} to 0 in {path} without --force: {reason}",
                    hint="Scale it to 1, or pass --force to write 0 anyway.",
                )
            warnings.append(f"writing 0 replicas of multinode service {service} because of --force")

    if current_replicas is not None:
        wrong = [c for c in changes if c.current != current_replicas]
        if wrong:
            found = ", ".join(f"{c.service} has {c.current}" for c in wrong)
            raise PreconditionFailed(f"expected {current_replicas} current replicas in {path}, but {found}; nothing was written")

    updated = text
    for start, end, replacement in sorted(splices, reverse=True):
        updated = updated[:start] + replacement + updated[end:]
    _verify(documents, index, counts, updated, path)
    meta = document.get("metadata") or {}
    return FileEdit(path, graph, str(meta.get("namespace") or namespace or ""), text, updated, changes, warnings)


def write_file_edit(edit: FileEdit) -> None:
    """Write the edited text back, replacing the file in one rename."""
    temporary = f"{edit.path}.kubectl-dynamo-tmp"
    try:
        with open(temporary, "w", encoding="utf-8", newline="") as handle:
            handle.write(edit.updated)
        os.chmod(temporary, os.stat(edit.path).st_mode & 0o7777)
        os.replace(temporary, edit.path)
    except OSError as exc:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise InputError(f"cannot write {edit.path}: {exc.strerror or exc}") from None


# --- locating and splicing -------------------------------------------------

def _load_all(text: str, path: str) -> List[Any]:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    yaml = YAML(typ="rt")
    try:
        return list(yaml.load_all(text))
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"{path}{where}: invalid YAML: {problem}") from None


def _find_graph(documents: List[Any], graph: str, namespace: Optional[str], path: str) -> Tuple[int, Any]:
    found = []
    names = []
    for index, document in enumerate(documents):
        if not isinstance(document, dict) or document.get("kind") != DGD_KIND:
            continue
        meta = document.get("metadata") or {}
        names.append(str(meta.get("name")))
        if meta.get("name") != graph:
            continue
        if namespace and meta.get("namespace") and meta.get("namespace") != namespace:
            continue
        found.append((index, document))
    if not found:
        listed = ", ".join(names) if names else "none"
        raise InputError(
            f"{path} has no DynamoGraphDeployment named {graph}" + (f" in namespace {namespace}" if namespace else "")
            + f" (graphs in the file: {listed})",
            hint="Point --git-file at the file in your Git checkout that defines the graph.",
        )
    if len(found) > 1:
        raise InputError(f"{path} defines DynamoGraphDeployment {graph} {len(found)} times; pass -n to pick one by namespace")
    return found[0]


def _line_starts(text: str) -> List[int]:
    starts = [0]
    for match in re.finditer("\n", text):
        starts.append(match.end())
    return starts


def _edit_service(
    text: str, line_starts: List[int], newline: str, path: str, service: str, spec: Any, desired: int,
) -> Tuple[FileChange, Optional[Tuple[int, int, str]]]:
    """Return the change of one service and the splice (start, end, new text) that makes it, if any."""
    if "replicas" in spec:
        value = spec["replicas"]
        line, column = spec.lc.value("replicas")
        if isinstance(value, str) and "${" in value:
            raise InputError(
                f"{path}:{line + 1}: the replicas of {service} are the Flux variable {value}; "
                f"change the variable where the Kustomization's postBuild substitution defines it",
            )
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise InputError(f"{path}:{line + 1}: the replicas of {service} are {value!r}, not an integer")
        offset = line_starts[line] + column
        match = _NUMBER.match(text, offset)
        if match is None or int(next(g for g in match.groups() if g is not None)) != int(str(value)):
            raise InputError(
                f"{path}: cannot edit the replicas of {service} safely: the value is not written as a plain or quoted "
                f"number (a YAML anchor or alias?); edit it by hand",
            )
        group = next(name for name in ("plain", "double", "single") if match.group(name) is not None)
        start, end = match.span(group)
        current = int(str(value))
        change = FileChange(service, current, desired, line + 1)
        if current == desired:
            return change, None
        return change, (start, end, str(desired))

    # No replicas key: insert one as the service's first key, at the same indentation.
    if spec.fa.flow_style() or not spec:
        raise InputError(
            f"{path}: service {service} has no replicas and is not a block mapping; add `replicas:` by hand",
        )
    first_key = next(iter(spec))
    line, column = spec.lc.key(first_key)
    start = line_starts[line]
    if text[start:start + column].strip(" "):
        raise InputError(f"{path}:{line + 1}: cannot insert replicas for {service} here; add `replicas:` by hand")
    change = FileChange(service, 1, desired, line + 1, inserted=True)
    if desired == 1:
        # The operator already reads an absent count as 1.
        return change, None
    return change, (start, start, f"{' ' * column}replicas: {desired}{newline}")


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(key): _plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_plain(item) for item in node]
    if isinstance(node, str):
        return str(node)
    return node


def _verify(documents: List[Any], index: int, counts: Dict[str, int], updated: str, path: str) -> None:
    """Check that the edited text parses to the original documents with only the counts changed."""
    expected = [_plain(document) for document in documents]
    services = expected[index]["spec"]["services"]
    for service, desired in counts.items():
        current = services[service].get("replicas")
        if current is None and desired == 1:
            continue
        services[service]["replicas"] = desired if not isinstance(current, str) else str(desired)
    actual = [_plain(document) for document in _load_all(updated, path)]
    if actual != expected:
        raise DynamoError(f"internal error: editing {path} would change more than the replica counts; the file was not written")


# --- git -------------------------------------------------------------------

def _git(directory: str, *args: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", "-C", directory, *args], capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        raise UsageError("--commit needs the git command, which is not installed or not on PATH") from None


def check_committable(path: str) -> None:
    """Raise unless ``path`` is a tracked file without uncommitted changes in a Git work tree."""
    directory = os.path.dirname(os.path.abspath(path))
    top = _git(directory, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise UsageError(f"--commit: {path} is not inside a Git work tree", hint="Drop --commit, or use the file in your Git checkout.")
    name = os.path.basename(path)
    tracked = _git(directory, "ls-files", "--error-unmatch", "--", name)
    if tracked.returncode != 0:
        raise UsageError(f"--commit: {path} is not tracked by Git", hint=f"Commit it once with `git add {path}` first.")
    status = _git(directory, "status", "--porcelain", "--", name)
    if status.stdout.strip():
        raise UsageError(
            f"--commit: {path} has uncommitted changes, which the scale commit would include",
            hint="Commit or discard them first, so that the commit holds only the replica change.",
        )


def commit_message(edit: FileEdit) -> Tuple[str, str]:
    """Return the subject and body of the commit that records ``edit``."""
    changed = [c for c in edit.changes if not c.unchanged]
    if len(changed) == 1:
        c = changed[0]
        subject = f"Scale {edit.graph} {c.service} from {c.current} to {c.desired} replicas"
    else:
        subject = f"Scale {edit.graph}: " + ", ".join(f"{c.service} {c.current} -> {c.desired}" for c in changed)
    where = f"{edit.namespace}/{edit.graph}" if edit.namespace else edit.graph
    lines = [f"Set the replicas of DynamoGraphDeployment {where}:"]
    lines += [f"  spec.services.{c.service}.replicas: {c.current} -> {c.desired}" for c in changed]
    lines += ["", "Made with kubectl dynamo scale --git-file --commit."]
    return subject, "\n".join(lines)


def commit_file_edit(edit: FileEdit) -> Commit:
    """Commit only ``edit.path`` with a message naming the graph, services and counts."""
    directory = os.path.dirname(os.path.abspath(edit.path))
    name = os.path.basename(edit.path)
    subject, body = commit_message(edit)
    result = _git(directory, "commit", "--only", "--quiet", "-m", subject, "-m", body, "--", name)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise DynamoError(
            f"git commit failed: {detail[-1] if detail else 'exit ' + str(result.returncode)}; {edit.path} is edited but not committed",
            hint=f"Fix the problem, then commit it yourself: git -C {directory} commit -- {name}",
        )
    sha = _git(directory, "rev-parse", "--short", "HEAD").stdout.strip()
    branch = _git(directory, "rev-parse", "--abbrev-ref", "HEAD").stdout.strip()
    return Commit(sha, branch, subject)
