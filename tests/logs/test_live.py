"""`kubectl dynamo logs` end to end: the real client against the test API server.

Commands without --follow run in-process (``live_cli``). Follows run the installed
plugin as a real process, which the tests stop with SIGINT or a closed pipe.
"""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import threading
import time

import pytest

from tests.logs.fakes import graph, pod, ts

DISAGG = {
    "Frontend": ("frontend", ""),
    "VllmPrefillWorker": ("worker", "prefill"),
    "VllmDecodeWorker": ("worker", "decode"),
    "Planner": ("planner", ""),
}


class Follow:
    """A `kubectl-dynamo logs -f` process whose stdout and stderr lines are collected as they come."""

    def __init__(self, plugin_path, api_server, *args):
        self.process = subprocess.Popen(
            [plugin_path, "logs", *args], env=api_server.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self.out, self.err = [], []
        self.readers = [
            threading.Thread(target=self._collect, args=(self.process.stdout, self.out), daemon=True),
            threading.Thread(target=self._collect, args=(self.process.stderr, self.err), daemon=True),
        ]
        for reader in self.readers:
            reader.start()

    @staticmethod
    def _collect(stream, into):
        for line in stream:
            into.append(line.rstrip("\n"))

    def wait_for(self, predicate, timeout=20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError(f"condition not met; exit={self.process.poll()} stdout={self.out!r} stderr={self.err!r}")

    def wait_lines(self, count):
        self.wait_for(lambda: len(self.out) >= count)
        return list(self.out)

    def wait_stderr(self, text):
        self.wait_for(lambda: any(text in line for line in self.err))

    def interrupt(self):
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(15)
        for reader in self.readers:
            reader.join(5)
        assert not any("Traceback" in line for line in self.err), self.err
        return code

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)


@pytest.fixture
def follow(plugin_path, api_server):
    started = []

    def start(*args):
        process = Follow(plugin_path, api_server, *args)
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()


def seed_graph(api_server, services=None, pods=()):
    api_server.seed(graph(services=services or DISAGG), *pods)


def disagg_pods(**overrides):
    return [
        pod("llm-frontend-1", "Frontend", component_type="frontend", **overrides),
        pod("llm-vllmprefillworker-1", "VllmPrefillWorker", component_type="worker", sub_type="prefill", **overrides),
        pod("llm-vllmdecodeworker-1", "VllmDecodeWorker", component_type="worker", sub_type="decode", **overrides),
        pod("llm-planner-1", "Planner", component_type="planner", **overrides),
    ]


def test_three_services_in_one_stream(api_server, live_cli):
    seed_graph(api_server, pods=disagg_pods())
    api_server.set_logs("default", "llm-frontend-1", "main", [f"{ts(1)} listening on 8000"])
    api_server.set_logs("default", "llm-vllmprefillworker-1", "main", [f"{ts(2)} prefill ready", f"{ts(4)} prefill done"])
    api_server.set_logs("default", "llm-vllmdecodeworker-1", "main", [f"{ts(3)} decode ready"])
    api_server.set_logs("default", "llm-planner-1", "main", [f"{ts(5)} planner ready"])
    result = live_cli(["logs", "llm", "Frontend", "vllmprefillworker", "VllmDecodeWorker"])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert sorted(lines) == sorted([
        "Frontend/llm-frontend-1 listening on 8000",
        "VllmPrefillWorker/llm-vllmprefillworker-1 prefill ready",
        "VllmPrefillWorker/llm-vllmprefillworker-1 prefill done",
        "VllmDecodeWorker/llm-vllmdecodeworker-1 decode ready",
    ])
    assert lines.index("VllmPrefillWorker/llm-vllmprefillworker-1 prefill ready") < lines.index("VllmPrefillWorker/llm-vllmprefillworker-1 prefill done")
    log_requests = api_server.requests_for(path_regex=r"/log$")
    assert {r.query.get("timestamps") for r in log_requests} == {"true"}
    assert {r.query.get("container") for r in log_requests} == {"main"}


def test_type_selects_workers(api_server, live_cli):
    seed_graph(api_server, pods=disagg_pods())
    for p in disagg_pods():
        api_server.set_logs("default", p["metadata"]["name"], "main", [f"{ts(1)} hello"])
    result = live_cli(["logs", "llm", "--type", "worker"])
    assert result.exit_code == 0, result.stderr
    assert sorted(line.split("/")[0] for line in result.stdout.splitlines()) == ["VllmDecodeWorker", "VllmPrefillWorker"]
    planner = live_cli(["logs", "llm", "--type", "planner", "--type", "prefill"])
    assert sorted(line.split("/")[0] for line in planner.stdout.splitlines()) == ["Planner", "VllmPrefillWorker"]


def test_unknown_service_lists_services(api_server, live_cli):
    seed_graph(api_server, pods=disagg_pods())
    result = live_cli(["logs", "llm", "Router"])
    assert result.exit_code == 4
    assert "service 'Router' not found in graph 'llm'" in result.stderr
    assert "Frontend (frontend), VllmPrefillWorker (worker/prefill)" in result.stderr
    assert result.stdout == ""


def test_missing_graph_is_not_found(api_server, live_cli):
    result = live_cli(["logs", "nope"])
    assert result.exit_code == 4
    assert 'error: dynamographdeployments.nvidia.com "nope" not found in namespace "default"' in result.stderr
    assert "kubectl dynamo get -n default" in result.stderr


def test_previous_instance_logs(api_server, live_cli):
    seed_graph(api_server, pods=[
        pod("llm-frontend-1", "Frontend"),
        pod("llm-vllmdecodeworker-1", "VllmDecodeWorker", state="crashloop", restart_count=2),
    ])
    api_server.set_logs("default", "llm-vllmdecodeworker-1", "main", [f"{ts(1)} CUDA out of memory"], previous=True)
    api_server.set_logs("default", "llm-vllmdecodeworker-1", "main", [f"{ts(9)} current run"])
    result = live_cli(["logs", "llm", "-p"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == ["VllmDecodeWorker/llm-vllmdecodeworker-1 CUDA out of memory"]
    assert "Frontend/llm-frontend-1/main: no previous container to read; skipped" in result.stderr
    assert [r.query.get("previous") for r in api_server.requests_for(path_regex=r"/log$")] == ["true"]


def test_filters_timestamps_and_tail(api_server, live_cli):
    seed_graph(api_server, pods=[pod("llm-frontend-1", "Frontend")])
    api_server.set_logs("default", "llm-frontend-1", "main", [
        f"{ts(1)} INFO started", f"{ts(2)} ERROR upstream reset", f"{ts(3)} WARN slow request", f"{ts(4)} ERROR /health failed",
    ])
    result = live_cli(["logs", "llm", "--include", "ERROR", "--include", "WARN", "--exclude", "health", "--timestamps"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"Frontend/llm-frontend-1 {ts(2)} ERROR upstream reset",
        f"Frontend/llm-frontend-1 {ts(3)} WARN slow request",
    ]
    tail = live_cli(["logs", "llm", "--tail", "1"])
    assert tail.stdout.splitlines() == ["Frontend/llm-frontend-1 ERROR /health failed"]
    since = live_cli(["logs", "llm", "--since-time", ts(3)])
    assert since.stdout.splitlines() == ["Frontend/llm-frontend-1 WARN slow request", "Frontend/llm-frontend-1 ERROR /health failed"]


def test_json_output(api_server, live_cli):
    seed_graph(api_server, pods=[pod("llm-frontend-1", "Frontend", containers=("main", "sidecar"))])
    api_server.set_logs("default", "llm-frontend-1", "main", [f"{ts(1)} listening"])
    api_server.set_logs("default", "llm-frontend-1", "sidecar", [f"{ts(2)} proxy up"])
    result = live_cli(["logs", "llm", "-o", "json", "--all-containers", "--color", "always"])
    assert result.exit_code == 0, result.stderr
    records = sorted((json.loads(line) for line in result.stdout.splitlines()), key=lambda r: r["timestamp"])
    assert records == [
        {"service": "Frontend", "pod": "llm-frontend-1", "container": "main", "timestamp": ts(1), "message": "listening"},
        {"service": "Frontend", "pod": "llm-frontend-1", "container": "sidecar", "timestamp": ts(2), "message": "proxy up"},
    ]


def test_color_always_and_never(api_server, live_cli):
    seed_graph(api_server, pods=[pod("llm-frontend-1", "Frontend")])
    api_server.set_logs("default", "llm-frontend-1", "main", [f"{ts(1)} up"])
    coloured = live_cli(["logs", "llm", "--color", "always"])
    assert coloured.stdout.startswith("\033[")
    assert "Frontend/llm-frontend-1\033[0m up" in coloured.stdout
    assert live_cli(["logs", "llm", "--color", "never"]).stdout == "Frontend/llm-frontend-1 up\n"
    assert live_cli(["logs", "llm"]).stdout == "Frontend/llm-frontend-1 up\n"  # stdout is not a terminal


def test_forbidden_pod_reported_others_continue(api_server, live_cli):
    seed_graph(api_server, pods=disagg_pods())
    for p in disagg_pods():
        api_server.set_logs("default", p["metadata"]["name"], "main", [f"{ts(1)} hello"])
    api_server.inject("GET", r"/pods/llm-vllmdecodeworker-1/log$", 403)
    result = live_cli(["logs", "llm"])
    assert result.exit_code == 3
    assert len(result.stdout.splitlines()) == 3
    assert "llm-vllmdecodeworker-1" not in result.stdout
    assert "error: VllmDecodeWorker/llm-vllmdecodeworker-1/main:" in result.stderr
    assert "forbidden" in result.stderr
    assert "error: 1 log stream failed; see the errors above" in result.stderr


def test_missing_main_container_is_reported(api_server, live_cli):
    seed_graph(api_server, pods=[pod("llm-frontend-1", "Frontend", containers=("a", "b")), pod("llm-planner-1", "Planner")])
    api_server.set_logs("default", "llm-planner-1", "main", [f"{ts(1)} planning"])
    result = live_cli(["logs", "llm"])
    assert result.exit_code == 3
    assert result.stdout == "Planner/llm-planner-1 planning\n"
    assert "pod llm-frontend-1 has no container 'main'; its containers are: a, b" in result.stderr


def test_follow_interleaves_services(api_server, follow):
    seed_graph(api_server, pods=disagg_pods())
    process = follow("llm", "-f")
    process.wait_for(lambda: len(api_server.requests_for(path_regex=r"/log$")) == 4)
    time.sleep(0.3)
    expected = []
    for second, name in enumerate(["llm-frontend-1", "llm-vllmdecodeworker-1", "llm-planner-1", "llm-frontend-1", "llm-vllmprefillworker-1"]):
        api_server.append_logs("default", name, "main", [f"{ts(second)} line {second}"])
        expected.append(f"line {second}")
        process.wait_lines(len(expected))
    assert [line.split(" ", 1)[1] for line in process.out] == expected
    assert process.out[0] == "Frontend/llm-frontend-1 line 0"
    assert process.interrupt() == 130
    assert "Traceback" not in "\n".join(process.err)


def test_follow_pod_replaced(api_server, follow):
    old = pod("llm-vllmdecodeworker-1", "VllmDecodeWorker")
    seed_graph(api_server, pods=[old])
    api_server.set_logs("default", "llm-vllmdecodeworker-1", "main", [f"{ts(1)} old pod"])
    process = follow("llm", "-f")
    process.wait_lines(1)
    api_server.delete_object("v1", "Pod", "default", "llm-vllmdecodeworker-1")
    process.wait_stderr("- VllmDecodeWorker/llm-vllmdecodeworker-1/main")
    api_server.set_logs("default", "llm-vllmdecodeworker-2", "main", [f"{ts(2)} new pod {i}" for i in range(12)])
    api_server.seed(pod("llm-vllmdecodeworker-2", "VllmDecodeWorker"))
    lines = process.wait_lines(13)
    assert lines[0] == "VllmDecodeWorker/llm-vllmdecodeworker-1 old pod"
    assert lines[1:] == [f"VllmDecodeWorker/llm-vllmdecodeworker-2 new pod {i}" for i in range(12)]
    assert any("+ VllmDecodeWorker/llm-vllmdecodeworker-2/main" in line for line in process.err)
    assert process.interrupt() == 130


def test_follow_container_restart(api_server, follow):
    seed_graph(api_server, pods=[pod("llm-vllmdecodeworker-1", "VllmDecodeWorker")])
    api_server.set_logs("default", "llm-vllmdecodeworker-1", "main", [f"{ts(1)} first run"])
    process = follow("llm", "-f")
    process.wait_lines(1)
    # The container crashes: its stream ends and the pod shows it waiting to restart.
    api_server.update_object(pod("llm-vllmdecodeworker-1", "VllmDecodeWorker", state="crashloop", restart_count=1))
    api_server.close_log_streams("default", "llm-vllmdecodeworker-1", "main")
    time.sleep(1.0)
    # The kubelet starts the next instance, which writes after the first one.
    api_server.append_logs("default", "llm-vllmdecodeworker-1", "main", [f"{ts(5)} second run"])
    api_server.update_object(pod("llm-vllmdecodeworker-1", "VllmDecodeWorker", restart_count=1, started_at=ts(5)))
    lines = process.wait_lines(2)
    time.sleep(0.5)
    assert process.out == ["VllmDecodeWorker/llm-vllmdecodeworker-1 first run", "VllmDecodeWorker/llm-vllmdecodeworker-1 second run"]
    assert lines
    assert process.interrupt() == 130


def test_follow_keeps_line_written_before_restart(api_server, follow):
    seed_graph(api_server, pods=[pod("llm-vllmdecodeworker-1", "VllmDecodeWorker")])
    api_server.set_logs("default", "llm-vllmdecodeworker-1", "main", [f"{ts(1)} first run"])
    process = follow("llm", "-f")
    process.wait_lines(1)
    # The last line of the old instance and the restart arrive together.
    api_server.append_logs("default", "llm-vllmdecodeworker-1", "main", [f"{ts(2)} last words"])
    api_server.restart_container("default", "llm-vllmdecodeworker-1", "main", lines=[f"{ts(5)} second run"])
    process.wait_lines(3)
    time.sleep(0.5)
    assert process.out == [
        "VllmDecodeWorker/llm-vllmdecodeworker-1 first run",
        "VllmDecodeWorker/llm-vllmdecodeworker-1 last words",
        "VllmDecodeWorker/llm-vllmdecodeworker-1 second run",
    ]
    assert process.interrupt() == 130


def test_follow_resumes_dropped_stream(api_server, follow):
    seed_graph(api_server, pods=[pod("llm-frontend-1", "Frontend")])
    first = [f"{ts(1)} one", f"{ts(2)} two", f"{ts(2)} two again", f"{ts(3)} three"]
    api_server.set_logs("default", "llm-frontend-1", "main", first)
    # The first log response is cut in the middle of its third line. The server
    # sends one HTTP chunk per line: hex size, CRLF, the line and its newline, CRLF.
    chunked = sum(len(f"{len(line) + 1:x}\r\n") + len(line) + 1 + 2 for line in first[:2])
    api_server.drop_connection("GET", r"/pods/llm-frontend-1/log$", after_bytes=chunked + 4 + 10)
    process = follow("llm", "-f")
    process.wait_lines(4)
    api_server.append_logs("default", "llm-frontend-1", "main", [f"{ts(4)} four"])
    process.wait_lines(5)
    time.sleep(0.5)
    assert process.out == [f"Frontend/llm-frontend-1 {m}" for m in ("one", "two", "two again", "three", "four")]
    resumed = api_server.requests_for(path_regex=r"/pods/llm-frontend-1/log$")
    assert len(resumed) >= 2
    assert resumed[-1].query.get("sinceTime") in (ts(1), ts(2))
    assert "tailLines" not in resumed[-1].query
    assert process.interrupt() == 130


def test_follow_stream_server_closed_resumes(api_server, follow):
    seed_graph(api_server, pods=[pod("llm-frontend-1", "Frontend")])
    api_server.set_logs("default", "llm-frontend-1", "main", [f"{ts(1)} one", f"{ts(2)} two"])
    process = follow("llm", "-f")
    process.wait_lines(2)
    # The server ends the stream (as on log rotation) while the container keeps running.
    api_server.close_log_streams("default", "llm-frontend-1", "main")
    process.wait_for(lambda: len(api_server.requests_for(path_regex=r"/log$")) >= 2)
    api_server.append_logs("default", "llm-frontend-1", "main", [f"{ts(3)} three"])
    process.wait_lines(3)
    time.sleep(0.5)
    assert process.out == [f"Frontend/llm-frontend-1 {m}" for m in ("one", "two", "three")]
    assert process.interrupt() == 130


def test_follow_pending_pod_starts_later(api_server, follow):
    seed_graph(api_server, pods=[pod("llm-vllmdecodeworker-1", "VllmDecodeWorker", state="waiting")])
    process = follow("llm", "-f")
    process.wait_stderr("VllmDecodeWorker/llm-vllmdecodeworker-1/main: waiting for the container to start (ContainerCreating)")
    api_server.set_logs("default", "llm-vllmdecodeworker-1", "main", [f"{ts(1)} weights loaded"])
    api_server.update_object(pod("llm-vllmdecodeworker-1", "VllmDecodeWorker"))
    assert process.wait_lines(1) == ["VllmDecodeWorker/llm-vllmdecodeworker-1 weights loaded"]
    assert not any(line.startswith("error") for line in process.err)
    assert process.interrupt() == 130


def test_follow_stream_limit(api_server, follow):
    pods = [pod(f"llm-vllmdecodeworker-{i}", "VllmDecodeWorker") for i in range(3)]
    seed_graph(api_server, pods=pods)
    for p in pods:
        api_server.set_logs("default", p["metadata"]["name"], "main", [f"{ts(1)} hello"])
    process = follow("llm", "-f", "--max-log-requests", "2")
    process.wait_lines(2)
    process.wait_stderr("--max-log-requests")
    warning = [line for line in process.err if "--max-log-requests" in line]
    assert warning == [
        "warning: 3 log streams match but --max-log-requests is 2; not following 1: "
        "VllmDecodeWorker/llm-vllmdecodeworker-2/main. Raise --max-log-requests to follow them all."
    ]
    time.sleep(0.3)
    assert not any("llm-vllmdecodeworker-2" in line for line in process.out)
    assert process.interrupt() == 130


def test_follow_forbidden_pod_others_continue(api_server, follow):
    seed_graph(api_server, pods=disagg_pods()[:2])
    api_server.inject("GET", r"/pods/llm-frontend-1/log$", 403)
    process = follow("llm", "-f")
    process.wait_stderr("error: Frontend/llm-frontend-1/main:")
    api_server.append_logs("default", "llm-vllmprefillworker-1", "main", [f"{ts(1)} still here"])
    assert process.wait_lines(1) == ["VllmPrefillWorker/llm-vllmprefillworker-1 still here"]
    assert process.interrupt() == 130


def test_broken_pipe_is_quiet(api_server, plugin_path, tmp_path):
    seed_graph(api_server, pods=disagg_pods())
    for p in disagg_pods():
        api_server.set_logs("default", p["metadata"]["name"], "main", [f"{ts(1)} line {i}" for i in range(5000)])
    stderr = tmp_path / "stderr"
    script = f"set -o pipefail; '{plugin_path}' logs llm 2>'{stderr}' | head -n 3; echo \"exit=${{PIPESTATUS[0]}}\""
    result = subprocess.run(["bash", "-c", script], env=api_server.env, capture_output=True, text=True, timeout=60)
    lines = result.stdout.splitlines()
    assert len(lines) == 4
    assert lines[-1] == "exit=141"
    assert stderr.read_text() == ""


def test_broken_pipe_while_following(api_server, plugin_path, tmp_path):
    seed_graph(api_server, pods=[pod("llm-frontend-1", "Frontend")])
    api_server.set_logs("default", "llm-frontend-1", "main", [f"{ts(1)} one", f"{ts(2)} two", f"{ts(3)} three"])
    stderr = tmp_path / "stderr"
    script = f"'{plugin_path}' logs llm -f 2>'{stderr}' | head -n 3; echo \"exit=${{PIPESTATUS[0]}}\""
    process = subprocess.Popen(["bash", "-c", script], env=api_server.env, stdout=subprocess.PIPE, text=True)
    time.sleep(2.0)
    # head has exited; the next lines make the plugin write into the closed pipe.
    api_server.append_logs("default", "llm-frontend-1", "main", [f"{ts(4)} four", f"{ts(5)} five"])
    out, _ = process.communicate(timeout=30)
    assert out.splitlines()[-1] == "exit=141"
    assert "Traceback" not in stderr.read_text()
    assert "Exception" not in stderr.read_text()


def test_kubectl_dispatches_plugin(api_server, kubectl, plugin_env):
    seed_graph(api_server, pods=[pod("llm-frontend-1", "Frontend")])
    api_server.set_logs("default", "llm-frontend-1", "main", [f"{ts(1)} via kubectl"])
    env = {**plugin_env, "KUBECONFIG": api_server.kubeconfig}
    result = subprocess.run([kubectl, "dynamo", "logs", "llm"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Frontend/llm-frontend-1 via kubectl\n"


def test_named_container_across_services(api_server, live_cli):
    seed_graph(api_server, pods=[
        pod("llm-frontend-1", "Frontend"),
        pod("llm-vllmdecodeworker-1", "VllmDecodeWorker", containers=("main", "sidecar-frontend")),
    ])
    api_server.set_logs("default", "llm-vllmdecodeworker-1", "sidecar-frontend", [f"{ts(1)} kv events on"])
    result = live_cli(["logs", "llm", "-c", "sidecar-frontend"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "VllmDecodeWorker/llm-vllmdecodeworker-1 kv events on\n"
    assert result.stderr == ""
    missing = live_cli(["logs", "llm", "-c", "istio-proxy"])
    assert missing.exit_code == 4
    assert "no pod of graph 'llm' has a container 'istio-proxy'; their containers are: main, sidecar-frontend" in missing.stderr


def test_since_sends_seconds(api_server, live_cli):
    seed_graph(api_server, pods=[pod("llm-frontend-1", "Frontend")])
    api_server.set_logs("default", "llm-frontend-1", "main", [f"{ts(1)} old line"])
    result = live_cli(["logs", "llm", "--since", "5m"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""  # the scripted line is from 2026-01-01, long before five minutes ago
    queries = [r.query for r in api_server.requests_for(path_regex=r"/log$")]
    assert queries[0].get("sinceSeconds") == "300"
    assert "tailLines" not in queries[0]


def test_usage_errors_exit_2(api_server, live_cli):
    seed_graph(api_server, pods=[pod("llm-frontend-1", "Frontend")])
    cases = [
        (["--since", "5m", "--since-time", ts(1)], "--since and --since-time cannot be used together"),
        (["-c", "main", "--all-containers"], "-c/--container and --all-containers cannot be used together"),
        (["-p", "-f"], "--previous cannot be combined with --follow"),
        (["--include", "("], "invalid --include regular expression '('"),
        (["--since-time", "yesterday"], "invalid --since-time value 'yesterday'"),
        (["--type", "router"], "Invalid value for '--type'"),
    ]
    for args, message in cases:
        result = live_cli(["logs", "llm", *args])
        assert result.exit_code == 2, args
        assert message in result.stderr, (args, result.stderr)
    assert api_server.requests_for(path_regex=r"/log$") == []


def test_help_states_defaults(cli):
    result = cli(["logs", "--help"])
    assert result.exit_code == 0
    assert "Examples:" in result.stdout
    assert "10 with -f" in result.stdout
    assert "[default: 50]" in result.stdout
    assert "--all-containers" in result.stdout


def test_follow_survives_expired_watch(api_server, follow):
    seed_graph(api_server, pods=[pod("llm-frontend-1", "Frontend")])
    api_server.expire_watch(r"/pods$")  # the first pod watch gets 410 Gone
    process = follow("llm", "-f")
    process.wait_for(lambda: len(api_server.requests_for(path_regex=r"/pods$", verb="list")) >= 2)
    api_server.set_logs("default", "llm-vllmdecodeworker-9", "main", [f"{ts(1)} joined after the expiry"])
    api_server.seed(pod("llm-vllmdecodeworker-9", "VllmDecodeWorker"))
    assert process.wait_lines(1) == ["VllmDecodeWorker/llm-vllmdecodeworker-9 joined after the expiry"]
    assert not any("watching the graph's pods failed" in line for line in process.err)
    assert process.interrupt() == 130


def test_namespace_and_kubeconfig_flags(api_server, cli):
    api_server.seed(graph(namespace="dynamo"), pod("llm-frontend-1", "Frontend", namespace="dynamo"))
    api_server.set_logs("dynamo", "llm-frontend-1", "main", [f"{ts(1)} in dynamo"])
    result = cli(["logs", "llm", "-n", "dynamo", "--kubeconfig", api_server.kubeconfig])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "Frontend/llm-frontend-1 in dynamo\n"
    elsewhere = cli(["logs", "llm", "--kubeconfig", api_server.kubeconfig])
    assert elsewhere.exit_code == 4
    assert 'dynamographdeployments.nvidia.com "llm" not found in namespace "default"' in elsewhere.stderr


def test_previous_log_missing_on_server_is_skipped(api_server, live_cli):
    # The status shows a restart, but the server has no log of the previous instance.
    seed_graph(api_server, pods=[pod("llm-vllmdecodeworker-1", "VllmDecodeWorker", restart_count=1)])
    result = live_cli(["logs", "llm", "--previous"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert "VllmDecodeWorker/llm-vllmdecodeworker-1/main: no previous container to read; skipped" in result.stderr


def run_on_terminal(plugin_path, args, env):
    """Run the plugin with stdout on a pseudo-terminal and return what it wrote there."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen([plugin_path, *args], env=env, stdout=terminal, stderr=subprocess.PIPE)
    os.close(terminal)
    output = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the terminal closes when the process exits
            break
        if not chunk:
            break
        output += chunk
    process.wait(30)
    os.close(controller)
    return output.decode()


def test_terminal_colour_and_no_color(api_server, plugin_path):
    seed_graph(api_server, pods=[pod("llm-frontend-1", "Frontend")])
    api_server.set_logs("default", "llm-frontend-1", "main", [f"{ts(1)} up"])
    env = {k: v for k, v in api_server.env.items() if k != "NO_COLOR"}
    coloured = run_on_terminal(plugin_path, ["logs", "llm"], env)
    assert "\033[" in coloured
    assert "Frontend/llm-frontend-1\033[0m up" in coloured
    plain = run_on_terminal(plugin_path, ["logs", "llm"], {**env, "NO_COLOR": "1"})
    assert "\033[" not in plain
    assert "Frontend/llm-frontend-1 up" in plain
