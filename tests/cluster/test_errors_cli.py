"""API and transport failures reach the user as one clear line and exit code 3 (4 for
not found), through the real command line, with the traceback only under --debug."""

import pytest

from kubectl_dynamo.errors import ExitCode
from tests.cluster.certs import make_pki
from tests.fakeapi import FakeApiServer, TLSFiles

GRAPH = """
apiVersion: nvidia.com/v1alpha1
kind: DynamoGraphDeployment
metadata: {name: llm, namespace: dynamo}
spec:
  services:
    Frontend: {replicas: 1, componentType: frontend}
"""

# Retry-After: 0 keeps the retries of reads from sleeping in these tests.
READ_FAILURES = [
    (401, 'error: the API server rejected the credentials of context "fakeapi" (401 Unauthorized)'),
    (403, 'error: forbidden: RBAC does not allow you to list dynamographdeployments.nvidia.com in namespace "dynamo"'),
    (429, "error: the API server is overloaded and kept rejecting list of dynamographdeployments.nvidia.com"),
    (500, 'error: the API server failed to list dynamographdeployments.nvidia.com in namespace "dynamo"'),
    (503, 'error: the API server failed to list dynamographdeployments.nvidia.com in namespace "dynamo"'),
]


def assert_one_error(result, code, first_line):
    assert result.exit_code == code, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith(first_line), lines
    assert len(lines) <= 2, lines  # the error and at most one hint
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("status, first_line", READ_FAILURES)
def test_read_failure_is_one_line(api_server, live_cli, status, first_line):
    api_server.seed(GRAPH)
    api_server.inject("GET", "dynamographdeployments", status, count=10, headers={"Retry-After": "0"})
    assert_one_error(live_cli(["get", "-n", "dynamo"]), ExitCode.CLUSTER, first_line)


def test_missing_graph_is_exit_4(api_server, live_cli):
    result = live_cli(["status", "nope", "-n", "dynamo"])
    assert_one_error(result, ExitCode.NOT_FOUND, 'error: dynamographdeployments.nvidia.com "nope" not found in namespace "dynamo"')
    assert "-A" in result.stderr.splitlines()[1]


def test_debug_shows_the_traceback(api_server, live_cli):
    api_server.inject("GET", "dynamographdeployments", 403)
    result = live_cli(["get", "-n", "dynamo", "--debug"])
    assert result.exit_code == ExitCode.CLUSTER
    assert "Traceback" in result.stderr
    assert "forbidden: RBAC does not allow you to list" in result.stderr


def test_forbidden_hint_quotes_the_server(api_server, live_cli):
    api_server.inject("GET", "dynamographdeployments", 403)
    result = live_cli(["get", "-n", "dynamo"])
    assert result.stderr.splitlines()[1] == (
        'The API server said: dynamographdeployments.nvidia.com is forbidden: User "jane" cannot list resource '
        '"dynamographdeployments" in API group "nvidia.com" in the namespace "dynamo"'
    )


def test_invalid_write_shows_the_causes(api_server, live_cli):
    api_server.seed(GRAPH)
    causes = [{"reason": "FieldValueInvalid", "field": "spec.services.Frontend.replicas", "message": "Invalid value: 3: must be at most 2"}]
    body = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Invalid", "code": 422,
            "message": 'DynamoGraphDeployment.nvidia.com "llm" is invalid: spec.services.Frontend.replicas: Invalid value: 3: must be at most 2',
            "details": {"name": "llm", "group": "nvidia.com", "kind": "DynamoGraphDeployment", "causes": causes}}
    api_server.inject("PATCH", "dynamographdeployments/llm$", 422, count=10, body=body)
    result = live_cli(["scale", "llm", "Frontend=3", "-n", "dynamo"])
    assert_one_error(result, ExitCode.CLUSTER, "error: failed to scale dynamographdeployment.nvidia.com/llm: the API server rejected patch")
    assert "spec.services.Frontend.replicas: Invalid value: 3: must be at most 2" in result.stderr
    assert len(api_server.requests_for("patch")) == 1


def test_connection_refused(live_cli, api_server, tmp_path):
    path = api_server.write_kubeconfig(tmp_path / "refused", cluster={"server": "http://127.0.0.1:9"})
    result = live_cli(["get", "--kubeconfig", path])
    assert_one_error(result, ExitCode.CLUSTER, "error: cannot connect to the API server at http://127.0.0.1:9: connection refused")


def test_unresolvable_host(live_cli, api_server, tmp_path):
    path = api_server.write_kubeconfig(tmp_path / "dns", cluster={"server": "https://no-such-host.invalid:6443"})
    result = live_cli(["get", "--kubeconfig", path])
    assert_one_error(result, ExitCode.CLUSTER, "error: cannot resolve the API server host of https://no-such-host.invalid:6443")


def test_request_timeout(live_cli, api_server):
    api_server.delay("GET", "dynamographdeployments", 5, count=10)
    result = live_cli(["get", "-n", "dynamo", "--request-timeout", "0.3"])
    assert_one_error(result, ExitCode.CLUSTER, "error: the API server at http://127.0.0.1:")
    assert "did not respond to list of dynamographdeployments.nvidia.com in namespace \"dynamo\" within 0.3s" in result.stderr


def test_dropped_connection(live_cli, api_server):
    api_server.drop_connection("GET", "dynamographdeployments", after_bytes=3, count=10)
    result = live_cli(["get", "-n", "dynamo"])
    assert_one_error(result, ExitCode.CLUSTER, "error: the connection to the API server at http://127.0.0.1:")


def test_tls_verification_failure(live_cli, tmp_path_factory, tmp_path):
    pki = make_pki(tmp_path_factory.mktemp("pki"))
    with FakeApiServer(tmp_path / "tls", tls=TLSFiles(pki.server_cert, pki.server_key, pki.ca)) as server:
        path = server.write_kubeconfig(tmp_path / "kubeconfig", cluster={"server": server.url, "certificate-authority": pki.other_ca})
        result = live_cli(["get", "--kubeconfig", path])
    assert_one_error(result, ExitCode.CLUSTER, f"error: cannot verify the TLS certificate of the API server {server.url}")


def test_missing_context(live_cli, api_server):
    result = live_cli(["get", "--context", "prod"])
    assert_one_error(result, ExitCode.CLUSTER, 'error: context "prod" not found in kubeconfig')


def test_verbose_traces_requests_and_retries(api_server, live_cli):
    api_server.seed(GRAPH)
    api_server.inject("GET", "dynamographdeployments", 503, headers={"Retry-After": "0"})
    result = live_cli(["get", "-n", "dynamo", "-v"])
    assert result.exit_code == 0, result.stderr
    debug = [line for line in result.stderr.splitlines() if line.startswith("debug: ")]
    assert debug[0].startswith('debug: context "fakeapi" (')
    path = f"{api_server.url}/apis/nvidia.com/v1alpha1/namespaces/dynamo/dynamographdeployments?limit=500"
    assert any(line.startswith(f"debug: GET {path} 503 in ") for line in debug)
    assert f"debug: retrying GET {path} in 0.0 s after status 503" in debug
    assert any(line.startswith(f"debug: GET {path} 200 in ") for line in debug)
    quiet = live_cli(["get", "-n", "dynamo"])
    assert "debug:" not in quiet.stderr


def test_negative_request_timeout_is_a_usage_error(api_server, live_cli):
    result = live_cli(["get", "--request-timeout", "-1"])
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.startswith("error: invalid --request-timeout -1: expected seconds >= 0")


def test_conflicting_write_is_exit_3(api_server, live_cli):
    api_server.seed(GRAPH)
    api_server.inject("PATCH", "dynamographdeployments/llm$", 409, count=10)
    result = live_cli(["scale", "llm", "Frontend=3", "-n", "dynamo"])
    assert result.exit_code == ExitCode.CLUSTER
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ")
    assert "nothing was written" in result.stderr.splitlines()[0]


@pytest.mark.parametrize("selector", ["bad label!!", "app=x,,tier=y", "app in (a,b"])
def test_invalid_selector_is_usage_error(api_server, live_cli, selector):
    api_server.seed(GRAPH)
    api_server.clear_requests()
    result = live_cli(["get", "-A", "-l", selector])
    assert_one_error(result, ExitCode.USAGE, f"error: invalid label selector {selector!r}")
    assert api_server.requests_for(verb="list") == []


def test_valid_set_selector_is_sent(api_server, live_cli):
    api_server.seed(GRAPH)
    result = live_cli(["get", "-A", "-l", "team in (a,b),!canary", "-o", "name"])
    assert result.exit_code == ExitCode.OK, result.stderr
    assert any(r.query.get("labelSelector") == "team in (a,b),!canary" for r in api_server.requests_for(verb="list"))


@pytest.mark.parametrize("text, first_line", [
    ("apiVersion: v1\nclusters: [\n", "error: invalid kubeconfig {path}: expected the node content"),
    ("- just\n- a list\n", "error: invalid kubeconfig {path}: expected a mapping with clusters, contexts and users"),
])
def test_invalid_kubeconfig_is_input_error(tmp_path, live_cli, text, first_line):
    path = tmp_path / "kubeconfig"
    path.write_text(text)
    result = live_cli(["get", "--kubeconfig", str(path)])
    assert_one_error(result, ExitCode.USAGE, first_line.format(path=path))
