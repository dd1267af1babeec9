"""DCD workloads: Deployment, debug Deployment, LeaderWorkerSet and Volcano PodGroup."""

from __future__ import annotations

import copy
import hashlib

import pytest

from kubectl_dynamo.errors import InputError
from kubectl_dynamo.render.v0_8.workloads import leader_worker_set, render_workloads, volcano_pod_group
from tests.render.golden_loader import load_golden, operator_settings

LABELS = {
    "nvidia.com/dynamo-component": "Frontend",
    "nvidia.com/dynamo-namespace": "ns1-my-graph",
    "nvidia.com/dynamo-graph-deployment-name": "my-graph",
}


def frontend_dcd(**spec_overrides):
    spec = {
        "componentType": "frontend",
        "replicas": 2,
        "dynamoNamespace": "ns1-my-graph",
        "serviceName": "Frontend",
        "labels": dict(LABELS),
        "extraPodSpec": {"mainContainer": {"image": "nvcr.io/x/dynamo:1.0"}},
    }
    spec.update(spec_overrides)
    return {
        "apiVersion": "nvidia.com/v1alpha1",
        "kind": "DynamoComponentDeployment",
        "metadata": {
            "name": "my-graph-frontend",
            "namespace": "ns1",
            "labels": dict(LABELS),
            "ownerReferences": [{"apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeployment", "name": "my-graph"}],
        },
        "spec": spec,
    }


def worker_dcd(**spec_overrides):
    spec = {
        "backendFramework": "vllm",
        "serviceName": "test-service",
        "dynamoNamespace": "default",
        "componentType": "decode",
        "replicas": 3,
        "multinode": {"nodeCount": 2},
        "resources": {"limits": {"gpu": "1"}},
        "extraPodSpec": {"mainContainer": {"image": "test-image:latest", "args": ["--test-arg"]}},
    }
    spec.update(spec_overrides)
    return {"metadata": {"name": "test-component", "namespace": "default"}, "spec": spec}


def production_settings(**overrides):
    return operator_settings({"discoveryBackend": "kubernetes", "natsAddress": "nats://nats:4222"}, **overrides)


def test_frontend_deployment():
    (deployment,) = render_workloads(frontend_dcd(), production_settings())
    assert deployment["apiVersion"] == "apps/v1"
    assert deployment["kind"] == "Deployment"
    assert deployment["metadata"]["name"] == "my-graph-frontend"
    assert deployment["metadata"]["labels"] == LABELS
    assert "annotations" not in deployment["metadata"]
    assert deployment["metadata"]["ownerReferences"] == [
        {"apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoComponentDeployment", "name": "my-graph-frontend",
         "controller": True, "blockOwnerDeletion": True}
    ]
    spec = deployment["spec"]
    assert spec["replicas"] == 2
    assert spec["selector"] == {"matchLabels": {"nvidia.com/selector": "my-graph-frontend"}}
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}
    assert spec["template"]["metadata"] == {
        "labels": LABELS | {
            "nvidia.com/metrics-enabled": "true",
            "nvidia.com/dynamo-component-type": "frontend",
            "nvidia.com/selector": "my-graph-frontend",
        }
    }
    pod = spec["template"]["spec"]
    assert pod["serviceAccountName"] == "my-graph-k8s-service-discovery"
    assert pod["securityContext"] == {"fsGroup": 1000}
    assert [c["name"] for c in pod["containers"]] == ["main"]
    env = {item["name"]: item.get("value") for item in pod["containers"][0]["env"]}
    assert env["NATS_SERVER"] == "nats://nats:4222"
    assert env["DYN_PARENT_DGD_K8S_NAME"] == "my-graph"
    assert "ETCD_ENDPOINTS" not in env


def test_deployment_replicas_absent_stays_absent():
    dcd = frontend_dcd()
    del dcd["spec"]["replicas"]
    (deployment,) = render_workloads(dcd, production_settings())
    assert "replicas" not in deployment["spec"]


def test_decode_deployment_from_sync_golden():
    golden = load_golden("dcd-sync-k8s-defaults-noop.yaml")
    (deployment,) = render_workloads(golden["input"]["dcd"], operator_settings())
    assert deployment["spec"]["replicas"] == golden["expected"][0]["liveDeployment"]["spec"]["replicas"]
    assert "revisionHistoryLimit" not in deployment["spec"]
    assert deployment["metadata"]["name"] == "test-component"


def test_parent_dgd_empty_without_owner():
    golden = load_golden("dcd-sync-manual-replica-change.yaml")
    (deployment,) = render_workloads(golden["input"]["dcd"], operator_settings(discovery_backend="kubernetes"))
    pod = deployment["spec"]["template"]["spec"]
    env = {item["name"]: item.get("value", "") for item in pod["containers"][0]["env"]}
    assert env["DYN_PARENT_DGD_K8S_NAME"] == ""
    # The operator builds the discovery account from an empty parent name.
    assert pod["serviceAccountName"] == "-k8s-service-discovery"
    assert deployment["spec"]["template"]["metadata"]["labels"]["nvidia.com/dynamo-graph-deployment-name"] == ""


@pytest.mark.parametrize(
    "annotations,expected",
    [
        ({}, {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}),
        (
            {"nvidia.com/deployment-rolling-update-max-surge": "1", "nvidia.com/deployment-rolling-update-max-unavailable": "50%"},
            {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": "50%"}},
        ),
        ({"nvidia.com/deployment-strategy": "Recreate"}, {"type": "Recreate"}),
        (
            {"nvidia.com/deployment-strategy": "Recreate", "nvidia.com/deployment-rolling-update-max-surge": "50%"},
            {"type": "Recreate"},
        ),
        (
            {"nvidia.com/deployment-strategy": "RollingUpdate", "nvidia.com/deployment-rolling-update-max-surge": "1",
             "nvidia.com/deployment-rolling-update-max-unavailable": "0"},
            {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
        ),
        ({"nvidia.com/deployment-strategy": "Bogus"}, {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}),
    ],
)
def test_deployment_strategy(annotations, expected):
    (deployment,) = render_workloads(frontend_dcd(annotations=annotations), production_settings())
    assert deployment["spec"]["strategy"] == expected


def test_surge_from_extra_pod_metadata_counts():
    dcd = frontend_dcd(extraPodMetadata={"annotations": {"nvidia.com/deployment-rolling-update-max-surge": "3"}})
    (deployment,) = render_workloads(dcd, production_settings())
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxSurge"] == 3
    assert deployment["spec"]["template"]["metadata"]["annotations"] == {"nvidia.com/deployment-rolling-update-max-surge": "3"}
    assert deployment["metadata"]["annotations"] == {"nvidia.com/deployment-rolling-update-max-surge": "3"}


def test_stealing_traffic_adds_debug_deployment():
    dcd = frontend_dcd(annotations={"nvidia.com/enable-stealing-traffic-debug-mode": "true"})
    main, debug = render_workloads(dcd, production_settings(debugger_image="debug:1"))
    assert main["metadata"]["name"] == "my-graph-frontend"
    assert [c["name"] for c in main["spec"]["template"]["spec"]["containers"]] == ["main"]
    assert debug["metadata"]["name"] == "my-graph-frontend-d"
    assert debug["spec"]["replicas"] == 1
    assert debug["spec"]["selector"] == {"matchLabels": {"nvidia.com/selector": "my-graph-frontend-d"}}
    labels = debug["spec"]["template"]["metadata"]["labels"]
    assert labels["nvidia.com/dynamo-deployment-target-type"] == "debug"
    assert labels["nvidia.com/selector"] == "my-graph-frontend-d"
    pod = debug["spec"]["template"]["spec"]
    assert pod["shareProcessNamespace"] is True
    debugger = pod["containers"][-1]
    assert debugger["name"] == "debugger"
    assert debugger["image"] == "debug:1"
    assert debugger["resources"] == {"requests": {"cpu": "100m", "memory": "100Mi"}, "limits": {"cpu": "1", "memory": "1000Mi"}}


def test_debug_mode_adds_debugger_only():
    dcd = frontend_dcd(annotations={"nvidia.com/enable-debug-mode": "true"})
    (deployment,) = render_workloads(dcd, production_settings())
    pod = deployment["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["containers"]] == ["main", "debugger"]
    assert pod["shareProcessNamespace"] is True


def test_metrics_label_disabled_by_annotation():
    dcd = frontend_dcd(annotations={"nvidia.com/enable-metrics": "false"})
    (deployment,) = render_workloads(dcd, production_settings())
    assert "nvidia.com/metrics-enabled" not in deployment["spec"]["template"]["metadata"]["labels"]


def test_model_ref_label_and_annotation():
    dcd = frontend_dcd(modelRef={"name": "llama"})
    (deployment,) = render_workloads(dcd, production_settings())
    assert deployment["metadata"]["labels"]["nvidia.com/dynamo-base-model-hash"] == hashlib.sha256(b"llama").hexdigest()[:8]
    assert deployment["metadata"]["annotations"] == {"nvidia.com/dynamo-base-model": "llama"}
    assert "annotations" not in deployment["spec"]["template"]["metadata"]


def test_extra_pod_metadata_labels_override_selector():
    dcd = frontend_dcd(extraPodMetadata={"labels": {"nvidia.com/selector": "custom", "team": "a"}})
    (deployment,) = render_workloads(dcd, production_settings())
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert labels["nvidia.com/selector"] == "custom"
    assert labels["team"] == "a"


def test_service_account_fallbacks():
    dcd = frontend_dcd()
    (deployment,) = render_workloads(dcd, operator_settings({"discoveryBackend": "etcd"}))
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == "default"
    (deployment,) = render_workloads(dcd, operator_settings({"discoveryBackend": "etcd"}, component_service_accounts=["comp-sa"]))
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == "comp-sa"


def test_multinode_without_lws_is_an_error():
    with pytest.raises(InputError, match="no multinode orchestrator available") as error:
        render_workloads(worker_dcd(), operator_settings())
    assert "--lws" in error.value.hint


def test_lws_objects_per_replica():
    golden = load_golden("dcd-status-lws-all-ready.yaml")
    dcd = golden["input"]["dcd"]
    settings = operator_settings(lws_enabled=True, component_service_accounts=["default-test-sa"])
    objects = render_workloads(dcd, settings)
    assert [(o["kind"], o["metadata"]["name"]) for o in objects] == [
        ("PodGroup", "test-component-0"), ("LeaderWorkerSet", "test-component-0"),
        ("PodGroup", "test-component-1"), ("LeaderWorkerSet", "test-component-1"),
        ("PodGroup", "test-component-2"), ("LeaderWorkerSet", "test-component-2"),
    ]
    lws = objects[1]
    assert lws["apiVersion"] == "leaderworkerset.x-k8s.io/v1"
    assert lws["metadata"]["labels"] == {"instance-id": "0"}
    assert lws["spec"]["replicas"] == 1
    assert lws["spec"]["startupPolicy"] == "LeaderCreated"
    assert lws["spec"]["leaderWorkerTemplate"]["size"] == 2
    for role in ("leader", "worker"):
        template = lws["spec"]["leaderWorkerTemplate"][f"{role}Template"]
        assert template["metadata"]["labels"]["role"] == role
        assert template["metadata"]["labels"]["instance-id"] == "0"
        assert "nvidia.com/selector" not in template["metadata"]["labels"]
        assert template["metadata"]["annotations"] == {"scheduling.k8s.io/group-name": "test-component-0"}
        assert template["spec"]["schedulerName"] == "volcano"
        assert template["spec"]["serviceAccountName"] == "default-test-sa"
    worker = lws["spec"]["leaderWorkerTemplate"]["workerTemplate"]["spec"]["containers"][0]
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert probe not in worker


def test_lws_replicas_default_to_one():
    dcd = worker_dcd()
    del dcd["spec"]["replicas"]
    objects = render_workloads(dcd, operator_settings(lws_enabled=True))
    assert [o["metadata"]["name"] for o in objects] == ["test-component-0", "test-component-0"]


def test_lws_worker_needs_gpu_limit():
    with pytest.raises(InputError, match="resources.limits.gpu is missing"):
        render_workloads(worker_dcd(resources={"requests": {"gpu": "1"}}), operator_settings(lws_enabled=True))


def test_lws_needs_main_container_args():
    dcd = worker_dcd()
    dcd["spec"]["extraPodSpec"]["mainContainer"]["args"] = []
    with pytest.raises(InputError, match="has no args"):
        render_workloads(dcd, operator_settings(lws_enabled=True))


@pytest.mark.parametrize("case", load_golden("dcd-volcano-podgroup.yaml")["input"], ids=lambda case: case["case"])
def test_volcano_pod_group_golden(case):
    expected = next(e for e in load_golden("dcd-volcano-podgroup.yaml")["expected"] if e["case"] == case["case"])
    if expected["error"]:
        with pytest.raises(InputError):
            volcano_pod_group(case["dcd"], case["instanceID"])
        return
    pod_group = volcano_pod_group(case["dcd"], case["instanceID"])
    assert pod_group["apiVersion"] == "scheduling.volcano.sh/v1beta1"
    assert pod_group["kind"] == "PodGroup"
    metadata = {key: pod_group["metadata"][key] for key in ("name", "namespace", "labels")}
    assert metadata == expected["object"]["metadata"]
    assert pod_group["spec"] == expected["object"]["spec"]


def test_leader_worker_set_rejects_bad_instance_id():
    with pytest.raises(InputError, match="cannot be negative"):
        leader_worker_set(worker_dcd(), operator_settings(lws_enabled=True), -1)


def test_vllm_ray_launch_on_lws():
    dcd = worker_dcd(
        resources={"limits": {"gpu": "4"}},
        extraPodSpec={"mainContainer": {"image": "img", "command": ["python3"], "args": ["-m", "dynamo.vllm", "--tensor-parallel-size", "8"]}},
    )
    objects = render_workloads(dcd, operator_settings(lws_enabled=True))
    templates = objects[1]["spec"]["leaderWorkerTemplate"]
    leader = templates["leaderTemplate"]["spec"]["containers"][0]
    worker = templates["workerTemplate"]["spec"]["containers"][0]
    assert leader["command"] == ["/bin/sh", "-c"]
    assert leader["args"] == ["ray start --head --port=6379 && python3 -m dynamo.vllm --tensor-parallel-size 8"]
    assert worker["args"] == ["ray start --address=$LWS_LEADER_ADDRESS:6379 --block"]
    assert "readinessProbe" in leader


def test_render_does_not_change_input():
    dcd = frontend_dcd(envs=[{"name": "B", "value": "1"}], volumeMounts=[{"name": "pvc", "mountPoint": "/m"}])
    before = copy.deepcopy(dcd)
    render_workloads(dcd, production_settings())
    assert dcd == before


# The nominal LeaderWorkerSet case of the operator's controller tests (Dynamo 0.8.0),
# written out as the API would show it.
LWS_NOMINAL_DCD = {
    "metadata": {
        "name": "test-lws-deploy",
        "namespace": "default",
        "ownerReferences": [{"kind": "DynamoGraphDeployment", "name": "test-lws-deploy"}],
    },
    "spec": {
        "backendFramework": "vllm",
        "envs": [{"name": "TEST_ENV_FROM_DYNAMO_COMPONENT_DEPLOYMENT_SPEC", "value": "test_value_from_dynamo_component_deployment_spec"}],
        "componentType": "worker",
        "subComponentType": "test-sub-component",
        "serviceName": "test-lws-deploy-service",
        "dynamoNamespace": "default",
        "multinode": {"nodeCount": 2},
        "resources": {"requests": {"cpu": "300m", "memory": "500Mi"}, "limits": {"gpu": "1", "memory": "20Gi", "cpu": "10"}},
        "extraPodMetadata": {"annotations": {"nvidia.com/annotation1": "annotation1"}, "labels": {"nvidia.com/label1": "label1"}},
        "extraPodSpec": {
            "terminationGracePeriodSeconds": 10,
            "containers": [{"image": "another-image:latest"}],
            "mainContainer": {
                "image": "test-image:latest",
                "command": ["some", "dynamo", "command"],
                "args": ["--tensor-parallel-size", "4", "--pipeline-parallel-size", "1"],
                "env": [{"name": "TEST_ENV_FROM_EXTRA_POD_SPEC", "value": "test_value_from_extra_pod_spec"}],
            },
        },
    },
}


def _nominal_env():
    def field(name, path):
        return {"name": name, "valueFrom": {"fieldRef": {"fieldPath": path}}}

    return [
        {"name": "DYN_COMPONENT", "value": "worker"},
        {"name": "DYN_DISCOVERY_BACKEND", "value": "kubernetes"},
        {"name": "DYN_HEALTH_CHECK_ENABLED", "value": "true"},
        {"name": "DYN_NAMESPACE", "value": "default"},
        {"name": "DYN_PARENT_DGD_K8S_NAME", "value": "test-lws-deploy"},
        {"name": "DYN_PARENT_DGD_K8S_NAMESPACE", "value": "default"},
        {"name": "DYN_SYSTEM_ENABLED", "value": "true"},
        {"name": "DYN_SYSTEM_PORT", "value": "9090"},
        {"name": "DYN_SYSTEM_USE_ENDPOINT_HEALTH_STATUS", "value": '["generate"]'},
        field("POD_NAME", "metadata.name"),
        field("POD_NAMESPACE", "metadata.namespace"),
        field("POD_UID", "metadata.uid"),
        {"name": "TEST_ENV_FROM_DYNAMO_COMPONENT_DEPLOYMENT_SPEC", "value": "test_value_from_dynamo_component_deployment_spec"},
        {"name": "TEST_ENV_FROM_EXTRA_POD_SPEC", "value": "test_value_from_extra_pod_spec"},
    ]


def _nominal_template(role, args, probes):
    main = {
        "name": "main",
        "image": "test-image:latest",
        "command": ["/bin/sh", "-c"],
        "args": args,
        "env": _nominal_env(),
        "ports": [{"protocol": "TCP", "name": "system", "containerPort": 9090}],
        "volumeMounts": [{"name": "shared-memory", "mountPath": "/dev/shm"}],
        "resources": {
            "requests": {"cpu": "300m", "memory": "500Mi"},
            "limits": {"memory": "20Gi", "cpu": "10", "nvidia.com/gpu": "1"},
        },
    }
    main.update(probes)
    return {
        "metadata": {
            "labels": {
                "instance-id": "0",
                "nvidia.com/metrics-enabled": "true",
                "role": role,
                "nvidia.com/label1": "label1",
                "nvidia.com/dynamo-component-type": "worker",
                "nvidia.com/dynamo-sub-component-type": "test-sub-component",
                "nvidia.com/dynamo-graph-deployment-name": "",
            },
            "annotations": {"scheduling.k8s.io/group-name": "test-lws-deploy-0", "nvidia.com/annotation1": "annotation1"},
        },
        "spec": {
            "schedulerName": "volcano",
            "terminationGracePeriodSeconds": 10,
            "securityContext": {"fsGroup": 1000},
            "volumes": [{"name": "shared-memory", "emptyDir": {"medium": "Memory", "sizeLimit": "8Gi"}}],
            "restartPolicy": "Always",
            "containers": [{"image": "another-image:latest"}, main],
            "serviceAccountName": "default-test-sa",
        },
    }


def test_leader_worker_set_nominal_case():
    settings = operator_settings(lws_enabled=True, component_service_accounts=["default-test-sa"])
    lws = leader_worker_set(LWS_NOMINAL_DCD, settings, 0)
    leader_probes = {
        "livenessProbe": {"httpGet": {"path": "/live", "port": "system"}, "timeoutSeconds": 4, "periodSeconds": 5, "failureThreshold": 1},
        "readinessProbe": {"httpGet": {"path": "/health", "port": "system"}, "timeoutSeconds": 4, "periodSeconds": 10, "failureThreshold": 3},
        "startupProbe": {"httpGet": {"path": "/live", "port": "system"}, "timeoutSeconds": 5, "periodSeconds": 10, "failureThreshold": 720},
    }
    assert lws["metadata"]["name"] == "test-lws-deploy-0"
    assert lws["metadata"]["labels"] == {"instance-id": "0"}
    assert lws["spec"]["replicas"] == 1
    assert lws["spec"]["startupPolicy"] == "LeaderCreated"
    templates = lws["spec"]["leaderWorkerTemplate"]
    assert templates["size"] == 2
    assert templates["leaderTemplate"] == _nominal_template(
        "leader",
        ["ray start --head --port=6379 && some dynamo command --tensor-parallel-size 4 --pipeline-parallel-size 1"],
        leader_probes,
    )
    assert templates["workerTemplate"] == _nominal_template("worker", ["ray start --address=$LWS_LEADER_ADDRESS:6379 --block"], {})
