"""Serialisers shared by the commands: YAML, JSON and kubectl-style tables."""

from __future__ import annotations

import json
from typing import Any, Iterable, List, Sequence

import yaml

try:
    from yaml import CSafeDumper as _Dumper
except ImportError:  # pragma: no cover
    from yaml import SafeDumper as _Dumper  # type: ignore[assignment]


def to_yaml(obj: Any) -> str:
    """Dump one object as block YAML with keys in their given order."""
    return yaml.dump(obj, Dumper=_Dumper, default_flow_style=False, sort_keys=False, allow_unicode=True, width=1_000_000)


def to_yaml_stream(objects: Iterable[Any]) -> str:
    """Dump objects as a multi-document YAML stream, each document starting with ``---``."""
    return "".join("---\n" + to_yaml(obj) for obj in objects)


def count_noun(count: int, noun: str, plural: str = "") -> str:
    """Return ``count`` with ``noun`` in the number it needs: "1 field", "2 fields", "0 fields"."""
    return f"{count} {noun if count == 1 else (plural or noun + 's')}"


def to_json(obj: Any) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"


def as_list(items: List[Any]) -> dict:
    """Wrap objects in a ``v1`` List, as `kubectl get -o json` prints several objects."""
    return {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items}


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, no_headers: bool = False) -> str:
    """Format a kubectl-style table: upper-case headers, left-aligned, three spaces apart."""
    import tabulate as tabulate_module
    from tabulate import DataRow, TableFormat, tabulate

    kubectl_format = TableFormat(
        lineabove=None, linebelowheader=None, linebetweenrows=None, linebelow=None,
        headerrow=DataRow("", "   ", ""), datarow=DataRow("", "   ", ""),
        padding=0, with_header_hide=None,
    )
    cells = [["" if cell is None else str(cell) for cell in row] for row in rows]
    if not cells and no_headers:
        return ""
    # tabulate widens every column by MIN_PADDING beyond its widest cell, and strips
    # leading spaces (which tree prefixes need) unless disabled, and kubectl does neither.
    saved = tabulate_module.MIN_PADDING
    tabulate_module.MIN_PADDING = 0
    try:
        text = tabulate(
            cells, headers=() if no_headers else list(headers), tablefmt=kubectl_format,
            disable_numparse=True, stralign="left", preserve_whitespace=True,
        )
    finally:
        tabulate_module.MIN_PADDING = saved
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"
