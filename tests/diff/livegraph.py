"""The live state of graph ``my-graph`` (namespace ns1), written by hand, as an API server returns it.

The objects follow the Dynamo 0.8.0 operator's rules for a two-service graph:
a frontend with 2 replicas and a vLLM worker ``decode``. The frontend's
Deployment is built by the DCD-stage rules for a frontend, and the worker pod
spec is the expected output of the operator's GenerateBasePodSpec test
(tests/data/golden/dgd-pod-base.yaml), both with the graph's names filled in. They are NOT produced
by the product's renderer, so the tests check the renderer and the diff together.

Everything a real kube-apiserver adds is here too: uid, resourceVersion,
generation, managedFields, status, the defaults of Deployments, pod specs and
Services, env lists in another order and quantities in another spelling.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Dict, List

import yaml

GOLDEN = Path(__file__).resolve().parent.parent / "data" / "golden"
GRAPH_FILE = Path(__file__).resolve().parent / "data" / "my-graph.yaml"

NAMESPACE = "ns1"
GRAPH = "my-graph"
DYNAMO_NAMESPACE = "ns1-my-graph"
IMAGE = "nvcr.io/x/dynamo:1.0"
NATS = "nats://nats.dynamo-system:4222"
ETCD = "etcd.dynamo-system:2379"
PLANNER_ROLE = "dynamo-platform-dynamo-operator-planner"
DGD_UID = "0d5e0c3a-1111-4111-8111-000000000001"

Object = Dict[str, Any]


def graph_document() -> Object:
    return yaml.safe_load(GRAPH_FILE.read_text())


def _served_metadata(name: str, *, uid_suffix: int, labels: Dict[str, str], owner: Object = None, generation: int = 1) -> Object:
    metadata: Object = {
        "name": name,
        "namespace": NAMESPACE,
        "uid": f"0d5e0c3a-2222-4222-8222-{uid_suffix:012d}",
        "resourceVersion": str(1000 + uid_suffix),
        "generation": generation,
        "creationTimestamp": "2026-11-30T10:00:00Z",
        "labels": dict(labels),
        "annotations": {"nvidia.com/last-applied-hash": "0" * 64, "nvidia.com/last-applied-generation": str(generation)},
        "managedFields": [{
            "manager": "manager", "operation": "Update", "apiVersion": "v1", "time": "2026-11-30T10:00:00Z",
            "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {"f:labels": {}}},
        }],
    }
    if owner is not None:
        metadata["ownerReferences"] = [owner]
    return metadata


def _owner(kind: str, name: str, uid: str) -> Object:
    return {"apiVersion": "nvidia.com/v1alpha1", "kind": kind, "name": name, "uid": uid,
            "controller": True, "blockOwnerDeletion": True}


DGD_OWNER = _owner("DynamoGraphDeployment", GRAPH, DGD_UID)


def stage_labels(service: str) -> Dict[str, str]:
    return {
        "nvidia.com/dynamo-component": service,
        "nvidia.com/dynamo-namespace": DYNAMO_NAMESPACE,
        "nvidia.com/dynamo-graph-deployment-name": GRAPH,
    }


def live_dgd() -> Object:
    dgd = graph_document()
    dgd["metadata"].update({
        "uid": DGD_UID, "resourceVersion": "900", "generation": 4, "creationTimestamp": "2026-11-30T09:59:00Z",
        "finalizers": ["nvidia.com/finalizer"],
        "labels": {"kustomize.toolkit.fluxcd.io/name": "apps", "kustomize.toolkit.fluxcd.io/namespace": "flux-system"},
        "managedFields": [{"manager": "kustomize-controller", "operation": "Apply", "time": "2026-11-30T09:59:00Z"}],
    })
    dgd["status"] = {"state": "successful", "conditions": [{"type": "Ready", "status": "True"}]}
    return dgd


def live_dcds() -> List[Object]:
    frontend = {
        "apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoComponentDeployment",
        "metadata": _served_metadata(f"{GRAPH}-frontend", uid_suffix=11, labels=stage_labels("Frontend"), owner=DGD_OWNER),
        "spec": {
            "serviceName": "Frontend", "componentType": "frontend", "dynamoNamespace": DYNAMO_NAMESPACE,
            "labels": stage_labels("Frontend"), "replicas": 2, "ingress": {"host": GRAPH},
            # The operator's Go client sends the empty container name; omitempty does not apply to it.
            "extraPodSpec": {"mainContainer": {"name": "", "image": IMAGE}},
        },
        "status": {"conditions": [{"type": "Available", "status": "True"}]},
    }
    decode = {
        "apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoComponentDeployment",
        "metadata": _served_metadata(f"{GRAPH}-decode", uid_suffix=12, labels=stage_labels("decode"), owner=DGD_OWNER),
        "spec": {
            "serviceName": "decode", "componentType": "worker", "dynamoNamespace": DYNAMO_NAMESPACE,
            "labels": stage_labels("decode"), "replicas": 1,
            "extraPodSpec": {"mainContainer": {
                "name": "", "image": IMAGE, "command": ["python3"], "args": ["-m", "dynamo.vllm", "--model", "Qwen/Qwen3-0.6B"],
            }},
        },
    }
    return [frontend, decode]


def _fieldref_env(name: str, path: str) -> Object:
    return {"name": name, "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": path}}}


def _served_container(container: Object) -> Object:
    """Add what SetDefaults_Container fills in and reverse the env order, as a server might store it."""
    container = copy.deepcopy(container)
    container.update({"terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
                      "imagePullPolicy": "IfNotPresent"})
    container.setdefault("resources", {})
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        if probe in container:
            container[probe].setdefault("successThreshold", 1)
            container[probe].setdefault("timeoutSeconds", 1)
            container[probe]["httpGet"]["scheme"] = "HTTP"
    container["env"] = list(reversed(container["env"]))
    return container


def _served_pod_spec(containers: List[Object]) -> Object:
    return {
        "containers": [_served_container(c) for c in containers],
        "dnsPolicy": "ClusterFirst", "restartPolicy": "Always", "schedulerName": "default-scheduler",
        "securityContext": {"fsGroup": 1000}, "terminationGracePeriodSeconds": 60,
        "serviceAccountName": f"{GRAPH}-k8s-service-discovery", "serviceAccount": f"{GRAPH}-k8s-service-discovery",
        # 8Gi written the way another client could have stored it.
        "volumes": [{"name": "shared-memory", "emptyDir": {"medium": "Memory", "sizeLimit": "8192Mi"}}],
    }


def _deployment(service: str, component_type: str, replicas: int, uid_suffix: int, owner_uid: str, pod_spec: Object) -> Object:
    name = f"{GRAPH}-{service.lower()}"
    metadata = _served_metadata(name, uid_suffix=uid_suffix, labels=stage_labels(service),
                                owner=_owner("DynamoComponentDeployment", name, owner_uid), generation=2)
    metadata["annotations"]["deployment.kubernetes.io/revision"] = "1"
    template_labels = dict(stage_labels(service))
    template_labels.update({"nvidia.com/metrics-enabled": "true", "nvidia.com/dynamo-component-type": component_type,
                            "nvidia.com/selector": name})
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata,
        "spec": {
            "replicas": replicas, "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
            "selector": {"matchLabels": {"nvidia.com/selector": name}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {"metadata": {"creationTimestamp": None, "labels": template_labels}, "spec": pod_spec},
        },
        "status": {"replicas": replicas, "readyReplicas": replicas, "observedGeneration": 2},
    }


def live_frontend_deployment() -> Object:
    """The frontend Deployment the DCD-stage rules give for replicas 2, with this graph's operator flags."""
    container = {
        "name": "main", "image": IMAGE, "command": ["python3"], "args": ["-m", "dynamo.frontend"],
        "env": [
            {"name": "DYNAMO_PORT", "value": "8000"},
            {"name": "DYN_COMPONENT", "value": "frontend"},
            {"name": "DYN_DISCOVERY_BACKEND", "value": "kubernetes"},
            {"name": "DYN_HTTP_PORT", "value": "8000"},
            {"name": "DYN_NAMESPACE", "value": DYNAMO_NAMESPACE},
            {"name": "DYN_PARENT_DGD_K8S_NAME", "value": GRAPH},
            {"name": "DYN_PARENT_DGD_K8S_NAMESPACE", "value": NAMESPACE},
            {"name": "ETCD_ENDPOINTS", "value": ETCD},
            {"name": "NATS_SERVER", "value": NATS},
            _fieldref_env("POD_NAME", "metadata.name"),
            _fieldref_env("POD_NAMESPACE", "metadata.namespace"),
            _fieldref_env("POD_UID", "metadata.uid"),
        ],
        "ports": [{"name": "http", "containerPort": 8000, "protocol": "TCP"}],
        "livenessProbe": {"httpGet": {"path": "/live", "port": "http"}, "initialDelaySeconds": 15,
                          "periodSeconds": 10, "timeoutSeconds": 1, "failureThreshold": 3},
        "readinessProbe": {"httpGet": {"path": "/health", "port": "http"}, "initialDelaySeconds": 10,
                           "periodSeconds": 10, "timeoutSeconds": 3, "failureThreshold": 3},
        "volumeMounts": [{"name": "shared-memory", "mountPath": "/dev/shm"}],
    }
    return _deployment("Frontend", "frontend", 2, 21, "0d5e0c3a-2222-4222-8222-000000000011", _served_pod_spec([container]))


def live_decode_deployment() -> Object:
    """The golden worker pod spec with this graph's dynamo namespace, parent, image, command and args."""
    golden = yaml.safe_load((GOLDEN / "dgd-pod-base.yaml").read_text())
    container = copy.deepcopy(golden["expected"]["Worker"]["podSpec"]["containers"][0])
    container.update({"image": IMAGE, "command": ["python3"], "args": ["-m", "dynamo.vllm", "--model", "Qwen/Qwen3-0.6B"]})
    env = [v for v in container["env"] if not v["name"].startswith("ANOTHER_")]
    replacements = {"DYN_NAMESPACE": DYNAMO_NAMESPACE, "DYN_PARENT_DGD_K8S_NAME": GRAPH,
                    "DYN_PARENT_DGD_K8S_NAMESPACE": NAMESPACE}
    for variable in env:
        if variable["name"] in replacements:
            variable["value"] = replacements[variable["name"]]
        field_ref = (variable.get("valueFrom") or {}).get("fieldRef")
        if field_ref:
            field_ref["apiVersion"] = "v1"
    env += [{"name": "ETCD_ENDPOINTS", "value": ETCD}, {"name": "NATS_SERVER", "value": NATS}]
    container["env"] = sorted(env, key=lambda v: v["name"])
    return _deployment("decode", "worker", 1, 22, "0d5e0c3a-2222-4222-8222-000000000012", _served_pod_spec([container]))


def _service(name: str, service: str, component_type: str, uid_suffix: int, owner_uid: str, *, debug: bool) -> Object:
    labels = dict(stage_labels(service))
    labels["nvidia.com/dynamo-discovery-backend"] = "kubernetes"
    if component_type != "frontend":
        labels["nvidia.com/dynamo-discovery-enabled"] = "true"
    selector = {"nvidia.com/dynamo-component-type": component_type, "nvidia.com/dynamo-namespace": DYNAMO_NAMESPACE}
    if debug:
        selector["nvidia.com/dynamo-deployment-target-type"] = "debug"
    port = {"name": "http", "port": 8000, "targetPort": "http", "protocol": "TCP"} if component_type == "frontend" \
        else {"name": "system", "port": 9090, "targetPort": "system", "protocol": "TCP"}
    owner_name = f"{GRAPH}-{service.lower()}"
    ip = f"10.96.0.{uid_suffix}"
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": _served_metadata(name, uid_suffix=uid_suffix, labels=labels,
                                     owner=_owner("DynamoComponentDeployment", owner_name, owner_uid)),
        "spec": {
            "type": "ClusterIP", "clusterIP": ip, "clusterIPs": [ip], "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack", "internalTrafficPolicy": "Cluster", "sessionAffinity": "None",
            "selector": selector, "ports": [port],
        },
        "status": {"loadBalancer": {}},
    }


def live_services() -> List[Object]:
    services = []
    for index, (service, component_type, owner_uid) in enumerate([
        ("Frontend", "frontend", "0d5e0c3a-2222-4222-8222-000000000011"),
        ("decode", "worker", "0d5e0c3a-2222-4222-8222-000000000012"),
    ]):
        base = f"{GRAPH}-{service.lower()}"
        for offset, suffix in enumerate(("", "-p", "-d")):
            services.append(_service(base + suffix, service, component_type, 31 + index * 3 + offset, owner_uid,
                                     debug=suffix == "-d"))
    return services


def live_adapters() -> List[Object]:
    adapters = []
    for index, (service, replicas) in enumerate([("Frontend", 2), ("decode", 1)]):
        labels = {"nvidia.com/dynamo-graph-deployment-name": GRAPH, "nvidia.com/dynamo-component": service}
        adapters.append({
            "apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeploymentScalingAdapter",
            "metadata": _served_metadata(f"{GRAPH}-{service.lower()}", uid_suffix=41 + index, labels=labels, owner=DGD_OWNER),
            "spec": {"replicas": replicas, "dgdRef": {"name": GRAPH, "serviceName": service}},
            "status": {"replicas": replicas},
        })
    return adapters


def live_rbac() -> List[Object]:
    discovery = {"app.kubernetes.io/managed-by": "dynamo-operator", "app.kubernetes.io/component": "rbac",
                 "app.kubernetes.io/name": f"{GRAPH}-k8s-service-discovery"}
    planner = dict(discovery, **{"app.kubernetes.io/name": "planner-serviceaccount"})
    account = f"{GRAPH}-k8s-service-discovery"
    objects = [
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": _served_metadata(account, uid_suffix=51, labels=discovery, owner=DGD_OWNER)},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
         "metadata": _served_metadata(f"{account}-role", uid_suffix=52, labels=discovery, owner=DGD_OWNER),
         "rules": [
             {"apiGroups": [""], "resources": ["endpoints"], "verbs": ["get", "list", "watch"]},
             {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["get", "list", "watch"]},
             {"apiGroups": ["nvidia.com"], "resources": ["dynamoworkermetadatas"],
              "verbs": ["create", "get", "list", "watch", "update", "patch", "delete"]},
         ]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": _served_metadata(f"{account}-binding", uid_suffix=53, labels=discovery, owner=DGD_OWNER),
         "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": NAMESPACE}],
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": f"{account}-role"}},
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": _served_metadata("planner-serviceaccount", uid_suffix=54, labels=planner)},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": _served_metadata("planner-serviceaccount-binding", uid_suffix=55, labels=planner),
         "subjects": [{"kind": "ServiceAccount", "name": "planner-serviceaccount", "namespace": NAMESPACE}],
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": PLANNER_ROLE}},
    ]
    for obj in objects[3:]:
        # The planner RBAC is created with plain client calls: no owner, no hash annotations.
        obj["metadata"].pop("annotations")
    return objects


def operator_deployment() -> Object:
    """The operator's controller-manager Deployment, with the flags the Helm chart renders."""
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {
            "name": "dynamo-platform-dynamo-operator-controller-manager", "namespace": "dynamo-system",
            "labels": {"control-plane": "controller-manager", "app.kubernetes.io/name": "dynamo-operator",
                       "app.kubernetes.io/instance": "dynamo-platform"},
        },
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"control-plane": "controller-manager"}},
            "template": {
                "metadata": {"labels": {"control-plane": "controller-manager"}},
                "spec": {"containers": [{
                    "name": "manager", "image": "nvcr.io/nvidia/ai-dynamo/kubernetes-operator:0.8.0",
                    "args": [
                        "--leader-elect", "--leader-election-id=dynamo.nvidia.com",
                        f"--natsAddr={NATS}", f"--etcdAddr={ETCD}",
                        "--mpi-run-ssh-secret-name=mpi-run-ssh-secret", "--mpi-run-ssh-secret-namespace=dynamo-system",
                        f"--planner-cluster-role-name={PLANNER_ROLE}", "--discovery-backend=kubernetes",
                        "--operator-version=0.8.0",
                    ],
                }]},
            },
        },
    }


def live_graph() -> List[Object]:
    """Every object of the running graph, and the operator Deployment, ready for ``api_server.seed``."""
    return [live_dgd(), *live_dcds(), live_frontend_deployment(), live_decode_deployment(), *live_services(),
            *live_adapters(), *live_rbac(), operator_deployment()]
