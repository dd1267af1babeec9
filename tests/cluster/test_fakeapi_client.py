"""The test API server against the official ``kubernetes`` client over HTTP: the
behaviour the product relies on, checked with the client the product uses."""

import json
import threading
import urllib.error
import urllib.request

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes import watch as k8s_watch

DGD_YAML = """
apiVersion: nvidia.com/v1alpha1
kind: DynamoGraphDeployment
metadata:
  name: llm
  namespace: dynamo
  labels: {kustomize.toolkit.fluxcd.io/name: apps, team: a}
spec:
  services:
    Frontend: {replicas: 1}
status:
  state: successful
---
apiVersion: nvidia.com/v1alpha1
kind: DynamoGraphDeployment
metadata:
  name: other
  namespace: dynamo
  labels: {team: b}
spec:
  services: {}
"""

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "dynamo"},
    "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}}, "template": {"spec": {"containers": [{"name": "main"}]}}},
    "status": {"replicas": 1},
}


@pytest.fixture
def api(api_server):
    api_client = k8s_config.new_client_from_config(config_file=api_server.kubeconfig)
    yield api_client
    api_client.close()


def crd(api):
    return k8s.CustomObjectsApi(api)


def test_create_answers_201_with_server_fields(api_server, api):
    api_server.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "dynamo"}})
    body = {"apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeployment", "metadata": {"name": "g"}, "spec": {"services": {}}}
    created = crd(api).create_namespaced_custom_object("nvidia.com", "v1alpha1", "dynamo", "dynamographdeployments", body)
    meta = created["metadata"]
    assert meta["uid"]
    assert meta["creationTimestamp"]
    assert meta["generation"] == 1
    assert meta["resourceVersion"]
    assert api_server.requests_for("create")[0].status == 201
    with pytest.raises(k8s.ApiException) as raised:
        crd(api).create_namespaced_custom_object("nvidia.com", "v1alpha1", "dynamo", "dynamographdeployments", body)
    assert raised.value.status == 409
    assert json.loads(raised.value.body)["reason"] == "AlreadyExists"


def test_create_in_missing_namespace_is_404(api):
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    with pytest.raises(k8s.ApiException) as raised:
        k8s.CoreV1Api(api).create_namespaced_config_map("nowhere", body)
    status = json.loads(raised.value.body)
    assert raised.value.status == 404
    assert status["message"] == 'namespaces "nowhere" not found'


def test_list_has_kind_and_selectors_filter(api_server, api):
    api_server.seed(DGD_YAML)
    listed = crd(api).list_namespaced_custom_object(
        "nvidia.com", "v1alpha1", "dynamo", "dynamographdeployments", label_selector="kustomize.toolkit.fluxcd.io/name=apps"
    )
    assert listed["kind"] == "DynamoGraphDeploymentList"
    assert listed["apiVersion"] == "nvidia.com/v1alpha1"
    assert listed["metadata"]["resourceVersion"]
    assert [o["metadata"]["name"] for o in listed["items"]] == ["llm"]
    set_based = crd(api).list_cluster_custom_object("nvidia.com", "v1alpha1", "dynamographdeployments", label_selector="team in (b,c)")
    assert [o["metadata"]["name"] for o in set_based["items"]] == ["other"]
    negated = crd(api).list_cluster_custom_object("nvidia.com", "v1alpha1", "dynamographdeployments", label_selector="!team")
    assert negated["items"] == []
    by_name = crd(api).list_cluster_custom_object("nvidia.com", "v1alpha1", "dynamographdeployments", field_selector="metadata.name=other")
    assert [o["metadata"]["name"] for o in by_name["items"]] == ["other"]


def test_generation_bumps_on_spec_only(api_server, api):
    api_server.seed(DGD_YAML)
    objects = crd(api)
    got = objects.get_namespaced_custom_object("nvidia.com", "v1alpha1", "dynamo", "dynamographdeployments", "llm")
    assert got["status"] == {"state": "successful"}
    labelled = objects.patch_namespaced_custom_object(
        "nvidia.com", "v1alpha1", "dynamo", "dynamographdeployments", "llm", {"metadata": {"labels": {"x": "y"}}}
    )
    assert labelled["metadata"]["generation"] == 1
    assert int(labelled["metadata"]["resourceVersion"]) > int(got["metadata"]["resourceVersion"])
    patched = objects.patch_namespaced_custom_object(
        "nvidia.com", "v1alpha1", "dynamo", "dynamographdeployments", "llm", {"spec": {"services": {"Frontend": {"replicas": 2}}}}
    )
    assert patched["metadata"]["generation"] == 2
    # The main resource cannot change status when the kind has a status subresource.
    ignored = objects.patch_namespaced_custom_object(
        "nvidia.com", "v1alpha1", "dynamo", "dynamographdeployments", "llm", {"status": {"state": "failed"}}
    )
    assert ignored["status"] == {"state": "successful"}
    managers = {(e["manager"], e["operation"]) for e in patched["metadata"]["managedFields"]}
    assert ("OpenAPI-Generator", "Update") in managers
    assert all("fieldsV1" in e for e in patched["metadata"]["managedFields"])


def test_json_patch_needs_its_content_type(api_server, api):
    api_server.seed(DGD_YAML)
    operations = [{"op": "replace", "path": "/spec/services/Frontend/replicas", "value": 3}]
    with pytest.raises(k8s.ApiException) as raised:
        # The client sends a merge-patch content type by default, which the real server rejects with 422.
        crd(api).patch_namespaced_custom_object("nvidia.com", "v1alpha1", "dynamo", "dynamographdeployments", "llm", operations)
    assert raised.value.status == 422
    patched = api.call_api(
        "/apis/nvidia.com/v1alpha1/namespaces/dynamo/dynamographdeployments/llm", "PATCH", body=operations,
        header_params={"Content-Type": "application/json-patch+json", "Accept": "application/json"},
        response_type="object", _return_http_data_only=True,
    )
    assert patched["spec"]["services"]["Frontend"]["replicas"] == 3


def test_stale_update_is_409(api_server, api):
    api_server.seed(DGD_YAML)
    objects = crd(api)
    old = objects.get_namespaced_custom_object("nvidia.com", "v1alpha1", "dynamo", "dynamographdeployments", "llm")
    objects.patch_namespaced_custom_object("nvidia.com", "v1alpha1", "dynamo", "dynamographdeployments", "llm", {"spec": {"a": 1}})
    with pytest.raises(k8s.ApiException) as raised:
        objects.replace_namespaced_custom_object("nvidia.com", "v1alpha1", "dynamo", "dynamographdeployments", "llm", old)
    assert raised.value.status == 409
    assert "the object has been modified" in json.loads(raised.value.body)["message"]


def test_scale_subresource_only_where_declared(api_server, api):
    api_server.seed(DEPLOYMENT, DGD_YAML)
    apps = k8s.AppsV1Api(api)
    scale = apps.read_namespaced_deployment_scale("web", "dynamo")
    assert scale.kind == "Scale"
    assert scale.api_version == "autoscaling/v1"
    assert scale.spec.replicas == 1
    assert scale.status.selector == "app=web"
    apps.patch_namespaced_deployment_scale("web", "dynamo", {"spec": {"replicas": 4}})
    deployment = api_server.get_object("apps/v1", "Deployment", "dynamo", "web")
    assert deployment["spec"]["replicas"] == 4
    assert deployment["metadata"]["generation"] == 2
    with pytest.raises(k8s.ApiException) as raised:
        crd(api).get_namespaced_custom_object_scale("nvidia.com", "v1alpha1", "dynamo", "dynamographdeployments", "llm")
    assert raised.value.status == 404
    with pytest.raises(k8s.ApiException) as raised:
        apps.patch_namespaced_deployment_scale("web", "dynamo", {"spec": {"replicas": -1}})
    assert raised.value.status == 422
    assert json.loads(raised.value.body)["details"]["causes"][0]["field"] == "spec.replicas"


def test_watch_from_list_resource_version(api_server, api):
    api_server.seed(DGD_YAML)
    objects = crd(api)
    listed = objects.list_namespaced_custom_object("nvidia.com", "v1alpha1", "dynamo", "dynamographdeployments")
    api_server.after(0.2, api_server.update_object, {**listed["items"][0], "status": {"state": "failed"}})
    events = []
    for event in k8s_watch.Watch().stream(
        objects.list_namespaced_custom_object, "nvidia.com", "v1alpha1", "dynamo", "dynamographdeployments",
        resource_version=listed["metadata"]["resourceVersion"], timeout_seconds=2,
    ):
        events.append((event["type"], event["object"]["metadata"]["name"], event["object"].get("status")))
        break
    assert events == [("MODIFIED", "llm", {"state": "failed"})]


def test_watch_initial_events_label_filter_and_timeout(api_server, api):
    api_server.seed(DGD_YAML)
    stream = k8s_watch.Watch().stream(
        crd(api).list_namespaced_custom_object, "nvidia.com", "v1alpha1", "dynamo", "dynamographdeployments",
        label_selector="team=b", timeout_seconds=1,
    )
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in stream] == [("ADDED", "other")]


def test_watch_gone_is_an_api_exception(api_server, api):
    api_server.seed(DGD_YAML)
    api_server.expire_watch("dynamographdeployments")
    with pytest.raises(k8s.ApiException) as raised:
        list(k8s_watch.Watch().stream(
            crd(api).list_namespaced_custom_object, "nvidia.com", "v1alpha1", "dynamo", "dynamographdeployments",
            resource_version="1", timeout_seconds=1,
        ))
    assert raised.value.status == 410


def test_old_resource_version_after_compaction_is_gone(api_server, api):
    api_server.seed(DGD_YAML)
    api_server.compact()
    with pytest.raises(k8s.ApiException) as raised:
        list(k8s_watch.Watch().stream(
            crd(api).list_namespaced_custom_object, "nvidia.com", "v1alpha1", "dynamo", "dynamographdeployments",
            resource_version="1001", timeout_seconds=1,
        ))
    assert raised.value.status == 410


POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "web-1", "namespace": "dynamo"},
    "spec": {"containers": [{"name": "main"}, {"name": "sidecar"}]},
    "status": {"phase": "Running"},
}


def test_logs_text_plain_and_filters(api_server, api):
    api_server.seed(POD)
    api_server.set_logs("dynamo", "web-1", "main", [
        "2026-01-01T00:00:00.000000001Z one", "2026-01-01T00:00:01Z two", "2026-01-01T00:00:02Z three",
    ])
    core = k8s.CoreV1Api(api)
    assert core.read_namespaced_pod_log("web-1", "dynamo", container="main", tail_lines=2) == "two\nthree\n"
    stamped = core.read_namespaced_pod_log("web-1", "dynamo", container="main", timestamps=True, since_seconds=None)
    assert stamped.splitlines()[0] == "2026-01-01T00:00:00.000000001Z one"
    response = api.call_api(
        "/api/v1/namespaces/dynamo/pods/web-1/log", "GET", query_params=[("container", "main"), ("sinceTime", "2026-01-01T00:00:01Z")],
        _preload_content=False, _return_http_data_only=True,
    )
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.data == b"two\nthree\n"


def test_logs_need_container_name(api_server, api):
    api_server.seed(POD)
    with pytest.raises(k8s.ApiException) as raised:
        k8s.CoreV1Api(api).read_namespaced_pod_log("web-1", "dynamo")
    assert raised.value.status == 400
    assert json.loads(raised.value.body)["message"] == "a container name must be specified for pod web-1, choose one of: [main sidecar]"


def test_follow_streams_appended_lines_until_the_container_stops(api_server, api):
    api_server.seed(POD)
    api_server.set_logs("dynamo", "web-1", "main", ["first"])
    response = k8s.CoreV1Api(api).read_namespaced_pod_log("web-1", "dynamo", container="main", follow=True, _preload_content=False)
    api_server.after(0.2, api_server.append_logs, "dynamo", "web-1", "main", ["second"])
    api_server.after(0.4, api_server.close_log_streams, "dynamo", "web-1")
    lines = [line.decode() for line in response.stream(amt=None)]
    assert "".join(lines) == "first\nsecond\n"


def test_previous_logs(api_server, api):
    api_server.seed(POD)
    core = k8s.CoreV1Api(api)
    with pytest.raises(k8s.ApiException) as raised:
        core.read_namespaced_pod_log("web-1", "dynamo", container="main", previous=True)
    assert json.loads(raised.value.body)["message"] == 'previous terminated container "main" in pod "web-1" not found'
    api_server.set_logs("dynamo", "web-1", "main", ["crashed"], previous=True)
    assert core.read_namespaced_pod_log("web-1", "dynamo", container="main", previous=True) == "crashed\n"


def test_events_by_involved_object(api_server, api):
    stored = api_server.seed(DGD_YAML)[0]
    api_server.add_event(stored, "Reconciled", "all good")
    events = k8s.CoreV1Api(api).list_namespaced_event("dynamo", field_selector="involvedObject.name=llm,involvedObject.kind=DynamoGraphDeployment")
    assert [(e.reason, e.message) for e in events.items] == [("Reconciled", "all good")]
    assert k8s.CoreV1Api(api).list_namespaced_event("dynamo", field_selector="involvedObject.name=other").items == []


def test_service_proxy_streams_registered_bytes(api_server, api):
    api_server.seed({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "source-controller", "namespace": "flux-system"}})
    payload = bytes(range(256)) * 200
    api_server.serve_proxy("flux-system", "source-controller", "gitrepository/flux-system/apps/latest.tar.gz", payload)
    response = api.call_api(
        "/api/v1/namespaces/flux-system/services/source-controller:http/proxy/gitrepository/flux-system/apps/latest.tar.gz",
        "GET", _preload_content=False, _return_http_data_only=True,
    )
    assert b"".join(response.stream(4096)) == payload
    with pytest.raises(k8s.ApiException) as raised:
        api.call_api("/api/v1/namespaces/flux-system/services/nope/proxy/x", "GET", _preload_content=False)
    assert raised.value.status == 404


def test_injected_faults_and_request_log(api_server, api):
    api_server.seed(DGD_YAML)
    api_server.inject("GET", r"/dynamographdeployments/llm$", 403)
    with pytest.raises(k8s.ApiException) as raised:
        crd(api).get_namespaced_custom_object("nvidia.com", "v1alpha1", "dynamo", "dynamographdeployments", "llm")
    assert raised.value.status == 403
    assert json.loads(raised.value.body)["message"] == (
        'dynamographdeployments.nvidia.com "llm" is forbidden: User "jane" cannot get resource '
        '"dynamographdeployments" in API group "nvidia.com" in the namespace "dynamo"'
    )
    api_server.inject("GET", r"/dynamographdeployments/llm$", 429)
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(api_server.url + "/apis/nvidia.com/v1alpha1/namespaces/dynamo/dynamographdeployments/llm")
    assert raised.value.code == 429
    assert raised.value.headers["Retry-After"] == "1"
    # Each fault fires only count times.
    assert crd(api).get_namespaced_custom_object("nvidia.com", "v1alpha1", "dynamo", "dynamographdeployments", "llm")
    verbs = [(r.verb, r.status) for r in api_server.requests_for(path_regex="dynamographdeployments")]
    assert verbs == [("get", 403), ("get", 429), ("get", 200)]
    api_server.clear_requests()
    assert api_server.requests == []


def test_dropped_connection_and_bearer_token(api_server, api):
    api_server.seed(DGD_YAML)
    # urllib3 under the client retries a broken read three times.
    api_server.drop_connection("GET", "dynamographdeployments", after_bytes=10, count=4)
    with pytest.raises(Exception) as raised:
        crd(api).list_namespaced_custom_object("nvidia.com", "v1alpha1", "dynamo", "dynamographdeployments")
    assert not isinstance(raised.value, k8s.ApiException)
    api_server.require_token("secret")
    with pytest.raises(k8s.ApiException) as raised:
        crd(api).list_namespaced_custom_object("nvidia.com", "v1alpha1", "dynamo", "dynamographdeployments")
    assert raised.value.status == 401


def test_stop_ends_open_streams(api_server, api):
    api_server.seed(POD)
    api_server.set_logs("dynamo", "web-1", "main", ["first"])
    response = k8s.CoreV1Api(api).read_namespaced_pod_log("web-1", "dynamo", container="main", follow=True, _preload_content=False)
    before = threading.active_count()
    api_server.stop()
    assert b"".join(response.stream(amt=None)).startswith(b"first\n")
    assert threading.active_count() <= before


def test_restart_container_moves_logs_to_previous(api_server, api):
    from tests.fakeapi.objects import pod

    api_server.seed(pod("web-1", "dynamo"))
    api_server.set_logs("dynamo", "web-1", "main", ["before crash"])
    follower = k8s.CoreV1Api(api).read_namespaced_pod_log("web-1", "dynamo", follow=True, _preload_content=False)
    restarted = api_server.restart_container("dynamo", "web-1", "main", reason="OOMKilled", exit_code=137, lines=["after restart"])
    assert b"".join(follower.stream(amt=None)) == b"before crash\n"
    status = restarted["status"]["containerStatuses"][0]
    assert status["restartCount"] == 1
    assert status["lastState"]["terminated"]["reason"] == "OOMKilled"
    core = k8s.CoreV1Api(api)
    assert core.read_namespaced_pod_log("web-1", "dynamo", previous=True) == "before crash\n"
    assert core.read_namespaced_pod_log("web-1", "dynamo") == "after restart\n"


def test_follow_gets_lines_written_just_before_restart(api_server, api):
    from tests.fakeapi.objects import pod

    api_server.seed(pod("web-1", "dynamo"))
    api_server.set_logs("dynamo", "web-1", "main", ["first"])
    follower = k8s.CoreV1Api(api).read_namespaced_pod_log("web-1", "dynamo", follow=True, _preload_content=False)
    chunks = follower.stream(amt=None)
    first = next(chunks)  # the stream is open and waiting for more
    api_server.append_logs("dynamo", "web-1", "main", ["last words"])
    api_server.restart_container("dynamo", "web-1", "main", lines=["after restart"])
    assert first + b"".join(chunks) == b"first\nlast words\n"


def test_replace_pod_emits_deleted_then_added(api_server, api):
    from tests.fakeapi.objects import pod

    api_server.seed(pod("web-1", "dynamo", labels={"app": "web"}))
    listed = k8s.CoreV1Api(api).list_namespaced_pod("dynamo")
    api_server.replace_pod("dynamo", "web-1", pod("web-2", "dynamo", labels={"app": "web"}, waiting="ContainerCreating"))
    stream = k8s_watch.Watch().stream(
        k8s.CoreV1Api(api).list_namespaced_pod, "dynamo", resource_version=listed.metadata.resource_version, timeout_seconds=1,
    )
    assert [(e["type"], e["object"].metadata.name) for e in stream] == [("DELETED", "web-1"), ("ADDED", "web-2")]
    with pytest.raises(k8s.ApiException) as raised:
        k8s.CoreV1Api(api).read_namespaced_pod_log("web-2", "dynamo")
    assert json.loads(raised.value.body)["message"] == 'container "main" in pod "web-2" is waiting to start: ContainerCreating'


def test_unsupported_field_selector_is_400(api_server, api):
    api_server.seed(DGD_YAML)
    with pytest.raises(k8s.ApiException) as raised:
        crd(api).list_namespaced_custom_object("nvidia.com", "v1alpha1", "dynamo", "dynamographdeployments", field_selector="status.state=successful")
    assert raised.value.status == 400
    assert json.loads(raised.value.body)["message"] == '"status.state" is not a known field selector: only "metadata.name", "metadata.namespace"'
    with pytest.raises(k8s.ApiException) as raised:
        k8s.CoreV1Api(api).list_namespaced_config_map("dynamo", field_selector="data.x=1")
    assert json.loads(raised.value.body)["message"] == "field label not supported: data.x"
    assert k8s.CoreV1Api(api).list_namespaced_pod("dynamo", field_selector="status.phase=Running,spec.nodeName=n").items == []


def test_filtered_watch_sees_objects_enter_and_leave(api_server, api):
    from tests.fakeapi.objects import pod

    api_server.seed(pod("web-1", "dynamo", labels={"app": "web"}))
    listed = k8s.CoreV1Api(api).list_namespaced_pod("dynamo", label_selector="app=web")
    moved = api_server.get_object("v1", "Pod", "dynamo", "web-1")
    api_server.update_object({**moved, "metadata": {**moved["metadata"], "labels": {"app": "other"}}})
    api_server.update_object({**moved, "metadata": {**moved["metadata"], "labels": {"app": "web"}}})
    response = api.call_api(
        "/api/v1/namespaces/dynamo/pods", "GET", query_params=[
            ("watch", "true"), ("labelSelector", "app=web"), ("resourceVersion", listed.metadata.resource_version),
            ("timeoutSeconds", "1"), ("allowWatchBookmarks", "true"),
        ], _preload_content=False, _return_http_data_only=True,
    )
    events = [json.loads(line) for line in response.data.splitlines()]
    assert [e["type"] for e in events] == ["DELETED", "ADDED", "BOOKMARK"]
    assert events[-1]["object"]["metadata"]["resourceVersion"] == events[1]["object"]["metadata"]["resourceVersion"]


def test_invalid_integer_parameter_is_400(api_server, api):
    from tests.fakeapi.objects import pod

    api_server.seed(pod("web-1", "dynamo"))
    api_server.set_logs("dynamo", "web-1", "main", ["2020-01-01T00:00:00Z old", "new"])
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(api_server.url + "/api/v1/namespaces/dynamo/pods/web-1/log?tailLines=x")
    assert raised.value.code == 400
    assert k8s.CoreV1Api(api).read_namespaced_pod_log("web-1", "dynamo", since_seconds=60) == "new\n"
    assert api_server.internal_errors == []
