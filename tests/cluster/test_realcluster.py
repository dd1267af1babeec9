"""The flows of the test API server's tests, run through the Cluster interface against
a real cluster, so that the fake can be checked against a real API server.

Opt-in: ``KUBECONFIG=~/.kube/kind pytest -m realcluster tests/cluster``. Each run
creates and deletes its own namespace ``kubectl-dynamo-test-<random>``; point
KUBECONFIG at a disposable cluster (kind, minikube) with permission to create
namespaces. Tests that need the Dynamo CRDs or a pulled image skip without them.
"""

import os
import secrets
import time

import pytest

from kubectl_dynamo.api import kinds
from kubectl_dynamo.cluster.kube import connect
from kubectl_dynamo.cluster.protocol import ConnectionOptions, LogOptions
from kubectl_dynamo.errors import ClusterError, ConflictError, NotFoundError

pytestmark = pytest.mark.realcluster

# An image the cluster can pull, for the log test.
IMAGE = os.environ.get("KUBECTL_DYNAMO_TEST_IMAGE", "busybox:1.36")


@pytest.fixture(scope="module")
def real(request):
    # A KUBECONFIG set for daily work must never make a plain `pytest` touch that cluster.
    if "realcluster" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("real-cluster test: select it with -m realcluster and KUBECONFIG pointing at a disposable cluster")
    if not os.environ.get("KUBECONFIG"):
        pytest.skip("set KUBECONFIG to a disposable test cluster (kind, minikube) to run the realcluster tests")
    try:
        cluster = connect(ConnectionOptions())
        cluster.api_groups()
    except ClusterError as exc:
        pytest.skip(f"the cluster in KUBECONFIG is not reachable: {exc}")
    namespace = f"kubectl-dynamo-test-{secrets.token_hex(3)}"
    cluster.create(kinds.NAMESPACE, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    try:
        yield cluster, namespace
    finally:
        cluster.delete(kinds.NAMESPACE, namespace)


def deployment(name, replicas=1, labels=None):
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "main", "image": IMAGE}]}},
        },
    }


def test_create_get_list_with_selectors(real):
    cluster, namespace = real
    created = cluster.create(kinds.CONFIG_MAP, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "labels": {"team": "x"}}}, namespace)
    assert created["metadata"]["uid"]
    assert created["metadata"]["resourceVersion"]
    cluster.create(kinds.CONFIG_MAP, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b", "labels": {"team": "y"}}}, namespace)
    assert cluster.get(kinds.CONFIG_MAP, "a", namespace)["metadata"]["labels"] == {"team": "x"}
    selected = cluster.list(kinds.CONFIG_MAP, namespace, label_selector="team in (y,z)")
    assert [o["metadata"]["name"] for o in selected.items] == ["b"]
    assert selected.items[0]["kind"] == "ConfigMap"
    by_field = cluster.list(kinds.CONFIG_MAP, namespace, field_selector="metadata.name=a")
    assert [o["metadata"]["name"] for o in by_field.items] == ["a"]
    with pytest.raises(ConflictError):
        cluster.create(kinds.CONFIG_MAP, created, namespace)
    with pytest.raises(NotFoundError):
        cluster.get(kinds.CONFIG_MAP, "nope", namespace)


def test_generation_patches_and_conflicts(real):
    cluster, namespace = real
    created = cluster.create(kinds.DEPLOYMENT, deployment("web"), namespace)
    assert created["metadata"]["generation"] == 1
    labelled = cluster.patch(kinds.DEPLOYMENT, "web", {"metadata": {"labels": {"x": "y"}}}, namespace=namespace)
    assert labelled["metadata"]["generation"] == 1
    patched = cluster.patch(kinds.DEPLOYMENT, "web", [{"op": "replace", "path": "/spec/replicas", "value": 0}], patch_type="json", namespace=namespace)
    assert patched["metadata"]["generation"] == 2
    assert any(e["manager"] == "kubectl-dynamo" for e in patched["metadata"]["managedFields"])
    with pytest.raises(ConflictError):
        cluster.replace(kinds.DEPLOYMENT, created, namespace)
    with pytest.raises(ClusterError) as invalid:
        cluster.patch(kinds.DEPLOYMENT, "web", {"spec": {"replicas": -1}}, namespace=namespace)
    assert invalid.value.status == 422
    assert "spec.replicas" in str(invalid.value)


def test_scale_subresource(real):
    cluster, namespace = real
    cluster.create(kinds.DEPLOYMENT, deployment("scaled", replicas=0), namespace)
    scale = cluster.get_scale(kinds.DEPLOYMENT, "scaled", namespace)
    assert (scale["kind"], scale["apiVersion"], scale["spec"]["replicas"]) == ("Scale", "autoscaling/v1", 0)
    assert cluster.set_scale(kinds.DEPLOYMENT, "scaled", 0, namespace)["spec"]["replicas"] == 0
    assert cluster.get(kinds.DEPLOYMENT, "scaled", namespace)["spec"]["replicas"] == 0


def test_watch_from_list_resource_version(real):
    cluster, namespace = real
    cluster.create(kinds.CONFIG_MAP, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "watched"}}, namespace)
    listed = cluster.list(kinds.CONFIG_MAP, namespace, field_selector="metadata.name=watched")
    cluster.patch(kinds.CONFIG_MAP, "watched", {"data": {"k": "v"}}, namespace=namespace)
    events = cluster.watch(kinds.CONFIG_MAP, namespace, field_selector="metadata.name=watched",
                           resource_version=listed.resource_version, timeout_seconds=10)
    first = next(events)
    events.close()
    assert (first.type, first.object["data"]) == ("MODIFIED", {"k": "v"})
    with pytest.raises(ClusterError) as gone:
        list(cluster.watch(kinds.CONFIG_MAP, namespace, resource_version="1", timeout_seconds=5))
    assert gone.value.status == 410


def test_events_for_an_object(real):
    cluster, namespace = real
    target = cluster.create(kinds.CONFIG_MAP, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "noted"}}, namespace)
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    cluster.create(kinds.EVENT, {
        "apiVersion": "v1", "kind": "Event", "metadata": {"name": "noted.1"},
        "involvedObject": {"apiVersion": "v1", "kind": "ConfigMap", "name": "noted", "namespace": namespace, "uid": target["metadata"]["uid"]},
        "reason": "Tested", "message": "hello", "type": "Normal", "firstTimestamp": now, "lastTimestamp": now, "count": 1,
        "source": {"component": "kubectl-dynamo-test"},
    }, namespace)
    assert [e["reason"] for e in cluster.events_for(kinds.CONFIG_MAP, "noted", namespace)] == ["Tested"]


def test_pod_logs(real):
    cluster, namespace = real
    pod = {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "talker"},
        "spec": {"restartPolicy": "Never", "containers": [
            {"name": "main", "image": IMAGE, "command": ["sh", "-c", "echo one; echo two; sleep 3600"]},
            {"name": "side", "image": IMAGE, "command": ["sh", "-c", "sleep 3600"]},
        ]},
    }
    cluster.create(kinds.POD, pod, namespace)
    deadline = time.monotonic() + 120
    while cluster.get(kinds.POD, "talker", namespace).get("status", {}).get("phase") != "Running":
        if time.monotonic() > deadline:
            pytest.skip(f"pod with image {IMAGE} did not start in 120 s; set KUBECTL_DYNAMO_TEST_IMAGE")
        time.sleep(1)
    time.sleep(1)
    assert list(cluster.stream_logs("talker", LogOptions(container="main", tail_lines=1), namespace)) == ["two"]
    with pytest.raises(ClusterError) as ambiguous:
        cluster.stream_logs("talker", LogOptions(), namespace)
    assert ambiguous.value.status == 400
    assert "a container name must be specified for pod talker, choose one of: [main side]" in str(ambiguous.value)


def test_dynamo_graph_has_no_scale_subresource(real):
    cluster, namespace = real
    if "nvidia.com" not in cluster.api_groups():
        pytest.skip("the Dynamo CRDs are not installed in this cluster")
    graph = {"apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeployment", "metadata": {"name": "g"}, "spec": {"services": {}}}
    cluster.create(kinds.DGD, graph, namespace)
    with pytest.raises(ClusterError):
        cluster.get_scale(kinds.DGD, "g", namespace)
    listed = cluster.list(kinds.DGD, namespace)
    assert [o["metadata"]["name"] for o in listed.items] == ["g"]
