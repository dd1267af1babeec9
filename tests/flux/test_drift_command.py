"""`kubectl dynamo drift` end to end: the test API server, a real git clone and real kubectl."""

import json
import shutil
import subprocess

import pytest

from kubectl_dynamo.errors import ExitCode
from tests.conftest import run_process
from tests.flux import scenario as sc
from tests.flux.gitrepo import GRAPH, fleet_repo

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


@pytest.fixture
def repo(tmp_path):
    return fleet_repo(tmp_path / "fleet")


def seed_synced(api_server, repo, *, ks_spec=None, graph_kwargs=None):
    """Seed the plain layout fully applied at the first commit."""
    rev = sc.revision(repo.first)
    api_server.seed(
        sc.git_repository(repo.first),
        sc.kustomization("plain", "./plain", rev, spec=ks_spec, inventory=["llm-plain"]),
        sc.live_graph("llm-plain", "plain", **(graph_kwargs or {})),
    )
    return rev


def test_synced_graph_without_drift(api_server, live_cli, repo):
    seed_synced(api_server, repo)
    result = live_cli(["drift", "llm-plain", "-n", "dynamo", "--source", str(repo.path)])
    assert result.exit_code == ExitCode.OK, result.stderr
    assert "dynamo/llm-plain: Synced" in result.stdout
    assert f"no drift from main@{repo.first[:7]}" in result.stdout
    assert "no pending changes" in result.stdout
    assert result.stderr == ""


def test_replicas_changed_by_kubectl_patch(api_server, live_cli, repo, kubectl):
    seed_synced(api_server, repo)
    patched = subprocess.run(
        [kubectl, "patch", "dgd", "llm-plain", "-n", "dynamo", "--type", "merge",
         "-p", '{"spec":{"services":{"VllmWorker":{"replicas":4}}}}'],
        env=api_server.env, capture_output=True, text=True)
    assert patched.returncode == 0, patched.stderr

    result = live_cli(["drift", "llm-plain", "-n", "dynamo", "--source", str(repo.path)])
    assert result.exit_code == ExitCode.DIFFERS, result.stderr
    line = next(l for l in result.stdout.splitlines() if "spec.services.VllmWorker.replicas" in l)
    assert "git 2, live 4, set by kubectl-patch" in line
    assert "Flux will set it back at the next reconcile in ~" in line
    assert ", 1 field:" in result.stdout
    assert "1 fields" not in result.stdout


def test_field_of_other_manager_is_not_drift(api_server, live_cli, repo, kubectl):
    rev = seed_synced(api_server, repo)
    patched = subprocess.run(
        [kubectl, "patch", "dgd", "llm-plain", "-n", "dynamo", "--type", "merge", "--field-manager", "team-tooling",
         "-p", '{"spec":{"services":{"VllmWorker":{"envs":[{"name":"TRACE","value":"1"}]}}}}'],
        env=api_server.env, capture_output=True, text=True)
    assert patched.returncode == 0, patched.stderr

    result = live_cli(["drift", "llm-plain", "-n", "dynamo", "--source", str(repo.path), "-o", "json"])
    assert result.exit_code == ExitCode.OK, result.stdout + result.stderr
    report = json.loads(result.stdout)
    entry = report["graphs"][0]
    assert entry["drift"] == []
    assert entry["desiredRevision"] == rev
    assert {"path": "spec.services.VllmWorker.envs", "manager": "team-tooling", "operation": "Update"} in entry["keptFields"]


def test_field_added_by_kubectl_edit_is_drift(api_server, live_cli, repo):
    edit = sc.managed_entry("kubectl-edit", "Update", -2, {"f:spec": {"f:services": {"f:VllmWorker": {"f:envs": {}}}}})
    seed_synced(api_server, repo, graph_kwargs={"extra_entries": [edit]})
    graph = api_server.get_object("nvidia.com/v1alpha1", "DynamoGraphDeployment", "dynamo", "llm-plain")
    graph["spec"]["services"]["VllmWorker"]["envs"] = [{"name": "DEBUG", "value": "1"}]
    api_server.update_object(graph)

    result = live_cli(["drift", "llm-plain", "-n", "dynamo", "--source", str(repo.path)])
    assert result.exit_code == ExitCode.DIFFERS
    assert "spec.services.VllmWorker.envs: not in Git" in result.stdout
    assert "added by kubectl-edit 2m ago; Flux will remove it" in result.stdout


def test_ignored_path_by_kustomization_rule(api_server, live_cli, repo):
    planner = sc.managed_entry("planner", "Update", -1, {"f:spec": {"f:services": {"f:VllmWorker": {"f:replicas": {}}}}})
    rule = {"ignore": [{"paths": ["/spec/services/VllmWorker/replicas"], "target": {"kind": "DynamoGraphDeployment"}}]}
    seed_synced(api_server, repo, ks_spec=rule, graph_kwargs={"worker_replicas": 6, "extra_entries": [planner]})

    result = live_cli(["drift", "llm-plain", "-n", "dynamo", "--source", str(repo.path)])
    assert result.exit_code == ExitCode.OK, result.stdout
    assert "ignored (1):" in result.stdout
    assert "spec.services.VllmWorker.replicas: git 2, live 6, set by planner" in result.stdout


def test_ignore_option(api_server, live_cli, repo):
    seed_synced(api_server, repo, graph_kwargs={"worker_replicas": 6})
    without = live_cli(["drift", "llm-plain", "-n", "dynamo", "--source", str(repo.path)])
    assert without.exit_code == ExitCode.DIFFERS
    with_ignore = live_cli(["drift", "llm-plain", "-n", "dynamo", "--source", str(repo.path),
                            "--ignore", "spec.services.*.replicas"])
    assert with_ignore.exit_code == ExitCode.OK, with_ignore.stdout


def test_new_commit_not_applied_is_pending(api_server, live_cli, repo):
    newer = repo.commit("Bump the image", {"plain/llm.yaml": GRAPH.format(name="llm-plain", image="repo/vllm:v2")})
    rev = sc.revision(repo.first)
    api_server.seed(
        sc.git_repository(newer),
        sc.kustomization("plain", "./plain", rev, inventory=["llm-plain"]),
        sc.live_graph("llm-plain", "plain"),
    )
    result = live_cli(["drift", "llm-plain", "-n", "dynamo", "--source", str(repo.path)])
    assert result.exit_code == ExitCode.DIFFERS, result.stderr
    assert f"dynamo/llm-plain: Pending  main@{repo.first[:7]} -> main@{newer[:7]}" in result.stdout
    assert f"no drift from main@{repo.first[:7]}" in result.stdout
    assert f"pending at the branch head main@{newer[:7]}" in result.stdout
    assert "spec.services.VllmWorker.extraPodSpec.mainContainer.image: repo/vllm:v1 -> repo/vllm:v2" in result.stdout


def test_pending_json_lists_children_or_render_error(api_server, live_cli, repo):
    newer = repo.commit("Scale up", {"plain/llm.yaml": GRAPH.format(name="llm-plain", image="repo/vllm:v1").replace(
        "replicas: 2", "replicas: 5")})
    api_server.seed(
        sc.git_repository(newer),
        sc.kustomization("plain", "./plain", sc.revision(repo.first), inventory=["llm-plain"]),
        sc.live_graph("llm-plain", "plain"),
    )
    result = live_cli(["drift", "llm-plain", "-n", "dynamo", "--source", str(repo.path), "-o", "json"])
    assert result.exit_code == ExitCode.DIFFERS
    pending = json.loads(result.stdout)["graphs"][0]["pending"]
    assert pending["graph"] == "changed"
    assert pending["changes"] == [{"op": "change", "path": "spec.services.VllmWorker.replicas", "old": 2, "new": 5}]
    assert pending["renderError"] == ""
    children = {(c["kind"], c["name"]): c for c in pending["children"]}
    deployment = children[("Deployment", "llm-plain-vllmworker")]
    assert deployment["op"] == "change"
    assert "spec.replicas" in [c["path"] for c in deployment["changes"]]


def test_pending_render_error_is_reported(api_server, live_cli, repo):
    broken = GRAPH.format(name="llm-plain", image="repo/vllm:v1").replace("      replicas: 2\n", "      replicas: 2\n      bogus: 1\n")
    newer = repo.commit("Add an unknown key", {"plain/llm.yaml": broken})
    api_server.seed(
        sc.git_repository(newer),
        sc.kustomization("plain", "./plain", sc.revision(repo.first), inventory=["llm-plain"]),
        sc.live_graph("llm-plain", "plain"),
    )
    result = live_cli(["drift", "llm-plain", "-n", "dynamo", "--source", str(repo.path)])
    assert result.exit_code == ExitCode.DIFFERS
    assert "spec.services.VllmWorker.bogus: + 1" in result.stdout
    assert "children not rendered:" in result.stdout
    assert "bogus" in result.stdout.split("children not rendered:")[1]


def test_failing_apply(api_server, live_cli, repo):
    newer = repo.commit("Break", {"plain/llm.yaml": GRAPH.format(name="llm-plain", image="repo/vllm:v2")})
    failed = sc.ready("False", "ReconciliationFailed", "DynamoGraphDeployment/dynamo/llm-plain dry-run failed: admission webhook denied")
    api_server.seed(
        sc.git_repository(newer),
        sc.kustomization("plain", "./plain", sc.revision(repo.first), attempted=sc.revision(newer),
                         conditions=[failed], inventory=["llm-plain"]),
        sc.live_graph("llm-plain", "plain"),
    )
    result = live_cli(["drift", "llm-plain", "-n", "dynamo"])
    assert result.exit_code == ExitCode.DIFFERS
    assert "dynamo/llm-plain: Failing" in result.stdout
    assert "ReconciliationFailed: DynamoGraphDeployment/dynamo/llm-plain dry-run failed" in result.stdout
    assert "field drift needs the Git content" in result.stdout


def test_suspended_kustomization(api_server, live_cli, repo):
    seed_synced(api_server, repo, ks_spec={"suspend": True}, graph_kwargs={"worker_replicas": 3})
    result = live_cli(["drift", "llm-plain", "-n", "dynamo", "--source", str(repo.path)])
    assert result.exit_code == ExitCode.DIFFERS
    assert "dynamo/llm-plain: Suspended" in result.stdout
    assert "Flux will not set it back while Kustomization flux-system/plain is suspended" in result.stdout


def test_missing_commit_in_clone(api_server, live_cli, repo):
    absent = "e" * 40
    api_server.seed(
        sc.git_repository(absent),
        sc.kustomization("plain", "./plain", sc.revision(absent), inventory=["llm-plain"]),
        sc.live_graph("llm-plain", "plain"),
    )
    result = live_cli(["drift", "llm-plain", "-n", "dynamo", "--source", str(repo.path)])
    assert result.exit_code == ExitCode.USAGE
    assert f"commit {absent}" in result.stderr
    assert f"git -C {repo.path} fetch origin main" in result.stderr


def test_artifact_from_cluster(api_server, live_cli, repo):
    digest = sc.serve_artifact(api_server, repo, repo.first)
    api_server.seed(
        sc.git_repository(repo.first, digest=digest),
        sc.kustomization("plain", "./plain", sc.revision(repo.first), inventory=["llm-plain"]),
        sc.live_graph("llm-plain", "plain", worker_replicas=4),
    )
    result = live_cli(["drift", "llm-plain", "-n", "dynamo", "--from-cluster"])
    assert result.exit_code == ExitCode.DIFFERS, result.stderr
    assert "spec.services.VllmWorker.replicas: git 2, live 4" in result.stdout
    assert f"artifact gitrepository/flux-system/fleet/{repo.first}.tar.gz" in result.stdout
    proxied = api_server.requests_for(path_regex=r"/services/source-controller:http/proxy/")
    assert len(proxied) == 1


@pytest.mark.parametrize("url", ["http://x", "http://x/gitrepository/flux-system/fleet/a.tar.gz", "https://example.com/a.tar.gz"])
def test_artifact_url_not_a_service(api_server, live_cli, repo, url):
    source = sc.git_repository(repo.first)
    source["status"]["artifact"]["url"] = url
    api_server.seed(
        source,
        sc.kustomization("plain", "./plain", sc.revision(repo.first), inventory=["llm-plain"]),
        sc.live_graph("llm-plain", "plain"),
    )
    result = live_cli(["drift", "llm-plain", "-n", "dynamo", "--from-cluster"])
    assert result.exit_code == ExitCode.CLUSTER
    assert "cannot read the artifact of GitRepository/flux-system/fleet" in result.stderr
    assert f"status.artifact.url {url!r} does not point at a source-controller Service" in result.stderr
    assert "http://source-controller.flux-system.svc.cluster.local./<path>" in result.stderr
    assert "--source DIR" in result.stderr
    assert "not found in namespace" not in result.stderr
    assert api_server.requests_for(path_regex=r"/proxy/") == []


def test_artifact_service_missing_is_cluster_error(api_server, live_cli, repo):
    source = sc.git_repository(repo.first)
    url = "http://source-ctl.flux-system.svc.cluster.local./gitrepository/a.tar.gz"
    source["status"]["artifact"]["url"] = url
    api_server.seed(
        source,
        sc.kustomization("plain", "./plain", sc.revision(repo.first), inventory=["llm-plain"]),
        sc.live_graph("llm-plain", "plain"),
    )
    result = live_cli(["drift", "llm-plain", "-n", "dynamo", "--from-cluster"])
    assert result.exit_code == ExitCode.CLUSTER
    assert f"at status.artifact.url {url!r}" in result.stderr
    assert "source-controller's Service flux-system/source-ctl" in result.stderr
    assert "--source DIR" in result.stderr


def test_artifact_digest_mismatch_refused(api_server, live_cli, repo):
    digest = sc.serve_artifact(api_server, repo, repo.first, tamper=True)
    api_server.seed(
        sc.git_repository(repo.first, digest=digest),
        sc.kustomization("plain", "./plain", sc.revision(repo.first), inventory=["llm-plain"]),
        sc.live_graph("llm-plain", "plain"),
    )
    result = live_cli(["drift", "llm-plain", "-n", "dynamo", "--from-cluster"])
    assert result.exit_code == ExitCode.CLUSTER
    assert "does not match status.artifact.digest" in result.stderr
    assert "refusing to use it" in result.stderr
    assert "no drift" not in result.stdout


def test_kustomization_with_patch_is_synced(api_server, live_cli, repo):
    api_server.seed(
        sc.git_repository(repo.first),
        sc.kustomization("kz", "./kz", sc.revision(repo.first), inventory=["llm-kz"]),
        sc.live_graph("llm-kz", "kz", worker_replicas=3),
    )
    result = live_cli(["drift", "llm-kz", "-n", "dynamo", "--source", str(repo.path)])
    assert result.exit_code == ExitCode.OK, result.stdout + result.stderr


def test_substitution_from_config_map(api_server, live_cli, repo):
    post_build = {"postBuild": {"substitute": {"image_tag": "v9"},
                                "substituteFrom": [{"kind": "ConfigMap", "name": "fleet-vars"}]}}
    api_server.seed(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "fleet-vars", "namespace": sc.FLUX_NS},
         "data": {"worker_replicas": "4"}},
        sc.git_repository(repo.first),
        sc.kustomization("subst", "./subst", sc.revision(repo.first), spec=post_build, inventory=["llm-subst"]),
        sc.live_graph("llm-subst", "subst", image="repo/vllm:v9", worker_replicas=4),
    )
    result = live_cli(["drift", "llm-subst", "-n", "dynamo", "--source", str(repo.path)])
    assert result.exit_code == ExitCode.OK, result.stdout + result.stderr


def test_prune_and_orphan_reported(api_server, live_cli, repo):
    rev = sc.revision(repo.first)
    api_server.seed(
        sc.git_repository(repo.first),
        sc.kustomization("plain", "./plain", rev, inventory=["llm-plain", "old-graph"]),
        sc.live_graph("llm-plain", "plain"),
        sc.live_graph("old-graph", "plain"),
        sc.live_graph("stray", "plain"),
    )
    result = live_cli(["drift", "-n", "dynamo", "--source", str(repo.path)])
    assert result.exit_code == ExitCode.DIFFERS
    assert "to be pruned: DynamoGraphDeployment/dynamo/old-graph" in result.stdout
    assert "not in the inventory: graph dynamo/stray" in result.stdout
    assert "dynamo/old-graph: Synced" in result.stdout
    assert "not in Git at" in result.stdout


def test_unmanaged_graph_named_exits_zero(api_server, live_cli):
    graph = sc.live_graph("hand-made", "plain")
    graph["metadata"].pop("labels")
    api_server.seed(graph)
    result = live_cli(["drift", "hand-made", "-n", "dynamo"])
    assert result.exit_code == ExitCode.OK, result.stderr
    assert "dynamo/hand-made: NotManaged" in result.stdout
    assert "note: Flux does not manage this graph" in result.stdout


def test_unmanaged_graph_beside_synced_exits_zero(api_server, live_cli, repo):
    seed_synced(api_server, repo)
    graph = sc.live_graph("hand-made", "plain")
    graph["metadata"].pop("labels")
    api_server.seed(graph)
    result = live_cli(["drift", "-A", "--source", str(repo.path)])
    assert result.exit_code == ExitCode.OK, result.stdout + result.stderr
    assert "dynamo/hand-made: NotManaged" in result.stdout
    assert "note: Flux does not manage this graph" not in result.stdout


def test_orphan_alone_exits_zero(api_server, live_cli, repo):
    seed_synced(api_server, repo)
    api_server.seed(sc.live_graph("stray", "plain"))
    result = live_cli(["drift", "-n", "dynamo", "--source", str(repo.path)])
    assert result.exit_code == ExitCode.OK, result.stdout + result.stderr
    assert "not in the inventory: graph dynamo/stray" in result.stdout


def test_missing_graph_is_not_found(api_server, live_cli):
    result = live_cli(["drift", "nope", "-n", "dynamo"])
    assert result.exit_code == ExitCode.NOT_FOUND
    assert 'dynamographdeployments.nvidia.com "nope" not found in namespace "dynamo"' in result.stderr
    assert "List the graphs with `kubectl dynamo get -n dynamo`, or -A for every namespace." in result.stderr


def test_source_and_from_cluster_exclusive(api_server, live_cli, repo):
    result = live_cli(["drift", "x", "--source", str(repo.path), "--from-cluster"])
    assert result.exit_code == ExitCode.USAGE
    assert "mutually exclusive" in result.stderr


def test_yaml_output(api_server, live_cli, repo):
    seed_synced(api_server, repo)
    result = live_cli(["drift", "-A", "-o", "yaml"])
    assert result.exit_code == ExitCode.OK
    assert "kind: DriftReport" in result.stdout
    assert "verdict: Synced" in result.stdout


def test_kubectl_dispatches_drift(api_server, repo, kubectl, plugin_env):
    seed_synced(api_server, repo)
    env = {**plugin_env, "KUBECONFIG": api_server.kubeconfig}
    result = run_process([kubectl, "dynamo", "drift", "llm-plain", "-n", "dynamo", "--source", str(repo.path)], env)
    assert result.exit_code == 0, result.stderr
    assert "dynamo/llm-plain: Synced" in result.stdout


def test_server_dry_run_sends_forced_apply(api_server, live_cli, repo, kubectl):
    seed_synced(api_server, repo)
    patched = subprocess.run(
        [kubectl, "patch", "dgd", "llm-plain", "-n", "dynamo", "--type", "merge",
         "-p", '{"spec":{"services":{"VllmWorker":{"replicas":4}}}}'],
        env=api_server.env, capture_output=True, text=True)
    assert patched.returncode == 0, patched.stderr
    api_server.clear_requests()

    result = live_cli(["drift", "llm-plain", "-n", "dynamo", "--source", str(repo.path), "--server-dry-run"])
    assert result.exit_code == ExitCode.DIFFERS, result.stderr
    assert "spec.services.VllmWorker.replicas: git 2, live 4, set by kubectl-patch" in result.stdout
    assert "server-side apply dry run" in result.stdout
    applies = api_server.requests_for(method="PATCH")
    assert len(applies) == 1
    assert applies[0].query.get("dryRun") == "All"
    assert applies[0].query.get("fieldManager") == "kustomize-controller"
    assert applies[0].query.get("force") == "true"
    live = api_server.get_object("nvidia.com/v1alpha1", "DynamoGraphDeployment", "dynamo", "llm-plain")
    assert live["spec"]["services"]["VllmWorker"]["replicas"] == 4


def test_server_dry_run_needs_git(api_server, live_cli):
    result = live_cli(["drift", "x", "--server-dry-run"])
    assert result.exit_code == ExitCode.USAGE
    assert "--server-dry-run needs the Git content" in result.stderr


def test_source_option_rejects_oci_source(api_server, live_cli, repo):
    oci = sc.git_repository(repo.first)
    oci["apiVersion"], oci["kind"] = "source.toolkit.fluxcd.io/v1beta2", "OCIRepository"
    ks = sc.kustomization("plain", "./plain", sc.revision(repo.first), inventory=["llm-plain"])
    ks["spec"]["sourceRef"]["kind"] = "OCIRepository"
    api_server.seed(oci, ks, sc.live_graph("llm-plain", "plain"))
    result = live_cli(["drift", "llm-plain", "-n", "dynamo", "--source", str(repo.path)])
    assert result.exit_code == ExitCode.USAGE
    assert "is OCIRepository/flux-system/fleet; --source reads GitRepository sources only" in result.stderr
    assert "--from-cluster" in result.stderr


def test_selector_limits_graphs(api_server, live_cli, repo):
    seed_synced(api_server, repo)
    other = sc.live_graph("other", "plain")
    other["metadata"]["labels"]["team"] = "b"
    api_server.seed(other)
    result = live_cli(["drift", "-n", "dynamo", "-l", "team=b", "-o", "json"])
    names = [g["name"] for g in json.loads(result.stdout)["graphs"]]
    assert names == ["other"]


def test_branch_head_adds_and_removes_graphs(api_server, live_cli, repo):
    repo.git("rm", "-q", "plain/llm.yaml")
    repo.commit("Replace the graph", {"plain/next.yaml": GRAPH.format(name="llm-next", image="repo/vllm:v1")})
    seed_synced(api_server, repo)
    result = live_cli(["drift", "llm-plain", "-n", "dynamo", "--source", str(repo.path)])
    assert result.exit_code == ExitCode.DIFFERS
    assert "the branch head adds graph dynamo/llm-next" in result.stdout
    assert "the branch head removes graph dynamo/llm-plain (Flux will prune it)" in result.stdout
    assert "graph removed" in result.stdout


def test_unlabelled_graph_in_flux_system_inventory_is_managed(api_server, live_cli, repo):
    rev = sc.revision(repo.first)
    graph = sc.live_graph("llm-plain", "plain")
    graph["metadata"].pop("labels")
    api_server.seed(sc.git_repository(repo.first), sc.kustomization("plain", "./plain", rev, inventory=["llm-plain"]), graph)
    result = live_cli(["drift", "llm-plain", "-n", "dynamo", "-o", "json"])
    assert result.exit_code == ExitCode.OK, result.stdout + result.stderr
    sync = json.loads(result.stdout)["graphs"][0]["sync"]
    assert (sync["verdict"], sync["kustomization"]) == ("Synced", "flux-system/plain")


@pytest.mark.parametrize("managed", [True, False])
def test_missing_source_dir_is_usage_error_for_every_graph(api_server, live_cli, repo, tmp_path, managed):
    if managed:
        seed_synced(api_server, repo)
    else:
        graph = sc.live_graph("llm-plain", "plain")
        graph["metadata"].pop("labels")
        api_server.seed(graph)
    missing = tmp_path / "nonexist"
    api_server.clear_requests()
    result = live_cli(["drift", "llm-plain", "-n", "dynamo", "--source", str(missing)])
    assert result.exit_code == ExitCode.USAGE
    assert f"--source {missing}: no such directory" in result.stderr
    assert result.stdout == ""
    assert api_server.requests == []  # checked before the cluster is read


def test_source_must_be_a_directory_in_a_work_tree(api_server, live_cli, tmp_path):
    (tmp_path / "file.txt").write_text("x\n")
    (tmp_path / "plain").mkdir()
    result = live_cli(["drift", "x", "-n", "dynamo", "--source", str(tmp_path / "file.txt")])
    assert result.exit_code == ExitCode.USAGE
    assert f"--source {tmp_path / 'file.txt'}: not a directory" in result.stderr
    result = live_cli(["drift", "x", "-n", "dynamo", "--source", str(tmp_path / "plain")])
    assert result.exit_code == ExitCode.USAGE
    assert "is not a git repository (not inside a git work tree)" in result.stderr


def _seed_gpu_variable(api_server, repo, value):
    """Git writes gpu: "${gpus}"; the applied commit has it, a later one bumps the image."""
    def graph(image):
        return GRAPH.format(name="llm-gpus", image=image).replace('gpu: "1"', 'gpu: "${gpus}"')

    applied = repo.commit("Take the GPU count from a variable", {"gpus/graph.yaml": graph("repo/vllm:v1")})
    newer = repo.commit("Bump the image", {"gpus/graph.yaml": graph("repo/vllm:v2")})
    post_build = {"postBuild": {"substitute": {"gpus": value}}}
    api_server.seed(
        sc.git_repository(newer),
        sc.kustomization("gpus", "./gpus", sc.revision(applied), spec=post_build, inventory=["llm-gpus"]),
        sc.live_graph("llm-gpus", "gpus"),
    )


def test_substituted_number_in_string_field(api_server, live_cli, repo):
    _seed_gpu_variable(api_server, repo, "1")
    result = live_cli(["drift", "llm-gpus", "-n", "dynamo", "--source", str(repo.path)])
    assert result.exit_code == ExitCode.DIFFERS, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    # The applied revision: Flux writes the integer 1 where the live graph has the string "1".
    retyped = next(l for l in lines if l.lstrip().startswith("spec.services.VllmWorker.resources.limits.gpu: the live value"))
    assert "becomes the integer 1, not a string" in retyped
    assert "setting gpus to a quoted value, e.g. postBuild.substitute.gpus: '\"1\"'" in retyped
    # The branch head: the renderer's complaint names the variable instead of advising quotes.
    parent = next(i for i, l in enumerate(lines) if "children not rendered:" in l)
    problem = next(l for l in lines[parent + 1:] if "resources.limits.gpu" in l)
    assert "expected string, found integer; Flux substitutes ${gpus} after the kustomize build" in problem
    assert "quote it" not in result.stdout
    indent = lambda line: len(line) - len(line.lstrip())
    assert indent(problem) > indent(lines[parent])

    report = json.loads(live_cli(["drift", "llm-gpus", "-n", "dynamo", "--source", str(repo.path), "-o", "json"]).stdout)
    change = report["graphs"][0]["typeChanges"][0]
    assert (change["path"], change["expression"], change["variables"], change["value"], change["type"]) == (
        "spec.services.VllmWorker.resources.limits.gpu", "${gpus}", ["gpus"], 1, "integer")


def test_quoted_variable_value_stays_a_string(api_server, live_cli, repo):
    _seed_gpu_variable(api_server, repo, '"1"')
    result = live_cli(["drift", "llm-gpus", "-n", "dynamo", "--source", str(repo.path), "-o", "json"])
    graph = json.loads(result.stdout)["graphs"][0]
    assert graph["drift"] == []
    assert graph["typeChanges"] == []
    assert graph["pending"]["renderError"] == ""
    assert graph["pending"]["changes"] == [{"op": "change", "path": "spec.services.VllmWorker.extraPodSpec.mainContainer.image",
                                            "old": "repo/vllm:v1", "new": "repo/vllm:v2"}]
