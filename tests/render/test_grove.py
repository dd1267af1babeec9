"""Grove PodCliqueSet against the operator's golden vectors (graph_test.go, grove_test.go, Dynamo 0.8.0)."""

from __future__ import annotations

import copy

import pytest

from kubectl_dynamo.errors import InputError
from kubectl_dynamo.render.v0_8 import backends, grove
from tests.render.golden_loader import GROVE_STARTUP_VALUES, api_form, cases, load_golden, operator_settings

ROLES = load_golden("dgd-08-grove-roles-and-startup-deps.yaml")
SINGLE_NODE = load_golden("dgd-09-grove-single-node-frontend-planner.yaml")
KAI = load_golden("dgd-grove-kai-scheduler.yaml")
GLOBAL_NAMESPACE = load_golden("dgd-06-global-dynamo-namespace.yaml")


def cliques_by_name(pod_clique_set):
    return {clique["name"]: clique for clique in pod_clique_set["spec"]["template"]["cliques"]}


def env_map(container):
    return {item["name"]: item.get("value", "") for item in container["env"]}


def test_single_node_pod_clique_set_matches_golden():
    settings = operator_settings(SINGLE_NODE["input"]["controllerConfig"], grove_enabled=True)
    rendered = grove.render_pod_clique_set(SINGLE_NODE["input"]["dgd"], settings)
    expected = api_form(SINGLE_NODE["expected"])

    assert rendered["apiVersion"] == expected["apiVersion"]
    assert rendered["kind"] == expected["kind"]
    assert {key: rendered["metadata"][key] for key in ("name", "namespace")} == expected["metadata"]
    template = dict(rendered["spec"]["template"])
    cliques = template.pop("cliques")
    expected_template = dict(expected["spec"]["template"])
    expected_cliques = expected_template.pop("cliques")
    assert template == expected_template
    assert rendered["spec"]["replicas"] == expected["spec"]["replicas"]

    for expected_clique in expected_cliques:
        if expected_clique.get("annotations") == {}:
            del expected_clique["annotations"]  # the API leaves out an empty map
        assert api_form(cliques_by_name(rendered)[expected_clique["name"]]) == expected_clique
    assert len(cliques) == len(expected_cliques)


def test_owner_reference_points_at_graph():
    settings = operator_settings(SINGLE_NODE["input"]["controllerConfig"], grove_enabled=True)
    rendered = grove.render_pod_clique_set(SINGLE_NODE["input"]["dgd"], settings)
    assert rendered["metadata"]["ownerReferences"] == [
        {"apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeployment", "name": "test-dynamo-graph-deployment",
         "controller": True, "blockOwnerDeletion": True}
    ]


def test_kubernetes_discovery_adds_annotation_and_account():
    settings = operator_settings({"discoveryBackend": "kubernetes"}, grove_enabled=True)
    rendered = grove.render_pod_clique_set(SINGLE_NODE["input"]["dgd"], settings)
    cliques = cliques_by_name(rendered)
    for clique in cliques.values():
        assert clique["annotations"]["nvidia.com/dynamo-discovery-backend"] == "kubernetes"
    assert cliques["frontend"]["spec"]["podSpec"]["serviceAccountName"] == "test-dynamo-graph-deployment-k8s-service-discovery"
    assert cliques["planner"]["spec"]["podSpec"]["serviceAccountName"] == "planner-serviceaccount"


def test_input_graph_is_not_changed():
    dgd = copy.deepcopy(SINGLE_NODE["input"]["dgd"])
    grove.render_pod_clique_set(dgd, operator_settings({"discoveryBackend": "kubernetes"}, grove_enabled=True))
    assert dgd == SINGLE_NODE["input"]["dgd"]


def test_global_dynamo_namespace():
    given = GLOBAL_NAMESPACE["input"]["grove_case"]["dgd"]
    expected = GLOBAL_NAMESPACE["expected"]["grove_case"]
    rendered = grove.render_pod_clique_set(given, operator_settings())
    cliques = cliques_by_name(rendered)
    assert len(cliques) == expected["cliqueCount"]
    for name in ("frontend", "planner"):
        containers = cliques[name]["spec"]["podSpec"]["containers"]
        assert cliques[name]["labels"]["nvidia.com/dynamo-namespace"] == expected[name]["labels.nvidia.com/dynamo-namespace"]
        assert len(containers) == expected[name]["containers"]
        assert env_map(containers[0])["DYN_NAMESPACE"] == expected[name]["env.DYN_NAMESPACE"]


@pytest.mark.parametrize("name,given,expected", cases(ROLES, "expandRolesForService"))
def test_expand_roles(name, given, expected):
    roles = grove.expand_roles(given["serviceName"], given["serviceReplicas"], given["numberOfNodes"])
    assert roles == expected


@pytest.mark.parametrize("name,given,expected", cases(ROLES, "applyCliqueStartupDependencies"))
def test_apply_startup_dependencies(name, given, expected):
    pod_clique_set = {"spec": {"template": {"cliques": [{"name": role["name"], "spec": {}} for role in given["roles"]]}}}
    grove.apply_startup_dependencies(pod_clique_set, given["roles"], given["backendFramework"], given["numberOfNodes"])
    template = pod_clique_set["spec"]["template"]
    assert (template.get("cliqueStartupType") == "CliqueStartupTypeExplicit") == expected["startupTypeExplicit"]
    assert {clique["name"]: clique["spec"].get("startsAfter") for clique in template["cliques"]} == expected["startsAfter"]


@pytest.mark.parametrize("name,given,expected", cases(ROLES, "getCliqueStartupDependencies"))
def test_clique_startup_dependencies(name, given, expected):
    result = grove.startup_dependencies(
        given["role"], given["backendFramework"], given["leaderCliqueName"], given["workerCliqueNames"] or []
    )
    assert result == expected


@pytest.mark.parametrize("name,given,expected", cases(ROLES, "GenerateGrovePodCliqueSet_StartsAfterDependencies"))
def test_pod_clique_set_startup_order(name, given, expected):
    dgd = {
        "metadata": {"name": "test-deployment", "namespace": "default"},
        "spec": {
            "backendFramework": given["backendFramework"],
            "services": {
                "main": {
                    "componentType": "worker",
                    "replicas": 1,
                    "multinode": {"nodeCount": 2},
                    "resources": {"requests": {"gpu": "1"}},
                    "extraPodSpec": {"mainContainer": {"image": "img", "command": ["/bin/sh", "-c"], "args": ["run"]}},
                }
            },
        },
    }
    settings = operator_settings({"etcdAddress": "etcd-av1alpha1", "natsAddress": "nats-address"}, grove_enabled=True)
    rendered = grove.render_pod_clique_set(dgd, settings)
    template = rendered["spec"]["template"]
    assert template["cliqueStartupType"] == GROVE_STARTUP_VALUES[expected["startupType"]]
    assert {clique["name"]: clique["spec"].get("startsAfter") for clique in template["cliques"]} == expected["startsAfter"]
    assert template["podCliqueScalingGroupConfigs"] == [
        {"name": "main", "cliqueNames": ["main-ldr", "main-wkr"], "replicas": 1, "minAvailable": 1}
    ]


@pytest.mark.parametrize("name,given,expected", cases(KAI, "resolveKaiSchedulerQueueName"))
def test_resolve_kai_queue(name, given, expected):
    assert grove.resolve_kai_queue(given) == expected


@pytest.mark.parametrize("name,given,expected", cases(KAI, "injectKaiSchedulerIfEnabled"))
def test_inject_kai_scheduler(name, given, expected):
    clique = {"spec": {"podSpec": copy.deepcopy(given["clique"]["podSpec"])}}
    if "labels" in given["clique"]:
        clique["labels"] = dict(given["clique"]["labels"])
    settings = operator_settings(grove_enabled=given["groveEnabled"], kai_scheduler_enabled=given["kaiEnabled"])
    injected = grove.inject_kai_scheduler(clique, settings, given["validatedQueueName"])
    assert injected == expected["injected"]
    assert clique["spec"]["podSpec"].get("schedulerName", "") == expected["schedulerName"]
    for key, value in (expected.get("labels") or {}).items():
        assert clique["labels"][key] == value


def test_kai_queue_from_annotation_in_pod_clique_set():
    dgd = copy.deepcopy(GLOBAL_NAMESPACE["input"]["grove_case"]["dgd"])
    dgd["metadata"]["annotations"] = {"nvidia.com/kai-scheduler-queue": " team-a "}
    dgd["spec"]["services"]["Planner"]["extraPodSpec"] = {"schedulerName": "custom"}
    rendered = grove.render_pod_clique_set(dgd, operator_settings(grove_enabled=True, kai_scheduler_enabled=True))
    cliques = cliques_by_name(rendered)
    assert cliques["frontend"]["spec"]["podSpec"]["schedulerName"] == "kai-scheduler"
    assert cliques["frontend"]["labels"]["kai.scheduler/queue"] == "team-a"
    assert cliques["planner"]["spec"]["podSpec"]["schedulerName"] == "custom"
    assert "kai.scheduler/queue" not in cliques["planner"]["labels"]


def multinode_graph(framework_args, gpu="8", nodes=2, key="VllmWorker"):
    return {
        "metadata": {"name": "demo", "namespace": "team-a"},
        "spec": {
            "services": {
                key: {
                    "componentType": "worker",
                    "replicas": 2,
                    "multinode": {"nodeCount": nodes},
                    "resources": {"limits": {"gpu": gpu}},
                    "extraPodSpec": {"mainContainer": {"image": "img", "command": ["python3"], "args": framework_args}},
                }
            }
        },
    }


def test_multinode_vllm_ray_uses_grove_host_names():
    dgd = multinode_graph(["-m", "dynamo.vllm", "--tensor-parallel-size", "16"])
    rendered = grove.render_pod_clique_set(dgd, operator_settings(grove_enabled=True))
    cliques = cliques_by_name(rendered)
    assert set(cliques) == {"vllmworker-ldr", "vllmworker-wkr"}
    assert cliques["vllmworker-ldr"]["spec"]["replicas"] == 1
    assert cliques["vllmworker-wkr"]["spec"]["replicas"] == 1
    worker = cliques["vllmworker-wkr"]["spec"]["podSpec"]["containers"][0]
    # Dynamo 0.8.0 keeps the service key's case in host names, unlike the clique names.
    assert worker["args"] == [
        "ray start --address=$(GROVE_PCSG_NAME)-$(GROVE_PCSG_INDEX)-VllmWorker-ldr-0.$(GROVE_HEADLESS_SERVICE):6379 --block"
    ]
    assert cliques["vllmworker-ldr"]["labels"]["nvidia.com/selector"] == "demo-vllmworker"
    assert cliques["vllmworker-wkr"]["labels"]["nvidia.com/selector"] == "demo-vllmworker"
    assert rendered["spec"]["template"]["podCliqueScalingGroupConfigs"] == [
        {"name": "vllmworker", "cliqueNames": ["vllmworker-ldr", "vllmworker-wkr"], "replicas": 2, "minAvailable": 1}
    ]
    assert rendered["spec"]["template"]["cliqueStartupType"] == "CliqueStartupTypeAnyOrder"


def test_multinode_trtllm_leader_waits_for_workers():
    dgd = multinode_graph(["-m", "dynamo.trtllm", "--model", "m"], gpu="4", nodes=3, key="trt")
    rendered = grove.render_pod_clique_set(dgd, operator_settings(grove_enabled=True, mpi_run_ssh_secret_name="ssh-key"))
    cliques = cliques_by_name(rendered)
    assert cliques["trt-ldr"]["spec"]["startsAfter"] == ["trt-wkr"]
    assert rendered["spec"]["template"]["cliqueStartupType"] == "CliqueStartupTypeExplicit"
    leader = cliques["trt-ldr"]["spec"]["podSpec"]
    assert "mpirun --allow-run-as-root --oversubscribe -n 12 -H" in leader["containers"][0]["args"][0]
    assert leader["volumes"][-1] == {"name": "ssh-key", "secret": {"secretName": "ssh-key", "defaultMode": 420}}
    assert cliques["trt-wkr"]["spec"]["replicas"] == 2


def test_single_node_service_without_replicas_is_an_error():
    dgd = copy.deepcopy(GLOBAL_NAMESPACE["input"]["grove_case"]["dgd"])
    del dgd["spec"]["services"]["Planner"]["replicas"]
    with pytest.raises(InputError, match="spec.services.Planner.replicas is missing"):
        grove.render_pod_clique_set(dgd, operator_settings(grove_enabled=True))


def test_backend_mismatch_names_the_service():
    dgd = multinode_graph(["-m", "dynamo.vllm"])
    dgd["spec"]["backendFramework"] = "sglang"
    with pytest.raises(InputError, match="spec.services.VllmWorker: backend framework mismatch"):
        grove.render_pod_clique_set(dgd, operator_settings(grove_enabled=True))


def test_metrics_label_off_by_graph_annotation():
    dgd = copy.deepcopy(GLOBAL_NAMESPACE["input"]["grove_case"]["dgd"])
    dgd["metadata"]["annotations"] = {"nvidia.com/enable-metrics": "false"}
    rendered = grove.render_pod_clique_set(dgd, operator_settings())
    for clique in rendered["spec"]["template"]["cliques"]:
        assert "nvidia.com/metrics-enabled" not in clique["labels"]


@pytest.mark.parametrize(
    "flag,expected",
    [("15m", "15m0s"), ("4h", "4h0m0s"), ("90s", "1m30s"), ("1h30m", "1h30m0s"), ("1.5s", "1.5s"), ("500ms", "500ms")],
)
def test_termination_delay_format(flag, expected):
    assert grove.format_go_duration(grove.parse_go_duration(flag)) == expected


def test_zero_termination_delay_is_left_out():
    rendered = grove.render_pod_clique_set(GLOBAL_NAMESPACE["input"]["grove_case"]["dgd"], operator_settings())
    assert "terminationDelay" not in rendered["spec"]["template"]


def test_invalid_termination_delay():
    with pytest.raises(InputError, match="invalid Grove termination delay"):
        grove.parse_go_duration("fifteen minutes")


def test_backend_constants_match_roles():
    assert grove.expand_roles("x", None, 2)[0]["role"] == backends.ROLE_LEADER
