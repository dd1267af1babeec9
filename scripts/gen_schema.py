#!/usr/bin/env python3
"""Write the compact DGD schema that `render` validates against, from crds/.

    scripts/gen_schema.py                      # crds/ -> kubectl_dynamo/render/v0_8/dgd_schema.json
    scripts/gen_schema.py --check              # exit 1 if the JSON file is out of date
    scripts/gen_schema.py --from-upstream DIR  # first rewrite crds/ from the release CRDs in DIR

The CRDs in crds/ are the operator's v1alpha1 CRDs without the description prose.
Loading them with PyYAML takes over a second, so `render` reads a JSON copy of the
DGD's ``openAPIV3Schema`` that keeps only what validation uses.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import yaml

try:
    from yaml import CSafeDumper as Dumper, CSafeLoader as Loader
except ImportError:  # pragma: no cover
    from yaml import SafeDumper as Dumper, SafeLoader as Loader  # type: ignore[assignment]

REPO = Path(__file__).resolve().parent.parent
CRDS = REPO / "crds"
DGD_CRD = CRDS / "nvidia.com_dynamographdeployments.yaml"
OUTPUT = REPO / "kubectl_dynamo" / "render" / "v0_8" / "dgd_schema.json"
VERSION = "v1alpha1"

# Schema keywords validation reads; everything else (descriptions, formats of no
# consequence, list-map markers) is left out of the JSON.
KEPT = {
    "type", "properties", "items", "required", "enum", "minimum", "maximum", "exclusiveMinimum",
    "exclusiveMaximum", "minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties",
    "pattern", "additionalProperties", "default", "nullable", "anyOf", "oneOf", "allOf",
    "x-kubernetes-int-or-string", "x-kubernetes-preserve-unknown-fields", "x-kubernetes-validations",
    "x-kubernetes-embedded-resource", "format",
}

HEADER = (
    "# SPDX-FileCopyrightText: Copyright (c) 2024-2025 NVIDIA CORPORATION & AFFILIATES. All rights reserved.\n"
    "# SPDX-License-Identifier: Apache-2.0\n"
    "# Generated from the Dynamo 0.8.0 CRD of the same name without description text;\n"
    "# regenerate with scripts/gen_schema.py --from-upstream DIR.\n"
)


def strip_descriptions(node):
    """Remove every ``description`` keyword (a string value) from a schema tree."""
    if isinstance(node, dict):
        return {k: strip_descriptions(v) for k, v in node.items() if not (k == "description" and isinstance(v, str))}
    if isinstance(node, list):
        return [strip_descriptions(v) for v in node]
    return node


def compact(node):
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key not in KEPT:
                continue
            if key == "properties":
                out[key] = {name: compact(sub) for name, sub in value.items()}
            elif key == "format" and value not in ("int32", "int64"):
                continue
            elif key in ("items", "additionalProperties") and isinstance(value, dict):
                out[key] = compact(value)
            elif key in ("anyOf", "oneOf", "allOf"):
                out[key] = [compact(v) for v in value]
            else:
                out[key] = value
        return out
    return node


def rewrite_crds(upstream: Path) -> None:
    CRDS.mkdir(exist_ok=True)
    for source in sorted(upstream.glob("nvidia.com_*.yaml")):
        documents = [d for d in yaml.load_all(source.read_text(), Loader=Loader) if d]
        text = "".join("---\n" + yaml.dump(strip_descriptions(d), Dumper=Dumper, sort_keys=False, width=1_000_000) for d in documents)
        (CRDS / source.name).write_text(HEADER + text)
        print(f"wrote {CRDS / source.name}")


def dgd_schema() -> str:
    documents = [d for d in yaml.load_all(DGD_CRD.read_text(), Loader=Loader) if d]
    crd = next(d for d in documents if d.get("kind") == "CustomResourceDefinition")
    version = next(v for v in crd["spec"]["versions"] if v["name"] == VERSION)
    schema = compact(version["schema"]["openAPIV3Schema"])
    payload = {"apiVersion": f"{crd['spec']['group']}/{VERSION}", "kind": crd["spec"]["names"]["kind"], "schema": schema}
    return json.dumps(payload, sort_keys=True, separators=(",", ":")) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the JSON file differs from crds/")
    parser.add_argument("--from-upstream", metavar="DIR", type=Path, help="rewrite crds/ from the release CRDs in DIR first")
    args = parser.parse_args(argv)
    if args.from_upstream:
        rewrite_crds(args.from_upstream)
    text = dgd_schema()
    if args.check:
        current = OUTPUT.read_text() if OUTPUT.exists() else ""
        if current != text:
            print(f"{os.path.relpath(OUTPUT, REPO)} is out of date; run scripts/gen_schema.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text)
    print(f"wrote {os.path.relpath(OUTPUT, REPO)} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
