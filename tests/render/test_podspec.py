"""Pod spec pipeline against the operator's golden vectors (graph_test.go, Dynamo 0.8.0)."""

from __future__ import annotations

import pytest

from kubectl_dynamo.errors import InputError
from kubectl_dynamo.render.v0_8 import backends
from kubectl_dynamo.render.v0_8.components import ComponentContext, base_container
from kubectl_dynamo.render.v0_8.podspec import build_pod_spec, image_registry_host, merge_envs
from tests.render.golden_loader import api_form, cases, load_golden, operator_settings

POD_BASE = load_golden("dgd-pod-base.yaml")
DISCOVERY = load_golden("dgd-pod-discovery-and-pull-secrets.yaml")
VOLUMES = load_golden("dgd-pod-volume-mounts.yaml")
PLANNER = load_golden("dgd-planner.yaml")


def build(component, framework, settings=None, **kwargs):
    """Call the builder the way the Go tests call GenerateBasePodSpec."""
    arguments = dict(
        framework=framework,
        dgd_name="test-deployment",
        namespace="default",
        role=backends.ROLE_MAIN,
        settings=settings or operator_settings(),
        deployer=backends.GROVE,
        service_name="test-service",
    )
    arguments.update(kwargs)
    return build_pod_spec(component, **arguments)


def main_container(pod_spec):
    return next(container for container in pod_spec["containers"] if container["name"] == "main")


def env_map(container):
    return {item["name"]: item.get("value", "") for item in container["env"]}


def test_worker_pod_spec_matches_golden():
    case = POD_BASE["input"]["Worker"]
    pod_spec = build(case["component"], case["backend"])
    assert pod_spec == api_form(POD_BASE["expected"]["Worker"]["podSpec"]) | {"containers": pod_spec["containers"]}
    assert api_form(pod_spec["containers"]) == api_form(POD_BASE["expected"]["Worker"]["podSpec"]["containers"])


def test_worker_env_is_sorted_by_name():
    case = POD_BASE["input"]["Worker"]
    names = [item["name"] for item in main_container(build(case["component"], case["backend"]))["env"]]
    assert names == sorted(names)


@pytest.mark.parametrize("name,given,expected", cases(POD_BASE, "Frontend"))
def test_frontend_defaults(name, given, expected):
    container = main_container(build(given["component"], given["backend"]))
    assert container["command"] == expected["command"]
    assert container["args"] == expected["args"]
    for key, value in expected["envContains"].items():
        assert env_map(container)[key] == value


@pytest.mark.parametrize("name,given,expected", cases(POD_BASE, "SecurityContext"))
def test_security_context(name, given, expected):
    component = {"componentType": "frontend"}
    if given["extraPodSpecSecurityContext"] is not None:
        component["extraPodSpec"] = {"securityContext": given["extraPodSpecSecurityContext"]}
    assert build(component, backends.NOOP)["securityContext"] == expected


@pytest.mark.parametrize("name,given,expected", cases(POD_BASE, "ResourceClaims"))
def test_resource_claims(name, given, expected):
    pod_spec = build(given["component"], backends.TRTLLM)
    resources = main_container(pod_spec)["resources"]
    assert resources.get("claims") == expected["containerClaims"]
    assert pod_spec.get("resourceClaims") == expected["podResourceClaims"]
    if "volumes" in expected:
        assert pod_spec["volumes"] == expected["volumes"]
    for key in expected.get("requestsNonZero", []):
        assert resources["requests"][key] not in ("", "0")
    for key in expected.get("limitsNonZero", []):
        assert resources["limits"][key] not in ("", "0")


@pytest.mark.parametrize("name,given,expected", cases(DISCOVERY, "DiscoverBackend"))
def test_discovery_backend_env(name, given, expected):
    component = {"annotations": given["annotations"]} if given["annotations"] is not None else {}
    settings = operator_settings(given["operatorConfig"])
    env = [item for item in main_container(build(component, backends.SGLANG, settings))["env"] if item["name"] == "DYN_DISCOVERY_BACKEND"]
    assert env == ([expected["env"]] if expected["env"] else [])


@pytest.mark.parametrize("name,given,expected", cases(DISCOVERY, "DisableImagePullSecretDiscovery"))
def test_image_pull_secret_discovery(name, given, expected):
    component = {"componentType": "frontend", "extraPodSpec": {"mainContainer": {"image": "test-registry/test-image:latest"}}}
    if given["annotations"] is not None:
        component["annotations"] = given["annotations"]
    secrets = ["test-docker-secret"] if given["secretsRetriever"] == "withSecrets" else []
    pod_spec = build(component, backends.NOOP, operator_settings(docker_config_secrets=secrets))
    assert pod_spec.get("imagePullSecrets") == expected["imagePullSecrets"]


@pytest.mark.parametrize("name,given,expected", cases(VOLUMES, "VolumeMounts (backend vllm)"))
def test_volume_mounts(name, given, expected):
    component = {"componentType": "frontend", "volumeMounts": given["volumeMounts"]}
    if expected["error"]:
        with pytest.raises(InputError):
            build(component, backends.VLLM)
        return
    pod_spec = build(component, backends.VLLM)
    pvc_volumes = [volume["name"] for volume in pod_spec["volumes"] if "persistentVolumeClaim" in volume]
    assert pvc_volumes == expected["pvcVolumes"]
    assert main_container(pod_spec)["volumeMounts"] == expected["mounts"]


@pytest.mark.parametrize("name,given,expected", cases(VOLUMES, "UseAsCompilationCache_BackendSupport"))
def test_compilation_cache_mount_point(name, given, expected):
    component = {"componentType": "frontend", "volumeMounts": given["volumeMounts"]}
    if expected["error"]:
        with pytest.raises(InputError, match="mountPoint"):
            build(component, given["backend"])
        return
    pod_spec = build(component, given["backend"])
    if "pvcVolume" in expected:
        assert {"name": expected["pvcVolume"], "persistentVolumeClaim": {"claimName": expected["pvcVolume"]}} in pod_spec["volumes"]
        assert expected["mount"] in main_container(pod_spec)["volumeMounts"]


@pytest.mark.parametrize("name,given,expected", cases(VOLUMES, "VLLM_UpdateContainer_UseAsCompilationCache"))
def test_vllm_compilation_cache_env(name, given, expected):
    container = {"env": [], "volumeMounts": []}
    component = {"volumeMounts": given["volumeMounts"]} if given["volumeMounts"] is not None else {}
    backends.update_container(backends.VLLM, container, 1, backends.ROLE_MAIN, component, "test-service", backends.GROVE, "s")
    assert container["env"] == expected["env"]


@pytest.mark.parametrize("name,given,expected", cases(VOLUMES, "SGLang_and_TRTLLM_UpdateContainer_UseAsCompilationCache"))
def test_other_backends_set_no_cache_env(name, given, expected):
    container = {"env": [], "volumeMounts": []}
    component = {"volumeMounts": given["volumeMounts"]}
    backends.update_container(given["backend"], container, 1, backends.ROLE_MAIN, component, "test-service", backends.GROVE, "s")
    assert container["env"] == expected["env"]


def test_defaulted_cache_mount_sets_no_vllm_env():
    component = {"componentType": "worker", "volumeMounts": [{"name": "cache", "useAsCompilationCache": True}]}
    container = main_container(build(component, backends.VLLM))
    assert {"name": "cache", "mountPath": "/root/.cache/vllm"} in container["volumeMounts"]
    assert "VLLM_CACHE_ROOT" not in env_map(container)


def test_vllm_cache_env_comes_after_sorted_env():
    component = {"componentType": "worker", "volumeMounts": [{"name": "cache", "mountPoint": "/cache", "useAsCompilationCache": True}]}
    env = main_container(build(component, backends.VLLM))["env"]
    assert env[-1] == {"name": "VLLM_CACHE_ROOT", "value": "/cache"}
    assert [item["name"] for item in env[:-1]] == sorted(item["name"] for item in env[:-1])


def test_planner_base_container_matches_golden():
    context = PLANNER["input"]["GetBaseContainer"]["componentContext"]
    container = base_container(
        ComponentContext(
            dynamo_namespace=context["dynamoNamespace"],
            component_type=context["componentType"],
            parent_dgd_name=context["parentGraphDeploymentName"],
            parent_dgd_namespace=context["parentGraphDeploymentNamespace"],
            discovery_backend=context["discoveryBackend"],
        )
    )
    assert container == PLANNER["expected"]["GetBaseContainer"]


@pytest.mark.parametrize("name,given,expected", cases(PLANNER, "PlannerServiceAccount"))
def test_planner_service_account(name, given, expected):
    pod_spec = build(given["component"], backends.SGLANG)
    assert pod_spec.get("serviceAccountName", "") == expected["serviceAccountName"]


def test_planner_metrics_port_and_env_agree():
    container = main_container(build({"componentType": "planner"}, backends.NOOP))
    assert container["ports"] == [{"name": "metrics", "containerPort": 9085, "protocol": "TCP"}]
    assert env_map(container)["PLANNER_PROMETHEUS_PORT"] == "9085"
    assert "PROMETHEUS_PORT" not in env_map(container)


def test_image_registry_host():
    assert image_registry_host("nvcr.io/nvidia/ai-dynamo/vllm-runtime:0.8.0") == "nvcr.io"
    assert image_registry_host("registry.local:5000/team/img:1") == "registry.local:5000"
    assert image_registry_host("python:3.12-slim") is None


def test_merge_envs_last_wins_and_sorts():
    merged = merge_envs([{"name": "B", "value": "1"}, {"name": "A", "value": "1"}], [{"name": "B", "value": "2"}])
    assert merged == [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]


# GeneratePodSpecForComponent cases of graph_test.go (Dynamo 0.8.0): the node count is
# passed in, the component has no multinode block, and the command line is checked.
POD_SPEC_FOR_COMPONENT = [
    ("sglang single node", backends.SGLANG, backends.ROLE_MAIN, 1, ["python3 -m dynamo.sglang"], None,
     ["python3", "-m", "dynamo.sglang"], ["dist-init-addr", "nnodes", "tp-size"]),
    ("sglang leader", backends.SGLANG, backends.ROLE_LEADER, 3, ["python3 -m dynamo.sglang"], None,
     ["python3", "-m", "dynamo.sglang", "dist-init-addr", "nnodes", "node-rank"], []),
    ("sglang worker", backends.SGLANG, backends.ROLE_WORKER, 3, ["python3 -m dynamo.sglang"], None,
     ["python3", "-m", "dynamo.sglang", "dist-init-addr", "nnodes", "node-rank"], []),
    ("vllm single node", backends.VLLM, backends.ROLE_MAIN, 1, ["python3", "-m", "dynamo.vllm"], None,
     ["python3", "-m", "dynamo.vllm"], ["ray start"]),
    ("vllm leader", backends.VLLM, backends.ROLE_LEADER, 3,
     ["python3", "-m", "dynamo.vllm", "--tensor-parallel-size", "4", "--pipeline-parallel-size", "1"], "2",
     ["ray start --head --port=6379", "python3", "-m", "dynamo.vllm"], []),
    ("vllm worker", backends.VLLM, backends.ROLE_WORKER, 3,
     ["python3", "-m", "dynamo.vllm", "--tensor-parallel-size", "4", "--pipeline-parallel-size", "1"], "2",
     ["ray start --address=$(GROVE_PCSG_NAME)-$(GROVE_PCSG_INDEX)-worker-ldr-0.$(GROVE_HEADLESS_SERVICE):6379 --block"],
     ["python3 -m dynamo.vllm"]),
    ("vllm prefill single node", backends.VLLM, backends.ROLE_MAIN, 1, ["python3", "-m", "dynamo.vllm", "--is-prefill-worker"], None,
     ["python3", "-m", "dynamo.vllm", "--is-prefill-worker"], ["ray start"]),
]


@pytest.mark.parametrize("name,framework,role,nodes,args,gpu,contains,not_contains", POD_SPEC_FOR_COMPONENT)
def test_pod_spec_for_component(name, framework, role, nodes, args, gpu, contains, not_contains):
    component = {"componentType": "worker", "extraPodSpec": {"mainContainer": {"args": args}}}
    if gpu:
        component["resources"] = {"limits": {"gpu": gpu}}
    pod_spec = build(component, framework, role=role, nodes=nodes, service_name="worker")
    container = pod_spec["containers"][0]
    command_line = " ".join(container["command"] + container["args"])
    assert container["name"] == "main"
    for text in contains:
        assert text in command_line
    for text in not_contains:
        assert text not in command_line


def test_user_command_without_args_keeps_it():
    component = {"componentType": "worker", "extraPodSpec": {"mainContainer": {"command": ["custom", "command"]}}}
    container = main_container(build(component, backends.SGLANG))
    assert container["command"] == ["custom", "command"]
    assert "args" not in container


def test_trtllm_single_node_worker_builds():
    assert main_container(build({"componentType": "worker"}, backends.TRTLLM))["command"] == ["/bin/sh", "-c"]
