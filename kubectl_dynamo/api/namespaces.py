"""Namespaces from -n and from files, checked the way kubectl and the API server check them."""

from __future__ import annotations

import re
from typing import Optional

from kubectl_dynamo.api.load import Document
from kubectl_dynamo.errors import InputError, UsageError

# A namespace name is an RFC 1123 label (apimachinery's IsDNS1123Label).
_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_MAX_LENGTH = 63
_RULE = "a namespace must be a lowercase RFC 1123 label: at most 63 lowercase letters, digits or '-', starting and ending with a letter or digit"


def is_valid_namespace(value: str) -> bool:
    return len(value) <= _MAX_LENGTH and _DNS1123_LABEL.fullmatch(value) is not None


def check_namespace_flag(value: Optional[str]) -> Optional[str]:
    """Return ``value`` of -n/--namespace; raise ``UsageError`` when it is no valid namespace name."""
    if value is not None and not is_valid_namespace(value):
        raise UsageError(f"invalid -n/--namespace {value!r}: {_RULE}", hint="Check the spelling, for example with `kubectl get namespaces`.")
    return value


def document_namespace(document: Document, requested: Optional[str], default: str) -> str:
    """Return the namespace of an object read from a file, as ``kubectl apply -f`` resolves it.

    The object's own metadata.namespace wins. Like kubectl, one that contradicts
    -n is an error instead of being overridden in either direction.
    """
    own = (document.body.get("metadata") or {}).get("namespace")
    if own and not (isinstance(own, str) and is_valid_namespace(own)):
        raise InputError(f"{document.origin}: invalid metadata.namespace {own!r}: {_RULE}")
    if own and requested and own != requested:
        raise UsageError(
            f'{document.origin}: the namespace from the provided object "{own}" does not match the namespace '
            f'"{requested}"; pass --namespace={own} or remove it'
        )
    return str(own or requested or default)
