"""Names, label keys and small derivations that every part of the 0.8 renderer shares.

The values are those of the Dynamo 0.8.0 operator (internal/consts/consts.go and
graph.go, deploy/cloud/operator). Both operator stages use them, so they live here
once: the DGD stage (DCDs, adapters, discovery RBAC, Services) and the pod-spec and
workload stage.
"""

from __future__ import annotations

import hashlib
from typing import Any, Dict, Mapping, Optional

from kubectl_dynamo.api import labels as api_labels

GROUP = "nvidia.com"
API_VERSION = "nvidia.com/v1alpha1"
DGD_KIND = "DynamoGraphDeployment"
DCD_KIND = "DynamoComponentDeployment"
DGDSA_KIND = "DynamoGraphDeploymentScalingAdapter"

# Labels the operator writes. Those that other commands read are defined in api/labels.py.
LABEL_COMPONENT = api_labels.COMPONENT
LABEL_NAMESPACE = "nvidia.com/dynamo-namespace"
LABEL_GRAPH = api_labels.GRAPH
LABEL_COMPONENT_TYPE = api_labels.COMPONENT_TYPE
LABEL_SUB_COMPONENT_TYPE = api_labels.SUB_COMPONENT_TYPE
LABEL_SELECTOR = "nvidia.com/selector"
LABEL_DEPLOYMENT_TARGET_TYPE = "nvidia.com/dynamo-deployment-target-type"
LABEL_METRICS_ENABLED = "nvidia.com/metrics-enabled"
LABEL_BASE_MODEL_HASH = "nvidia.com/dynamo-base-model-hash"
LABEL_DISCOVERY_BACKEND = "nvidia.com/dynamo-discovery-backend"
LABEL_DISCOVERY_ENABLED = "nvidia.com/dynamo-discovery-enabled"
LABEL_MANAGED_BY = "nvidia.com/managed-by"
LABEL_COMPONENT_POD = "nvidia.com/dynamo-component-pod"
LABEL_KAI_QUEUE = "kai.scheduler/queue"

# Annotations users set on a DGD or a service, and those the operator writes.
ANNOTATION_ENABLE_GROVE = api_labels.ENABLE_GROVE
ANNOTATION_ENABLE_METRICS = "nvidia.com/enable-metrics"
ANNOTATION_DISCOVERY_BACKEND = "nvidia.com/dynamo-discovery-backend"
ANNOTATION_KAI_QUEUE = "nvidia.com/kai-scheduler-queue"
ANNOTATION_BASE_MODEL = "nvidia.com/dynamo-base-model"
ANNOTATION_DISABLE_PULL_SECRET_DISCOVERY = "nvidia.com/disable-image-pull-secret-discovery"
ANNOTATION_STEALING_TRAFFIC = "nvidia.com/enable-stealing-traffic-debug-mode"
ANNOTATION_DEBUG_MODE = "nvidia.com/enable-debug-mode"
ANNOTATION_LAST_APPLIED_HASH = api_labels.LAST_APPLIED_HASH
ANNOTATION_LAST_APPLIED_GENERATION = api_labels.LAST_APPLIED_GENERATION

# Component types with their own defaults; anything else gets the bare base container.
FRONTEND = "frontend"
WORKER = "worker"
PREFILL = "prefill"
DECODE = "decode"
PLANNER = "planner"
WORKER_TYPES = (WORKER, PREFILL, DECODE)

GLOBAL_DYNAMO_NAMESPACE = "dynamo"
PLANNER_SERVICE_ACCOUNT = "planner-serviceaccount"
DEFAULT_INGRESS_SUFFIX = "local"
MAIN_CONTAINER = "main"

# Ports of the component Services.
HTTP_PORT = 8000
HTTP_PORT_NAME = "http"
SYSTEM_PORT = 9090
SYSTEM_PORT_NAME = "system"

DISCOVERY_KUBERNETES = "kubernetes"
DISCOVERY_ETCD = "etcd"


def is_worker(component_type: Optional[str]) -> bool:
    return component_type in WORKER_TYPES


def component_name(dgd_name: str, service_name: str) -> str:
    """Name of a service's DCD, scaling adapter, Services and Grove scaling group stem."""
    return f"{dgd_name}-{service_name.lower()}"


def dynamo_namespace(dgd_namespace: str, dgd_name: str, service: Mapping[str, Any]) -> str:
    """Return the runtime namespace of a service: ``dynamo`` when global, else ``<namespace>-<dgd>``.

    No character is replaced (graph.go, Dynamo 0.8.0): a ``.`` in the DGD name stays.
    A ``dynamoNamespace`` written in the service is ignored.
    """
    if service.get("globalDynamoNamespace") is True:
        return GLOBAL_DYNAMO_NAMESPACE
    return f"{dgd_namespace}-{dgd_name}"


def component_labels(dgd_name: str, service_name: str, dyn_namespace: str) -> Dict[str, str]:
    """Return the three labels the DGD stage puts on a DCD (metadata and spec alike)."""
    return {
        LABEL_COMPONENT: service_name,
        LABEL_NAMESPACE: dyn_namespace,
        LABEL_GRAPH: dgd_name,
    }


def model_hash(model_name: str) -> str:
    """Return the first 8 hex digits of sha256(model name), used in labels and Service names."""
    return hashlib.sha256(model_name.encode("utf-8")).hexdigest()[:8]


def model_service_name(model_name: str) -> str:
    return f"dynamo-model-{model_hash(model_name)}"


def discovery_service_account(dgd_name: str) -> str:
    return f"{dgd_name}-k8s-service-discovery"


def effective_discovery_backend(annotations: Optional[Mapping[str, Any]], flag_value: str) -> str:
    """Return the discovery backend of a DGD or DCD: the annotation when the key exists, else the flag."""
    if annotations and ANNOTATION_DISCOVERY_BACKEND in annotations:
        return str(annotations[ANNOTATION_DISCOVERY_BACKEND] or "")
    return flag_value


def k8s_discovery_enabled(annotations: Optional[Mapping[str, Any]], flag_value: str) -> bool:
    return effective_discovery_backend(annotations, flag_value) == DISCOVERY_KUBERNETES


def grove_enabled_for(dgd: Mapping[str, Any]) -> bool:
    """Return False only when the DGD annotation ``nvidia.com/enable-grove`` lower-cases to ``false``."""
    annotations = (dgd.get("metadata") or {}).get("annotations") or {}
    return str(annotations.get(ANNOTATION_ENABLE_GROVE, "")).lower() != "false"


def number_of_nodes(service: Mapping[str, Any]) -> int:
    multinode = service.get("multinode")
    if isinstance(multinode, dict):
        return int(multinode.get("nodeCount", 2))  # CRD default 2
    return 1


def owner_reference(api_version: str, kind: str, name: str, uid: Optional[str] = None) -> Dict[str, Any]:
    """Return a controller ownerReference. Only live objects have a known ``uid``."""
    ref: Dict[str, Any] = {"apiVersion": api_version, "kind": kind, "name": name}
    if uid:
        ref["uid"] = uid
    ref["controller"] = True
    ref["blockOwnerDeletion"] = True
    return ref


def kube_labels(dcd: Mapping[str, Any]) -> Dict[str, str]:
    """Labels of a DCD's children: ``spec.labels``, ``metadata.labels`` over them, then the model hash.

    getKubeLabels in dynamocomponentdeployment_controller.go, Dynamo 0.8.0.
    """
    spec = dcd.get("spec") or {}
    labels = dict(spec.get("labels") or {})
    labels.update((dcd.get("metadata") or {}).get("labels") or {})
    model = (spec.get("modelRef") or {}).get("name")
    if model:
        labels[LABEL_BASE_MODEL_HASH] = model_hash(model)
    return labels


def kube_annotations(dcd: Mapping[str, Any]) -> Dict[str, str]:
    """Annotations of a DCD's children: ``spec.annotations``, ``extraPodMetadata.annotations``, the model name.

    getKubeAnnotations in dynamocomponentdeployment_controller.go, Dynamo 0.8.0.
    """
    spec = dcd.get("spec") or {}
    annotations = dict(spec.get("annotations") or {})
    annotations.update((spec.get("extraPodMetadata") or {}).get("annotations") or {})
    model = (spec.get("modelRef") or {}).get("name")
    if model:
        annotations[ANNOTATION_BASE_MODEL] = model
    return annotations
