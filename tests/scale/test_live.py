"""`scale` against the test API server through the real kubernetes client."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
import yaml

from kubectl_dynamo.errors import ExitCode

DGD_API = "nvidia.com/v1alpha1"
DGD_PATH = r"/apis/nvidia\.com/v1alpha1/namespaces/default/dynamographdeployments/demo$"
ADAPTER_PATH = r"/dynamographdeploymentscalingadapters/demo-decode/scale$"

GRAPH = """\
apiVersion: nvidia.com/v1alpha1
kind: DynamoGraphDeployment
metadata:
  name: demo
  namespace: default
spec:
  services:
    Frontend:
      componentType: frontend
      replicas: 1
      scalingAdapter: {disable: true}
    VllmWorker:
      componentType: worker
      replicas: 1
      scalingAdapter: {disable: true}
      resources: {limits: {gpu: "1"}}
    decode:
      componentType: worker
      replicas: 2
    prefill:
      componentType: worker
      replicas: 1
      multinode: {nodeCount: 2}
      scalingAdapter: {disable: true}
"""

ADAPTER = """\
apiVersion: nvidia.com/v1alpha1
kind: DynamoGraphDeploymentScalingAdapter
metadata:
  name: demo-decode
  namespace: default
  labels:
    nvidia.com/dynamo-graph-deployment-name: demo
    nvidia.com/dynamo-component: decode
spec:
  replicas: 2
  dgdRef: {name: demo, serviceName: decode}
status:
  replicas: 2
"""


@pytest.fixture
def seeded(api_server):
    api_server.seed(GRAPH, ADAPTER)
    api_server.clear_requests()
    return api_server


def graph(server):
    return server.get_object(DGD_API, "DynamoGraphDeployment", "default", "demo")


def replicas(server, service):
    return graph(server)["spec"]["services"][service].get("replicas")


def patches(server):
    return [r for r in server.requests if r.method == "PATCH"]


def test_graph_owned_service_patched(seeded, live_cli):
    rv_before = graph(seeded)["metadata"]["resourceVersion"]
    result = live_cli(["scale", "demo", "vllmworker=3", "Frontend=2"])
    assert result.exit_code == 0, result.stderr
    assert replicas(seeded, "VllmWorker") == 3
    assert replicas(seeded, "Frontend") == 2
    [patch] = patches(seeded)
    assert patch.headers.get("content-type", "").startswith("application/json-patch+json")
    assert patch.body[0] == {"op": "test", "path": "/metadata/resourceVersion", "value": rv_before}
    assert "dynamographdeployment.nvidia.com/demo scaled: service VllmWorker 1 -> 3 (spec.services.VllmWorker.replicas)" in result.stdout
    assert "service Frontend 1 -> 2" in result.stdout
    assert "GPUs of graph demo: 1 -> 3" in result.stderr


def test_adapter_owned_service_leaves_graph(seeded, live_cli):
    before = graph(seeded)
    result = live_cli(["scale", "demo", "decode=4"])
    assert result.exit_code == 0, result.stderr
    adapter = seeded.get_object(DGD_API, "DynamoGraphDeploymentScalingAdapter", "default", "demo-decode")
    assert adapter["spec"]["replicas"] == 4
    assert graph(seeded) == before
    [patch] = patches(seeded)
    assert patch.path.endswith("/dynamographdeploymentscalingadapters/demo-decode/scale")
    assert "dynamographdeploymentscalingadapter.nvidia.com/demo-decode scaled: service decode 2 -> 4 (scale subresource)" in result.stdout


def test_adapter_rule_without_list_permission(seeded, live_cli):
    seeded.inject("GET", r"/dynamographdeploymentscalingadapters$", 403)
    result = live_cli(["scale", "demo", "decode=3"])
    assert result.exit_code == 0, result.stderr
    # Dynamo 0.8.0 gives decode an adapter (no scalingAdapter.disable), so the write goes there.
    [patch] = patches(seeded)
    assert patch.path.endswith("/demo-decode/scale")
    assert replicas(seeded, "decode") == 2


def test_mixed_owners_preflight_then_write(seeded, live_cli):
    result = live_cli(["scale", "demo", "decode=1", "Frontend=2"])
    assert result.exit_code == 0, result.stderr
    sent = [(r.path.rsplit("/", 1)[-1], r.query.get("dryRun")) for r in patches(seeded)]
    # Both writes are tried with dryRun=All first; the decrease (decode) goes first.
    assert sent == [("scale", "All"), ("demo", "All"), ("scale", None), ("demo", None)]
    assert replicas(seeded, "Frontend") == 2


def test_preflight_failure_writes_nothing(seeded, live_cli):
    before = graph(seeded)
    seeded.inject("PATCH", DGD_PATH, 403)
    result = live_cli(["scale", "demo", "decode=3", "Frontend=2"])
    assert result.exit_code == ExitCode.CLUSTER
    assert "nothing was written" in result.stderr
    assert graph(seeded) == before
    adapter = seeded.get_object(DGD_API, "DynamoGraphDeploymentScalingAdapter", "default", "demo-decode")
    assert adapter["spec"]["replicas"] == 2
    assert all(r.query.get("dryRun") == "All" for r in patches(seeded))


def test_injected_conflict_retried(seeded, live_cli):
    seeded.inject("PATCH", DGD_PATH, 409)
    result = live_cli(["scale", "demo", "VllmWorker=2"])
    assert result.exit_code == 0, result.stderr
    assert replicas(seeded, "VllmWorker") == 2
    assert len(patches(seeded)) == 2


def test_concurrent_writer_retried(seeded, live_cli):
    # Hold our PATCH while another writer changes the graph: the resourceVersion test fails, then the retry wins.
    seeded.delay("PATCH", DGD_PATH, 0.6)

    def other_writer():
        time.sleep(0.2)
        obj = graph(seeded)
        obj["metadata"].setdefault("annotations", {})["example.com/touched"] = "yes"
        seeded.update_object(obj)

    thread = threading.Thread(target=other_writer)
    thread.start()
    result = live_cli(["scale", "demo", "VllmWorker=5"])
    thread.join()
    assert result.exit_code == 0, result.stderr
    assert replicas(seeded, "VllmWorker") == 5
    assert graph(seeded)["metadata"]["annotations"]["example.com/touched"] == "yes"
    assert [r.status for r in patches(seeded)] == [422, 200]


def test_persistent_conflict_fails_cleanly(seeded, live_cli):
    before = graph(seeded)
    seeded.inject("PATCH", DGD_PATH, 409, count=20)
    result = live_cli(["scale", "demo", "VllmWorker=2"])
    assert result.exit_code == ExitCode.CLUSTER
    assert "gave up scaling VllmWorker after 5 attempts" in result.stderr
    assert "nothing was written" in result.stderr
    assert graph(seeded) == before
    assert len(patches(seeded)) == 5


def test_multinode_to_zero_rejected(seeded, live_cli):
    result = live_cli(["scale", "demo", "prefill=0"])
    assert result.exit_code == ExitCode.USAGE
    assert "will not scale prefill to 0 without --force: it is multinode (2 nodes per replica)" in result.stderr
    assert "--force" in result.stderr
    assert patches(seeded) == []


def test_multinode_to_zero_unknown_orchestrator(seeded, live_cli):
    result = live_cli(["scale", "demo", "prefill=0"])
    assert result.exit_code == ExitCode.USAGE
    assert "Under Grove, Grove's webhook rejects a PodCliqueScalingGroup of 0 replicas" in result.stderr
    assert "With LeaderWorkerSet, 0 replicas delete every LeaderWorkerSet of the service" in result.stderr


@pytest.mark.parametrize("component_kind, expected, absent", [
    ("PodCliqueScalingGroup", "runs under Grove: Grove's webhook rejects a PodCliqueScalingGroup of 0 replicas", "LeaderWorkerSet"),
    ("LeaderWorkerSet", "runs as LeaderWorkerSets: 0 replicas delete every LeaderWorkerSet of the service", "Grove"),
])
def test_multinode_to_zero_reason_per_orchestrator(api_server, live_cli, component_kind, expected, absent):
    graph_with_status = yaml.safe_load(GRAPH)
    graph_with_status["status"] = {"services": {"prefill": {"componentKind": component_kind, "componentName": "demo-prefill"}}}
    api_server.seed(graph_with_status)
    result = live_cli(["scale", "demo", "prefill=0"])
    assert result.exit_code == ExitCode.USAGE
    assert expected in result.stderr
    assert absent not in result.stderr
    assert patches(api_server) == []


def test_multinode_to_zero_lws_by_annotation(api_server, live_cli):
    graph_without_grove = yaml.safe_load(GRAPH)
    graph_without_grove["metadata"]["annotations"] = {"nvidia.com/enable-grove": "false"}
    api_server.seed(graph_without_grove)
    result = live_cli(["scale", "demo", "prefill=0"])
    assert result.exit_code == ExitCode.USAGE
    assert "runs as LeaderWorkerSets" in result.stderr
    assert "Grove" not in result.stderr


def test_multinode_to_zero_forced(seeded, live_cli):
    result = live_cli(["scale", "demo", "prefill=0", "--force"])
    assert result.exit_code == 0, result.stderr
    assert replicas(seeded, "prefill") == 0
    assert "because of --force" in result.stderr


def test_unknown_service_lists_services(seeded, live_cli):
    result = live_cli(["scale", "demo", "worker=2"])
    assert result.exit_code == ExitCode.NOT_FOUND
    assert "graph demo has no service 'worker'; its services are: Frontend, VllmWorker, decode, prefill" in result.stderr
    assert patches(seeded) == []


def test_missing_graph(seeded, live_cli):
    result = live_cli(["scale", "nope", "a=2"])
    assert result.exit_code == ExitCode.NOT_FOUND
    assert 'dynamographdeployments.nvidia.com "nope" not found in namespace "default"' in result.stderr
    assert "List the graphs with `kubectl dynamo get -n default`, or -A for every namespace." in result.stderr


@pytest.mark.parametrize("value, message", [
    ("-1", "replicas must be >= 0"),
    ("three", "expected an integer >= 0"),
    ("2147483648", "invalid replica count 2147483648 for service 'VllmWorker': the maximum is 2147483647"),
    ("99999999999999999999", "invalid replica count 99999999999999999999 for service 'VllmWorker': the maximum is 2147483647"),
])
def test_bad_count_rejected_before_connecting(seeded, live_cli, value, message):
    result = live_cli(["scale", "demo", f"VllmWorker={value}"])
    assert result.exit_code == ExitCode.USAGE
    assert message in result.stderr
    assert seeded.requests == []


def test_replicas_option_above_int32_rejected(seeded, live_cli):
    result = live_cli(["scale", "demo", "--service", "VllmWorker", "--replicas", "99999999999999999999"])
    assert result.exit_code == ExitCode.USAGE
    assert "99999999999999999999" in result.stderr
    assert "the maximum is 2147483647" in result.stderr
    assert seeded.requests == []


def test_int32_maximum_accepted(seeded, live_cli):
    result = live_cli(["scale", "demo", "VllmWorker=2147483647"])
    assert result.exit_code == 0, result.stderr
    assert replicas(seeded, "VllmWorker") == 2147483647


def test_forbidden_patch(seeded, live_cli):
    seeded.inject("PATCH", DGD_PATH, 403)
    result = live_cli(["scale", "demo", "VllmWorker=2"])
    assert result.exit_code == ExitCode.CLUSTER
    assert "cannot scale dynamographdeployment.nvidia.com/demo: forbidden" in result.stderr
    assert "kubectl auth can-i patch dynamographdeployments.nvidia.com -n default" in result.stderr
    assert replicas(seeded, "VllmWorker") == 1


def test_current_replicas_precondition(seeded, live_cli):
    result = live_cli(["scale", "demo", "VllmWorker=2", "--current-replicas", "3"])
    assert result.exit_code == ExitCode.DIFFERS
    assert "expected 3 current replicas, but VllmWorker has 1" in result.stderr
    assert patches(seeded) == []
    result = live_cli(["scale", "demo", "VllmWorker=2", "--current-replicas", "1"])
    assert result.exit_code == 0, result.stderr
    assert replicas(seeded, "VllmWorker") == 2


def test_noop_writes_nothing(seeded, live_cli):
    result = live_cli(["scale", "demo", "VllmWorker=1", "decode=2"])
    assert result.exit_code == 0, result.stderr
    assert "dynamographdeployment.nvidia.com/demo unchanged: service VllmWorker already has 1 replica\n" in result.stdout
    assert "dynamographdeploymentscalingadapter.nvidia.com/demo-decode unchanged: service decode already has 2 replicas" in result.stdout
    assert "dynamographdeployment.nvidia.com/demo unchanged: service decode" not in result.stdout
    assert patches(seeded) == []


def test_client_dry_run_sends_nothing(seeded, live_cli):
    result = live_cli(["scale", "demo", "VllmWorker=4", "decode=3", "--dry-run"])
    assert result.exit_code == 0, result.stderr
    assert patches(seeded) == []
    assert [r.method for r in seeded.requests if r.method != "GET"] == []
    assert "PATCH /apis/nvidia.com/v1alpha1/namespaces/default/dynamographdeployments/demo (application/json-patch+json)" in result.stdout
    assert '"path": "/spec/services/VllmWorker/replicas"' in result.stdout
    assert "dynamographdeploymentscalingadapters/demo-decode/scale (application/merge-patch+json)" in result.stdout
    assert "scaled (dry run): service VllmWorker 1 -> 4" in result.stdout
    assert replicas(seeded, "VllmWorker") == 1


def test_server_dry_run(seeded, live_cli):
    result = live_cli(["scale", "demo", "VllmWorker=4", "--dry-run=server"])
    assert result.exit_code == 0, result.stderr
    assert [r.query.get("dryRun") for r in patches(seeded)] == ["All"]
    assert "scaled (server dry run)" in result.stdout
    assert replicas(seeded, "VllmWorker") == 1


def test_planner_and_hpa_warnings(api_server, live_cli):
    api_server.seed(
        GRAPH.replace("    decode:\n", "    Planner:\n      componentType: planner\n      scalingAdapter: {disable: true}\n    decode:\n"),
        ADAPTER,
        """\
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: decode-hpa, namespace: default}
spec:
  scaleTargetRef: {apiVersion: nvidia.com/v1alpha1, kind: DynamoGraphDeploymentScalingAdapter, name: demo-decode}
  minReplicas: 1
  maxReplicas: 8
  metrics: []
""",
    )
    result = live_cli(["scale", "demo", "decode=3"])
    assert result.exit_code == 0, result.stderr
    assert "has a planner (Planner); it may change the replicas of decode again" in result.stderr
    assert "HorizontalPodAutoscaler decode-hpa targets scaling adapter demo-decode" in result.stderr


# --- Flux ------------------------------------------------------------------------

def flux_objects(*, suspend=False, minutes_ago=3):
    last = (datetime.now(timezone.utc) - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
    revision = "main@sha1:0123456789abcdef0123456789abcdef01234567"
    return [
        {
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "gitops", "namespace": "flux-system"},
            "spec": {"interval": "1m", "url": "https://git.example.com/gitops.git"},
            "status": {"artifact": {"revision": revision},
                       "conditions": [{"type": "Ready", "status": "True", "reason": "Succeeded", "message": "stored"}]},
        },
        {
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": "apps", "namespace": "flux-system", "generation": 1},
            "spec": {"interval": "10m", "prune": True, "suspend": suspend, "path": "./apps",
                     "sourceRef": {"kind": "GitRepository", "name": "gitops"}},
            "status": {
                "observedGeneration": 1, "lastAppliedRevision": revision, "lastAttemptedRevision": revision,
                "conditions": [{"type": "Ready", "status": "True", "reason": "ReconciliationSucceeded",
                                "message": f"Applied revision: {revision}", "lastTransitionTime": last}],
                "history": [{"digest": "sha256:1", "firstReconciled": last, "lastReconciled": last,
                             "lastReconciledStatus": "ReconciliationSucceeded", "totalReconciliations": 4}],
            },
        },
    ]


def flux_graph(extra_labels=None, git_fields=None):
    labels = {"kustomize.toolkit.fluxcd.io/name": "apps", "kustomize.toolkit.fluxcd.io/namespace": "flux-system"}
    labels.update(extra_labels or {})
    obj = yaml.safe_load(GRAPH)
    obj["metadata"]["labels"] = labels
    if git_fields is not None:
        obj["metadata"]["managedFields"] = [{
            "manager": "kustomize-controller", "operation": "Apply", "apiVersion": DGD_API,
            "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:services": git_fields}},
        }]
    return obj


def test_flux_managed_warning(api_server, live_cli):
    api_server.seed(*flux_objects(), flux_graph(git_fields={"f:VllmWorker": {"f:replicas": {}}}))
    result = live_cli(["scale", "demo", "VllmWorker=3"])
    assert result.exit_code == 0, result.stderr
    assert "warning: graph demo is applied by Flux Kustomization flux-system/apps" in result.stderr
    assert "Git sets spec.services.VllmWorker.replicas. Flux will set the count back to the Git value in about 7m" in result.stderr
    assert "interval 10m" in result.stderr
    assert "--git-file" in result.stderr
    assert replicas(api_server, "VllmWorker") == 3


def test_flux_unknown_ownership_warns(api_server, live_cli):
    api_server.seed(*flux_objects(), flux_graph())
    result = live_cli(["scale", "demo", "VllmWorker=3"])
    assert result.exit_code == 0, result.stderr
    assert "If Git sets spec.services.VllmWorker.replicas, Flux will set the count back" in result.stderr


def test_flux_replicas_not_in_git(api_server, live_cli):
    api_server.seed(*flux_objects(), flux_graph(git_fields={"f:VllmWorker": {"f:componentType": {}}}))
    result = live_cli(["scale", "demo", "VllmWorker=3"])
    assert result.exit_code == 0, result.stderr
    assert "warning:" not in result.stderr
    assert "Git does not set the replicas of VllmWorker" in result.stderr
    # A manager name starting with "kubectl" would let Flux take the field over and drop it.
    [patch] = patches(api_server)
    assert patch.query["fieldManager"] == "dynamo-scale"


def test_flux_suspended_no_revert_warning(api_server, live_cli):
    api_server.seed(*flux_objects(suspend=True), flux_graph())
    result = live_cli(["scale", "demo", "VllmWorker=3"])
    assert result.exit_code == 0, result.stderr
    assert "will set the count back" not in result.stderr
    assert "suspended" in result.stderr


def test_flux_opt_out_no_warning(api_server, live_cli):
    api_server.seed(*flux_objects(), flux_graph({"kustomize.toolkit.fluxcd.io/reconcile": "disabled"}))
    result = live_cli(["scale", "demo", "VllmWorker=3"])
    assert result.exit_code == 0, result.stderr
    assert "warning:" not in result.stderr


def test_also_live_edits_file_and_cluster(api_server, live_cli, tmp_path):
    api_server.seed(GRAPH)
    path = tmp_path / "demo.yaml"
    path.write_text(GRAPH)
    result = live_cli(["scale", "demo", "VllmWorker=2", "--git-file", str(path), "--also-live"])
    assert result.exit_code == 0, result.stderr
    assert path.read_text() == GRAPH.replace("      replicas: 1\n      scalingAdapter: {disable: true}\n      resources",
                                             "      replicas: 2\n      scalingAdapter: {disable: true}\n      resources")
    assert replicas(api_server, "VllmWorker") == 2


def test_git_file_alone_never_connects(api_server, live_cli, tmp_path):
    api_server.seed(GRAPH)
    api_server.clear_requests()
    path = tmp_path / "demo.yaml"
    path.write_text(GRAPH)
    result = live_cli(["scale", "demo", "VllmWorker=2", "--git-file", str(path)])
    assert result.exit_code == 0, result.stderr
    assert api_server.requests == []
    assert replicas(api_server, "VllmWorker") == 1


# --- real kubectl ----------------------------------------------------------------------

def test_through_kubectl(seeded, kubectl, plugin_env):
    from tests.conftest import run_process

    env = {**plugin_env, "KUBECONFIG": seeded.kubeconfig}
    result = run_process([kubectl, "dynamo", "scale", "demo", "VllmWorker=3", "decode=5"], env)
    assert result.exit_code == 0, result.stderr
    assert "dynamographdeployment.nvidia.com/demo scaled: service VllmWorker 1 -> 3" in result.stdout
    assert "dynamographdeploymentscalingadapter.nvidia.com/demo-decode scaled: service decode 2 -> 5" in result.stdout
    assert replicas(seeded, "VllmWorker") == 3


# --- --wait ---------------------------------------------------------------------------

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: demo-vllmworker
  namespace: default
  generation: 1
  labels:
    nvidia.com/dynamo-graph-deployment-name: demo
    nvidia.com/dynamo-component: VllmWorker
spec:
  replicas: 1
  selector: {matchLabels: {nvidia.com/selector: demo-vllmworker}}
  template:
    metadata: {labels: {nvidia.com/selector: demo-vllmworker}}
    spec: {containers: [{name: main, image: runtime:1}]}
status:
  observedGeneration: 1
  replicas: 1
  updatedReplicas: 1
  readyReplicas: 1
  availableReplicas: 1
"""


def roll_out(server, target_replicas, delay):
    """Act as the operator and the Deployment controller: scale the Deployment, then report it ready."""
    time.sleep(delay)
    deployment = server.get_object("apps/v1", "Deployment", "default", "demo-vllmworker")
    deployment["spec"]["replicas"] = target_replicas
    deployment["metadata"]["generation"] = 2
    deployment["status"] = {"observedGeneration": 2, "replicas": target_replicas, "updatedReplicas": target_replicas,
                            "readyReplicas": target_replicas, "availableReplicas": target_replicas}
    server.update_object(deployment)


def test_wait_until_ready(seeded, live_cli):
    seeded.seed(DEPLOYMENT)
    thread = threading.Thread(target=roll_out, args=(seeded, 3, 1.0))
    thread.start()
    result = live_cli(["scale", "demo", "VllmWorker=3", "--wait", "--timeout", "20s"])
    thread.join()
    assert result.exit_code == 0, result.stderr
    assert "dynamographdeployment.nvidia.com/demo ready: VllmWorker 3 replicas updated and ready" in result.stdout
    assert "waiting for default/demo" in result.stderr


def test_wait_times_out(seeded, live_cli):
    seeded.seed(DEPLOYMENT)
    result = live_cli(["scale", "demo", "VllmWorker=3", "--wait", "--timeout", "1.5"])
    assert result.exit_code == ExitCode.DIFFERS
    assert "timed out" in result.stderr
    assert replicas(seeded, "VllmWorker") == 3
    assert "scaled: service VllmWorker 1 -> 3" in result.stdout


# --- failures that name what was written -------------------------------------------------

def test_partial_write_reported(seeded, live_cli):
    # decode goes down first (its adapter), then Frontend up (the graph). The graph write fails
    # after the adapter write succeeded, so the error must list the adapter write and its undo.
    seeded.delay("PATCH", ADAPTER_PATH, 0.5, count=2)

    def fail_graph_write_after_preflight():
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if any(r.path.endswith("/demo-decode/scale") and "dryRun" not in r.query for r in patches(seeded)):
                seeded.inject("PATCH", DGD_PATH, 500)
                return
            time.sleep(0.02)

    thread = threading.Thread(target=fail_graph_write_after_preflight)
    thread.start()
    result = live_cli(["scale", "demo", "decode=1", "Frontend=2"])
    thread.join()
    assert result.exit_code == ExitCode.CLUSTER
    assert "failed to scale dynamographdeployment.nvidia.com/demo" in result.stderr
    assert "already written: decode 2 -> 1 (dynamographdeploymentscalingadapter.nvidia.com/demo-decode)" in result.stderr
    assert "To undo what was written: kubectl dynamo scale demo decode=2 -n default" in result.stderr
    adapter = seeded.get_object(DGD_API, "DynamoGraphDeploymentScalingAdapter", "default", "demo-decode")
    assert adapter["spec"]["replicas"] == 1
    assert replicas(seeded, "Frontend") == 1


def test_webhook_rejection_explained(seeded, live_cli):
    message = ('admission webhook "vdynamographdeployment.kb.io" denied the request: spec.services[VllmWorker].replicas '
               "cannot be modified directly when scaling adapter is enabled; scale or update the related "
               "DynamoGraphDeploymentScalingAdapter instead")
    status = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message, "reason": "Forbidden", "code": 403}
    seeded.inject("PATCH", DGD_PATH, 403, body=status)
    result = live_cli(["scale", "demo", "VllmWorker=2"])
    assert result.exit_code == ExitCode.CLUSTER
    assert "the admission webhook rejected the change of dynamographdeployment.nvidia.com/demo" in result.stderr
    assert "scaling adapter (demo-vllmworker)" in result.stderr
    assert "nothing was written" in result.stderr


def test_missing_adapter_is_error_not_fallback(seeded, live_cli):
    # The adapters cannot be listed, the 0.8.0 rule expects one, and it does not exist:
    # scale reports that instead of quietly writing the graph around the adapter.
    seeded.delete_object(DGD_API, "DynamoGraphDeploymentScalingAdapter", "default", "demo-decode")
    seeded.inject("GET", r"/dynamographdeploymentscalingadapters$", 403)
    before = graph(seeded)
    result = live_cli(["scale", "demo", "decode=3"])
    assert result.exit_code == ExitCode.NOT_FOUND
    assert "dynamographdeploymentscalingadapter.nvidia.com/demo-decode" in result.stderr
    assert graph(seeded) == before


# --- output formats -------------------------------------------------------------------

def test_output_name(seeded, live_cli):
    result = live_cli(["scale", "demo", "VllmWorker=2", "Frontend=3", "decode=4", "-o", "name"])
    assert result.exit_code == 0, result.stderr
    assert sorted(result.stdout.splitlines()) == [
        "dynamographdeployment.nvidia.com/demo",
        "dynamographdeploymentscalingadapter.nvidia.com/demo-decode",
    ]


def test_output_json(seeded, live_cli):
    import json

    result = live_cli(["scale", "demo", "VllmWorker=2", "decode=2", "-o", "json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["apiVersion"] == "kubectl-dynamo/v1alpha1"
    assert data["kind"] == "ScaleReport"
    assert data["graph"] == "demo"
    assert data["namespace"] == "default"
    by_service = {s["service"]: s for s in data["services"]}
    assert by_service["VllmWorker"] == {
        "service": "VllmWorker", "from": 1, "to": 2, "owner": "graph", "scalingAdapter": None,
        "writtenTo": "dynamographdeployment.nvidia.com/demo", "field": "spec.services.VllmWorker.replicas",
    }
    assert by_service["decode"]["writtenTo"] is None
    assert by_service["decode"]["scalingAdapter"] == "demo-decode"
    assert data["gpus"] == {"before": 1, "after": 2}


def test_also_live_flux_hint(api_server, live_cli, tmp_path):
    api_server.seed(*flux_objects(), flux_graph(git_fields={"f:VllmWorker": {"f:replicas": {}}}))
    path = tmp_path / "demo.yaml"
    path.write_text(GRAPH)
    result = live_cli(["scale", "demo", "VllmWorker=2", "--git-file", str(path), "--also-live"])
    assert result.exit_code == 0, result.stderr
    assert "Flux will set the count back to the Git value" in result.stderr
    assert f"Commit and push {path} before then" in result.stderr
    assert replicas(api_server, "VllmWorker") == 2


# --- lost connections --------------------------------------------------------------------

def test_lost_connection_before_write_retried(seeded, live_cli):
    seeded.drop_connection("PATCH", DGD_PATH)
    result = live_cli(["scale", "demo", "VllmWorker=2"])
    assert result.exit_code == 0, result.stderr
    assert replicas(seeded, "VllmWorker") == 2
    assert "scaled: service VllmWorker 1 -> 2" in result.stdout
    assert len(patches(seeded)) == 2


def test_lost_response_after_write_not_repeated(seeded, live_cli):
    # The server applies the patch, then the connection drops in the middle of the response.
    seeded.drop_connection("PATCH", DGD_PATH, after_bytes=20)
    result = live_cli(["scale", "demo", "VllmWorker=2", "-v"])
    assert result.exit_code == 0, result.stderr
    assert "attempt 1: the connection to the API server" in result.stderr
    assert replicas(seeded, "VllmWorker") == 2
    assert "scaled: service VllmWorker 1 -> 2" in result.stdout
    assert len(patches(seeded)) == 1


def test_connection_keeps_dropping(seeded, live_cli):
    seeded.drop_connection("PATCH", DGD_PATH, count=20)
    result = live_cli(["scale", "demo", "VllmWorker=2"])
    assert result.exit_code == ExitCode.CLUSTER
    assert "gave up scaling VllmWorker after 5 attempts" in result.stderr
    assert "connection" in result.stderr
    assert replicas(seeded, "VllmWorker") == 1


def test_namespace_flag(api_server, live_cli):
    api_server.seed(GRAPH.replace("namespace: default", "namespace: ml"), ADAPTER.replace("namespace: default", "namespace: ml"))
    result = live_cli(["scale", "demo", "VllmWorker=2", "decode=3", "-n", "ml"])
    assert result.exit_code == 0, result.stderr
    assert api_server.get_object(DGD_API, "DynamoGraphDeployment", "ml", "demo")["spec"]["services"]["VllmWorker"]["replicas"] == 2
    assert api_server.get_object(DGD_API, "DynamoGraphDeploymentScalingAdapter", "ml", "demo-decode")["spec"]["replicas"] == 3
    result = live_cli(["scale", "demo", "VllmWorker=2"])
    assert result.exit_code == ExitCode.NOT_FOUND
    assert '"demo" not found in namespace "default"' in result.stderr


def test_invalid_adapter_write_not_retried(seeded, live_cli):
    seeded.inject("PATCH", ADAPTER_PATH, 422)
    result = live_cli(["scale", "demo", "decode=3"])
    assert result.exit_code == ExitCode.CLUSTER
    assert "failed to scale dynamographdeploymentscalingadapter.nvidia.com/demo-decode" in result.stderr
    assert "nothing was written" in result.stderr
    assert len(patches(seeded)) == 1
