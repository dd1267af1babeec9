"""Compare command output with files in tests/data/expected; UPDATE_GOLDEN=1 rewrites them."""

from __future__ import annotations

import os
from pathlib import Path

EXPECTED = Path(__file__).resolve().parent.parent / "data" / "expected"


def assert_matches_golden(name: str, text: str) -> None:
    path = EXPECTED / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} is missing; run the test with UPDATE_GOLDEN=1 to create it"
    expected = path.read_text(encoding="utf-8")
    assert text == expected, f"output differs from {path}; rerun with UPDATE_GOLDEN=1 after checking the change"
