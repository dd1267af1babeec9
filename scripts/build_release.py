#!/usr/bin/env python3
"""Build the krew release archive: dist/kubectl-dynamo.tar.gz.

The archive holds one executable, ``kubectl-dynamo``, a shiv zipapp that bundles the
plugin and its dependencies as pure Python, so one archive serves Linux and macOS on
every architecture and needs only ``python3`` on PATH. shiv unpacks the bundle to
``~/.shiv`` (or ``$SHIV_ROOT``) on the first run, so certifi's CA bundle and package
data resolve from real files, exactly as in a pip install.

Usage: python3 scripts/build_release.py [--python python3.10] [--output dist/kubectl-dynamo.tar.gz]
Prints the archive's path, its sha256 and the minimum Python version.
"""

from __future__ import annotations

import argparse
import email.parser
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import List, Optional

REPO = Path(__file__).resolve().parent.parent
DEFAULT_WORK = REPO / "build" / "release"
EXECUTABLE = "kubectl-dynamo"
# Build timestamps of every file in the zipapp and the archive, so that two builds of
# the same sources give the same sha256 (SOURCE_DATE_EPOCH overrides it).
DEFAULT_EPOCH = 315532800  # 1980-01-01, the earliest time a zip file can store

# Compiled accelerators whose packages fall back to pure Python when they are absent.
# Any other compiled file fails the build: it would tie the archive to one platform.
OPTIONAL_EXTENSIONS = (
    re.compile(r"^yaml/_yaml\..*(so|pyd)$"),  # PyYAML's libyaml binding
    re.compile(r"^_ruamel_yaml\..*(so|pyd)$"),  # ruamel.yaml.clib
    re.compile(r"^charset_normalizer/.*\.(so|pyd)$"),  # mypyc builds of md.py and cd.py
    re.compile(r"^[0-9a-f]+__mypyc\..*(so|pyd)$"),  # charset_normalizer's mypyc runtime
)
COMPILED_SUFFIXES = (".so", ".pyd", ".dylib", ".dll")

# Runs before anything else in the zipapp, in syntax that Python 2 and old Python 3
# still parse, so that an old python3 gets a message instead of a SyntaxError.
VERSION_GUARD = '''\
import sys
if sys.version_info < {minimum!r}:
    sys.stderr.write(
        "error: kubectl-dynamo needs Python {minimum_text} or newer, but python3 on PATH is %d.%d (%s).\\n"
        "Install a newer Python 3 and make it the first python3 on PATH.\\n"
        % (sys.version_info[0], sys.version_info[1], sys.executable)
    )
    sys.exit(2)
import _kubectl_dynamo_shiv_main  # noqa: E402,F401  shiv's own bootstrap
'''


def run(args: List[str], **kwargs) -> None:
    print("+ " + " ".join(str(a) for a in args), file=sys.stderr)
    subprocess.run(args, check=True, **kwargs)


def make_tool_env(interpreter: str, work: Path) -> Path:
    """Create a virtualenv with shiv and packaging on ``interpreter``.

    pip in that environment picks the dependency releases, so the interpreter's
    version decides the oldest Python the zipapp runs on.
    """
    tools = work / "tools"
    shutil.rmtree(tools, ignore_errors=True)
    run([interpreter, "-m", "venv", str(tools)])
    python = tools / "bin" / "python"
    run([str(python), "-m", "pip", "install", "--quiet", "shiv>=1.0.4", "packaging"])
    return python


def install_site_packages(python: Path, site: Path) -> None:
    """Install the plugin and its dependencies into ``site``, then drop optional accelerators."""
    shutil.rmtree(site, ignore_errors=True)
    run([str(python), "-m", "pip", "install", "--quiet", "--no-compile", "--target", str(site), str(REPO)])

    leftovers = []
    for path in sorted(site.rglob("*")):
        if not path.is_file() or not path.name.endswith(COMPILED_SUFFIXES):
            continue
        relative = path.relative_to(site).as_posix()
        if any(pattern.match(relative) for pattern in OPTIONAL_EXTENSIONS):
            path.unlink()
        else:
            leftovers.append(relative)
    if leftovers:
        raise SystemExit("error: compiled files with no pure-Python fallback: " + ", ".join(leftovers))

    # Console scripts and caches are of no use inside a zipapp.
    shutil.rmtree(site / "bin", ignore_errors=True)
    for cache in site.rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)


def minimum_python(python: Path, site: Path) -> tuple:
    """Return the lowest Python (major, minor) that every bundled distribution supports."""
    specifiers = []
    for metadata in site.glob("*.dist-info/METADATA"):
        requires = email.parser.Parser().parsestr(metadata.read_text(encoding="utf-8")).get("Requires-Python")
        if requires:
            specifiers.append(requires)
    script = (
        "import sys\n"
        "from packaging.specifiers import SpecifierSet\n"
        "specs = [SpecifierSet(s) for s in sys.argv[1:]]\n"
        "for minor in range(6, 30):\n"
        "    version = f'3.{minor}'\n"
        "    if all(spec.contains(version + '.0') or spec.contains(version + '.99') for spec in specs):\n"
        "        print(version); break\n"
    )
    output = subprocess.run([str(python), "-c", script, *specifiers], check=True, capture_output=True, text=True)
    major, minor = output.stdout.strip().split(".")
    return int(major), int(minor)


def build_zipapp(python: Path, site: Path, target: Path, minimum: tuple, work: Path) -> None:
    shiv = python.parent / "shiv"
    raw = work / "kubectl-dynamo.shiv.pyz"
    run(
        [
            str(shiv), "--site-packages", str(site), "--entry-point", "kubectl_dynamo.cli:main",
            "--output-file", str(raw), "--python", "/usr/bin/env python3", "--compressed", "--reproducible",
        ],
        env={**os.environ, "SOURCE_DATE_EPOCH": os.environ.get("SOURCE_DATE_EPOCH", str(DEFAULT_EPOCH))},
    )

    # Put the version guard in front of shiv's bootstrap: rename shiv's __main__.py and
    # make a new one that checks the interpreter first.
    guard = VERSION_GUARD.format(minimum=minimum, minimum_text="%d.%d" % minimum)
    with open(raw, "rb") as handle:
        shebang = handle.readline()
    with zipfile.ZipFile(raw) as source, zipfile.ZipFile(target.with_suffix(".tmp"), "w", zipfile.ZIP_DEFLATED) as output:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "__main__.py":
                renamed = zipfile.ZipInfo("_kubectl_dynamo_shiv_main.py", info.date_time)
                renamed.compress_type = zipfile.ZIP_DEFLATED
                output.writestr(renamed, data)
                main = zipfile.ZipInfo("__main__.py", info.date_time)
                main.compress_type = zipfile.ZIP_DEFLATED
                output.writestr(main, guard)
            else:
                output.writestr(info, data)
    with open(target, "wb") as handle:
        handle.write(shebang)
        handle.write(target.with_suffix(".tmp").read_bytes())
    target.with_suffix(".tmp").unlink()
    target.chmod(0o755)


def build_archive(executable: Path, archive: Path) -> None:
    """Write a reproducible .tar.gz with the executable and the licence at its top level."""
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", DEFAULT_EPOCH))
    archive.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, name, mode in ((executable, EXECUTABLE, 0o755), (REPO / "LICENSE", "LICENSE", 0o644)):
            info = tarfile.TarInfo(name)
            info.size = path.stat().st_size
            info.mtime = epoch
            info.mode = mode
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            with open(path, "rb") as handle:
                tar.addfile(info, handle)
    import gzip

    with open(archive, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=epoch) as gz:
        gz.write(buffer.getvalue())


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=str(REPO / "dist" / "kubectl-dynamo.tar.gz"), help="archive path")
    parser.add_argument("--work", default=str(DEFAULT_WORK), help="build directory (default: build/release)")
    parser.add_argument(
        "--python", default=sys.executable,
        help="interpreter whose pip resolves the dependencies; use the oldest Python 3 you want to support "
        "(default: the one running this script)",
    )
    args = parser.parse_args(argv)

    work = Path(args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    python = make_tool_env(args.python, work)
    site = work / "site"
    install_site_packages(python, site)
    minimum = minimum_python(python, site)
    executable = work / EXECUTABLE
    build_zipapp(python, site, executable, minimum, work)
    archive = Path(args.output).resolve()
    build_archive(executable, archive)

    print(f"archive: {archive}")
    print(f"sha256: {sha256_of(archive)}")
    print(f"minimum python: {minimum[0]}.{minimum[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
