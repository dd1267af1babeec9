"""The HTTP side of the fake API server: routing, verbs, streams and fault injection.

Each request is served on its own thread (``ThreadingHTTPServer``) with HTTP/1.1
keep-alive. Streams (watch, follow logs, proxy) are chunked and end when the
server stops, so no thread outlives ``FakeApiServer.stop()``.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import select
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import parse_qsl, unquote, urlsplit

import yaml

from kubectl_dynamo.api.kinds import NAMESPACE, POD, SERVICE, ResourceKind

from . import discovery
from .patching import APPLY_PATCH, JSON_PATCH, MERGE_PATCH, PATCH_TYPES, STRATEGIC_PATCH, PatchError, apply_patch
from .selectors import BUILTIN_GROUPS, SelectorError, check_field_selector, parse_field_selector, parse_label_selector
from .status import DEFAULT_MESSAGES, ApiError, conflict, forbidden, gone, invalid, not_found, status_body
from .store import Store, now, parse_time

# A watch without timeoutSeconds ends after this long, so a forgotten stream cannot hang a test run.
MAX_STREAM_SECONDS = 300.0
# How often waiting streams wake to notice a stopped server or a vanished client.
POLL_SECONDS = 0.2
CHUNK = 16 * 1024



@dataclass
class Request:
    """One request as the server saw it, for tests to assert on."""

    method: str
    path: str
    query: Dict[str, str]
    headers: Dict[str, str]
    body: Any  # parsed JSON or YAML when it parses, else the raw text, else None
    verb: str  # Kubernetes verb: get, list, watch, create, update, patch, delete, ...
    status: int = 0
    client_cert_subject: Optional[str] = None
    via_proxy: bool = False  # the request line had an absolute URI, as clients send to a proxy

    @property
    def user_agent(self) -> str:
        return self.headers.get("user-agent", "")


@dataclass
class Fault:
    action: str  # "status", "drop", "delay", "gone"
    method: str
    pattern: "re.Pattern[str]"
    count: int
    status: int = 0
    body: Any = None
    headers: Dict[str, str] = field(default_factory=dict)
    after_bytes: int = 0
    seconds: float = 0.0

    def matches(self, method: str, path: str) -> bool:
        return self.count > 0 and self.method in ("*", method) and bool(self.pattern.search(path))


class _Dropped(Exception):
    """The connection was cut on purpose (fault injection) or by the client."""


@dataclass
class Route:
    kind: Optional[ResourceKind]
    namespace: Optional[str]
    name: Optional[str]
    subresource: str
    rest: str  # for the service proxy: the path after /proxy


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fakeapi/1"
    # An idle keep-alive connection is closed after this long.
    timeout = 30

    # Set by FakeApiServer on the subclass it creates.
    fake: Any  # FakeApiServer

    def log_message(self, format: str, *args: Any) -> None:  # silence stderr
        pass

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle's algorithm
        # and the client's delayed ACK add about 40 ms to every response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.fake._track(self.connection, add=True)
        if isinstance(self.connection, ssl.SSLSocket):
            try:
                self.connection.do_handshake()
            except (OSError, ssl.SSLError):
                # finish() does not run when setup() fails, so untrack here.
                self.fake._track(self.connection, add=False)
                raise

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.fake._track(self.connection, add=False)

    # -- plumbing ------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self, method: str) -> None:
        raw = self._read_body()  # always read it, or keep-alive breaks (kubectl sends DELETE bodies)
        split = urlsplit(self.path)
        path = split.path
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        body = _parse_body(raw)
        route = self._route(path)
        record = Request(
            method, path, query, {k.lower(): v for k, v in self.headers.items()}, body,
            _verb(method, route, query), client_cert_subject=self._peer_subject(), via_proxy=bool(split.scheme),
        )
        self.record = record
        self.drop_budget: Optional[int] = None
        self.sent = 0
        self.fake._log(record)

        self.fake._busy(+1)
        try:
            watch_gone = self._apply_faults(method, path, record.verb == "watch")
            self.fake._authorize(self.headers)
            self._serve(method, path, route, query, raw, body, watch_gone)
        except ApiError as error:
            self._send_json(error.code, error.status_body(), headers=error.headers)
        except _Answered:
            pass
        except _Dropped:
            self.close_connection = True
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True
        except Exception as exc:  # a bug in this server: respond 500 as the real one would, and record it
            self.fake.internal_errors.append(f"{method} {self.path}: {type(exc).__name__}: {exc}")
            if not self.record.status:
                self._send_json(500, status_body(500, f"Internal error occurred: {type(exc).__name__}: {exc}"))
            else:
                self.close_connection = True
        finally:
            self.fake._busy(-1)

    def _peer_subject(self) -> Optional[str]:
        if not isinstance(self.connection, ssl.SSLSocket):
            return None
        cert = self.connection.getpeercert()
        if not cert:
            return None
        for rdn in cert.get("subject", ()):
            for key, value in rdn:
                if key == "commonName":
                    return value
        return None

    def _apply_faults(self, method: str, path: str, is_watch: bool) -> bool:
        watch_gone = False
        for fault in self.fake._take_faults(method, path, is_watch):
            if fault.action == "delay":
                self.fake._sleep(fault.seconds)
            elif fault.action == "drop":
                if fault.after_bytes <= 0:
                    self._cut()
                self.drop_budget = fault.after_bytes
            elif fault.action == "gone":
                watch_gone = True
            elif fault.action == "status":
                body = fault.body if fault.body is not None else self._default_error(fault.status, method, path)
                headers = dict(fault.headers)
                if fault.status == 429 and "Retry-After" not in headers:
                    headers["Retry-After"] = "1"
                self._send_json(fault.status, body, headers=headers)
                raise _Answered()
        return watch_gone

    def _default_error(self, code: int, method: str, path: str) -> Dict[str, Any]:
        route = self._route(path)
        if code == 403 and route.kind is not None:
            return forbidden(route.kind, route.name or "", self.record.verb, route.namespace, self.fake.user, route.subresource).status_body()
        if code == 404 and route.kind is not None and route.name:
            return not_found(route.kind, route.name).status_body()
        if code == 410:
            return gone().status_body()
        return status_body(code, DEFAULT_MESSAGES.get(code, f"the fake API server was told to answer {code}"))

    def _cut(self) -> None:
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        raise _Dropped()

    def _write(self, data: bytes) -> None:
        if self.drop_budget is not None and self.sent + len(data) > self.drop_budget:
            self.wfile.write(data[: max(0, self.drop_budget - self.sent)])
            self.wfile.flush()
            self._cut()
        self.wfile.write(data)
        self.sent += len(data)

    def _send_json(self, code: int, obj: Any, *, headers: Optional[Dict[str, str]] = None) -> None:
        data = json.dumps(obj).encode()
        self.record.status = code
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self._write(data)

    def _send_text(self, code: int, text: str, content_type: str = "text/plain; charset=utf-8") -> None:
        data = text.encode()
        self.record.status = code
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self._write(data)

    def _start_stream(self, content_type: str, code: int = 200) -> None:
        self.record.status = code
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()

    def _chunk(self, data: bytes) -> None:
        if data:
            self._write(f"{len(data):x}\r\n".encode() + data + b"\r\n")

    def _end_stream(self) -> None:
        self._write(b"0\r\n\r\n")

    def _client_gone(self) -> bool:
        """True when the client closed its side (only checked on plain sockets)."""
        if isinstance(self.connection, ssl.SSLSocket):
            return False
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    # -- routing -------------------------------------------------------------------

    def _route(self, path: str) -> Route:
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if len(parts) >= 2 and parts[0] == "api":
            group, version, rest = "", parts[1], parts[2:]
        elif len(parts) >= 3 and parts[0] == "apis":
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return Route(None, None, None, "", "")
        if not rest:
            return Route(None, None, None, "", "")
        namespace = None
        if rest[0] == "namespaces" and len(rest) >= 3 and not (group == "" and len(rest) == 3 and rest[2] in ("status", "finalize")):
            namespace, rest = rest[1], rest[2:]
        kind = discovery.find_kind(group, version, rest[0], self.fake.kinds)
        if kind is None:
            return Route(None, namespace, None, "", "")
        name = rest[1] if len(rest) > 1 else None
        subresource = rest[2] if len(rest) > 2 else ""
        tail = "/".join(rest[3:]) if len(rest) > 3 else ""
        if kind.plural == "namespaces" and name:
            namespace = None
        return Route(kind, namespace, name, subresource, tail)

    def _serve(self, method: str, path: str, route: Route, query: Dict[str, str], raw: bytes, body: Any, watch_gone: bool) -> None:
        if path in ("/version", "/version/"):
            return self._send_json(200, discovery.VERSION)
        if path == "/api":
            return self._send_json(200, discovery.api_versions(self.fake.address))
        if path == "/apis":
            return self._send_json(200, discovery.api_group_list(self.fake.kinds))
        parts = path.strip("/").split("/")
        if parts[0] == "api" and len(parts) == 2:
            doc = discovery.resource_list("", parts[1], self.fake.kinds)
            return self._send_json(200, doc) if doc else self._no_route()
        if parts[0] == "apis" and len(parts) == 2:
            doc = discovery.api_group(parts[1], self.fake.kinds)
            return self._send_json(200, doc) if doc else self._no_route()
        if parts[0] == "apis" and len(parts) == 3:
            doc = discovery.resource_list(parts[1], parts[2], self.fake.kinds)
            return self._send_json(200, doc) if doc else self._no_route()

        if route.kind is None:
            return self._no_route()
        if route.kind.namespaced and route.name and route.namespace is None:
            return self._no_route()
        if route.subresource == "proxy" and route.kind is SERVICE and method == "GET":
            return self._proxy(route)
        if route.subresource == "log" and route.kind is POD and method == "GET":
            return self._logs(route, query)
        if route.subresource and route.subresource not in route.kind.subresources:
            return self._no_route()
        if route.subresource == "scale":
            return self._scale(method, route, query, body)

        if route.name is None:
            if method == "GET":
                return self._watch(route, query, watch_gone) if _truthy(query.get("watch")) else self._list(route, query)
            if method == "POST":
                return self._create(route, query, body)
            return self._send_json(405, status_body(405, f"the server does not allow this method on the requested resource"))
        if method == "GET":
            return self._send_json(200, self.fake.store.get(route.kind, route.namespace, route.name))
        if method == "PUT":
            return self._update(route, query, body)
        if method == "PATCH":
            return self._patch(route, query, body, raw)
        if method == "DELETE":
            obj = self.fake.store.delete(route.kind, route.namespace, route.name, dry_run=_dry_run(query))
            return self._send_json(200, obj)
        return self._send_json(405, status_body(405, "the server does not allow this method on the requested resource"))

    def _no_route(self) -> None:
        self._send_json(404, status_body(404, "the server could not find the requested resource", details={}))

    # -- verbs ---------------------------------------------------------------------

    def _manager(self, query: Dict[str, str]) -> str:
        return query.get("fieldManager") or self.headers.get("User-Agent", "unknown").split("/")[0] or "unknown"

    def _list(self, route: Route, query: Dict[str, str]) -> None:
        match = _matcher(query, route.kind)
        items, rv = self.fake.store.list(route.kind, route.namespace, match)
        metadata: Dict[str, Any] = {"resourceVersion": str(rv)}
        start = 0
        if query.get("continue"):
            # NOTE: later pages come from the current state, not from a snapshot at the
            # first page's resourceVersion as on a real server.
            try:
                token = json.loads(base64.urlsafe_b64decode(query["continue"].encode()))
                start, metadata["resourceVersion"] = int(token["start"]), token["rv"]
            except (ValueError, KeyError, TypeError):
                raise ApiError(400, "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
        limit = _int_param(query, "limit") or 0
        page = items[start:start + limit] if limit > 0 else items[start:]
        if limit > 0 and start + limit < len(items):
            token = {"rv": metadata["resourceVersion"], "start": start + limit}
            metadata["continue"] = base64.urlsafe_b64encode(json.dumps(token).encode()).decode()
            metadata["remainingItemCount"] = len(items) - start - limit
        kind = route.kind
        self._send_json(200, {"kind": f"{kind.kind}List", "apiVersion": kind.api_version, "metadata": metadata, "items": page})

    def _watch(self, route: Route, query: Dict[str, str], watch_gone: bool) -> None:
        store = self.fake.store
        match = _matcher(query, route.kind)
        timeout = _int_param(query, "timeoutSeconds") or MAX_STREAM_SECONDS
        deadline = time.monotonic() + min(timeout, MAX_STREAM_SECONDS)
        requested = query.get("resourceVersion", "")
        self._start_stream("application/json")
        if watch_gone:
            return self._watch_error(gone().status_body())
        with store.cond:
            if requested and requested != "0":
                cursor = _int_param(query, "resourceVersion")
                if cursor < store.compacted_rv:
                    initial = None
                else:
                    initial = []
            else:
                items, cursor = store.list(route.kind, route.namespace, match)
                initial = [{"type": "ADDED", "object": item} for item in items]

        if initial is None:
            return self._watch_error(gone(f"too old resource version: {requested} ({store.compacted_rv})").status_body())
        for event in initial:
            self._chunk(json.dumps(event).encode() + b"\n")
        while time.monotonic() < deadline:
            with store.cond:
                if store.stopping:
                    break
                pending = store.events_after(cursor, route.kind, route.namespace)
                if not pending:
                    store.cond.wait(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))
                    pending = store.events_after(cursor, route.kind, route.namespace)
            for event in pending:
                cursor = event.rv
                event_type = _filtered_type(event, match)
                if event_type:
                    self._chunk(json.dumps({"type": event_type, "object": event.object}).encode() + b"\n")
            if not pending and self._client_gone():
                raise _Dropped()
        if _truthy(query.get("allowWatchBookmarks")) and not store.stopping:
            # The real server sends a bookmark with the current resourceVersion before a
            # watch times out, so that the client can resume from there.
            bookmark = {"kind": route.kind.kind, "apiVersion": route.kind.api_version, "metadata": {"resourceVersion": str(cursor)}}
            self._chunk(json.dumps({"type": "BOOKMARK", "object": bookmark}).encode() + b"\n")
        self._end_stream()

    def _watch_error(self, status: Dict[str, Any]) -> None:
        self._chunk(json.dumps({"type": "ERROR", "object": status}).encode() + b"\n")
        self._end_stream()

    def _check_body(self, route: Route, body: Any) -> Dict[str, Any]:
        if not isinstance(body, dict):
            raise ApiError(400, "the object provided is unrecognized (must be of type " + route.kind.kind + ")")
        for field in ("kind", "apiVersion"):
            if not body.get(field):
                raise ApiError(400, f"Object '{field[0].upper() + field[1:]}' is missing in '{json.dumps(body, separators=(',', ':'))}'")
        kind = route.kind
        if body.get("kind") and body.get("kind") != kind.kind or body.get("apiVersion") and body.get("apiVersion") != kind.api_version:
            raise ApiError(400, f"the API version in the data ({body.get('apiVersion')}) does not match the expected API version ({kind.api_version})")
        meta = body.get("metadata") or {}
        if kind.namespaced and meta.get("namespace") and route.namespace and meta["namespace"] != route.namespace:
            raise ApiError(400, "the namespace of the provided object does not match the namespace sent on the request")
        return body

    def _require_namespace(self, route: Route) -> None:
        if route.kind.namespaced and route.namespace and not self.fake.store.namespace_exists(route.namespace):
            raise not_found(NAMESPACE, route.namespace)

    def _create(self, route: Route, query: Dict[str, str], body: Any) -> None:
        body = self._check_body(route, body)
        meta = body.setdefault("metadata", {})
        if not meta.get("name") and not meta.get("generateName"):
            raise invalid(route.kind, "", [{"reason": "FieldValueRequired", "message": "Required value: name or generateName is required", "field": "metadata.name"}])
        if route.kind.namespaced and route.namespace is None:
            raise ApiError(404, "the server could not find the requested resource")
        self._require_namespace(route)
        _validate(route.kind, body)
        obj = self.fake.store.create(route.kind, route.namespace, body, manager=self._manager(query), dry_run=_dry_run(query))
        self._send_json(201, obj)

    def _update(self, route: Route, query: Dict[str, str], body: Any) -> None:
        body = self._check_body(route, body)
        _validate(route.kind, body)
        obj = self.fake.store.replace(
            route.kind, route.namespace, route.name, body, manager=self._manager(query),
            subresource=route.subresource, dry_run=_dry_run(query),
        )
        self._send_json(200, obj)

    def _patch(self, route: Route, query: Dict[str, str], body: Any, raw: bytes) -> None:
        kind, store = route.kind, self.fake.store
        content_type = self._patch_type(kind)
        if content_type == APPLY_PATCH:
            return self._apply(route, query, body)
        current = store.get(kind, route.namespace, route.name)
        try:
            patched = apply_patch(current, body, content_type)
        except PatchError as exc:
            raise ApiError(422 if isinstance(body, list) or content_type == JSON_PATCH else 400, str(exc))
        _validate(kind, patched)
        changed = body if isinstance(body, dict) else patched
        obj = store.replace(
            kind, route.namespace, route.name, patched, manager=self._manager(query),
            subresource=route.subresource, changed=changed, dry_run=_dry_run(query),
        )
        self._send_json(200, obj)

    def _patch_type(self, kind: Optional[ResourceKind]) -> str:
        """Return the patch content type; ``kind`` None means the built-in Scale."""
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if content_type not in PATCH_TYPES:
            raise ApiError(415, f"the body of the request was in an unknown format - accepted media types include: {', '.join(PATCH_TYPES)}")
        if content_type == STRATEGIC_PATCH and kind is not None and kind.group not in BUILTIN_GROUPS:
            raise ApiError(415, "the body of the request was in an unknown format - accepted media types include: "
                           f"{JSON_PATCH}, {MERGE_PATCH}, {APPLY_PATCH}")
        return content_type

    def _apply(self, route: Route, query: Dict[str, str], body: Any) -> None:
        """Server-side apply, simplified: create when absent, else a strategic merge of
        the applied configuration with an ``Apply`` managedFields entry."""
        manager = query.get("fieldManager")
        if not manager:
            raise ApiError(400, "PATCH, application/apply-patch+yaml: fieldManager is required")
        body = self._check_body(route, body)
        store = self.fake.store
        current = store.find(route.kind, route.namespace, route.name)
        if current is None:
            self._require_namespace(route)
            _validate(route.kind, body)
            created = store.create(route.kind, route.namespace, body, manager=manager, dry_run=_dry_run(query))
            created["metadata"]["managedFields"][-1]["operation"] = "Apply"
            if not _dry_run(query):
                store.put(route.kind, created)
                created = store.get(route.kind, route.namespace, route.name)
            return self._send_json(201, created)
        try:
            patched = apply_patch(current, body, STRATEGIC_PATCH)
        except PatchError as exc:
            raise ApiError(400, str(exc))
        _validate(route.kind, patched)
        obj = store.replace(
            route.kind, route.namespace, route.name, patched, manager=manager, operation="Apply",
            subresource=route.subresource, changed=body, dry_run=_dry_run(query),
        )
        self._send_json(200, obj)

    # -- /scale ----------------------------------------------------------------------

    def _scale(self, method: str, route: Route, query: Dict[str, str], body: Any) -> None:
        kind, store = route.kind, self.fake.store
        obj = store.get(kind, route.namespace, route.name)
        scale = _scale_of(kind, obj)
        if method == "GET":
            return self._send_json(200, scale)
        if method == "PUT":
            wanted = body
        elif method == "PATCH":
            try:
                wanted = apply_patch(scale, body, self._patch_type(None))
            except PatchError as exc:
                raise ApiError(422 if isinstance(body, list) else 400, str(exc))
        else:
            return self._send_json(405, status_body(405, "the server does not allow this method on the requested resource"))
        if not isinstance(wanted, dict):
            raise ApiError(400, "the object provided is unrecognized (must be of type Scale)")
        replicas = (wanted.get("spec") or {}).get("replicas", 0)
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            raise invalid_scale(route.name, replicas)
        given_rv = (wanted.get("metadata") or {}).get("resourceVersion")
        if given_rv and given_rv != obj["metadata"]["resourceVersion"]:
            raise conflict(kind, route.name)
        updated = dict(obj)
        updated["spec"] = dict(obj.get("spec") or {}, replicas=replicas)
        updated["metadata"] = dict(obj["metadata"])
        updated["metadata"].pop("resourceVersion", None)
        result = store.replace(
            kind, route.namespace, route.name, updated, manager=self._manager(query),
            subresource="scale", changed={"spec": {"replicas": replicas}}, dry_run=_dry_run(query),
        )
        self._send_json(200, _scale_of(kind, result))

    # -- logs ------------------------------------------------------------------------

    def _logs(self, route: Route, query: Dict[str, str]) -> None:
        store = self.fake.store
        pod = store.get(POD, route.namespace, route.name)
        container = query.get("container") or self._default_container(pod)
        previous = _truthy(query.get("previous"))
        key = (route.namespace, route.name, container, previous)
        with store.cond:
            known = key in store.logs
        if previous and not known:
            raise ApiError(400, f'previous terminated container "{container}" in pod "{route.name}" not found')
        if not known:
            waiting = _waiting_reason(pod, container)
            if waiting:
                raise ApiError(400, f'container "{container}" in pod "{route.name}" is waiting to start: {waiting}')
        timestamps = _truthy(query.get("timestamps"))
        follow = _truthy(query.get("follow")) and not previous
        since = None
        if query.get("sinceTime"):
            try:
                since = parse_time(query["sinceTime"])
            except ValueError as exc:
                raise ApiError(400, str(exc))
        elif query.get("sinceSeconds"):
            since = now() - dt.timedelta(seconds=_int_param(query, "sinceSeconds"))
        limit_bytes = _int_param(query, "limitBytes")
        with store.cond:
            lines = list(store.logs.get(key, []))
            instance = store.log_instances.get(key, 0)
        cursor = len(lines)
        selected = [line for line in lines if since is None or line.time >= since]
        if query.get("tailLines"):
            tail = _int_param(query, "tailLines")
            selected = selected[-tail:] if tail > 0 else []
        self._start_stream("text/plain")
        budget = [limit_bytes]

        def send(entries) -> bool:
            for line in entries:
                data = ((line.stamp + " ") if timestamps else "") + line.text + "\n"
                encoded = data.encode()
                if budget[0] is not None:
                    encoded = encoded[: budget[0]]
                    budget[0] -= len(encoded)
                self._chunk(encoded)
                if budget[0] is not None and budget[0] <= 0:
                    return False
            return True

        more = send(selected)
        deadline = time.monotonic() + MAX_STREAM_SECONDS
        while more and follow and time.monotonic() < deadline:
            with store.cond:
                if store.stopping:
                    break
                restarted = store.log_instances.get(key, 0) != instance
                if not restarted:
                    entries = store.logs.get(key, [])
                    if len(entries) <= cursor and key not in store.terminated:
                        store.cond.wait(POLL_SECONDS)
                        restarted = store.log_instances.get(key, 0) != instance
                        entries = store.logs.get(key, [])
                if restarted:
                    # The container restarted. Like the kubelet, still send what the old
                    # instance wrote before it ended: restart_container keeps that log as
                    # the previous one. Then this instance's stream is over.
                    entries = store.logs.get(key[:3] + (True,), [])
                fresh = entries[cursor:]
                cursor = len(entries)
                ended = restarted or (key in store.terminated and not fresh)
            more = send(fresh)
            if ended:
                break
            if not fresh and self._client_gone():
                raise _Dropped()
        self._end_stream()

    def _default_container(self, pod: Dict[str, Any]) -> str:
        spec = pod.get("spec") or {}
        names = [c.get("name") for c in spec.get("containers") or []]
        if len(names) == 1:
            return names[0]
        name = pod["metadata"]["name"]
        if not names:
            with self.fake.store.cond:
                logged = sorted({k[2] for k in self.fake.store.logs if k[0] == pod["metadata"].get("namespace") and k[1] == name})
            if len(logged) == 1:
                return logged[0]
            raise ApiError(400, f"a container name must be specified for pod {name}")
        message = f"a container name must be specified for pod {name}, choose one of: [{' '.join(names)}]"
        init = [c.get("name") for c in spec.get("initContainers") or []]
        if init:
            message += f" or one of the init containers: [{' '.join(init)}]"
        raise ApiError(400, message)

    # -- service proxy ---------------------------------------------------------------

    def _proxy(self, route: Route) -> None:
        service, _, port = (route.name or "").partition(":")
        store = self.fake.store
        store.get(SERVICE, route.namespace, service)
        with store.cond:
            entry = store.proxies.get((route.namespace, service, port, route.rest)) or store.proxies.get((route.namespace, service, "", route.rest))
        if entry is None:
            return self._send_text(404, "404 page not found\n")
        code, content_type, data = entry
        self._start_stream(content_type, code)
        for start in range(0, len(data), CHUNK):
            self._chunk(data[start:start + CHUNK])
        self._end_stream()


class _Answered(_Dropped):
    """The fault sent the whole response; the connection stays open."""


def invalid_scale(name: str, replicas: Any) -> ApiError:
    details = {"name": name, "group": "autoscaling", "kind": "Scale", "causes": [
        {"reason": "FieldValueInvalid", "message": f"Invalid value: {json.dumps(replicas)}: must be greater than or equal to 0", "field": "spec.replicas"},
    ]}
    return ApiError(422, f'Scale.autoscaling "{name}" is invalid: spec.replicas: Invalid value: {json.dumps(replicas)}: must be greater than or equal to 0',
                    reason="Invalid", details=details)


def _scale_of(kind: ResourceKind, obj: Dict[str, Any]) -> Dict[str, Any]:
    spec, status, meta = obj.get("spec") or {}, obj.get("status") or {}, obj["metadata"]
    selector = status.get("selector") or status.get("hpaPodSelector") or ""
    match_labels = ((spec.get("selector") or {}).get("matchLabels") or {}) if isinstance(spec.get("selector"), dict) else {}
    if not selector and match_labels:
        selector = ",".join(f"{k}={v}" for k, v in sorted(match_labels.items()))
    scale_status: Dict[str, Any] = {"replicas": status.get("replicas", 0)}
    if selector:
        scale_status["selector"] = selector
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in meta},
        "spec": {"replicas": spec.get("replicas", 0)},
        "status": scale_status,
    }


def _validate(kind: ResourceKind, obj: Dict[str, Any]) -> None:
    replicas = (obj.get("spec") or {}).get("replicas")
    if replicas is not None and (not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0):
        raise invalid(kind, (obj.get("metadata") or {}).get("name", ""), [{
            "reason": "FieldValueInvalid",
            "message": f"Invalid value: {json.dumps(replicas)}: must be greater than or equal to 0",
            "field": "spec.replicas",
        }])


def _filtered_type(event: Any, match) -> Optional[str]:
    """Return the event type a filtered watch sends, as the real server does: an object
    that starts matching the selectors is ADDED, one that stops matching is DELETED."""
    matches = match(event.object)
    if event.type != "MODIFIED" or event.previous is None:
        return event.type if matches else None
    matched = match(event.previous)
    if matches:
        return "MODIFIED" if matched else "ADDED"
    return "DELETED" if matched else None


def _waiting_reason(pod: Dict[str, Any], container: str) -> Optional[str]:
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        if status.get("name") == container:
            waiting = (status.get("state") or {}).get("waiting")
            if waiting is not None:
                return waiting.get("reason") or "ContainerCreating"
    return None


def _matcher(query: Dict[str, str], kind: ResourceKind):
    try:
        check_field_selector(kind.group, kind.plural, query.get("fieldSelector"))
        labels = parse_label_selector(query.get("labelSelector"))
        fields = parse_field_selector(query.get("fieldSelector"))
    except SelectorError as exc:
        raise ApiError(400, str(exc))
    return lambda obj: labels((obj.get("metadata") or {}).get("labels") or {}) and fields(obj)


def _int_param(query: Dict[str, str], name: str) -> Optional[int]:
    """Return an integer query parameter, or None when absent; 400 when not an integer."""
    value = query.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise ApiError(400, f'invalid value for query parameter {name}: "{value}": expected an integer') from None


def _truthy(value: Optional[str]) -> bool:
    return value is not None and value.lower() in ("1", "true", "yes")


def _dry_run(query: Dict[str, str]) -> bool:
    return query.get("dryRun") == "All"


def _parse_body(raw: bytes) -> Any:
    if not raw:
        return None
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _verb(method: str, route: Route, query: Dict[str, str]) -> str:
    if route.kind is None:
        return method.lower()
    if route.subresource == "log":
        return "get"
    if route.subresource == "proxy":
        return "proxy"
    if method == "GET":
        if route.name is None:
            return "watch" if _truthy(query.get("watch")) else "list"
        return "get"
    if method == "POST":
        return "create"
    if method == "PUT":
        return "update"
    if method == "PATCH":
        return "patch"
    if method == "DELETE":
        return "delete" if route.name else "deletecollection"
    return method.lower()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def handle_error(self, request, client_address) -> None:  # failed TLS handshakes, client resets
        pass


@dataclass
class TLSFiles:
    """PEM files: the server's certificate and key, the CA that signed them (written
    into the kubeconfig), and optionally the CA that client certificates must chain to."""

    cert: str
    key: str
    ca: str
    client_ca: Optional[str] = None


class HTTPServerThread:
    """The listening socket and its serving thread, for ``FakeApiServer``."""

    def __init__(self, handler: type, tls: Optional[TLSFiles]) -> None:
        self.server = _Server(("127.0.0.1", 0), handler)
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(tls.cert, tls.key)
            if tls.client_ca:
                context.verify_mode = ssl.CERT_REQUIRED
                context.load_verify_locations(tls.client_ca)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True, do_handshake_on_connect=False)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"fakeapi-{self.port}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def wait_for(predicate, timeout: float = 5.0, interval: float = 0.02) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` passes; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return bool(value)
        time.sleep(interval)

