"""flux_sync_many against the test API server: one list per kind and namespace."""

import pytest

from kubectl_dynamo.cluster.protocol import ConnectionOptions
from kubectl_dynamo.errors import ClusterError
from kubectl_dynamo.flux.sync import NOT_MANAGED, PENDING, SYNCED, flux_sync, flux_sync_many
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


def _unlabelled(name: str, namespace: str = "dynamo") -> dict:
    graph = sc.live_graph(name, "one")
    graph["metadata"].pop("labels")
    graph["metadata"]["namespace"] = namespace
    return graph


def test_unlabelled_graph_found_in_flux_system_inventory(api_server, cluster):
    api_server.seed(
        sc.git_repository("a" * 40),
        sc.kustomization("one", "./one", sc.revision("a" * 40), inventory=["g1", "g2"]),
        *[_unlabelled(name) for name in ("g1", "g2", "g3", "g4")],
        _unlabelled("g5", namespace="team-b"),
    )
    graphs = [api_server.get_object("nvidia.com/v1alpha1", "DynamoGraphDeployment", "dynamo", n) for n in ("g1", "g2", "g3", "g4")]
    graphs.append(api_server.get_object("nvidia.com/v1alpha1", "DynamoGraphDeployment", "team-b", "g5"))
    api_server.clear_requests()

    states = flux_sync_many(cluster, graphs)

    assert states[("dynamo", "g1")].verdict == SYNCED
    assert states[("dynamo", "g2")].kustomization == "flux-system/one"
    assert states[("dynamo", "g3")].verdict == NOT_MANAGED
    assert states[("team-b", "g5")].detail == "no Flux labels and in no Kustomization's inventory"
    # One list per namespace searched (dynamo, team-b, flux-system), however many graphs.
    lists = api_server.requests_for(path_regex=r"/kustomizations$", method="GET")
    assert sorted(r.path.split("/namespaces/")[1].split("/")[0] for r in lists) == ["dynamo", "flux-system", "team-b"]
    assert len(api_server.requests_for(path_regex=r"/gitrepositories$")) == 1


def test_forbidden_flux_system_means_cannot_tell(api_server, cluster):
    api_server.seed(sc.git_repository("a" * 40),
                    sc.kustomization("one", "./one", sc.revision("a" * 40), inventory=["g1"]),
                    _unlabelled("g1"))
    graph = api_server.get_object("nvidia.com/v1alpha1", "DynamoGraphDeployment", "dynamo", "g1")
    api_server.inject("GET", r"/namespaces/flux-system/kustomizations$", 403)

    state = flux_sync(cluster, graph)

    assert state.verdict == NOT_MANAGED
    assert "cannot tell whether a Kustomization in flux-system applies it" in state.detail
    assert "forbidden" in state.detail


def test_forbidden_flux_system_is_an_error_for_labelled_graphs(api_server, cluster):
    api_server.seed(sc.git_repository("a" * 40),
                    sc.kustomization("one", "./one", sc.revision("a" * 40), inventory=["g1"]),
                    sc.live_graph("g1", "one"), _unlabelled("g2"))
    graphs = [api_server.get_object("nvidia.com/v1alpha1", "DynamoGraphDeployment", "dynamo", n) for n in ("g1", "g2")]
    api_server.inject("GET", r"/namespaces/flux-system/kustomizations$", 403)

    with pytest.raises(ClusterError) as caught:
        flux_sync_many(cluster, graphs)
    assert caught.value.status == 403
