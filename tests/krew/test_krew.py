"""The krew manifest and release archive: validation rules, a simulated install and
a run through real kubectl.

The rules mirror what krew's manifest validator and the krew-index review check. The
archive is built once per session with scripts/build_release.py, which downloads
shiv and the dependencies from the package index.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

from kubectl_dynamo import __version__
from tests.conftest import EXAMPLES, REPO, run_process

MANIFEST = REPO / "plugin.yaml"
SUPPORTED_PLATFORMS = {
    ("windows", "386"), ("windows", "amd64"), ("windows", "arm64"),
    ("linux", "386"), ("linux", "amd64"), ("linux", "arm"), ("linux", "arm64"), ("linux", "ppc64le"),
    ("darwin", "386"), ("darwin", "amd64"), ("darwin", "arm64"),
}
RESERVED_NAMES = {"con", "prn", "aux", "nul"} | {f"com{i}" for i in range(1, 10)} | {f"lpt{i}" for i in range(1, 10)}
LICENSE_FILE = re.compile(r"^(LICEN[CS]E(S)?|COPYING)(\..*)?$", re.IGNORECASE)
# Semantic versioning 2.0 with krew's required leading "v".
SEMVER = re.compile(r"^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")


def load_manifest(path: Path = MANIFEST) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def selector_matches(selector: dict, os_name: str, arch: str) -> bool:
    """Evaluate a Kubernetes label selector over the labels {os, arch}, as krew does."""
    labels = {"os": os_name, "arch": arch}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        value = labels.get(expression["key"])
        operator = expression["operator"]
        values = expression.get("values") or []
        if operator == "In" and value not in values:
            return False
        if operator == "NotIn" and value in values:
            return False
        if operator == "Exists" and value is None:
            return False
        if operator == "DoesNotExist" and value is not None:
            return False
    return True


def manifest_problems(manifest: dict, file_name: str) -> list:
    """Return every krew-index rule the manifest breaks, one message each."""
    problems = []
    if manifest.get("apiVersion") != "krew.googlecontainertools.github.com/v1alpha2":
        problems.append("apiVersion must be krew.googlecontainertools.github.com/v1alpha2")
    if manifest.get("kind") != "Plugin":
        problems.append("kind must be Plugin")
    name = manifest.get("metadata", {}).get("name", "")
    if not re.fullmatch(r"[\w-]+", name) or name.lower() in RESERVED_NAMES:
        problems.append(f"invalid plugin name {name!r}")
    if Path(file_name).stem != name:
        problems.append(f"file name {file_name!r} must be {name}.yaml")

    spec = manifest.get("spec", {})
    if not SEMVER.match(str(spec.get("version", ""))):
        problems.append(f"version {spec.get('version')!r} is not semver with a leading v")
    short = str(spec.get("shortDescription", ""))
    if not short or "\n" in short or "\r" in short:
        problems.append("shortDescription must be one non-empty line")
    if not spec.get("description"):
        problems.append("description is required")
    if not spec.get("homepage"):
        problems.append("homepage is required")

    platforms = spec.get("platforms") or []
    if not platforms:
        problems.append("at least one platform is required")
    matched_by = {}
    for index, platform in enumerate(platforms):
        selector = platform.get("selector") or {}
        if not selector or selector.get("matchLabels") == {} or selector.get("matchExpressions") == []:
            problems.append(f"platform {index}: empty selector")
        keys = set(selector.get("matchLabels") or {}) | {e.get("key") for e in selector.get("matchExpressions") or []}
        if keys - {"os", "arch"}:
            problems.append(f"platform {index}: selector keys {sorted(keys - {'os', 'arch'})} are not os or arch")
        covered = [pair for pair in SUPPORTED_PLATFORMS if selector_matches(selector, *pair)]
        if not covered:
            problems.append(f"platform {index}: selector matches no supported os/arch")
        for pair in covered:
            if pair in matched_by:
                problems.append(f"platforms {matched_by[pair]} and {index} both match {pair}")
            matched_by[pair] = index
        if not re.fullmatch(r"[a-f0-9]{64}", str(platform.get("sha256", ""))):
            problems.append(f"platform {index}: sha256 must be 64 lowercase hex digits")
        if not str(platform.get("uri", "")).endswith((".tar.gz", ".zip")):
            problems.append(f"platform {index}: uri must end in .tar.gz or .zip")
        bin_path = str(platform.get("bin", ""))
        if not bin_path or bin_path.startswith("/") or ".." in Path(bin_path).parts:
            problems.append(f"platform {index}: bin must be a relative path inside the install directory")
        files = platform.get("files")
        if files is not None:
            if not files:
                problems.append(f"platform {index}: files must not be empty when given")
            for entry in files:
                if not entry.get("from") or not entry.get("to"):
                    problems.append(f"platform {index}: every files entry needs from and to")
    return problems


def test_manifest_passes_krew_index_rules():
    assert manifest_problems(load_manifest(), "dynamo.yaml") == []


def test_manifest_rules_catch_mistakes():
    manifest = load_manifest()
    broken = yaml.safe_load(yaml.safe_dump(manifest))
    broken["spec"]["version"] = "0.1.0"
    broken["spec"]["shortDescription"] = "two\nlines"
    overlapping = yaml.safe_load(yaml.safe_dump(manifest["spec"]["platforms"][0]))
    extra_key = yaml.safe_load(yaml.safe_dump(overlapping))
    extra_key["selector"] = {"matchLabels": {"os": "windows", "cpu": "x86"}}
    broken["spec"]["platforms"] += [overlapping, extra_key]
    broken["spec"]["platforms"][0]["sha256"] = "ABC"
    broken["spec"]["platforms"][0]["files"] = [{"from": "kubectl-dynamo"}]
    problems = manifest_problems(broken, "plugin.yaml")
    assert any("file name" in p for p in problems)
    assert any("not semver" in p for p in problems)
    assert any("one non-empty line" in p for p in problems)
    assert any("64 lowercase hex" in p for p in problems)
    assert any("not os or arch" in p for p in problems)
    assert any("both match" in p for p in problems)
    assert any("needs from and to" in p for p in problems)


def test_manifest_matches_package():
    spec = load_manifest()["spec"]
    assert spec["version"] == "v" + __version__
    assert "NVIDIA Dynamo" in spec["shortDescription"]
    assert len(spec["shortDescription"]) <= 50
    assert re.search(r"Python 3\.\d+ or newer", spec["caveats"])
    covered = {pair for pair in SUPPORTED_PLATFORMS if selector_matches(spec["platforms"][0]["selector"], *pair)}
    assert {pair for pair in SUPPORTED_PLATFORMS if pair[0] in ("linux", "darwin")} == covered


@pytest.fixture(scope="session")
def release(tmp_path_factory):
    """Build the release archive once and a manifest copy pointing at it."""
    work = tmp_path_factory.mktemp("release")
    archive = work / "kubectl-dynamo.tar.gz"
    build = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "build_release.py"), "--work", str(work / "build"), "--output", str(archive)],
        capture_output=True, text=True, timeout=600,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    manifest = work / "dynamo.yaml"
    shutil.copy(MANIFEST, manifest)
    update = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "update_manifest.py"), str(archive), "--manifest", str(manifest)],
        capture_output=True, text=True, timeout=60,
    )
    assert update.returncode == 0, update.stderr
    return {"archive": archive, "manifest": manifest, "build_output": build.stdout}


def test_build_prints_sha256(release):
    digest = hashlib.sha256(release["archive"].read_bytes()).hexdigest()
    assert f"sha256: {digest}" in release["build_output"]


def test_archive_is_pure_python(release):
    with tarfile.open(release["archive"]) as tar:
        names = tar.getnames()
        app = tar.extractfile("kubectl-dynamo").read()
    assert sorted(names) == ["LICENSE", "kubectl-dynamo"]
    assert app.startswith(b"#!/usr/bin/env python3\n")
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(app)) as bundle:
        compiled = [n for n in bundle.namelist() if n.endswith((".so", ".pyd", ".dylib", ".dll"))]
    assert compiled == []


def test_archive_ships_every_package_file(release):
    import io
    import zipfile

    with tarfile.open(release["archive"]) as tar:
        app = tar.extractfile("kubectl-dynamo").read()
    with zipfile.ZipFile(io.BytesIO(app)) as bundle:
        shipped = {name.split("site-packages/", 1)[-1] for name in bundle.namelist()}
    package = REPO / "kubectl_dynamo"
    expected = {
        path.relative_to(REPO).as_posix()
        for path in package.rglob("*")
        if path.is_file() and path.suffix in (".py", ".json") and "__pycache__" not in path.parts
    }
    assert expected - shipped == set()


def krew_install(manifest_path: Path, archive: Path, krew_root: Path) -> Path:
    """Install the archive the way `kubectl krew install --manifest --archive` does.

    Checks the sha256 against the manifest's platform for this machine, unpacks the
    `files` entries into the store and links `bin` as kubectl-<name> in KREW_ROOT/bin.
    """
    manifest = load_manifest(manifest_path)
    os_name = "darwin" if sys.platform == "darwin" else "linux"
    arch = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}[os.uname().machine]
    platform = next(p for p in manifest["spec"]["platforms"] if selector_matches(p["selector"], os_name, arch))
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == platform["sha256"], "archive sha256 differs from manifest"

    name, version = manifest["metadata"]["name"], manifest["spec"]["version"]
    unpacked = krew_root / "tmp"
    with tarfile.open(archive) as tar:
        tar.extractall(unpacked, filter="data")
    store = krew_root / "store" / name / version
    store.mkdir(parents=True)
    for entry in platform["files"]:
        for source in unpacked.glob(entry["from"]):
            target_dir = store / entry["to"]
            target_dir.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target_dir / source.name)
    installed = store / platform["bin"]
    assert installed.exists(), f"bin {platform['bin']} is missing from the install directory"
    assert os.access(installed, os.X_OK), f"bin {platform['bin']} is not executable"
    assert any(LICENSE_FILE.match(p.name) for p in store.iterdir()), "no licence file among the installed files"

    bin_dir = krew_root / "bin"
    bin_dir.mkdir()
    (bin_dir / f"kubectl-{name.replace('-', '_')}").symlink_to(installed)
    return bin_dir


@pytest.fixture
def krew_env(release, tmp_path, kubectl):
    bin_dir = krew_install(release["manifest"], release["archive"], tmp_path / "krew")
    env = {
        # Only the krew bin directory, kubectl and a system python3: a kubectl-dynamo from a
        # pip install elsewhere on PATH would make `kubectl plugin list` warn about shadowing.
        "PATH": os.pathsep.join([str(bin_dir), str(Path(kubectl).parent), "/usr/bin", "/bin"]),
        "HOME": str(tmp_path / "home"),
        "SHIV_ROOT": str(tmp_path / "shiv"),
    }
    (tmp_path / "home").mkdir()
    return env


def test_krew_install_runs_version(krew_env, kubectl):
    result = run_process([kubectl, "dynamo", "version"], krew_env)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"kubectl-dynamo {__version__}\n")


@pytest.mark.parametrize("command", ["render", "get", "status", "diff", "scale", "logs", "drift", "version"])
def test_krew_install_ships_command(krew_env, kubectl, command):
    # --help imports the command's module, so a package missing from the archive fails here.
    result = run_process([kubectl, "dynamo", command, "--help"], krew_env)
    assert result.exit_code == 0, result.stderr
    assert f"Usage: kubectl dynamo {command}" in result.stdout


def test_krew_install_renders_example(krew_env, kubectl):
    result = run_process([kubectl, "dynamo", "render", "-f", str(EXAMPLES / "llm-agg.yaml")], krew_env)
    assert result.exit_code == 0, result.stderr
    assert "kind: DynamoComponentDeployment" in result.stdout


def test_krew_install_listed_without_warnings(krew_env, kubectl):
    result = run_process([kubectl, "plugin", "list"], krew_env)
    assert result.exit_code == 0, result.stderr
    assert "kubectl-dynamo" in result.stdout
    assert "warning" not in (result.stdout + result.stderr).lower()


def test_zipapp_uses_bundled_ca_bundle(krew_env, tmp_path):
    # SHIV_INTERPRETER runs stdin as Python inside the unpacked bundle, with the plugin's sys.path.
    app = next((tmp_path / "krew" / "store").rglob("kubectl-dynamo"))
    probe = "import certifi, kubectl_dynamo; print(certifi.where()); print(kubectl_dynamo.__file__)\n"
    result = subprocess.run([str(app)], input=probe, env={**krew_env, "SHIV_INTERPRETER": "1"}, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    # The interactive interpreter prefixes its output with ">>> " prompts.
    ca_path, package_path = re.findall(r"(/\S+)", result.stdout)[-2:]
    assert Path(ca_path).is_file()
    assert ca_path.startswith(krew_env["SHIV_ROOT"])
    assert package_path.startswith(krew_env["SHIV_ROOT"])


def _old_python() -> str:
    """Return an interpreter older than 3.10, checked by running it, or ""."""
    candidates = sorted(Path("/root/.pyenv/versions").glob("3.*/bin/python3"))
    candidates += [Path(p) for p in (shutil.which(f"python3.{minor}") for minor in range(6, 10)) if p]
    for path in candidates:
        probe = subprocess.run([str(path), "-c", "import sys; print(sys.version_info[:2] < (3, 10))"], capture_output=True, text=True)
        if probe.stdout.strip() == "True":
            return str(path)
    return ""


def test_zipapp_rejects_old_python(release, krew_env, tmp_path):
    old = _old_python()
    if not old:
        pytest.skip("no Python older than 3.10 on this machine to run the zipapp with")
    shim = tmp_path / "old-python"
    shim.mkdir()
    (shim / "python3").symlink_to(old)
    env = {**krew_env, "PATH": str(shim) + os.pathsep + krew_env["PATH"]}
    app = next((tmp_path / "krew" / "store").rglob("kubectl-dynamo"))
    result = run_process([str(app), "version"], env)
    minimum = re.search(r"Python (3\.\d+) or newer", load_manifest(release["manifest"])["spec"]["caveats"]).group(1)
    assert result.exit_code == 2
    assert f"kubectl-dynamo needs Python {minimum} or newer, but python3 on PATH is 3." in result.stderr
    assert result.stdout == ""


def test_real_krew_install(release, tmp_path, kubectl):
    probe = subprocess.run([kubectl, "krew", "version"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip("kubectl krew is not installed on this machine; the simulated install above covers its steps")
    env = {**os.environ, "KREW_ROOT": str(tmp_path / "krew-root"), "KREW_NO_UPGRADE_CHECK": "1"}
    result = run_process(
        [kubectl, "krew", "install", f"--manifest={release['manifest']}", f"--archive={release['archive']}"], env, timeout=300
    )
    assert result.exit_code == 0, result.stderr
