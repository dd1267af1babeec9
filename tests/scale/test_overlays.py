"""`scale --git-file` builds the kustomizations that include the file, with real git and real kubectl."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from kubectl_dynamo.errors import ExitCode

GRAPH = """\
apiVersion: nvidia.com/v1alpha1
kind: DynamoGraphDeployment
metadata:
  name: llm-agg
  namespace: dynamo
spec:
  services:
    Frontend:
      componentType: frontend
      replicas: 1
    VllmWorker:
      componentType: worker
      # Reviewed in pull requests.
      replicas: 1
      resources: {limits: {gpu: "1"}}
"""

KUSTOMIZATION_WITH_PATCH = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - graph.yaml
patches:
  - target: {kind: DynamoGraphDeployment, name: llm-agg}
    patch: |
      - op: replace
        path: /spec/services/VllmWorker/replicas
        value: 3
"""

KUSTOMIZATION_PLAIN = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
commonLabels:
  team: inference
resources:
  - graph.yaml
"""


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True)
    return done.stdout


@pytest.fixture
def make_repo(tmp_path, kubectl, monkeypatch):
    monkeypatch.setenv("KUBECTL", kubectl)

    def make(files: dict) -> Path:
        repo = tmp_path / "repo"
        for name, text in files.items():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            (repo / name).write_text(text)
        git(repo, "init", "--quiet", "--initial-branch", "main")
        git(repo, "-c", "user.name=T", "-c", "user.email=t@example.com", "add", ".")
        git(repo, "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "--quiet", "-m", "Add graph")
        git(repo, "config", "user.name", "T")
        git(repo, "config", "user.email", "t@example.com")
        return repo

    return make


def test_overlay_patch_rejects_edit(cli, make_repo):
    repo = make_repo({"deploy/graph.yaml": GRAPH, "deploy/kustomization.yaml": KUSTOMIZATION_WITH_PATCH})
    graph = repo / "deploy/graph.yaml"
    before = graph.read_bytes()
    head = git(repo, "rev-parse", "HEAD")

    result = cli(["scale", "llm-agg", "-n", "dynamo", "VllmWorker=4", "--git-file", str(graph), "--commit"])

    assert result.exit_code == ExitCode.USAGE, result.stdout + result.stderr
    assert f"the kustomization at {repo / 'deploy'} sets VllmWorker to 3 after the edit" in result.stderr
    assert "--ignore-overlays" in result.stderr
    assert result.stdout == ""
    assert graph.read_bytes() == before
    assert git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "status", "--porcelain") == ""


def test_parent_overlay_patch_rejects_edit(cli, make_repo):
    parent = """\
resources:
  - base
patches:
  - target: {kind: DynamoGraphDeployment}
    patch: |
      - op: replace
        path: /spec/services/VllmWorker/replicas
        value: 5
"""
    repo = make_repo({"deploy/base/graph.yaml": GRAPH, "deploy/base/kustomization.yaml": "resources: [graph.yaml]\n",
                      "deploy/kustomization.yaml": parent})
    graph = repo / "deploy/base/graph.yaml"
    before = graph.read_bytes()

    result = cli(["scale", "llm-agg", "VllmWorker=4", "--git-file", str(graph), "--dry-run"])

    assert result.exit_code == ExitCode.USAGE, result.stderr
    assert f"the kustomization at {repo / 'deploy'} sets VllmWorker to 5" in result.stderr
    assert graph.read_bytes() == before


def test_ignore_overlays_writes_and_warns(cli, make_repo):
    repo = make_repo({"deploy/graph.yaml": GRAPH, "deploy/kustomization.yaml": KUSTOMIZATION_WITH_PATCH})
    graph = repo / "deploy/graph.yaml"

    result = cli(["scale", "llm-agg", "VllmWorker=4", "--git-file", str(graph), "--ignore-overlays"])

    assert result.exit_code == 0, result.stderr
    assert "sets VllmWorker to 3 after the edit" in result.stderr
    assert "replicas: 4" in graph.read_text()


def test_matching_patch_allows_edit(cli, make_repo):
    repo = make_repo({"deploy/graph.yaml": GRAPH, "deploy/kustomization.yaml": KUSTOMIZATION_WITH_PATCH})
    graph = repo / "deploy/graph.yaml"

    result = cli(["scale", "llm-agg", "VllmWorker=3", "--git-file", str(graph)])

    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""


def test_kustomization_without_patch_allows_edit(cli, make_repo):
    repo = make_repo({"deploy/graph.yaml": GRAPH, "deploy/kustomization.yaml": KUSTOMIZATION_PLAIN})
    graph = repo / "deploy/graph.yaml"

    result = cli(["scale", "llm-agg", "-n", "dynamo", "VllmWorker=4", "--git-file", str(graph), "--commit"])

    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert graph.read_text() == GRAPH.replace("# Reviewed in pull requests.\n      replicas: 1",
                                              "# Reviewed in pull requests.\n      replicas: 4")
    assert git(repo, "log", "-1", "--format=%s") == "Scale llm-agg VllmWorker from 1 to 4 replicas\n"


def test_flux_variable_not_compared(cli, make_repo):
    kustomization = KUSTOMIZATION_WITH_PATCH.replace("value: 3", "value: ${worker_replicas}")
    repo = make_repo({"deploy/graph.yaml": GRAPH, "deploy/kustomization.yaml": kustomization})
    graph = repo / "deploy/graph.yaml"

    result = cli(["scale", "llm-agg", "VllmWorker=4", "--git-file", str(graph)])

    assert result.exit_code == 0, result.stderr
    assert "replicas: 4" in graph.read_text()


def test_unlisted_file_not_built(cli, make_repo):
    # The kustomization in the same directory lists another file, and its build would fail.
    repo = make_repo({"deploy/graph.yaml": GRAPH, "deploy/kustomization.yaml": "resources: [missing.yaml]\n"})
    graph = repo / "deploy/graph.yaml"

    result = cli(["scale", "llm-agg", "VllmWorker=4", "--git-file", str(graph)])

    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert "replicas: 4" in graph.read_text()


def test_file_outside_kustomization_unchanged(cli, make_repo):
    repo = make_repo({"graphs/graph.yaml": GRAPH, "deploy/kustomization.yaml": KUSTOMIZATION_WITH_PATCH,
                      "deploy/graph.yaml": GRAPH})
    graph = repo / "graphs/graph.yaml"

    result = cli(["scale", "llm-agg", "VllmWorker=4", "--git-file", str(graph), "--commit"])

    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert "replicas: 4" in graph.read_text()
    assert git(repo, "status", "--porcelain") == ""


def test_failed_build_warns_and_edits(cli, make_repo):
    broken = "resources:\n  - graph.yaml\n  - missing-service.yaml\n"
    repo = make_repo({"deploy/graph.yaml": GRAPH, "deploy/kustomization.yaml": broken})
    graph = repo / "deploy/graph.yaml"

    result = cli(["scale", "llm-agg", "VllmWorker=4", "--git-file", str(graph)])

    assert result.exit_code == 0, result.stderr
    assert f"kustomize build failed for the kustomization at {repo / 'deploy'}" in result.stderr
    assert "missing-service.yaml" in result.stderr
    assert "kubectl-dynamo-scale-" not in result.stderr
    assert '"command failed"' not in result.stderr
    assert "replicas: 4" in graph.read_text()


def test_invalid_kustomization_yaml_warns(cli, make_repo):
    repo = make_repo({"deploy/graph.yaml": GRAPH, "deploy/kustomization.yaml": "resources: [graph.yaml\n"})
    graph = repo / "deploy/graph.yaml"

    result = cli(["scale", "llm-agg", "VllmWorker=4", "--git-file", str(graph)])

    assert result.exit_code == 0, result.stderr
    assert f"invalid kustomization {repo / 'deploy/kustomization.yaml'}" in result.stderr
    assert "replicas: 4" in graph.read_text()


def test_ignore_overlays_needs_git_file(cli):
    result = cli(["scale", "llm-agg", "VllmWorker=4", "--ignore-overlays"])

    assert result.exit_code == ExitCode.USAGE
    assert "--ignore-overlays only makes sense with --git-file" in result.stderr
