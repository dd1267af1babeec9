"""``Cluster`` on the official ``kubernetes`` client's configuration and connection pool.

Requests go through the pool that ``kubernetes.client.rest.RESTClientObject``
builds (TLS, client certificates, proxy) with the credentials that the client's
kubeconfig loader sets (tokens, exec plugins, auth providers). Paths come from
``api/kinds.py``, bodies are plain JSON dicts, and no generated API class or model
is imported (see ``client_import``).
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
import warnings
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple
from urllib.parse import quote, urlencode

from kubectl_dynamo import __version__
from kubectl_dynamo.api.kinds import EVENT, ResourceKind
from kubectl_dynamo.api.selectors import validate_selector
from kubectl_dynamo.cluster import client_import
from kubectl_dynamo.cluster.config import ResolvedConfig, resolve
from kubectl_dynamo.cluster.failures import Operation, from_response, from_transport, is_dropped_connection
from kubectl_dynamo.cluster.protocol import ConnectionOptions, LogOptions, Object, ObjectList, RequestStats, WatchEvent
from kubectl_dynamo.errors import ClusterError, UsageError

USER_AGENT = f"kubectl-dynamo/{__version__}"
FIELD_MANAGER = "kubectl-dynamo"

PATCH_CONTENT_TYPES = {
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "apply": "application/apply-patch+yaml",
}

# Reads are retried this many times after a 429, a 5xx or a dropped connection.
READ_RETRIES = 4
BACKOFF_START = 0.2  # seconds, doubled per retry, with jitter
BACKOFF_MAX = 5.0  # seconds; also the cap on a server's Retry-After
RETRY_STATUSES = {429, 500, 502, 503, 504}
LIST_PAGE = 500  # items per list request, kubectl's --chunk-size default
MAX_PAGES = 1000
STREAM_CHUNK = 64 * 1024


def connect(options: ConnectionOptions, *, trace: Optional[Callable[[str], None]] = None) -> "KubeCluster":
    """Resolve the kubeconfig like kubectl and return a Cluster for it.

    Nothing is sent to the server until the first call. ``trace`` receives one line
    per request (method, URL, status, milliseconds) and per retry, like kubectl -v=6.
    """
    if options.request_timeout is not None and options.request_timeout < 0:
        raise UsageError(f"invalid --request-timeout {options.request_timeout:g}: expected seconds >= 0 (0 waits forever)")
    modules = client_import.load()
    cluster = KubeCluster(resolve(options, modules), options.request_timeout, modules)
    if trace is not None:
        cluster.trace = trace
        files = ", ".join(cluster.kubeconfig_files) or "in-cluster service account"
        trace(f'context "{cluster.context_name}" ({files}), server {cluster.host}, namespace "{cluster.namespace}"')
    return cluster


class KubeCluster:
    """The ``Cluster`` implementation; thread-safe for concurrent calls (log streams)."""

    def __init__(self, resolved: ResolvedConfig, request_timeout: Optional[float], modules: Any) -> None:
        self.namespace = resolved.namespace
        self.context_name = resolved.context_name
        self.host = resolved.host
        self.kubeconfig_files = resolved.sources
        self.request_timeout = request_timeout or None
        self._configuration = resolved.configuration
        self._urllib3 = modules.urllib3
        # Retries are this class's decision: urllib3 would repeat writes and sleep on its own.
        self._configuration.retries = False
        self._configuration.connection_pool_maxsize = max(self._configuration.connection_pool_maxsize or 0, 32)
        self._pool = modules.RESTClientObject(self._configuration).pool_manager
        _quiet_urllib3(modules.urllib3)
        self._stats = RequestStats()
        self._stats_lock = threading.Lock()
        #: Replaceable in tests to observe backoff without waiting.
        self.sleep: Callable[[float], None] = time.sleep
        #: Receives a line per request and retry (``connect(trace=...)``).
        self.trace: Optional[Callable[[str], None]] = None

    # -- the Cluster interface ---------------------------------------------------------

    @property
    def stats(self) -> RequestStats:
        return self._stats

    def get(self, kind: ResourceKind, name: str, namespace: Optional[str] = None) -> Object:
        ns = self._ns(kind, namespace)
        obj = self._json("GET", kind.path(ns, name), Operation("get", kind, name, ns))
        return _with_type(obj, kind)

    def list(
        self,
        kind: ResourceKind,
        namespace: Optional[str] = None,
        *,
        all_namespaces: bool = False,
        label_selector: Optional[str] = None,
        field_selector: Optional[str] = None,
    ) -> ObjectList:
        validate_selector(label_selector)
        ns = None if all_namespaces else self._ns(kind, namespace)
        op = Operation("list", kind, "", ns)
        items: List[Object] = []
        resource_version, token = "", None
        # Pages of LIST_PAGE items, as kubectl does, keep each response small on big
        # clusters; the server may ignore the limit and return everything at once.
        for _ in range(MAX_PAGES):
            query = _query(labelSelector=label_selector, fieldSelector=field_selector, limit=LIST_PAGE, **{"continue": token})
            data = self._json("GET", kind.path(ns), op, query=query)
            items.extend(_with_type(item, kind) for item in data.get("items") or [])
            metadata = data.get("metadata") or {}
            resource_version = resource_version or metadata.get("resourceVersion", "")
            token = metadata.get("continue")
            if not token:
                return ObjectList(items, resource_version)
        raise ClusterError(f"listing {op.target()} returned more than {MAX_PAGES} pages of {LIST_PAGE}; narrow it with -l or -n")

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
        validate_selector(label_selector)
        ns = None if all_namespaces else self._ns(kind, namespace)
        op = Operation("watch", kind, "", ns)
        last_rv = resource_version
        resumes = 0
        while True:
            query = _query(
                watch="true", allowWatchBookmarks="true", labelSelector=label_selector, fieldSelector=field_selector,
                resourceVersion=last_rv, timeoutSeconds=timeout_seconds,
            )
            response = self._send("GET", kind.path(ns), op, query=query, stream=True, idempotent=True, quiet_stream=True)
            try:
                for line in _lines(response):
                    if not line.strip():
                        continue
                    event = json.loads(line)
                    event_type, obj = event.get("type", ""), event.get("object") or {}
                    if event_type == "ERROR":
                        raise from_response(int(obj.get("code") or 500), json.dumps(obj).encode(), op, context=self.context_name)
                    last_rv = (obj.get("metadata") or {}).get("resourceVersion") or last_rv
                    if event_type != "BOOKMARK":
                        yield WatchEvent(event_type, _with_type(obj, kind))
                return
            except ClusterError:
                raise
            except ValueError as exc:
                raise ClusterError(f"the API server sent an invalid watch event for {op.target()}: {exc}") from None
            except Exception as exc:
                # A watch that broke after it started resumes from the last event seen.
                if not is_dropped_connection(exc) or resumes >= READ_RETRIES or not last_rv:
                    raise from_transport(exc, op, self.host, None) from None
                resumes += 1
                self._retry("GET", kind.path(ns), f"a dropped watch, from resourceVersion {last_rv}", _backoff(resumes))
            finally:
                response.release_conn() if response.isclosed() else response.close()

    def create(self, kind: ResourceKind, body: Object, namespace: Optional[str] = None, *, dry_run: bool = False) -> Object:
        ns = self._ns(kind, namespace or (body.get("metadata") or {}).get("namespace"))
        name = (body.get("metadata") or {}).get("name", "")
        query = _query(fieldManager=FIELD_MANAGER, dryRun="All" if dry_run else None)
        return self._json("POST", kind.path(ns), Operation("create", kind, name, ns), query=query, body=body)

    def replace(self, kind: ResourceKind, body: Object, namespace: Optional[str] = None, *, dry_run: bool = False) -> Object:
        """PUT the whole object; a stale ``metadata.resourceVersion`` raises ``ConflictError``."""
        ns = self._ns(kind, namespace or (body.get("metadata") or {}).get("namespace"))
        name = body["metadata"]["name"]
        query = _query(fieldManager=FIELD_MANAGER, dryRun="All" if dry_run else None)
        return self._json("PUT", kind.path(ns, name), Operation("update", kind, name, ns), query=query, body=body)

    def patch(
        self,
        kind: ResourceKind,
        name: str,
        patch: Any,
        *,
        patch_type: str = "merge",
        namespace: Optional[str] = None,
        subresource: Optional[str] = None,
        dry_run: bool = False,
        field_manager: str = FIELD_MANAGER,
        force: bool = False,
    ) -> Object:
        """Send a patch: ``merge`` (a dict), ``json`` (a list of operations),
        ``strategic`` (built-in kinds only) or ``apply`` (server-side apply; ``force``
        takes over conflicting fields)."""
        content_type = PATCH_CONTENT_TYPES.get(patch_type)
        if content_type is None:
            raise ValueError(f"unknown patch type {patch_type!r}: use one of {', '.join(PATCH_CONTENT_TYPES)}")
        if patch_type == "json" and not isinstance(patch, list):
            raise ValueError("a JSON patch is a list of operations")
        ns = self._ns(kind, namespace)
        query = _query(
            fieldManager=field_manager, dryRun="All" if dry_run else None, force="true" if force and patch_type == "apply" else None
        )
        op = Operation("patch", kind, name, ns, subresource or "")
        return self._json("PATCH", kind.path(ns, name, subresource), op, query=query, body=patch, content_type=content_type)

    def delete(self, kind: ResourceKind, name: str, namespace: Optional[str] = None, *, dry_run: bool = False) -> Object:
        ns = self._ns(kind, namespace)
        query = _query(dryRun="All" if dry_run else None)
        return self._json("DELETE", kind.path(ns, name), Operation("delete", kind, name, ns), query=query)

    def get_scale(self, kind: ResourceKind, name: str, namespace: Optional[str] = None) -> Object:
        self._require_scale(kind)
        ns = self._ns(kind, namespace)
        return self._json("GET", kind.path(ns, name, "scale"), Operation("get", kind, name, ns, "scale"))

    def set_scale(self, kind: ResourceKind, name: str, replicas: int, namespace: Optional[str] = None) -> Object:
        self._require_scale(kind)
        ns = self._ns(kind, namespace)
        return self.patch(kind, name, {"spec": {"replicas": replicas}}, namespace=ns, subresource="scale")

    def stream_logs(self, pod: str, options: LogOptions, namespace: Optional[str] = None) -> Iterator[str]:
        from kubectl_dynamo.api.kinds import POD

        ns = self._ns(POD, namespace)
        query = _query(
            container=options.container,
            follow="true" if options.follow else None,
            previous="true" if options.previous else None,
            timestamps="true" if options.timestamps else None,
            tailLines=options.tail_lines,
            sinceSeconds=options.since_seconds,
            sinceTime=options.since_time,
        )
        op = Operation("get", POD, pod, ns, "log")
        response = self._send(
            "GET", POD.path(ns, pod, "log"), op, query=query, stream=True, idempotent=True, quiet_stream=options.follow,
        )
        return self._stream_lines(response, op)

    def events_for(self, kind: ResourceKind, name: str, namespace: Optional[str] = None) -> List[Object]:
        ns = self._ns(kind, namespace) if kind.namespaced else None
        selector = f"involvedObject.name={name},involvedObject.kind={kind.kind}"
        events = self.list(EVENT, ns, all_namespaces=ns is None, field_selector=selector).items
        return sorted(events, key=_event_time)

    def proxy_get(self, service: str, path: str, *, port: Optional[str] = None, namespace: Optional[str] = None) -> Iterator[bytes]:
        from kubectl_dynamo.api.kinds import SERVICE

        ns = self._ns(SERVICE, namespace)
        target = quote(service + (f":{port}" if port else ""), safe=":")
        url_path = f"{SERVICE.path(ns, target)}/proxy/{quote(path.lstrip('/'), safe='/')}"
        op = Operation("get", SERVICE, service, ns, "proxy", detail=path)
        response = self._send("GET", url_path, op, stream=True, idempotent=True, accept="*/*")
        return self._stream_bytes(response, op)

    def api_groups(self) -> List[str]:
        data = self._json("GET", "/apis", Operation("get"))
        return [group.get("name", "") for group in data.get("groups") or []]

    # -- helpers -------------------------------------------------------------------------

    def _ns(self, kind: ResourceKind, namespace: Optional[str]) -> Optional[str]:
        if not kind.namespaced:
            return None
        return namespace or self.namespace

    @staticmethod
    def _require_scale(kind: ResourceKind) -> None:
        if "scale" not in kind.subresources:
            raise ClusterError(f"{kind.resource} has no /scale subresource")

    def _count(self, verb: str) -> None:
        with self._stats_lock:
            self._stats.by_verb[verb] = self._stats.by_verb.get(verb, 0) + 1

    def _headers(self, accept: str, content_type: Optional[str]) -> Dict[str, str]:
        headers = {"Accept": accept, "User-Agent": USER_AGENT}
        if content_type:
            headers["Content-Type"] = content_type
        # auth_settings() runs the refresh hook, so expiring exec-plugin tokens are renewed.
        for setting in self._configuration.auth_settings().values():
            if setting.get("in") == "header" and setting.get("value"):
                headers[setting["key"]] = setting["value"]
        return headers

    def _timeout(self, stream: bool, quiet_stream: bool) -> Any:
        if not self.request_timeout:
            return self._urllib3.Timeout(connect=None, read=None)
        if quiet_stream:
            # A followed log or a watch may be quiet for long; only connecting is bounded.
            return self._urllib3.Timeout(connect=self.request_timeout, read=None)
        if stream:
            # Other streams may last longer than the timeout but must keep sending.
            return self._urllib3.Timeout(connect=self.request_timeout, read=self.request_timeout)
        return self._urllib3.Timeout(total=self.request_timeout)

    def _send(
        self,
        method: str,
        path: str,
        op: Operation,
        *,
        query: Sequence[Tuple[str, str]] = (),
        body: Any = None,
        content_type: Optional[str] = None,
        stream: bool = False,
        quiet_stream: bool = False,
        idempotent: Optional[bool] = None,
        accept: str = "application/json",
    ) -> Any:
        """Send one request; return the body of a 2xx response, or with ``stream`` the
        unread urllib3 response. ``--request-timeout`` bounds a whole request, each
        read of a stream, and only the connect of a ``quiet_stream`` (watch, follow).

        Reads (``idempotent``, GET by default) are retried on 429, 5xx and dropped
        connections with exponential backoff, honouring ``Retry-After``; writes are
        sent once.
        """
        if idempotent is None:
            idempotent = method == "GET"
        url = self.host + path + (("?" + urlencode(list(query))) if query else "")
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            content_type = content_type or "application/json"
        attempt = 0
        while True:
            attempt += 1
            self._count(op.verb)
            started = time.monotonic()
            try:
                response = self._pool.request(
                    method, url, body=data, headers=self._headers(accept, content_type),
                    timeout=self._timeout(stream, quiet_stream), preload_content=False, redirect=False,
                )
                if not stream and 200 <= response.status < 300:
                    try:
                        return response.read()
                    finally:
                        response.release_conn()
                        self._trace_request(method, url, response.status, started)
            except Exception as exc:
                self._trace_request(method, url, f"failed ({type(exc).__name__})", started)
                if idempotent and attempt <= READ_RETRIES and is_dropped_connection(exc):
                    self._retry(method, url, "a dropped connection", _backoff(attempt))
                    continue
                raise from_transport(exc, op, self.host, self.request_timeout) from None
            self._trace_request(method, url, response.status, started)
            if 200 <= response.status < 300:
                return response
            try:
                error_body = response.read()
            except Exception:
                error_body = b""
            finally:
                response.release_conn()
            if idempotent and attempt <= READ_RETRIES and response.status in RETRY_STATUSES:
                retry_after = _retry_after(response.headers.get("Retry-After"))
                self._retry(method, url, f"status {response.status}", retry_after if retry_after is not None else _backoff(attempt))
                continue
            raise from_response(response.status, error_body, op, context=self.context_name)

    def _trace_request(self, method: str, url: str, status: Any, started: float) -> None:
        if self.trace is not None:
            self.trace(f"{method} {url} {status} in {(time.monotonic() - started) * 1000:.0f} ms")

    def _retry(self, method: str, url: str, cause: str, delay: float) -> None:
        if self.trace is not None:
            self.trace(f"retrying {method} {url} in {delay:.1f} s after {cause}")
        self.sleep(delay)

    def _json(self, method: str, path: str, op: Operation, **kwargs: Any) -> Any:
        raw = self._send(method, path, op, **kwargs)
        try:
            return json.loads(raw) if raw else {}
        except ValueError:
            raise ClusterError(f"the API server sent a response that is not JSON for {op.verb} of {op.target()}") from None

    def _stream_bytes(self, response: Any, op: Operation) -> Iterator[bytes]:
        try:
            for chunk in response.stream(STREAM_CHUNK, decode_content=True):
                if chunk:
                    yield chunk
        except GeneratorExit:
            raise
        except Exception as exc:
            raise from_transport(exc, op, self.host, self.request_timeout) from None
        finally:
            response.release_conn() if response.isclosed() else response.close()

    def _stream_lines(self, response: Any, op: Operation) -> Iterator[str]:
        try:
            for line in _lines(response):
                yield line
        except GeneratorExit:
            raise
        except Exception as exc:
            raise from_transport(exc, op, self.host, self.request_timeout) from None
        finally:
            response.release_conn() if response.isclosed() else response.close()


def _quiet_urllib3(urllib3: Any) -> None:
    """Keep urllib3's own warnings off the user's terminal.

    With insecure-skip-tls-verify it warns on every request, and with more concurrent
    log streams than pooled connections it logs each connection it discards; kubectl
    prints neither. Errors still reach the user as ClusterError.
    """
    warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
    logging.getLogger("urllib3").setLevel(logging.ERROR)


def _lines(response: Any) -> Iterator[str]:
    """Yield the lines of a streamed response as they arrive, without the newline."""
    pending = b""
    for chunk in _chunks(response):
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            yield line.decode("utf-8", errors="replace")
    if pending:
        yield pending.decode("utf-8", errors="replace")


def _chunks(response: Any) -> Iterator[bytes]:
    # read_chunked() yields each chunk as soon as the server flushes it. stream() with a
    # size waits for that many bytes, which a quiet log stream may never send.
    if response.chunked and response.supports_chunked_reads():
        yield from response.read_chunked(decode_content=True)
    else:
        yield from response.stream(STREAM_CHUNK, decode_content=True)


def _query(**params: Any) -> List[Tuple[str, str]]:
    return [(key, str(value)) for key, value in params.items() if value is not None and value != ""]


def _with_type(obj: Object, kind: ResourceKind) -> Object:
    # Items of built-in lists come without kind and apiVersion; callers get them always.
    if isinstance(obj, dict):
        obj.setdefault("apiVersion", kind.api_version)
        obj.setdefault("kind", kind.kind)
    return obj


def _event_time(event: Object) -> str:
    return (
        event.get("lastTimestamp") or event.get("eventTime") or event.get("firstTimestamp")
        or (event.get("metadata") or {}).get("creationTimestamp") or ""
    )


def _backoff(attempt: int) -> float:
    delay = min(BACKOFF_MAX, BACKOFF_START * (2 ** (attempt - 1)))
    return delay * (0.8 + 0.4 * random.random())


def _retry_after(value: Optional[str]) -> Optional[float]:
    if not value:
        return None
    try:
        return min(BACKOFF_MAX, max(0.0, float(value)))
    except ValueError:
        return None  # an HTTP date: fall back to the backoff
