"""Import rules of the package, checked on its source with ``ast``.

Only ``kubectl_dynamo/cluster/`` may import the ``kubernetes`` client, and only
``kubectl_dynamo/cli/`` may import ``click``, so that the core packages run and
test without either. tests/render/test_render_cli.py checks at run time that
``render`` never loads ``kubernetes``.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import List, Set

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "kubectl_dynamo"

# Top-level module -> the only subpackage of kubectl_dynamo allowed to import it.
RESTRICTED = {"kubernetes": "cluster", "click": "cli"}


def imported_modules(tree: ast.AST) -> Set[str]:
    """Return the top-level names of the modules a module imports, at any depth.

    Counts ``import x``, ``from x import y`` and ``importlib.import_module("x")`` or
    ``__import__("x")`` with a literal name. Relative imports stay inside the package.
    """
    names: Set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            function = node.func
            function_name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
            if function_name in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                names.add(node.args[0].value.split(".")[0])
    return names


def package_modules() -> List[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_imported_modules_finds_every_form():
    source = (
        "import click.testing\n"
        "from kubernetes import client\n"
        "from . import sibling\n"
        "def later():\n"
        "    import yaml\n"
        "    importlib.import_module('kubernetes.watch')\n"
        "    __import__('json')\n"
    )
    assert imported_modules(ast.parse(source)) == {"click", "kubernetes", "yaml", "json"}


def test_package_modules_found():
    relative = {path.relative_to(PACKAGE).as_posix() for path in package_modules()}
    assert "cli/__init__.py" in relative
    assert "cluster/kube.py" in relative


@pytest.mark.parametrize("module, allowed", sorted(RESTRICTED.items()))
def test_restricted_import_stays_in_its_package(module, allowed):
    offenders = []
    for path in package_modules():
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] == allowed:
            continue
        if module in imported_modules(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            offenders.append(relative.as_posix())
    assert offenders == [], f"{module} is imported outside kubectl_dynamo/{allowed}/ by {offenders}"


def test_every_subpackage_has_init():
    # setup.cfg uses `packages = find:`, which leaves out directories without __init__.py,
    # so a wheel or the krew zipapp would lack their modules.
    directories = {path.parent for path in package_modules()}
    missing = sorted(d.relative_to(PACKAGE).as_posix() for d in directories if not (d / "__init__.py").exists())
    assert missing == []
