"""The DGD stage against the operator's golden vectors (graph_test.go and the DGD and
DCD controller tests of Dynamo 0.8.0), loaded as data from tests/data/golden.

The vectors contain in-memory Go structs: no apiVersion, kind, ownerReferences or hash
annotations, and empty strings and empty maps that JSON leaves out (as their notes
state). ``go_encode`` with the DCD field table turns an expected spec into the JSON the
operator sends, so both sides are compared in that form.
"""

from __future__ import annotations

import copy

import pytest

from kubectl_dynamo.errors import ValidationError
from kubectl_dynamo.render.api import RenderOptions, render_graph
from kubectl_dynamo.render.v0_8 import graph, services
from kubectl_dynamo.render.v0_8.settings import OperatorSettings
from tests.render.golden_loader import load_golden


def _dcds_by_service(dgd, settings=None, ingress=None):
    """Run the DGD stage with an explicit default ingress, as the Go test calls it."""
    settings = settings or OperatorSettings()
    result = {}
    for name, service in dgd["spec"]["services"].items():
        dcd = graph.render_dcd(dgd, name, service, settings)
        if ingress is None and service.get("componentType") == "frontend" and service.get("ingress") is None:
            dcd["spec"].pop("ingress")  # the Go test passes a nil default ingress spec
        result[name] = dcd
    return result


def _expected_dcd(expected):
    spec = copy.deepcopy(expected["spec"])
    return {"metadata": expected["metadata"], "spec": graph.go_encode(spec, graph.DCD_SPEC_FIELDS)}


def _strip(dcd):
    return {"metadata": {k: dcd["metadata"][k] for k in ("name", "namespace", "labels")}, "spec": dcd["spec"]}


@pytest.mark.parametrize("vector", ["dgd-01-dcd-basic.yaml", "dgd-05-dcd-annotation-propagation.yaml"])
def test_dcd_vectors_without_default_ingress(vector):
    golden = load_golden(vector)
    dcds = _dcds_by_service(golden["input"]["dgd"])
    assert set(dcds) == set(golden["expected"])
    for name, expected in golden["expected"].items():
        assert _strip(dcds[name]) == _expected_dcd(expected), name


def test_dcd_default_ingress_only_for_frontends():
    golden = load_golden("dgd-02-dcd-ingress-default.yaml")
    dgd = golden["input"]["dgd"]
    default = golden["input"]["defaultIngressSpec"]
    for name, expected in golden["expected"].items():
        service = dgd["spec"]["services"][name]
        dcd = graph.render_dcd(dgd, name, service, OperatorSettings(ingress_controller_class_name=""))
        if service.get("componentType") == "frontend":
            dcd["spec"]["ingress"] = default  # the vector passes {enabled, host} directly
        assert _strip(dcd) == _expected_dcd(expected), name


def test_default_ingress_from_operator_flags():
    settings = OperatorSettings(ingress_controller_class_name="nginx", ingress_controller_tls_secret_name="tls",
                                ingress_host_suffix="example.com")
    assert graph.default_ingress_spec("g", settings) == {
        "enabled": True, "host": "g", "hostSuffix": "example.com", "tls": {"secretName": "tls"},
        "ingressControllerClassName": "nginx",
    }
    assert graph.default_ingress_spec("g", OperatorSettings()) == {"host": "g"}


def test_dyn_deployment_config_graph_vector():
    golden = load_golden("dgd-03-dcd-dyn-deployment-config.yaml")
    dcds = _dcds_by_service(golden["input"]["main"]["dgd"])
    for name, expected in golden["expected"]["main"].items():
        assert _strip(dcds[name]) == _expected_dcd(expected), name


@pytest.mark.parametrize("case", ["override_workers_and_resources", "override_subset_of_resources"])
def test_dyn_deployment_config_overrides(case):
    golden = load_golden("dgd-03-dcd-dyn-deployment-config.yaml")
    spec = copy.deepcopy(golden["input"][case]["dcd_spec"])
    if spec.get("replicas") is None:
        spec.pop("replicas", None)
    graph.apply_deployment_config(spec, spec["serviceName"], "spec.envs[0].value")
    expected = golden["expected"][case]["dcd_spec"]
    assert graph.go_encode(spec, graph.DCD_SPEC_FIELDS) == graph.go_encode(expected, graph.DCD_SPEC_FIELDS)


@pytest.mark.parametrize("case", ["update_port_main_component", "update_port_not_main_component", "update_port_no_config_variable"])
def test_dyn_deployment_config_port_rewrite(case):
    golden = load_golden("dgd-03-dcd-dyn-deployment-config.yaml")
    spec = copy.deepcopy(golden["input"][case]["dcd_spec"])
    graph.apply_deployment_config(spec, spec["serviceName"], "spec.envs[0].value")
    values = [e["value"] for e in spec["envs"] if e["name"] == "DYN_DEPLOYMENT_CONFIG"]
    assert (values[0] if values else None) == golden["expected"][case]["DYN_DEPLOYMENT_CONFIG"]


def test_global_dynamo_namespace_dcd_case():
    golden = load_golden("dgd-06-global-dynamo-namespace.yaml")
    assert golden["expected_is_subset"] is True
    dcds = _dcds_by_service(golden["input"]["dcd_case"]["dgd"])
    expected = golden["expected"]["dcd_case"]
    assert len(dcds) == expected["count"]
    for name in ("service1", "service2"):
        assert dcds[name]["spec"]["dynamoNamespace"] == expected[name]["spec.dynamoNamespace"]
        assert dcds[name]["metadata"]["labels"]["nvidia.com/dynamo-namespace"] == expected[name]["metadata.labels.nvidia.com/dynamo-namespace"]


def test_global_dynamo_namespace_grove_case():
    golden = load_golden("dgd-06-global-dynamo-namespace.yaml")
    dgd = golden["input"]["grove_case"]["dgd"]
    expected = golden["expected"]["grove_case"]
    result = render_graph(dgd, RenderOptions(settings=OperatorSettings(grove_enabled=True)))
    pcs = next(o for o in result.objects if o["kind"] == "PodCliqueSet")
    cliques = {c["name"]: c for c in pcs["spec"]["template"]["cliques"]}
    assert len(cliques) == expected["cliqueCount"]
    for name in ("frontend", "planner"):
        clique, want = cliques[name], expected[name]
        containers = clique["spec"]["podSpec"]["containers"]
        env = {e["name"]: e.get("value") for e in containers[0]["env"]}
        assert clique["labels"]["nvidia.com/dynamo-namespace"] == want["labels.nvidia.com/dynamo-namespace"]
        assert len(containers) == want["containers"]
        assert env["DYN_NAMESPACE"] == want["env.DYN_NAMESPACE"]


GOLDEN_ADAPTERS = load_golden("dgd-12-scaling-adapters.yaml")


@pytest.mark.parametrize("case", list(GOLDEN_ADAPTERS["input"]))
def test_scaling_adapter_vector(case):
    given, expected = GOLDEN_ADAPTERS["input"][case], GOLDEN_ADAPTERS["expected"][case]
    adapters = graph.render_scaling_adapters(given["dgd"])
    rendered = {a["metadata"]["name"]: a["spec"]["replicas"] for a in adapters}
    assert rendered == expected["adapters"]
    assert len(adapters) == expected["count"]
    # Existing adapters not rendered are the ones the operator deletes.
    existing = {a["metadata"]["name"] for a in given["existingAdapters"]}
    assert sorted(existing - set(rendered)) == sorted(expected["deleted"])
    for adapter in adapters:
        service = adapter["spec"]["dgdRef"]["serviceName"]
        assert adapter["metadata"]["labels"] == {
            "nvidia.com/dynamo-graph-deployment-name": given["dgd"]["metadata"]["name"],
            "nvidia.com/dynamo-component": service,
        }
        assert adapter["spec"]["dgdRef"]["name"] == given["dgd"]["metadata"]["name"]


def _dcd_from_vector(case):
    dcd = copy.deepcopy(case["dcd"])
    dcd["spec"]["dynamoNamespace"] = dcd["spec"].get("dynamoNamespace", "default")
    return dcd


@pytest.mark.parametrize("index", [0, 1])
def test_ingress_vector(index):
    golden = load_golden("dcd-ingress.yaml")
    case, expected = golden["input"][index], golden["expected"][index]
    objects = services.render_dcd_ingress(_dcd_from_vector(case), OperatorSettings())
    if expected["toDelete"]:
        assert objects == []
        return
    (ingress,) = objects
    assert {k: ingress["metadata"][k] for k in ("name", "namespace")} == expected["object"]["metadata"]
    assert ingress["spec"] == expected["object"]["spec"]


@pytest.mark.parametrize("index", [0, 1])
def test_virtual_service_vector(index):
    golden = load_golden("dcd-virtualservice.yaml")
    case, expected = golden["input"][index], golden["expected"][index]
    settings = OperatorSettings(istio_virtual_service_gateway="istio-system/ingress-alb")
    objects = [o for o in services.render_dcd_ingress(_dcd_from_vector(case), settings) if o["kind"] == "VirtualService"]
    if expected["toDelete"]:
        assert objects == []
        return
    (virtual_service,) = objects
    assert virtual_service["spec"] == expected["object"]["spec"]
    assert virtual_service["metadata"]["name"] == expected["object"]["metadata"]["name"]


def test_virtual_service_needs_operator_gateway():
    golden = load_golden("dcd-virtualservice.yaml")
    dcd = _dcd_from_vector(golden["input"][1])
    assert services.render_dcd_ingress(dcd, OperatorSettings()) == []


def test_planner_dcd_gets_planner_service_account():
    dgd = {"apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeployment",
           "metadata": {"name": "g", "namespace": "ns"},
           "spec": {"services": {"Planner": {"componentType": "planner", "replicas": 1,
                                             "extraPodSpec": {"serviceAccountName": "mine"}}}}}
    dcd = graph.render_dcd(dgd, "Planner", dgd["spec"]["services"]["Planner"], OperatorSettings())
    assert dcd["spec"]["extraPodSpec"]["serviceAccountName"] == "planner-serviceaccount"


def test_graph_envs_merge_sorted_and_service_wins():
    dgd = {"metadata": {"name": "g", "namespace": "ns"},
           "spec": {"envs": [{"name": "B", "value": "graph"}, {"name": "A", "value": "graph"}],
                    "services": {"W": {"envs": [{"name": "B", "value": "svc"}, {"name": "C", "value": "svc"}]}}}}
    dcd = graph.render_dcd(dgd, "W", dgd["spec"]["services"]["W"], OperatorSettings())
    assert dcd["spec"]["envs"] == [{"name": "A", "value": "graph"}, {"name": "B", "value": "svc"}, {"name": "C", "value": "svc"}]


def test_service_labels_are_dropped_and_dynamo_namespace_ignored():
    dgd = {"metadata": {"name": "g.v2", "namespace": "ns"},
           "spec": {"services": {"W": {"labels": {"team": "a"}, "dynamoNamespace": "mine"}}}}
    dcd = graph.render_dcd(dgd, "W", dgd["spec"]["services"]["W"], OperatorSettings())
    assert dcd["metadata"]["name"] == "g.v2-w"
    assert dcd["spec"]["dynamoNamespace"] == "ns-g.v2"
    assert dcd["spec"]["labels"] == dcd["metadata"]["labels"]
    assert "team" not in dcd["spec"]["labels"]


def test_multinode_without_orchestrator_is_rejected():
    dgd = {"apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeployment", "metadata": {"name": "g"},
           "spec": {"services": {"W": {"componentType": "worker", "replicas": 1, "multinode": {}}}}}
    with pytest.raises(ValidationError) as error:
        render_graph(dgd, RenderOptions())
    assert "spec.services.W.multinode.nodeCount: 2 nodes" in error.value.problems[0]
    # The library names no command-line flag: each command adds its own advice.
    assert "--lws" not in error.value.problems[0]
    assert "no multinode orchestrator available" in error.value.problems[0]
    with pytest.raises(ValidationError) as advised:
        render_graph(dgd, RenderOptions(no_orchestrator_advice="so do X"))
    assert advised.value.problems[0].endswith("nodes need Grove, or LeaderWorkerSet with Volcano, so do X")


def _config_spec(value, component_type=None):
    spec = {"serviceName": "Worker", "envs": [{"name": "DYN_DEPLOYMENT_CONFIG", "value": value}]}
    if component_type:
        spec["componentType"] = component_type
    return spec


def test_dyn_deployment_config_wrong_type_in_any_entry_fails():
    # Go decodes the whole document into typed structs, so another service's entry matters too.
    spec = _config_spec('{"Worker": {"ServiceArgs": {"workers": 2}}, "Other": {"ServiceArgs": {"workers": "two"}}}')
    with pytest.raises(graph.GraphError, match=r"Other.ServiceArgs.workers must be a 32-bit integer"):
        graph.apply_deployment_config(spec, "Worker", "spec.envs[0].value")


def test_dyn_deployment_config_float_workers_rejected():
    with pytest.raises(graph.GraphError, match="must be a 32-bit integer, not 2.0"):
        graph.apply_deployment_config(_config_spec('{"Worker": {"ServiceArgs": {"workers": 2.0}}}'), "Worker", "p")


def test_dyn_deployment_config_last_case_folded_key_wins():
    spec = _config_spec('{"Worker": {"serviceargs": {"workers": 1}, "ServiceArgs": {"Workers": 4}}}')
    graph.apply_deployment_config(spec, "Worker", "p")
    assert spec["replicas"] == 4


def test_frontend_config_rewritten_with_go_number_format():
    spec = _config_spec('{"Worker": {"port": 8080, "ratio": 2.50, "big": 1e21, "note": "<x>"}}', "frontend")
    graph.apply_deployment_config(spec, "Worker", "p")
    assert spec["envs"][0]["value"] == '{"Worker":{"big":1e+21,"note":"\\u003cx\\u003e","port":8000,"ratio":2.5}}'


def test_dcd_output_has_stored_defaults_but_hash_of_sent_spec():
    dgd = {"apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeployment", "metadata": {"name": "g", "namespace": "ns"},
           "spec": {"services": {"W": {"replicas": 1, "scalingAdapter": {"disable": False},
                                       "volumeMounts": [{"name": "m", "mountPoint": "/m"}]}}}}
    result = render_graph(dgd, RenderOptions(stage="dcd"))
    dcd = next(o for o in result.objects if o["kind"] == "DynamoComponentDeployment")
    assert dcd["spec"]["scalingAdapter"] == {"disable": False}
    assert dcd["spec"]["volumeMounts"] == [{"name": "m", "mountPoint": "/m", "useAsCompilationCache": False}]
    sent = copy.deepcopy(dcd)
    sent["spec"]["scalingAdapter"] = {}  # Go leaves out false, the API server adds it back
    del sent["spec"]["volumeMounts"][0]["useAsCompilationCache"]
    from kubectl_dynamo.render.v0_8.hashing import spec_hash
    assert dcd["metadata"]["annotations"]["nvidia.com/last-applied-hash"] == spec_hash(sent)
    assert spec_hash(sent) != spec_hash(dcd)
