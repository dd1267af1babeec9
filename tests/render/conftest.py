"""Fixtures of the render tests: the ``--update-golden`` switch for expected output files.

Run ``pytest tests/render --update-golden`` (or set ``UPDATE_GOLDEN=1``) to rewrite
the files under tests/data/expected from the current output, then review the diff.
The option is registered here, so it is known when pytest starts in tests/render;
from the repository root use the environment variable.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

EXPECTED_DIR = Path(__file__).resolve().parents[1] / "data" / "expected"


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite tests/data/expected from the current output")


@pytest.fixture
def golden_file(request):
    """Compare text with an expected file, or rewrite the file when updating."""
    update = os.environ.get("UPDATE_GOLDEN") == "1"
    try:
        update = update or bool(request.config.getoption("--update-golden"))
    except ValueError:
        pass

    def check(name: str, text: str) -> None:
        path = EXPECTED_DIR / name
        if update:
            path.write_text(text, encoding="utf-8")
            return
        assert path.exists(), f"{path} is missing; run pytest tests/render --update-golden and review it"
        assert text == path.read_text(encoding="utf-8"), f"output differs from {path.name}; review and run with --update-golden"

    return check
