"""The diff printers and the external-diff helpers on hand-built reports."""

from __future__ import annotations

import json

from kubectl_dynamo.diff.compare import compare
from kubectl_dynamo.diff.external import file_name, parse_command
from kubectl_dynamo.diff.model import CHANGED, DiffReport, ObjectDiff, analyse_pods
from kubectl_dynamo.output.diff_text import format_json, format_no_differences, format_text


def deployment(replicas: int, image: str) -> dict:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "g-worker", "namespace": "team"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "g"}},
                 "template": {"metadata": {"labels": {"app": "g"}},
                              "spec": {"containers": [{"name": "main", "image": image}]}}},
    }


def report_for(old: dict, new: dict) -> DiffReport:
    entry = ObjectDiff("apps/v1", "Deployment", "team", "g-worker", CHANGED, "g")
    entry.comparison = compare(old, new, old_is_live=True)
    analyse_pods(entry)
    return DiffReport(objects=[entry], old_label="live", new_label="graph.yaml")


def test_text_names_restart_and_scaling():
    report = report_for(deployment(2, "runtime:1"), deployment(3, "runtime:2"))
    text = format_text(report, color=False)
    assert text.startswith("~ Deployment team/g-worker changed (pods restart: 2 pods)\n--- live\n+++ graph.yaml\n")
    assert "-      - image: runtime:1\n+      - image: runtime:2\n" in text
    assert "  Deployment team/g-worker (2 pods): spec.template.spec.containers[main].image\n" in text
    assert "  Deployment team/g-worker: spec.replicas 2 -> 3\n" in text


def test_json_lists_changes_with_pointers():
    report = report_for(deployment(2, "runtime:1"), deployment(3, "runtime:1"))
    document = json.loads(format_json(report))
    assert document["changes"] == [
        {"object": "Deployment/team/g-worker", "op": "replace", "path": "/spec/replicas", "old": 2, "new": 3},
    ]
    assert document["objects"][0]["restartsPods"] is False
    assert document["summary"]["changed"] == 1
    assert document["summary"]["noRestart"] == [
        {"object": "Deployment team/g-worker", "path": "spec.replicas", "old": 2, "new": 3},
    ]


def test_no_differences_line():
    report = report_for(deployment(2, "runtime:1"), deployment(2, "runtime:1"))
    report.objects[0].action = "unchanged"
    assert format_text(report, color=False) == ""
    assert format_no_differences(report) == "No differences (1 objects compared)."
    assert report.exit_code() == 0


def test_external_file_names_match_kubectl():
    assert file_name(ObjectDiff("apps/v1", "Deployment", "team", "g-worker", CHANGED, "g")) == "apps.v1.Deployment.team.g-worker"
    assert file_name(ObjectDiff("v1", "Service", "team", "g", CHANGED, "g")) == "v1.Service.team.g"
    assert file_name(ObjectDiff("nvidia.com/v1alpha1", "DynamoGraphDeployment", "team", "g", CHANGED, "g")) == \
        "nvidia.com.v1alpha1.DynamoGraphDeployment.team.g"


def test_external_command_drops_unsafe_arguments():
    command, dropped = parse_command("colordiff -u -N --label=x ../etc $(rm)")
    assert command == ["colordiff", "-u", "-N", "--label=x"]
    assert dropped == ["../etc", "$(rm)"]


def test_yaml_matches_json():
    import yaml

    from kubectl_dynamo.output.diff_text import format_yaml

    report = report_for(deployment(2, "runtime:1"), deployment(3, "runtime:2"))
    assert yaml.safe_load(format_yaml(report)) == json.loads(format_json(report))


def analysed(kind: str, old: dict, new: dict) -> ObjectDiff:
    entry = ObjectDiff(old["apiVersion"], kind, "team", "g", CHANGED, "g")
    entry.comparison = compare(old, new, old_is_live=False)
    analyse_pods(entry)
    return entry


def leader_worker_set(size: int, replicas: int, image: str) -> dict:
    template = {"metadata": {"labels": {"app": "g"}}, "spec": {"containers": [{"name": "main", "image": image}]}}
    return {"apiVersion": "leaderworkerset.x-k8s.io/v1", "kind": "LeaderWorkerSet",
            "metadata": {"name": "g", "namespace": "team"},
            "spec": {"replicas": replicas, "leaderWorkerTemplate": {
                "size": size, "leaderTemplate": template, "workerTemplate": template}}}


def test_leader_worker_set_restart_and_pods():
    entry = analysed("LeaderWorkerSet", leader_worker_set(2, 3, "rt:1"), leader_worker_set(2, 3, "rt:2"))
    assert entry.pods == 6
    assert entry.restart_paths == [
        "spec.leaderWorkerTemplate.leaderTemplate.spec.containers[main].image",
        "spec.leaderWorkerTemplate.workerTemplate.spec.containers[main].image",
    ]
    scaled = analysed("LeaderWorkerSet", leader_worker_set(2, 3, "rt:1"), leader_worker_set(2, 4, "rt:1"))
    assert scaled.restart_paths == []
    assert scaled.scaling == [("spec.replicas", 3, 4)]
    resized = analysed("LeaderWorkerSet", leader_worker_set(2, 3, "rt:1"), leader_worker_set(4, 3, "rt:1"))
    assert resized.restart_paths == ["spec.leaderWorkerTemplate.size"]


def pod_clique_set(replicas: int, image: str) -> dict:
    clique = {"name": "decode", "spec": {"replicas": replicas, "podSpec": {"containers": [{"name": "main", "image": image}]}}}
    return {"apiVersion": "grove.io/v1alpha1", "kind": "PodCliqueSet", "metadata": {"name": "g", "namespace": "team"},
            "spec": {"replicas": 1, "template": {"cliques": [clique]}}}


def test_pod_clique_set_restart_and_scaling():
    restart = analysed("PodCliqueSet", pod_clique_set(1, "rt:1"), pod_clique_set(1, "rt:2"))
    assert restart.restart_paths == ["spec.template.cliques[decode].spec.podSpec.containers[main].image"]
    scaled = analysed("PodCliqueSet", pod_clique_set(1, "rt:1"), pod_clique_set(2, "rt:1"))
    assert scaled.restart_paths == []
    assert scaled.scaling == [("spec.template.cliques[decode].spec.replicas", 1, 2)]


def test_metadata_only_applies_to_children():
    old = deployment(2, "runtime:1")
    new = deployment(2, "runtime:1")
    new["metadata"]["labels"] = {"team": "llm"}
    child = report_for(old, new).objects[0]
    assert child.metadata_only
    graph = ObjectDiff("nvidia.com/v1alpha1", "DynamoGraphDeployment", "team", "g", CHANGED, "g")
    graph.comparison = child.comparison
    assert not graph.metadata_only
