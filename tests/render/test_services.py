"""Services, Ingresses and model Services of both operator stages (Dynamo 0.8.0 rules)."""

from __future__ import annotations

import copy

from kubectl_dynamo.render.api import RenderOptions, render_graph
from kubectl_dynamo.render.v0_8 import graph, services
from kubectl_dynamo.render.v0_8.settings import OperatorSettings

DGD = {
    "apiVersion": "nvidia.com/v1alpha1",
    "kind": "DynamoGraphDeployment",
    "metadata": {"name": "g", "namespace": "ns"},
    "spec": {"services": {
        "Frontend": {"componentType": "frontend", "replicas": 1},
        "Decode": {"componentType": "worker", "replicas": 2, "modelRef": {"name": "Qwen/Qwen3-0.6B"},
                   "multinode": {"nodeCount": 2}, "resources": {"limits": {"gpu": "1"}},
                   "extraPodSpec": {"mainContainer": {"image": "x", "command": ["python3"], "args": ["-m", "dynamo.vllm"]}}},
        "Prefill": {"componentType": "worker", "replicas": 1, "modelRef": {"name": "Qwen/Qwen3-0.6B"},
                    "extraPodSpec": {"mainContainer": {"image": "x", "command": ["python3"], "args": ["-m", "dynamo.vllm"]}}},
    }},
}


def by_name(objects, kind):
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def test_dcd_services_for_worker_under_kubernetes_discovery():
    dcd = graph.render_dcd(DGD, "Decode", DGD["spec"]["services"]["Decode"], OperatorSettings())
    found = {s["metadata"]["name"]: s for s in services.render_dcd_services(dcd, OperatorSettings())}
    assert sorted(found) == ["g-decode", "g-decode-d", "g-decode-p"]
    generic = found["g-decode"]
    assert generic["spec"]["selector"] == {"nvidia.com/dynamo-component-type": "worker",
                                          "nvidia.com/dynamo-namespace": "ns-g", "role": "leader"}
    assert generic["spec"]["ports"] == [{"name": "system", "port": 9090, "targetPort": "system", "protocol": "TCP"}]
    assert generic["metadata"]["labels"]["nvidia.com/dynamo-discovery-enabled"] == "true"
    assert generic["metadata"]["labels"]["nvidia.com/dynamo-base-model-hash"] == "fb68f5a6"
    assert generic["metadata"]["annotations"] == {"nvidia.com/dynamo-base-model": "Qwen/Qwen3-0.6B"}
    assert found["g-decode-d"]["spec"]["selector"]["nvidia.com/dynamo-deployment-target-type"] == "debug"


def test_dcd_services_under_etcd_discovery():
    settings = OperatorSettings(discovery_backend="etcd")
    worker = graph.render_dcd(DGD, "Prefill", DGD["spec"]["services"]["Prefill"], settings)
    frontend = graph.render_dcd(DGD, "Frontend", DGD["spec"]["services"]["Frontend"], settings)
    assert [s["metadata"]["name"] for s in services.render_dcd_services(worker, settings)] == ["g-prefill"]
    frontend_services = services.render_dcd_services(frontend, settings)
    assert [s["metadata"]["name"] for s in frontend_services] == ["g-frontend", "g-frontend-p", "g-frontend-d"]
    assert "nvidia.com/dynamo-discovery-backend" not in frontend_services[0]["metadata"]["labels"]


def test_model_service_rendered_once_per_model():
    result = render_graph(copy.deepcopy(DGD), RenderOptions(settings=OperatorSettings(lws_enabled=True)))
    model_services = [o for o in result.objects if o["metadata"]["name"].startswith("dynamo-model-")]
    assert len(model_services) == 1
    (model,) = model_services
    assert model["spec"]["clusterIP"] == "None"
    assert model["spec"]["ports"] == [{"name": "system", "port": 9090, "targetPort": 9090, "protocol": "TCP"}]
    assert model["metadata"]["ownerReferences"][0]["kind"] == "DynamoComponentDeployment"
    assert "nvidia.com/last-applied-hash" in model["metadata"]["annotations"]


def test_grove_services_carry_only_discovery_labels():
    result = render_graph(copy.deepcopy(DGD), RenderOptions(settings=OperatorSettings(grove_enabled=True)))
    found = by_name(result.objects, "Service")
    assert sorted(found) == ["dynamo-model-fb68f5a6", "g-decode", "g-frontend", "g-prefill"]
    frontend = found["g-frontend"]
    assert frontend["metadata"]["labels"] == {"nvidia.com/dynamo-discovery-backend": "kubernetes",
                                              "nvidia.com/dynamo-discovery-enabled": "true"}
    assert frontend["spec"]["selector"] == {"nvidia.com/dynamo-component-type": "frontend", "nvidia.com/dynamo-namespace": "ns-g"}
    assert frontend["metadata"]["ownerReferences"][0]["kind"] == "DynamoGraphDeployment"
    assert "role" not in found["g-decode"]["spec"]["selector"]


def test_grove_etcd_discovery_keeps_only_frontend_service():
    settings = OperatorSettings(grove_enabled=True, discovery_backend="etcd")
    result = render_graph(copy.deepcopy(DGD), RenderOptions(settings=settings))
    assert sorted(by_name(result.objects, "Service")) == ["dynamo-model-fb68f5a6", "g-frontend"]
    assert "labels" not in by_name(result.objects, "Service")["g-frontend"]["metadata"]


def test_grove_ingress_and_virtual_service_from_operator_flags():
    settings = OperatorSettings(grove_enabled=True, ingress_controller_class_name="nginx",
                                istio_virtual_service_gateway="istio-system/gw")
    result = render_graph(copy.deepcopy(DGD), RenderOptions(settings=settings))
    (ingress,) = by_name(result.objects, "Ingress").values()
    (virtual_service,) = by_name(result.objects, "VirtualService").values()
    assert ingress["spec"]["rules"][0]["host"] == "g.local"
    assert ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"] == {"name": "g-frontend", "port": {"number": 8000}}
    assert virtual_service["spec"]["gateways"] == ["istio-system/gw"]
    assert virtual_service["metadata"]["name"] == "g-frontend"


def test_dcd_ingress_from_default_spec():
    settings = OperatorSettings(ingress_controller_class_name="nginx", ingress_host_suffix="example.com", lws_enabled=True)
    result = render_graph(copy.deepcopy(DGD), RenderOptions(settings=settings))
    (ingress,) = by_name(result.objects, "Ingress").values()
    assert ingress["metadata"]["name"] == "g-frontend"
    assert ingress["metadata"]["ownerReferences"][0]["kind"] == "DynamoComponentDeployment"
    assert ingress["spec"]["rules"][0]["host"] == "g.example.com"
    dcd = by_name(result.objects, "DynamoComponentDeployment")["g-frontend"]
    assert dcd["spec"]["ingress"] == {"enabled": True, "host": "g", "hostSuffix": "example.com", "ingressControllerClassName": "nginx"}


def test_disabled_enable_grove_annotation_falls_back_to_dcds():
    dgd = copy.deepcopy(DGD)
    dgd["metadata"]["annotations"] = {"nvidia.com/enable-grove": "False"}
    result = render_graph(dgd, RenderOptions(settings=OperatorSettings(grove_enabled=True, lws_enabled=True)))
    kinds = {o["kind"] for o in result.objects}
    assert "PodCliqueSet" not in kinds
    assert "DynamoComponentDeployment" in kinds
    dcd = by_name(result.objects, "DynamoComponentDeployment")["g-frontend"]
    assert "annotations" not in dcd["spec"]  # the empty map the operator creates is left out of JSON
