"""Workloads through the whole offline render: DGD, then DCDs, then Deployments or LeaderWorkerSets."""

from __future__ import annotations

import pytest

from kubectl_dynamo.errors import InputError
from kubectl_dynamo.render.api import RenderOptions, render_graph
from tests.render.golden_loader import operator_settings


def graph(**worker_overrides):
    worker = {
        "componentType": "worker",
        "replicas": 2,
        "envs": [{"name": "HF_HOME", "value": "/service"}],
        "resources": {"limits": {"gpu": "1"}},
        "extraPodSpec": {
            "mainContainer": {
                "image": "nvcr.io/nvidia/ai-dynamo/vllm-runtime:0.8.0",
                "command": ["python3", "-m", "dynamo.vllm"],
                "args": ["--model", "Qwen/Qwen3-0.6B"],
                "env": [{"name": "HF_HOME", "value": "/container"}, {"name": "A_FLAG", "value": "1"}],
            }
        },
    }
    worker.update(worker_overrides)
    return {
        "apiVersion": "nvidia.com/v1alpha1",
        "kind": "DynamoGraphDeployment",
        "metadata": {"name": "demo-graph", "namespace": "team-a"},
        "spec": {
            "envs": [{"name": "HF_HOME", "value": "/graph"}, {"name": "GRAPH_ONLY", "value": "g"}],
            "services": {"Frontend": {"componentType": "frontend", "replicas": 1}, "VllmWorker": worker},
        },
    }


def objects_of(result, kind):
    return {obj["metadata"]["name"]: obj for obj in result.objects if obj["kind"] == kind}


def main_env(pod_spec):
    container = next(c for c in pod_spec["containers"] if c["name"] == "main")
    return {item["name"]: item.get("value") for item in container["env"]}


def test_worker_deployment_through_both_stages():
    result = render_graph(graph(), RenderOptions(settings=operator_settings({"discoveryBackend": "kubernetes"})))
    deployments = objects_of(result, "Deployment")
    assert sorted(deployments) == ["demo-graph-frontend", "demo-graph-vllmworker"]
    worker = deployments["demo-graph-vllmworker"]
    assert worker["spec"]["replicas"] == 2
    assert worker["metadata"]["ownerReferences"][0]["name"] == "demo-graph-vllmworker"
    assert worker["metadata"]["annotations"]["nvidia.com/last-applied-generation"] == "1"
    pod = worker["spec"]["template"]["spec"]
    env = main_env(pod)
    assert env["HF_HOME"] == "/service"
    assert env["GRAPH_ONLY"] == "g"
    assert env["A_FLAG"] == "1"
    assert env["DYN_NAMESPACE"] == "team-a-demo-graph"
    assert env["DYN_PARENT_DGD_K8S_NAME"] == "demo-graph"
    assert pod["serviceAccountName"] == "demo-graph-k8s-service-discovery"
    labels = worker["spec"]["template"]["metadata"]["labels"]
    assert labels["nvidia.com/dynamo-component"] == "VllmWorker"
    assert labels["nvidia.com/dynamo-graph-deployment-name"] == "demo-graph"


def test_stealing_traffic_mode_through_both_stages():
    dgd = graph(annotations={"nvidia.com/enable-stealing-traffic-debug-mode": "true"})
    result = render_graph(dgd, RenderOptions(settings=operator_settings()))
    deployments = objects_of(result, "Deployment")
    assert "demo-graph-vllmworker-d" in deployments
    assert deployments["demo-graph-vllmworker-d"]["spec"]["replicas"] == 1


def test_multinode_through_both_stages_with_lws():
    dgd = graph(multinode={"nodeCount": 2}, resources={"limits": {"gpu": "4"}})
    dgd["spec"]["services"]["VllmWorker"]["extraPodSpec"]["mainContainer"]["args"] += ["--tensor-parallel-size", "8"]
    result = render_graph(dgd, RenderOptions(settings=operator_settings(lws_enabled=True)))
    sets = objects_of(result, "LeaderWorkerSet")
    assert sorted(sets) == ["demo-graph-vllmworker-0", "demo-graph-vllmworker-1"]
    assert sorted(objects_of(result, "PodGroup")) == ["demo-graph-vllmworker-0", "demo-graph-vllmworker-1"]
    assert "demo-graph-vllmworker" not in objects_of(result, "Deployment")
    worker = sets["demo-graph-vllmworker-0"]["spec"]["leaderWorkerTemplate"]["workerTemplate"]["spec"]["containers"][0]
    assert worker["args"] == ["ray start --address=$LWS_LEADER_ADDRESS:6379 --block"]


def test_multinode_without_orchestrator_fails():
    dgd = graph(multinode={"nodeCount": 2})
    with pytest.raises(InputError, match="no multinode orchestrator available"):
        render_graph(dgd, RenderOptions(settings=operator_settings()))


def test_grove_path_renders_no_deployments():
    result = render_graph(graph(), RenderOptions(settings=operator_settings(grove_enabled=True)))
    assert objects_of(result, "Deployment") == {}
    (pod_clique_set,) = objects_of(result, "PodCliqueSet").values()
    cliques = {clique["name"] for clique in pod_clique_set["spec"]["template"]["cliques"]}
    assert cliques == {"frontend", "vllmworker"}
