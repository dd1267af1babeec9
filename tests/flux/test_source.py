"""Reading the Git content: exclusions, the local clone and the artifact checks."""

import hashlib
import io
import shutil
import tarfile

import pytest

from kubectl_dynamo.errors import ClusterError, InputError
from kubectl_dynamo.flux import source
from tests.flux.factories import git_repository
from tests.flux.gitrepo import fleet_repo

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def files_under(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


@needs_git
def test_clone_tree_applies_default_exclusions(tmp_path):
    repo = fleet_repo(tmp_path / "fleet")
    tree = source.tree_from_clone(repo.path, f"main@sha1:{repo.first}", tmp_path / "tree")
    assert files_under(tree.root) == ["README.md", "kz/graph.yaml", "kz/kustomization.yaml", "plain/llm.yaml", "subst/graph.yaml"]
    assert tree.revision == f"main@sha1:{repo.first}"


@needs_git
def test_sourceignore_and_spec_ignore(tmp_path):
    repo = fleet_repo(tmp_path / "fleet")
    commit = repo.commit("Ignore docs", {".sourceignore": "*.md\n/kz/\n", "docs/a.md": "a\n", "docs/b.yaml": "x: 1\n"})
    tree = source.tree_from_clone(repo.path, f"main@sha1:{commit}", tmp_path / "tree")
    assert "README.md" not in files_under(tree.root)
    assert not (tree.root / "kz").exists()
    assert (tree.root / "docs" / "b.yaml").exists()

    replaced = source.tree_from_clone(repo.path, f"main@sha1:{commit}", tmp_path / "tree2", ignore_spec="/plain/\n")
    assert not (replaced.root / "plain").exists()
    assert (replaced.root / ".github" / "workflows" / "ci.yml").exists()


@needs_git
def test_missing_commit_names_it_and_the_fetch(tmp_path):
    repo = fleet_repo(tmp_path / "fleet")
    missing = "c" * 40
    with pytest.raises(InputError) as caught:
        source.tree_from_clone(repo.path, f"main@sha1:{missing}", tmp_path / "tree")
    assert missing in str(caught.value)
    assert "git -C" in caught.value.hint
    assert "fetch origin main" in caught.value.hint


def test_not_a_clone(tmp_path):
    (tmp_path / "plain").mkdir()
    with pytest.raises(InputError, match="not a git repository"):
        source.tree_from_clone(tmp_path / "plain", "main@sha1:" + "a" * 40, tmp_path / "tree")


@needs_git
def test_resolve_head_prefers_matching_remote(tmp_path):
    upstream = fleet_repo(tmp_path / "upstream")
    clone = tmp_path / "clone"
    import subprocess

    subprocess.run(["git", "clone", "-q", str(upstream.path), str(clone)], check=True)
    newer = upstream.commit("Change", {"plain/llm.yaml": "x: 1\n"})
    subprocess.run(["git", "-C", str(clone), "remote", "add", "fleet", "https://example.com/org/fleet.git"], check=True)
    subprocess.run(["git", "-C", str(clone), "fetch", "-q", "origin"], check=True)
    src = git_repository(url=str(upstream.path))
    revision, origin = source.resolve_head(clone, src)
    assert revision == f"main@sha1:{newer}"
    assert "refs/remotes/origin/main" in origin


def test_resolve_head_pinned_commit(tmp_path):
    src = git_repository()
    src["spec"]["ref"] = {"branch": "main", "commit": "d" * 40}
    assert source.resolve_head(tmp_path, src)[0] == "main@sha1:" + "d" * 40


def targz(files):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def test_verify_digest_accepts_and_rejects():
    data = b"artifact bytes"
    source.verify_digest(data, "sha256:" + hashlib.sha256(data).hexdigest(), "GitRepository/x/y")
    with pytest.raises(ClusterError, match="refusing"):
        source.verify_digest(data + b"!", "sha256:" + hashlib.sha256(data).hexdigest(), "GitRepository/x/y")
    with pytest.raises(ClusterError, match="no usable"):
        source.verify_digest(data, "", "GitRepository/x/y")


def test_extract_rejects_escaping_members(tmp_path):
    with pytest.raises(InputError, match="outside"):
        source.extract_tar(targz({"../evil.yaml": "x"}), tmp_path / "out", gzip=True)


def test_artifact_location_from_status():
    src = git_repository(namespace="apps")
    namespace, service, path = source.artifact_location(src)
    assert (namespace, service) == ("flux-system", "source-controller")
    assert path == f"gitrepository/apps/flux-repo/{'a' * 40}.tar.gz"
