"""`scale --git-file`: only the number changes, byte for byte, and --commit makes a real git commit."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from kubectl_dynamo.errors import ExitCode

GRAPH_FILE = """\
# Production graph; replicas are reviewed in pull requests.
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}   # flow style stays
data:
  replicas: "9"
---
apiVersion: nvidia.com/v1alpha1
kind: DynamoGraphDeployment
metadata:
  name: llm-disagg   # the graph
  namespace: ml
spec:
  services:
    Frontend:
      componentType: frontend      #   odd   spacing kept
      replicas:   1   # one is enough
    VllmDecodeWorker:
      componentType: worker
      replicas: "2"
      multinode:
        nodeCount: 2
      resources: {limits: {gpu: '1'}}
    VllmPrefillWorker:
      componentType: worker
      extraPodSpec:
        mainContainer:
          args: ['--model', "Qwen/Qwen3-0.6B"]
---
apiVersion: nvidia.com/v1alpha1
kind: DynamoGraphDeployment
metadata:
  name: other
spec:
  services:
    Frontend:
      replicas: 1
"""


@pytest.fixture
def graph_file(tmp_path) -> Path:
    path = tmp_path / "llm-disagg.yaml"
    path.write_text(GRAPH_FILE)
    return path


def changed_lines(before: str, after: str):
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    return [(a, b) for a, b in zip(old, new) if a != b], len(new) - len(old)


def test_only_number_changes(cli, graph_file):
    result = cli(["scale", "llm-disagg", "frontend=3", "--git-file", str(graph_file)])
    assert result.exit_code == 0, result.stderr
    after = graph_file.read_text()
    assert after == GRAPH_FILE.replace("replicas:   1   # one is enough", "replicas:   3   # one is enough")
    assert f"{graph_file} edited: service Frontend 1 -> 3" in result.stdout


def test_quoted_value_keeps_quotes(cli, graph_file):
    result = cli(["scale", "llm-disagg", "VllmDecodeWorker=4", "--git-file", str(graph_file)])
    assert result.exit_code == 0, result.stderr
    diff, added = changed_lines(GRAPH_FILE, graph_file.read_text())
    assert diff == [('      replicas: "2"\n', '      replicas: "4"\n')]
    assert added == 0


def test_missing_replicas_inserted(cli, graph_file):
    result = cli(["scale", "llm-disagg", "vllmprefillworker=2", "--git-file", str(graph_file)])
    assert result.exit_code == 0, result.stderr
    expected = GRAPH_FILE.replace(
        "    VllmPrefillWorker:\n      componentType: worker\n",
        "    VllmPrefillWorker:\n      replicas: 2\n      componentType: worker\n",
    )
    assert graph_file.read_text() == expected
    assert "replicas added at line" in result.stdout


def test_second_document_untouched_by_same_service(cli, graph_file):
    result = cli(["scale", "other", "Frontend=5", "--git-file", str(graph_file)])
    assert result.exit_code == 0, result.stderr
    after = graph_file.read_text()
    head, _, tail = GRAPH_FILE.rpartition("replicas: 1\n")
    assert after == head + "replicas: 5\n" + tail


def test_crlf_line_endings_kept(cli, tmp_path):
    path = tmp_path / "g.yaml"
    original = GRAPH_FILE.replace("\n", "\r\n").encode()
    path.write_bytes(original)
    result = cli(["scale", "llm-disagg", "VllmPrefillWorker=3", "Frontend=2", "--git-file", str(path)])
    assert result.exit_code == 0, result.stderr
    expected = (
        GRAPH_FILE.replace("replicas:   1   #", "replicas:   2   #")
        .replace("    VllmPrefillWorker:\n", "    VllmPrefillWorker:\n      replicas: 3\n")
        .replace("\n", "\r\n")
        .encode()
    )
    assert path.read_bytes() == expected


def test_noop_writes_nothing(cli, graph_file):
    before = graph_file.stat().st_mtime_ns
    result = cli(["scale", "llm-disagg", "Frontend=1", "--git-file", str(graph_file)])
    assert result.exit_code == 0, result.stderr
    assert "unchanged: service Frontend already has 1 replica\n" in result.stdout
    assert graph_file.read_text() == GRAPH_FILE
    assert graph_file.stat().st_mtime_ns == before


def test_dry_run_prints_diff(cli, graph_file):
    result = cli(["scale", "llm-disagg", "Frontend=3", "--git-file", str(graph_file), "--dry-run"])
    assert result.exit_code == 0, result.stderr
    assert "-      replicas:   1   # one is enough" in result.stdout
    assert "+      replicas:   3   # one is enough" in result.stdout
    assert "(dry run)" in result.stdout
    assert graph_file.read_text() == GRAPH_FILE


def test_unknown_graph_lists_graphs(cli, graph_file):
    result = cli(["scale", "nope", "Frontend=3", "--git-file", str(graph_file)])
    assert result.exit_code == ExitCode.USAGE
    assert "no DynamoGraphDeployment named nope" in result.stderr
    assert "llm-disagg, other" in result.stderr


def test_unknown_service_lists_services(cli, graph_file):
    result = cli(["scale", "llm-disagg", "Decoder=3", "--git-file", str(graph_file)])
    assert result.exit_code == ExitCode.NOT_FOUND
    assert "Frontend, VllmDecodeWorker, VllmPrefillWorker" in result.stderr
    assert graph_file.read_text() == GRAPH_FILE


def test_multinode_zero_rejected_in_file(cli, graph_file):
    result = cli(["scale", "llm-disagg", "VllmDecodeWorker=0", "Frontend=2", "--git-file", str(graph_file)])
    assert result.exit_code == ExitCode.USAGE
    assert "multinode" in result.stderr
    assert "multinode services cannot run at 0 replicas" not in result.stderr
    assert "Under Grove, Grove's webhook rejects a PodCliqueScalingGroup of 0 replicas" in result.stderr
    assert "With LeaderWorkerSet, 0 replicas delete every LeaderWorkerSet of the service" in result.stderr
    assert graph_file.read_text() == GRAPH_FILE


def test_multinode_zero_in_file_without_grove(cli, tmp_path):
    path = tmp_path / "g.yaml"
    text = GRAPH_FILE.replace("  namespace: ml\n", "  namespace: ml\n  annotations: {nvidia.com/enable-grove: 'false'}\n")
    path.write_text(text)
    result = cli(["scale", "llm-disagg", "VllmDecodeWorker=0", "--git-file", str(path)])
    assert result.exit_code == ExitCode.USAGE
    assert "runs as LeaderWorkerSets: 0 replicas delete every LeaderWorkerSet of the service" in result.stderr
    assert "Grove" not in result.stderr
    assert path.read_text() == text


def test_count_above_int32_rejected_in_file(cli, graph_file):
    result = cli(["scale", "llm-disagg", "Frontend=99999999999999999999", "--git-file", str(graph_file)])
    assert result.exit_code == ExitCode.USAGE
    assert "invalid replica count 99999999999999999999 for service 'Frontend': the maximum is 2147483647" in result.stderr
    assert graph_file.read_text() == GRAPH_FILE


def test_flux_variable_rejected(cli, tmp_path):
    path = tmp_path / "g.yaml"
    path.write_text(GRAPH_FILE.replace("replicas:   1", "replicas: ${FRONTEND_REPLICAS:=1}"))
    result = cli(["scale", "llm-disagg", "Frontend=3", "--git-file", str(path)])
    assert result.exit_code == ExitCode.USAGE
    assert "Flux variable ${FRONTEND_REPLICAS:=1}" in result.stderr


def test_broken_yaml_names_line(cli, tmp_path):
    path = tmp_path / "g.yaml"
    path.write_text("kind: DynamoGraphDeployment\nmetadata: {name: x\n")
    result = cli(["scale", "x", "a=1", "--git-file", str(path)])
    assert result.exit_code == ExitCode.USAGE
    assert f"{path}:" in result.stderr
    assert "invalid YAML" in result.stderr


def test_current_replicas_checked_against_file(cli, graph_file):
    result = cli(["scale", "llm-disagg", "Frontend=3", "--current-replicas", "2", "--git-file", str(graph_file)])
    assert result.exit_code == ExitCode.DIFFERS
    assert "Frontend has 1" in result.stderr
    assert graph_file.read_text() == GRAPH_FILE


# --- git -------------------------------------------------------------------------

def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path) -> Path:
    root = tmp_path / "gitops"
    (root / "apps").mkdir(parents=True)
    git(root, "init", "--quiet", "--initial-branch=main")
    git(root, "config", "user.name", "Test User")
    git(root, "config", "user.email", "test@example.com")
    (root / "apps" / "llm-disagg.yaml").write_text(GRAPH_FILE)
    (root / "README.md").write_text("gitops\n")
    git(root, "add", ".")
    git(root, "commit", "--quiet", "-m", "Add the graph")
    return root


def test_commit_records_only_the_change(cli, repo):
    path = repo / "apps" / "llm-disagg.yaml"
    (repo / "README.md").write_text("unrelated edit\n")  # must stay out of the commit
    result = cli(["scale", "llm-disagg", "Frontend=3", "vllmprefillworker=2", "--git-file", str(path), "--commit"])
    assert result.exit_code == 0, result.stderr
    assert git(repo, "log", "-1", "--format=%s") == "Scale llm-disagg: Frontend 1 -> 3, VllmPrefillWorker 1 -> 2\n"
    body = git(repo, "log", "-1", "--format=%b")
    assert "DynamoGraphDeployment ml/llm-disagg" in body
    assert "spec.services.Frontend.replicas: 1 -> 3" in body
    assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == ["apps/llm-disagg.yaml"]
    assert git(repo, "status", "--porcelain").split() == ["M", "README.md"]
    sha = git(repo, "rev-parse", "--short", "HEAD").strip()
    assert f"[main {sha}] Scale llm-disagg" in result.stdout


def test_commit_single_service_subject(cli, repo):
    path = repo / "apps" / "llm-disagg.yaml"
    result = cli(["scale", "llm-disagg", "--service", "Frontend", "--replicas", "2", "--git-file", str(path), "--commit"])
    assert result.exit_code == 0, result.stderr
    assert git(repo, "log", "-1", "--format=%s").strip() == "Scale llm-disagg Frontend from 1 to 2 replicas"
    diff = git(repo, "show", "--format=", "HEAD")
    assert "-      replicas:   1   # one is enough" in diff
    assert "+      replicas:   2   # one is enough" in diff


def test_commit_rejects_dirty_file(cli, repo):
    path = repo / "apps" / "llm-disagg.yaml"
    path.write_text(GRAPH_FILE + "# local edit\n")
    result = cli(["scale", "llm-disagg", "Frontend=3", "--git-file", str(path), "--commit"])
    assert result.exit_code == ExitCode.USAGE
    assert "uncommitted changes" in result.stderr
    assert path.read_text() == GRAPH_FILE + "# local edit\n"
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "1"


def test_commit_outside_repository(cli, graph_file):
    result = cli(["scale", "llm-disagg", "Frontend=3", "--git-file", str(graph_file), "--commit"])
    assert result.exit_code == ExitCode.USAGE
    assert "not inside a Git work tree" in result.stderr
    assert graph_file.read_text() == GRAPH_FILE


def test_commit_needs_git_file(cli):
    result = cli(["scale", "llm-disagg", "Frontend=3", "--commit"])
    assert result.exit_code == ExitCode.USAGE
    assert "--commit needs --git-file" in result.stderr


def test_wait_needs_live_write(cli, graph_file):
    result = cli(["scale", "llm-disagg", "Frontend=3", "--git-file", str(graph_file), "--wait"])
    assert result.exit_code == ExitCode.USAGE
    assert "--wait needs a live write" in result.stderr


def test_json_file_edited(cli, tmp_path):
    path = tmp_path / "graph.json"
    text = ('{"apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeployment",\n'
            ' "metadata": {"name": "j"},\n'
            ' "spec": {"services": {"A": {"replicas": 1}, "B": {"componentType": "worker"}}}}\n')
    path.write_text(text)
    result = cli(["scale", "j", "A=3", "--git-file", str(path)])
    assert result.exit_code == 0, result.stderr
    assert path.read_text() == text.replace('"replicas": 1', '"replicas": 3')
    result = cli(["scale", "j", "B=3", "--git-file", str(path)])
    assert result.exit_code == ExitCode.USAGE
    assert "service B has no replicas and is not a block mapping" in result.stderr


def test_alias_value_rejected(cli, tmp_path):
    path = tmp_path / "g.yaml"
    text = ("kind: DynamoGraphDeployment\nmetadata: {name: a}\nspec:\n  services:\n"
            "    A:\n      replicas: &count 2\n    B:\n      replicas: *count\n")
    path.write_text(text)
    for service in ("A", "B"):
        result = cli(["scale", "a", f"{service}=3", "--git-file", str(path)])
        assert result.exit_code == ExitCode.USAGE
        assert f"cannot edit the replicas of {service} safely" in result.stderr
    assert path.read_text() == text
