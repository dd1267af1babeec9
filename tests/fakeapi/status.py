"""``Status`` bodies shaped like the real API server's error responses."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from kubectl_dynamo.api.kinds import ResourceKind

REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}

DEFAULT_MESSAGES = {
    401: "Unauthorized",
    429: "the server has received too many requests and has asked us to try again later",
    500: "Internal error occurred: the fake API server was told to fail this request",
    503: "the server is currently unable to handle the request",
    504: "the server was unable to return a response in the time allotted, but may still be processing the request",
}


class ApiError(Exception):
    """An error raised inside the server; the handler sends ``status_body()`` as the response."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        reason: Optional[str] = None,
        details: Optional[Dict[str, Any]] = None,
        headers: Optional[Dict[str, str]] = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason or REASONS.get(code, "Unknown")
        self.details = details
        self.headers = headers or {}

    def status_body(self) -> Dict[str, Any]:
        return status_body(self.code, self.message, reason=self.reason, details=self.details)


def status_body(code: int, message: str, *, reason: Optional[str] = None, details: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    body: Dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason or REASONS.get(code, "Unknown"),
        "code": code,
    }
    if details:
        body["details"] = details
    return body


def _details(kind: ResourceKind, name: str, **extra: Any) -> Dict[str, Any]:
    details: Dict[str, Any] = {"name": name, "kind": kind.plural}
    if kind.group:
        details["group"] = kind.group
    details.update(extra)
    return details


def not_found(kind: ResourceKind, name: str) -> ApiError:
    return ApiError(404, f'{kind.resource} "{name}" not found', details=_details(kind, name))


def already_exists(kind: ResourceKind, name: str) -> ApiError:
    return ApiError(409, f'{kind.resource} "{name}" already exists', reason="AlreadyExists", details=_details(kind, name))


def conflict(kind: ResourceKind, name: str) -> ApiError:
    return ApiError(
        409,
        f'Operation cannot be fulfilled on {kind.resource} "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again",
        reason="Conflict",
        details=_details(kind, name),
    )


def invalid(kind: ResourceKind, name: str, causes: List[Dict[str, str]]) -> ApiError:
    """422 with one cause per problem: ``{"field": ..., "message": ..., "reason": ...}``."""
    group_kind = f"{kind.kind}.{kind.group}" if kind.group else kind.kind
    summary = ", ".join(f"{cause.get('field', '<nil>')}: {cause.get('message', '')}" for cause in causes)
    if len(causes) > 1:
        summary = f"[{summary}]"
    details = {"name": name, "kind": kind.kind, "causes": causes}
    if kind.group:
        details["group"] = kind.group
    return ApiError(422, f'{group_kind} "{name}" is invalid: {summary}', reason="Invalid", details=details)


def forbidden(kind: ResourceKind, name: str, verb: str, namespace: Optional[str], user: str, subresource: str = "") -> ApiError:
    resource = kind.plural + (f"/{subresource}" if subresource else "")
    target = f'{kind.resource} "{name}"' if name else kind.resource
    where = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
    message = f'{target} is forbidden: User "{user}" cannot {verb} resource "{resource}" in API group "{kind.group}"{where}'
    return ApiError(403, message, details=_details(kind, name) if name else {"kind": kind.plural, "group": kind.group})


def gone(message: str = "too old resource version") -> ApiError:
    return ApiError(410, message, reason="Expired")
