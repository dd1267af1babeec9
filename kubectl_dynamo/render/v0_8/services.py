"""Services, Ingresses, VirtualServices and model headless Services.

Two callers with different rules, both Dynamo 0.8.0:

* the DCD controller (generateService, generateIngress, generateVirtualService in
  dynamocomponentdeployment_controller.go): up to three Services per DCD, labelled
  and annotated like the DCD, owned by the DCD;
* the DGD controller in Grove mode (reconcileGroveResources, GenerateComponentService
  in graph.go): one Service per frontend, or per service under Kubernetes discovery,
  with only the discovery labels, owned by the DGD.

Model headless Services (model_service.go) come from both.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from kubectl_dynamo.render.v0_8 import naming
from kubectl_dynamo.render.v0_8.graph import default_ingress_spec, dgd_owner, metadata_of
from kubectl_dynamo.render.v0_8.graph import new_metadata as _meta
from kubectl_dynamo.render.v0_8.settings import OperatorSettings

Object = Dict[str, Any]

INGRESS_API_VERSION = "networking.k8s.io/v1"
VIRTUAL_SERVICE_API_VERSION = "networking.istio.io/v1beta1"


def dcd_owner(dcd: Object) -> Object:
    return naming.owner_reference(naming.API_VERSION, naming.DCD_KIND, dcd["metadata"]["name"], dcd["metadata"].get("uid"))


def service_port(component_type: Optional[str]) -> Object:
    if component_type == naming.FRONTEND:
        return {"name": naming.HTTP_PORT_NAME, "port": naming.HTTP_PORT, "targetPort": naming.HTTP_PORT_NAME, "protocol": "TCP"}
    return {"name": naming.SYSTEM_PORT_NAME, "port": naming.SYSTEM_PORT, "targetPort": naming.SYSTEM_PORT_NAME, "protocol": "TCP"}


def _multinode(spec: Object) -> bool:
    return naming.number_of_nodes(spec) > 1


def render_dcd_services(dcd: Object, settings: OperatorSettings) -> List[Object]:
    """Render the generic Service ``<dcd>`` and, when kept, ``<dcd>-p`` and ``<dcd>-d``."""
    spec = dcd.get("spec") or {}
    name, namespace = dcd["metadata"]["name"], dcd["metadata"]["namespace"]
    annotations = spec.get("annotations") or {}
    k8s_discovery = naming.k8s_discovery_enabled(annotations, settings.discovery_backend)
    frontend = spec.get("componentType") == naming.FRONTEND
    stealing = str(annotations.get(naming.ANNOTATION_STEALING_TRAFFIC, "")) == "true"
    owner = dcd_owner(dcd)

    labels = naming.kube_labels(dcd)
    if k8s_discovery:
        labels[naming.LABEL_DISCOVERY_BACKEND] = naming.DISCOVERY_KUBERNETES
        if not frontend:
            labels[naming.LABEL_DISCOVERY_ENABLED] = "true"
    service_annotations = naming.kube_annotations(dcd)

    variants = [(name, False)]
    if stealing or k8s_discovery or frontend:
        variants += [(f"{name}-p", False), (f"{name}-d", True)]
    services = []
    for service_name, debug in variants:
        selector = {
            naming.LABEL_COMPONENT_TYPE: spec.get("componentType", ""),
            naming.LABEL_NAMESPACE: spec.get("dynamoNamespace", ""),
        }
        if _multinode(spec):
            selector["role"] = "leader"
        if debug:
            selector[naming.LABEL_DEPLOYMENT_TARGET_TYPE] = "debug"
        services.append({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": _meta(service_name, namespace, labels, service_annotations, owner),
            "spec": {"selector": selector, "ports": [service_port(spec.get("componentType"))]},
        })
    return services


def ingress_host(ingress: Object) -> str:
    host = (ingress.get("hostPrefix") or "") + str(ingress.get("host") or "")
    suffix = ingress.get("hostSuffix")
    return f"{host}.{suffix if suffix is not None else naming.DEFAULT_INGRESS_SUFFIX}"


def ingress_object(name: str, namespace: str, ingress: Object, owner: Object) -> Object:
    """GenerateComponentIngress: one rule for ``/`` to port 8000 of the Service ``name``."""
    host = ingress_host(ingress)
    spec: Object = {}
    if ingress.get("ingressControllerClassName") is not None:
        spec["ingressClassName"] = ingress["ingressControllerClassName"]
    spec["rules"] = [{
        "host": host,
        "http": {"paths": [{
            "path": "/",
            "pathType": "Prefix",
            "backend": {"service": {"name": name, "port": {"number": naming.HTTP_PORT}}},
        }]},
    }]
    tls = ingress.get("tls")
    if tls is not None:
        entry: Object = {"hosts": [host]}
        if tls.get("secretName"):
            entry["secretName"] = tls["secretName"]
        spec["tls"] = [entry]
    return {"apiVersion": INGRESS_API_VERSION, "kind": "Ingress", "metadata": _meta(name, namespace, owner=owner), "spec": spec}


def virtual_service_enabled(ingress: Optional[Object]) -> bool:
    return bool(ingress) and ingress.get("enabled") is True and ingress.get("useVirtualService") is True and ingress.get("virtualServiceGateway") is not None


def virtual_service_object(name: str, namespace: str, ingress: Object, owner: Object) -> Object:
    """GenerateComponentVirtualService: route ``/`` to port 8000 of the Service ``name``."""
    spec = {
        "hosts": [ingress_host(ingress)],
        "gateways": [ingress["virtualServiceGateway"]],
        "http": [{
            "match": [{"uri": {"prefix": "/"}}],
            "route": [{"destination": {"host": name, "port": {"number": naming.HTTP_PORT}}}],
        }],
    }
    return {"apiVersion": VIRTUAL_SERVICE_API_VERSION, "kind": "VirtualService", "metadata": _meta(name, namespace, owner=owner), "spec": spec}


def ingress_enabled(ingress: Optional[Object]) -> bool:
    return bool(ingress) and ingress.get("enabled") is True and ingress.get("ingressControllerClassName") is not None


def render_dcd_ingress(dcd: Object, settings: OperatorSettings) -> List[Object]:
    """Render the DCD's Ingress and, when the operator has an Istio gateway, its VirtualService."""
    ingress = (dcd.get("spec") or {}).get("ingress")
    name, namespace = dcd["metadata"]["name"], dcd["metadata"]["namespace"]
    owner = dcd_owner(dcd)
    objects = []
    if ingress_enabled(ingress):
        objects.append(ingress_object(name, namespace, ingress, owner))
    if settings.istio_virtual_service_gateway and virtual_service_enabled(ingress):
        objects.append(virtual_service_object(name, namespace, ingress, owner))
    return objects


def model_service(model_name: str, namespace: str, owner: Object) -> Object:
    """Build the headless Service that lets components find every pod serving one base model."""
    model_hash = naming.model_hash(model_name)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(
            naming.model_service_name(model_name), namespace,
            labels={naming.LABEL_BASE_MODEL_HASH: model_hash, naming.LABEL_MANAGED_BY: "dynamo-operator"},
            annotations={naming.ANNOTATION_BASE_MODEL: model_name},
            owner=owner,
        ),
        "spec": {
            "clusterIP": "None",
            "selector": {naming.LABEL_BASE_MODEL_HASH: model_hash},
            "ports": [{"name": naming.SYSTEM_PORT_NAME, "port": naming.SYSTEM_PORT, "targetPort": naming.SYSTEM_PORT, "protocol": "TCP"}],
        },
    }


def render_grove_services(dgd: Object, settings: OperatorSettings) -> List[Object]:
    """Render the Services, Ingresses, VirtualServices and model Services of Grove mode (DGD-owned)."""
    dgd_name, namespace = metadata_of(dgd)
    owner = dgd_owner(dgd)
    annotations = (dgd.get("metadata") or {}).get("annotations")
    k8s_discovery = naming.k8s_discovery_enabled(annotations, settings.discovery_backend)
    services = (dgd.get("spec") or {}).get("services") or {}
    objects: List[Object] = []

    seen_models = set()
    for service in services.values():
        model = ((service or {}).get("modelRef") or {}).get("name")
        if model and model not in seen_models:
            seen_models.add(model)
            objects.append(model_service(model, namespace, owner))

    for service_name, service in services.items():
        service = service or {}
        component_type = service.get("componentType", "")
        name = naming.component_name(dgd_name, service_name)
        if k8s_discovery or component_type == naming.FRONTEND:
            labels = None
            if k8s_discovery:
                labels = {naming.LABEL_DISCOVERY_BACKEND: naming.DISCOVERY_KUBERNETES, naming.LABEL_DISCOVERY_ENABLED: "true"}
            selector = {
                naming.LABEL_COMPONENT_TYPE: component_type,
                naming.LABEL_NAMESPACE: naming.dynamo_namespace(namespace, dgd_name, service),
            }
            objects.append({
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": _meta(name, namespace, labels=labels, owner=owner),
                "spec": {"selector": selector, "ports": [service_port(component_type)]},
            })
        if component_type == naming.FRONTEND:
            ingress = service.get("ingress")
            if ingress is None:
                ingress = default_ingress_spec(dgd_name, settings)
            if ingress_enabled(ingress):
                objects.append(ingress_object(name, namespace, ingress, owner))
            if settings.istio_virtual_service_gateway and virtual_service_enabled(ingress):
                objects.append(virtual_service_object(name, namespace, ingress, owner))
    return objects
