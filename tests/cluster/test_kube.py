"""The cluster layer (``connect`` and ``KubeCluster``) over HTTP against the test API server."""

import os
import threading
from pathlib import Path

import pytest
import yaml

from kubectl_dynamo.api import kinds
from kubectl_dynamo.cluster import config as cluster_config
from kubectl_dynamo.cluster.kube import connect
from kubectl_dynamo.cluster.protocol import ConnectionOptions, LogOptions
from kubectl_dynamo.errors import ClusterError, ConflictError, NotFoundError
from tests.cluster.certs import make_pki
from tests.fakeapi import FakeApiServer, TLSFiles

GRAPH = {
    "apiVersion": "nvidia.com/v1alpha1",
    "kind": "DynamoGraphDeployment",
    "metadata": {"name": "llm", "namespace": "dynamo", "labels": {"team": "a"}},
    "spec": {"services": {"Frontend": {"replicas": 1}}},
    "status": {"state": "successful"},
}

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "dynamo"},
    "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}}},
    "status": {"replicas": 1},
}

POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "web-1", "namespace": "dynamo", "labels": {"app": "web"}},
    "spec": {"containers": [{"name": "main"}]},
    "status": {"phase": "Running"},
}


@pytest.fixture
def cluster(api_server):
    found = connect(ConnectionOptions(kubeconfig=api_server.kubeconfig, namespace="dynamo"))
    found.sleep = lambda seconds: None
    return found


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


# -- reads and writes ------------------------------------------------------------------


def test_get_and_list_with_selectors(api_server, cluster):
    api_server.seed(GRAPH, {**GRAPH, "metadata": {"name": "other", "namespace": "prod", "labels": {"team": "b"}}})
    assert cluster.get(kinds.DGD, "llm")["status"] == {"state": "successful"}
    listed = cluster.list(kinds.DGD, all_namespaces=True, label_selector="team in (b)")
    assert [o["metadata"]["name"] for o in listed.items] == ["other"]
    assert listed.resource_version
    by_field = cluster.list(kinds.DGD, "prod", field_selector="metadata.name=other")
    assert len(by_field.items) == 1
    assert cluster.list(kinds.DGD).items[0]["kind"] == "DynamoGraphDeployment"


def test_create_patch_replace_delete(api_server, cluster):
    api_server.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "dynamo"}})
    created = cluster.create(kinds.DGD, {"apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeployment", "metadata": {"name": "g"}, "spec": {}})
    assert created["metadata"]["generation"] == 1
    merged = cluster.patch(kinds.DGD, "g", {"spec": {"backendFramework": "vllm"}})
    assert merged["metadata"]["generation"] == 2
    patched = cluster.patch(kinds.DGD, "g", [{"op": "add", "path": "/spec/services", "value": {}}], patch_type="json")
    assert patched["spec"] == {"backendFramework": "vllm", "services": {}}
    request = api_server.requests_for("patch")[-1]
    assert request.headers["content-type"] == "application/json-patch+json"
    assert request.query["fieldManager"] == "kubectl-dynamo"
    managers = [e["manager"] for e in patched["metadata"]["managedFields"]]
    assert managers == ["kubectl-dynamo"]
    dry = cluster.patch(kinds.DGD, "g", {"spec": {"x": 1}}, dry_run=True)
    assert dry["spec"]["x"] == 1
    assert "x" not in api_server.get_object("nvidia.com/v1alpha1", "DynamoGraphDeployment", "dynamo", "g")["spec"]
    with pytest.raises(ConflictError):
        cluster.replace(kinds.DGD, created)  # created carries an old resourceVersion
    with pytest.raises(ConflictError) as exists:
        cluster.create(kinds.DGD, created)
    assert str(exists.value) == 'dynamographdeployments.nvidia.com "g" in namespace "dynamo" already exists'
    cluster.delete(kinds.DGD, "g")
    assert api_server.get_object("nvidia.com/v1alpha1", "DynamoGraphDeployment", "dynamo", "g") is None


def test_scale_subresource(api_server, cluster):
    api_server.seed(DEPLOYMENT, GRAPH)
    assert cluster.get_scale(kinds.DEPLOYMENT, "web")["spec"]["replicas"] == 1
    scaled = cluster.set_scale(kinds.DEPLOYMENT, "web", 5)
    assert scaled["kind"] == "Scale"
    assert scaled["spec"]["replicas"] == 5
    with pytest.raises(ClusterError, match="has no /scale subresource"):
        cluster.get_scale(kinds.DGD, "llm")
    with pytest.raises(ClusterError) as invalid:
        cluster.set_scale(kinds.DEPLOYMENT, "web", -1)
    assert invalid.value.status == 422
    assert "spec.replicas: Invalid value: -1: must be greater than or equal to 0" in str(invalid.value)


def test_watch_yields_events_and_410(api_server, cluster):
    api_server.seed(GRAPH)
    listed = cluster.list(kinds.DGD)
    api_server.after(0.2, api_server.update_object, {**listed.items[0], "spec": {"services": {}}})
    events = cluster.watch(kinds.DGD, resource_version=listed.resource_version, timeout_seconds=2)
    first = next(events)
    assert (first.type, first.object["metadata"]["generation"]) == ("MODIFIED", 2)
    events.close()
    api_server.expire_watch()
    with pytest.raises(ClusterError) as gone:
        list(cluster.watch(kinds.DGD, resource_version="1", timeout_seconds=1))
    assert gone.value.status == 410


def test_watch_resumes_after_a_dropped_stream(api_server, cluster):
    api_server.seed(GRAPH)
    listed = cluster.list(kinds.DGD)
    api_server.drop_connection("GET", "dynamographdeployments", after_bytes=5)
    api_server.after(0.3, api_server.update_object, {**listed.items[0], "spec": {"services": {}}})
    events = cluster.watch(kinds.DGD, resource_version=listed.resource_version, timeout_seconds=2)
    assert next(events).type == "MODIFIED"
    events.close()
    watches = api_server.requests_for("watch")
    assert [r.query["resourceVersion"] for r in watches] == [listed.resource_version] * 2


def test_logs_stream_lines_as_they_arrive(api_server, cluster):
    api_server.seed(POD)
    api_server.set_logs("dynamo", "web-1", "main", ["2026-01-01T00:00:00Z one", "2026-01-01T00:00:05Z two"])
    assert list(cluster.stream_logs("web-1", LogOptions(tail_lines=1))) == ["two"]
    assert list(cluster.stream_logs("web-1", LogOptions(since_time="2026-01-01T00:00:01Z", timestamps=True))) == ["2026-01-01T00:00:05Z two"]
    lines = cluster.stream_logs("web-1", LogOptions(follow=True, container="main"))
    assert next(lines) == "one"
    assert next(lines) == "two"
    received = threading.Event()
    api_server.after(0.1, api_server.append_logs, "dynamo", "web-1", "main", ["three"])
    assert next(lines) == "three"
    received.set()
    api_server.close_log_streams("dynamo", "web-1")
    assert list(lines) == []
    query = api_server.requests_for(path_regex="/log$")[-1].query
    assert query == {"container": "main", "follow": "true"}


def test_logs_errors_keep_the_server_message(api_server, cluster):
    api_server.seed({**POD, "spec": {"containers": [{"name": "main"}, {"name": "sidecar"}]}})
    with pytest.raises(ClusterError) as raised:
        cluster.stream_logs("web-1", LogOptions())
    assert raised.value.status == 400
    assert "a container name must be specified for pod web-1, choose one of: [main sidecar]" in str(raised.value)
    with pytest.raises(NotFoundError):
        cluster.stream_logs("nope", LogOptions())


def test_events_and_proxy(api_server, cluster):
    stored = api_server.seed(GRAPH, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "source-controller", "namespace": "flux-system"}})
    api_server.add_event(stored[0], "Second", "b", time="2026-01-01T00:00:02Z")
    api_server.add_event(stored[0], "First", "a", time="2026-01-01T00:00:01Z")
    assert [e["reason"] for e in cluster.events_for(kinds.DGD, "llm")] == ["First", "Second"]
    api_server.serve_proxy("flux-system", "source-controller", "gitrepository/flux-system/apps/abc.tar.gz", b"\x1f\x8b" + b"x" * 100_000)
    data = b"".join(cluster.proxy_get("source-controller", "gitrepository/flux-system/apps/abc.tar.gz", port="http", namespace="flux-system"))
    assert len(data) == 100_002
    assert api_server.requests[-1].path == "/api/v1/namespaces/flux-system/services/source-controller:http/proxy/gitrepository/flux-system/apps/abc.tar.gz"


def test_api_groups_and_stats(cluster):
    groups = cluster.api_groups()
    assert "nvidia.com" in groups
    assert "source.toolkit.fluxcd.io" in groups
    cluster.list(kinds.DGD)
    assert cluster.stats.by_verb == {"get": 1, "list": 1}
    assert cluster.stats.total == 2


# -- retries -------------------------------------------------------------------------------


def test_reads_retry_429_and_5xx_honouring_retry_after(api_server, cluster):
    api_server.seed(GRAPH)
    slept = []
    cluster.sleep = slept.append
    api_server.inject("GET", "dynamographdeployments/llm$", 429, headers={"Retry-After": "2"})
    api_server.inject("GET", "dynamographdeployments/llm$", 503)
    assert cluster.get(kinds.DGD, "llm")["metadata"]["name"] == "llm"
    assert slept[0] == 2.0
    assert 0 < slept[1] <= 1
    assert [r.status for r in api_server.requests_for("get")] == [429, 503, 200]


def test_reads_give_up_after_bounded_retries(api_server, cluster):
    api_server.inject("GET", "dynamographdeployments", 500, count=50)
    with pytest.raises(ClusterError) as raised:
        cluster.list(kinds.DGD)
    assert raised.value.status == 500
    assert len(api_server.requests_for("list")) == 5


def test_reads_retry_dropped_connections(api_server, cluster):
    api_server.seed(GRAPH)
    api_server.drop_connection("GET", "dynamographdeployments", after_bytes=20, count=2)
    assert len(cluster.list(kinds.DGD).items) == 1
    assert len(api_server.requests_for("list")) == 3


def test_writes_are_never_retried(api_server, cluster):
    api_server.seed(GRAPH)
    api_server.inject("PATCH", "dynamographdeployments", 503)
    with pytest.raises(ClusterError) as raised:
        cluster.patch(kinds.DGD, "llm", {"spec": {"x": 1}})
    assert raised.value.status == 503
    assert len(api_server.requests_for("patch")) == 1
    api_server.drop_connection("PATCH", "dynamographdeployments")
    with pytest.raises(ClusterError, match="connection to the API server at .* was lost during patch"):
        cluster.patch(kinds.DGD, "llm", {"spec": {"x": 1}})
    assert len(api_server.requests_for("patch")) == 2


def test_request_timeout_bounds_a_slow_answer(api_server):
    slow = connect(ConnectionOptions(kubeconfig=api_server.kubeconfig, request_timeout=0.3))
    slow.sleep = lambda seconds: None
    api_server.delay("GET", "namespaces$", 3)
    with pytest.raises(ClusterError) as raised:
        slow.list(kinds.NAMESPACE)
    assert "did not respond to list of namespaces within 0.3s" in str(raised.value)
    assert "--request-timeout" in raised.value.hint


# -- configuration ---------------------------------------------------------------------------


def _kubeconfig(path: Path, server: str, *, context: str, namespace=None, current=True, token="t") -> str:
    entry = {"cluster": context, "user": context}
    if namespace:
        entry["namespace"] = namespace
    config = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": context, "cluster": {"server": server}}],
        "contexts": [{"name": context, "context": entry}],
        "users": [{"name": context, "user": {"token": token}}],
    }
    if current:
        config["current-context"] = context
    path.write_text(yaml.safe_dump(config))
    return str(path)


def test_kubeconfig_env_merges_files_like_kubectl(api_server, tmp_path, monkeypatch):
    first = _kubeconfig(tmp_path / "a", api_server.url, context="one", namespace="ns-one")
    second = _kubeconfig(tmp_path / "b", "http://127.0.0.1:1", context="two", namespace="ns-two")
    missing = str(tmp_path / "missing")
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([missing, first, second]))
    default = connect(ConnectionOptions())
    assert (default.context_name, default.namespace, default.host) == ("one", "ns-one", api_server.url)
    other = connect(ConnectionOptions(context="two"))
    assert (other.context_name, other.namespace, other.host) == ("two", "ns-two", "http://127.0.0.1:1")
    flagged = connect(ConnectionOptions(context="two", namespace="mine"))
    assert flagged.namespace == "mine"


def test_namespace_falls_back_to_default(api_server, tmp_path):
    path = _kubeconfig(tmp_path / "c", api_server.url, context="bare")
    assert connect(ConnectionOptions(kubeconfig=path)).namespace == "default"


def test_configuration_errors_are_clear(tmp_path, monkeypatch):
    with pytest.raises(ClusterError, match=r"kubeconfig file .*nope not found"):
        connect(ConnectionOptions(kubeconfig=str(tmp_path / "nope")))
    path = _kubeconfig(tmp_path / "c", "http://127.0.0.1:1", context="only")
    with pytest.raises(ClusterError, match=r'context "prod" not found in kubeconfig .* \(contexts: only\)'):
        connect(ConnectionOptions(kubeconfig=path, context="prod"))
    no_current = _kubeconfig(tmp_path / "d", "http://127.0.0.1:1", context="only", current=False)
    with pytest.raises(ClusterError, match="no current context is set"):
        connect(ConnectionOptions(kubeconfig=no_current))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(ClusterError, match="no kubeconfig found and not running in a pod"):
        connect(ConnectionOptions())


def test_home_kubeconfig_is_the_default(api_server, tmp_path, monkeypatch):
    (tmp_path / ".kube").mkdir()
    _kubeconfig(tmp_path / ".kube" / "config", api_server.url, context="home", namespace="dynamo")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    found = connect(ConnectionOptions())
    assert (found.context_name, found.namespace) == ("home", "dynamo")
    assert found.list(kinds.NAMESPACE).items


def test_bearer_token_is_sent(api_server, tmp_path):
    api_server.require_token("s3cret")
    good = connect(ConnectionOptions(kubeconfig=_kubeconfig(tmp_path / "good", api_server.url, context="c", token="s3cret")))
    assert good.list(kinds.NAMESPACE).items
    assert api_server.requests[-1].headers["authorization"] == "Bearer s3cret"
    bad = connect(ConnectionOptions(kubeconfig=_kubeconfig(tmp_path / "bad", api_server.url, context="c", token="wrong")))
    with pytest.raises(ClusterError) as raised:
        bad.list(kinds.NAMESPACE)
    assert raised.value.status == 401
    assert str(raised.value) == 'the API server rejected the credentials of context "c" (401 Unauthorized)'


def test_exec_plugin_token(api_server, tmp_path):
    api_server.require_token("from-plugin")
    plugin = tmp_path / "credential-plugin"
    plugin.write_text(
        "#!/bin/sh\n"
        'echo \'{"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential", "status": {"token": "from-plugin"}}\'\n'
    )
    plugin.chmod(0o755)
    path = api_server.write_kubeconfig(tmp_path / "exec", user={"exec": {
        "apiVersion": "client.authentication.k8s.io/v1", "command": str(plugin), "interactiveMode": "Never",
    }})
    assert connect(ConnectionOptions(kubeconfig=path)).list(kinds.NAMESPACE).items


def test_client_certificate_over_tls(tmp_path, pki):
    tls = TLSFiles(cert=pki.server_cert, key=pki.server_key, ca=pki.ca, client_ca=pki.ca)
    with FakeApiServer(tmp_path / "tls", tls=tls) as server:
        path = server.write_kubeconfig(tmp_path / "cert", user={"client-certificate": pki.client_cert, "client-key": pki.client_key})
        found = connect(ConnectionOptions(kubeconfig=path))
        assert found.host.startswith("https://127.0.0.1:")
        assert found.list(kinds.NAMESPACE).items
        assert server.requests[-1].client_cert_subject == "cert-user"
        # Without a client certificate the server ends the handshake.
        no_cert = connect(ConnectionOptions(kubeconfig=server.write_kubeconfig(tmp_path / "nocert")))
        no_cert.sleep = lambda seconds: None
        with pytest.raises(ClusterError) as raised:
            no_cert.list(kinds.NAMESPACE)
        assert raised.value.status == 0


def test_tls_verification_failure(tmp_path, pki):
    tls = TLSFiles(cert=pki.server_cert, key=pki.server_key, ca=pki.ca)
    with FakeApiServer(tmp_path / "tls", tls=tls) as server:
        path = server.write_kubeconfig(tmp_path / "wrong-ca", cluster={"server": server.url, "certificate-authority": pki.other_ca})
        with pytest.raises(ClusterError) as raised:
            connect(ConnectionOptions(kubeconfig=path)).list(kinds.NAMESPACE)
        assert str(raised.value).startswith(f"cannot verify the TLS certificate of the API server {server.url}")
        assert "certificate-authority" in raised.value.hint


def test_in_cluster_service_account(tmp_path, pki, monkeypatch):
    tls = TLSFiles(cert=pki.server_cert, key=pki.server_key, ca=pki.ca)
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text("sa-token")
    (account / "namespace").write_text("dynamo-system")
    Path(account / "ca.crt").write_bytes(Path(pki.ca).read_bytes())
    with FakeApiServer(tmp_path / "tls", tls=tls) as server:
        server.require_token("sa-token")
        monkeypatch.setattr(cluster_config, "SERVICE_ACCOUNT_DIR", account)
        monkeypatch.setenv("HOME", str(tmp_path))
        monkeypatch.delenv("KUBECONFIG", raising=False)
        monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
        monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(server.port))
        found = connect(ConnectionOptions())
        assert (found.context_name, found.namespace) == ("", "dynamo-system")
        assert found.list(kinds.NAMESPACE).items


# -- transport failures -------------------------------------------------------------------


def test_connection_refused_and_dns(tmp_path):
    refused = connect(ConnectionOptions(kubeconfig=_kubeconfig(tmp_path / "r", "http://127.0.0.1:9", context="c")))
    with pytest.raises(ClusterError) as raised:
        refused.list(kinds.DGD)
    assert str(raised.value) == "cannot connect to the API server at http://127.0.0.1:9: connection refused"
    unresolvable = connect(ConnectionOptions(kubeconfig=_kubeconfig(tmp_path / "d", "http://no-such-host.invalid:6443", context="c")))
    with pytest.raises(ClusterError) as raised:
        unresolvable.list(kinds.DGD)
    assert str(raised.value) == "cannot resolve the API server host of http://no-such-host.invalid:6443"


def test_not_found_names_the_object_and_suggests_namespaces(api_server, cluster):
    with pytest.raises(NotFoundError) as raised:
        cluster.get(kinds.DGD, "nope")
    assert str(raised.value) == 'dynamographdeployments.nvidia.com "nope" in namespace "dynamo" not found'
    assert "-n NAMESPACE" in raised.value.hint
    assert "-A" in raised.value.hint
    assert raised.value.exit_code == 4
    with pytest.raises(NotFoundError) as raised:
        cluster.create(kinds.CONFIG_MAP, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}, namespace="nowhere")
    assert str(raised.value) == 'namespace "nowhere" not found'


def test_failing_exec_plugin_is_reported(api_server, tmp_path, capfd):
    plugin = tmp_path / "broken-plugin"
    plugin.write_text("#!/bin/sh\necho 'token expired, run: corp-login' >&2\nexit 1\n")
    plugin.chmod(0o755)
    path = api_server.write_kubeconfig(tmp_path / "exec", user={"exec": {
        "apiVersion": "client.authentication.k8s.io/v1", "command": str(plugin), "interactiveMode": "Never",
    }})
    with pytest.raises(ClusterError) as raised:
        connect(ConnectionOptions(kubeconfig=path))
    assert str(raised.value).startswith('cannot get credentials for context "fakeapi": exec: process returned 1')
    assert "token expired, run: corp-login" in str(raised.value)
    assert api_server.requests == []


def test_proxy_not_found_names_service_or_path(api_server, cluster):
    api_server.seed({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "source-controller", "namespace": "flux-system"}})
    with pytest.raises(NotFoundError) as raised:
        b"".join(cluster.proxy_get("source-controller", "/gitrepository/x.tar.gz", namespace="flux-system"))
    assert str(raised.value) == '/gitrepository/x.tar.gz not found behind service "source-controller" in namespace "flux-system": 404 page not found'
    with pytest.raises(NotFoundError) as raised:
        b"".join(cluster.proxy_get("nope", "x", namespace="flux-system"))
    assert str(raised.value) == 'service "nope" not found in namespace "flux-system"'
    api_server.inject("GET", "/proxy/", 403)
    with pytest.raises(ClusterError) as raised:
        b"".join(cluster.proxy_get("source-controller", "x", namespace="flux-system"))
    assert str(raised.value) == 'forbidden: RBAC does not allow you to get services/proxy "source-controller" in namespace "flux-system"'


def test_watch_hides_bookmarks(api_server, cluster):
    api_server.seed(GRAPH)
    events = list(cluster.watch(kinds.DGD, timeout_seconds=1))
    assert [(e.type, e.object["metadata"]["name"]) for e in events] == [("ADDED", "llm")]
    assert api_server.requests_for("watch")[0].query["allowWatchBookmarks"] == "true"


def test_relative_certificate_paths_resolve_next_to_kubeconfig(tmp_path, pki, monkeypatch):
    tls = TLSFiles(cert=pki.server_cert, key=pki.server_key, ca=pki.ca, client_ca=pki.ca)
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    for source, name in ((pki.ca, "ca.crt"), (pki.client_cert, "user.crt"), (pki.client_key, "user.key")):
        (config_dir / name).write_bytes(Path(source).read_bytes())
    with FakeApiServer(tmp_path / "tls", tls=tls) as server:
        path = server.write_kubeconfig(
            config_dir / "kubeconfig",
            cluster={"server": server.url, "certificate-authority": "ca.crt"},
            user={"client-certificate": "user.crt", "client-key": "user.key"},
        )
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("KUBECONFIG", path)
        assert connect(ConnectionOptions()).list(kinds.NAMESPACE).items
        assert server.requests[-1].client_cert_subject == "cert-user"


def test_list_follows_continue_tokens(api_server, cluster, monkeypatch):
    from kubectl_dynamo.cluster import kube

    monkeypatch.setattr(kube, "LIST_PAGE", 2)
    api_server.seed(*[{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}", "namespace": "dynamo"}} for i in range(5)])
    listed = cluster.list(kinds.CONFIG_MAP)
    assert [o["metadata"]["name"] for o in listed.items] == ["c0", "c1", "c2", "c3", "c4"]
    pages = api_server.requests_for("list")
    assert [r.query.get("limit") for r in pages] == ["2", "2", "2"]
    assert "continue" not in pages[0].query
    assert listed.resource_version == str(api_server.store.rv)


# Run in a fresh interpreter: pytest captures logging and warnings, which would hide
# what urllib3 prints on a user's terminal.
QUIET_SCRIPT = """
import sys
from kubectl_dynamo.api import kinds
from kubectl_dynamo.cluster.kube import connect
from kubectl_dynamo.cluster.protocol import ConnectionOptions, LogOptions
cluster = connect(ConnectionOptions(kubeconfig=sys.argv[1], namespace="dynamo"))
cluster.list(kinds.NAMESPACE)
cluster.list(kinds.NAMESPACE)
if len(sys.argv) > 2:
    streams = [cluster.stream_logs(f"web-{i}", LogOptions(follow=True)) for i in range(int(sys.argv[2]))]
    print(sum(1 for stream in streams if next(stream).startswith("hello")))
    sys.stdout.flush()
    print(sum(len(list(stream)) for stream in streams))
"""


def run_quiet_script(*args):
    import subprocess
    import sys

    from tests.conftest import REPO

    return subprocess.run([sys.executable, "-c", QUIET_SCRIPT, *args], capture_output=True, text=True, cwd=REPO, timeout=60)


def test_insecure_skip_tls_verify_is_quiet(tmp_path, pki):
    tls = TLSFiles(cert=pki.server_cert, key=pki.server_key, ca=pki.ca)
    with FakeApiServer(tmp_path / "tls", tls=tls) as server:
        path = server.write_kubeconfig(tmp_path / "insecure", cluster={"server": server.url, "insecure-skip-tls-verify": True})
        result = run_quiet_script(path)
    assert result.returncode == 0
    assert result.stderr == ""


def test_many_concurrent_streams_are_quiet(api_server):
    from tests.fakeapi.objects import pod

    names = [f"web-{i}" for i in range(40)]
    api_server.seed(*[pod(name, "dynamo") for name in names])
    for name in names:
        api_server.set_logs("dynamo", name, "main", [f"hello from {name}"])
    api_server.after(3, api_server.close_log_streams)
    result = run_quiet_script(api_server.kubeconfig, "40")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["40", "0"]
    assert result.stderr == ""


def test_proxy_url_and_proxy_environment(api_server, tmp_path, monkeypatch):
    # The test server also serves absolute-URI requests, so it can stand in for a proxy.
    far = "http://cluster.invalid:6443"
    path = api_server.write_kubeconfig(tmp_path / "proxied", cluster={"server": far, "proxy-url": api_server.url})
    assert connect(ConnectionOptions(kubeconfig=path)).list(kinds.NAMESPACE).items
    assert api_server.requests[-1].via_proxy
    plain = api_server.write_kubeconfig(tmp_path / "plain", cluster={"server": far})
    monkeypatch.setenv("HTTP_PROXY", api_server.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert connect(ConnectionOptions(kubeconfig=plain)).list(kinds.NAMESPACE).items
    assert api_server.requests[-1].via_proxy
    # Loopback servers are never proxied from the environment, as in client-go.
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    assert connect(ConnectionOptions(kubeconfig=api_server.kubeconfig)).list(kinds.NAMESPACE).items
    assert not api_server.requests[-1].via_proxy


def test_no_proxy_rules():
    from kubectl_dynamo.cluster.config import proxy_for

    env = {"HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": "internal.example,10.0.0.0/8,.corp:6443"}
    assert proxy_for("https://api.example:6443", None, env) == "http://proxy:3128"
    assert proxy_for("https://k8s.internal.example:6443", None, env) is None
    assert proxy_for("https://10.1.2.3:6443", None, env) is None
    assert proxy_for("https://api.corp:6443", None, env) is None
    assert proxy_for("https://api.corp:443", None, env) == "http://proxy:3128"
    assert proxy_for("http://api.example", None, env) is None
    assert proxy_for("https://localhost:6443", None, env) is None
    assert proxy_for("https://10.1.2.3:6443", "http://explicit:8080", env) == "http://explicit:8080"


def test_request_timeout_on_streams(api_server, tmp_path):
    from tests.fakeapi.objects import pod

    api_server.seed(pod("web-1", "dynamo"), {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc", "namespace": "dynamo"}})
    api_server.set_logs("dynamo", "web-1", "main", ["one"])
    api_server.serve_proxy("dynamo", "svc", "file", b"data")
    timed = connect(ConnectionOptions(kubeconfig=api_server.kubeconfig, namespace="dynamo", request_timeout=0.5))
    timed.sleep = lambda seconds: None
    api_server.delay("GET", "/proxy/file$", 3)
    with pytest.raises(ClusterError, match="did not respond to get of services/proxy .* within 0.5s"):
        b"".join(timed.proxy_get("svc", "file"))
    api_server.delay("GET", "/log$", 3)
    with pytest.raises(ClusterError, match="within 0.5s"):
        list(timed.stream_logs("web-1", LogOptions()))
    # A followed log may stay quiet longer than the timeout.
    follow = timed.stream_logs("web-1", LogOptions(follow=True))
    assert next(follow) == "one"
    api_server.after(1.2, api_server.append_logs, "dynamo", "web-1", "main", ["two"])
    assert next(follow) == "two"
    follow.close()
