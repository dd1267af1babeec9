"""The earlier version for ``diff --from``: a file or directory, or the same paths at a git revision.

A git revision is read with the real ``git show REV:./path`` in the directory of
each ``-f`` path, so any revision git understands works (``HEAD~1``,
``origin/main``, a tag, a commit id). A path missing at that revision counts as
empty: its graphs show as created.
"""

from __future__ import annotations

import os
import subprocess
from typing import List, Sequence

from kubectl_dynamo.api.load import STDIN, YAML_SUFFIXES, Document, load_documents, parse_documents
from kubectl_dynamo.errors import InputError, UsageError


def load_from(reference: str, paths: Sequence[str]) -> List[Document]:
    """Return the documents of the earlier version: ``reference`` is a path, else a git revision."""
    if os.path.exists(reference):
        return load_documents([reference])
    if STDIN in paths:
        raise UsageError("--from with a git revision needs -f paths inside a git work tree, not stdin")
    documents: List[Document] = []
    for path in paths:
        documents.extend(_documents_at_revision(reference, path))
    return documents


def _documents_at_revision(revision: str, path: str) -> List[Document]:
    absolute = os.path.abspath(path)
    directory = absolute if os.path.isdir(absolute) else os.path.dirname(absolute)
    if not os.path.isdir(directory):
        # git runs in this directory, so it must exist even when the file is new.
        raise InputError(
            f"-f {path}: directory {os.path.dirname(path) or '.'!r} not found",
            hint="Check the -f path: with a git revision in --from, -f names the file as it is in the work tree now.",
        )
    _git(["rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"], directory, revision=revision)
    if os.path.isdir(absolute):
        listing = _git(["ls-tree", "-r", "--name-only", revision, "--", "."], directory, revision=revision)
        names = sorted(name for name in listing.splitlines() if name.endswith(YAML_SUFFIXES) and not _hidden(name))
        documents: List[Document] = []
        for name in names:
            text = _git(["show", f"{revision}:./{name}"], directory, revision=revision)
            documents.extend(parse_documents(text, f"{revision}:{os.path.join(path, name)}"))
        return documents
    name = os.path.basename(absolute)
    if not _exists_at(revision, name, directory):
        return []
    text = _git(["show", f"{revision}:./{name}"], directory, revision=revision)
    return list(parse_documents(text, f"{revision}:{path}"))


def _hidden(name: str) -> bool:
    return any(part.startswith(".") for part in name.split("/")[:-1])


def _exists_at(revision: str, name: str, directory: str) -> bool:
    listing = _git(["ls-tree", "--name-only", revision, "--", name], directory, revision=revision)
    return bool(listing.strip())


def _git(args: List[str], directory: str, *, revision: str) -> str:
    try:
        process = subprocess.run(["git", *args], cwd=directory, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        if exc.filename not in (None, "git"):
            raise InputError(f"cannot run git in {exc.filename}: {exc.strerror}") from exc
        raise InputError("--from names no existing file, and git is not installed to read it as a revision") from exc
    if process.returncode != 0:
        detail = process.stderr.strip().splitlines()[-1] if process.stderr.strip() else f"git exited with {process.returncode}"
        if "not a git repository" in process.stderr:
            raise InputError(
                f"--from {revision!r} is neither an existing file nor readable as a git revision: {directory} is not in a git work tree",
                hint="Pass a file or directory to --from, or run from a git checkout.",
            )
        if args[0] == "rev-parse":
            raise InputError(f"--from {revision!r} is neither an existing file nor a git revision", hint="Check the path, or the revision with `git log`.")
        raise InputError(f"git {' '.join(args)} failed in {directory}: {detail}")
    return process.stdout

