"""The pure planning core: argument parsing, service matching, owners, preconditions, patches."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from kubectl_dynamo.api import labels
from kubectl_dynamo.api.kinds import DGD, DGDSA
from kubectl_dynamo.errors import ExitCode, NotFoundError, UsageError
from kubectl_dynamo.scale.plan import ADAPTER, GRAPH, PreconditionFailed, json_pointer, plan_scale
from kubectl_dynamo.scale.request import parse_targets, resolve_service, resolve_targets


def graph(**services):
    return {
        "apiVersion": "nvidia.com/v1alpha1",
        "kind": "DynamoGraphDeployment",
        "metadata": {"name": "demo", "namespace": "ml", "resourceVersion": "41"},
        "spec": {"services": services},
    }


def adapter(service, replicas, *, rv="7", graph_name="demo", **status):
    return {
        "metadata": {
            "name": f"{graph_name}-{service.lower()}", "namespace": "ml", "resourceVersion": rv,
            "labels": {labels.GRAPH: graph_name, labels.COMPONENT: service},
        },
        "spec": {"replicas": replicas, "dgdRef": {"name": graph_name, "serviceName": service}},
        "status": status,
    }


# --- arguments ---------------------------------------------------------------

def test_targets_from_pairs_and_flags():
    assert parse_targets(["a=1", " b = 2"], "c", "0") == (("a", 1), ("b", 2), ("c", 0))


@pytest.mark.parametrize("text", ["a=-1", "a=x", "a=1.5", "a=", "a=3e2"])
def test_targets_reject_bad_counts(text):
    with pytest.raises(UsageError) as info:
        parse_targets([text], None, None)
    assert "invalid replica count" in str(info.value)
    assert info.value.exit_code == ExitCode.USAGE


@pytest.mark.parametrize("args", [["nocount"], ["=3"]])
def test_targets_reject_missing_equals(args):
    with pytest.raises(UsageError, match="expected SERVICE=REPLICAS"):
        parse_targets(args, None, None)


def test_targets_need_both_flags():
    with pytest.raises(UsageError, match="--replicas is missing"):
        parse_targets([], "a", None)
    with pytest.raises(UsageError, match="no service to scale"):
        parse_targets([], None, None)


def test_service_matches_case_insensitively():
    assert resolve_service("vllmworker", ["Frontend", "VllmWorker"], "demo") == "VllmWorker"
    assert resolve_service("VllmWorker", ["VllmWorker", "vllmworker"], "demo") == "VllmWorker"


def test_service_ambiguous_match():
    with pytest.raises(UsageError, match="ambiguous"):
        resolve_service("WORKER", ["Worker", "worker"], "demo")


def test_unknown_service_lists_valid_ones():
    with pytest.raises(NotFoundError) as info:
        resolve_service("decoder", ["prefill", "decode", "Frontend"], "demo")
    assert "Frontend, decode, prefill" in str(info.value)
    assert info.value.exit_code == ExitCode.NOT_FOUND


def test_same_service_twice_with_two_counts():
    with pytest.raises(UsageError, match="two replica counts"):
        resolve_targets([("a", 1), ("A", 2)], ["A"], "demo")
    assert resolve_targets([("a", 2), ("A", 2)], ["A"], "demo") == {"A": 2}


# --- owners and writes ---------------------------------------------------------

def test_graph_owned_service_gets_one_json_patch():
    dgd = graph(Frontend={"replicas": 1}, Worker={"replicas": 2}, Other={})
    plan = plan_scale(dgd, {"Worker": 3, "Other": 2}, adapters=[])
    assert [c.owner for c in plan.changes] == [GRAPH, GRAPH]
    assert len(plan.writes) == 1
    write = plan.writes[0]
    assert write.kind is DGD
    assert write.patch_type == "json"
    assert write.subresource is None
    assert write.body == [
        {"op": "test", "path": "/metadata/resourceVersion", "value": "41"},
        {"op": "add", "path": "/spec/services/Worker/replicas", "value": 3},
        {"op": "add", "path": "/spec/services/Other/replicas", "value": 2},
    ]
    assert plan.changes[1].current == 1  # unset counts as 1, like the operator


def test_adapter_owned_service_writes_scale_subresource():
    dgd = graph(decode={"replicas": 2})
    plan = plan_scale(dgd, {"decode": 4}, adapters=[adapter("decode", 2)])
    change = plan.changes[0]
    assert change.owner == ADAPTER
    assert change.adapter == "demo-decode"
    [write] = plan.writes
    assert write.kind is DGDSA
    assert write.subresource == "scale"
    assert write.patch_type == "merge"
    assert write.body == {"metadata": {"resourceVersion": "7"}, "spec": {"replicas": 4}}
    assert write.path == "/apis/nvidia.com/v1alpha1/namespaces/ml/dynamographdeploymentscalingadapters/demo-decode/scale"


def test_adapter_of_other_graph_is_ignored():
    dgd = graph(decode={"replicas": 2})
    plan = plan_scale(dgd, {"decode": 4}, adapters=[adapter("decode", 2, graph_name="other")])
    assert plan.changes[0].owner == GRAPH


def test_adapter_being_deleted_is_ignored():
    deleted = adapter("decode", 2)
    deleted["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    plan = plan_scale(graph(decode={"replicas": 2}), {"decode": 4}, adapters=[deleted])
    assert plan.changes[0].owner == GRAPH


@pytest.mark.parametrize(
    "settings, expected",
    [
        (None, ADAPTER),  # 0.8.0: every service gets one
        ({"disable": False}, ADAPTER),
        ({"disable": True}, GRAPH),
        ({"enabled": True}, ADAPTER),  # later operators: opt-in
        ({"enabled": False}, GRAPH),
    ],
)
def test_operator_rule_when_adapters_unknown(settings, expected):
    spec = {"replicas": 1}
    if settings is not None:
        spec["scalingAdapter"] = settings
    plan = plan_scale(graph(w=spec), {"w": 2}, adapters=None)
    assert plan.changes[0].owner == expected


def test_adapter_count_wins_and_is_noted():
    plan = plan_scale(graph(decode={"replicas": 2}), {"decode": 3}, adapters=[adapter("decode", 3)])
    assert plan.changes[0].current == 3
    assert plan.writes == []
    assert "has not copied the count yet" in plan.notes[0]


def test_recent_adapter_scale_noted():
    now = datetime(2026, 1, 1, 0, 1, 0, tzinfo=timezone.utc)
    recent = adapter("decode", 2, lastScaleTime="2026-01-01T00:00:30Z")
    plan = plan_scale(graph(decode={"replicas": 2}), {"decode": 3}, adapters=[recent], now=now)
    assert any("scaled 30s ago" in note for note in plan.notes)


def test_noop_plans_no_write():
    plan = plan_scale(graph(w={"replicas": 3}), {"w": 3}, adapters=[])
    assert plan.writes == []
    assert plan.changes[0].unchanged


def test_decreases_go_first():
    dgd = graph(
        a={"replicas": 1, "resources": {"limits": {"gpu": "1"}}},
        b={"replicas": 4, "resources": {"limits": {"gpu": "1"}}},
    )
    dgd["spec"]["services"]["c"] = {"replicas": 2, "multinode": {"nodeCount": 2}, "resources": {"requests": {"gpu": "4"}}}
    plan = plan_scale(dgd, {"a": 3, "b": 1}, adapters=[adapter("a", 1), adapter("b", 4)])
    assert [w.name for w in plan.writes] == ["demo-b", "demo-a"]
    assert (plan.gpus_before, plan.gpus_after) == (5 + 16, 4 + 16)


def test_mixed_owners_give_two_writes():
    dgd = graph(a={"replicas": 1}, b={"replicas": 1})
    plan = plan_scale(dgd, {"a": 2, "b": 2}, adapters=[adapter("b", 1)])
    assert sorted(w.kind.kind for w in plan.writes) == ["DynamoGraphDeployment", "DynamoGraphDeploymentScalingAdapter"]


def test_json_pointer_escapes():
    assert json_pointer("spec", "services", "a/b~c") == "/spec/services/a~1b~0c"


# --- preconditions -------------------------------------------------------------

def test_current_replicas_mismatch():
    dgd = graph(a={"replicas": 1}, b={"replicas": 2})
    with pytest.raises(PreconditionFailed) as info:
        plan_scale(dgd, {"a": 3, "b": 3}, adapters=[], current_replicas=1)
    assert "b has 2" in str(info.value)
    assert info.value.exit_code == ExitCode.DIFFERS


def test_current_replicas_match():
    plan = plan_scale(graph(a={"replicas": 1}), {"a": 3}, adapters=[], current_replicas=1)
    assert len(plan.writes) == 1


def test_multinode_to_zero_rejected():
    dgd = graph(decode={"replicas": 1, "multinode": {"nodeCount": 4}})
    with pytest.raises(UsageError) as info:
        plan_scale(dgd, {"decode": 0}, adapters=[])
    assert "multinode (4 nodes per replica)" in str(info.value)
    assert "--force" in info.value.hint


def test_multinode_default_node_count_is_two():
    dgd = graph(decode={"replicas": 1, "multinode": {}})
    with pytest.raises(UsageError, match="2 nodes per replica"):
        plan_scale(dgd, {"decode": 0}, adapters=[])


def test_multinode_to_zero_with_force_warns():
    dgd = graph(decode={"replicas": 1, "multinode": {"nodeCount": 2}})
    plan = plan_scale(dgd, {"decode": 0}, adapters=[], force=True)
    assert len(plan.writes) == 1
    assert "because of --force" in plan.warnings[0]


def test_single_node_to_zero_allowed():
    plan = plan_scale(graph(w={"replicas": 2, "multinode": {"nodeCount": 1}}), {"w": 0}, adapters=[])
    assert plan.writes[0].body[1]["value"] == 0


# --- other writers -------------------------------------------------------------

def test_planner_warning():
    dgd = graph(Planner={"componentType": "planner"}, w={"replicas": 1})
    plan = plan_scale(dgd, {"w": 2}, adapters=[])
    assert any("planner (Planner)" in w for w in plan.warnings)


def test_hpa_on_adapter_warning():
    hpa = {
        "metadata": {"name": "decode-hpa"},
        "spec": {"scaleTargetRef": {"apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeploymentScalingAdapter", "name": "demo-decode"}},
    }
    other = {"metadata": {"name": "web"}, "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "demo-decode"}}}
    plan = plan_scale(graph(decode={"replicas": 1}), {"decode": 2}, adapters=[adapter("decode", 1)], hpas=[hpa, other])
    assert plan.changes[0].autoscalers == ["decode-hpa"]
    assert any("HorizontalPodAutoscaler decode-hpa" in w for w in plan.warnings)
