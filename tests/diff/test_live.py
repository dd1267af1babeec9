"""`diff -f` and `diff NAME` end to end: the real kubernetes client against the test API server.

The live graph is written by hand (``livegraph``), never rendered by the product.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import stat
from pathlib import Path

import yaml

from tests.conftest import run_process
from tests.diff import livegraph
from tests.diff.goldenfiles import assert_matches_golden


def write_graph(tmp_path: Path, change=None, name: str = "graph.yaml") -> str:
    graph = livegraph.graph_document()
    if change is not None:
        change(graph["spec"]["services"])
    path = tmp_path / name
    path.write_text(yaml.safe_dump(graph, sort_keys=False))
    return str(path)


def run_diff(dynamo_cli, tmp_path, *args, change=None, env=None):
    path = write_graph(tmp_path, change)
    return dynamo_cli(["diff", "-f", path, "--color", "never", *args], env=env)


def relabel(text: str, tmp_path: Path) -> str:
    """Replace the temporary directory in output, so that golden files are stable."""
    return text.replace(str(tmp_path) + os.sep, "")


def test_identical_graph_exits_zero(cluster, dynamo_cli, tmp_path):
    result = run_diff(dynamo_cli, tmp_path)
    assert result.exit_code == 0
    # As with kubectl diff, stdout stays empty when nothing differs.
    assert result.stdout == ""
    assert result.stderr == "No differences (18 objects compared).\n"


def test_children_are_listed_once_per_kind(cluster, dynamo_cli, tmp_path):
    run_diff(dynamo_cli, tmp_path)
    # Besides API discovery, the only object read one by one is the graph itself.
    gets = [r for r in cluster.requests_for(verb="get") if r.path not in ("/api", "/apis")]
    assert [r.path for r in gets] == ["/apis/nvidia.com/v1alpha1/namespaces/ns1/dynamographdeployments/my-graph"]
    lists = cluster.requests_for(verb="list")
    listed = sorted(r.path for r in lists)
    assert len(listed) == len(set(listed)), listed
    selected = {r.path: r.query.get("labelSelector") for r in lists}
    assert selected["/apis/apps/v1/namespaces/ns1/deployments"] == "nvidia.com/dynamo-graph-deployment-name=my-graph"
    assert selected["/api/v1/namespaces/ns1/services"] == "nvidia.com/dynamo-graph-deployment-name=my-graph"
    assert selected["/apis/apps/v1/deployments"] == "control-plane=controller-manager,app.kubernetes.io/name=dynamo-operator"


def test_env_change_restarts_one_worker(cluster, dynamo_cli, tmp_path):
    def change(services):
        services["decode"]["envs"] = [{"name": "LOG_LEVEL", "value": "debug"}]

    result = run_diff(dynamo_cli, tmp_path, change=change)
    assert result.exit_code == 1, result.stderr
    assert "~ Deployment ns1/my-graph-decode changed (pods restart: 1 pod)" in result.stdout
    assert "my-graph-frontend changed" not in result.stdout
    assert_matches_golden("diff-env-change.txt", relabel(result.stdout, tmp_path))


def test_replica_change_does_not_restart(cluster, dynamo_cli, tmp_path):
    def change(services):
        services["Frontend"]["replicas"] = 3

    result = run_diff(dynamo_cli, tmp_path, change=change)
    assert result.exit_code == 1, result.stderr
    assert "Pods that will restart" not in result.stdout
    assert "  Deployment ns1/my-graph-frontend: spec.replicas 2 -> 3\n" in result.stdout
    assert_matches_golden("diff-replicas.txt", relabel(result.stdout, tmp_path))


def test_ignore_replicas(cluster, dynamo_cli, tmp_path):
    def change(services):
        services["Frontend"]["replicas"] = 3

    ignores = ["--ignore", "Deployment:/spec/replicas", "--ignore", "DynamoComponentDeployment:/spec/replicas",
               "--ignore", "DynamoGraphDeploymentScalingAdapter:/spec/replicas",
               "--ignore", "DynamoGraphDeployment:/spec/services/Frontend/replicas"]
    result = run_diff(dynamo_cli, tmp_path, *ignores, change=change)
    assert result.exit_code == 0, result.stdout


def test_new_service_is_created(cluster, dynamo_cli, tmp_path):
    def change(services):
        services["prefill"] = copy.deepcopy(services["decode"])

    result = run_diff(dynamo_cli, tmp_path, "-o", "json", change=change)
    assert result.exit_code == 1, result.stderr
    document = json.loads(result.stdout)
    created = sorted((o["kind"], o["name"]) for o in document["objects"] if o["action"] == "created")
    assert created == [
        ("Deployment", "my-graph-prefill"),
        ("DynamoComponentDeployment", "my-graph-prefill"),
        ("DynamoGraphDeploymentScalingAdapter", "my-graph-prefill"),
        ("Service", "my-graph-prefill"), ("Service", "my-graph-prefill-d"), ("Service", "my-graph-prefill-p"),
    ]
    assert document["summary"]["podsRestart"] == []


def test_new_service_text(cluster, dynamo_cli, tmp_path):
    def change(services):
        services["prefill"] = copy.deepcopy(services["decode"])

    result = run_diff(dynamo_cli, tmp_path, change=change)
    assert "+ Deployment ns1/my-graph-prefill created (starts 1 pod)\n--- /dev/null\n" in result.stdout
    assert "New workloads (start pods): Deployment ns1/my-graph-prefill\n" in result.stdout


def test_removed_service_is_deleted(cluster, dynamo_cli, tmp_path):
    def change(services):
        del services["decode"]

    result = run_diff(dynamo_cli, tmp_path, change=change)
    assert result.exit_code == 1, result.stderr
    for ref in ("DynamoComponentDeployment ns1/my-graph-decode", "Deployment ns1/my-graph-decode",
                "Service ns1/my-graph-decode-p", "DynamoGraphDeploymentScalingAdapter ns1/my-graph-decode"):
        assert f"- {ref} deleted" in result.stdout
    assert "Removed workloads (their pods stop): Deployment ns1/my-graph-decode\n" in result.stdout
    assert_matches_golden("diff-removed-service.txt", relabel(result.stdout, tmp_path))


def test_missing_live_graph_shows_created(dynamo_api_server, dynamo_cli, tmp_path):
    dynamo_api_server.seed(livegraph.operator_deployment())
    result = run_diff(dynamo_cli, tmp_path, "-o", "json")
    assert result.exit_code == 1
    actions = {(o["kind"], o["action"]) for o in json.loads(result.stdout)["objects"]}
    assert ("DynamoGraphDeployment", "created") in actions
    assert {action for _, action in actions} == {"created"}


def test_manual_edit_of_deployment(cluster, dynamo_cli):
    deployment = cluster.get_object("apps/v1", "Deployment", "ns1", "my-graph-decode")
    deployment["spec"]["template"]["spec"]["containers"][0]["image"] = "nvcr.io/x/dynamo:1.1-hotfix"
    deployment["metadata"]["generation"] = 3
    cluster.update_object(deployment)
    result = dynamo_cli(["diff", "my-graph", "-n", "ns1", "--color", "never"])
    assert result.exit_code == 1, result.stderr
    assert "edited behind the operator's back: generation 3 is newer than the last-applied-generation 2" in result.stdout
    assert_matches_golden("diff-manual-edit.txt", result.stdout)


def test_live_name_with_hash_mismatch_notes(cluster, dynamo_cli):
    # The hand-written objects carry a placeholder hash, which no rendering produces.
    result = dynamo_cli(["diff", "my-graph", "-n", "ns1"])
    assert result.exit_code == 0, result.stdout
    assert "carry a last-applied-hash that differs from the rendered one" in result.stderr


def test_live_name_not_found(cluster, dynamo_cli):
    result = dynamo_cli(["diff", "no-such-graph", "-n", "ns1"])
    assert result.exit_code == 4
    assert 'dynamographdeployments.nvidia.com "no-such-graph" not found in namespace "ns1"' in result.stderr


def test_settings_come_from_operator_args(cluster, dynamo_cli, tmp_path):
    # NATS_SERVER in the live pods is the operator's --natsAddr, not the profile default.
    cluster.delete_object("apps/v1", "Deployment", "dynamo-system", "dynamo-platform-dynamo-operator-controller-manager")
    result = run_diff(dynamo_cli, tmp_path, "-o", "json")
    assert result.exit_code == 1
    assert "no operator Deployment found" in result.stderr
    changes = json.loads(result.stdout)["changes"]
    nats = [c for c in changes if c["path"].endswith("/env/NATS_SERVER/value")]
    assert {c["old"] for c in nats} == {livegraph.NATS}


def test_secret_values_are_never_printed(cluster, dynamo_cli, tmp_path):
    token = "hf_supersecret_value"
    cluster.seed({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "hf-token-secret", "namespace": "ns1"},
                  "type": "Opaque", "data": {"HF_TOKEN": base64.b64encode(token.encode()).decode()}})

    def change(services):
        services["decode"]["envFromSecret"] = "hf-token-secret"
        services["decode"]["envs"] = [{"name": "HF_TOKEN_FILE",
                                       "valueFrom": {"secretKeyRef": {"name": "hf-token-secret", "key": "HF_TOKEN"}}}]

    result = run_diff(dynamo_cli, tmp_path, change=change)
    assert result.exit_code == 1, result.stderr
    assert "secretRef:\n" in result.stdout
    assert "name: hf-token-secret" in result.stdout
    assert "secretKeyRef:" in result.stdout
    for secret in (token, base64.b64encode(token.encode()).decode()):
        assert secret not in result.stdout + result.stderr
    assert not cluster.requests_for(path_regex="/secrets")


def test_external_diff_program(cluster, dynamo_cli, tmp_path):
    script = tmp_path / "show-diff.sh"
    script.write_text(
        "#!/bin/sh\n"
        "echo \"args: $1 $2 $3\"\n"
        "echo \"live: $(basename \"$2\") merged: $(basename \"$3\")\"\n"
        "ls \"$3\"\n"
        "diff -u \"$2\" \"$3\" >/dev/null 2>&1 || diff -r -u \"$2\" \"$3\" | grep '^[-+] ' \n"
        "exit 1\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)

    def change(services):
        services["Frontend"]["replicas"] = 3

    result = run_diff(dynamo_cli, tmp_path, change=change, env={"KUBECTL_EXTERNAL_DIFF": f"{script} --brief ../bad"})
    assert result.exit_code == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("args: --brief ")
    assert "live: LIVE-" in lines[1]
    assert "merged: MERGED-" in lines[1]
    assert "apps.v1.Deployment.ns1.my-graph-frontend" in lines
    assert "nvidia.com.v1alpha1.DynamoGraphDeployment.ns1.my-graph" in lines
    assert "v1.Service.ns1.my-graph-frontend" in lines
    assert "-  replicas: 2" in result.stdout
    assert "+  replicas: 3" in result.stdout
    assert "dropped argument '../bad'" in result.stderr


def test_external_diff_exit_code_passes_through(cluster, dynamo_cli, tmp_path):
    script = tmp_path / "fail.sh"
    script.write_text("#!/bin/sh\necho broken >&2\nexit 3\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    result = run_diff(dynamo_cli, tmp_path, env={"KUBECTL_EXTERNAL_DIFF": str(script)})
    assert result.exit_code == 3
    assert "broken" in result.stderr


def test_forbidden_list_fails_one_kind_only(cluster, dynamo_cli, tmp_path):
    def change(services):
        services["decode"]["envs"] = [{"name": "LOG_LEVEL", "value": "debug"}]

    cluster.inject("GET", r"^/api/v1/namespaces/ns1/services$", 403)
    result = run_diff(dynamo_cli, tmp_path, change=change)
    assert result.exit_code == 3
    assert "error: Service ns1/my-graph-frontend: cannot list live services:" in result.stderr
    assert "~ Deployment ns1/my-graph-decode changed (pods restart: 1 pod)" in result.stdout
    assert "6 failed" in result.stdout


def test_server_error_on_graph_still_diffs_children(cluster, dynamo_cli, tmp_path):
    # Reads are retried after a 5xx, so the fault outlasts every attempt.
    cluster.inject("GET", r"/dynamographdeployments/my-graph$", 500, count=5)
    result = run_diff(dynamo_cli, tmp_path, "-o", "json")
    assert result.exit_code == 3
    objects = json.loads(result.stdout)["objects"]
    graph = next(o for o in objects if o["kind"] == "DynamoGraphDeployment")
    assert graph["action"] == "error"
    assert "cannot read the live graph" in graph["error"]
    assert {o["action"] for o in objects if o["kind"] != "DynamoGraphDeployment"} == {"unchanged"}


def test_kubectl_dispatches_plugin_exit_code(cluster, kubectl, plugin_env, tmp_path):
    path = write_graph(tmp_path, lambda services: services["Frontend"].update(replicas=5))
    env = dict(plugin_env, KUBECONFIG=cluster.kubeconfig)
    result = run_process([kubectl, "dynamo", "diff", "-f", path], env)
    assert result.exit_code == 1, result.stderr
    assert "spec.replicas 2 -> 5" in result.stdout


def test_grove_served_renders_new_graph_as_pod_clique_set(api_server, live_cli, tmp_path):
    # The shared server serves grove.io and the graph has no live children, so discovery decides.
    api_server.seed(*[obj for obj in livegraph.live_graph() if obj["kind"] == "Deployment" and obj["metadata"]["namespace"] == "dynamo-system"])
    result = live_cli(["diff", "-f", write_graph(tmp_path), "-o", "json"])
    assert result.exit_code == 1, result.stderr
    actions = {(o["kind"], o["name"]): o["action"] for o in json.loads(result.stdout)["objects"]}
    assert actions[("PodCliqueSet", "my-graph")] == "created"
    assert ("DynamoComponentDeployment", "my-graph-decode") not in actions
    assert "rendering without Grove" not in result.stderr


def test_live_dcds_override_grove_discovery(api_server, live_cli, tmp_path):
    # grove.io is served, but the live children show an operator that started without Grove.
    api_server.seed(*livegraph.live_graph())
    result = live_cli(["diff", "-f", write_graph(tmp_path), "-o", "json"])
    assert result.exit_code == 0, result.stdout + result.stderr
    actions = {(o["kind"], o["name"]): o["action"] for o in json.loads(result.stdout)["objects"]}
    assert ("PodCliqueSet", "my-graph") not in actions
    assert actions[("DynamoComponentDeployment", "my-graph-decode")] == "unchanged"
    assert actions[("Deployment", "my-graph-frontend")] == "unchanged"
    assert ("note: my-graph: rendering without Grove although the cluster serves grove.io: the live graph has "
            "2 DynamoComponentDeployment(s) and no PodCliqueSet, so the operator runs it without Grove") in result.stderr


def test_live_name_follows_live_dcds(api_server, live_cli):
    api_server.seed(*livegraph.live_graph())
    result = live_cli(["diff", "my-graph", "-n", "ns1", "-o", "json"])
    kinds_seen = {o["kind"] for o in json.loads(result.stdout)["objects"]}
    assert "PodCliqueSet" not in kinds_seen
    assert "rendering without Grove" in result.stderr


def test_live_pod_clique_set_keeps_grove(api_server, live_cli, tmp_path):
    pod_clique_set = {
        "apiVersion": "grove.io/v1alpha1", "kind": "PodCliqueSet",
        "metadata": {"name": "my-graph", "namespace": "ns1", "ownerReferences": [livegraph.DGD_OWNER]},
        "spec": {"replicas": 1, "template": {"cliques": []}},
    }
    api_server.seed(*livegraph.live_graph(), pod_clique_set)
    result = live_cli(["diff", "-f", write_graph(tmp_path), "-o", "json"])
    actions = {(o["kind"], o["name"]): o["action"] for o in json.loads(result.stdout)["objects"]}
    assert actions[("PodCliqueSet", "my-graph")] == "changed"
    assert "rendering without Grove" not in result.stderr


def test_live_leader_worker_sets_enable_lws(tmp_path, dynamo_cli):
    from kubectl_dynamo.api.kinds import ALL_KINDS
    from tests.fakeapi import FakeApiServer

    # LeaderWorkerSet is served but Volcano is not, so discovery alone would report no LWS.
    served = [kind for kind in ALL_KINDS if kind.group not in ("grove.io", "scheduling.volcano.sh", "scheduling.run.ai")]
    server = FakeApiServer(tmp_path / "lws-no-volcano", kinds=served).start()
    leader_worker_set = {
        "apiVersion": "leaderworkerset.x-k8s.io/v1", "kind": "LeaderWorkerSet",
        "metadata": {"name": "my-graph-decode-0", "namespace": "ns1", "labels": livegraph.stage_labels("decode")},
        "spec": {"replicas": 1},
    }
    try:
        server.seed(*livegraph.live_graph(), leader_worker_set)
        result = dynamo_cli(["diff", "-f", write_graph(tmp_path), "-o", "json"], env={"KUBECONFIG": server.kubeconfig})
        listed = {r.path for r in server.requests_for(verb="list")}
    finally:
        server.stop()
    assert ("note: my-graph: rendering with LeaderWorkerSet although API discovery found no scheduling.volcano.sh: "
            "the live graph has 1 LeaderWorkerSet(s), so the operator runs with LeaderWorkerSet") in result.stderr
    assert "/apis/leaderworkerset.x-k8s.io/v1/namespaces/ns1/leaderworkersets" in listed


def test_colour_follows_flag(cluster, dynamo_cli, tmp_path):
    def change(services):
        services["Frontend"]["replicas"] = 3

    path = write_graph(tmp_path, change)
    coloured = dynamo_cli(["diff", "-f", path, "--color", "always"], env={"NO_COLOR": ""})
    assert "\x1b[32m+      replicas: 3\x1b[0m" in coloured.stdout
    assert "\x1b[31m-      replicas: 2\x1b[0m" in coloured.stdout
    plain = dynamo_cli(["diff", "-f", path], env={"NO_COLOR": "1"})
    assert "\x1b[" not in plain.stdout
    assert plain.exit_code == coloured.exit_code == 1


def test_graph_from_stdin(cluster, dynamo_cli):
    text = yaml.safe_dump(livegraph.graph_document())
    result = dynamo_cli(["diff", "-f", "-"], stdin=text)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.stdout == ""
    assert result.stderr == "No differences (18 objects compared).\n"


def test_selector_matching_nothing_warns(cluster, dynamo_cli, tmp_path):
    write_graph(tmp_path)
    result = dynamo_cli(["diff", "-f", str(tmp_path), "-l", "app=x"])
    assert result.exit_code == 0
    assert result.stdout == ""
    assert f"warning: no DynamoGraphDeployment in {tmp_path} matches the selector 'app=x'\n" in result.stderr


def test_other_kinds_are_skipped(cluster, dynamo_cli, tmp_path):
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "ns1"}}
    path = tmp_path / "bundle.yaml"
    path.write_text(yaml.safe_dump_all([config_map, livegraph.graph_document()]))
    result = dynamo_cli(["diff", "-f", str(path)])
    assert result.exit_code == 0, result.stdout
    assert "skipped ConfigMap 'settings': diff compares DynamoGraphDeployments; use kubectl diff for other kinds" in result.stderr


def test_invalid_graph_fails_alone(cluster, dynamo_cli, tmp_path):
    bad = livegraph.graph_document()
    bad["metadata"]["name"] = "broken"
    bad["spec"]["services"]["decode"]["replicas"] = -1
    path = tmp_path / "graphs.yaml"
    path.write_text(yaml.safe_dump_all([livegraph.graph_document(), bad]))
    result = dynamo_cli(["diff", "-f", str(path), "-o", "json"])
    assert result.exit_code == 2, result.stderr
    objects = json.loads(result.stdout)["objects"]
    failed = [o for o in objects if o["action"] == "error"]
    assert [(o["kind"], o["name"]) for o in failed] == [("children", "broken")]
    assert "replicas" in failed[0]["error"]
    good = [o for o in objects if o["graph"] == "my-graph"]
    assert len(good) == 18 and {o["action"] for o in good} == {"unchanged"}


def test_multinode_without_orchestrator_names_cluster(cluster, dynamo_cli, tmp_path):
    result = run_diff(dynamo_cli, tmp_path, change=lambda services: services["decode"].update(multinode={"nodeCount": 2}))
    assert result.exit_code == 2, result.stdout
    assert ("spec.services.decode.multinode.nodeCount: 2 nodes need Grove, or LeaderWorkerSet with Volcano, but the "
            "cluster serves neither Grove nor LeaderWorkerSet with Volcano, so the operator would fail the graph too") in result.stderr
    assert "--grove" not in result.stderr


def test_unreachable_server_fails_once(dynamo_cli, tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "gone",
        "clusters": [{"name": "gone", "cluster": {"server": "http://127.0.0.1:9"}}],
        "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "gone", "namespace": "ns1"}}],
        "users": [{"name": "gone", "user": {"token": "x"}}],
    }))
    result = dynamo_cli(["diff", "-f", write_graph(tmp_path)], env={"KUBECONFIG": str(kubeconfig)})
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr.count("error:") == 1
    assert "127.0.0.1:9" in result.stderr


def test_missing_crd_is_named(tmp_path, dynamo_cli):
    from kubectl_dynamo.api.kinds import ALL_KINDS, DCD
    from tests.diff.conftest import OPTIONAL_GROUPS
    from tests.fakeapi import FakeApiServer

    served = [kind for kind in ALL_KINDS if kind.group not in OPTIONAL_GROUPS and kind != DCD]
    server = FakeApiServer(tmp_path / "no-dcd", kinds=served).start()
    try:
        result = dynamo_cli(["diff", "-f", write_graph(tmp_path)], env={"KUBECONFIG": server.kubeconfig})
    finally:
        server.stop()
    assert result.exit_code == 3
    assert ("error: DynamoComponentDeployment ns1/my-graph-decode: cannot list live "
            "dynamocomponentdeployments.nvidia.com: the cluster does not serve "
            "dynamocomponentdeployments.nvidia.com (is its CRD installed?)") in result.stderr


def test_operator_in_graph_namespace_when_cluster_list_forbidden(cluster, dynamo_cli, tmp_path):
    operator = livegraph.operator_deployment()
    cluster.delete_object("apps/v1", "Deployment", "dynamo-system", operator["metadata"]["name"])
    operator["metadata"]["namespace"] = "ns1"
    operator["spec"]["template"]["spec"]["containers"][0]["args"].append("--restrictedNamespace=ns1")
    cluster.seed(operator)
    cluster.inject("GET", r"^/apis/apps/v1/deployments$", 403)
    result = run_diff(dynamo_cli, tmp_path)
    assert result.stderr == "No differences (16 objects compared).\n"
    assert result.exit_code == 0, result.stdout
