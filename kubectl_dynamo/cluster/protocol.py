"""The interface between commands and the API server.

Objects travel as plain dicts in their JSON form, exactly as the API server
returns them, except that list and watch items always carry ``kind`` and
``apiVersion`` (the server leaves them out of built-in list items). Every method raises ``kubectl_dynamo.errors.ClusterError`` (or its
subclasses ``NotFoundError`` and ``ConflictError``) and never a client exception.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Protocol

from kubectl_dynamo.api.kinds import ResourceKind

Object = Dict[str, Any]


@dataclass(frozen=True)
class ConnectionOptions:
    """kubectl's global flags as the user gave them; None means "not given"."""

    kubeconfig: Optional[str] = None
    context: Optional[str] = None
    namespace: Optional[str] = None
    # Seconds; None or 0 means no client-side timeout, as in kubectl.
    request_timeout: Optional[float] = None


@dataclass
class ObjectList:
    items: List[Object]
    resource_version: str = ""


@dataclass(frozen=True)
class WatchEvent:
    type: str  # ADDED, MODIFIED, DELETED, BOOKMARK
    object: Object


@dataclass(frozen=True)
class LogOptions:
    container: Optional[str] = None
    follow: bool = False
    previous: bool = False
    timestamps: bool = False
    tail_lines: Optional[int] = None
    since_seconds: Optional[int] = None
    since_time: Optional[str] = None  # RFC 3339


@dataclass
class RequestStats:
    """Counts of the requests a Cluster made, for benchmarks and --debug."""

    by_verb: Dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.by_verb.values())


class Cluster(Protocol):
    #: The namespace resolved like kubectl: -n, else the context's, else "default".
    namespace: str
    #: The kubeconfig context in use, or "" for in-cluster configuration.
    context_name: str

    def get(self, kind: ResourceKind, name: str, namespace: Optional[str] = None) -> Object:
        ...

    def list(
        self,
        kind: ResourceKind,
        namespace: Optional[str] = None,
        *,
        all_namespaces: bool = False,
        label_selector: Optional[str] = None,
        field_selector: Optional[str] = None,
    ) -> ObjectList:
        ...

    def watch(
        self,
        kind: ResourceKind,
        namespace: Optional[str] = None,
        *,
        all_namespaces: bool = False,
        label_selector: Optional[str] = None,
        field_selector: Optional[str] = None,
        resource_version: Optional[str] = None,
        timeout_seconds: Optional[int] = None,
    ) -> Iterator[WatchEvent]:
        """Yield events until the server closes the stream or the timeout passes.

        A 410 Gone (expired resourceVersion) raises ``ClusterError`` with
        status 410 so that the caller can list again and restart the watch.
        """
        ...

    def create(self, kind: ResourceKind, body: Object, namespace: Optional[str] = None, *, dry_run: bool = False) -> Object:
        ...

    def replace(self, kind: ResourceKind, body: Object, namespace: Optional[str] = None, *, dry_run: bool = False) -> Object:
        """PUT the whole object; a stale ``metadata.resourceVersion`` raises ``ConflictError``."""
        ...

    def delete(self, kind: ResourceKind, name: str, namespace: Optional[str] = None, *, dry_run: bool = False) -> Object:
        ...

    def patch(
        self,
        kind: ResourceKind,
        name: str,
        patch: Any,
        *,
        patch_type: str = "merge",  # "merge", "json", "strategic" (built-in kinds) or "apply"
        namespace: Optional[str] = None,
        subresource: Optional[str] = None,
        dry_run: bool = False,
        field_manager: str = "kubectl-dynamo",
        force: bool = False,
    ) -> Object:
        """Send a merge patch (a dict), a JSON patch (a list of operations), a strategic
        merge patch or a server-side apply (``force`` takes over conflicting fields)."""
        ...

    def get_scale(self, kind: ResourceKind, name: str, namespace: Optional[str] = None) -> Object:
        """Return the ``autoscaling/v1`` Scale of an object with a /scale subresource."""
        ...

    def set_scale(self, kind: ResourceKind, name: str, replicas: int, namespace: Optional[str] = None) -> Object:
        ...

    def stream_logs(self, pod: str, options: LogOptions, namespace: Optional[str] = None) -> Iterator[str]:
        """Yield log lines (without the trailing newline) as the server sends them.

        The response is streamed, never read whole; closing the iterator closes
        the connection.
        """
        ...

    def events_for(self, kind: ResourceKind, name: str, namespace: Optional[str] = None) -> List[Object]:
        """Return the events whose involvedObject is this object, oldest first."""
        ...

    def proxy_get(self, service: str, path: str, *, port: Optional[str] = None, namespace: Optional[str] = None) -> Iterator[bytes]:
        """Stream a GET through the API server's service proxy, in chunks."""
        ...

    def api_groups(self) -> List[str]:
        """Return the API group names the server serves (``kubectl api-versions`` without versions)."""
        ...

    @property
    def stats(self) -> RequestStats:
        ...
