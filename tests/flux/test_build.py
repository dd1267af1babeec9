"""Building what a Kustomization applies, from a real git clone, with real kubectl kustomize."""

import shutil

import pytest

from kubectl_dynamo.errors import InputError
from kubectl_dynamo.flux import build, source
from tests.flux.factories import kustomization
from tests.flux.gitrepo import GRAPH, fleet_repo

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


@pytest.fixture
def repo(tmp_path):
    return fleet_repo(tmp_path / "fleet")


def tree_at(repo, commit, tmp_path, name="tree"):
    return source.tree_from_clone(repo.path, f"main@sha1:{commit}", tmp_path / name)


def graph_of(objects, name):
    matches = [o for o in objects if o["metadata"]["name"] == name]
    assert len(matches) == 1, [o["metadata"]["name"] for o in objects]
    return matches[0]


def test_plain_directory_read_directly(repo, tmp_path):
    ks = kustomization(name="plain", spec={"path": "./plain"})
    objects = build.build(tree_at(repo, repo.first, tmp_path), ks)
    graph = graph_of(objects, "llm-plain")
    assert graph["spec"]["services"]["VllmWorker"]["replicas"] == 2
    assert graph["metadata"]["labels"] == {"kustomize.toolkit.fluxcd.io/name": "plain",
                                           "kustomize.toolkit.fluxcd.io/namespace": "flux-system"}


def test_target_namespace_on_plain_directory(repo, tmp_path):
    ks = kustomization(spec={"path": "plain", "targetNamespace": "prod"})
    objects = build.build(tree_at(repo, repo.first, tmp_path), ks)
    assert graph_of(objects, "llm-plain")["metadata"]["namespace"] == "prod"


def test_kustomization_patch_with_real_kubectl(repo, tmp_path, kubectl):
    ks = kustomization(spec={"path": "./kz"})
    objects = build.build(tree_at(repo, repo.first, tmp_path), ks, kubectl=kubectl)
    assert graph_of(objects, "llm-kz")["spec"]["services"]["VllmWorker"]["replicas"] == 3


def test_kustomization_spec_patches_and_target_namespace(repo, tmp_path, kubectl):
    patch = "apiVersion: nvidia.com/v1alpha1\nkind: DynamoGraphDeployment\nmetadata:\n  name: any\nspec:\n  services:\n    Frontend:\n      replicas: 4\n"
    ks = kustomization(spec={"path": "./kz", "targetNamespace": "prod",
                             "patches": [{"patch": patch, "target": {"kind": "DynamoGraphDeployment", "name": "llm-kz"}}]})
    graph = graph_of(build.build(tree_at(repo, repo.first, tmp_path), ks, kubectl=kubectl), "llm-kz")
    assert graph["metadata"]["namespace"] == "prod"
    assert graph["spec"]["services"]["Frontend"]["replicas"] == 4
    assert graph["spec"]["services"]["VllmWorker"]["replicas"] == 3


def test_generated_kustomization_skips_excluded_ci_files(repo, tmp_path, kubectl):
    # spec.path "." scans the whole repository: .github/ must be gone, as in the artifact.
    ks = kustomization(spec={"path": ".", "patches": [{"patch": "- op: add\n  path: /metadata/labels/x\n  value: y\n",
                                                        "target": {"kind": "ConfigMap"}}]})
    objects = build.build(tree_at(repo, repo.first, tmp_path), ks, kubectl=kubectl)
    names = sorted(o["metadata"]["name"] for o in objects)
    assert names == ["llm-kz", "llm-plain", "llm-subst"]
    assert graph_of(objects, "llm-kz")["spec"]["services"]["VllmWorker"]["replicas"] == 3


def test_post_build_substitution(repo, tmp_path):
    ks = kustomization(spec={"path": "./subst", "postBuild": {
        "substitute": {"image_tag": "v7"},
        "substituteFrom": [{"kind": "ConfigMap", "name": "vars"}, {"kind": "Secret", "name": "missing", "optional": True}],
    }})
    config_map = {"data": {"worker_replicas": "5", "image_tag": "v0"}}
    variables = build.resolve_variables(ks, {"vars": config_map}, {"missing": None})
    assert variables == {"worker_replicas": "5", "image_tag": "v7"}
    graph = graph_of(build.build(tree_at(repo, repo.first, tmp_path), ks, variables), "llm-subst")
    assert graph["spec"]["services"]["VllmWorker"]["extraPodSpec"]["mainContainer"]["image"] == "repo/vllm:v7"
    assert graph["spec"]["services"]["VllmWorker"]["replicas"] == 5


def test_substitution_default_and_opt_out(repo, tmp_path):
    ks = kustomization(spec={"path": "./subst", "postBuild": {"substitute": {"image_tag": "v7"}}})
    graph = graph_of(build.build(tree_at(repo, repo.first, tmp_path), ks, {"image_tag": "v7"}), "llm-subst")
    assert graph["spec"]["services"]["VllmWorker"]["replicas"] == 2

    commit = repo.commit("Opt out", {"subst/graph.yaml": GRAPH.format(name="llm-subst", image="repo/vllm:${image_tag}").replace(
        "  namespace: dynamo\n", "  namespace: dynamo\n  annotations:\n    kustomize.toolkit.fluxcd.io/substitute: disabled\n")})
    graph = graph_of(build.build(tree_at(repo, commit, tmp_path, "opt-out"), ks, {"image_tag": "v7"}), "llm-subst")
    assert graph["spec"]["services"]["VllmWorker"]["extraPodSpec"]["mainContainer"]["image"] == "repo/vllm:${image_tag}"


def test_missing_substitute_from_is_error(repo):
    ks = kustomization(spec={"postBuild": {"substituteFrom": [{"kind": "Secret", "name": "vars"}]}})
    with pytest.raises(InputError, match="substituteFrom Secret/vars"):
        build.resolve_variables(ks, {}, {"vars": None})


def test_secret_values_are_decoded(repo):
    ks = kustomization(spec={"postBuild": {"substituteFrom": [{"kind": "Secret", "name": "vars"}]}})
    assert build.resolve_variables(ks, {}, {"vars": {"data": {"token": "YWJj"}}}) == {"token": "abc"}


@pytest.mark.parametrize("text, expected", [
    ("${a}", "1"), ("${missing}", ""), ("${missing:=d}", "d"), ("${empty:=d}", "d"), ("${empty=d}", ""),
    ("${missing-d}", "d"), ("$${a}", "${a}"), ("$a", "$a"), ("x${a}y${b:-z}", "x1yz"),
])
def test_envsubst_forms(text, expected):
    assert build.envsubst(text, {"a": "1", "empty": ""}) == expected


def test_no_variables_means_no_substitution(repo, tmp_path):
    ks = kustomization(spec={"path": "./subst"})
    graph = graph_of(build.build(tree_at(repo, repo.first, tmp_path), ks, {}), "llm-subst")
    assert graph["spec"]["services"]["VllmWorker"]["extraPodSpec"]["mainContainer"]["image"] == "repo/vllm:${image_tag}"


def test_invalid_yaml_file_fails_build(repo, tmp_path):
    commit = repo.commit("Break", {"plain/notes.yaml": "just: [text\n"})
    ks = kustomization(spec={"path": "./plain"})
    with pytest.raises(InputError, match="notes.yaml"):
        build.build(tree_at(repo, commit, tmp_path), ks)


def test_missing_path_names_revision(repo, tmp_path):
    ks = kustomization(spec={"path": "./nowhere"})
    with pytest.raises(InputError, match=r"spec.path './nowhere'.*main@"):
        build.build(tree_at(repo, repo.first, tmp_path), ks)


def test_failing_kustomize_reports_stderr(repo, tmp_path, kubectl):
    commit = repo.commit("Bad kustomization", {"kz/kustomization.yaml": "resources:\n- nothere.yaml\n"})
    with pytest.raises(InputError, match="kustomize build failed"):
        build.build(tree_at(repo, commit, tmp_path), kustomization(spec={"path": "./kz"}), kubectl=kubectl)
