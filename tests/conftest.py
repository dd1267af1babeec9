"""Fixtures shared by every test: the plugin on PATH, real kubectl, the CLI runner and
the test API server (``api_server``, see tests/fakeapi and docs/testing.md)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

import pytest

from kubectl_dynamo.cli import run
from kubectl_dynamo.cli.context import AppContext

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
DATA = Path(__file__).resolve().parent / "data"


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str


def invoke(args: List[str], *, stdin: Optional[str] = None, env: Optional[dict] = None) -> Result:
    """Run the CLI in-process with captured streams and return exit code, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    app = AppContext(stdout=out, stderr=err)
    old_streams, old_env = (sys.stdin, sys.stdout, sys.stderr), dict(os.environ)
    try:
        # click writes help and usage errors to sys.stdout and sys.stderr.
        sys.stdout, sys.stderr = out, err
        if stdin is not None:
            sys.stdin = io.StringIO(stdin)
        if env:
            os.environ.update(env)
        code = run(args, app=app)
    finally:
        sys.stdin, sys.stdout, sys.stderr = old_streams
        os.environ.clear()
        os.environ.update(old_env)
    return Result(int(code), out.getvalue(), err.getvalue())


@pytest.fixture
def cli():
    return invoke


def _plugin_executable() -> Optional[str]:
    """Return the installed `kubectl-dynamo` next to this interpreter, or on PATH."""
    candidate = Path(sys.executable).parent / "kubectl-dynamo"
    if candidate.exists():
        return str(candidate)
    return shutil.which("kubectl-dynamo")


@pytest.fixture(scope="session")
def plugin_path() -> str:
    path = _plugin_executable()
    if path is None:
        pytest.fail("kubectl-dynamo is not installed; run `pip install .` first (see README)")
    return path


@pytest.fixture(scope="session")
def kubectl() -> str:
    """Return a real kubectl: $KUBECTL, else `kubectl` on PATH; skip with the reason otherwise."""
    path = os.environ.get("KUBECTL") or shutil.which("kubectl")
    if not path:
        pytest.skip("no kubectl binary: set $KUBECTL or put kubectl on PATH")
    return path


@pytest.fixture
def plugin_env(plugin_path, tmp_path) -> dict:
    """An environment whose PATH finds the installed plugin first and whose HOME is empty."""
    env = dict(os.environ)
    env["PATH"] = str(Path(plugin_path).parent) + os.pathsep + env.get("PATH", "")
    env["HOME"] = str(tmp_path)
    env.pop("KUBECONFIG", None)
    return env


def run_process(args: List[str], env: dict, *, input: Optional[str] = None, timeout: float = 60) -> Result:
    proc = subprocess.run(args, env=env, input=input, capture_output=True, text=True, timeout=timeout)
    return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def api_server(tmp_path):
    """A fresh Kubernetes API server on 127.0.0.1 for this test (``tests.fakeapi.FakeApiServer``).

    ``.kubeconfig`` is a kubeconfig whose current context has namespace ``default``;
    ``.env`` is os.environ plus KUBECONFIG for subprocesses such as kubectl.
    """
    from tests.fakeapi import FakeApiServer

    server = FakeApiServer(tmp_path / "fakeapi").start()
    try:
        yield server
    finally:
        server.stop()
    # A 500 the test did not inject is a bug in the test server, not in the product.
    assert server.internal_errors == [], "the test API server failed: " + "; ".join(server.internal_errors)


@pytest.fixture
def live_cli(api_server):
    """Like ``cli``, with KUBECONFIG pointing at ``api_server``."""

    def run_live(args: List[str], *, stdin: Optional[str] = None, env: Optional[dict] = None) -> Result:
        return invoke(args, stdin=stdin, env={"KUBECONFIG": api_server.kubeconfig, **(env or {})})

    return run_live
