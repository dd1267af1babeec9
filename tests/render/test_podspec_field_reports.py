"""Rendering cases from real user failures, asserting what Dynamo 0.8.0 renders.

Where a later operator changed the behaviour, the test pins the 0.8.0 result and its
docstring names the later change.
"""

from __future__ import annotations

import pytest

from kubectl_dynamo.errors import InputError
from kubectl_dynamo.render.v0_8 import backends, grove
from kubectl_dynamo.render.v0_8.podspec import build_pod_spec, pod_spec_warnings, rendered_pod_warnings
from kubectl_dynamo.render.v0_8.workloads import render_workloads
from tests.render.golden_loader import operator_settings


def build(component, framework=backends.NOOP, settings=None):
    return build_pod_spec(
        component,
        framework=framework,
        dgd_name="demo-graph",
        namespace="team-a",
        role=backends.ROLE_MAIN,
        settings=settings or operator_settings({"discoveryBackend": "kubernetes"}),
        deployer=backends.LWS,
        service_name="demo-graph-worker",
    )


def main_container(pod_spec):
    return pod_spec["containers"][-1]


def env_values(container, name):
    return [item.get("value") for item in container["env"] if item["name"] == name]


# GPU resources: the DGD key is `gpu`, rendered as nvidia.com/gpu or gpuType.


def test_gpu_limit_becomes_nvidia_gpu():
    container = main_container(build({"componentType": "worker", "resources": {"limits": {"gpu": "1"}}}))
    assert container["resources"] == {"limits": {"nvidia.com/gpu": "1"}}


def test_gpu_type_names_the_resource():
    resources = {"limits": {"gpu": "2", "gpuType": "amd.com/gpu", "custom": {"rdma/ib": "1"}}}
    container = main_container(build({"componentType": "worker", "resources": resources}))
    assert container["resources"] == {"limits": {"amd.com/gpu": "2", "rdma/ib": "1"}}


def test_gpu_request_alone_gives_no_gpu():
    container = main_container(build({"componentType": "worker", "resources": {"requests": {"gpu": "1", "cpu": "4"}}}))
    assert container["resources"] == {"requests": {"cpu": "4"}}


def test_quantities_are_canonical():
    resources = {"requests": {"cpu": "1000m", "memory": "2048Mi"}, "limits": {"memory": "1.5Gi"}}
    container = main_container(build({"resources": resources}))
    assert container["resources"] == {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"memory": "1536Mi"}}


# Env precedence: graph envs < mainContainer.env < service envs; operator env lowest.


def test_service_env_beats_main_container_env():
    component = {
        "componentType": "worker",
        "envs": [{"name": "HF_HOME", "value": "/service"}],
        "extraPodSpec": {"mainContainer": {"env": [{"name": "HF_HOME", "value": "/container"}, {"name": "A_FLAG", "value": "1"}]}},
    }
    container = main_container(build(component))
    assert env_values(container, "HF_HOME") == ["/service"]
    assert env_values(container, "A_FLAG") == ["1"]
    names = [item["name"] for item in container["env"]]
    assert names == sorted(names)


def test_graph_env_loses_to_service_env_on_grove():
    dgd = {
        "metadata": {"name": "demo-graph", "namespace": "team-a"},
        "spec": {
            "envs": [{"name": "HF_HOME", "value": "/graph"}, {"name": "GRAPH_ONLY", "value": "g"}],
            "services": {
                "worker": {
                    "componentType": "worker",
                    "replicas": 1,
                    "envs": [{"name": "HF_HOME", "value": "/service"}],
                    "extraPodSpec": {"mainContainer": {"env": [{"name": "HF_HOME", "value": "/container"}]}},
                }
            },
        },
    }
    pod_clique_set = grove.render_pod_clique_set(dgd, operator_settings(grove_enabled=True))
    container = pod_clique_set["spec"]["template"]["cliques"][0]["spec"]["podSpec"]["containers"][0]
    assert env_values(container, "HF_HOME") == ["/service"]
    assert env_values(container, "GRAPH_ONLY") == ["g"]


def test_user_env_overrides_operator_env():
    component = {"envs": [{"name": "NATS_SERVER", "value": "nats://mine:4222"}]}
    container = main_container(build(component, settings=operator_settings({"natsAddress": "nats://platform:4222"})))
    assert env_values(container, "NATS_SERVER") == ["nats://mine:4222"]


def test_operator_env_merged_and_sorted():
    settings = operator_settings({"natsAddress": "nats://n:4222", "etcdAddress": "etcd:2379"})
    container = main_container(build({"envs": [{"name": "ZZ", "value": "1"}]}, settings=settings))
    names = [item["name"] for item in container["env"]]
    assert names == sorted(names)
    assert env_values(container, "ETCD_ENDPOINTS") == ["etcd:2379"]


# Multinode Ray launch: 0.8.0 has no wait-for-leader init container.


def test_ray_worker_has_no_init_container():
    """A later operator adds a wait-for-leader-ray init container; 0.8.0 starts Ray workers at once."""
    dcd = {
        "metadata": {"name": "demo-graph-worker", "namespace": "team-a"},
        "spec": {
            "componentType": "worker",
            "replicas": 1,
            "multinode": {"nodeCount": 4},
            "resources": {"limits": {"gpu": "2"}},
            "extraPodSpec": {"mainContainer": {"image": "img", "command": ["python3"], "args": ["-m", "dynamo.vllm", "--tensor-parallel-size", "8"]}},
        },
    }
    _, lws = render_workloads(dcd, operator_settings(lws_enabled=True))
    worker = lws["spec"]["leaderWorkerTemplate"]["workerTemplate"]["spec"]
    assert "initContainers" not in worker
    assert worker["containers"][0]["args"] == ["ray start --address=$LWS_LEADER_ADDRESS:6379 --block"]
    assert lws["spec"]["leaderWorkerTemplate"]["size"] == 4


def test_multiprocess_sglang_worker_rank_from_lws():
    dcd = {
        "metadata": {"name": "demo-graph-worker", "namespace": "team-a"},
        "spec": {
            "componentType": "worker",
            "multinode": {"nodeCount": 2},
            "resources": {"limits": {"gpu": "8"}},
            "extraPodSpec": {"mainContainer": {"image": "img", "command": ["python3"], "args": ["-m", "dynamo.sglang", "--tp", "16"]}},
        },
    }
    _, lws = render_workloads(dcd, operator_settings(lws_enabled=True))
    templates = lws["spec"]["leaderWorkerTemplate"]
    assert templates["leaderTemplate"]["spec"]["containers"][0]["args"] == [
        "-m", "dynamo.sglang", "--tp", "16", "--dist-init-addr", "$LWS_LEADER_ADDRESS:29500", "--nnodes", "2", "--node-rank", "0",
    ]
    assert templates["workerTemplate"]["spec"]["containers"][0]["args"] == [
        "exec python3 -m dynamo.sglang --tp 16 --dist-init-addr $LWS_LEADER_ADDRESS:29500 --nnodes 2 --node-rank $(LWS_WORKER_INDEX)"
    ]


# Repeated PVC mounts: 0.8.0 adds one volume per volumeMounts entry.


def test_repeated_pvc_mount_duplicates_volume():
    """A later operator deduplicates the volume; 0.8.0 renders it twice and warns."""
    component = {
        "componentType": "worker",
        "volumeMounts": [{"name": "shared-store", "mountPoint": "/models"}, {"name": "shared-store", "mountPoint": "/cache"}],
    }
    pod_spec = build(component)
    assert [volume["name"] for volume in pod_spec["volumes"]] == ["shared-store", "shared-store", "shared-memory"]
    assert main_container(pod_spec)["volumeMounts"] == [
        {"name": "shared-store", "mountPath": "/models"},
        {"name": "shared-store", "mountPath": "/cache"},
        {"name": "shared-memory", "mountPath": "/dev/shm"},
    ]
    warnings = pod_spec_warnings(pod_spec, "spec.services.worker: ")
    assert len(warnings) == 1
    assert "'shared-store' appears 2 times" in warnings[0]


def test_main_container_pvc_mount_adds_no_volume():
    component = {
        "componentType": "worker",
        "extraPodSpec": {
            "mainContainer": {
                "volumeMounts": [
                    {"name": "shared-store", "mountPath": "/models", "subPath": "models"},
                    {"name": "shared-store", "mountPath": "/cache", "subPath": "cache"},
                ]
            }
        },
    }
    pod_spec = build(component)
    assert [volume["name"] for volume in pod_spec["volumes"]] == ["shared-memory"]
    assert [mount["mountPath"] for mount in main_container(pod_spec)["volumeMounts"]] == ["/models", "/cache", "/dev/shm"]
    warnings = pod_spec_warnings(pod_spec)
    assert len(warnings) == 2
    assert all("'shared-store', which the pod does not have" in warning for warning in warnings)


def test_clean_pod_spec_has_no_warnings():
    pod_spec = build({"componentType": "worker", "volumeMounts": [{"name": "models", "mountPoint": "/models"}]})
    assert pod_spec_warnings(pod_spec) == []


# Compilation cache.


def test_compilation_cache_env_for_vllm():
    component = {"componentType": "worker", "volumeMounts": [{"name": "cache", "mountPoint": "/cache/vllm", "useAsCompilationCache": True}]}
    container = main_container(build(component, backends.VLLM))
    assert env_values(container, "VLLM_CACHE_ROOT") == ["/cache/vllm"]
    assert {"name": "cache", "mountPath": "/cache/vllm"} in container["volumeMounts"]


def test_compilation_cache_default_path_sets_no_env():
    component = {"componentType": "worker", "volumeMounts": [{"name": "cache", "useAsCompilationCache": True}]}
    container = main_container(build(component, backends.VLLM))
    assert env_values(container, "VLLM_CACHE_ROOT") == []
    assert {"name": "cache", "mountPath": "/root/.cache/vllm"} in container["volumeMounts"]


# Planner metrics port.


def test_planner_port_env_and_account():
    pod_spec = build({"componentType": "planner"})
    container = main_container(pod_spec)
    assert {"name": "metrics", "containerPort": 9085, "protocol": "TCP"} in container["ports"]
    assert env_values(container, "PLANNER_PROMETHEUS_PORT") == ["9085"]
    assert env_values(container, "PROMETHEUS_PORT") == []
    assert pod_spec["serviceAccountName"] == "planner-serviceaccount"


# GPUs only from resource claims: no distributed launch, so a warning.


def claims_only_worker():
    return {
        "componentType": "worker",
        "multinode": {"nodeCount": 2},
        "resources": {"claims": [{"name": "gpus"}]},
        "extraPodSpec": {
            "resourceClaims": [{"name": "gpus", "resourceClaimTemplateName": "gpu-template"}],
            "mainContainer": {"command": ["python3"], "args": ["-m", "dynamo.vllm", "--tensor-parallel-size", "2"]},
        },
    }


def test_claims_only_gpus_get_no_launch_rewrite():
    component = claims_only_worker()
    pod_spec = build_pod_spec(
        component, framework=backends.VLLM, dgd_name="demo-graph", namespace="team-a", role=backends.ROLE_LEADER,
        settings=operator_settings(), deployer=backends.LWS, service_name="demo-graph-worker",
    )
    container = main_container(pod_spec)
    assert container["command"] == ["python3"]
    assert container["args"] == ["-m", "dynamo.vllm", "--tensor-parallel-size", "2"]
    assert container["resources"] == {"claims": [{"name": "gpus"}]}


def test_claims_only_gpus_warn():
    warning = backends.multinode_launch_warning(claims_only_worker(), backends.VLLM, "spec.services.worker.")
    assert warning is not None
    assert warning.startswith("spec.services.worker.resources.limits.gpu")
    assert "2 nodes" in warning


def test_gpu_count_given_no_warning():
    component = claims_only_worker()
    component["resources"]["limits"] = {"gpu": "1"}
    assert backends.multinode_launch_warning(component, backends.VLLM) is None
    single = claims_only_worker()
    del single["multinode"]
    assert backends.multinode_launch_warning(single, backends.VLLM) is None


def test_rendered_pod_warnings_per_workload_kind():
    dcd = {
        "metadata": {"name": "demo-graph-worker", "namespace": "team-a"},
        "spec": {"componentType": "worker", "volumeMounts": [{"name": "m", "mountPoint": "/a"}, {"name": "m", "mountPoint": "/b"}]},
    }
    objects = render_workloads(dcd, operator_settings())
    warnings = rendered_pod_warnings(objects)
    assert warnings == [
        "Deployment demo-graph-worker: volume 'm' appears 2 times in the pod, which the API server rejects; "
        "mount the PVC once in volumeMounts and add further mounts with subPath in extraPodSpec.mainContainer.volumeMounts"
    ]


def test_graph_launch_warnings_name_the_service():
    dgd = {"spec": {"services": {"decode": claims_only_worker(), "frontend": {"componentType": "frontend"}}}}
    warnings = backends.graph_launch_warnings(dgd)
    assert len(warnings) == 1
    assert warnings[0].startswith("spec.services.decode.resources.limits.gpu")


def test_user_quantities_are_canonical():
    component = {
        "extraPodSpec": {
            "volumes": [{"name": "scratch", "emptyDir": {"sizeLimit": "1024Mi"}}],
            "containers": [{"name": "sidecar", "resources": {"limits": {"cpu": "500m", "memory": "2048Mi"}}}],
            "mainContainer": {"resources": {"requests": {"memory": "0.5Gi"}}},
        }
    }
    pod_spec = build(component)
    assert pod_spec["volumes"][0] == {"name": "scratch", "emptyDir": {"sizeLimit": "1Gi"}}
    assert pod_spec["containers"][0]["resources"] == {"limits": {"cpu": "500m", "memory": "2Gi"}}
    assert main_container(pod_spec)["resources"] == {"requests": {"memory": "512Mi"}}


def test_invalid_quantity_names_the_field():
    with pytest.raises(InputError, match=r"resources\.limits\.memory: invalid quantity '20 GB'"):
        build({"resources": {"limits": {"memory": "20 GB"}}})
