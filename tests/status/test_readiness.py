"""Workload readiness: the operator's predicates against its own test vectors, and the stricter product rule."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kubectl_dynamo.status.readiness import (
    assess_deployment,
    assess_lws_group,
    assess_pcsg,
    assess_podclique,
    operator_deployment_ready,
    operator_lws_ready,
    operator_pcsg_ready,
    operator_podclique_ready,
)

GOLDEN = Path(__file__).resolve().parent.parent / "data" / "golden"


def load(name: str):
    return yaml.safe_load((GOLDEN / name).read_text())


IS_READY = load("dcd-isdeploymentready.yaml")


@pytest.mark.parametrize("case", IS_READY["input"], ids=lambda c: c["case"])
def test_operator_deployment_ready_matches_vectors(case):
    expected = {e["case"]: e["ready"] for e in IS_READY["expected"]}[case["case"]]
    assert operator_deployment_ready(case["deployment"]) is expected


@pytest.mark.parametrize("name", ["dcd-status-deployment-ready.yaml", "dcd-status-deployment-unready.yaml"])
def test_deployment_vectors_agree_with_available_condition(name):
    vector = load(name)
    deployment = vector["input"]["existingObjects"][0]
    available = vector["expected"]["dcdStatus"]["conditions"][0]["status"] == "True"
    assert operator_deployment_ready(deployment) is available
    assert assess_deployment(deployment).is_ready is available


def test_unready_vector_reason_names_available_count():
    deployment = load("dcd-status-deployment-unready.yaml")["input"]["existingObjects"][0]
    assert assess_deployment(deployment).reason == "0/1 available"


def test_lws_vector_all_ready():
    vector = load("dcd-status-lws-all-ready.yaml")
    groups = [o for o in vector["input"]["existingObjects"] if o["kind"] == "LeaderWorkerSet"]
    service = vector["expected"]["dcdStatus"]["service"]
    assert all(operator_lws_ready(g) for g in groups)
    result = assess_lws_group("test-component-0", groups, desired_groups=vector["input"]["dcd"]["spec"]["replicas"])
    assert result.is_ready
    assert (result.ready, result.updated, result.total) == (service["readyReplicas"], service["updatedReplicas"], service["replicas"])


def test_lws_group_missing_member_not_ready():
    vector = load("dcd-status-lws-all-ready.yaml")
    groups = [o for o in vector["input"]["existingObjects"] if o["kind"] == "LeaderWorkerSet"][:2]
    result = assess_lws_group("test-component-0", groups, desired_groups=3)
    assert not result.is_ready
    assert result.reason == "1 LeaderWorkerSet not created yet"


GROVE = load("dgd-11-status-grove-and-dcd.yaml")


@pytest.mark.parametrize("case", list(GROVE["input"]["grove"]), ids=str)
def test_grove_vectors_operator_and_product_agree(case):
    objects = GROVE["input"]["grove"][case]["existing_grove"]
    expected_ready = GROVE["expected"]["grove"][case]["state"] == "successful"
    operator = all(operator_podclique_ready(o) if o["kind"] == "PodClique" else operator_pcsg_ready(o) for o in objects)
    product = all((assess_podclique(o) if o["kind"] == "PodClique" else assess_pcsg(o)).is_ready for o in objects)
    assert operator is expected_ready
    assert product is expected_ready


def deployment(*, generation=1, observed=1, desired=2, total=2, updated=2, ready=2, available=2, conditions=None):
    return {
        "metadata": {"name": "web", "generation": generation},
        "spec": {"replicas": desired},
        "status": {
            "observedGeneration": observed,
            "replicas": total,
            "updatedReplicas": updated,
            "readyReplicas": ready,
            "availableReplicas": available,
            "conditions": conditions if conditions is not None else [{"type": "Available", "status": "True"}],
        },
    }


def test_rollout_with_old_ready_pods_is_not_ready():
    # Two old pods still serve, one new pod is starting: the operator calls this ready.
    obj = deployment(total=3, updated=2, ready=2, available=2)
    assert operator_deployment_ready(obj) is True
    result = assess_deployment(obj)
    assert result.is_ready is False
    assert result.reason == "3 replicas running, 2 desired"


def test_stale_observed_generation_is_not_ready():
    result = assess_deployment(deployment(generation=3, observed=2))
    assert not result.is_ready
    assert result.reason == "status is stale (observedGeneration 2 < generation 3)"


def test_ready_vector_without_ready_count():
    # The operator ignores readyReplicas; the product requires ready == desired.
    case = next(c for c in IS_READY["input"] if c["case"] == "ready")
    assert operator_deployment_ready(case["deployment"]) is True
    assert assess_deployment(case["deployment"]).is_ready is False


def test_desired_zero_is_ready():
    assert assess_deployment(deployment(desired=0, total=0, updated=0, ready=0, available=0)).is_ready


def test_scale_down_in_progress_is_not_ready():
    result = assess_deployment(deployment(desired=1, total=2, updated=2, ready=2, available=2))
    assert not result.is_ready
    assert result.reason == "2 replicas running, 1 desired"


def test_progress_deadline_exceeded_fails_for_good():
    conditions = [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                   "message": 'ReplicaSet "web-5d4" has timed out progressing.'}]
    result = assess_deployment(deployment(updated=1, ready=1, available=1, conditions=conditions))
    assert result.failed_for_good
    assert result.reason.startswith("ProgressDeadlineExceeded: ")


def test_paused_deployment_is_not_ready():
    obj = deployment()
    obj["spec"]["paused"] = True
    assert assess_deployment(obj).reason == "Deployment is paused"


def test_podclique_updated_above_desired_is_not_ready():
    # A clique can report more updated replicas than desired while it scales down.
    clique = {"metadata": {"name": "g-0-decode"}, "spec": {"replicas": 1},
              "status": {"replicas": 1, "updatedReplicas": 2, "readyReplicas": 1}}
    result = assess_podclique(clique)
    assert not result.is_ready
    assert result.reason == "scaling down: 2 replicas, 1 desired"


def test_manual_replica_edit_detected():
    # Step 2 of the operator's sync vector: a manual edit bumps generation above the stamp.
    vector = load("dcd-sync-manual-replica-change.yaml")
    step = next(s for s in vector["input"]["steps"] if s["step"] == 2)
    assert "manual edit" in step["action"]
    live = deployment(generation=2, observed=2, desired=2)
    live["metadata"]["annotations"] = {"nvidia.com/last-applied-generation": "1"}
    assert assess_deployment(live).edited_outside_operator
    live["metadata"]["annotations"]["nvidia.com/last-applied-generation"] = "2"
    assert not assess_deployment(live).edited_outside_operator


@pytest.mark.parametrize("counts, reason", [
    ((0, 0, 0, 1), "1 replica running, 0 desired"),
    ((0, 1, 1, None), "scaling down: 1 replica, 0 desired"),
    ((1, 1, 1, 2), "2 replicas running, 1 desired"),
])
def test_count_reasons_singular_and_plural(counts, reason):
    from kubectl_dynamo.status.readiness import _counts_reason

    assert _counts_reason(*counts) == reason
