"""The first operator stage: what the DGD controller creates directly from a graph.

Mirrors the Dynamo 0.8.0 operator: GenerateDynamoComponentsDeployments and
GenerateDefaultIngressSpec (internal/dynamo/graph.go), and the DGD controller's
PVC, scaling-adapter, discovery-RBAC and planner-RBAC steps
(internal/controller/dynamographdeployment_controller.go, internal/rbac/manager.go,
internal/discovery/resource.go). Functions return complete objects without the
hash annotations, which ``render`` adds to every object the operator hashes.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Dict, List, Optional, Tuple

from kubectl_dynamo.api.quantity import QuantityError, canonical
from kubectl_dynamo.render.v0_8 import naming
from kubectl_dynamo.render.v0_8.settings import OperatorSettings

Object = Dict[str, Any]

DYN_DEPLOYMENT_CONFIG = "DYN_DEPLOYMENT_CONFIG"


class GraphError(Exception):
    """An input the operator itself rejects while rendering (reported as a validation problem)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


def metadata_of(dgd: Object) -> Tuple[str, str]:
    metadata = dgd.get("metadata") or {}
    return str(metadata.get("name", "")), str(metadata.get("namespace", ""))


def dgd_owner(dgd: Object) -> Object:
    metadata = dgd.get("metadata") or {}
    return naming.owner_reference(naming.API_VERSION, naming.DGD_KIND, str(metadata.get("name", "")), metadata.get("uid"))


def new_metadata(name: str, namespace: str, labels=None, annotations=None, owner=None) -> Object:
    """Object metadata in the order kubectl prints it; empty maps are left out."""
    metadata: Object = {"name": name, "namespace": namespace}
    if labels:
        metadata["labels"] = dict(labels)
    if annotations:
        metadata["annotations"] = dict(annotations)
    if owner:
        metadata["ownerReferences"] = [owner]
    return metadata


def _object(api_version: str, kind: str, name: str, namespace: str, *, labels=None, annotations=None, owner=None) -> Object:
    return {"apiVersion": api_version, "kind": kind, "metadata": new_metadata(name, namespace, labels, annotations, owner)}


# --- Go encoding of the v1alpha1 shared spec ---
# The operator builds DCDs as Go structs and sends them as JSON, so zero values of
# ``omitempty`` fields disappear and a quantity is written canonically. In the tables,
# "omit" drops "", false, 0, empty maps and lists. "keep" keeps the value of a pointer
# or required field. "quantity" marks a resource.Quantity, which is always present once
# its parent is. A dict describes a nested struct.
_INGRESS = {
    "enabled": "omit", "host": "omit", "useVirtualService": "omit", "virtualServiceGateway": "keep",
    "hostPrefix": "keep", "annotations": "omit", "labels": "omit", "tls": {"secretName": "omit"},
    "hostSuffix": "keep", "ingressControllerClassName": "keep",
}
_RESOURCE_ITEM = {"cpu": "omit", "memory": "omit", "gpu": "omit", "gpuType": "omit", "custom": "omit"}
SHARED_SPEC_FIELDS: Dict[str, Any] = {
    "annotations": "omit", "labels": "omit", "serviceName": "omit", "componentType": "omit",
    "subComponentType": "omit", "dynamoNamespace": "keep", "globalDynamoNamespace": "omit",
    "resources": {"requests": _RESOURCE_ITEM, "limits": _RESOURCE_ITEM, "claims": "omit"},
    "autoscaling": {"enabled": "omit", "minReplicas": "omit", "maxReplicas": "omit", "behavior": "keep", "metrics": "omit"},
    "envs": "omit", "envFromSecret": "keep",
    "volumeMounts": [{"name": "omit", "mountPoint": "omit", "useAsCompilationCache": "omit"}],
    "ingress": _INGRESS, "modelRef": {"name": "keep", "revision": "omit"},
    "sharedMemory": {"disabled": "omit", "size": "quantity"},
    "extraPodMetadata": {"annotations": "omit", "labels": "omit"},
    "extraPodSpec": "core", "livenessProbe": "core", "readinessProbe": "core",
    "replicas": "keep", "multinode": {"nodeCount": "keep"}, "scalingAdapter": {"disable": "omit"},
}
DCD_SPEC_FIELDS: Dict[str, Any] = {"backendFramework": "omit", **SHARED_SPEC_FIELDS}


def _is_zero(value: Any) -> bool:
    if value is None or value is False or value == "" or value == {} or value == []:
        return True
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0


# Map-typed fields of the core types a DGD embeds. Go's omitempty drops them when
# empty; every other object-valued field there is a pointer to a struct (emptyDir,
# securityContext, affinity), which Go writes as {} when it is set but empty.
CORE_MAP_FIELDS = frozenset({
    "annotations", "labels", "nodeSelector", "matchLabels", "limits", "requests", "overhead",
    "volumeAttributes", "data", "binaryData", "stringData",
})


def _drop_empty_collections(value: Any) -> Any:
    """Core types (PodSpec, Container, Probe): empty lists and maps are omitted."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            item = _drop_empty_collections(item)
            if item == [] or (item == {} and key in CORE_MAP_FIELDS):
                continue
            out[key] = item
        return out
    if isinstance(value, list):
        return [_drop_empty_collections(v) for v in value]
    return value


def go_encode(value: Any, fields: Any) -> Any:
    """Return ``value`` as the Go struct described by ``fields`` would serialise it."""
    if fields == "core":
        return _drop_empty_collections(value)
    if isinstance(fields, list):
        return [go_encode(item, fields[0]) for item in value] if isinstance(value, list) else value
    if not isinstance(fields, dict) or not isinstance(value, dict):
        return value
    out: Object = {}
    for key, rule in fields.items():
        if key not in value:
            if rule == "quantity":
                out[key] = "0"
            continue
        item = value[key]
        if item is None and rule != "quantity":
            continue
        if rule == "omit":
            if _is_zero(item):
                continue
            out[key] = item
        elif rule == "keep":
            out[key] = item
        elif rule == "quantity":
            try:
                out[key] = canonical(item if item not in (None, "") else "0")
            except QuantityError:
                out[key] = item
        else:
            out[key] = go_encode(item, rule)
    return out


# --- DCDs ---

def default_ingress_spec(dgd_name: str, settings: OperatorSettings) -> Object:
    """Return the ingress spec a frontend DCD gets when its service has none (GenerateDefaultIngressSpec)."""
    gateway = settings.istio_virtual_service_gateway
    class_name = settings.ingress_controller_class_name
    spec: Object = {}
    if gateway or class_name:
        spec["enabled"] = True
    spec["host"] = dgd_name
    if gateway:
        spec["useVirtualService"] = True
        spec["virtualServiceGateway"] = gateway
    if settings.ingress_host_suffix:
        spec["hostSuffix"] = settings.ingress_host_suffix
    if settings.ingress_controller_tls_secret_name:
        spec["tls"] = {"secretName": settings.ingress_controller_tls_secret_name}
    if class_name:
        spec["ingressControllerClassName"] = class_name
    return spec


def merge_envs(common: List[Object], specific: List[Object]) -> List[Object]:
    """Merge env lists by name, the service's value winning, sorted by name (MergeEnvs)."""
    merged: Dict[str, Object] = {}
    for env in list(common or []) + list(specific or []):
        merged[env.get("name", "")] = copy.deepcopy(env)  # Go copies EnvVar values
    return [merged[name] for name in sorted(merged)]


def _config_env_index(envs: List[Object]) -> Optional[int]:
    for index, env in enumerate(envs or []):
        if env.get("name") == DYN_DEPLOYMENT_CONFIG:
            return index
    return None


def _go_field(mapping: Dict[str, Any], name: str) -> Any:
    """Look a JSON key up as Go decoding into a struct does: keys match the field name
    case-insensitively, and the last matching key wins."""
    found = None
    for key, value in mapping.items():
        if key.lower() == name.lower():
            found = value
    return found


INT32_RANGE = range(-(2**31), 2**31)


def parse_deployment_config(raw: str, env_path: str) -> Optional[Dict[str, Any]]:
    """Decode ``DYN_DEPLOYMENT_CONFIG`` as the operator does (ParseDynDeploymentConfig, graph.go).

    Go decodes the whole document into typed structs, so a wrong type anywhere, in any
    service's entry, fails every service. Returns service name -> {"workers", "resources"}.
    """
    try:
        config = json.loads(raw)
    except ValueError as exc:
        raise GraphError(env_path, f"value is not valid JSON ({exc}); fix the JSON or remove the variable") from exc
    if config is None:
        return None
    if not isinstance(config, dict):
        raise GraphError(env_path, f"value must be a JSON object keyed by service name, not {type(config).__name__}")
    parsed: Dict[str, Any] = {}
    for service, entry in config.items():
        where = f"{service}.ServiceArgs"
        if entry is None:
            parsed[service] = None
            continue
        if not isinstance(entry, dict):
            raise GraphError(env_path, f"entry {service!r} must be a JSON object")
        args = _go_field(entry, "ServiceArgs")
        if args is not None and not isinstance(args, dict):
            raise GraphError(env_path, f"{where} must be a JSON object")
        args = args or {}
        workers = _go_field(args, "workers")
        if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers not in INT32_RANGE):
            raise GraphError(env_path, f"{where}.workers must be a 32-bit integer, not {workers!r}")
        resources = _go_field(args, "resources")
        if resources is not None and not isinstance(resources, dict):
            raise GraphError(env_path, f"{where}.resources must be a JSON object")
        values: Optional[Dict[str, Any]] = None
        if resources is not None:
            values = {}
            for key in ("gpu", "cpu", "memory"):
                value = _go_field(resources, key)
                if value is not None and not isinstance(value, str):
                    raise GraphError(env_path, f"{where}.resources.{key} must be a string such as \"2\", not {value!r}")
                values[key] = value
            custom = _go_field(resources, "custom")
            if custom is not None and (not isinstance(custom, dict) or not all(isinstance(v, (str, type(None))) for v in custom.values())):
                raise GraphError(env_path, f"{where}.resources.custom must map names to strings")
            values["custom"] = None if custom is None else {k: v or "" for k, v in custom.items()}
        parsed[service] = {"workers": workers, "resources": values}
    return parsed


def apply_deployment_config(spec: Object, service_name: str, env_path: str) -> None:
    """Apply the legacy ``DYN_DEPLOYMENT_CONFIG`` env: port rewrite for frontends, then workers and resources.

    Mirrors updateDynDeploymentConfig and overrideWithDynDeploymentConfig (graph.go).
    """
    index = _config_env_index(spec.get("envs") or [])
    if index is None:
        return
    env = spec["envs"][index]
    raw = env.get("value", "")

    if spec.get("componentType") == naming.FRONTEND:
        from kubectl_dynamo.render.v0_8.hashing import go_json

        try:
            # Go decodes into generic maps, where every number is a float64.
            generic = json.loads(raw, parse_int=float)
        except ValueError as exc:
            raise GraphError(env_path, f"value is not valid JSON ({exc}); fix the JSON or remove the variable") from exc
        if generic is not None and not isinstance(generic, dict):
            raise GraphError(env_path, f"value must be a JSON object keyed by service name, not {type(generic).__name__}")
        if isinstance(generic, dict) and isinstance(generic.get(service_name), dict):
            generic[service_name]["port"] = naming.HTTP_PORT
        env["value"] = go_json(generic)

    config = parse_deployment_config(env["value"], env_path) or {}  # after the frontend rewrite, as in Go
    entry = config.get(service_name)
    if entry is None:
        return
    if entry["workers"] is not None:
        spec["replicas"] = entry["workers"]
    values = entry["resources"]
    if values is None:
        return
    target = spec.get("resources")
    if target is None:
        target = spec["resources"] = {}
    if target.get("requests") is None:
        target["requests"] = {}
    if target.get("limits") is None:
        target["limits"] = {}
    requests, limits = target["requests"], target["limits"]
    for key in ("gpu", "cpu", "memory"):
        if values[key] is not None:
            requests[key] = values[key]
            limits[key] = values[key]
    if values["custom"] is not None:
        requests["custom"] = dict(values["custom"])
        limits["custom"] = dict(values["custom"])


def _config_env_path(dgd_spec: Object, service_name: str, service: Object) -> str:
    """Return the field path of the DYN_DEPLOYMENT_CONFIG variable a service reads, for messages."""
    index = _config_env_index(service.get("envs") or [])
    if index is not None:
        return f"spec.services.{service_name}.envs[{index}].value"
    return f"spec.envs[{_config_env_index(dgd_spec.get('envs') or [])}].value"


def render_dcd(dgd: Object, service_name: str, service: Object, settings: OperatorSettings) -> Object:
    """Build one DCD as GenerateDynamoComponentsDeployments does, without owner or hash."""
    dgd_name, dgd_namespace = metadata_of(dgd)
    dgd_spec = dgd.get("spec") or {}
    dyn_namespace = naming.dynamo_namespace(dgd_namespace, dgd_name, service)
    labels = naming.component_labels(dgd_name, service_name, dyn_namespace)
    spec: Object = copy.deepcopy(service)

    spec["serviceName"] = service_name
    spec["dynamoNamespace"] = dyn_namespace
    spec["labels"] = dict(labels)

    dgd_annotations = (dgd.get("metadata") or {}).get("annotations")
    if dgd_annotations is not None:
        annotations = dict(spec.get("annotations") or {})
        for key in (naming.ANNOTATION_ENABLE_METRICS, naming.ANNOTATION_DISCOVERY_BACKEND):
            if key in dgd_annotations:
                annotations[key] = dgd_annotations[key]
        spec["annotations"] = annotations

    if spec.get("componentType") == naming.PLANNER:
        extra = spec.get("extraPodSpec") or {}
        extra["serviceAccountName"] = naming.PLANNER_SERVICE_ACCOUNT
        spec["extraPodSpec"] = extra
    if spec.get("componentType") == naming.FRONTEND and spec.get("ingress") is None:
        spec["ingress"] = default_ingress_spec(dgd_name, settings)

    graph_envs = dgd_spec.get("envs") or []
    if graph_envs:
        spec["envs"] = merge_envs(graph_envs, spec.get("envs") or [])

    apply_deployment_config(spec, service_name, _config_env_path(dgd_spec, service_name, service))
    if service.get("replicas") is not None:
        spec["replicas"] = service["replicas"]

    full_spec = {"backendFramework": dgd_spec.get("backendFramework", ""), **spec}
    dcd = _object(naming.API_VERSION, naming.DCD_KIND, naming.component_name(dgd_name, service_name), dgd_namespace, labels=labels)
    dcd["spec"] = go_encode(full_spec, DCD_SPEC_FIELDS)
    return dcd


def render_dcds(dgd: Object, settings: OperatorSettings) -> List[Object]:
    services = (dgd.get("spec") or {}).get("services") or {}
    owner = dgd_owner(dgd)
    dcds = []
    for service_name, service in services.items():
        dcd = render_dcd(dgd, service_name, service or {}, settings)
        dcd["metadata"]["ownerReferences"] = [owner]
        dcds.append(dcd)
    return dcds


# --- PVCs, scaling adapters, RBAC ---

def render_pvcs(dgd: Object) -> List[Object]:
    """PVCs with ``create: true`` (constructPVC, controller/common.go)."""
    _, namespace = metadata_of(dgd)
    owner = dgd_owner(dgd)
    pvcs = []
    for pvc in (dgd.get("spec") or {}).get("pvcs") or []:
        if not pvc.get("name") or pvc.get("create") is not True:
            continue
        obj = _object("v1", "PersistentVolumeClaim", pvc["name"], namespace, owner=owner)
        size = pvc.get("size", "0")
        try:
            size = canonical(size)
        except QuantityError:
            pass
        obj["spec"] = {
            "accessModes": [pvc.get("volumeAccessMode", "")],
            "resources": {"requests": {"storage": size}},
            "storageClassName": pvc.get("storageClass", ""),
        }
        pvcs.append(obj)
    return pvcs


def render_scaling_adapters(dgd: Object) -> List[Object]:
    """Render one DGDSA per service unless ``scalingAdapter.disable`` (reconcileScalingAdapters)."""
    name, namespace = metadata_of(dgd)
    owner = dgd_owner(dgd)
    adapters = []
    for service_name, service in ((dgd.get("spec") or {}).get("services") or {}).items():
        service = service or {}
        if (service.get("scalingAdapter") or {}).get("disable") is True:
            continue
        replicas = service.get("replicas")
        labels = {naming.LABEL_GRAPH: name, naming.LABEL_COMPONENT: service_name}
        adapter = _object(naming.API_VERSION, naming.DGDSA_KIND, naming.component_name(name, service_name), namespace, labels=labels, owner=owner)
        adapter["spec"] = {"replicas": 1 if replicas is None else replicas, "dgdRef": {"name": name, "serviceName": service_name}}
        adapters.append(adapter)
    return adapters


def _rbac_labels(name: str) -> Dict[str, str]:
    return {"app.kubernetes.io/managed-by": "dynamo-operator", "app.kubernetes.io/component": "rbac", "app.kubernetes.io/name": name}


def render_discovery_rbac(dgd: Object, settings: OperatorSettings) -> List[Object]:
    """ServiceAccount, Role and RoleBinding for Kubernetes discovery (discovery/resource.go)."""
    name, namespace = metadata_of(dgd)
    annotations = (dgd.get("metadata") or {}).get("annotations")
    if not naming.k8s_discovery_enabled(annotations, settings.discovery_backend):
        return []
    owner = dgd_owner(dgd)
    account = naming.discovery_service_account(name)
    labels = _rbac_labels(account)
    service_account = _object("v1", "ServiceAccount", account, namespace, labels=labels, owner=owner)
    role = _object("rbac.authorization.k8s.io/v1", "Role", f"{account}-role", namespace, labels=labels, owner=owner)
    role["rules"] = [
        {"apiGroups": [""], "resources": ["endpoints"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["nvidia.com"], "resources": ["dynamoworkermetadatas"],
         "verbs": ["create", "get", "list", "watch", "update", "patch", "delete"]},
    ]
    binding = _object("rbac.authorization.k8s.io/v1", "RoleBinding", f"{account}-binding", namespace, labels=labels, owner=owner)
    binding["subjects"] = [{"kind": "ServiceAccount", "name": account, "namespace": namespace}]
    binding["roleRef"] = {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": f"{account}-role"}
    return [service_account, role, binding]


def render_planner_rbac(dgd: Object, settings: OperatorSettings) -> List[Object]:
    """Render the planner ServiceAccount and RoleBinding a cluster-wide operator creates if missing.

    Plain creates (rbac/manager.go): no ownerReference and no hash annotations.
    """
    if settings.restricted_namespace:
        return []
    _, namespace = metadata_of(dgd)
    account = naming.PLANNER_SERVICE_ACCOUNT
    labels = _rbac_labels(account)
    service_account = _object("v1", "ServiceAccount", account, namespace, labels=labels)
    binding = _object("rbac.authorization.k8s.io/v1", "RoleBinding", f"{account}-binding", namespace, labels=labels)
    binding["subjects"] = [{"kind": "ServiceAccount", "name": account, "namespace": namespace}]
    binding["roleRef"] = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": settings.planner_cluster_role_name}
    return [service_account, binding]
