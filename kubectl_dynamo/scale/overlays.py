"""Checking a ``--git-file`` edit against the kustomizations that include the file.

A patch in a ``kustomization.yaml`` overrides the count written in the graph's
file, so an edit of the file alone can change nothing in what Flux applies. Before
anything is written, each kustomization that includes the file (in its directory
or a parent directory up to the repository root) is built with ``kubectl
kustomize`` on the edited content, and the built replicas are compared with the
written ones.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Set

import yaml

from kubectl_dynamo.errors import InputError, UsageError
from kubectl_dynamo.flux.build import _kustomization_file as kustomization_file, kubectl_binary, run_kustomize
from kubectl_dynamo.scale.gitfile import DGD_KIND, FileEdit


@dataclass
class Override:
    """A service whose built count differs from the count written to the file."""

    directory: str
    service: str
    written: int
    built: int


def repository_root(path: Path) -> Optional[Path]:
    """Return the nearest directory above ``path`` that contains ``.git``, or None."""
    for directory in path.parents:
        if (directory / ".git").exists():
            return directory
    return None


def _entries(kustomization: Path) -> List[str]:
    try:
        data = yaml.safe_load(kustomization.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"invalid kustomization {_shown(kustomization)}: {first}") from None
    if not isinstance(data, dict):
        return []
    entries: List[str] = []
    for key in ("resources", "bases"):
        value = data.get(key) or []
        if isinstance(value, list):
            entries += [item for item in value if isinstance(item, str)]
    return entries


def _includes(directory: Path, target: Path, seen: Set[Path]) -> bool:
    """Return whether the kustomization in ``directory`` includes ``target``, directly or through its resources."""
    if directory in seen:
        return False
    seen.add(directory)
    kustomization = kustomization_file(directory)
    if kustomization is None:
        return False
    for entry in _entries(kustomization):
        if "://" in entry or entry.startswith(("github.com/", "git@")):
            continue
        resolved = (directory / entry).resolve()
        if resolved == target:
            return True
        if resolved.is_dir() and _includes(resolved, target, seen):
            return True
    return False


def including_kustomizations(path: str, warn: Callable[[str], None]) -> List[Path]:
    """Return the directories, innermost first, whose kustomization includes ``path``.

    Only the file's own directory is searched when it is not inside a Git repository.
    NOTE: overlays in sibling directories (``overlays/prod`` listing ``../../base``) are not found.
    A kustomization that cannot be read is reported through ``warn`` and skipped.
    """
    target = Path(path).resolve()
    top = repository_root(target) or target.parent
    found = []
    directory = target.parent
    while True:
        if kustomization_file(directory) is not None:
            try:
                if _includes(directory, target, set()):
                    found.append(directory)
            except InputError as exc:
                warn(f"{exc}; not checking whether the kustomization at {_shown(directory)} overrides the replicas")
        if directory == top or directory.parent == directory:
            return found
        directory = directory.parent


def _mirror(top: Path, edited: Path, text: str, into: Path) -> None:
    """Fill ``into`` with symbolic links to the files under ``top``, and the edited text in place of ``edited``."""
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = [name for name in dirnames if name != ".git"]
        source = Path(dirpath)
        target = into / source.relative_to(top)
        target.mkdir(parents=True, exist_ok=True)
        for name in filenames:
            if source / name != edited:
                os.symlink(source / name, target / name)
    with open(into / edited.relative_to(top), "w", encoding="utf-8", newline="") as handle:
        handle.write(text)


def _built_replicas(objects: List[dict], edit: FileEdit) -> Optional[Dict[str, object]]:
    graphs = [o for o in objects if o.get("kind") == DGD_KIND and (o.get("metadata") or {}).get("name") == edit.graph]
    if len(graphs) > 1 and edit.namespace:
        graphs = [o for o in graphs if (o.get("metadata") or {}).get("namespace") == edit.namespace] or graphs
    if not graphs:
        return None
    services = (graphs[0].get("spec") or {}).get("services") or {}
    return {name: (spec or {}).get("replicas") for name, spec in services.items() if isinstance(spec, dict)}


def find_overrides(edit: FileEdit, warn: Callable[[str], None], *, kubectl: Optional[str] = None) -> List[Override]:
    """Build each kustomization that includes ``edit.path`` with the edited text; return the counts it overrides.

    A failed build or a build without the graph is reported through ``warn``;
    the check then goes on with the next kustomization. Values that are not
    integers (such as Flux ``${var}`` placeholders, substituted after the build)
    are not compared.
    """
    directories = including_kustomizations(edit.path, warn)
    if not directories:
        return []
    edited = Path(edit.path).resolve()
    top = repository_root(edited) or edited.parent
    scratch = Path(tempfile.mkdtemp(prefix="kubectl-dynamo-scale-"))
    try:
        _mirror(top, edited, edit.updated, scratch)
        for directory in directories:
            try:
                objects = run_kustomize(scratch / directory.relative_to(top), f"the kustomization at {_shown(directory)}",
                                        kubectl or kubectl_binary())
            except InputError as exc:
                warn(f"{_first_error_line(str(exc), scratch, top)}; not checking whether it overrides the replicas")
                continue
            built = _built_replicas(objects, edit)
            if built is None:
                warn(f"the kustomization at {_shown(directory)} builds no DynamoGraphDeployment named {edit.graph} "
                     f"(a namePrefix or nameSuffix?); not checking whether it overrides the replicas")
                continue
            overrides = []
            for change in edit.changes:
                value = built.get(change.service)
                if isinstance(value, int) and not isinstance(value, bool) and value != change.desired:
                    overrides.append(Override(str(directory), change.service, change.desired, value))
            if overrides:
                return overrides
        return []
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def check_overlays(edit: FileEdit, warn: Callable[[str], None], *, ignore: bool = False,
                   kubectl: Optional[str] = None) -> None:
    """Raise UsageError when a kustomization that includes the file sets other counts than the edit.

    With ``ignore``, the overrides are reported through ``warn`` instead.
    """
    overrides = find_overrides(edit, warn, kubectl=kubectl)
    if not overrides:
        return
    directory = _shown(overrides[0].directory)
    sets = ", ".join(f"{o.service} to {o.built}" for o in overrides)
    wrote = ", ".join(f"{o.service}={o.written}" for o in overrides)
    if ignore:
        warn(f"the kustomization at {directory} sets {sets} after the edit (a patch or overlay overrides "
             f"{edit.path}); writing {wrote} anyway because of --ignore-overlays")
        return
    raise UsageError(
        f"the kustomization at {directory} sets {sets} after the edit (a patch or overlay overrides {edit.path}), "
        f"so writing {wrote} to the file would change nothing that Flux applies; nothing was written",
        hint="Change the count in the kustomization's patch instead, or pass --ignore-overlays to edit the file anyway.",
    )


def _shown(directory: object) -> str:
    """Return ``directory`` relative to the working directory when it is below it, else as it is."""
    relative = os.path.relpath(str(directory))
    return relative if relative != "." and not relative.startswith("..") else str(directory)


# kubectl 1.32 prints a one-line kustomize error as a klog line: E1204 12:00:00.000 1 run.go:72] "command failed" err="..."
_KLOG = re.compile(r'[EWI]\d{4} [0-9:.]+\s+\d+ \S+\] "command failed" err="(?P<err>.*)"$')


def _first_error_line(message: str, scratch: Path, top: Path) -> str:
    """Return the first line of a build error, without the klog prefix and with the user's paths."""
    # kubectl names the scratch copy; show the user's paths instead.
    message = message.replace(str(scratch), str(top)).strip()
    line = message.splitlines()[0] if message else "kubectl kustomize failed"
    return _KLOG.sub(lambda match: match.group("err").replace('\\"', '"'), line)
