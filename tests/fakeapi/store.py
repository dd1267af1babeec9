"""The fake server's state: objects with resourceVersion and generation bookkeeping,
the watch event history, scripted pod logs and service proxy content.

One ``threading.Condition`` guards everything; watch and log streams wait on it.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import secrets
import uuid
from collections import deque
from dataclasses import dataclass
from threading import Condition
from typing import Any, Callable, Deque, Dict, Iterable, List, Optional, Tuple

from kubectl_dynamo.api.kinds import NAMESPACE, ResourceKind

from .patching import fields_v1
from .status import already_exists, conflict, not_found

Object = Dict[str, Any]
Key = Tuple[ResourceKind, str, str]  # kind, namespace ("" for cluster-scoped), name

# Watch events kept for resuming watches; a watch from an older resourceVersion gets 410 Gone.
HISTORY = 5000


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339_nano(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


_TIMESTAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) (.*)$", re.S)


def parse_time(text: str) -> dt.datetime:
    """Parse RFC 3339 with up to nanosecond precision (Python keeps microseconds)."""
    match = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$", text.strip())
    if not match:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    base, fraction, zone = match.groups()
    micro = (fraction or "0")[:6].ljust(6, "0")
    zone = "+00:00" if zone == "Z" else zone
    return dt.datetime.fromisoformat(f"{base}.{micro}{zone}")


def tracks_generation(kind: ResourceKind) -> bool:
    # The real server keeps metadata.generation on custom resources and the apps,
    # networking and autoscaling kinds; core kinds used here have none.
    return kind.group != ""


def spec_of(obj: Object) -> Object:
    """Everything the real server compares to decide whether generation bumps."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


@dataclass
class Event:
    rv: int
    type: str
    kind: ResourceKind
    namespace: str
    object: Object
    previous: Optional[Object] = None  # the object before a MODIFIED event


@dataclass
class LogLine:
    time: dt.datetime
    stamp: str  # as given, or generated in RFC 3339 with nanoseconds
    text: str


class Store:
    def __init__(self) -> None:
        self.cond = Condition()
        self.objects: Dict[Key, Object] = {}
        self.rv = 1000
        self.history: Deque[Event] = deque(maxlen=HISTORY)
        # Watches that start from a resourceVersion below this get 410 Gone. The
        # history starts here, as if everything older had been compacted.
        self.compacted_rv = self.rv
        self.logs: Dict[Tuple[str, str, str, bool], List[LogLine]] = {}
        self.terminated: set = set()  # log keys whose container stopped: follow streams end
        # Container instance number per log key. Replacing a log starts a new instance and
        # ends the follow streams of the old one, as a container restart does.
        self.log_instances: Dict[Tuple[str, str, str, bool], int] = {}
        self.proxies: Dict[Tuple[str, str, str, str], Tuple[int, str, bytes]] = {}
        self.stopping = False
        for name in ("default", "kube-system", "kube-public"):
            self.put(NAMESPACE, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    # -- bookkeeping -------------------------------------------------------------

    def _next_rv(self) -> int:
        self.rv += 1
        return self.rv

    def _emit(self, event_type: str, kind: ResourceKind, namespace: str, obj: Object, rv: int, previous: Optional[Object] = None) -> None:
        if len(self.history) == self.history.maxlen:
            self.compacted_rv = max(self.compacted_rv, self.history[0].rv)
        self.history.append(Event(rv, event_type, kind, namespace, copy.deepcopy(obj), copy.deepcopy(previous)))
        self.cond.notify_all()

    @staticmethod
    def key(kind: ResourceKind, namespace: Optional[str], name: str) -> Key:
        return (kind, namespace or "" if kind.namespaced else "", name)

    def namespace_exists(self, namespace: str) -> bool:
        return (NAMESPACE, "", namespace) in self.objects

    def ensure_namespace(self, namespace: str) -> None:
        if namespace and not self.namespace_exists(namespace):
            self.put(NAMESPACE, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})

    # -- reads ---------------------------------------------------------------------

    def get(self, kind: ResourceKind, namespace: Optional[str], name: str) -> Object:
        with self.cond:
            obj = self.objects.get(self.key(kind, namespace, name))
            if obj is None:
                raise not_found(kind, name)
            return copy.deepcopy(obj)

    def find(self, kind: ResourceKind, namespace: Optional[str], name: str) -> Optional[Object]:
        with self.cond:
            obj = self.objects.get(self.key(kind, namespace, name))
            return copy.deepcopy(obj) if obj is not None else None

    def list(self, kind: ResourceKind, namespace: Optional[str], match: Callable[[Object], bool] = lambda o: True) -> Tuple[List[Object], int]:
        with self.cond:
            items = [
                copy.deepcopy(obj)
                for (k, ns, _), obj in sorted(self.objects.items(), key=lambda item: (item[0][1], item[0][2]))
                if k == kind and (namespace is None or ns == namespace) and match(obj)
            ]
            return items, self.rv

    def events_after(self, rv: int, kind: ResourceKind, namespace: Optional[str]) -> List[Event]:
        return [e for e in self.history if e.rv > rv and e.kind == kind and (namespace is None or e.namespace == namespace)]

    # -- writes (callers hold no lock; each method is atomic) -----------------------

    def put(self, kind: ResourceKind, obj: Object, *, manager: Optional[str] = None) -> Object:
        """Store an object as given (status, managedFields and timestamps kept), filling
        only what is missing; replaces an existing object. Used by seeding and tests."""
        with self.cond:
            obj = copy.deepcopy(obj)
            meta = obj.setdefault("metadata", {})
            namespace = meta.get("namespace") or "" if kind.namespaced else ""
            if kind.namespaced:
                meta["namespace"] = namespace = namespace or "default"
            key = self.key(kind, namespace, meta["name"])
            old = self.objects.get(key)
            obj.setdefault("apiVersion", kind.api_version)
            obj.setdefault("kind", kind.kind)
            if old is not None:
                meta.setdefault("uid", old["metadata"]["uid"])
                meta.setdefault("creationTimestamp", old["metadata"]["creationTimestamp"])
                old_generation = old["metadata"].get("generation", 1)
                if tracks_generation(kind) and meta.get("generation", old_generation) == old_generation:
                    # A generation the caller set on purpose is kept; otherwise it follows the spec.
                    bump = spec_of(old) != spec_of(obj)
                    meta["generation"] = old_generation + (1 if bump else 0)
            meta.setdefault("uid", str(uuid.uuid4()))
            meta.setdefault("creationTimestamp", rfc3339(now()))
            if tracks_generation(kind):
                meta.setdefault("generation", 1)
            if manager and "managedFields" not in meta:
                record_manager(obj, manager, "Update", spec_source=obj)
            rv = self._next_rv()
            meta["resourceVersion"] = str(rv)
            self.objects[key] = obj
            self._emit("MODIFIED" if old is not None else "ADDED", kind, namespace, obj, rv, old)
            return copy.deepcopy(obj)

    def create(self, kind: ResourceKind, namespace: Optional[str], obj: Object, *, manager: str, dry_run: bool = False) -> Object:
        with self.cond:
            obj = copy.deepcopy(obj)
            meta = obj.setdefault("metadata", {})
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = meta["generateName"] + secrets.token_hex(3)[:5]
            key = self.key(kind, namespace, meta["name"])
            if key in self.objects:
                raise already_exists(kind, meta["name"])
            if kind.namespaced:
                meta["namespace"] = namespace
            for field in ("resourceVersion", "uid", "creationTimestamp", "generation", "managedFields", "deletionTimestamp"):
                meta.pop(field, None)
            if "status" in kind.subresources and kind.kind != "Namespace":
                obj.pop("status", None)
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = rfc3339(now())
            if tracks_generation(kind):
                meta["generation"] = 1
            if kind.group == "apps" and "replicas" not in obj.get("spec", {}):
                obj.setdefault("spec", {})["replicas"] = 1  # defaulting, as the real server does
            record_manager(obj, manager, "Update", spec_source=obj)
            if dry_run:
                return obj
            rv = self._next_rv()
            meta["resourceVersion"] = str(rv)
            self.objects[key] = obj
            self._emit("ADDED", kind, namespace or "", obj, rv)
            return copy.deepcopy(obj)

    def replace(
        self,
        kind: ResourceKind,
        namespace: Optional[str],
        name: str,
        new: Object,
        *,
        manager: str,
        operation: str = "Update",
        subresource: str = "",
        changed: Optional[Object] = None,
        dry_run: bool = False,
    ) -> Object:
        """Write ``new`` over the stored object with the real server's rules.

        A stale ``metadata.resourceVersion`` raises 409. When the kind has a status
        subresource, the main resource cannot change status and /status changes only
        status. Generation bumps on spec changes only.
        """
        with self.cond:
            key = self.key(kind, namespace, name)
            old = self.objects.get(key)
            if old is None:
                raise not_found(kind, name)
            new = copy.deepcopy(new)
            meta = new.setdefault("metadata", {})
            given_rv = meta.get("resourceVersion")
            if given_rv and given_rv != old["metadata"]["resourceVersion"]:
                raise conflict(kind, name)
            if meta.get("name", name) != name:
                raise conflict(kind, name)
            if subresource == "status":
                merged = copy.deepcopy(old)
                merged["status"] = new.get("status")
                if merged["status"] is None:
                    merged.pop("status")
                new = merged
            elif "status" in kind.subresources:
                if "status" in old:
                    new["status"] = copy.deepcopy(old["status"])
                else:
                    new.pop("status", None)
            meta = new["metadata"]
            for field in ("uid", "creationTimestamp", "managedFields", "namespace"):
                if field in old["metadata"]:
                    meta[field] = copy.deepcopy(old["metadata"][field])
            meta["name"] = name
            new["apiVersion"], new["kind"] = old["apiVersion"], old["kind"]
            if tracks_generation(kind):
                generation = old["metadata"].get("generation", 1)
                meta["generation"] = generation + (1 if spec_of(old) != spec_of(new) else 0)
            record_manager(new, manager, operation, subresource=subresource, spec_source=changed if changed is not None else new)
            meta["resourceVersion"] = old["metadata"]["resourceVersion"]
            if _without_managed_fields(new) == _without_managed_fields(old):
                # A no-op write keeps the resourceVersion and emits no event, as on a real server.
                return copy.deepcopy(old)
            if dry_run:
                return new
            rv = self._next_rv()
            meta["resourceVersion"] = str(rv)
            self.objects[key] = new
            self._emit("MODIFIED", kind, key[1], new, rv, old)
            return copy.deepcopy(new)

    def delete(self, kind: ResourceKind, namespace: Optional[str], name: str, *, dry_run: bool = False) -> Object:
        with self.cond:
            key = self.key(kind, namespace, name)
            old = self.objects.get(key)
            if old is None:
                raise not_found(kind, name)
            if dry_run:
                return copy.deepcopy(old)
            del self.objects[key]
            rv = self._next_rv()
            old = copy.deepcopy(old)
            old["metadata"]["resourceVersion"] = str(rv)
            self._emit("DELETED", kind, key[1], old, rv)
            if kind.plural == "pods":
                self.terminated.update(k for k in self.logs if k[0] == key[1] and k[1] == name)
            return old

    def compact(self) -> None:
        """Forget the watch history: any watch from an older resourceVersion gets 410 Gone."""
        with self.cond:
            self.compacted_rv = self.rv
            self.history.clear()

    # -- logs ----------------------------------------------------------------------

    def add_logs(self, namespace: str, pod: str, container: str, lines: Iterable[str], *, previous: bool = False, replace: bool = False) -> None:
        with self.cond:
            key = (namespace, pod, container, previous)
            entries = [] if replace else self.logs.get(key, [])
            if replace:
                self.log_instances[key] = self.log_instances.get(key, 0) + 1
            for line in lines:
                match = _TIMESTAMP.match(line)
                if match:
                    entries.append(LogLine(parse_time(match.group(1)), match.group(1), match.group(2)))
                else:
                    moment = now()
                    entries.append(LogLine(moment, rfc3339_nano(moment), line))
            self.logs[key] = entries
            if not previous:
                self.terminated.discard(key)
            self.cond.notify_all()

    def terminate_logs(self, namespace: Optional[str] = None, pod: Optional[str] = None, container: Optional[str] = None) -> None:
        with self.cond:
            for key in list(self.logs):
                if (namespace is None or key[0] == namespace) and (pod is None or key[1] == pod) and (container is None or key[2] == container):
                    self.terminated.add(key)
            if namespace is not None and pod is not None and container is not None:
                self.terminated.add((namespace, pod, container, False))
            self.cond.notify_all()

    def stop(self) -> None:
        with self.cond:
            self.stopping = True
            self.cond.notify_all()


def _without_managed_fields(obj: Object) -> Object:
    return {**obj, "metadata": {k: v for k, v in obj["metadata"].items() if k != "managedFields"}}


def record_manager(obj: Object, manager: str, operation: str, *, subresource: str = "", spec_source: Optional[Object] = None) -> None:
    """Replace this manager's managedFields entry with one stamped now."""
    meta = obj.setdefault("metadata", {})
    entries = [
        e for e in meta.get("managedFields") or []
        if not (e.get("manager") == manager and e.get("operation") == operation and e.get("subresource", "") == subresource)
    ]
    entry = {
        "manager": manager,
        "operation": operation,
        "apiVersion": obj.get("apiVersion", ""),
        "time": rfc3339(now()),
        "fieldsType": "FieldsV1",
        "fieldsV1": fields_v1(spec_source if spec_source is not None else obj),
    }
    if subresource:
        entry["subresource"] = subresource
    entries.append(entry)
    meta["managedFields"] = entries
