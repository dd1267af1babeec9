"""Reading many log streams at once: reader threads, the pod watch and one writer.

Threads and their jobs:

* one reader thread per stream (a container of a pod). It reads lines as the
  server sends them and appends the formatted lines to its own buffer of at most
  ``BUFFER_LINES`` lines. A full buffer blocks that reader only, so memory does
  not grow with the log and one busy pod never holds back another.
  When following, the reader also reconnects after a dropped stream and waits
  for a container that has not started yet or is about to restart;
* in follow mode, one thread watches the graph's pods and starts or stops
  readers as pods appear, change and go;
* the calling thread is the only writer. It takes buffers in the order they
  became non-empty and writes them whole, and prints every message to stderr, so
  a broken pipe or Ctrl-C surfaces in the caller's thread.

Every thread is a daemon: a reader blocked on a quiet stream must not keep the
process alive after the writer returns.
"""

from __future__ import annotations

import dataclasses
import datetime
import queue
import threading
from dataclasses import dataclass
from typing import IO, Callable, Dict, List, Optional, Sequence, Set, Tuple

from kubectl_dynamo.api.kinds import DGD, POD
from kubectl_dynamo.api.missing import graph_not_found, kind_not_served
from kubectl_dynamo.cluster.protocol import Cluster, LogOptions
from kubectl_dynamo.errors import ClusterError, NotFoundError
from kubectl_dynamo.logs.lines import LineFilter, LineFormat, ResumePoint, split_timestamp
from kubectl_dynamo.logs.request import LogsRequest, check_request
from kubectl_dynamo.logs.targets import (
    GONE,
    WAITING,
    ContainerState,
    GraphService,
    StreamKey,
    Target,
    check_named_container,
    check_types,
    choose_containers,
    container_state,
    graph_selector,
    graph_services,
    plan_streams,
    pod_selected,
    pod_targets,
    resolve_services,
)
from kubectl_dynamo.output.reporter import Reporter

#: Formatted lines a reader may hold before it waits for the writer.
BUFFER_LINES = 512
#: Reconnect delays in seconds after a stream ends while its container still runs.
FIRST_RETRY_DELAY = 0.2
MAX_RETRY_DELAY = 5.0
#: Drops in a row, without a new line, after which a stream without --follow fails.
MAX_DROPS_WITHOUT_PROGRESS = 3
#: Seconds a pod watch lasts before it is renewed from the last resourceVersion.
WATCH_SECONDS = 300


@dataclass(frozen=True)
class Message:
    level: str  # "debug", "note", "warn" or "error"
    text: str


@dataclass(frozen=True)
class _Finished:
    stream: "StreamReader"


class StreamReader:
    """Reads one container's log in its own thread into a bounded buffer."""

    def __init__(self, session: "Session", target: Target, state: ContainerState, *, initial: bool) -> None:
        self.session = session
        self.target = target
        self.state = state
        # --tail cuts the backlog of containers that were running when the command
        # started. Every line of a container that starts later is new, so it is read whole.
        self.initial = initial and state.phase != WAITING
        self.format = session.line_format.for_target(target)
        self.resume = ResumePoint()
        self.buffer: List[str] = []
        self.condition = threading.Condition()
        self.scheduled = False
        self.wake = threading.Event()
        self.stopped = False
        self.pod_gone = False
        self.failed = False
        # Reconnect state, used by the reader thread only.
        self._first = True
        self._first_connect = ""
        self._delay = FIRST_RETRY_DELAY
        self._drops = 0
        self._announced_wait = False
        self._warned_retry = False
        self.thread = threading.Thread(target=self._run, name=f"logs {target.label}", daemon=True)

    # --- called by the session --------------------------------------------------------

    def start(self) -> None:
        self.thread.start()

    def update(self, state: ContainerState) -> None:
        self.state = state
        self.wake.set()

    def stop(self, *, pod_gone: bool = False) -> None:
        """Detach: drop any further line and let the thread end at its next step."""
        self.pod_gone = self.pod_gone or pod_gone
        self.stopped = True
        self.wake.set()
        with self.condition:
            self.condition.notify_all()

    def take(self) -> List[str]:
        """Return and clear the buffered lines (the writer's side)."""
        with self.condition:
            lines, self.buffer = self.buffer, []
            self.scheduled = False
            self.condition.notify()
        return lines

    # --- the reader thread ----------------------------------------------------------

    def _run(self) -> None:
        try:
            self._follow_loop()
        except Exception as exc:  # a bug must reach the user, not kill the thread silently
            self.failed = True
            self.session.post(Message("error", f"{self.target.label}: internal error: {type(exc).__name__}: {exc}"))
        finally:
            self.session.post(_Finished(self))

    def _follow_loop(self) -> None:
        request = self.session.request
        while not self.stopped:
            state = self.state
            readiness = self._readiness(state)
            if readiness == "stop":
                return
            if readiness == "wait":
                self._sleep(None)
                continue

            options = self._options(self._first, self._first_connect)
            if not self._first:
                self.resume.start_resume()
            connected = (state.restart_count, state.started_at)
            self._first_connect = self._first_connect or _utc_now()
            try:
                new_lines, dropped = self._read(options)
            except ClusterError as exc:
                outcome = self._handle_error(exc, self._warned_retry)
                if outcome == "stop":
                    return
                # "wait" (not started yet) and "retry" both try again after a delay; the
                # watch cuts the delay short when the pod changes.
                self._warned_retry = self._warned_retry or outcome == "retry-warned"
                self._back_off()
                continue
            self._first = False
            self._warned_retry = False
            if new_lines:
                self._delay = FIRST_RETRY_DELAY
            if dropped:
                if not self._survive_drop(new_lines):
                    return
                self._back_off()
                continue
            if not request.follow or self.stopped or self.pod_gone:
                return

            # The stream ended while following: the server closed it (log rotation,
            # an idle timeout) or the container stopped.
            state = self.state
            if not state.running and (state.restart_count, state.started_at) == connected:
                self._sleep(None)  # stopped: wait for the watch to report a restart
            else:
                self._back_off()

    def _readiness(self, state: ContainerState) -> str:
        """Return "read" when the container has a log to read now, "wait" or "stop" otherwise."""
        request = self.session.request
        label = self.target.label
        if state.phase == GONE:
            return "stop"
        if request.previous and not state.has_previous:
            self.session.post(Message("note", f"{label}: no previous container to read; skipped"))
            return "stop"
        if state.phase == WAITING and not request.previous:
            if not request.follow:
                self.session.post(Message("note", f"{label}: the container has not started ({state.reason}); skipped"))
                return "stop"
            if not self._announced_wait:
                self.session.post(Message("note", f"{label}: waiting for the container to start ({state.reason})"))
                self._announced_wait = True
            return "wait"
        self._announced_wait = False
        return "read"

    def _survive_drop(self, new_lines: int) -> bool:
        """Count a dropped connection; return False when a stream without --follow should give up."""
        self._drops = 0 if new_lines else self._drops + 1
        if self.session.request.follow or self._drops <= MAX_DROPS_WITHOUT_PROGRESS:
            return True
        self.failed = True
        self.session.post(Message("error", f"{self.target.label}: the log stream kept dropping; giving up"))
        return False

    def _back_off(self) -> None:
        self._sleep(self._delay)
        self._delay = min(self._delay * 2, MAX_RETRY_DELAY)

    def _options(self, first: bool, first_connect: str) -> LogOptions:
        request = self.session.request
        options = LogOptions(
            container=self.target.key.container,
            follow=request.follow,
            previous=request.previous,
            timestamps=True,
        )
        if first:
            tail = request.tail_lines if self.initial else None
            return dataclasses.replace(options, tail_lines=tail, since_seconds=request.since_seconds, since_time=request.since_time)
        if self.resume.last:
            return dataclasses.replace(options, since_time=self.resume.last)
        # Nothing read yet: start where the first request started.
        if request.has_since:
            return dataclasses.replace(options, since_seconds=request.since_seconds, since_time=request.since_time)
        if request.tail_lines is None or not self.initial:
            return options
        return dataclasses.replace(options, since_time=first_connect)

    def _read(self, options: LogOptions) -> Tuple[int, bool]:
        """Read one response to its end; return how many new lines it carried and whether it dropped.

        An error before the first line is raised (the request failed); an error
        after it means the connection dropped, and the caller resumes.
        """
        session = self.session
        keep = session.line_filter.keep if session.line_filter.active else None
        admit = self.resume.admit
        fmt = self.format
        new_lines = 0
        received = False
        key = self.target.key
        lines = session.cluster.stream_logs(key.pod, options, key.namespace)
        try:
            for line in lines:
                received = True
                if self.stopped:
                    break
                timestamp, message = split_timestamp(line)
                if not admit(timestamp):
                    continue
                new_lines += 1
                if keep is not None and not keep(message):
                    continue
                self._push(fmt(timestamp, message))
        except ClusterError as exc:
            if not received:
                raise
            session.post(Message("debug", f"{self.target.label}: the log stream dropped ({exc}); resuming"))
            return new_lines, True
        finally:
            close = getattr(lines, "close", None)
            if close is not None:
                close()
        return new_lines, False

    def _push(self, text: str) -> None:
        with self.condition:
            while len(self.buffer) >= BUFFER_LINES and not self.stopped:
                self.condition.wait()
            if self.stopped:
                return
            self.buffer.append(text)
            if not self.scheduled:
                self.scheduled = True
                self.session.ready.put(self)

    def _handle_error(self, exc: ClusterError, warned: bool) -> str:
        """Decide what a failed log request means: "stop", "wait", "retry" or "retry-warned"."""
        label = self.target.label
        text = str(exc)
        if exc.status == 404:
            # The pod is gone; the watch reports the deletion.
            if self.session.request.follow:
                self.pod_gone = True
            else:
                self.session.post(Message("note", f"{label}: the pod no longer exists; skipped"))
            return "stop"
        if exc.status == 400 and self.session.request.previous and "previous terminated container" in text:
            # The pod status shows a restart, but the kubelet kept no log of the previous instance.
            self.session.post(Message("note", f"{label}: no previous container to read; skipped"))
            return "stop"
        if exc.status == 400 and _is_waiting_message(text):
            if not self.session.request.follow:
                self.session.post(Message("note", f"{label}: the container has not started; skipped"))
                return "stop"
            return "wait"
        if exc.status == 0 or exc.status >= 500 or exc.status == 429:
            if not self.session.request.follow:
                self.failed = True
                self.session.post(Message("error", f"{label}: {text}"))
                return "stop"
            if not warned:
                self.session.post(Message("warn", f"{label}: reading the log failed: {text}; retrying"))
            return "retry-warned"
        self.failed = True
        self.session.post(Message("error", f"{label}: {text}"))
        return "stop"

    def _sleep(self, seconds: Optional[float]) -> None:
        if self.stopped:
            return
        self.wake.wait(seconds)
        self.wake.clear()


def _is_waiting_message(text: str) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in ("waiting to start", "containercreating", "podinitializing", "is not running"))


def _utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Session:
    """The state of one `logs` run: readers, the slots they hold, and the writer's queue."""

    def __init__(
        self,
        cluster: Cluster,
        request: LogsRequest,
        namespace: str,
        services: Sequence[GraphService],
        wanted: Sequence[str],
        line_format: LineFormat,
        line_filter: LineFilter,
    ) -> None:
        self.cluster = cluster
        self.request = request
        self.namespace = namespace
        self.services = {s.name: s for s in services}
        self.wanted = tuple(wanted)
        self.line_format = line_format
        self.line_filter = line_filter
        self.ready: "queue.SimpleQueue" = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.readers: Dict[StreamKey, StreamReader] = {}
        self.running: Set[StreamKey] = set()
        self.over_limit: List[StreamReader] = []
        self.pods: Dict[str, str] = {}  # uid -> name of the pods seen
        self.problem_pods: Set[str] = set()
        self.limit_warned = False
        self.stopped = threading.Event()
        self.failed: List[str] = []

    def post(self, item) -> None:
        self.ready.put(item)

    # --- pods ----------------------------------------------------------------

    def add_pods(self, pods: Sequence[dict], *, initial: bool) -> None:
        """Start readers for the selected pods (in service and pod order)."""
        plan = plan_streams(pods, self.request, self.services, self.wanted)
        for problem in plan.problems:
            self.post(Message("error" if not self.request.follow else "warn", problem))
            if not self.request.follow:
                self.failed.append(problem)
        by_uid = {(p.get("metadata") or {}).get("uid", ""): p for p in pods}
        for pod in pods:
            metadata = pod.get("metadata") or {}
            self.pods[metadata.get("uid", "")] = metadata.get("name", "")
        with self.lock:
            for target in plan.start:
                pod = by_uid.get(target.key.uid, {})
                self._add_reader(target, container_state(pod, target.key.container), initial=initial)
        self._announce_limit()

    def on_pod(self, pod: dict) -> None:
        """Handle an ADDED or MODIFIED pod from the watch."""
        metadata = pod.get("metadata") or {}
        uid = metadata.get("uid", "")
        if not pod_selected(pod, self.request, self.services, self.wanted):
            return
        self.pods[uid] = metadata.get("name", "")
        choice = choose_containers(pod, self.request)
        if choice.problem and not choice.lacks_named_container and uid not in self.problem_pods:
            self.problem_pods.add(uid)
            self.post(Message("warn", choice.problem))
        with self.lock:
            for target in pod_targets(pod, choice):
                state = container_state(pod, target.key.container)
                reader = self.readers.get(target.key)
                if reader is None:
                    self._add_reader(target, state, initial=False)
                else:
                    reader.update(state)
        self._announce_limit()

    def on_pod_deleted(self, pod: dict) -> None:
        metadata = pod.get("metadata") or {}
        uid = metadata.get("uid", "")
        self.pods.pop(uid, None)
        self.problem_pods.discard(uid)
        with self.lock:
            for key in [k for k in self.readers if k.uid == uid]:
                reader = self.readers.pop(key)
                if reader in self.over_limit:
                    self.over_limit.remove(reader)
                    continue
                if key in self.running:
                    self.post(Message("note", f"- {reader.target.label}"))
                reader.stop(pod_gone=True)
                # The slot is free now, even if the reader still waits on a quiet connection.
                self.running.discard(key)
            self._promote()

    def resync(self, pods: Sequence[dict]) -> None:
        """Bring the readers in line with a fresh list after the watch expired."""
        present = {(p.get("metadata") or {}).get("uid", "") for p in pods}
        for uid, name in list(self.pods.items()):
            if uid not in present:
                self.on_pod_deleted({"metadata": {"uid": uid, "name": name}})
        for pod in pods:
            self.on_pod(pod)

    def _add_reader(self, target: Target, state: ContainerState, *, initial: bool) -> None:
        reader = StreamReader(self, target, state, initial=initial)
        self.readers[target.key] = reader
        if len(self.running) < self.request.max_log_requests:
            self._start(reader)
        else:
            self.over_limit.append(reader)

    def _start(self, reader: StreamReader) -> None:
        self.running.add(reader.target.key)
        if self.request.follow:
            self.post(Message("note", f"+ {reader.target.label}"))
        reader.start()

    def _announce_limit(self) -> None:
        if not self.request.follow:
            return
        with self.lock:
            if not self.over_limit or self.limit_warned:
                return
            self.limit_warned = True
            names = ", ".join(r.target.label for r in self.over_limit)
            count = len(self.running) + len(self.over_limit)
        self.post(Message(
            "warn",
            f"{count} log streams match but --max-log-requests is {self.request.max_log_requests}; "
            f"not following {len(self.over_limit)}: {names}. Raise --max-log-requests to follow them all.",
        ))

    def finished(self, reader: StreamReader) -> None:
        """Free the reader's slot and start the oldest stream waiting for one."""
        with self.lock:
            self.running.discard(reader.target.key)
            if reader.failed:
                self.failed.append(reader.target.label)
            self._promote()

    def _promote(self) -> None:
        """Start the oldest streams waiting for a slot (the caller holds the lock)."""
        while self.over_limit and len(self.running) < self.request.max_log_requests:
            self._start(self.over_limit.pop(0))

    @property
    def idle(self) -> bool:
        with self.lock:
            return not self.running and not self.over_limit

    # --- the watch thread ----------------------------------------------------------

    def watch_pods(self, resource_version: str) -> None:
        try:
            self._watch_loop(resource_version)
        except Exception as exc:  # a bug must reach the user, not end the watch silently
            self.post(Message("error", f"watching the graph's pods stopped: internal error: {type(exc).__name__}: {exc}"))

    def _watch_loop(self, resource_version: str) -> None:
        selector = graph_selector(self.request.graph)
        delay = 0.5
        warned = False
        while not self.stopped.is_set():
            try:
                events = self.cluster.watch(
                    POD, self.namespace, label_selector=selector, resource_version=resource_version or None, timeout_seconds=WATCH_SECONDS,
                )
                for event in events:
                    if self.stopped.is_set():
                        return
                    version = (event.object.get("metadata") or {}).get("resourceVersion")
                    if version:
                        resource_version = version
                    if event.type in ("ADDED", "MODIFIED"):
                        self.on_pod(event.object)
                    elif event.type == "DELETED":
                        self.on_pod_deleted(event.object)
                delay, warned = 0.5, False
            except ClusterError as exc:
                if exc.status == 410:
                    try:
                        listing = self.cluster.list(POD, self.namespace, label_selector=selector)
                    except ClusterError as list_error:
                        exc = list_error
                    else:
                        resource_version = listing.resource_version
                        self.resync(listing.items)
                        continue
                if not warned:
                    self.post(Message("warn", f"watching the graph's pods failed: {exc}; retrying"))
                    warned = True
                self.stopped.wait(delay)
                delay = min(delay * 2, 10.0)

    # --- the writer ------------------------------------------------------------------

    def write_until_done(self, out: IO, reporter: Reporter) -> None:
        """Write lines and messages as they come, until every stream ended (never when following)."""
        ready = self.ready
        while True:
            try:
                item = ready.get(timeout=0.5)
            except queue.Empty:
                if not self.request.follow and self.idle:
                    return
                # An output whose flush fails once its reader is gone stops a quiet follow
                # here. A closed pipe is only noticed at the next write of a line.
                out.flush()
                continue
            if isinstance(item, StreamReader):
                lines = item.take()
                if lines:
                    out.write("".join(lines))
            elif isinstance(item, Message):
                out.flush()
                _report(reporter, item)
            elif isinstance(item, _Finished):
                lines = item.stream.take()
                if lines:
                    out.write("".join(lines))
                self.finished(item.stream)
            if ready.empty():
                out.flush()
                if not self.request.follow and self.idle:
                    return

    def stop(self) -> None:
        self.stopped.set()
        with self.lock:
            readers = list(self.readers.values())
        for reader in readers:
            reader.stop()


def _report(reporter: Reporter, message: Message) -> None:
    if message.level == "error":
        reporter.error(message.text)
    elif message.level == "warn":
        reporter.warn(message.text)
    elif message.level == "debug":
        reporter.debug(message.text)
    else:
        reporter.note(message.text)


# --- the entry point -----------------------------------------------------------------


def follow_graph_logs(connect: Callable[[], Cluster], request: LogsRequest, out: IO, reporter: Reporter, *, color: bool = False) -> int:
    """Print the logs of a graph's pods to ``out`` and return the exit code.

    ``connect`` is called once the flags are known to be valid. Raises UsageError
    for invalid flags, NotFoundError for a missing graph or service and ClusterError when the
    pods cannot be listed. Without ``--follow`` it returns once every stream ended
    and raises ClusterError when any of them failed; with ``--follow`` it runs until
    interrupted.
    """
    check_request(request)
    line_format = LineFormat(
        output=request.output, color=color and request.output == "text",
        show_container=request.all_containers, timestamps=request.timestamps,
    )
    line_filter = LineFilter(request.include, request.exclude)
    cluster = connect()
    namespace = cluster.namespace
    try:
        graph = cluster.get(DGD, request.graph, namespace)
    except NotFoundError as exc:
        if kind_not_served(exc):
            raise
        raise graph_not_found(request.graph, namespace) from None
    services = graph_services(graph)
    wanted = resolve_services(request.services, services, request.graph)
    check_types(request.types, services, request.graph)

    listing = cluster.list(POD, namespace, label_selector=graph_selector(request.graph))
    check_named_container([p for p in listing.items if pod_selected(p, request, {s.name: s for s in services}, wanted)], request)
    session = Session(cluster, request, namespace, services, wanted, line_format, line_filter)
    session.add_pods(listing.items, initial=True)
    if not request.follow and not session.readers and not session.failed:
        reporter.note(f"No pods of graph {request.graph!r} in namespace {namespace!r} match.")
        return 0
    if request.follow:
        if not session.readers:
            reporter.note(f"No pods of graph {request.graph!r} in namespace {namespace!r} match yet; waiting for them.")
        threading.Thread(target=session.watch_pods, args=(listing.resource_version,), name="logs pod watch", daemon=True).start()
    try:
        session.write_until_done(out, reporter)
    finally:
        session.stop()
    if session.failed:
        count = len(session.failed)
        noun = "stream" if count == 1 else "streams"
        raise ClusterError(f"{count} log {noun} failed; see the errors above")
    return 0
