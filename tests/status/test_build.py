"""The status view model built from hand-made live objects and the operator's status vectors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kubectl_dynamo.status.build import GraphSnapshot, build_status
from kubectl_dynamo.status.model import Verdict
from kubectl_dynamo.status.pods import describe_problem
from tests.status.scenarios import load, snapshot

GOLDEN = Path(__file__).resolve().parent.parent / "data" / "golden"


def service(graph, name):
    return next(s for s in graph.services if s.name == name)


def test_all_ready():
    graph = build_status(snapshot(load("all-ready"), "llm-agg"))
    assert graph.verdict is Verdict.READY
    assert (graph.services_ready, len(graph.services)) == (2, 2)
    assert (graph.replicas_ready, graph.replicas_desired) == (3, 3)
    assert service(graph, "VllmWorker").restarts == 1
    assert graph.orchestrator == "Deployment"


def test_rollout_with_old_pods_ready_is_progressing():
    graph = build_status(snapshot(load("all-ready", "rollout"), "llm-agg"))
    worker = service(graph, "VllmWorker")
    assert graph.operator_state == "successful"
    assert graph.verdict is Verdict.PROGRESSING
    assert worker.verdict is Verdict.PROGRESSING
    assert worker.reason.startswith("3 replicas running, 2 desired")


def test_image_pull_failure_is_degraded():
    graph = build_status(snapshot(load("all-ready", "image-pull"), "llm-agg"))
    worker = service(graph, "VllmWorker")
    assert graph.verdict is Verdict.DEGRADED
    assert worker.verdict is Verdict.DEGRADED
    assert worker.reason.startswith('ImagePullBackOff: container main: Back-off pulling image "nvcr.io/nvidia/ai-dynamo/vllm-runtime:0.8.9"')
    assert not worker.failed_for_good


def test_pending_gpu_pods_show_scheduler_message():
    graph = build_status(snapshot(load("all-ready", "pending-gpu"), "llm-agg"))
    worker = service(graph, "VllmWorker")
    assert worker.verdict is Verdict.DEGRADED
    assert worker.reason.startswith("Unschedulable: 0/8 nodes are available: 8 Insufficient nvidia.com/gpu.")
    assert worker.reason.endswith("(2 pods)")
    assert (worker.desired, worker.ready) == (4, 2)


def test_crash_looping_worker_names_oom_kill():
    graph = build_status(snapshot(load("all-ready", "crashloop"), "llm-agg"))
    worker = service(graph, "VllmWorker")
    assert worker.verdict is Verdict.DEGRADED
    assert worker.reason == ("CrashLoopBackOff: container main last terminated: OOMKilled, exit code 137 "
                             "(pod llm-agg-vllmworker-5f6b7-bbbbb)")
    assert worker.restarts == 8
    assert [e.name for e in worker.events] == ["llm-agg-vllmworker-5f6b7-bbbbb"]


def test_multinode_service_counts_groups():
    graph = build_status(snapshot(load("multinode"), "llm-disagg"))
    decode = service(graph, "decode")
    assert decode.kind == "LeaderWorkerSet"
    assert (decode.desired, decode.ready, decode.updated) == (2, 1, 2)
    assert decode.verdict is Verdict.PROGRESSING
    assert decode.reason.startswith("1/2 ready")
    assert [w.name for w in decode.workloads] == ["llm-disagg-decode-0", "llm-disagg-decode-1"]
    assert [len(w.pods) for w in decode.workloads] == [2, 2]
    assert graph.orchestrator == "Deployment+LeaderWorkerSet"


def test_grove_stale_clique_is_not_ready():
    graph = build_status(snapshot(load("grove"), "grove-graph"))
    frontend, decode = service(graph, "Frontend"), service(graph, "decode")
    assert graph.orchestrator == "Grove"
    assert frontend.kind == "PodClique"
    assert frontend.verdict is Verdict.PROGRESSING
    assert frontend.reason == "status is stale (observedGeneration 2 < generation 3)"
    assert decode.kind == "PodCliqueScalingGroup"
    assert decode.verdict is Verdict.READY
    assert decode.restarts == 1


def test_grove_tree_nests_cliques_under_scaling_group():
    graph = build_status(snapshot(load("grove"), "grove-graph"))
    rows = [(r.depth, r.kind, r.name) for r in graph.tree]
    assert rows[:2] == [(0, "DynamoGraphDeployment", "grove-graph"), (1, "PodCliqueSet", "grove-graph")]
    assert (2, "PodCliqueScalingGroup", "grove-graph-0-decode") in rows
    assert (3, "PodClique", "grove-graph-0-decode-0-decode-ldr") in rows
    assert (4, "Pod", "grove-graph-0-decode-0-decode-ldr-a1b2c") in rows


def test_graph_without_status_or_children_is_unknown():
    graph = build_status(snapshot(load("no-children"), "fresh"))
    assert graph.verdict is Verdict.UNKNOWN
    assert "has not reconciled" in graph.reason
    assert all(s.verdict is Verdict.UNKNOWN for s in graph.services)
    assert (graph.replicas_ready, graph.replicas_desired) == (0, 2)


def test_pending_graph_without_children_is_progressing():
    dgd = load("no-children")[0]
    dgd["status"] = {"state": "pending"}
    graph = build_status(GraphSnapshot(dgd=dgd))
    assert graph.verdict is Verdict.PROGRESSING
    assert service(graph, "worker").reason == "no workload yet: waiting for the operator to create it"


def test_invalid_component_deployment_fails_for_good():
    objects = load("all-ready")
    dcd = next(o for o in objects if o["metadata"]["name"] == "llm-agg-vllmworker" and o["kind"] == "DynamoComponentDeployment")
    dcd["status"]["conditions"][0] = {"type": "Valid", "status": "False", "reason": "ValidationFailed",
                                      "message": "Validation failed: spec.replicas must be non-negative"}
    graph = build_status(snapshot(objects, "llm-agg"))
    worker = service(graph, "VllmWorker")
    assert worker.verdict is Verdict.FAILED
    assert worker.failed_for_good
    assert graph.failed_for_good


def test_replica_change_not_yet_applied_is_progressing():
    objects = load("all-ready")
    objects[0]["spec"]["services"]["VllmWorker"]["replicas"] = 3
    worker = service(build_status(snapshot(objects, "llm-agg")), "VllmWorker")
    assert worker.verdict is Verdict.PROGRESSING
    assert "has 2 replicas, the graph asks for 3" in worker.reason


# --- the operator's DGD status vectors, seeded as live children -------------------------


def _vector_cases(name, section=None):
    data = yaml.safe_load((GOLDEN / name).read_text())
    inputs = data["input"][section] if section else data["input"]
    expected = data["expected"][section] if section else data["expected"]
    return [(case, inputs[case], expected[case]) for case in inputs]


def _dcd_children(case_input):
    """Turn each DCD's recorded status.service into a live Deployment with those counters."""
    objects = []
    for dcd in case_input["existing_dcds"]:
        counters = dcd["status"]["service"]
        name = dcd["metadata"]["name"]
        service_name = dcd["spec"]["serviceName"]
        labels = {"nvidia.com/dynamo-graph-deployment-name": "test-dgd", "nvidia.com/dynamo-component": service_name}
        objects.append({**dcd, "kind": "DynamoComponentDeployment", "metadata": {**dcd["metadata"], "labels": labels}})
        available = dcd["status"]["conditions"][0]["status"]
        objects.append({
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": "default", "generation": 1, "labels": labels},
            "spec": {"replicas": dcd["spec"]["replicas"], "selector": {"matchLabels": {"nvidia.com/selector": name}}},
            "status": {"observedGeneration": 1, "replicas": counters["replicas"], "updatedReplicas": counters["updatedReplicas"],
                       "readyReplicas": counters["readyReplicas"], "availableReplicas": counters["availableReplicas"],
                       "conditions": [{"type": "Available", "status": available}]},
        })
    return objects


def _grove_children(case_input):
    objects = []
    for obj in case_input["existing_grove"]:
        service_name = obj["name"].split("-0-", 1)[1]
        labels = {"nvidia.com/dynamo-graph-deployment-name": "test-dgd", "nvidia.com/dynamo-component": service_name,
                  "app.kubernetes.io/part-of": "test-dgd"}
        objects.append({"kind": obj["kind"], "metadata": {"name": obj["name"], "namespace": "default", "labels": labels},
                        "spec": obj["spec"], "status": obj["status"]})
    return objects


CASES = ([("dgd-11", c, i, e, "dcd") for c, i, e in _vector_cases("dgd-11-status-grove-and-dcd.yaml", "dcd")]
         + [("dgd-11", c, i, e, "grove") for c, i, e in _vector_cases("dgd-11-status-grove-and-dcd.yaml", "grove")]
         + [("aggregation", c, i, e, "dcd") for c, i, e in _vector_cases("dgd-status-dcd-aggregation.yaml")])


@pytest.mark.parametrize("vector, case, case_input, expected, mode", CASES, ids=[f"{v}: {c}" for v, c, *_ in CASES])
def test_operator_status_vectors(vector, case, case_input, expected, mode):
    dgd = {"kind": "DynamoGraphDeployment", "metadata": {"name": "test-dgd", "namespace": "default"},
           "spec": case_input["dgdSpec"], "status": {"state": expected["state"]}}
    children = _dcd_children(case_input) if mode == "dcd" else _grove_children(case_input)
    graph = build_status(snapshot([dgd, *children], "test-dgd", events=False))
    assert graph.is_ready is (expected["state"] == "successful")
    for name, recorded in expected["services"].items():
        svc = service(graph, name)
        assert svc.updated == recorded["updatedReplicas"], name
        assert svc.ready == recorded.get("readyReplicas", recorded.get("availableReplicas")), name
        assert svc.kind == recorded["componentKind"] if mode == "grove" else svc.kind == "Deployment"
    # Each not-ready service the operator names is also not ready here.
    for svc in graph.services:
        named = f"-{svc.name}:" in expected["message"] or f"-0-{svc.name}:" in expected["message"]
        assert svc.is_ready is not named, svc.name


def test_pod_problem_running_not_ready():
    pod = {"metadata": {"name": "p"}, "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}],
                                                 "containerStatuses": [{"name": "main", "ready": False, "state": {"running": {}}}]}}
    assert describe_problem(pod) == ("NotReady", "running, but the readiness probe has not passed")


def test_pod_problem_invalid_image_name():
    pod = {"metadata": {"name": "p"}, "status": {"phase": "Pending", "containerStatuses": [
        {"name": "main", "ready": False, "state": {"waiting": {"reason": "InvalidImageName", "message": 'couldn\'t parse image name "Bad:Tag"'}}}]}}
    assert describe_problem(pod)[0] == "InvalidImageName"


def test_pod_problem_evicted():
    pod = {"metadata": {"name": "p"}, "status": {"phase": "Failed", "reason": "Evicted", "message": "The node was low on resource: memory."}}
    assert describe_problem(pod) == ("Evicted", "The node was low on resource: memory.")


def test_failing_readiness_probe_named_in_reason():
    graph = build_status(snapshot(load("all-ready", "rollout", "probe-failing"), "llm-agg"))
    worker = service(graph, "VllmWorker")
    assert worker.verdict is Verdict.PROGRESSING
    assert worker.reason == ("3 replicas running, 2 desired; Unhealthy: Readiness probe failed: sh: 1: jq: not found "
                             "(pod llm-agg-vllmworker-8d9e0-ccccc)")


def test_manual_scale_of_deployment_explained():
    objects = load("all-ready")
    deployment = next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "llm-agg-vllmworker")
    deployment["metadata"].update(generation=2, annotations={"nvidia.com/last-applied-generation": "1"})
    deployment["spec"]["replicas"] = 3
    deployment["status"].update(observedGeneration=2, replicas=3, updatedReplicas=3, readyReplicas=3, availableReplicas=3)
    worker = service(build_status(snapshot(objects, "llm-agg")), "VllmWorker")
    assert worker.verdict is Verdict.PROGRESSING
    assert worker.reason == ("Deployment llm-agg-vllmworker has 3 replicas, the graph asks for 2; "
                             "it was edited outside the operator, which reverts such edits on its next sync")


def test_operator_failed_state_fails_graph():
    objects = load("all-ready")
    objects[0]["status"] = {"state": "failed", "conditions": [
        {"type": "Ready", "status": "False", "reason": "ValidationFailed",
         "message": "Validation failed: spec.services.VllmWorker.replicas must be non-negative"}]}
    graph = build_status(snapshot(objects, "llm-agg"))
    assert graph.verdict is Verdict.FAILED
    assert graph.reason == "ValidationFailed: Validation failed: spec.services.VllmWorker.replicas must be non-negative"
    assert graph.failed_for_good


def test_grove_gated_pods_are_progressing():
    objects = load("grove")
    pcsg = next(o for o in objects if o["kind"] == "PodCliqueScalingGroup")
    pcsg["status"]["availableReplicas"] = 0
    pod = next(o for o in objects if o["metadata"]["name"] == "grove-graph-0-decode-0-decode-wkr-d3e4f")
    pod["status"] = {"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated",
         "message": "Scheduling is blocked due to non-empty scheduling gates"}]}
    decode = service(build_status(snapshot(objects, "grove-graph")), "decode")
    assert decode.verdict is Verdict.PROGRESSING
    assert decode.reason == ("0/1 available; SchedulingGated: Scheduling is blocked due to non-empty scheduling gates "
                             "(pod grove-graph-0-decode-0-decode-wkr-d3e4f)")
