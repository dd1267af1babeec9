"""Fields another manager owns on the live DGD are kept, as a server-side apply keeps them."""

from __future__ import annotations

import json

import yaml

from kubectl_dynamo.diff.ownership import keep_fields_owned_elsewhere
from tests.diff import livegraph


def managed(manager: str, operation: str, fields: dict) -> dict:
    return {"manager": manager, "operation": operation, "apiVersion": "nvidia.com/v1alpha1",
            "time": "2026-11-30T10:00:00Z", "fieldsType": "FieldsV1", "fieldsV1": fields}


ADAPTER_REPLICAS = {"f:spec": {"f:services": {"f:decode": {"f:replicas": {}}}}}


def test_field_of_other_manager_is_kept():
    live = livegraph.live_dgd()
    live["spec"]["services"]["decode"]["replicas"] = 3
    live["metadata"]["managedFields"] = [managed("manager", "Update", ADAPTER_REPLICAS)]
    desired = livegraph.graph_document()
    del desired["spec"]["services"]["decode"]["replicas"]
    merged, kept = keep_fields_owned_elsewhere(live, desired)
    assert merged["spec"]["services"]["decode"]["replicas"] == 3
    assert [(field.dotted, field.value, field.managers) for field in kept] == [
        ("spec.services.decode.replicas", 3, ("manager",)),
    ]
    assert "replicas" not in desired["spec"]["services"]["decode"]


def test_field_of_applier_is_removed():
    live = livegraph.live_dgd()
    live["metadata"]["managedFields"] = [managed("kustomize-controller", "Apply", ADAPTER_REPLICAS),
                                         managed("manager", "Update", ADAPTER_REPLICAS)]
    desired = livegraph.graph_document()
    del desired["spec"]["services"]["decode"]["replicas"]
    merged, kept = keep_fields_owned_elsewhere(live, desired)
    assert "replicas" not in merged["spec"]["services"]["decode"]
    assert kept == []


def test_without_managed_fields_nothing_is_kept():
    live = livegraph.live_dgd()
    live["metadata"].pop("managedFields")
    desired = livegraph.graph_document()
    del desired["spec"]["services"]["decode"]["replicas"]
    assert keep_fields_owned_elsewhere(live, desired)[1] == []


def test_autoscaled_replicas_not_shown_removed(cluster, dynamo_cli, tmp_path):
    dgd = cluster.get_object("nvidia.com/v1alpha1", "DynamoGraphDeployment", "ns1", "my-graph")
    dgd["metadata"]["managedFields"] = [
        managed("kustomize-controller", "Apply", {"f:spec": {"f:services": {"f:decode": {"f:componentType": {}}}}}),
        managed("manager", "Update", ADAPTER_REPLICAS),
    ]
    cluster.update_object(dgd)
    graph = livegraph.graph_document()
    del graph["spec"]["services"]["decode"]["replicas"]
    path = tmp_path / "graph.yaml"
    path.write_text(yaml.safe_dump(graph))
    result = dynamo_cli(["diff", "-f", str(path), "-o", "json"])
    assert result.exit_code == 0, result.stdout
    assert "kept live spec.services.decode.replicas=1: the file leaves it out and field manager 'manager' owns it" in result.stderr
    assert json.loads(result.stdout)["summary"]["changed"] == 0


def test_kubectl_edit_field_is_removed():
    # Flux takes over every manager named kubectl* before applying, so such a field goes.
    live = livegraph.live_dgd()
    live["metadata"]["managedFields"] = [managed("kubectl-edit", "Update", ADAPTER_REPLICAS)]
    desired = livegraph.graph_document()
    del desired["spec"]["services"]["decode"]["replicas"]
    assert keep_fields_owned_elsewhere(live, desired)[1] == []
