"""Fixtures of the diff tests: a test API server that serves only core kinds and the Dynamo CRDs."""

from __future__ import annotations

from typing import List, Optional

import pytest

from kubectl_dynamo.api.kinds import ALL_KINDS
from tests.conftest import Result, invoke

# The shared api_server serves every kind in kubectl_dynamo.api.kinds, Grove and LeaderWorkerSet
# included; a cluster with the Dynamo operator alone serves none of these groups.
OPTIONAL_GROUPS = ("grove.io", "leaderworkerset.x-k8s.io", "scheduling.volcano.sh", "scheduling.run.ai")


@pytest.fixture
def dynamo_api_server(tmp_path):
    """A test API server without Grove, LeaderWorkerSet, Volcano or Kai scheduler."""
    from tests.fakeapi import FakeApiServer

    served = [kind for kind in ALL_KINDS if kind.group not in OPTIONAL_GROUPS]
    server = FakeApiServer(tmp_path / "fakeapi", kinds=served).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def dynamo_cli(dynamo_api_server):
    """Like ``cli``, with KUBECONFIG pointing at ``dynamo_api_server``."""

    def run(args: List[str], *, stdin: Optional[str] = None, env: Optional[dict] = None) -> Result:
        return invoke(args, stdin=stdin, env={"KUBECONFIG": dynamo_api_server.kubeconfig, **(env or {})})

    return run


@pytest.fixture
def cluster(dynamo_api_server):
    """``dynamo_api_server`` holding the live graph of ``livegraph`` and the operator Deployment."""
    from tests.diff import livegraph

    dynamo_api_server.seed(*livegraph.live_graph())
    dynamo_api_server.clear_requests()
    return dynamo_api_server
