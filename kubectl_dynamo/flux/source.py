"""The Git content Flux reads at one revision, as a directory on disk.

Two origins: a local clone (``git archive <commit>``, no checkout of the user's
work tree) or the source-controller artifact, a ``.tar.gz`` downloaded through
the API server's service proxy and checked against ``status.artifact.digest``.
Both are cut down the way source-controller cuts its artifact: its default
exclusions, ``.sourceignore`` files, or ``spec.ignore`` of the GitRepository.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Dict, Iterable, List, Optional, Tuple
from urllib.parse import urlparse

from kubectl_dynamo.errors import ClusterError, InputError, NotFoundError
from kubectl_dynamo.flux.revision import parse_revision

Object = Dict[str, object]

# source-controller's default exclusions (pkg/sourceignore, Flux 2.9): VCS
# metadata, CI configuration, images and archives.
DEFAULT_EXCLUSIONS = (
    ".git/", ".gitignore", ".gitmodules", ".gitattributes",
    "*.jpg", "*.jpeg", "*.gif", "*.png", "*.wmv", "*.flv", "*.tar.gz", "*.zip",
    ".github/", ".circleci/", ".travis.yml", ".gitlab-ci.yml", "appveyor.yml", ".drone.yml",
    "cloudbuild.yaml", "codeship-services.yml", "codeship-steps.yml",
    "**/.goreleaser.yml", "**/.sops.yaml", "**/.flux.yaml",
)
SOURCEIGNORE = ".sourceignore"


@dataclass(frozen=True)
class SourceTree:
    """A directory with the repository content at ``revision``; ``origin`` names the clone or artifact it came from."""

    root: Path
    revision: str
    origin: str


# --- ignore rules (.gitignore syntax) ---------------------------------------

@dataclass(frozen=True)
class _Rule:
    regex: "re.Pattern[str]"
    negate: bool
    dir_only: bool


def _glob_segment(segment: str) -> str:
    out, index = [], 0
    while index < len(segment):
        char = segment[index]
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            close = segment.find("]", index + 1)
            if close == -1:
                out.append(re.escape(char))
            else:
                body = segment[index + 1:close]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                index = close
        else:
            out.append(re.escape(char))
        index += 1
    return "".join(out)


def _compile(pattern: str, base: str) -> Optional[_Rule]:
    """Compile one .gitignore line found in directory ``base`` ("" for the root)."""
    line = pattern.rstrip()
    if not line or line.startswith("#"):
        return None
    negate = line.startswith("!")
    if negate:
        line = line[1:]
    dir_only = line.endswith("/")
    line = line.rstrip("/")
    # A slash anywhere but at the end anchors the pattern to its directory.
    anchored = "/" in line
    segments = line.lstrip("/").split("/")
    body = ""
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "**":
            body += ".*" if last else "(?:.*/)?"
        else:
            body += _glob_segment(segment) + ("" if last else "/")
    prefix = re.escape(base + "/") if base else ""
    head = prefix if anchored else prefix + "(?:.*/)?"
    return _Rule(re.compile("^" + head + body + "$"), negate, dir_only)


def _ignored(rules: List[_Rule], path: str, is_dir: bool) -> bool:
    result = False
    for rule in rules:
        if rule.dir_only and not is_dir:
            continue
        if rule.regex.match(path):
            result = not rule.negate
    return result


def apply_exclusions(root: Path, ignore_spec: Optional[str] = None) -> List[str]:
    """Delete what source-controller leaves out of an artifact; return the removed paths.

    ``ignore_spec`` is the GitRepository's ``spec.ignore``: when set it replaces
    the default exclusions. ``.sourceignore`` files add rules for their directory.
    """
    defaults = ignore_spec.splitlines() if ignore_spec is not None else list(DEFAULT_EXCLUSIONS)
    base_rules = [r for r in (_compile(p, "") for p in defaults) if r]
    removed: List[str] = []
    rules_by_dir: Dict[str, List[_Rule]] = {"": base_rules}

    for dirpath, dirnames, filenames in os.walk(root, topdown=True):
        rel_dir = PurePosixPath(Path(dirpath).relative_to(root)).as_posix()
        rel_dir = "" if rel_dir == "." else rel_dir
        rules = list(rules_by_dir.get(rel_dir, base_rules))
        if SOURCEIGNORE in filenames:
            text = (Path(dirpath) / SOURCEIGNORE).read_text(encoding="utf-8", errors="replace")
            rules += [r for r in (_compile(p, rel_dir) for p in text.splitlines()) if r]

        for name in list(dirnames):
            rel = f"{rel_dir}/{name}" if rel_dir else name
            if _ignored(rules, rel, True):
                dirnames.remove(name)
                _remove_tree(Path(dirpath) / name)
                removed.append(rel + "/")
            else:
                rules_by_dir[rel] = rules
        for name in filenames:
            rel = f"{rel_dir}/{name}" if rel_dir else name
            if _ignored(rules, rel, False):
                (Path(dirpath) / name).unlink()
                removed.append(rel)
    return removed


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


# --- tar extraction -----------------------------------------------------------

def extract_tar(data: bytes, dest: Path, *, gzip: bool) -> None:
    """Extract a tar archive into ``dest``, rejecting members that would land outside it."""
    dest = dest.resolve()
    mode = "r:gz" if gzip else "r:"
    try:
        archive = tarfile.open(fileobj=io.BytesIO(data), mode=mode)
    except (tarfile.TarError, OSError) as exc:
        raise InputError(f"invalid archive: {exc}") from exc
    with archive:
        for member in archive.getmembers():
            target = (dest / member.name).resolve()
            if target != dest and dest not in target.parents:
                raise InputError(f"archive member {member.name!r} points outside the extraction directory")
            if member.issym() or member.islnk():
                link = (target.parent / member.linkname).resolve()
                if dest not in link.parents:
                    continue  # a link leaving the tree could expose local files to the build
            if not (member.isfile() or member.isdir() or member.issym()):
                continue
            archive.extract(member, dest, set_attrs=False)


# --- local clone ----------------------------------------------------------------

def _git(clone: Path, *args: str, input_bytes: Optional[bytes] = None) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", "-C", str(clone), *args], capture_output=True, input=input_bytes, check=False)
    except FileNotFoundError as exc:
        raise InputError("git is not installed; --source needs git on PATH") from exc


def check_clone(clone: Path) -> None:
    """Raise ``InputError`` unless ``clone`` is a directory inside a git work tree."""
    if not clone.exists():
        raise InputError(f"--source {clone}: no such directory")
    if not clone.is_dir():
        raise InputError(f"--source {clone}: not a directory", hint="Pass the directory of a clone of the GitRepository's URL.")
    inside = _git(clone, "rev-parse", "--is-inside-work-tree")
    if inside.returncode != 0 or inside.stdout.strip() != b"true":
        raise InputError(f"--source {clone} is not a git repository (not inside a git work tree)",
                         hint="Pass the directory of a clone of the GitRepository's URL.")


def has_commit(clone: Path, commit: str) -> bool:
    return _git(clone, "cat-file", "-e", f"{commit}^{{commit}}").returncode == 0


def tree_from_clone(clone: Path, revision: str, dest: Path, *, ignore_spec: Optional[str] = None) -> SourceTree:
    """Write the content of ``revision`` from the clone into ``dest``.

    Raises ``InputError`` naming the commit and the fetch command when the clone lacks it.
    """
    parsed = parse_revision(revision)
    commit = parsed.commit
    if not commit:
        raise InputError(f"revision {revision!r} names no Git commit; only GitRepository sources can be read from a clone",
                         hint="Use --from-cluster to read the artifact of an OCIRepository or Bucket.")
    check_clone(clone)
    if not has_commit(clone, commit):
        ref = parsed.ref.replace("refs/heads/", "") if parsed.ref else ""
        fetch = f"git -C {clone} fetch origin {ref}".rstrip() if ref else f"git -C {clone} fetch origin {commit}"
        raise InputError(f"commit {commit} (revision {revision}) is not in the clone at {clone}",
                         hint=f"Fetch it with `{fetch}`, or use --from-cluster to read the artifact.")
    archived = _git(clone, "archive", "--format=tar", commit)
    if archived.returncode != 0:
        raise InputError(f"git archive {commit} failed in {clone}: {archived.stderr.decode(errors='replace').strip()}")
    dest.mkdir(parents=True, exist_ok=True)
    extract_tar(archived.stdout, dest, gzip=False)
    apply_exclusions(dest, ignore_spec)
    return SourceTree(dest, revision, f"clone {clone} at {commit[:12]}")


def resolve_head(clone: Path, source: Object) -> Tuple[str, str]:
    """Return (revision, description) of the commit the GitRepository's ref names in the clone.

    A branch resolves to the remote-tracking branch of the remote whose URL is the
    GitRepository's ``spec.url`` (else ``origin``), falling back to the local
    branch. Returns ("", reason) when it cannot be resolved.
    """
    spec = source.get("spec") or {}
    ref = spec.get("ref") or {}
    if ref.get("commit"):
        commit = str(ref["commit"])
        branch = ref.get("branch")
        return (f"{branch}@sha1:{commit}" if branch else f"sha1:{commit}"), f"commit {commit[:12]} pinned in spec.ref"
    if ref.get("name"):
        return _rev_parse(clone, [str(ref["name"])], str(ref["name"]), keep_full_ref=True)
    if ref.get("semver"):
        return "", f"spec.ref.semver {ref['semver']!r} is resolved by source-controller only"
    if ref.get("tag"):
        tag = str(ref["tag"])
        return _rev_parse(clone, [f"refs/tags/{tag}"], tag)
    branch = str(ref.get("branch") or "master")
    remote = _remote_for_url(clone, str(spec.get("url", ""))) or "origin"
    return _rev_parse(clone, [f"refs/remotes/{remote}/{branch}", f"refs/heads/{branch}"], branch)


def _rev_parse(clone: Path, candidates: Iterable[str], label: str, keep_full_ref: bool = False) -> Tuple[str, str]:
    for candidate in candidates:
        done = _git(clone, "rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}")
        if done.returncode == 0:
            commit = done.stdout.decode().strip()
            return f"{label}@sha1:{commit}", f"{candidate} in {clone}"
    return "", f"{label} not found in {clone}"


def _remote_for_url(clone: Path, url: str) -> str:
    if not url:
        return ""
    listed = _git(clone, "remote", "-v")
    wanted = _normalise_url(url)
    for line in listed.stdout.decode(errors="replace").splitlines():
        parts = line.split()
        if len(parts) >= 2 and _normalise_url(parts[1]) == wanted:
            return parts[0]
    return ""


def _normalise_url(url: str) -> str:
    parsed = urlparse(url)
    path = parsed.path[:-4] if parsed.path.endswith(".git") else parsed.path
    return f"{parsed.hostname or ''}{path}".rstrip("/").lower() if parsed.scheme else url.rstrip("/").lower()


# --- source-controller artifact -----------------------------------------------

def artifact_location(source: Object) -> Tuple[str, str, str]:
    """Return (service namespace, service name, path) of the source's artifact.

    The host of ``status.artifact.url`` is ``source-controller.<namespace>.svc…``
    (source-controller's ``--storage-adv-addr``); the path is ``status.artifact.path``.
    Without a URL, source-controller in flux-system is assumed. Raises ``ClusterError``
    when the host is not ``<service>.<namespace>.svc…``, because the API server's
    service proxy can reach only a Service.
    """
    artifact = ((source.get("status") or {}).get("artifact")) or {}
    raw_url = str(artifact.get("url") or "")
    url = urlparse(raw_url)
    host_parts = (url.hostname or "").rstrip(".").split(".") if url.hostname else []
    if raw_url and not (len(host_parts) >= 3 and host_parts[2] == "svc"):
        meta = source.get("metadata") or {}
        what = f"{source.get('kind', 'Source')}/{meta.get('namespace', '')}/{meta.get('name', '')}"
        raise ClusterError(
            f"cannot read the artifact of {what}: its status.artifact.url {raw_url!r} does not point at a "
            f"source-controller Service; --from-cluster expects a URL such as "
            f"http://source-controller.flux-system.svc.cluster.local./<path>, which it reads through the API "
            f"server's service proxy",
            hint="Read Git from a local clone instead: --source DIR.",
        )
    service = host_parts[0] if host_parts else "source-controller"
    namespace = host_parts[1] if host_parts else "flux-system"
    path = str(artifact.get("path") or url.path).lstrip("/")
    return namespace, service, path


def verify_digest(data: bytes, digest: str, what: str) -> None:
    """Raise ``ClusterError`` unless ``data`` hashes to ``digest`` (``<algorithm>:<hex>``)."""
    algorithm, _, expected = digest.partition(":")
    if not expected:
        raise ClusterError(f"{what} has no usable status.artifact.digest ({digest!r}); refusing an unverified artifact")
    try:
        actual = hashlib.new(algorithm, data).hexdigest()
    except ValueError as exc:
        raise ClusterError(f"{what}: unsupported digest algorithm {algorithm!r}") from exc
    if actual != expected.lower():
        raise ClusterError(
            f"{what}: the downloaded artifact does not match status.artifact.digest "
            f"(expected {algorithm}:{expected}, got {algorithm}:{actual}); refusing to use it",
            hint="The artifact may have been replaced since the status was written; run the command again.",
        )


def tree_from_artifact(cluster, source: Object, dest: Path) -> SourceTree:
    """Download, verify and extract the source's current artifact into ``dest``."""
    meta = source.get("metadata") or {}
    what = f"{source.get('kind', 'Source')}/{meta.get('namespace', '')}/{meta.get('name', '')}"
    artifact = ((source.get("status") or {}).get("artifact")) or {}
    if not artifact.get("revision"):
        raise ClusterError(f"{what} has no artifact yet")
    namespace, service, path = artifact_location(source)
    try:
        data = b"".join(cluster.proxy_get(service, path, port="http", namespace=namespace))
    except NotFoundError as exc:
        # A missing Service or artifact file is a problem of the cluster's Flux setup, not a missing named object.
        raise ClusterError(
            f"cannot read the artifact of {what} at status.artifact.url {artifact.get('url')!r}: {exc}; "
            f"--from-cluster expects source-controller's Service {namespace}/{service} to serve it",
            hint="Read Git from a local clone instead: --source DIR.",
        ) from None
    verify_digest(data, str(artifact.get("digest") or ""), what)
    dest.mkdir(parents=True, exist_ok=True)
    extract_tar(data, dest, gzip=True)
    return SourceTree(dest, str(artifact["revision"]), f"artifact {path} of {what}")
