#!/usr/bin/env python3
"""Point plugin.yaml at a built release archive.

Sets ``spec.version`` from the package version (``v`` + ``kubectl_dynamo.__version__``),
``spec.platforms[*].sha256`` from the archive and ``uri`` from ``--uri`` (default: the
GitHub release download URL of that version), and the minimum Python in ``caveats`` (read from the zipapp's version guard).
Everything else in the manifest, comments included, is kept as written.

Usage: python3 scripts/update_manifest.py [dist/kubectl-dynamo.tar.gz] [--uri URL]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import re
import sys
import tarfile
import zipfile
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import LiteralScalarString

REPO = Path(__file__).resolve().parent.parent
MANIFEST = REPO / "plugin.yaml"
RELEASE_URI = "https://github.com/kubectl-dynamo/kubectl-dynamo/releases/download/{version}/kubectl-dynamo.tar.gz"


def package_version() -> str:
    text = (REPO / "kubectl_dynamo" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "([^"]+)"', text, re.MULTILINE)
    if not match:
        raise SystemExit("error: no __version__ in kubectl_dynamo/__init__.py")
    return "v" + match.group(1)


def minimum_python_of(archive: Path) -> str:
    """Read the minimum Python from the version guard inside the archive's zipapp."""
    with tarfile.open(archive) as tar:
        member = tar.extractfile("kubectl-dynamo")
        if member is None:
            raise SystemExit(f"error: {archive} has no kubectl-dynamo executable")
        with zipfile.ZipFile(io.BytesIO(member.read())) as app:
            guard = app.read("__main__.py").decode("utf-8")
    match = re.search(r"sys\.version_info < \((\d+), (\d+)\)", guard)
    if not match:
        raise SystemExit(f"error: no version guard in {archive}; rebuild it with scripts/build_release.py")
    return f"{match.group(1)}.{match.group(2)}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("archive", nargs="?", default=str(REPO / "dist" / "kubectl-dynamo.tar.gz"))
    parser.add_argument("--uri", help="download URL of the archive (default: the GitHub release of this version)")
    parser.add_argument("--manifest", default=str(MANIFEST), help="manifest to update (default: plugin.yaml)")
    parser.add_argument("--minimum-python", help="e.g. 3.10 (default: read from the archive's version guard)")
    args = parser.parse_args()

    archive = Path(args.archive)
    if not archive.is_file():
        raise SystemExit(f"error: archive {archive} not found; build it with scripts/build_release.py")
    sha256 = hashlib.sha256(archive.read_bytes()).hexdigest()
    version = package_version()
    minimum = args.minimum_python or minimum_python_of(archive)

    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    manifest_path = Path(args.manifest)
    manifest = yaml.load(manifest_path.read_text(encoding="utf-8"))
    spec = manifest["spec"]
    spec["version"] = version
    for platform in spec["platforms"]:
        platform["sha256"] = sha256
        platform["uri"] = args.uri or RELEASE_URI.format(version=version)
    caveats = re.sub(r"Python \d+\.\d+ or newer", f"Python {minimum} or newer", str(spec["caveats"]))
    spec["caveats"] = LiteralScalarString(caveats)  # keep the block style
    with open(manifest_path, "w", encoding="utf-8") as handle:
        yaml.dump(manifest, handle)

    print(f"{manifest_path.name}: version {version}, sha256 {sha256}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
