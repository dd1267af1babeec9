"""The workloads the 0.8.0 operator renders from one DynamoComponentDeployment.

Mirrors dynamocomponentdeployment_controller.go of Dynamo 0.8.0: a Deployment named
after the DCD (plus a ``-d`` debug Deployment in stealing-traffic mode), or, for a
multinode DCD with LeaderWorkerSet support, one LeaderWorkerSet and one Volcano
PodGroup per replica named ``<dcd>-<i>``. Objects come without the
``nvidia.com/last-applied-*`` annotations, which the caller adds.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional

from kubectl_dynamo.api.quantity import canonical as canonical_quantity
from kubectl_dynamo.errors import InputError
from kubectl_dynamo.render.v0_8 import backends
from kubectl_dynamo.render.v0_8.naming import (
    ANNOTATION_DEBUG_MODE,
    ANNOTATION_ENABLE_METRICS,
    ANNOTATION_STEALING_TRAFFIC,
    API_VERSION,
    DCD_KIND,
    DGD_KIND,
    LABEL_COMPONENT_TYPE,
    LABEL_DEPLOYMENT_TARGET_TYPE,
    LABEL_GRAPH,
    LABEL_METRICS_ENABLED,
    LABEL_SELECTOR,
    LABEL_SUB_COMPONENT_TYPE,
    MAIN_CONTAINER,
    kube_annotations,
    kube_labels,
    number_of_nodes,
    owner_reference,
)
from kubectl_dynamo.render.v0_8.podspec import build_pod_spec
from kubectl_dynamo.render.v0_8.podspec_merge import order_pod_spec

Object = Dict[str, Any]

ANNOTATION_DEPLOYMENT_STRATEGY = "nvidia.com/deployment-strategy"
ANNOTATION_MAX_SURGE = "nvidia.com/deployment-rolling-update-max-surge"
ANNOTATION_MAX_UNAVAILABLE = "nvidia.com/deployment-rolling-update-max-unavailable"
ANNOTATION_GROUP_NAME = "scheduling.k8s.io/group-name"
LABEL_INSTANCE_ID = "instance-id"
LABEL_ROLE = "role"
DEFAULT_SERVICE_ACCOUNT = "default"
DEBUG_TARGET_TYPE = "debug"

LWS_API_VERSION = "leaderworkerset.x-k8s.io/v1"
PODGROUP_API_VERSION = "scheduling.volcano.sh/v1beta1"

NO_MULTINODE_ORCHESTRATOR = "failed to reconcile Dynamo components deployments: no multinode orchestrator available"


def render_workloads(dcd: Object, settings) -> List[Object]:
    """Return the Deployment(s), or the LeaderWorkerSets and PodGroups, of one DCD.

    Raises InputError when the DCD is multinode and the operator has no LeaderWorkerSet
    support: the DGD controller then refuses the whole graph.
    """
    spec = dcd.get("spec") or {}
    if number_of_nodes(spec) > 1:
        if not settings.lws_enabled:
            raise InputError(
                f"{_where(dcd)}spec.multinode.nodeCount is {number_of_nodes(spec)}: {NO_MULTINODE_ORCHESTRATOR}",
                hint="render with --lws (LeaderWorkerSet and Volcano installed) or with Grove enabled",
            )
        objects: List[Object] = []
        replicas = spec.get("replicas")
        for instance_id in range(1 if replicas is None else int(replicas)):
            objects.append(volcano_pod_group(dcd, instance_id))
            objects.append(leader_worker_set(dcd, settings, instance_id))
        return objects

    objects = [deployment(dcd, settings)]
    if stealing_traffic_debug_mode(dcd):
        objects.append(deployment(dcd, settings, debug=True))
    return objects


def stealing_traffic_debug_mode(dcd: Object) -> bool:
    return _spec_annotations(dcd).get(ANNOTATION_STEALING_TRAFFIC) == "true"


def parent_dgd_name(dcd: Object) -> str:
    """Return the owning DGD's name from ownerReferences, as the operator does.

    NOTE: a DCD rendered offline may lack ownerReferences. Then the graph label that
    the DGD stage writes is used, which gives the same name for DGD-created DCDs.
    """
    metadata = dcd.get("metadata") or {}
    owners = metadata.get("ownerReferences")
    if owners:
        for owner in owners:
            if owner.get("kind") == DGD_KIND:
                return owner.get("name") or ""
        return ""
    return (metadata.get("labels") or {}).get(LABEL_GRAPH, "")


def _spec_annotations(dcd: Object) -> Dict[str, str]:
    return (dcd.get("spec") or {}).get("annotations") or {}


def _where(dcd: Object) -> str:
    """Return the prefix that names a DCD in error messages."""
    return f"DynamoComponentDeployment {(dcd.get('metadata') or {}).get('name', '')}: "


def _metadata(dcd: Object, name: str, labels: Dict[str, str], annotations: Optional[Dict[str, str]] = None) -> Object:
    dcd_metadata = dcd.get("metadata") or {}
    metadata: Object = {"name": name, "namespace": dcd_metadata.get("namespace", "")}
    if labels:
        metadata["labels"] = labels
    if annotations:
        metadata["annotations"] = annotations
    metadata["ownerReferences"] = [owner_reference(API_VERSION, DCD_KIND, dcd_metadata.get("name", ""), dcd_metadata.get("uid"))]
    return metadata


def _parse_int_or_string(text: str):
    """Parse like Kubernetes intstr.Parse: an integer when the text is one, else the string."""
    if re.fullmatch(r"[+-]?[0-9]+", text) and -(2**63) <= int(text) < 2**63:
        return int(text)
    return text


def deployment_strategy(dcd: Object) -> Object:
    """Return the Deployment strategy: RollingUpdate (25%/25% unless annotated) or Recreate."""
    annotations = kube_annotations(dcd)
    max_surge = _parse_int_or_string(annotations[ANNOTATION_MAX_SURGE]) if annotations.get(ANNOTATION_MAX_SURGE) else "25%"
    max_unavailable = (
        _parse_int_or_string(annotations[ANNOTATION_MAX_UNAVAILABLE]) if annotations.get(ANNOTATION_MAX_UNAVAILABLE) else "25%"
    )
    # The strategy type is read from spec.annotations only; unknown values keep RollingUpdate.
    if _spec_annotations(dcd).get(ANNOTATION_DEPLOYMENT_STRATEGY) == "Recreate":
        return {"type": "Recreate"}
    return {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": max_surge, "maxUnavailable": max_unavailable}}


def deployment(dcd: Object, settings, *, debug: bool = False) -> Object:
    """Return the Deployment ``<dcd>`` or, with ``debug``, the debug Deployment ``<dcd>-d``."""
    name = _kube_name(dcd, debug)
    spec = dcd.get("spec") or {}
    body: Object = {}
    replicas = 1 if debug else spec.get("replicas")
    if replicas is not None:
        body["replicas"] = replicas
    body["selector"] = {"matchLabels": {LABEL_SELECTOR: name}}
    body["template"] = pod_template(dcd, settings, backends.ROLE_MAIN, debug=debug)
    body["strategy"] = deployment_strategy(dcd)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(dcd, name, kube_labels(dcd), kube_annotations(dcd)),
        "spec": body,
    }


def _kube_name(dcd: Object, debug: bool) -> str:
    name = (dcd.get("metadata") or {}).get("name", "")
    return f"{name}-d" if debug else name


def debugger_container(image: str) -> Object:
    return {
        "name": "debugger",
        "image": image,
        "command": ["sleep", "infinity"],
        "securityContext": {"capabilities": {"add": ["SYS_PTRACE"]}},
        "resources": {
            "requests": {"cpu": "100m", "memory": "100Mi"},
            "limits": {"cpu": canonical_quantity("1000m"), "memory": "1000Mi"},
        },
        "stdin": True,
        "tty": True,
    }


def pod_template(dcd: Object, settings, role: str, *, debug: bool = False) -> Object:
    """Return the pod template of a DCD workload (``generatePodTemplateSpec``, Dynamo 0.8.0)."""
    metadata = dcd.get("metadata") or {}
    spec = dcd.get("spec") or {}
    annotations = _spec_annotations(dcd)

    labels = kube_labels(dcd)
    if debug:
        labels[LABEL_DEPLOYMENT_TARGET_TYPE] = DEBUG_TARGET_TYPE
    if annotations.get(ANNOTATION_ENABLE_METRICS) != "false":
        labels[LABEL_METRICS_ENABLED] = "true"
    labels[LABEL_GRAPH] = (spec.get("labels") or {}).get(LABEL_GRAPH, "")
    if spec.get("componentType"):
        labels[LABEL_COMPONENT_TYPE] = spec["componentType"]
    if spec.get("subComponentType"):
        labels[LABEL_SUB_COMPONENT_TYPE] = spec["subComponentType"]

    main = (spec.get("extraPodSpec") or {}).get("mainContainer") or {}
    try:
        framework = backends.determine_framework(
            spec.get("componentType") or "", main.get("command") or [], main.get("args") or [], spec.get("backendFramework") or ""
        )
    except InputError as error:
        raise InputError(f"{_where(dcd)}{error}", hint=error.hint) from None
    pod_spec = build_pod_spec(
        spec,
        framework=framework,
        dgd_name=parent_dgd_name(dcd),
        namespace=metadata.get("namespace", ""),
        role=role,
        settings=settings,
        deployer=backends.LWS,
        service_name=metadata.get("name", ""),
        where=f"{_where(dcd)}spec.",
    )

    debug_mode = annotations.get(ANNOTATION_DEBUG_MODE) == "true"
    if debug or debug_mode:
        pod_spec["containers"].append(debugger_container(settings.debugger_image))

    labels[LABEL_SELECTOR] = _kube_name(dcd, debug)
    extra_metadata = spec.get("extraPodMetadata") or {}
    pod_annotations = dict(extra_metadata.get("annotations") or {})
    labels.update(extra_metadata.get("labels") or {})

    if not pod_spec.get("serviceAccountName"):
        # The operator lists ServiceAccounts labelled nvidia.com/dynamo-component-pod=true.
        accounts = list(settings.component_service_accounts or [])
        pod_spec["serviceAccountName"] = accounts[0] if accounts else DEFAULT_SERVICE_ACCOUNT
    if debug or debug_mode:
        pod_spec["shareProcessNamespace"] = True

    template_metadata: Object = {"labels": labels}
    if pod_annotations:
        template_metadata["annotations"] = pod_annotations
    return {"metadata": template_metadata, "spec": order_pod_spec(pod_spec)}


# --- LeaderWorkerSet path -----------------------------------------------------------------


def volcano_pod_group(dcd: Object, instance_id: Optional[int]) -> Object:
    """Return the Volcano PodGroup ``<dcd>-<instance_id>`` that gang-schedules one LWS group."""
    _check_instance_id(instance_id, "generateVolcanoPodGroup")
    name = f"{_kube_name(dcd, False)}-{instance_id}"
    return {
        "apiVersion": PODGROUP_API_VERSION,
        "kind": "PodGroup",
        "metadata": _metadata(dcd, name, {LABEL_INSTANCE_ID: str(instance_id)}),
        "spec": {"minMember": number_of_nodes(dcd.get("spec") or {})},
    }


def _check_instance_id(instance_id: Optional[int], function: str) -> None:
    if instance_id is None:
        raise InputError(f"{function}: instanceID cannot be nil")
    if instance_id < 0:
        raise InputError(f"{function}: instanceID cannot be negative, got {instance_id}")


def _check_main_container(pod_spec: Object, where: str) -> None:
    containers = pod_spec.get("containers") or []
    if not containers:
        raise InputError(f"{where}the pod spec has no containers")
    for container in containers:
        if container.get("name") != MAIN_CONTAINER:
            continue
        if not container.get("command"):
            raise InputError(f"{where}the main container has no command, which a LeaderWorkerSet pod needs", hint="set extraPodSpec.mainContainer.command")
        if not container.get("args"):
            raise InputError(f"{where}the main container has no args, which a LeaderWorkerSet pod needs", hint="set extraPodSpec.mainContainer.args")
        return
    raise InputError(f"{where}the pod spec has no container named main")


def _lws_pod_template(dcd: Object, settings, role: str, lws_name: str, lws_labels: Dict[str, str], instance_id: int) -> Object:
    template = pod_template(dcd, settings, role)
    labels = template["metadata"]["labels"]
    labels.update(lws_labels)
    labels[LABEL_ROLE] = role
    labels[LABEL_INSTANCE_ID] = str(instance_id)
    labels.pop(LABEL_SELECTOR, None)
    template["metadata"].setdefault("annotations", {})[ANNOTATION_GROUP_NAME] = lws_name
    template["spec"]["schedulerName"] = "volcano"
    template["spec"] = order_pod_spec(template["spec"])
    _check_main_container(template["spec"], f"{_where(dcd)}{role} pod template: ")
    return template


def leader_worker_set(dcd: Object, settings, instance_id: Optional[int]) -> Object:
    """Return the LeaderWorkerSet ``<dcd>-<instance_id>``: one group of ``nodeCount`` pods."""
    _check_instance_id(instance_id, "generateLeaderWorkerSet")
    spec = dcd.get("spec") or {}
    name = f"{_kube_name(dcd, False)}-{instance_id}"
    labels = kube_labels(dcd)
    labels[LABEL_INSTANCE_ID] = str(instance_id)

    leader = _lws_pod_template(dcd, settings, backends.ROLE_LEADER, name, dict(labels), instance_id)
    worker = _lws_pod_template(dcd, settings, backends.ROLE_WORKER, name, dict(labels), instance_id)
    if not ((spec.get("resources") or {}).get("limits") or {}).get("gpu"):
        raise InputError(
            f"{_where(dcd)}spec.resources.limits.gpu is missing, which LeaderWorkerSet worker pods need",
            hint="set resources.limits.gpu on the multinode service",
        )

    return {
        "apiVersion": LWS_API_VERSION,
        "kind": "LeaderWorkerSet",
        "metadata": _metadata(dcd, name, labels),
        "spec": {
            "replicas": 1,
            "startupPolicy": "LeaderCreated",
            "leaderWorkerTemplate": {
                "leaderTemplate": leader,
                "workerTemplate": worker,
                "size": number_of_nodes(spec),
            },
        },
    }

