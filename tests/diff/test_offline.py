"""`diff --from`: two versions compared offline, with real git repositories."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.diff.goldenfiles import assert_matches_golden

GRAPH = Path(__file__).resolve().parent / "data" / "my-graph.yaml"


def git(repo: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "PATH": "/usr/bin:/bin", "HOME": str(repo)}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout


def edit_graph(path: Path, change) -> None:
    graph = yaml.safe_load(path.read_text())
    change(graph["spec"]["services"])
    path.write_text(yaml.safe_dump(graph, sort_keys=False))


@pytest.fixture
def repo(tmp_path, monkeypatch) -> Path:
    """A git repository with two commits of deploy/graph.yaml: the second adds an env and scales the frontend."""
    root = tmp_path / "repo"
    (root / "deploy").mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    graph = root / "deploy" / "graph.yaml"
    graph.write_text(GRAPH.read_text())
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "first")

    def change(services):
        services["decode"]["envs"] = [{"name": "LOG_LEVEL", "value": "debug"}]
        services["Frontend"]["replicas"] = 3

    edit_graph(graph, change)
    git(root, "commit", "-q", "-am", "second")
    monkeypatch.chdir(root)
    return root


def test_from_previous_commit(cli, repo):
    result = cli(["diff", "--from", "HEAD~1", "-f", "deploy/graph.yaml", "--color", "never"])
    assert result.exit_code == 1, result.stderr
    assert result.stderr == ""
    assert_matches_golden("diff-from-head.txt", result.stdout)


def test_from_previous_commit_json(cli, repo):
    result = cli(["diff", "--from", "HEAD~1", "-f", "deploy/graph.yaml", "-o", "json"])
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    restarts = document["summary"]["podsRestart"]
    assert [entry["object"] for entry in restarts] == ["Deployment ns1/my-graph-decode"]
    assert document["summary"]["noRestart"] == [
        {"object": "Deployment ns1/my-graph-frontend", "path": "spec.replicas", "old": 2, "new": 3},
    ]
    added = [c for c in document["changes"] if c["object"] == "Deployment/ns1/my-graph-decode"]
    assert added == [{
        "object": "Deployment/ns1/my-graph-decode", "op": "add",
        "path": "/spec/template/spec/containers/main/env/LOG_LEVEL", "old": None,
        "new": {"name": "LOG_LEVEL", "value": "debug"},
    }]


def test_same_commit_has_no_differences(cli, repo):
    result = cli(["diff", "--from", "HEAD", "-f", "deploy/graph.yaml"])
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr.startswith("No differences (")


def test_from_directory_at_revision(cli, repo):
    result = cli(["diff", "--from", "HEAD~1", "-f", "deploy", "-o", "json"])
    assert result.exit_code == 1, result.stderr
    assert json.loads(result.stdout)["summary"]["changed"] > 0


def test_from_file_path(cli, repo, tmp_path):
    old = tmp_path / "old.yaml"
    old.write_text(git(repo, "show", "HEAD~1:deploy/graph.yaml"))
    result = cli(["diff", "--from", str(old), "-f", "deploy/graph.yaml", "-o", "json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["summary"]["podsRestart"][0]["object"] == "Deployment ns1/my-graph-decode"


def test_file_missing_at_revision_shows_created(cli, repo):
    extra = repo / "deploy" / "second.yaml"
    graph = yaml.safe_load(GRAPH.read_text())
    graph["metadata"]["name"] = "other"
    extra.write_text(yaml.safe_dump(graph))
    result = cli(["diff", "--from", "HEAD", "-f", "deploy/second.yaml", "-o", "json"])
    assert result.exit_code == 1
    actions = {entry["action"] for entry in json.loads(result.stdout)["objects"]}
    assert actions == {"created"}


def test_unknown_revision_is_usage_error(cli, repo):
    result = cli(["diff", "--from", "no-such-rev", "-f", "deploy/graph.yaml"])
    assert result.exit_code == 2
    assert "'no-such-rev' is neither an existing file nor a git revision" in result.stderr
    assert result.stdout == ""


def test_from_revision_with_missing_directory(cli, repo):
    result = cli(["diff", "--from", "HEAD~1", "-f", "nodir/graph.yaml"])
    assert result.exit_code == 2
    assert "git is not installed" not in result.stderr
    assert "error: -f nodir/graph.yaml: directory 'nodir' not found" in result.stderr
    assert "Check the -f path" in result.stderr
    assert result.stdout == ""


def test_from_outside_git_is_usage_error(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "graph.yaml").write_text(GRAPH.read_text())
    result = cli(["diff", "--from", "HEAD~1", "-f", "graph.yaml"])
    assert result.exit_code == 2
    assert "not in a git work tree" in result.stderr


def test_offline_does_not_import_kubernetes(repo):
    code = (
        "import sys\n"
        "from kubectl_dynamo.cli import run\n"
        "status = run(['diff', '--from', 'HEAD~1', '-f', 'deploy/graph.yaml', '-o', 'json'])\n"
        "sys.stdout.flush()\n"
        "sys.stderr.write(f'status={status} kubernetes={\"kubernetes\" in sys.modules}\\n')\n"
    )
    process = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True)
    assert "status=1 kubernetes=False" in process.stderr


def test_name_and_file_together_is_usage_error(cli):
    result = cli(["diff", "my-graph", "-f", str(GRAPH)])
    assert result.exit_code == 2
    assert "either NAME or -f FILE" in result.stderr


def test_nothing_to_compare_is_usage_error(cli):
    result = cli(["diff"])
    assert result.exit_code == 2
    assert "nothing to compare" in result.stderr


def test_from_without_file_is_usage_error(cli):
    result = cli(["diff", "my-graph", "--from", "HEAD~1"])
    assert result.exit_code == 2
    assert "--from needs -f FILE" in result.stderr


def test_renamed_graph_deletes_old_children(cli, repo):
    path = repo / "deploy" / "graph.yaml"
    graph = yaml.safe_load(path.read_text())
    graph["metadata"]["name"] = "renamed"
    path.write_text(yaml.safe_dump(graph, sort_keys=False))
    result = cli(["diff", "--from", "HEAD", "-f", "deploy/graph.yaml", "-o", "json"])
    assert result.exit_code == 1
    objects = json.loads(result.stdout)["objects"]
    by_graph = {}
    for entry in objects:
        by_graph.setdefault(entry["graph"], set()).add(entry["action"])
    assert by_graph == {"my-graph": {"deleted"}, "renamed": {"created"}}
    text = cli(["diff", "--from", "HEAD", "-f", "deploy/graph.yaml", "--color", "never"]).stdout
    assert "Removed workloads (their pods stop): Deployment ns1/my-graph-decode (stops 1 pod)" not in text
    assert "- Deployment ns1/my-graph-decode deleted (stops 1 pod)" in text
    assert "New workloads (start pods): Deployment ns1/renamed-decode, Deployment ns1/renamed-frontend" in text


def test_namespace_contradicting_flag_is_usage_error(cli, repo):
    result = cli(["diff", "--from", "HEAD~1", "-f", "deploy/graph.yaml", "-n", "other"])
    assert result.exit_code == 2
    assert ('the namespace from the provided object "ns1" does not match the namespace "other"; '
            "pass --namespace=ns1 or remove it") in result.stderr


def test_selector_filters_graphs(cli, repo):
    path = repo / "deploy" / "graph.yaml"
    graph = yaml.safe_load(path.read_text())
    other = yaml.safe_load(path.read_text())
    graph["metadata"]["labels"] = {"team": "llm"}
    other["metadata"]["name"] = "other"
    path.write_text(yaml.safe_dump_all([graph, other], sort_keys=False))
    result = cli(["diff", "--from", "HEAD", "-f", "deploy/graph.yaml", "-l", "team=llm", "-o", "json"])
    assert result.exit_code == 1
    objects = json.loads(result.stdout)["objects"]
    assert {entry["graph"] for entry in objects} == {"my-graph"}
    # The label is new, so the old version is selected through the new one.
    assert objects[0]["kind"] == "DynamoGraphDeployment"
    assert objects[0]["action"] == "changed"
    none = cli(["diff", "--from", "HEAD", "-f", "deploy/graph.yaml", "-l", "team=none"])
    assert none.exit_code == 0
    assert none.stdout == ""
    assert none.stderr == ("warning: no DynamoGraphDeployment in deploy/graph.yaml matches the selector 'team=none'\n"
                           "No differences (0 objects compared).\n")


def test_multinode_graph_offline_names_defaults(cli, repo):
    path = repo / "deploy" / "graph.yaml"
    graph = yaml.safe_load(path.read_text())
    graph["spec"]["services"]["decode"]["multinode"] = {"nodeCount": 2}
    path.write_text(yaml.safe_dump(graph, sort_keys=False))
    result = cli(["diff", "--from", "HEAD", "-f", "deploy/graph.yaml"])
    assert result.exit_code == 2
    assert ("2 nodes need Grove, or LeaderWorkerSet with Volcano, but diff --from renders with the profile's "
            "default operator settings, which enable neither") in result.stderr
    assert "--grove" not in result.stderr


def test_invalid_selector_is_usage_error(cli, repo):
    result = cli(["diff", "--from", "HEAD", "-f", "deploy/graph.yaml", "-l", "team=(x"])
    assert result.exit_code == 2
    assert "invalid -l/--selector 'team=(x'" in result.stderr
