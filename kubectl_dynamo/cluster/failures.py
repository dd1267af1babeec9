"""Turn API error responses and transport failures into the product's error types.

Every message is one line that names what was requested (verb, resource, object,
namespace) and what went wrong; ``hint`` carries the next step. Exit codes come
from the error type: 4 for ``NotFoundError``, 3 for every other ``ClusterError``.
"""

from __future__ import annotations

import json
import socket
import ssl
from dataclasses import dataclass
from typing import Any, Dict, Optional

from kubectl_dynamo.api.kinds import ResourceKind
from kubectl_dynamo.errors import ClusterError, ConflictError, NotFoundError


@dataclass(frozen=True)
class Operation:
    """The verb and target of a request, in the words error messages use."""

    verb: str  # get, list, watch, create, update, patch, delete, proxy
    kind: Optional[ResourceKind] = None
    name: str = ""
    namespace: Optional[str] = None  # None: cluster-scoped or all namespaces
    subresource: str = ""
    detail: str = ""  # for the service proxy: the path requested behind the service

    @property
    def resource(self) -> str:
        if self.kind is None:
            return "resource"
        return self.kind.resource + (f"/{self.subresource}" if self.subresource else "")

    def target(self) -> str:
        """Return e.g. ``deployments.apps "web" in namespace "dynamo"``."""
        text = self.resource
        if self.name:
            text += f' "{self.name}"'
        if self.namespace:
            text += f' in namespace "{self.namespace}"'
        elif self.kind is not None and self.kind.namespaced and not self.name:
            text += " in all namespaces"
        return text


def parse_status(body: bytes) -> Dict[str, Any]:
    """Return the Kubernetes ``Status`` in an error body, or {} when the body is not one."""
    try:
        data = json.loads(body.decode("utf-8", errors="replace")) if body else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) and data.get("kind") == "Status" else {}


def _plain(body: bytes) -> str:
    text = body.decode("utf-8", errors="replace").strip().splitlines()
    return text[0][:200] if text else ""


def from_response(status: int, body: bytes, op: Operation, *, context: str = "") -> ClusterError:
    """Map an HTTP error response of the API server to a product error."""
    parsed = parse_status(body)
    server_message = parsed.get("message") or _plain(body)
    reason = parsed.get("reason") or ""
    details = parsed.get("details") or {}
    said = f"The API server said: {server_message}" if server_message else None

    if status == 401:
        where = f' of context "{context}"' if context else ""
        return ClusterError(
            f"the API server rejected the credentials{where} (401 Unauthorized)",
            status=status, reason=reason or "Unauthorized",
            hint="Log in again or refresh the token, certificate or exec plugin of that user in your kubeconfig.",
        )
    if status == 403:
        namespace = ""
        if op.namespace:
            namespace = f' in namespace "{op.namespace}"'
        elif op.kind is not None and op.kind.namespaced:
            namespace = " in all namespaces"
        name = f' "{op.name}"' if op.name else ""
        return ClusterError(
            f"forbidden: RBAC does not allow you to {op.verb} {op.resource}{name}{namespace}",
            status=status, reason=reason or "Forbidden", hint=said,
        )
    if status == 404:
        return _not_found(op, server_message, details, reason)
    if status == 409:
        if reason == "AlreadyExists":
            return ConflictError(f"{op.target()} already exists", status=status, reason=reason, hint=said)
        return ConflictError(
            f"{op.target()} was changed by someone else during {op.verb}; nothing was written",
            status=status, reason=reason or "Conflict", hint="Run the command again to use the latest version.",
        )
    if status == 410:
        return ClusterError(
            f"the {op.verb} of {op.resource} expired: {server_message or 'resource version too old'} (410 Gone)",
            status=status, reason=reason or "Expired", hint="List again and watch from the new resourceVersion.",
        )
    if status == 422:
        causes = details.get("causes") or []
        listed = "; ".join(
            f"{c.get('field')}: {c.get('message')}" if c.get("field") else str(c.get("message")) for c in causes
        ) or server_message
        return ClusterError(
            f"the API server rejected {op.verb} of {op.target()} as invalid: {listed}",
            status=status, reason=reason or "Invalid",
        )
    if status == 429:
        return ClusterError(
            f"the API server is overloaded and kept rejecting {op.verb} of {op.target()} (429 Too Many Requests)",
            status=status, reason=reason or "TooManyRequests", hint="Wait a moment and run the command again.",
        )
    if status >= 500:
        return ClusterError(
            f"the API server failed to {op.verb} {op.target()}: {server_message or 'no details'} ({status} {reason or 'server error'})",
            status=status, reason=reason,
        )
    # 400, 405, 406, 415 and other client errors: the server's message is the explanation.
    return ClusterError(
        f"the API server rejected {op.verb} of {op.target()}: {server_message or 'no details'} ({status} {reason})".rstrip(),
        status=status, reason=reason,
    )


def _not_found(op: Operation, server_message: str, details: Dict[str, Any], reason: str) -> ClusterError:
    if details.get("kind") == "namespaces" and details.get("name"):
        return NotFoundError(
            f'namespace "{details["name"]}" not found', status=404, reason=reason or "NotFound",
            hint="Check the namespace with: kubectl get namespaces",
        )
    if op.subresource == "proxy":
        if details.get("name") == op.name:
            return NotFoundError(f'service "{op.name}" not found in namespace "{op.namespace}"', status=404, reason=reason or "NotFound")
        return NotFoundError(
            f'/{op.detail.lstrip("/")} not found behind service "{op.name}" in namespace "{op.namespace}": {server_message or "404"}',
            status=404, reason=reason or "NotFound",
        )
    if op.name and (details.get("name") or reason == "NotFound") and details.get("name", op.name) == op.name:
        if op.subresource == "scale" and details == {}:
            return NotFoundError(f"{op.kind.resource if op.kind else 'resource'} has no /scale subresource", status=404, reason=reason)
        hint = "Check the name, pass -n NAMESPACE for another namespace, or use -A to search all namespaces."
        if op.namespace is None:
            hint = "Check the name."
        return NotFoundError(f"{op.target()} not found", status=404, reason=reason or "NotFound", hint=hint)
    group = op.kind.api_version if op.kind else ""
    return NotFoundError(
        f"the server does not serve {op.resource} ({group}): {server_message or 'not found'}",
        status=404, reason=reason or "NotFound",
        hint="Is the CRD installed? Check with: kubectl api-resources",
    )


def from_transport(exc: BaseException, op: Operation, host: str, timeout: Optional[float]) -> ClusterError:
    """Map a failure below HTTP (refused, DNS, TLS, timeout, dropped) to a product error."""
    chain = list(_causes(exc))
    names = {type(e).__name__ for e in chain}
    text = " ".join(str(e) for e in chain)
    if any(isinstance(e, ssl.SSLCertVerificationError) for e in chain) or "CERTIFICATE_VERIFY_FAILED" in text:
        return ClusterError(
            f"cannot verify the TLS certificate of the API server {host}: {_ssl_reason(chain)}",
            hint="Check certificate-authority(-data) for this cluster in your kubeconfig.",
        )
    if any(isinstance(e, (ssl.SSLError,)) for e in chain) or "SSLError" in names:
        return ClusterError(f"TLS handshake with the API server {host} failed: {_ssl_reason(chain)}",
                            hint="Check the certificates of this cluster and user in your kubeconfig.")
    if "NameResolutionError" in names or any(isinstance(e, socket.gaierror) for e in chain):
        return ClusterError(
            f"cannot resolve the API server host of {host}", hint="Check the server URL of the current context: kubectl config view --minify"
        )
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "Connection refused" in text:
        return ClusterError(
            f"cannot connect to the API server at {host}: connection refused",
            hint="Is the cluster running, and is this the right context? kubectl config current-context",
        )
    if names & {"ReadTimeoutError", "ConnectTimeoutError", "TimeoutError"} or any(isinstance(e, socket.timeout) for e in chain):
        limit = f" within {timeout:g}s" if timeout else ""
        return ClusterError(
            f"the API server at {host} did not respond to {op.verb} of {op.target()}{limit}",
            hint="Raise --request-timeout, or check the cluster's health.",
        )
    if names & {"ProtocolError", "IncompleteRead", "RemoteDisconnected", "ConnectionResetError", "BrokenPipeError", "InvalidChunkLength"}:
        return ClusterError(f"the connection to the API server at {host} was lost during {op.verb} of {op.target()}")
    return ClusterError(f"cannot reach the API server at {host}: {type(chain[-1]).__name__}: {chain[-1]}")


def is_dropped_connection(exc: BaseException) -> bool:
    """True for a connection that broke after it was established (safe to retry for reads)."""
    names = {type(e).__name__ for e in _causes(exc)}
    return bool(names & {"ProtocolError", "IncompleteRead", "RemoteDisconnected", "ConnectionResetError", "InvalidChunkLength"})


def _causes(exc: BaseException):
    seen = set()
    current: Optional[BaseException] = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            current = reason
        else:
            current = current.__cause__ or current.__context__


def _ssl_reason(chain) -> str:
    for error in chain:
        if isinstance(error, ssl.SSLCertVerificationError):
            return error.verify_message or str(error)
    for error in chain:
        if isinstance(error, ssl.SSLError):
            return error.reason or str(error)
    return str(chain[-1])
