"""Real kubectl against the test API server, and kubectl dispatching to the plugin."""

import queue
import subprocess
import threading
import time

from tests.conftest import run_process
from tests.fakeapi import wait_for

GRAPH = """
apiVersion: nvidia.com/v1alpha1
kind: DynamoGraphDeployment
metadata: {name: llm, namespace: dynamo, labels: {team: a}}
spec:
  services:
    Frontend: {replicas: 1}
"""

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: dynamo}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: main, image: nginx}]}
status: {replicas: 1}
"""

POD = """
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: dynamo, labels: {app: web}}
spec: {containers: [{name: main, image: nginx}]}
status: {phase: Running}
"""


class LineReader:
    """Read a process's stdout on a thread, so that a test waits for a line with a deadline
    instead of hanging when kubectl prints nothing."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.lines: "queue.Queue[str]" = queue.Queue()
        threading.Thread(target=self._pump, args=(proc.stdout,), daemon=True).start()

    def _pump(self, stream) -> None:
        for line in stream:
            self.lines.put(line)

    def next(self, timeout: float = 20) -> str:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"kubectl printed no line within {timeout} s") from None


def kubectl_run(kubectl, api_server, *args, input=None):
    return run_process([kubectl, *args], api_server.env, input=input)


def test_get_list_and_not_found(kubectl, api_server):
    api_server.seed(GRAPH)
    listed = kubectl_run(kubectl, api_server, "get", "dgd", "-n", "dynamo", "-l", "team=a")
    assert listed.exit_code == 0, listed.stderr
    assert listed.stdout.splitlines()[1].split()[0] == "llm"
    missing = kubectl_run(kubectl, api_server, "get", "dgd", "nope", "-n", "dynamo")
    assert missing.exit_code == 1
    assert 'Error from server (NotFound): dynamographdeployments.nvidia.com "nope" not found' in missing.stderr
    jsonpath = kubectl_run(kubectl, api_server, "get", "dynamographdeployment", "llm", "-n", "dynamo", "-o", "jsonpath={.spec.services.Frontend.replicas}")
    assert jsonpath.stdout == "1"


def test_server_side_apply_then_create_conflict(kubectl, api_server, tmp_path):
    manifest = tmp_path / "graph.yaml"
    manifest.write_text(GRAPH)
    api_server.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "dynamo"}})
    applied = kubectl_run(kubectl, api_server, "apply", "--server-side", "--validate=false", "-f", str(manifest))
    assert applied.exit_code == 0, applied.stderr
    assert "dynamographdeployment.nvidia.com/llm serverside-applied" in applied.stdout
    stored = api_server.get_object("nvidia.com/v1alpha1", "DynamoGraphDeployment", "dynamo", "llm")
    assert [(e["manager"], e["operation"]) for e in stored["metadata"]["managedFields"]] == [("kubectl", "Apply")]
    again = kubectl_run(kubectl, api_server, "create", "--validate=false", "-f", str(manifest))
    assert again.exit_code == 1
    assert "Error from server (AlreadyExists)" in again.stderr


def test_scale_deployment_and_refuse_graph(kubectl, api_server):
    api_server.seed(DEPLOYMENT, GRAPH)
    scaled = kubectl_run(kubectl, api_server, "scale", "deployment/web", "--replicas=3", "-n", "dynamo")
    assert scaled.exit_code == 0, scaled.stderr
    assert api_server.get_object("apps/v1", "Deployment", "dynamo", "web")["spec"]["replicas"] == 3
    scale_requests = api_server.requests_for(path_regex="/scale$")
    assert scale_requests
    assert all("fieldManager" not in r.query for r in scale_requests)
    refused = kubectl_run(kubectl, api_server, "scale", "dgd/llm", "--replicas=3", "-n", "dynamo")
    assert refused.exit_code == 1
    assert "NotFound" in refused.stderr


def test_logs_follow_streams_until_the_container_stops(kubectl, api_server):
    api_server.seed(POD)
    api_server.set_logs("dynamo", "web-1", "main", ["2026-01-01T00:00:00Z ready"])
    proc = subprocess.Popen(
        [kubectl, "logs", "-f", "web-1", "-n", "dynamo"], env=api_server.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    reader = LineReader(proc)
    try:
        assert reader.next() == "ready\n"
        api_server.append_logs("dynamo", "web-1", "main", ["serving"])
        assert reader.next() == "serving\n"
        api_server.close_log_streams("dynamo", "web-1")
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=20)


def test_get_watch_shows_an_update(kubectl, api_server):
    api_server.seed(POD)
    proc = subprocess.Popen(
        [kubectl, "get", "pods", "-n", "dynamo", "-w", "--request-timeout=20s", "-o", "name"],
        env=api_server.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    reader = LineReader(proc)
    try:
        assert reader.next().strip() == "pod/web-1"
        assert wait_for(lambda: api_server.requests_for("watch"), timeout=10)
        time.sleep(0.2)
        pod = api_server.get_object("v1", "Pod", "dynamo", "web-1")
        api_server.update_object({**pod, "status": {"phase": "Succeeded"}})
        assert reader.next().strip() == "pod/web-1"
    finally:
        proc.kill()
        proc.wait(timeout=20)


def test_kubectl_dispatches_plugin_with_kubeconfig(kubectl, api_server, plugin_env):
    env = dict(plugin_env, KUBECONFIG=api_server.kubeconfig)
    result = run_process([kubectl, "dynamo", "version"], env)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("kubectl-dynamo ")


def test_kubectl_dispatches_a_live_command(kubectl, api_server, plugin_env):
    api_server.seed(GRAPH)
    env = dict(plugin_env, KUBECONFIG=api_server.kubeconfig)
    result = run_process([kubectl, "dynamo", "get", "-n", "dynamo", "-o", "name"], env)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "dynamographdeployment.nvidia.com/llm"
    lists = api_server.requests_for("list", path_regex="/namespaces/dynamo/dynamographdeployments$")
    assert lists
    assert lists[0].user_agent.startswith("kubectl-dynamo/")
    missing = run_process([kubectl, "dynamo", "get", "nope", "-n", "dynamo"], env)
    assert missing.exit_code == 4
    assert "Traceback" not in missing.stderr
