"""Validation of DGDs: the CRD schema from crds/ and the 0.8.0 operator's own rules."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest

from kubectl_dynamo.errors import ValidationError
from kubectl_dynamo.render.api import RenderOptions, render_graph
from kubectl_dynamo.render.v0_8.settings import OperatorSettings
from kubectl_dynamo.render.v0_8.validation import validate

REPO = Path(__file__).resolve().parents[2]

BASE = {
    "apiVersion": "nvidia.com/v1alpha1",
    "kind": "DynamoGraphDeployment",
    "metadata": {"name": "g", "namespace": "ns"},
    "spec": {"services": {
        "Frontend": {"componentType": "frontend", "replicas": 1},
        "VllmWorker": {"componentType": "worker", "replicas": 1,
                       "extraPodSpec": {"mainContainer": {"image": "x", "command": ["python3"], "args": ["-m", "dynamo.vllm"]}}},
    }},
}


def problems_of(dgd, **kwargs):
    with pytest.raises(ValidationError) as error:
        validate(copy.deepcopy(dgd), OperatorSettings(), **kwargs)
    return error.value.problems


def with_service(name, **fields):
    dgd = copy.deepcopy(BASE)
    dgd["spec"]["services"][name].update(fields)
    return dgd


def test_valid_graph_passes():
    assert validate(copy.deepcopy(BASE), OperatorSettings()) == []


def test_generated_schema_matches_crds():
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "gen_schema.py"), "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_crds_carry_no_descriptions():
    for path in (REPO / "crds").glob("*.yaml"):
        assert "description:" not in path.read_text(), path.name


def test_gpu_key_in_limits_names_the_fix():
    problems = problems_of(with_service("VllmWorker", resources={"limits": {"nvidia.com/gpu": "1"}}))
    assert problems == ['spec.services.VllmWorker.resources.limits: unknown key "nvidia.com/gpu"; use "gpu" '
                        '(the operator turns it into nvidia.com/gpu, or into gpuType when set)']


def test_several_problems_reported_together():
    dgd = with_service("VllmWorker", replicas=-1, resources={"limits": {"cpu": 2}}, volumeMounts=[{"name": "m"}])
    dgd["spec"]["services"]["Frontend"]["replicsa"] = 1
    problems = problems_of(dgd)
    assert 'spec.services.Frontend: unknown key "replicsa"; did you mean "replicas"?' in problems
    assert "spec.services.VllmWorker.replicas: -1 is below the minimum 0" in problems
    assert 'spec.services.VllmWorker.resources.limits.cpu: expected string, found integer; quote it: "2"' in problems
    assert any(p.startswith("spec.services.VllmWorker.volumeMounts[0].mountPoint: required") for p in problems)


def test_pvc_create_rule_and_operator_checks():
    dgd = copy.deepcopy(BASE)
    dgd["spec"]["pvcs"] = [{"name": "models", "create": True, "size": "0"}]
    problems = problems_of(dgd)
    assert any("When create is true, size, storageClass, and volumeAccessMode are required (missing: storageClass, volumeAccessMode)" in p for p in problems)
    assert "spec.pvcs[0].size: required and non-zero when create is true, e.g. 100Gi" in problems


def test_pvc_without_name():
    dgd = copy.deepcopy(BASE)
    dgd["spec"]["pvcs"] = [{"size": "1Gi"}]
    assert any(p.startswith('spec.pvcs[0]: missing required key "name"') for p in problems_of(dgd))


def test_shared_memory_without_size_rejected():
    assert any(p.startswith("spec.services.VllmWorker.sharedMemory.size: required") for p in problems_of(with_service("VllmWorker", sharedMemory={})))
    assert validate(with_service("VllmWorker", sharedMemory={"disabled": True}), OperatorSettings()) == []


def test_enabled_ingress_needs_host():
    problems = problems_of(with_service("Frontend", ingress={"enabled": True}))
    assert problems == ["spec.services.Frontend.ingress.host: required when ingress is enabled"]


def test_backend_framework_mismatch():
    dgd = copy.deepcopy(BASE)
    dgd["spec"]["backendFramework"] = "sglang"
    (problem,) = problems_of(dgd)
    assert problem.startswith("spec.backendFramework: 'sglang' does not match the vllm command of service VllmWorker")


def test_invalid_dyn_deployment_config():
    dgd = copy.deepcopy(BASE)
    dgd["spec"]["envs"] = [{"name": "DYN_DEPLOYMENT_CONFIG", "value": "{not json"}]
    (problem,) = problems_of(dgd)
    assert problem.startswith("spec.envs[0].value: value is not valid JSON")


def test_bad_quantity_named():
    (problem,) = problems_of(with_service("VllmWorker", resources={"limits": {"gpu": "two"}}))
    assert problem.startswith("spec.services.VllmWorker.resources.limits.gpu: quantity 'two'")


def test_grove_name_limit():
    dgd = copy.deepcopy(BASE)
    dgd["metadata"]["name"] = "a-very-long-graph-name-for-grove-pods"  # 37 characters
    problems = problems_of(dgd, grove=True)
    assert any(p.startswith("spec.services.VllmWorker: Grove allows 45 characters") and "needs 47" in p for p in problems)
    assert not any(p.startswith("spec.services.Frontend") for p in problems)  # 37 + 8 = 45 fits


def test_grove_needs_replicas():
    dgd = copy.deepcopy(BASE)
    del dgd["spec"]["services"]["Frontend"]["replicas"]
    assert problems_of(dgd, grove=True) == [
        "spec.services.Frontend.replicas: required in Grove mode (the 0.8.0 operator crashes on a service without it); set replicas: 1"]


def test_v1beta1_rejected_with_supported_version():
    dgd = copy.deepcopy(BASE)
    dgd["apiVersion"] = "nvidia.com/v1beta1"
    (problem,) = problems_of(dgd)
    assert "not supported by operator profile 0.8" in problem and "nvidia.com/v1alpha1" in problem


def test_no_services():
    dgd = copy.deepcopy(BASE)
    dgd["spec"]["services"] = {}
    assert problems_of(dgd) == ["spec.services: must have at least one service; add a map of service name to service spec"]


def test_defaults_and_nulls_applied_like_the_api_server():
    dgd = with_service("VllmWorker", multinode={}, envFromSecret=None)
    validate(dgd, OperatorSettings())
    worker = dgd["spec"]["services"]["VllmWorker"]
    assert worker["multinode"] == {"nodeCount": 2}
    assert "envFromSecret" not in worker


def test_legacy_fields_render_with_warnings():
    dgd = with_service("VllmWorker", dynamoNamespace="old", autoscaling={"enabled": True})
    dgd["spec"]["services"]["Processor"] = {"replicas": 1}
    result = render_graph(dgd, RenderOptions(stage="dcd"))
    text = "\n".join(result.warnings)
    assert "spec.services.VllmWorker.dynamoNamespace is deprecated and ignored; the operator uses ns-g" in text
    assert "spec.services.VllmWorker.autoscaling is deprecated and ignored" in text
    assert "spec.services.Processor has no componentType" in text
    processor = next(o for o in result.objects if o["metadata"]["name"] == "g-processor" and o["kind"] == "DynamoComponentDeployment")
    assert processor["spec"]["dynamoNamespace"] == "ns-g"


def test_removed_and_later_fields_dropped_with_warning():
    dgd = with_service("VllmWorker", pvc={"name": "models", "mountPoint": "/models"}, scalingAdapter={"enabled": True})
    warnings = validate(dgd, OperatorSettings())
    worker = dgd["spec"]["services"]["VllmWorker"]
    assert "pvc" not in worker
    assert worker["scalingAdapter"] == {"disable": False}  # the CRD default
    assert any(w.startswith("spec.services.VllmWorker.pvc was removed before 0.8.0") for w in warnings)
    assert any(w.startswith("spec.services.VllmWorker.scalingAdapter.enabled belongs to operators after 0.8.0") for w in warnings)


def test_pvc_without_create_warns():
    dgd = copy.deepcopy(BASE)
    dgd["spec"]["pvcs"] = [{"name": "models", "size": "1Gi"}]
    (warning,) = validate(dgd, OperatorSettings())
    assert warning == "PVC models is not created by the operator (create is not true); it must already exist in namespace ns, or the graph fails"


def test_service_names_differing_in_case_collide():
    dgd = copy.deepcopy(BASE)
    dgd["spec"]["services"]["frontend"] = {"componentType": "frontend", "replicas": 1}
    assert problems_of(dgd) == [
        "spec.services.frontend: services Frontend and frontend both become the objects named g-frontend; rename one of them"]


def test_boolean_where_string_expected_explains_quoting():
    (problem,) = problems_of(with_service("VllmWorker", envs=[{"name": "FLAG", "value": True}]))
    assert problem == ("spec.services.VllmWorker.envs[0].value: expected string, found boolean; "
                       "quote the value, because YAML reads true, false, yes and no as booleans")


def test_integral_float_accepted_for_integer():
    dgd = with_service("VllmWorker", replicas=2.0)
    validate(dgd, OperatorSettings())
    assert dgd["spec"]["services"]["VllmWorker"]["replicas"] == 2
    assert isinstance(dgd["spec"]["services"]["VllmWorker"]["replicas"], int)


def test_dotted_ingress_host_without_suffix_warns():
    dgd = with_service("Frontend", ingress={"enabled": True, "host": "llm.example.com", "ingressControllerClassName": "nginx"})
    (warning,) = validate(dgd, OperatorSettings())
    assert warning.startswith("spec.services.Frontend.ingress: the operator appends the host suffix, so the Ingress host becomes llm.example.com.local")


def test_mount_keys_swapped_between_levels():
    dgd = with_service("VllmWorker", volumeMounts=[{"name": "models", "mountPath": "/models"}])
    dgd["spec"]["services"]["VllmWorker"]["extraPodSpec"]["mainContainer"]["volumeMounts"] = [{"name": "cfg", "mountPoint": "/cfg"}]
    problems = problems_of(dgd)
    assert 'spec.services.VllmWorker.volumeMounts[0]: unknown key "mountPath"; use "mountPoint" (mountPath belongs to extraPodSpec.mainContainer.volumeMounts)' in problems
    assert ('spec.services.VllmWorker.extraPodSpec.mainContainer.volumeMounts[0]: unknown key "mountPoint"; '
            'use "mountPath" (mountPoint belongs to the service-level volumeMounts)') in problems
    assert 'spec.services.VllmWorker.extraPodSpec.mainContainer.volumeMounts[0]: missing required key "mountPath"' in problems


def test_same_pvc_mounted_twice_rejected():
    dgd = with_service("VllmWorker", volumeMounts=[{"name": "models", "mountPoint": "/a"}, {"name": "models", "mountPoint": "/b"}])
    (problem,) = problems_of(dgd)
    assert problem.startswith("spec.services.VllmWorker.volumeMounts[1].name: PVC models is already mounted by volumeMounts[0]")


def test_graph_name_must_start_with_letter():
    dgd = copy.deepcopy(BASE)
    dgd["metadata"]["name"] = "1graph"
    assert "metadata.name: '1graph' must start with a letter" in problems_of(dgd)[0]


def test_dynamo_namespace_label_limit():
    dgd = copy.deepcopy(BASE)
    dgd["metadata"]["namespace"] = "n" * 40
    dgd["metadata"]["name"] = "g" * 23  # 40 + 1 + 23 = 64
    (problem,) = problems_of(dgd)
    assert problem.startswith(f"metadata.name: the dynamo namespace {'n' * 40}-{'g' * 23} (64 characters)")


def test_annotation_values_must_be_strings():
    dgd = copy.deepcopy(BASE)
    dgd["metadata"]["annotations"] = {"nvidia.com/enable-metrics": False}
    assert problems_of(dgd) == ['metadata.annotations["nvidia.com/enable-metrics"]: expected string, found boolean; quote it: "false"']
