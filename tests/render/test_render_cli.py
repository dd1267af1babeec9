"""`kubectl dynamo render` end to end: the corpus, output formats, filters and settings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kubectl_dynamo.render.v0_8.settings import OperatorSettings, settings_from_helm_values, settings_from_operator_args
from tests.conftest import EXAMPLES, run_process

DATA = Path(__file__).resolve().parents[1] / "data"
CORPUS = DATA / "corpus"
HELM_VALUES = Path(__file__).resolve().parents[1] / "data" / "dynamo-0.8.0"

# Invalid for the 0.8 profile, with a field each message must name.
INVALID = {
    "invalid-hallucinated-schema-sglang-pd.yaml": 'spec: unknown key "workers"',
    "legacy-dynamocomponent-unknown-fields.yaml": 'spec.services.VllmWorker.resources.limits: unknown key "nvidia.com/gpu"; use "gpu"',
    "legacy-llm-disagg-router.yaml": 'spec.services.PrefillWorker.resources.requests: unknown key "nvidia.com/gpu"; use "gpu"',
    "v1beta1-vllm-gaie-epp-contrast.yaml": "apiVersion: 'nvidia.com/v1beta1' is not supported by operator profile 0.8",
}
# Multinode graphs need Grove or LeaderWorkerSet; they render with either.
MULTINODE = {"sglang-disagg-multinode.yaml", "trtllm-disagg-multinode-pvc.yaml",
             "trtllm-wideep-gb200-computedomain.yaml", "vllm-disagg-multinode.yaml"}
VALID = sorted(p.name for p in CORPUS.glob("*.yaml") if p.name not in INVALID)


def documents(text):
    return [d for d in yaml.safe_load_all(text) if d]


@pytest.mark.parametrize("name", VALID)
def test_valid_corpus_file_renders(cli, name):
    result = cli(["render", "-f", str(CORPUS / name), *(["--lws"] if name in MULTINODE else [])])
    assert result.exit_code == 0, result.stderr
    assert "error:" not in result.stderr
    for obj in documents(result.stdout):
        assert obj["metadata"]["name"] and obj["metadata"]["namespace"], obj


@pytest.mark.parametrize("name", VALID)
def test_valid_corpus_file_in_grove_mode(cli, name):
    # Grove mode adds two rules: every single-node service sets replicas, and names fit 45 characters.
    result = cli(["render", "-f", str(CORPUS / name), "--grove"])
    if result.exit_code != 0:
        problems = [line for line in result.stderr.splitlines() if line.startswith("  ")]
        assert problems and all("required in Grove mode" in p or "Grove allows 45 characters" in p for p in problems), result.stderr
        return
    assert any(o["kind"] == "PodCliqueSet" for o in documents(result.stdout)) or not result.stdout


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_corpus_file_fails_naming_field(cli, name):
    result = cli(["render", "-f", str(CORPUS / name)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert f"{CORPUS / name} (document 1): {INVALID[name]}" in result.stderr


def test_multinode_without_orchestrator_fails(cli):
    result = cli(["render", "-f", str(CORPUS / "vllm-disagg-multinode.yaml")])
    assert result.exit_code == 2
    assert ("spec.services.decode.multinode.nodeCount: 2 nodes need Grove, or LeaderWorkerSet with Volcano, "
            "so pass --grove or --lws if the cluster serves them\n") in result.stderr


def test_non_dgd_documents_passed_over_with_note(cli):
    result = cli(["render", "-f", str(CORPUS / "trtllm-agg-with-configmap.yaml")])
    assert result.exit_code == 0
    assert "(document 1): skipped ConfigMap" in result.stderr
    assert all(o["kind"] != "ConfigMap" for o in documents(result.stdout))


def test_request_file_renders_nothing(cli):
    path = CORPUS / "dgdr-sla-online.yaml"
    result = cli(["render", "-f", str(path)])
    assert result.exit_code == 0
    assert result.stdout == ""
    assert f"warning: no DynamoGraphDeployment found in {path}\n" in result.stderr


@pytest.mark.parametrize("source", ["/dev/null", "-"])
def test_empty_input_warns(cli, source):
    result = cli(["render", "-f", source], stdin="")
    assert result.exit_code == 0
    assert result.stdout == ""
    shown = "<stdin>" if source == "-" else source
    assert result.stderr == f"warning: no DynamoGraphDeployment found in {shown}\n"


def test_help_mentions_empty_input(cli):
    result = cli(["render", "--help"])
    assert "prints nothing and a warning, and exits 0" in " ".join(result.stdout.split())


def test_json_output_is_one_list(cli):
    result = cli(["render", "-f", str(EXAMPLES / "llm-agg.yaml"), "-o", "json"])
    listing = json.loads(result.stdout)
    assert listing["apiVersion"] == "v1"
    assert listing["kind"] == "List"
    kinds = [item["kind"] for item in listing["items"]]
    assert kinds == sorted(kinds)
    assert {"DynamoComponentDeployment", "Deployment", "Service", "DynamoGraphDeploymentScalingAdapter"} <= set(kinds)


def test_objects_sorted_by_kind_then_name(cli):
    objects = documents(cli(["render", "-f", str(CORPUS / "vllm-agg.yaml")]).stdout)
    keys = [(o["kind"], o["metadata"]["name"]) for o in objects]
    assert keys == sorted(keys)


def test_kind_filter(cli):
    result = cli(["render", "-f", str(EXAMPLES / "llm-agg.yaml"), "--kind", "deploy,svc"])
    kinds = {o["kind"] for o in documents(result.stdout)}
    assert kinds == {"Deployment", "Service"}
    bad = cli(["render", "-f", str(EXAMPLES / "llm-agg.yaml"), "--kind", "Pod"])
    assert bad.exit_code == 2
    assert "--kind 'Pod' is not a kind the renderer produces" in bad.stderr


def test_stage_dcd_stops_after_first_stage(cli):
    objects = documents(cli(["render", "-f", str(EXAMPLES / "llm-agg.yaml"), "--stage", "dcd"]).stdout)
    kinds = {o["kind"] for o in objects}
    assert "DynamoComponentDeployment" in kinds
    assert not kinds & {"Deployment", "Service"}


def test_namespace_flag_only_where_file_has_none(cli):
    objects = documents(cli(["render", "-f", str(EXAMPLES / "llm-agg.yaml"), "-n", "team"]).stdout)
    assert {o["metadata"]["namespace"] for o in objects} == {"team"}
    dcd = next(o for o in objects if o["kind"] == "DynamoComponentDeployment")
    assert dcd["spec"]["dynamoNamespace"] == "team-llm-agg"
    same = cli(["render", "-f", str(CORPUS / "eks-vllm-agg-70b-nodeselector.yaml"), "-n", "dynamo-cloud"])
    assert same.exit_code == 0, same.stderr
    assert {o["metadata"]["namespace"] for o in documents(same.stdout)} == {"dynamo-cloud"}


def test_namespace_flag_contradicting_file(cli):
    path = CORPUS / "eks-vllm-agg-70b-nodeselector.yaml"
    result = cli(["render", "-f", str(path), "-n", "team"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert (f'error: {path} (document 1): the namespace from the provided object "dynamo-cloud" does not match '
            f'the namespace "team"; pass --namespace=dynamo-cloud or remove it\n') in result.stderr


def test_invalid_namespace_flag(cli):
    result = cli(["render", "-f", str(EXAMPLES / "llm-agg.yaml"), "-n", "Bad_NS"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "error: invalid -n/--namespace 'Bad_NS': a namespace must be a lowercase RFC 1123 label" in result.stderr


def test_invalid_namespace_in_file(cli, tmp_path):
    graph = yaml.safe_load((EXAMPLES / "llm-agg.yaml").read_text())
    graph["metadata"]["namespace"] = "x" * 64
    path = tmp_path / "graph.yaml"
    path.write_text(yaml.safe_dump(graph))
    result = cli(["render", "-f", str(path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert f"error: {path} (document 1): invalid metadata.namespace '{'x' * 64}': a namespace must be" in result.stderr


def test_stdin_and_directories(cli, tmp_path):
    text = (EXAMPLES / "llm-agg.yaml").read_text()
    from_stdin = cli(["render", "-f", "-"], stdin=text)
    assert from_stdin.exit_code == 0
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "graph.yaml").write_text(text)
    from_dir = cli(["render", "-f", str(tmp_path)])
    assert from_dir.stdout == from_stdin.stdout


def test_owner_references_and_hash(cli):
    objects = documents(cli(["render", "-f", str(EXAMPLES / "llm-agg.yaml")]).stdout)
    dcd = next(o for o in objects if o["kind"] == "DynamoComponentDeployment")
    assert dcd["metadata"]["ownerReferences"][0] == {
        "apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeployment", "name": "llm-agg",
        "controller": True, "blockOwnerDeletion": True}
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    assert deployment["metadata"]["ownerReferences"][0]["kind"] == "DynamoComponentDeployment"
    for obj in objects:
        annotations = obj["metadata"].get("annotations") or {}
        hashed = obj["kind"] != "PersistentVolumeClaim" and not obj["metadata"]["name"].startswith("planner-serviceaccount")
        assert ("nvidia.com/last-applied-hash" in annotations) == hashed, obj["metadata"]["name"]


def test_discovery_backend_etcd(cli):
    objects = documents(cli(["render", "-f", str(EXAMPLES / "llm-agg.yaml"), "--discovery-backend", "etcd"]).stdout)
    names = {(o["kind"], o["metadata"]["name"]) for o in objects}
    assert ("ServiceAccount", "llm-agg-k8s-service-discovery") not in names
    assert ("Service", "llm-agg-processor") in names
    assert ("Service", "llm-agg-processor-p") not in names


def test_operator_config_ingress(cli, tmp_path):
    config = tmp_path / "values.yaml"
    config.write_text("dynamo-operator:\n  dynamo:\n    ingress:\n      enabled: true\n      className: nginx\n"
                      "      tlsSecretName: tls\n    ingressHostSuffix: example.com\n")
    objects = documents(cli(["render", "-f", str(CORPUS / "vllm-agg.yaml"), "--operator-config", str(config)]).stdout)
    (ingress,) = [o for o in objects if o["kind"] == "Ingress"]
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["rules"][0]["host"] == "vllm-agg.example.com"
    assert ingress["spec"]["tls"] == [{"hosts": ["vllm-agg.example.com"], "secretName": "tls"}]


def test_grove_mode_renders_pod_clique_set_and_services(cli):
    objects = documents(cli(["render", "-f", str(CORPUS / "vllm-agg.yaml"), "--grove"]).stdout)
    kinds = {o["kind"] for o in objects}
    assert "PodCliqueSet" in kinds
    assert "DynamoComponentDeployment" not in kinds
    services = [o for o in objects if o["kind"] == "Service"]
    assert {s["metadata"]["name"] for s in services} == {"vllm-agg-frontend", "vllm-agg-worker"}
    frontend = next(s for s in services if s["metadata"]["name"] == "vllm-agg-frontend")
    assert frontend["spec"]["ports"] == [{"name": "http", "port": 8000, "targetPort": "http", "protocol": "TCP"}]
    assert frontend["metadata"]["ownerReferences"][0]["kind"] == "DynamoGraphDeployment"


def test_profile_defaults_match_platform_chart():
    values = yaml.safe_load((HELM_VALUES / "platform-values.yaml").read_text())
    assert settings_from_helm_values(values) == OperatorSettings()


def test_settings_from_operator_args():
    args = ["--health-probe-bind-address=:8081", "-leader-elect", "--natsAddr", "nats://n:4222",
            "-etcdAddr=e:2379", "--enable-webhooks", "--discovery-backend=etcd", "--grove-termination-delay=4h",
            "--ingress-controller-class-name", "nginx", "--planner-cluster-role-name=p-planner"]
    settings = settings_from_operator_args(args)
    assert settings.nats_address == "nats://n:4222"
    assert settings.etcd_address == "e:2379"
    assert settings.discovery_backend == "etcd"
    assert settings.grove_termination_delay == "4h"
    assert settings.ingress_controller_class_name == "nginx"
    assert settings.planner_cluster_role_name == "p-planner"
    assert settings.model_express_url == ""  # absent flag: binary default


@pytest.mark.parametrize("golden, source, extra", [
    ("render-llm-agg.yaml", EXAMPLES / "llm-agg.yaml", []),
    ("render-disagg.yaml", CORPUS / "vllm-llama70b-disagg-pvc-shm.yaml", []),
    ("render-multinode-lws.yaml", CORPUS / "vllm-disagg-multinode.yaml", ["--lws"]),
])
def test_rendered_output_matches_golden_file(cli, golden_file, golden, source, extra):
    result = cli(["render", "-f", str(source), *extra])
    assert result.exit_code == 0, result.stderr
    golden_file(golden, result.stdout)


def test_render_does_not_import_kubernetes():
    code = ("import sys; from kubectl_dynamo.cli import run; "
            f"code = run(['render', '-f', {str(EXAMPLES / 'llm-agg.yaml')!r}, '-o', 'json']); "
            "assert code == 0; print('kubernetes' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_kubectl_dispatches_render(kubectl, plugin_env):
    result = run_process([kubectl, "dynamo", "render", "-f", str(EXAMPLES / "llm-agg.yaml"), "--kind", "dcd"], plugin_env)
    assert result.exit_code == 0, result.stderr
    assert [o["metadata"]["name"] for o in documents(result.stdout)] == ["llm-agg-frontend", "llm-agg-processor", "llm-agg-vllmworker"]


def test_help_lists_examples(cli):
    result = cli(["render", "--help"])
    assert result.exit_code == 0
    assert "Examples:" in result.stdout
    assert "--operator-config" in result.stdout


def test_operator_config_with_unsupported_discovery_backend(cli, tmp_path):
    config = tmp_path / "values.yaml"
    config.write_text("discoveryBackend: consul\n")
    result = cli(["render", "-f", str(EXAMPLES / "llm-agg.yaml"), "--operator-config", str(config)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "discovery backend 'consul' is not supported; use kubernetes or etcd" in result.stderr


def test_missing_file_is_usage_error(cli, tmp_path):
    result = cli(["render", "-f", str(tmp_path / "absent.yaml")])
    assert result.exit_code == 2
    assert "not found" in result.stderr


def _pod_specs(obj):
    spec = obj.get("spec") or {}
    if obj["kind"] == "Deployment":
        yield spec["template"]["spec"]
    elif obj["kind"] == "LeaderWorkerSet":
        template = spec["leaderWorkerTemplate"]
        yield from (t["spec"] for t in (template.get("leaderTemplate"), template.get("workerTemplate")) if t)
    elif obj["kind"] == "PodCliqueSet":
        yield from (clique["spec"]["podSpec"] for clique in spec["template"]["cliques"])


@pytest.mark.parametrize("name", VALID)
def test_rendered_pod_templates_have_unique_names(cli, name):
    # Kubernetes rejects a pod template with duplicate volume, container or mount names.
    for flag in (["--lws"] if name in MULTINODE else [], ["--grove"]):
        result = cli(["render", "-f", str(CORPUS / name), *flag])
        for obj in documents(result.stdout):
            for pod in _pod_specs(obj):
                volumes = [v["name"] for v in pod.get("volumes") or []]
                assert len(volumes) == len(set(volumes)), (obj["metadata"]["name"], volumes)
                containers = [c["name"] for c in pod["containers"]]
                assert len(containers) == len(set(containers)), (obj["metadata"]["name"], containers)
                for container in pod["containers"]:
                    paths = [m["mountPath"] for m in container.get("volumeMounts") or []]
                    assert len(paths) == len(set(paths)), (obj["metadata"]["name"], container["name"], paths)


@pytest.mark.parametrize("output", ["yaml", "json"])
def test_kubectl_creates_rendered_objects(cli, kubectl, api_server, output):
    # Real kubectl reads the stream (or the v1 List) and the test API server stores every object.
    api_server.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "dynamo"}})
    rendered = cli(["render", "-f", str(EXAMPLES / "llm-agg.yaml"), "-n", "dynamo", "-o", output])
    created = run_process([kubectl, "create", "--validate=false", "-f", "-"], api_server.env, input=rendered.stdout)
    assert created.exit_code == 0, created.stderr
    objects = json.loads(rendered.stdout)["items"] if output == "json" else documents(rendered.stdout)
    assert len(created.stdout.splitlines()) == len(objects)
    for obj in objects:
        stored = api_server.get_object(obj["apiVersion"], obj["kind"], "dynamo", obj["metadata"]["name"])
        assert stored is not None, obj["metadata"]["name"]
        assert stored.get("spec") == obj.get("spec"), obj["metadata"]["name"]
        assert stored["metadata"].get("annotations") == obj["metadata"].get("annotations"), obj["metadata"]["name"]


def test_kind_filter_without_matches_notes_it(cli):
    result = cli(["render", "-f", str(EXAMPLES / "llm-agg.yaml"), "--kind", "lws"])
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "no objects of kind LeaderWorkerSet rendered" in result.stderr


def test_operator_chart_values_give_binary_style_settings():
    values = yaml.safe_load((HELM_VALUES / "operator-values.yaml").read_text())
    settings = settings_from_helm_values(values, release="dynamo", namespace="ops")
    assert settings.grove_termination_delay == "15m"
    assert settings.nats_address == "nats://dynamo-nats.ops.svc.cluster.local:4222"
    assert settings.etcd_address == "dynamo-etcd.ops.svc.cluster.local:2379"
    assert settings.mpi_run_ssh_secret_name == "mpi-run-ssh-secret"
    assert settings.mpi_run_ssh_secret_namespace == "ops"
    assert settings.planner_cluster_role_name == "dynamo-dynamo-operator-planner"
    assert settings.ingress_controller_class_name == ""


def test_namespace_restricted_operator_renders_no_planner_rbac(cli, tmp_path):
    config = tmp_path / "values.yaml"
    config.write_text("dynamo-operator:\n  namespaceRestriction:\n    enabled: true\n")
    objects = documents(cli(["render", "-f", str(EXAMPLES / "llm-agg.yaml"), "--operator-config", str(config)]).stdout)
    names = {o["metadata"]["name"] for o in objects}
    assert "planner-serviceaccount" not in names
    assert "planner-serviceaccount-binding" not in names
    assert "llm-agg-k8s-service-discovery" in names


def test_name_output(cli):
    result = cli(["render", "-f", str(EXAMPLES / "llm-agg.yaml"), "-o", "name", "--kind", "deploy,dcd,sa"])
    assert result.stdout.splitlines() == [
        "deployment.apps/llm-agg-frontend", "deployment.apps/llm-agg-processor", "deployment.apps/llm-agg-vllmworker",
        "dynamocomponentdeployment.nvidia.com/llm-agg-frontend", "dynamocomponentdeployment.nvidia.com/llm-agg-processor",
        "dynamocomponentdeployment.nvidia.com/llm-agg-vllmworker",
        "serviceaccount/llm-agg-k8s-service-discovery", "serviceaccount/planner-serviceaccount",
    ]
