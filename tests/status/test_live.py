"""`get` and `status` end to end: the real kubernetes client against the test API server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from kubectl_dynamo.status import model
from tests.conftest import invoke, run_process
from tests.status.scenarios import NOW, as_yaml, load

EXPECTED = Path(__file__).resolve().parent.parent / "data" / "expected"
# UPDATE_GOLDEN=1 rewrites the expected files instead of comparing with them.
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


@pytest.fixture
def pinned_clock(monkeypatch):
    monkeypatch.setattr(model, "current_time", lambda: NOW)


@pytest.fixture
def run(api_server, pinned_clock):
    def run_cli(*args: str):
        return invoke(list(args), env={"KUBECONFIG": api_server.kubeconfig})

    return run_cli


def assert_golden(name: str, text: str) -> None:
    path = EXPECTED / name
    if UPDATE:
        path.write_text(text)
    assert path.exists(), f"missing {path}; run with UPDATE_GOLDEN=1 to create it"
    assert text == path.read_text()


def seed(api_server, *files: str) -> None:
    api_server.seed(as_yaml(load(*files)))


# --- status -----------------------------------------------------------------------------


@pytest.mark.parametrize("files, graph, golden, code", [
    (("all-ready",), "llm-agg", "status-all-ready.txt", 0),
    (("all-ready", "rollout"), "llm-agg", "status-rollout.txt", 1),
    (("all-ready", "image-pull"), "llm-agg", "status-image-pull.txt", 1),
    (("all-ready", "pending-gpu"), "llm-agg", "status-pending-gpu.txt", 1),
    (("multinode",), "llm-disagg", "status-multinode.txt", 1),
    (("grove",), "grove-graph", "status-grove.txt", 1),
    (("no-children",), "fresh", "status-no-children.txt", 1),
    (("all-ready", "flux"), "llm-agg", "status-flux.txt", 0),
], ids=lambda v: v if isinstance(v, str) and v.endswith(".txt") else None)
def test_status_golden(api_server, run, files, graph, golden, code):
    seed(api_server, *files)
    result = run("status", graph, "-n", "dynamo")
    assert result.stderr == ""
    assert result.exit_code == code
    assert_golden(golden, result.stdout)


def test_status_crashloop_with_events(api_server, run):
    seed(api_server, "all-ready", "crashloop")
    result = run("status", "llm-agg", "-n", "dynamo", "--events")
    assert result.exit_code == 1
    assert "unrelated-pod" not in result.stdout
    assert_golden("status-crashloop-events.txt", result.stdout)


@pytest.mark.parametrize("files, graph, golden", [
    (("multinode",), "llm-disagg", "status-tree-multinode.txt"),
    (("grove",), "grove-graph", "status-tree-grove.txt"),
])
def test_status_tree_golden(api_server, run, files, graph, golden):
    seed(api_server, *files)
    result = run("status", graph, "-n", "dynamo", "--tree")
    assert result.exit_code == 1
    assert_golden(golden, result.stdout)


def test_status_json_matches_table(api_server, run):
    seed(api_server, "all-ready", "rollout")
    result = run("status", "llm-agg", "-n", "dynamo", "-o", "json")
    doc = json.loads(result.stdout)
    assert result.exit_code == 1
    assert doc["apiVersion"] == "kubectl-dynamo/v1alpha1"
    assert doc["kind"] == "GraphStatus"
    assert "metadata" not in doc
    assert doc["graph"] == {"apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeployment",
                            "namespace": "dynamo", "name": "llm-agg", "uid": "6f1c1d7e-0000-4000-8000-000000000001",
                            "generation": 2, "creationTimestamp": "2026-01-05T12:00:00Z"}
    worker = next(s for s in doc["serviceStatuses"] if s["name"] == "VllmWorker")
    assert worker["verdict"] == "Progressing"
    assert worker["workload"] == {"kind": "Deployment", "name": "llm-agg-vllmworker"}
    assert [p["name"] for p in worker["workloads"][0]["pods"]] == [
        "llm-agg-vllmworker-5f6b7-aaaaa", "llm-agg-vllmworker-5f6b7-bbbbb", "llm-agg-vllmworker-8d9e0-ccccc"]


def test_status_yaml_output(api_server, run):
    seed(api_server, "grove")
    doc = yaml.safe_load(run("status", "grove-graph", "-n", "dynamo", "-o", "yaml").stdout)
    assert doc["apiVersion"] == "kubectl-dynamo/v1alpha1"
    assert doc["kind"] == "GraphStatus"
    assert doc["graph"]["kind"] == "DynamoGraphDeployment"
    assert doc["graph"]["name"] == "grove-graph"
    assert doc["orchestrator"] == "Grove"
    assert doc["services"] == {"ready": 1, "total": 2}


def test_status_deleted_graph_is_not_found(api_server, run):
    seed(api_server, "all-ready")
    api_server.delete_object("nvidia.com/v1alpha1", "DynamoGraphDeployment", "dynamo", "llm-agg")
    result = run("status", "llm-agg", "-n", "dynamo")
    assert result.exit_code == 4
    assert result.stdout == ""
    assert 'dynamographdeployments.nvidia.com "llm-agg" not found in namespace "dynamo"' in result.stderr
    assert "List the graphs with `kubectl dynamo get -n dynamo`, or -A for every namespace." in result.stderr


def test_status_request_count_does_not_grow_with_services(api_server, run):
    seed(api_server, "all-ready")
    api_server.clear_requests()
    run("status", "llm-agg", "-n", "dynamo")
    small = len(api_server.requests)

    objects = load("all-ready")
    dgd = objects[0]
    dgd["metadata"]["name"] = "big"
    template = [o for o in objects if o["kind"] in ("DynamoComponentDeployment", "Deployment", "Pod")
                and "vllmworker" in o["metadata"]["name"]]
    for index in range(8):
        service = f"W{index}"
        dgd["spec"]["services"][service] = {"componentType": "worker", "replicas": 2}
        for obj in template:
            copy = yaml.safe_load(yaml.safe_dump(obj))
            copy["metadata"]["name"] = obj["metadata"]["name"].replace("llm-agg-vllmworker", f"big-w{index}")
            copy["metadata"]["labels"].update({"nvidia.com/dynamo-graph-deployment-name": "big",
                                               "nvidia.com/dynamo-component": service})
            if obj["kind"] == "DynamoComponentDeployment":
                copy["spec"]["serviceName"] = service
            if obj["kind"] == "Deployment":
                copy["spec"]["selector"]["matchLabels"]["nvidia.com/selector"] = f"big-w{index}"
            if obj["kind"] == "Pod":
                copy["metadata"]["labels"]["nvidia.com/selector"] = f"big-w{index}"
            api_server.seed(copy)
    del dgd["spec"]["services"]["VllmWorker"], dgd["spec"]["services"]["Frontend"]
    api_server.seed(dgd)
    api_server.clear_requests()
    result = run("status", "big", "-n", "dynamo")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "W7" in result.stdout
    assert len(api_server.requests) == small


# --- status --wait and -w ---------------------------------------------------------------


def _ready_worker(api_server):
    ready = {o["kind"]: o for o in load("all-ready") if "vllmworker" in o["metadata"]["name"]}
    live = api_server.get_object("apps/v1", "Deployment", "dynamo", "llm-agg-vllmworker")
    live["status"] = ready["Deployment"]["status"]
    live["status"]["observedGeneration"] = live["metadata"].get("generation", 1)
    api_server.update_object(live)
    api_server.delete_object("v1", "Pod", "dynamo", "llm-agg-vllmworker-8d9e0-ccccc")


def test_status_wait_returns_when_ready(api_server, run):
    seed(api_server, "all-ready", "rollout")
    api_server.after(1.0, _ready_worker, api_server)
    started = time.monotonic()
    result = run("status", "llm-agg", "-n", "dynamo", "--wait", "--timeout", "20s")
    assert result.exit_code == 0, result.stderr
    assert time.monotonic() - started < 15
    assert "waiting for dynamo/llm-agg: VllmWorker: 3 replicas running, 2 desired" in result.stderr
    assert "Verdict:    Ready" in result.stdout


def test_status_wait_times_out_naming_services(api_server, run):
    seed(api_server, "all-ready", "rollout")
    result = run("status", "llm-agg", "-n", "dynamo", "--wait", "--timeout", "1s")
    assert result.exit_code == 1
    assert "timed out after 1s waiting for graph dynamo/llm-agg: not ready: VllmWorker: 3 replicas running, 2 desired" in result.stderr
    assert result.stdout == ""


def test_status_wait_fails_early_on_progress_deadline(api_server, run):
    seed(api_server, "all-ready", "rollout")
    live = api_server.get_object("apps/v1", "Deployment", "dynamo", "llm-agg-vllmworker")
    live["status"]["conditions"] = [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                                     "message": 'ReplicaSet "llm-agg-vllmworker-8d9e0" has timed out progressing.'}]
    api_server.update_object(live)
    started = time.monotonic()
    result = run("status", "llm-agg", "-n", "dynamo", "--wait", "--timeout", "60s")
    assert result.exit_code == 1
    assert time.monotonic() - started < 10
    assert "cannot become ready: VllmWorker: ProgressDeadlineExceeded" in result.stderr


def test_wait_for_graph_with_replica_count(api_server):
    from kubectl_dynamo.cli.context import AppContext
    from kubectl_dynamo.cluster.protocol import ConnectionOptions
    from kubectl_dynamo.errors import TimeoutExpired
    from kubectl_dynamo.status.wait import wait_for_graph

    seed(api_server, "all-ready")
    cluster = AppContext(connection=ConnectionOptions(kubeconfig=api_server.kubeconfig, namespace="dynamo")).connect()
    lines = []
    status = wait_for_graph(cluster, "dynamo", "llm-agg", services={"VllmWorker": 2}, timeout=10, on_progress=lines.append)
    assert status.is_ready
    with pytest.raises(TimeoutExpired) as raised:
        wait_for_graph(cluster, "dynamo", "llm-agg", services={"VllmWorker": 3}, timeout=1, on_progress=lines.append)
    assert "VllmWorker: the graph asks for 2 replicas, not 3 yet" in str(raised.value)

    # The graph is scaled: the DGD first, then the Deployment catches up.
    def scale():
        dgd = api_server.get_object("nvidia.com/v1alpha1", "DynamoGraphDeployment", "dynamo", "llm-agg")
        dgd["spec"]["services"]["VllmWorker"]["replicas"] = 3
        api_server.update_object(dgd)
        deployment = api_server.get_object("apps/v1", "Deployment", "dynamo", "llm-agg-vllmworker")
        deployment["spec"]["replicas"] = 3
        deployment = api_server.update_object(deployment)
        # The Deployment controller then reports the new generation.
        deployment["status"].update({"replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3,
                                     "observedGeneration": deployment["metadata"]["generation"]})
        api_server.update_object(deployment)

    api_server.after(0.5, scale)
    status = wait_for_graph(cluster, "dynamo", "llm-agg", services={"VllmWorker": 3}, timeout=15, on_progress=lines.append)
    assert next(s for s in status.services if s.name == "VllmWorker").ready == 3


def test_wait_for_unknown_service_is_not_found(api_server):
    from kubectl_dynamo.cli.context import AppContext
    from kubectl_dynamo.cluster.protocol import ConnectionOptions
    from kubectl_dynamo.errors import NotFoundError
    from kubectl_dynamo.status.wait import wait_for_graph

    seed(api_server, "all-ready")
    cluster = AppContext(connection=ConnectionOptions(kubeconfig=api_server.kubeconfig, namespace="dynamo")).connect()
    with pytest.raises(NotFoundError) as raised:
        wait_for_graph(cluster, "dynamo", "llm-agg", services={"Decode": 1}, timeout=5, on_progress=print)
    assert raised.value.hint == "The graph's services are: Frontend, VllmWorker."


def test_status_watch_redraws_on_change(api_server):
    seed(api_server, "all-ready", "rollout")
    command = [sys.executable, "-m", "kubectl_dynamo", "status", "llm-agg", "-n", "dynamo", "-w"]
    proc = subprocess.Popen(command, env=api_server.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # A watch that never prints would block readline(): end the process instead.
    killer = threading.Timer(30, proc.kill)
    killer.start()
    try:
        frames = []
        deadline = time.monotonic() + 20
        changed = False
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            if line.startswith("Verdict:"):
                frames.append(line.strip())
                if not changed:
                    _ready_worker(api_server)
                    changed = True
                elif "Ready" in line:
                    break
        assert frames[0].startswith("Verdict:    Progressing")
        assert frames[-1] == "Verdict:    Ready"
    finally:
        killer.cancel()
        proc.terminate()
        proc.wait(timeout=10)


# --- get --------------------------------------------------------------------------------


def _seed_many(api_server):
    seed(api_server, "all-ready", "crashloop")
    seed(api_server, "multinode")
    seed(api_server, "grove")
    seed(api_server, "no-children")


def test_get_golden(api_server, run):
    _seed_many(api_server)
    result = run("get", "-n", "dynamo")
    assert result.exit_code == 0
    assert_golden("get-dynamo.txt", result.stdout)


def test_get_all_namespaces_wide_golden(api_server, run):
    _seed_many(api_server)
    other = load("all-ready")
    for obj in other:
        obj["metadata"]["namespace"] = "team-b"
    api_server.seed(as_yaml(other))
    result = run("get", "-A", "-o", "wide", "--sort-by", "age")
    assert result.exit_code == 0
    assert_golden("get-all-namespaces-wide.txt", result.stdout)


def test_get_flux_column(api_server, run):
    seed(api_server, "all-ready", "flux")
    result = run("get", "-n", "dynamo")
    assert_golden("get-flux.txt", result.stdout)
    doc = json.loads(run("get", "llm-agg", "-n", "dynamo", "-o", "json").stdout)
    assert doc["flux"]["verdict"] == "Pending"
    assert doc["flux"]["kustomization"] == "flux-system/inference"


def test_get_json_is_a_list_with_identity(api_server, run):
    _seed_many(api_server)
    doc = json.loads(run("get", "-n", "dynamo", "-o", "json").stdout)
    assert doc["apiVersion"] == "kubectl-dynamo/v1alpha1"
    assert doc["kind"] == "GraphStatusList"
    assert {i["kind"] for i in doc["items"]} == {"GraphStatus"}
    assert [i["graph"]["name"] for i in doc["items"]] == ["fresh", "grove-graph", "llm-agg", "llm-disagg"]
    assert {i["graph"]["namespace"] for i in doc["items"]} == {"dynamo"}
    assert doc["items"][2]["verdict"] == "Degraded"
    assert doc["items"][2]["replicas"] == {"ready": 2, "desired": 3}


def test_get_name_output_and_no_headers(api_server, run):
    _seed_many(api_server)
    assert run("get", "-n", "dynamo", "-o", "name").stdout.splitlines()[0] == "dynamographdeployment.nvidia.com/fresh"
    assert not run("get", "-n", "dynamo", "--no-headers").stdout.startswith("NAME")


def test_get_label_selector(api_server, run):
    _seed_many(api_server)
    dgd = api_server.get_object("nvidia.com/v1alpha1", "DynamoGraphDeployment", "dynamo", "grove-graph")
    dgd["metadata"]["labels"] = {"team": "research"}
    api_server.update_object(dgd)
    result = run("get", "-n", "dynamo", "-l", "team=research", "--no-headers")
    assert [line.split()[0] for line in result.stdout.splitlines()] == ["grove-graph"]


def test_get_no_graphs(api_server, run):
    api_server.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "empty"}})
    result = run("get", "-n", "empty")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == "No resources found in empty namespace.\n"


def test_get_missing_name(api_server, run):
    _seed_many(api_server)
    result = run("get", "llm-agg", "nope", "-n", "dynamo")
    assert result.exit_code == 4
    assert result.stdout.splitlines()[1].startswith("llm-agg ")
    assert 'dynamographdeployments.nvidia.com "nope" not found in namespace "dynamo"' in result.stderr
    assert "List the graphs with `kubectl dynamo get -n dynamo`, or -A for every namespace." in result.stderr


def test_get_names_with_selector_is_usage_error(api_server, run):
    result = run("get", "a", "-l", "x=y", "-n", "dynamo")
    assert result.exit_code == 2
    assert "cannot be given together" in result.stderr


# --- through real kubectl ---------------------------------------------------------------


def test_status_through_kubectl(api_server, kubectl, plugin_env):
    seed(api_server, "all-ready", "image-pull")
    env = {**plugin_env, "KUBECONFIG": api_server.kubeconfig}
    result = run_process([kubectl, "dynamo", "status", "llm-agg", "-n", "dynamo"], env)
    assert result.exit_code == 1, result.stderr
    assert "Degraded: ImagePullBackOff" in result.stdout
    result = run_process([kubectl, "dynamo", "get", "-n", "dynamo", "--no-headers"], env)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.split()[:2] == ["llm-agg", "Degraded"]


def test_get_watch_prints_changed_rows(api_server):
    seed(api_server, "all-ready", "rollout")
    command = [sys.executable, "-m", "kubectl_dynamo", "get", "-n", "dynamo", "-w"]
    proc = subprocess.Popen(command, env=api_server.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # A watch that never prints would block readline(): end the process instead.
    killer = threading.Timer(30, proc.kill)
    killer.start()
    try:
        assert proc.stdout.readline().split()[:2] == ["NAME", "STATE"]
        assert proc.stdout.readline().split()[:3] == ["llm-agg", "Progressing", "1/2"]
        _ready_worker(api_server)
        assert proc.stdout.readline().split()[:3] == ["llm-agg", "Ready", "2/2"]
    finally:
        killer.cancel()
        proc.terminate()
        proc.wait(timeout=10)


def test_status_forbidden_pods_is_cluster_error(api_server, run):
    seed(api_server, "all-ready")
    api_server.inject("GET", r"/api/v1/namespaces/dynamo/pods", 403)
    result = run("status", "llm-agg", "-n", "dynamo")
    assert result.exit_code == 3
    assert result.stdout == ""
    assert "forbidden" in result.stderr.lower()


def test_status_missing_grove_crds_still_works(api_server, run):
    # A graph without status.services makes status list Grove kinds too; a 404 on
    # those collections (CRD not installed) counts as "none".
    objects = load("all-ready")
    del objects[0]["status"]["services"]
    api_server.seed(as_yaml(objects))
    api_server.inject("GET", r"/apis/grove.io/v1alpha1/namespaces/dynamo/podcliques", 404)
    result = run("status", "llm-agg", "-n", "dynamo")
    assert result.exit_code == 0, result.stderr
    assert "orchestrated by Deployment" in result.stdout


def test_get_without_dgd_crd_says_so(api_server, run):
    api_server.inject("GET", r"/apis/nvidia.com/v1alpha1/namespaces/dynamo/dynamographdeployments", 404,
                      body="404 page not found")
    result = run("get", "-n", "dynamo")
    assert result.exit_code == 4
    assert "does not serve" in result.stderr
    assert "Is the CRD installed?" in result.stderr


def test_status_watch_ends_when_graph_deleted(api_server):
    seed(api_server, "all-ready", "rollout")
    command = [sys.executable, "-m", "kubectl_dynamo", "status", "llm-agg", "-n", "dynamo", "-w"]
    proc = subprocess.Popen(command, env=api_server.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killer = threading.Timer(30, proc.kill)
    killer.start()
    try:
        line = proc.stdout.readline()
        while line and not line.startswith("Verdict:"):
            line = proc.stdout.readline()
        assert line.startswith("Verdict:")
        api_server.delete_object("nvidia.com/v1alpha1", "DynamoGraphDeployment", "dynamo", "llm-agg")
        assert proc.wait(timeout=20) == 4
        assert 'dynamographdeployments.nvidia.com "llm-agg" was deleted from namespace "dynamo"' in proc.stderr.read()
    finally:
        killer.cancel()
        proc.kill()
        proc.wait(timeout=10)


def test_status_wait_lists_again_after_410_gone(api_server, run):
    seed(api_server, "all-ready", "rollout")
    api_server.expire_watch(r"/deployments$", count=1)
    api_server.after(1.0, _ready_worker, api_server)
    result = run("status", "llm-agg", "-n", "dynamo", "--wait", "--timeout", "20s")
    assert result.exit_code == 0, result.stderr
    lists = [r for r in api_server.requests_for(path_regex=r"/namespaces/dynamo/deployments$") if r.verb == "list"]
    assert len(lists) >= 2


def test_get_color_always_paints_state(api_server, run):
    seed(api_server, "all-ready")
    colored = run("get", "-n", "dynamo", "--color", "always").stdout
    plain = run("get", "-n", "dynamo", "--color", "never").stdout
    assert "\x1b[32mReady\x1b[0m" in colored
    assert "\x1b[" not in plain
    # Colour codes do not shift the columns.
    assert [len(line) for line in plain.splitlines()][0] == len(colored.splitlines()[0])


def test_status_yaml_not_applied_as_graph(api_server, run, kubectl):
    seed(api_server, "all-ready")
    document = run("status", "llm-agg", "-n", "dynamo", "-o", "yaml").stdout
    api_server.clear_requests()
    applied = subprocess.run([kubectl, "apply", "--dry-run=server", "--validate=false", "-f", "-"], input=document,
                             env=api_server.env, capture_output=True, text=True, timeout=30)
    assert applied.returncode != 0
    assert 'no matches for kind "GraphStatus" in version "kubectl-dynamo/v1alpha1"' in applied.stderr
    assert [r for r in api_server.requests if r.method in ("PATCH", "PUT", "POST")] == []
