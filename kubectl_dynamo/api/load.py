"""Read Kubernetes YAML from files, directories and stdin, keeping where each
document came from so that errors can name the file and the document."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any, Dict, Iterable, Iterator, List, Optional

import yaml

from kubectl_dynamo.errors import InputError

try:  # the C loader is several times faster; PyYAML without libyaml lacks it
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

YAML_SUFFIXES = (".yaml", ".yml", ".json")
STDIN = "-"


@dataclass
class Document:
    """One YAML document and its origin: ``path`` (``-`` for stdin) and 1-based ``index``."""

    body: Dict[str, Any]
    path: str
    index: int

    @property
    def origin(self) -> str:
        return f"{display_path(self.path)} (document {self.index})"

    @property
    def kind(self) -> str:
        return str(self.body.get("kind", ""))

    @property
    def api_version(self) -> str:
        return str(self.body.get("apiVersion", ""))

    @property
    def name(self) -> str:
        return str((self.body.get("metadata") or {}).get("name", ""))


def display_path(path: str) -> str:
    """Return the name messages use for a path: ``<stdin>`` for ``-``."""
    return "<stdin>" if path == STDIN else path


def expand_paths(paths: Iterable[str]) -> List[str]:
    """Expand directories recursively into their YAML files, in sorted order, like `kubectl -f DIR -R`."""
    result: List[str] = []
    for path in paths:
        if path == STDIN:
            result.append(path)
        elif os.path.isdir(path):
            found = []
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                found.extend(os.path.join(root, f) for f in files if f.endswith(YAML_SUFFIXES))
            if not found:
                raise InputError(f"directory {path!r} contains no .yaml, .yml or .json files")
            result.extend(sorted(found))
        elif os.path.exists(path):
            result.append(path)
        else:
            raise InputError(f"file {path!r} not found", hint="Check the path given to -f.")
    return result


def read_text(path: str) -> str:
    if path == STDIN:
        return sys.stdin.read()
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise InputError(f"{path}: failed to read: {exc.strerror}") from exc


def parse_documents(text: str, path: str) -> Iterator[Document]:
    """Yield each non-empty document of a YAML stream; a ``kind: List`` yields its items."""
    try:
        raw_documents = list(yaml.load_all(text, Loader=_Loader))
    except yaml.YAMLError as exc:
        raise InputError(f"{display_path(path)}: invalid YAML: {_describe_yaml_error(exc)}", hint="Fix the YAML syntax and try again.") from exc

    for index, body in enumerate(raw_documents, start=1):
        if body is None:
            continue
        if not isinstance(body, dict):
            raise InputError(f"{display_path(path)} (document {index}): expected a mapping with apiVersion and kind, found {type(body).__name__}")
        if body.get("kind") == "List" or (body.get("kind", "").endswith("List") and isinstance(body.get("items"), list)):
            for item in body.get("items") or []:
                if isinstance(item, dict):
                    yield Document(item, path, index)
            continue
        yield Document(body, path, index)


def load_documents(paths: Iterable[str]) -> List[Document]:
    """Read every document from files, directories (recursive) and ``-`` (stdin)."""
    documents: List[Document] = []
    for path in expand_paths(paths):
        documents.extend(parse_documents(read_text(path), path))
    return documents


def _describe_yaml_error(exc: yaml.YAMLError) -> str:
    mark: Optional[Any] = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is not None:
        return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"
    return problem
