"""The cluster layer imports only the client modules it needs, and the rest of the
client still works for code that imports it afterwards."""

import subprocess
import sys

from tests.conftest import REPO

LIVE_COMMAND = """
import sys
from kubectl_dynamo.cli import run
code = run(["get", "-n", "dynamo", "--kubeconfig", sys.argv[1]])
heavy = sorted(m for m in sys.modules if m.startswith(("kubernetes.client.models", "kubernetes.client.api.", "kubernetes.dynamic", "kubernetes.watch")))
print(code, len(heavy))
"""

LATER_IMPORTS = """
import sys
from kubectl_dynamo.cluster import client_import
client_import.load()
assert "kubernetes.client.models" not in sys.modules
from kubernetes.client import ApiClient
from kubernetes import client, watch
assert client.CoreV1Api.__name__ == "CoreV1Api"
assert watch.Watch.__name__ == "Watch"
assert isinstance(ApiClient(), client.ApiClient)
print("ok")
"""


def python(code, *args):
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=REPO, timeout=60)


def test_live_command_skips_generated_client(api_server):
    result = python(LIVE_COMMAND, api_server.kubeconfig)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0", "0"]


def test_rest_of_client_loads_on_demand():
    result = python(LATER_IMPORTS)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_offline_command_imports_no_client():
    result = python("import sys\nfrom kubectl_dynamo.cli import run\nrun(['version'])\nprint('kubernetes' in sys.modules)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "False"
