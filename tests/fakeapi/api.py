"""``FakeApiServer``: start and stop the server, seed and change its state, script
logs and faults, and read the request log. This is what tests use."""

from __future__ import annotations

import copy
import os
import re
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Union

import yaml

from kubectl_dynamo.api.kinds import ALL_KINDS, EVENT, ResourceKind, kind_for

from .server import Fault, Handler, HTTPServerThread, Request, TLSFiles, wait_for
from .status import ApiError
from .store import Store, now, rfc3339

ObjectOrText = Union[Dict[str, Any], str]

DEFAULT_TOKEN = "fakeapi-token"


class FakeApiServer:
    """A Kubernetes API server on 127.0.0.1 for one test.

    ``directory`` receives the kubeconfig (and kubectl's discovery cache).
    With ``tls`` the server speaks HTTPS; with ``tls.client_ca`` it requires a
    client certificate signed by that CA. ``require_token()`` makes it return 401
    to requests without that bearer token.
    """

    def __init__(self, directory: Union[str, Path], *, tls: Optional[TLSFiles] = None, kinds=ALL_KINDS, user: str = "jane") -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.kinds = tuple(kinds)
        self.user = user  # the user name in the RBAC message of injected 403 responses
        self.store = Store()
        self.tls = tls
        self._requests: List[Request] = []
        #: Exceptions the handler caught and turned into 500 responses: bugs in this server.
        self.internal_errors: List[str] = []
        self._faults: List[Fault] = []
        self._token: Optional[str] = None
        self._lock = threading.Lock()
        self._connections: set = set()
        self._requests_in_progress = 0
        self._timers: List[threading.Timer] = []
        self._stopped = threading.Event()
        handler = type("BoundHandler", (Handler,), {"fake": self})
        self._http = HTTPServerThread(handler, tls)
        self.port = self._http.port
        scheme = "https" if tls else "http"
        self.address = f"127.0.0.1:{self.port}"
        self.url = f"{scheme}://{self.address}"
        self.kubeconfig = str(self.directory / "kubeconfig")
        self.write_kubeconfig(self.kubeconfig)
        self.env = dict(os.environ)
        self.env.update({
            "KUBECONFIG": self.kubeconfig,
            "KUBECACHEDIR": str(self.directory / "kube-cache"),
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        })

    # -- life cycle ------------------------------------------------------------------

    def start(self) -> "FakeApiServer":
        self._http.start()
        return self

    def stop(self) -> None:
        """Stop serving, end every stream and connection, and wait for the threads."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        for timer in self._timers:
            timer.cancel()
        self.store.stop()
        self._http.server.shutdown()
        # Streams end within one poll interval once the store stops; let them send
        # their last chunk before the remaining (idle keep-alive) connections are cut.
        wait_for(lambda: self._requests_in_progress == 0, timeout=2)
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(2)
            except OSError:
                pass
        self._http.server.server_close()
        self._http.thread.join(timeout=5)
        # Handler threads notice the stop within one poll interval; wait for them.
        wait_for(lambda: not self._connections, timeout=5)

    def __enter__(self) -> "FakeApiServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def write_kubeconfig(
        self,
        path: Union[str, Path],
        *,
        context: str = "fakeapi",
        namespace: Optional[str] = "default",
        user: Optional[Dict[str, Any]] = None,
        cluster: Optional[Dict[str, Any]] = None,
    ) -> str:
        """Write a kubeconfig for this server; ``user`` and ``cluster`` replace the
        default entries (a bearer token; the server URL, with its CA under TLS)."""
        cluster_entry = cluster or {"server": self.url}
        if self.tls and cluster is None:
            cluster_entry["certificate-authority"] = self.tls.ca
        context_entry: Dict[str, Any] = {"cluster": context, "user": context}
        if namespace:
            context_entry["namespace"] = namespace
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": context, "cluster": cluster_entry}],
            "contexts": [{"name": context, "context": context_entry}],
            "current-context": context,
            "users": [{"name": context, "user": user if user is not None else {"token": DEFAULT_TOKEN}}],
            "preferences": {},
        }
        Path(path).write_text(yaml.safe_dump(config, sort_keys=False))
        return str(path)

    # -- objects ---------------------------------------------------------------------

    def kind(self, api_version: str, kind: str) -> ResourceKind:
        found = kind_for(api_version, kind)
        if found is None or found not in self.kinds:
            raise ValueError(f"the fake API server does not serve {kind} in {api_version}; add it to kubectl_dynamo/api/kinds.py")
        return found

    def seed(self, *objects: ObjectOrText) -> List[Dict[str, Any]]:
        """Store objects (dicts, or YAML text with one or more documents, or ``kind: List``)
        as given, creating their namespaces; return the stored objects."""
        stored = []
        for obj in _documents(objects):
            kind = self.kind(obj.get("apiVersion", ""), obj.get("kind", ""))
            namespace = (obj.get("metadata") or {}).get("namespace") or "default"
            if kind.namespaced:
                self.store.ensure_namespace(namespace)
                obj = copy.deepcopy(obj)
                obj["metadata"]["namespace"] = namespace
            stored.append(self.store.put(kind, obj))
        return stored

    def get_object(self, api_version: str, kind: str, namespace: Optional[str], name: str) -> Optional[Dict[str, Any]]:
        """Return the stored object, or None."""
        return self.store.find(self.kind(api_version, kind), namespace, name)

    def objects(self, api_version: str, kind: str, namespace: Optional[str] = None) -> List[Dict[str, Any]]:
        return self.store.list(self.kind(api_version, kind), namespace)[0]

    def update_object(self, obj: Dict[str, Any]) -> Dict[str, Any]:
        """Replace a stored object as a controller would (status included); emits MODIFIED
        (or ADDED when new). Generation bumps when the spec changed, unless ``obj`` sets a
        generation other than the stored one."""
        kind = self.kind(obj.get("apiVersion", ""), obj.get("kind", ""))
        obj = copy.deepcopy(obj)
        obj.get("metadata", {}).pop("resourceVersion", None)
        if kind.namespaced:
            self.store.ensure_namespace(obj["metadata"].get("namespace") or "default")
        return self.store.put(kind, obj)

    def delete_object(self, api_version: str, kind: str, namespace: Optional[str], name: str) -> Dict[str, Any]:
        """Delete a stored object; emits DELETED and ends that pod's log streams."""
        try:
            return self.store.delete(self.kind(api_version, kind), namespace, name)
        except ApiError as error:
            raise KeyError(error.message) from None

    def add_event(
        self,
        involved: Dict[str, Any],
        reason: str,
        message: str,
        *,
        type: str = "Normal",
        count: int = 1,
        component: str = "dynamo-operator",
        time: Optional[str] = None,
    ) -> Dict[str, Any]:
        """Record a core/v1 Event about ``involved`` (an object as stored)."""
        meta = involved["metadata"]
        stamp = time or rfc3339(now())
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": f"{meta['name']}.{uuid.uuid4().hex[:16]}", "namespace": meta.get("namespace", "default")},
            "involvedObject": {
                "apiVersion": involved.get("apiVersion"), "kind": involved.get("kind"), "name": meta["name"],
                "namespace": meta.get("namespace", "default"), "uid": meta.get("uid", ""),
            },
            "reason": reason,
            "message": message,
            "type": type,
            "count": count,
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "source": {"component": component},
        }
        self.store.ensure_namespace(event["metadata"]["namespace"])
        return self.store.put(EVENT, event)

    def restart_container(self, namespace: str, pod: str, container: str, *, reason: str = "Error", exit_code: int = 1,
                          lines: Iterable[str] = ()) -> Dict[str, Any]:
        """Restart a container as the kubelet does: its log becomes the ``previous`` log
        (follow streams end), ``lines`` start the new log, restartCount grows and
        lastState records the termination. Returns the updated pod."""
        with self.store.cond:
            current = list(self.store.logs.get((namespace, pod, container, False), []))
            self.store.logs[(namespace, pod, container, True)] = current
        self.close_log_streams(namespace, pod, container)
        obj = self.get_object("v1", "Pod", namespace, pod)
        if obj is None:
            raise KeyError(f'pods "{pod}" not found in namespace "{namespace}"')
        stamp = rfc3339(now())
        for status in (obj.setdefault("status", {})).setdefault("containerStatuses", []):
            if status.get("name") == container:
                status["restartCount"] = status.get("restartCount", 0) + 1
                status["lastState"] = {"terminated": {"reason": reason, "exitCode": exit_code, "finishedAt": stamp}}
                status["state"] = {"running": {"startedAt": stamp}}
        self.set_logs(namespace, pod, container, lines)
        return self.update_object(obj)

    def replace_pod(self, namespace: str, old_name: str, new_pod: ObjectOrText) -> List[Dict[str, Any]]:
        """Delete a pod and seed its successor (a rollout or an evicted pod rescheduled):
        watchers see DELETED, then ADDED."""
        self.delete_object("v1", "Pod", namespace, old_name)
        return self.seed(new_pod)

    def compact(self) -> None:
        """Forget the watch history, so that a watch from an older resourceVersion gets 410 Gone."""
        self.store.compact()

    # -- logs and proxy ----------------------------------------------------------------

    def set_logs(self, namespace: str, pod: str, container: str, lines: Iterable[str], previous: bool = False) -> None:
        """Replace a container's log. A line may start with an RFC 3339 timestamp and a
        space; the server uses it for ``timestamps``, ``sinceTime`` and ``sinceSeconds``."""
        self.store.add_logs(namespace, pod, container, list(lines), previous=previous, replace=True)

    def append_logs(self, namespace: str, pod: str, container: str, lines: Iterable[str]) -> None:
        """Add lines to a running container's log; followers receive them at once."""
        self.store.add_logs(namespace, pod, container, list(lines))

    def close_log_streams(self, namespace: Optional[str] = None, pod: Optional[str] = None, container: Optional[str] = None) -> None:
        """Mark the matching containers terminated: follow streams end after their last line."""
        self.store.terminate_logs(namespace, pod, container)

    def serve_proxy(
        self,
        namespace: str,
        service: str,
        path: str,
        body: Union[bytes, str],
        *,
        port: str = "",
        status: int = 200,
        content_type: str = "application/octet-stream",
    ) -> None:
        """Serve ``body`` at ``/api/v1/namespaces/<ns>/services/<service>[:<port>]/proxy/<path>``.
        The Service object must exist (seed it), or the proxy returns 404 as the real server does."""
        data = body.encode() if isinstance(body, str) else bytes(body)
        with self.store.cond:
            self.store.proxies[(namespace, service, str(port), path.lstrip("/"))] = (status, content_type, data)

    # -- requests, auth and faults -----------------------------------------------------

    @property
    def requests(self) -> List[Request]:
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def requests_for(self, verb: Optional[str] = None, path_regex: Optional[str] = None, method: Optional[str] = None) -> List[Request]:
        """The recorded requests with this Kubernetes verb, path pattern and HTTP method."""
        pattern = re.compile(path_regex) if path_regex else None
        return [
            r for r in self.requests
            if (verb is None or r.verb == verb) and (method is None or r.method == method) and (pattern is None or pattern.search(r.path))
        ]

    def require_token(self, token: str = DEFAULT_TOKEN) -> None:
        """Return 401 to every request without ``Authorization: Bearer <token>``."""
        self._token = token

    def inject(self, method: str, path_regex: str, status: int, count: int = 1, body: Any = None, headers: Optional[Dict[str, str]] = None) -> None:
        """Return ``status`` to the next ``count`` requests whose method (or ``*``) and path
        match. Without ``body`` the server writes a realistic Status (for 403 the RBAC
        message naming verb, resource and namespace; 429 carries ``Retry-After: 1``)."""
        self._add(Fault("status", method.upper(), re.compile(path_regex), count, status=status, body=body, headers=dict(headers or {})))

    def drop_connection(self, method: str, path_regex: str, after_bytes: int = 0, count: int = 1) -> None:
        """Close the connection of the next ``count`` matching requests after sending
        ``after_bytes`` bytes of the response (0: before any response)."""
        self._add(Fault("drop", method.upper(), re.compile(path_regex), count, after_bytes=after_bytes))

    def delay(self, method: str, path_regex: str, seconds: float, count: int = 1) -> None:
        """Wait ``seconds`` before responding to the next ``count`` matching requests."""
        self._add(Fault("delay", method.upper(), re.compile(path_regex), count, seconds=seconds))

    def expire_watch(self, path_regex: str = ".", count: int = 1) -> None:
        """Make the next ``count`` matching watches send an ERROR event with 410 Gone and end."""
        self._add(Fault("gone", "GET", re.compile(path_regex), count))

    def after(self, seconds: float, action: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run ``action`` on a timer thread after ``seconds`` (pod churn, late log lines);
        cancelled when the server stops."""
        timer = threading.Timer(seconds, action, args, kwargs)
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    # -- used by the handler ------------------------------------------------------------

    def _add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def _take_faults(self, method: str, path: str, is_watch: bool) -> List[Fault]:
        # One fault of each action per request, oldest first, so that faults queue up.
        taken: List[Fault] = []
        with self._lock:
            for fault in self._faults:
                if any(t.action == fault.action for t in taken):
                    continue
                if fault.matches(method, path) and (fault.action != "gone" or is_watch):
                    fault.count -= 1
                    taken.append(fault)
            self._faults = [f for f in self._faults if f.count > 0]
        return taken

    def _busy(self, change: int) -> None:
        with self._lock:
            self._requests_in_progress += change

    def _log(self, request: Request) -> None:
        with self._lock:
            self._requests.append(request)

    def _track(self, connection: Any, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def _authorize(self, headers: Any) -> None:
        if self._token is None:
            return
        scheme, _, token = (headers.get("Authorization") or "").partition(" ")
        # The scheme is case-insensitive (RFC 7235); the in-cluster loader sends "bearer".
        if scheme.lower() != "bearer" or token.strip() != self._token:
            raise ApiError(401, "Unauthorized")

    def _sleep(self, seconds: float) -> None:
        self._stopped.wait(seconds)


def _documents(objects: Iterable[ObjectOrText]) -> Iterable[Dict[str, Any]]:
    for item in objects:
        docs = yaml.safe_load_all(item) if isinstance(item, str) else [item]
        for doc in docs:
            if not doc:
                continue
            if doc.get("kind") == "List" or (doc.get("kind", "").endswith("List") and "items" in doc):
                yield from (d for d in doc.get("items") or [] if d)
            else:
                yield doc
