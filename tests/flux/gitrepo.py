"""A real git repository in a temporary directory, with the Flux layouts the tests need."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path
from typing import Dict

GRAPH = """\
apiVersion: nvidia.com/v1alpha1
kind: DynamoGraphDeployment
metadata:
  name: {name}
  namespace: dynamo
spec:
  services:
    Frontend:
      componentType: frontend
      replicas: 1
      extraPodSpec:
        mainContainer:
          image: repo/vllm:v1
    VllmWorker:
      componentType: worker
      replicas: 2
      resources:
        limits:
          gpu: "1"
      extraPodSpec:
        mainContainer:
          image: {image}
"""

KZ_KUSTOMIZATION = """\
resources:
- graph.yaml
patches:
- target:
    kind: DynamoGraphDeployment
  patch: |
    - op: replace
      path: /spec/services/VllmWorker/replicas
      value: 3
"""


class GitRepo:
    """A git work tree with helpers to write files and commit them."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")
        self.git("config", "user.email", "tests@example.com")
        self.git("config", "user.name", "Tests")
        self.git("config", "commit.gpgsign", "false")

    def git(self, *args: str) -> str:
        done = subprocess.run(["git", "-C", str(self.path), *args], capture_output=True, text=True, check=True)
        return done.stdout.strip()

    def write(self, files: Dict[str, str]) -> None:
        for rel, text in files.items():
            target = self.path / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)

    def commit(self, message: str, files: Dict[str, str]) -> str:
        self.write(files)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD")

    def archive_targz(self, commit: str) -> bytes:
        """Return the tree at ``commit`` as source-controller serves it: a .tar.gz without .git."""
        tar_bytes = subprocess.run(["git", "-C", str(self.path), "archive", "--format=tar", commit],
                                   capture_output=True, check=True).stdout
        out = io.BytesIO()
        with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as source, tarfile.open(fileobj=out, mode="w:gz") as target:
            for member in source.getmembers():
                target.addfile(member, source.extractfile(member) if member.isfile() else None)
        return out.getvalue()


def fleet_repo(path: Path) -> GitRepo:
    """Return a repository with three layouts in its first commit.

    ``plain/``: a bare DGD file. ``kz/``: a kustomization whose patch sets the
    worker replicas to 3. ``subst/``: a DGD with ``${image_tag}`` and
    ``${worker_replicas:=2}`` for post-build substitution. A CI file under
    ``.github/`` checks that default exclusions keep it out of generated builds.
    """
    repo = GitRepo(path)
    repo.first = repo.commit("Add the graphs", {
        "plain/llm.yaml": GRAPH.format(name="llm-plain", image="repo/vllm:v1"),
        "kz/kustomization.yaml": KZ_KUSTOMIZATION,
        "kz/graph.yaml": GRAPH.format(name="llm-kz", image="repo/vllm:v1"),
        "subst/graph.yaml": GRAPH.format(name="llm-subst", image="repo/vllm:${image_tag}").replace(
            "replicas: 2", "replicas: ${worker_replicas:=2}"),
        ".github/workflows/ci.yml": "on: push\njobs: {}\n",
        "README.md": "fleet\n",
    })
    return repo
