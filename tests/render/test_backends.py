"""Backend rewrites against the operator's golden vectors (backend_*_test.go, Dynamo 0.8.0)."""

from __future__ import annotations

import copy

import pytest

from kubectl_dynamo.errors import InputError
from kubectl_dynamo.render.v0_8 import backends
from tests.render.golden_loader import cases, load_golden

VLLM = load_golden("dcd-backend-vllm-multinode.yaml")
SGLANG = load_golden("dcd-backend-sglang-multinode.yaml")
TRTLLM = load_golden("dcd-backend-trtllm-multinode.yaml")
SSH_SECRET = "mpi-run-ssh-secret"
PROBES = ("livenessProbe", "readinessProbe", "startupProbe")


class SimpleDeployer:
    """The Go tests' mockSimple: a fixed leader host and a rank without shell expansion."""

    needs_dns_wait = False

    def leader_hostname(self, service_name):
        return "leader.example.com"

    def node_rank(self):
        return "1", False


class ShellDeployer:
    """The Go tests' mockShell: variables that need a shell to expand."""

    needs_dns_wait = False

    def leader_hostname(self, service_name):
        return "$(LEADER_HOST)"

    def node_rank(self):
        return "$(WORKER_INDEX)", True


DEPLOYERS = {"grove": backends.GROVE, "lws": backends.LWS, "mockSimple": SimpleDeployer(), "mockShell": ShellDeployer()}


def gpu_component(gpu_limit):
    return {} if gpu_limit is None else {"resources": {"limits": {"gpu": gpu_limit}}}


def expected_args(expected, container_before):
    return container_before.get("args") if expected["args"] == "unchanged" else expected["args"]


@pytest.mark.parametrize("name,given,expected", cases(VLLM, "UpdateContainer"))
def test_vllm_update_container(name, given, expected):
    container = copy.deepcopy(given["container"])
    backends.update_container(
        backends.VLLM, container, given["numberOfNodes"], given["role"], gpu_component(given["gpuLimit"]),
        "test-service", DEPLOYERS[given["deployer"]], SSH_SECRET,
    )
    assert container.get("args") == expected_args(expected, given["container"])
    if expected.get("probesRemoved"):
        assert not any(probe in container for probe in PROBES)


@pytest.mark.parametrize("name,given,expected", cases(VLLM, "updateVLLMMultinodeArgs"))
def test_vllm_multinode_args(name, given, expected):
    container = copy.deepcopy(given["container"])
    resources = gpu_component(given["gpuLimit"]).get("resources")
    backends.update_vllm_multinode_args(container, given["role"], "test-service", DEPLOYERS[given["deployer"]], resources)
    assert container.get("args") == expected_args(expected, given["container"])


@pytest.mark.parametrize("name,given,expected", cases(VLLM, "ShellCommandInjection"))
def test_vllm_shell_command_injection(name, given, expected):
    container = copy.deepcopy(given["container"])
    backends.update_container(
        backends.VLLM, container, given["numberOfNodes"], given["role"], gpu_component(given["gpuLimit"]),
        "test-service", DEPLOYERS[given["deployer"]], SSH_SECRET,
    )
    assert container["command"] == expected["command"]
    assert container["args"] == expected["args"]


@pytest.mark.parametrize("role,kept", [(backends.ROLE_LEADER, True), (backends.ROLE_WORKER, False), (backends.ROLE_MAIN, True)])
def test_vllm_multinode_probes(role, kept):
    container = {"command": ["python3"], "args": ["-m", "dynamo.vllm"]}
    for probe in PROBES:
        container[probe] = {"httpGet": {"path": "/live", "port": "system"}}
    backends.update_container(backends.VLLM, container, 2, role, gpu_component("8"), "svc", backends.LWS, SSH_SECRET)
    for probe in PROBES:
        assert (probe in container) == kept


def test_vllm_ray_sets_shell_command():
    container = {"command": ["python3"], "args": ["-m", "dynamo.vllm", "--tensor-parallel-size", "16"]}
    backends.update_vllm_multinode_args(container, backends.ROLE_LEADER, "svc", backends.GROVE, {"limits": {"gpu": "8"}})
    assert container["command"] == ["/bin/sh", "-c"]


def test_vllm_data_parallel_python_command_becomes_shell():
    container = {"command": ["python3"], "args": ["-m", "dynamo.vllm", "--data-parallel-size", "16"]}
    backends.update_vllm_multinode_args(container, backends.ROLE_LEADER, "svc", backends.GROVE, {"limits": {"gpu": "8"}})
    assert container["command"] == ["sh", "-c"]


def test_vllm_without_gpu_count_keeps_single_node_launch():
    """With GPUs only from resource claims (no scalar gpu) Dynamo 0.8.0 injects no distributed launch."""
    container = {"command": ["python3"], "args": ["-m", "dynamo.vllm", "--tensor-parallel-size", "16"]}
    resources = {"claims": [{"name": "gpus"}]}
    backends.update_vllm_multinode_args(container, backends.ROLE_LEADER, "svc", backends.GROVE, resources)
    assert container == {"command": ["python3"], "args": ["-m", "dynamo.vllm", "--tensor-parallel-size", "16"]}
    assert backends.vllm_launch_mode(container, resources) == ""


@pytest.mark.parametrize(
    "name,given,expected", cases(SGLANG, "PythonCommandInjection") + cases(SGLANG, "ShellCommandInjection")
)
def test_sglang_command_injection(name, given, expected):
    container = copy.deepcopy(given["container"])
    backends.update_container(
        backends.SGLANG, container, given["numberOfNodes"], given["role"], {}, "test-service", DEPLOYERS[given["deployer"]], SSH_SECRET
    )
    assert container["command"] == expected["command"]
    assert container["args"] == expected["args"]


@pytest.mark.parametrize("name,given,expected", cases(SGLANG, "getMultinodeFlags"))
def test_sglang_multinode_flags(name, given, expected):
    flags, needs_shell = backends.sglang_multinode_flags(given["numberOfNodes"], given["role"], "test-service", DEPLOYERS[given["deployer"]])
    assert flags == expected["flags"]
    assert needs_shell == expected["needsShell"]


@pytest.mark.parametrize("name,given,expected", cases(SGLANG, "ProbeRemoval"))
def test_sglang_probe_removal(name, given, expected):
    container = {"args": ["python -m dynamo.sglang"]}
    for probe in PROBES:
        container[probe] = {"httpGet": {"path": "/live", "port": "system"}}
    backends.update_container(
        backends.SGLANG, container, given["numberOfNodes"], given["role"], {}, "test-service", DEPLOYERS[given["deployer"]], SSH_SECRET
    )
    for probe in PROBES:
        assert (probe not in container) == expected["probesRemoved"]


@pytest.mark.parametrize("name,given,expected", cases(TRTLLM, "UpdateContainer"))
def test_trtllm_update_container(name, given, expected):
    container = {"args": ["python3", "--model", "test"], "livenessProbe": {}, "readinessProbe": {}, "startupProbe": {}}
    backends.update_container(
        backends.TRTLLM, container, given["numberOfNodes"], given["role"], given["component"], "test-service",
        DEPLOYERS[given["deployer"]], SSH_SECRET,
    )
    assert container.get("volumeMounts", []) == expected["volumeMounts"]
    assert container.get("command", []) == expected["command"]
    assert container["args"] == expected["args"]
    assert container.get("env", []) == expected["env"]
    for probe in PROBES:
        state = expected[probe]
        if state == "kept":
            assert container[probe] == {}
        elif state == "removed":
            assert probe not in container
        else:
            assert container[probe] == state


@pytest.mark.parametrize("name,given,expected", cases(TRTLLM, "setupLeaderContainer"))
def test_trtllm_leader_setup(name, given, expected):
    container = copy.deepcopy(given["container"])
    backends.trtllm_leader_setup(container, given["numberOfNodes"], given["serviceName"], given["component"], DEPLOYERS[given["deployer"]])
    assert container["command"] == expected["command"]
    assert container["args"] == expected["args"]


@pytest.mark.parametrize("name,given,expected", cases(TRTLLM, "setupWorkerContainer"))
def test_trtllm_worker_setup(name, given, expected):
    container = copy.deepcopy(given["container"])
    backends.trtllm_worker_setup(container)
    assert container["command"] == expected["command"]
    assert container["args"] == expected["args"]


@pytest.mark.parametrize("name,given,expected", cases(TRTLLM, "hostNamesList"))
def test_trtllm_host_names(name, given, expected):
    assert DEPLOYERS[given["deployer"]].host_names(given["serviceName"], given["numberOfNodes"]) == expected


@pytest.mark.parametrize("name,given,expected", cases(TRTLLM, "getGPUsPerNode"))
def test_trtllm_gpus_per_node(name, given, expected):
    assert backends.trtllm_gpus_per_node(given) == expected


@pytest.mark.parametrize("name,given,expected", cases(TRTLLM, "UpdatePodSpec"))
def test_trtllm_update_pod_spec(name, given, expected):
    pod_spec = {"volumes": copy.deepcopy(given["initialVolumes"])}
    backends.update_pod_spec(backends.TRTLLM, pod_spec, given["numberOfNodes"], SSH_SECRET)
    assert len(pod_spec["volumes"]) == expected["volumeCount"]
    ssh = [volume for volume in pod_spec["volumes"] if volume["name"] == SSH_SECRET]
    assert ssh == ([expected["sshVolume"]] if expected["sshVolume"] else [])


@pytest.mark.parametrize(
    "component_type,command,args,explicit,expected",
    [
        ("frontend", ["python3"], ["-m", "dynamo.vllm"], "sglang", backends.NOOP),
        ("worker", ["python3"], ["-m", "dynamo.vllm"], "", backends.VLLM),
        ("decode", [], ["python3 -m dynamo.sglang --tp 8"], "", backends.SGLANG),
        ("prefill", ["sh", "-c"], ["python3.11 -m dynamo.trtllm"], "trtllm", backends.TRTLLM),
        ("worker", [], [], "vllm", backends.VLLM),
        ("worker", ["python3"], ["-m", "my.module"], "", backends.NOOP),
        ("worker", ["python3"], ["-m", "my.module"], "sglang", backends.SGLANG),
        ("", ["python3"], ["-m", "dynamo.vllm"], "", backends.NOOP),
    ],
)
def test_determine_framework(component_type, command, args, explicit, expected):
    assert backends.determine_framework(component_type, command, args, explicit) == expected


def test_framework_mismatch_is_an_error():
    with pytest.raises(InputError, match="backend framework mismatch"):
        backends.determine_framework("worker", ["python3"], ["-m", "dynamo.vllm"], "sglang")


def test_several_frameworks_without_explicit_is_an_error():
    args = ["python -m dynamo.vllm && python -m dynamo.sglang"]
    with pytest.raises(InputError, match="could not determine backend framework"):
        backends.determine_framework("worker", ["sh", "-c"], args, "")
    assert backends.determine_framework("worker", ["sh", "-c"], args, "trtllm") == backends.TRTLLM


def test_unknown_framework_is_an_error():
    with pytest.raises(InputError, match="unsupported backend framework"):
        backends.update_container("mlc", {}, 1, backends.ROLE_MAIN, {}, "svc", backends.GROVE, SSH_SECRET)


@pytest.mark.parametrize(
    "command",
    [
        "python", "python3", "python2", "python3.11", "python3.12.1", "/usr/bin/python", "/usr/bin/python3.8",
        "/opt/python/bin/python3.11", "/home/user/.pyenv/shims/python3.9", "./python3", "../bin/python", "bin/python3.10",
    ],
)
def test_python_commands(command):
    assert backends.is_python_command(command)


@pytest.mark.parametrize(
    "command",
    [
        "java", "sh", "node", "python-config", "/usr/bin/python-config", "", "python ", "/usr/bin/python ",
        "pythonx", "/usr/bin/pythonx", "/usr/bin/", "python/", "/usr/bin/python/", "python\n", "ipython",
    ],
)
def test_non_python_commands(command):
    assert not backends.is_python_command(command)


@pytest.mark.parametrize(
    "command,args,launched",
    [
        (["sh", "-c"], ["launch", "--config", "test.yaml"], "launch --config test.yaml"),
        (["python3"], ["-m", "dynamo.trtllm", "--model-path", "test"], "python3 -m dynamo.trtllm --model-path test"),
        (["python3", "-m", "dynamo.trtllm"], ["--model-path", "Qwen/Qwen3-0.6B"], "python3 -m dynamo.trtllm --model-path Qwen/Qwen3-0.6B"),
        (["/usr/bin/python3.8"], ["-m", "dynamo.trtllm"], "/usr/bin/python3.8 -m dynamo.trtllm"),
        ([], ["serve", "--model", "test"], "serve --model test"),
        (["original", "command"], [], "original command"),
    ],
)
def test_trtllm_leader_launch_command(command, args, launched):
    container = {"command": command, "args": args}
    backends.trtllm_leader_setup(container, 2, "test", {"resources": {"limits": {"gpu": "1"}}}, backends.GROVE)
    assert container["command"] == ["/bin/sh", "-c"]
    assert container["args"][0].endswith(f" -x USER bash -c 'trtllm-llmapi-launch {launched}'")
    assert " -n 2 -H $(GROVE_PCSG_NAME)-$(GROVE_PCSG_INDEX)-test-ldr-0.$(GROVE_HEADLESS_SERVICE)," in container["args"][0]
