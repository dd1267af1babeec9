"""`logs` on pods shaped as the Dynamo 0.8.0 operator makes them, in both of its modes.

DynamoComponentDeployment mode: pods come from the pod templates of the Deployments
that the project's renderer produces for a corpus graph. Grove mode: pods carry the
labels of the PodCliques in the operator's own test vectors, as Grove copies a
clique's labels onto its pods.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from kubectl_dynamo.logs.request import LogsRequest
from kubectl_dynamo.logs.targets import graph_selector, graph_services, plan_streams
from kubectl_dynamo.render.api import RenderOptions, render_graph
from tests.logs.fakes import container_status, ts

DATA = Path(__file__).resolve().parent.parent / "data"


def corpus_graph(name):
    documents = yaml.safe_load_all((DATA / "corpus" / name).read_text())
    return next(d for d in documents if d and d.get("kind") == "DynamoGraphDeployment")


def pods_from_deployments(objects, namespace="default"):
    """Return one running pod per rendered Deployment, with its template's labels and containers."""
    pods = []
    for obj in objects:
        if obj["kind"] != "Deployment":
            continue
        template = obj["spec"]["template"]
        name = f"{obj['metadata']['name']}-7d9c8b6f5-x2k4q"
        containers = [c["name"] for c in template["spec"]["containers"]]
        pods.append({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}", "labels": dict(template["metadata"]["labels"])},
            "spec": template["spec"],
            "status": {"phase": "Running", "containerStatuses": [container_status(c, "running") for c in containers]},
        })
    return pods


def test_rendered_dcd_pods_selected_by_type(api_server, live_cli):
    dgd = corpus_graph("vllm-disagg-planner-pvc.yaml")
    dgd["metadata"]["namespace"] = "default"
    pods = pods_from_deployments(render_graph(dgd, RenderOptions()).objects)
    assert len(pods) == 4
    api_server.seed(dgd, *pods)
    for p in pods:
        api_server.set_logs("default", p["metadata"]["name"], "main", [f"{ts(1)} hello from {p['metadata']['name']}"])
    name = dgd["metadata"]["name"]

    workers = live_cli(["logs", name, "--type", "worker"])
    assert workers.exit_code == 0, workers.stderr
    assert sorted(line.split("/")[0] for line in workers.stdout.splitlines()) == ["VllmDecodeWorker", "VllmPrefillWorker"]

    prefill = live_cli(["logs", name, "--type", "prefill"])
    assert [line.split("/")[0] for line in prefill.stdout.splitlines()] == ["VllmPrefillWorker"]

    planner = live_cli(["logs", name, "planner"])
    assert planner.stdout == f"Planner/{name}-planner-7d9c8b6f5-x2k4q hello from {name}-planner-7d9c8b6f5-x2k4q\n"

    everything = live_cli(["logs", name])
    assert len(everything.stdout.splitlines()) == 4
    selectors = {r.query.get("labelSelector") for r in api_server.requests_for(path_regex=r"/pods$", verb="list")}
    assert selectors == {graph_selector(name)}


def test_grove_clique_labels_select_services():
    golden = yaml.safe_load((DATA / "golden" / "dgd-09-grove-single-node-frontend-planner.yaml").read_text())
    dgd = golden["input"]["dgd"]
    cliques = []

    def collect(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "cliques" and isinstance(value, list):
                    cliques.extend(c for c in value if isinstance(c, dict) and "labels" in c)
                collect(value)
        elif isinstance(node, list):
            for item in node:
                collect(item)

    collect(golden["expected"])
    assert {c["name"] for c in cliques} == {"frontend", "planner"}
    pods = [
        {
            "metadata": {"name": f"{dgd['metadata']['name']}-0-{c['name']}-abcde", "namespace": "test-namespace", "uid": c["name"], "labels": c["labels"]},
            "spec": {"containers": [{"name": "main"}]},
            "status": {"phase": "Running", "containerStatuses": [container_status("main", "running")]},
        }
        for c in cliques
    ]
    selector_key, _, selector_value = graph_selector(dgd["metadata"]["name"]).partition("=")
    assert all(p["metadata"]["labels"][selector_key] == selector_value for p in pods)

    services = {s.name: s for s in graph_services(dgd)}
    by_type = plan_streams(pods, LogsRequest(dgd["metadata"]["name"], types=("planner",)), services, ())
    assert [t.label for t in by_type.start] == [f"Planner/{dgd['metadata']['name']}-0-planner-abcde/main"]
    by_name = plan_streams(pods, LogsRequest(dgd["metadata"]["name"]), services, ("Frontend",))
    assert [t.service for t in by_name.start] == ["Frontend"]
