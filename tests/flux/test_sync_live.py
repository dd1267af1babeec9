"""flux_sync_many against the test API server: one list per kind and namespace."""

import pytest

from kubectl_dynamo.cluster.protocol import ConnectionOptions
from kubectl_dynamo.flux.sync import PENDING, SYNCED, flux_sync, flux_sync_many
from tests.flux import scenario as sc


@pytest.fixture
def cluster(api_server):
    from kubectl_dynamo.cluster.kube import connect

    return connect(ConnectionOptions(kubeconfig=api_server.kubeconfig))


def test_many_graphs_one_list_per_kind(api_server, cluster):
    applied = sc.revision("a" * 40)
    api_server.seed(
        sc.git_repository("a" * 40),
        sc.kustomization("one", "./one", applied, inventory=["g1", "g2"]),
        sc.kustomization("two", "./two", sc.revision("b" * 40), inventory=["g3"]),
        sc.live_graph("g1", "one"), sc.live_graph("g2", "one"), sc.live_graph("g3", "two"),
    )
    graphs = [api_server.get_object("nvidia.com/v1alpha1", "DynamoGraphDeployment", "dynamo", n) for n in ("g1", "g2", "g3")]
    api_server.clear_requests()

    states = flux_sync_many(cluster, graphs)

    assert states[("dynamo", "g1")].verdict == SYNCED
    assert states[("dynamo", "g3")].verdict == PENDING
    assert states[("dynamo", "g2")].kustomization == "flux-system/one"
    paths = [r.path for r in api_server.requests]
    assert sum("/kustomizations" in p for p in paths) == 1
    assert sum("/gitrepositories" in p for p in paths) == 1
    assert len(paths) == 2


def test_single_graph(api_server, cluster):
    api_server.seed(sc.git_repository("a" * 40), sc.kustomization("one", "./one", sc.revision("a" * 40), inventory=["g1"]),
                    sc.live_graph("g1", "one"))
    graph = api_server.get_object("nvidia.com/v1alpha1", "DynamoGraphDeployment", "dynamo", "g1")
    state = flux_sync(cluster, graph)
    assert state.verdict == SYNCED
    assert state.source == "GitRepository/flux-system/fleet"
