"""Normalisation and comparison on hand-written objects and the operator's golden vectors."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from kubectl_dynamo.api.quantity import parse_quantity, same_quantity
from kubectl_dynamo.diff.compare import DiffItem, IgnoreRule, compare
from kubectl_dynamo.diff.normalize import normalize
from kubectl_dynamo.errors import UsageError

GOLDEN = Path(__file__).resolve().parent.parent / "data" / "golden"


def golden(name: str) -> dict:
    return yaml.safe_load((GOLDEN / name).read_text())


def worker_pod_spec() -> dict:
    """The worker pod spec the operator's GenerateBasePodSpec test expects (Dynamo 0.8.0)."""
    return copy.deepcopy(golden("dgd-pod-base.yaml")["expected"]["Worker"]["podSpec"])


def deployment(pod_spec: dict, **spec) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "g-worker", "namespace": "default", "labels": {"app": "g"}},
        "spec": {
            "selector": {"matchLabels": {"nvidia.com/selector": "g-worker"}},
            "template": {"metadata": {"labels": {"nvidia.com/selector": "g-worker"}}, "spec": pod_spec},
            **spec,
        },
    }


def as_served(obj: dict) -> dict:
    """Return ``obj`` the way kube-apiserver 1.32 returns it: defaults, bookkeeping, another order."""
    served = copy.deepcopy(obj)
    metadata = served["metadata"]
    metadata.update({
        "uid": "6f1d2c9e-0000-4000-8000-000000000001", "resourceVersion": "4711", "generation": 3,
        "creationTimestamp": "2026-11-30T10:00:00Z",
        "managedFields": [{"manager": "dynamo-operator", "operation": "Update", "time": "2026-11-30T10:00:00Z"}],
    })
    metadata.setdefault("annotations", {}).update({
        "deployment.kubernetes.io/revision": "3",
        "nvidia.com/last-applied-hash": "1b2c", "nvidia.com/last-applied-generation": "2",
    })
    spec = served["spec"]
    spec.update({"replicas": spec.get("replicas", 1), "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
                 "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}})
    template = spec["template"]
    template["metadata"]["creationTimestamp"] = None
    pod = template["spec"]
    pod.update({"dnsPolicy": "ClusterFirst", "schedulerName": "default-scheduler"})
    pod.setdefault("restartPolicy", "Always")
    pod.setdefault("terminationGracePeriodSeconds", 30)
    pod.setdefault("securityContext", {})
    for container in pod["containers"]:
        container.update({"terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"})
        container.setdefault("imagePullPolicy", "IfNotPresent")
        container.setdefault("resources", {})
        container["env"] = list(reversed(container.get("env", [])))
        for variable in container["env"]:
            field_ref = (variable.get("valueFrom") or {}).get("fieldRef")
            if field_ref:
                field_ref["apiVersion"] = "v1"
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            if probe in container:
                container[probe].setdefault("successThreshold", 1)
                container[probe]["httpGet"].setdefault("scheme", "HTTP")
    served["status"] = {"replicas": 1, "readyReplicas": 1, "observedGeneration": 3}
    return served


def test_quantities_compare_by_value():
    assert same_quantity("1Gi", "1024Mi")
    assert same_quantity("1", "1000m")
    assert same_quantity(1, "1")
    assert same_quantity("8Gi", "8589934592")
    assert same_quantity("1e3", "1k")
    assert not same_quantity("1G", "1Gi")
    assert parse_quantity("gpu") is None


def test_served_deployment_equals_desired():
    desired = deployment(worker_pod_spec(), replicas=1)
    result = compare(as_served(desired), desired, old_is_live=True)
    assert result.items == []


def test_equivalent_quantities_are_no_change():
    desired = deployment(worker_pod_spec())
    desired["spec"]["template"]["spec"]["containers"][0]["resources"] = {"limits": {"memory": "1Gi", "cpu": "1"}}
    live = as_served(desired)
    live["spec"]["template"]["spec"]["containers"][0]["resources"] = {"limits": {"memory": "1024Mi", "cpu": "1000m"}}
    live["spec"]["template"]["spec"]["volumes"][0]["emptyDir"]["sizeLimit"] = "8192Mi"
    assert compare(live, desired, old_is_live=True).items == []


def test_empty_collections_equal_absent():
    desired = deployment(worker_pod_spec())
    desired["spec"]["template"]["spec"]["tolerations"] = []
    desired["spec"]["template"]["spec"]["affinity"] = {}
    assert compare(as_served(deployment(worker_pod_spec())), desired, old_is_live=True).items == []


def test_env_change_is_one_keyed_item():
    desired = deployment(worker_pod_spec())
    live = as_served(desired)
    changed = copy.deepcopy(desired)
    env = changed["spec"]["template"]["spec"]["containers"][0]["env"]
    next(v for v in env if v["name"] == "DYN_SYSTEM_PORT")["value"] = "9191"
    env.insert(0, {"name": "HF_HOME", "value": "/models"})
    items = compare(live, changed, old_is_live=True).items
    assert [(item.op, item.pointer) for item in items] == [
        ("add", "/spec/template/spec/containers/main/env/HF_HOME"),
        ("replace", "/spec/template/spec/containers/main/env/DYN_SYSTEM_PORT/value"),
    ] or [(item.op, item.pointer) for item in items] == [
        ("replace", "/spec/template/spec/containers/main/env/DYN_SYSTEM_PORT/value"),
        ("add", "/spec/template/spec/containers/main/env/HF_HOME"),
    ]
    replaced = next(item for item in items if item.op == "replace")
    assert (replaced.old, replaced.new) == ("9090", "9191")
    assert replaced.dotted == "spec.template.spec.containers[main].env[DYN_SYSTEM_PORT].value"


def test_args_change_replaces_whole_list():
    desired = deployment(worker_pod_spec())
    changed = copy.deepcopy(desired)
    changed["spec"]["template"]["spec"]["containers"][0]["args"] = ["-m", "dynamo.worker", "--verbose"]
    items = compare(as_served(desired), changed, old_is_live=True).items
    assert len(items) == 1
    assert items[0].pointer == "/spec/template/spec/containers/main/args"
    assert items[0].old == ["-m", "dynamo.worker"]
    assert items[0].new == ["-m", "dynamo.worker", "--verbose"]


def test_init_container_order_is_a_change():
    first = {"name": "a", "image": "busybox:1"}
    second = {"name": "b", "image": "busybox:1"}
    old = deployment({"initContainers": [first, second], "containers": [{"name": "main", "image": "x:1"}]})
    new = deployment({"initContainers": [second, first], "containers": [{"name": "main", "image": "x:1"}]})
    items = compare(old, new, old_is_live=False).items
    assert [item.pointer for item in items] == ["/spec/template/spec/initContainers"]


def test_pull_policy_defaults_from_tag():
    def policy(image: str) -> str:
        obj = normalize(deployment({"containers": [{"name": "main", "image": image}]}))
        return obj["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"]

    assert policy("nvcr.io/nvidia/vllm-runtime:0.8.0") == "IfNotPresent"
    assert policy("nvcr.io/nvidia/vllm-runtime") == "Always"
    assert policy("nvcr.io/nvidia/vllm-runtime:latest") == "Always"
    assert policy("localhost:5000/runtime") == "Always"
    assert policy("nvcr.io/x@sha256:" + "a" * 64) == "IfNotPresent"


def test_service_allocated_fields_are_no_change():
    desired = {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "g-frontend", "namespace": "default"},
        "spec": {"selector": {"app": "g"}, "ports": [{"name": "http", "port": 8000, "targetPort": "http"}]},
    }
    live = copy.deepcopy(desired)
    live["spec"].update({
        "type": "ClusterIP", "sessionAffinity": "None", "clusterIP": "10.96.0.12", "clusterIPs": ["10.96.0.12"],
        "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack", "internalTrafficPolicy": "Cluster",
    })
    live["spec"]["ports"][0]["protocol"] = "TCP"
    live["status"] = {"loadBalancer": {}}
    assert compare(live, desired, old_is_live=True).items == []


def test_pvc_defaults_and_binding_are_no_change():
    desired = {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "model-cache", "namespace": "default"},
        "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "100Gi"}}},
    }
    live = copy.deepcopy(desired)
    live["metadata"]["annotations"] = {"pv.kubernetes.io/bind-completed": "yes"}
    live["metadata"]["finalizers"] = ["kubernetes.io/pvc-protection"]
    live["spec"].update({"volumeMode": "Filesystem", "volumeName": "pvc-123", "storageClassName": "standard"})
    live["spec"]["resources"]["requests"]["storage"] = "102400Mi"
    assert compare(live, desired, old_is_live=True).items == []


def test_live_only_labels_are_kept():
    desired = deployment(worker_pod_spec())
    live = as_served(desired)
    live["metadata"]["labels"]["kustomize.toolkit.fluxcd.io/name"] = "apps"
    assert compare(live, desired, old_is_live=True).items == []
    # Between two versions of a file, a removed label is a change.
    assert compare(live, desired, old_is_live=False).items != []


def test_ignore_rule_with_kind_and_wildcard():
    desired = deployment(worker_pod_spec(), replicas=1)
    changed = copy.deepcopy(desired)
    changed["spec"]["replicas"] = 4
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = "runtime:2"
    live = as_served(desired)
    rules = [IgnoreRule.parse("Deployment:/spec/replicas"), IgnoreRule.parse("/spec/template/spec/containers/*/image")]
    assert compare(live, changed, old_is_live=True, ignores=rules).items == []
    other_kind = [IgnoreRule.parse("Service:/spec/replicas")]
    assert [i.pointer for i in compare(live, changed, old_is_live=True, ignores=other_kind).items] == [
        "/spec/replicas", "/spec/template/spec/containers/main/image",
    ]


def test_ignore_rule_by_item_name():
    rule = IgnoreRule.parse("/spec/template/spec/containers/main/env/DYN_SYSTEM_PORT")
    assert rule.kind is None
    desired = deployment(worker_pod_spec())
    changed = copy.deepcopy(desired)
    env = changed["spec"]["template"]["spec"]["containers"][0]["env"]
    next(v for v in env if v["name"] == "DYN_SYSTEM_PORT")["value"] = "9191"
    assert compare(as_served(desired), changed, old_is_live=True, ignores=[rule]).items == []


@pytest.mark.parametrize("text", ["spec/replicas", "Deployment:spec", ":/spec"])
def test_ignore_rule_rejects_bad_pointer(text):
    with pytest.raises(UsageError, match="invalid --ignore"):
        IgnoreRule.parse(text)


def test_secret_data_is_masked():
    old = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "hf", "namespace": "default"},
           "data": {"HF_TOKEN": "aGZfb2xk", "USER": "dXNlcg=="}}
    new = copy.deepcopy(old)
    new["data"]["HF_TOKEN"] = "aGZfbmV3"
    new["data"]["EXTRA"] = "ZXh0cmE="
    result = compare(old, new, old_is_live=True)
    text = repr(result.old) + repr(result.new) + repr(result.items)
    for secret in ("aGZfb2xk", "aGZfbmV3", "dXNlcg==", "ZXh0cmE="):
        assert secret not in text
    assert result.old["data"] == {"HF_TOKEN": "*** (before)", "USER": "***"}
    assert result.new["data"] == {"HF_TOKEN": "*** (after)", "USER": "***", "EXTRA": "***"}
    assert {item.pointer for item in result.items} == {"/data/HF_TOKEN", "/data/EXTRA"}


def test_secret_reference_shown_by_reference():
    desired = deployment(worker_pod_spec())
    changed = copy.deepcopy(desired)
    changed["spec"]["template"]["spec"]["containers"][0]["env"].append(
        {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "hf-token-secret", "key": "HF_TOKEN"}}}
    )
    items = compare(as_served(desired), changed, old_is_live=True).items
    assert items == [DiffItem("add", ("spec", "template", "spec", "containers", "main", "env", "HF_TOKEN"), None,
                              {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"key": "HF_TOKEN", "name": "hf-token-secret"}}})]


def test_created_and_deleted_objects():
    obj = deployment(worker_pod_spec())
    assert [item.op for item in compare(None, obj, old_is_live=True).items] == ["add"]
    assert [item.op for item in compare(obj, None, old_is_live=True).items] == ["remove"]


def test_golden_dcds_compare_with_protocol_default():
    # The DCD spec of dgd-01 as the operator builds it, and as read back with a port
    # whose protocol the CRD schema defaults to TCP.
    expected = golden("dgd-01-dcd-basic.yaml")["expected"]["service1"]
    desired = {"apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoComponentDeployment", **copy.deepcopy(expected)}
    desired["spec"]["extraPodSpec"] = {"mainContainer": {"ports": [{"name": "http", "containerPort": 8000}]}}
    live = copy.deepcopy(desired)
    live["spec"]["extraPodSpec"]["mainContainer"]["ports"][0]["protocol"] = "TCP"
    live["spec"]["resources"]["requests"]["memory"] = "1024Mi"
    live["status"] = {"conditions": [{"type": "Available", "status": "True"}]}
    assert compare(live, desired, old_is_live=True).items == []


def test_golden_k8s_defaults_noop():
    # The operator ignores a live revisionHistoryLimit it did not set; so does the diff.
    vector = golden("dcd-sync-k8s-defaults-noop.yaml")
    assert vector["expected"][1]["modified"] is False
    desired = deployment(worker_pod_spec(), replicas=vector["input"]["dcd"]["spec"]["replicas"])
    live = as_served(desired)
    live["spec"]["revisionHistoryLimit"] = 10
    assert compare(live, desired, old_is_live=True).items == []


def test_golden_manual_replica_change_shows():
    vector = golden("dcd-sync-manual-replica-change.yaml")
    replicas = vector["input"]["dcd"]["spec"]["replicas"]
    desired = deployment(worker_pod_spec(), replicas=replicas)
    live = as_served(desired)
    live["spec"]["replicas"] = replicas + 2
    items = compare(live, desired, old_is_live=True).items
    assert [(item.pointer, item.old, item.new) for item in items] == [("/spec/replicas", replicas + 2, replicas)]


def test_crd_schema_defaults_of_graph():
    desired = {"apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeployment",
               "metadata": {"name": "g", "namespace": "default"},
               "spec": {"services": {"worker": {"multinode": {}, "scalingAdapter": {}, "replicas": 1}}}}
    live = copy.deepcopy(desired)
    live["spec"]["services"]["worker"].update({"multinode": {"nodeCount": 2}, "scalingAdapter": {"disable": False}})
    assert compare(live, desired, old_is_live=True).items == []
    live["spec"]["services"]["worker"]["multinode"]["nodeCount"] = 4
    assert [item.pointer for item in compare(live, desired, old_is_live=True).items] == [
        "/spec/services/worker/multinode/nodeCount",
    ]


def test_service_account_token_secrets_are_no_change():
    desired = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "g-discovery", "namespace": "default"}}
    live = copy.deepcopy(desired)
    live["secrets"] = [{"name": "g-discovery-token-x2x7k"}]
    live["imagePullSecrets"] = [{"name": "g-discovery-dockercfg-9z8b2"}]
    assert compare(live, desired, old_is_live=True).items == []


def test_projected_token_expiry_default():
    volume = {"name": "token", "projected": {"sources": [
        {"serviceAccountToken": {"path": "token"}},
        {"downwardAPI": {"items": [{"path": "ns", "fieldRef": {"fieldPath": "metadata.namespace"}}]}},
    ]}}
    desired = deployment({"containers": [{"name": "main", "image": "x:1"}], "volumes": [volume]})
    live = copy.deepcopy(desired)
    sources = live["spec"]["template"]["spec"]["volumes"][0]["projected"]["sources"]
    sources[0]["serviceAccountToken"]["expirationSeconds"] = 3600
    sources[1]["downwardAPI"]["items"][0]["fieldRef"]["apiVersion"] = "v1"
    live["spec"]["template"]["spec"]["volumes"][0]["projected"]["defaultMode"] = 420
    assert compare(live, desired, old_is_live=True).items == []
