"""The multiplexer against an in-memory line source: interleaving, resume, restarts, limits."""

from __future__ import annotations

import io
import threading
import time

import pytest

from kubectl_dynamo.errors import ClusterError, NotFoundError
from kubectl_dynamo.logs.request import LogsRequest
from kubectl_dynamo.logs.stream import BUFFER_LINES, follow_graph_logs
from kubectl_dynamo.output.reporter import Reporter
from tests.logs.fakes import LineSource, graph, pod, ts


class Output:
    """A stdout stand-in that can turn into a closed pipe, as `| head` does."""

    def __init__(self) -> None:
        self.parts = []
        self.closed_pipe = False

    def write(self, text: str) -> int:
        if self.closed_pipe:
            raise BrokenPipeError(32, "Broken pipe")
        self.parts.append(text)
        return len(text)

    def flush(self) -> None:
        if self.closed_pipe:
            raise BrokenPipeError(32, "Broken pipe")

    def isatty(self) -> bool:
        return False

    def lines(self):
        return "".join(self.parts).splitlines()


def run_once(source, request):
    out, err = Output(), io.StringIO()
    code = follow_graph_logs(lambda: source, request, out, Reporter(err, "never"))
    return code, out.lines(), err.getvalue()


class Follow:
    """Runs a follow in a thread; ``stop()`` closes the pipe and joins it."""

    def __init__(self, source, request):
        self.out, self.err = Output(), io.StringIO()
        self.error = None
        self.thread = threading.Thread(target=self._run, args=(source, request), daemon=True)
        self.thread.start()

    def _run(self, source, request):
        try:
            follow_graph_logs(lambda: source, request, self.out, Reporter(self.err, "never"))
        except BaseException as exc:  # the test inspects it
            self.error = exc

    def wait_for(self, predicate, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.01)
        raise AssertionError(f"timed out; stdout={self.out.lines()!r} stderr={self.err.getvalue()!r}")

    def wait_lines(self, count):
        self.wait_for(lambda: len(self.out.lines()) >= count)
        return self.out.lines()

    def stop(self):
        self.out.closed_pipe = True
        self.thread.join(5)
        assert not self.thread.is_alive()
        assert isinstance(self.error, BrokenPipeError)


@pytest.fixture
def source():
    src = LineSource()
    src.add(graph())
    return src


def test_prints_every_service_with_prefix(source):
    source.add(pod("llm-frontend-1", "Frontend"), pod("llm-worker-1", "VllmWorker"), pod("llm-planner-1", "Planner"))
    source.set_logs("llm-frontend-1", "main", [f"{ts(1)} frontend up"])
    source.set_logs("llm-worker-1", "main", [f"{ts(2)} worker up", f"{ts(3)} worker ready"])
    source.set_logs("llm-planner-1", "main", [f"{ts(4)} planner up"])
    code, lines, err = run_once(source, LogsRequest("llm"))
    assert code == 0
    assert sorted(lines) == sorted([
        "Frontend/llm-frontend-1 frontend up",
        "VllmWorker/llm-worker-1 worker up",
        "VllmWorker/llm-worker-1 worker ready",
        "Planner/llm-planner-1 planner up",
    ])
    assert lines.index("VllmWorker/llm-worker-1 worker up") < lines.index("VllmWorker/llm-worker-1 worker ready")
    assert err == ""
    assert all(options.timestamps for _pod, options in source.requests)


def test_missing_graph_is_not_found(source):
    with pytest.raises(NotFoundError, match='dynamographdeployments.nvidia.com "other" not found in namespace "default"'):
        run_once(source, LogsRequest("other"))


def test_big_backlog_does_not_block_other_streams(source):
    """A pod with a long backlog fills its buffer; the quiet pod's line still gets through first."""
    source.add(pod("llm-frontend-1", "Frontend"), pod("llm-worker-1", "VllmWorker"))
    source.set_logs("llm-worker-1", "main", [f"{ts(1)} backlog {i}" for i in range(BUFFER_LINES * 20)])
    source.set_logs("llm-frontend-1", "main", [f"{ts(1)} frontend up"])
    code, lines, _err = run_once(source, LogsRequest("llm"))
    assert code == 0
    assert len(lines) == BUFFER_LINES * 20 + 1
    assert lines.index("Frontend/llm-frontend-1 frontend up") < BUFFER_LINES * 4


def test_follow_interleaves_live_lines(source):
    source.add(pod("llm-frontend-1", "Frontend"), pod("llm-worker-1", "VllmWorker"))
    follow = Follow(source, LogsRequest("llm", follow=True))
    follow.wait_for(lambda: len(source.open_streams) == 2)
    source.append("llm-frontend-1", "main", [f"{ts(1)} f1"])
    follow.wait_lines(1)
    source.append("llm-worker-1", "main", [f"{ts(2)} w1"])
    follow.wait_lines(2)
    source.append("llm-frontend-1", "main", [f"{ts(3)} f2"])
    assert follow.wait_lines(3) == ["Frontend/llm-frontend-1 f1", "VllmWorker/llm-worker-1 w1", "Frontend/llm-frontend-1 f2"]
    follow.stop()
    assert "+ Frontend/llm-frontend-1/main" in follow.err.getvalue()


def test_follow_resumes_dropped_stream_without_duplicates(source):
    source.add(pod("llm-worker-1", "VllmWorker"))
    source.set_logs("llm-worker-1", "main", [f"{ts(1)} one", f"{ts(2)} two", f"{ts(2)} two-bis"])
    follow = Follow(source, LogsRequest("llm", follow=True))
    follow.wait_lines(3)
    source.end_streams("llm-worker-1", "main")
    source.append("llm-worker-1", "main", [f"{ts(2)} two-ter", f"{ts(3)} three"])
    lines = follow.wait_lines(5)
    time.sleep(0.3)
    assert follow.out.lines() == [f"VllmWorker/llm-worker-1 {m}" for m in ("one", "two", "two-bis", "two-ter", "three")]
    resumed = source.requests[-1][1]
    assert resumed.since_time == ts(2)
    assert resumed.tail_lines is None
    follow.stop()
    assert lines


def test_follow_default_tail_is_ten(source):
    source.add(pod("llm-worker-1", "VllmWorker"))
    source.set_logs("llm-worker-1", "main", [f"{ts(i)} line {i}" for i in range(25)])
    follow = Follow(source, LogsRequest("llm", follow=True))
    lines = follow.wait_lines(10)
    time.sleep(0.2)
    assert follow.out.lines()[0] == "VllmWorker/llm-worker-1 line 15"
    assert len(follow.out.lines()) == 10
    follow.stop()
    assert lines


def test_follow_attaches_new_pod_and_detaches_deleted(source):
    old = pod("llm-worker-1", "VllmWorker")
    source.add(old)
    follow = Follow(source, LogsRequest("llm", follow=True))
    follow.wait_for(lambda: ("llm-worker-1", "main") in source.open_streams)
    source.emit("DELETED", old)
    replacement = pod("llm-worker-2", "VllmWorker")
    source.set_logs("llm-worker-2", "main", [f"{ts(i)} early {i}" for i in range(15)])
    source.emit("ADDED", replacement)
    lines = follow.wait_lines(15)
    assert lines[0] == "VllmWorker/llm-worker-2 early 0"  # a new pod is read whole, not tailed
    follow.wait_for(lambda: "- VllmWorker/llm-worker-1/main" in follow.err.getvalue())
    source.append("llm-worker-1", "main", [f"{ts(30)} from a deleted pod"])
    time.sleep(0.2)
    assert not any("deleted pod" in line for line in follow.out.lines())
    follow.stop()


def test_follow_waits_for_pending_pod(source):
    pending = pod("llm-worker-1", "VllmWorker", state="waiting")
    source.add(pending)
    follow = Follow(source, LogsRequest("llm", follow=True))
    follow.wait_for(lambda: "waiting for the container to start (ContainerCreating)" in follow.err.getvalue())
    assert source.requests == []
    source.set_logs("llm-worker-1", "main", [f"{ts(1)} started"])
    source.emit("MODIFIED", pod("llm-worker-1", "VllmWorker", state="running"))
    assert follow.wait_lines(1) == ["VllmWorker/llm-worker-1 started"]
    follow.stop()
    assert "error" not in follow.err.getvalue()


def test_follow_reattaches_after_container_restart(source):
    source.add(pod("llm-worker-1", "VllmWorker"))
    source.set_logs("llm-worker-1", "main", [f"{ts(1)} first run"])
    follow = Follow(source, LogsRequest("llm", follow=True))
    follow.wait_lines(1)
    # The container dies: its stream ends, and the watch reports it waiting to restart.
    source.emit("MODIFIED", pod("llm-worker-1", "VllmWorker", state="crashloop", restart_count=1))
    source.end_streams("llm-worker-1", "main")
    time.sleep(0.3)
    requests_while_down = len(source.requests)
    time.sleep(0.5)
    assert len(source.requests) <= requests_while_down + 1  # waits for the restart, no busy loop
    source.append("llm-worker-1", "main", [f"{ts(5)} second run"])
    source.emit("MODIFIED", pod("llm-worker-1", "VllmWorker", state="running", restart_count=1, started_at="2026-01-01T00:00:05Z"))
    assert follow.wait_lines(2) == ["VllmWorker/llm-worker-1 first run", "VllmWorker/llm-worker-1 second run"]
    follow.stop()


def test_follow_limit_names_streams_not_followed(source):
    for i in range(4):
        source.add(pod(f"llm-worker-{i}", "VllmWorker"))
    follow = Follow(source, LogsRequest("llm", follow=True, max_log_requests=2))
    follow.wait_for(lambda: "--max-log-requests" in follow.err.getvalue())
    time.sleep(0.1)
    err = follow.err.getvalue()
    assert "4 log streams match but --max-log-requests is 2; not following 2: VllmWorker/llm-worker-2/main, VllmWorker/llm-worker-3/main" in err
    assert err.count("--max-log-requests is") == 1
    assert {p for p, _o in source.requests} == {"llm-worker-0", "llm-worker-1"}
    follow.stop()


def test_without_follow_limit_queues_streams(source):
    for i in range(6):
        source.add(pod(f"llm-worker-{i}", "VllmWorker"))
        source.set_logs(f"llm-worker-{i}", "main", [f"{ts(i)} hello {i}"])
    code, lines, err = run_once(source, LogsRequest("llm", max_log_requests=2))
    assert code == 0
    assert len(lines) == 6
    assert err == ""


def test_forbidden_stream_reported_others_continue(source):
    source.add(pod("llm-frontend-1", "Frontend"), pod("llm-worker-1", "VllmWorker"))
    source.set_logs("llm-frontend-1", "main", [f"{ts(1)} frontend up"])
    source.errors[("llm-worker-1", "main")] = ClusterError("pods \"llm-worker-1\" is forbidden: cannot get pods/log", status=403)
    with pytest.raises(ClusterError, match="1 log stream failed"):
        run_once(source, LogsRequest("llm"))
    out, err = Output(), io.StringIO()
    with pytest.raises(ClusterError):
        follow_graph_logs(lambda: source, LogsRequest("llm"), out, Reporter(err, "never"))
    assert out.lines() == ["Frontend/llm-frontend-1 frontend up"]
    assert 'error: VllmWorker/llm-worker-1/main: pods "llm-worker-1" is forbidden' in err.getvalue()


def test_filters_apply_to_message(source):
    source.add(pod("llm-worker-1", "VllmWorker"))
    source.set_logs("llm-worker-1", "main", [f"{ts(1)} INFO ready", f"{ts(2)} ERROR boom", f"{ts(3)} ERROR health probe"])
    _code, lines, _err = run_once(source, LogsRequest("llm", include=("ERROR",), exclude=("health",)))
    assert lines == ["VllmWorker/llm-worker-1 ERROR boom"]


def test_previous_reads_previous_instance_only_where_present(source):
    source.add(pod("llm-worker-1", "VllmWorker", restart_count=2), pod("llm-frontend-1", "Frontend"))
    source.set_logs("llm-worker-1", "main", [f"{ts(1)} crashed"], previous=True)
    code, lines, err = run_once(source, LogsRequest("llm", previous=True))
    assert code == 0
    assert lines == ["VllmWorker/llm-worker-1 crashed"]
    assert "Frontend/llm-frontend-1/main: no previous container to read; skipped" in err
    assert [o.previous for _p, o in source.requests] == [True]


def test_pending_pod_without_follow_is_a_note(source):
    source.add(pod("llm-worker-1", "VllmWorker", state="pending"))
    code, lines, err = run_once(source, LogsRequest("llm"))
    assert code == 0
    assert lines == []
    assert "VllmWorker/llm-worker-1/main: the container has not started (Pending); skipped" in err


def test_broken_pipe_stops_follow(source):
    source.add(pod("llm-worker-1", "VllmWorker"))
    follow = Follow(source, LogsRequest("llm", follow=True))
    follow.wait_for(lambda: source.open_streams)
    follow.stop()


def test_expired_watch_resyncs_pods(source):
    gone = pod("llm-worker-1", "VllmWorker")
    source.add(gone)
    source.expired_watches = 1
    # Between the first list and the relist, one pod went away and one appeared.
    original_list = source.list
    calls = []

    def list_then_churn(*args, **kwargs):
        result = original_list(*args, **kwargs)
        if not calls:
            source.pods.pop("llm-worker-1")
            source.add(pod("llm-worker-2", "VllmWorker"))
            source.set_logs("llm-worker-2", "main", [f"{ts(1)} appeared during the expiry"])
        calls.append(1)
        return result

    source.list = list_then_churn
    follow = Follow(source, LogsRequest("llm", follow=True))
    assert follow.wait_lines(1) == ["VllmWorker/llm-worker-2 appeared during the expiry"]
    follow.wait_for(lambda: "- VllmWorker/llm-worker-1/main" in follow.err.getvalue())
    assert len(calls) == 2
    follow.stop()


def test_follow_promotes_stream_when_pod_deleted(source):
    first, second = pod("llm-worker-0", "VllmWorker"), pod("llm-worker-1", "VllmWorker")
    source.add(first, second)
    source.set_logs("llm-worker-1", "main", [f"{ts(1)} waited for a slot"])
    follow = Follow(source, LogsRequest("llm", follow=True, max_log_requests=1))
    follow.wait_for(lambda: "not following 1: VllmWorker/llm-worker-1/main" in follow.err.getvalue())
    # The deleted pod's stream stays open in this source; its slot must be freed anyway.
    source.emit("DELETED", first)
    assert follow.wait_lines(1) == ["VllmWorker/llm-worker-1 waited for a slot"]
    assert "+ VllmWorker/llm-worker-1/main" in follow.err.getvalue()
    follow.stop()
