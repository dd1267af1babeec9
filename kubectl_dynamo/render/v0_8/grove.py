"""The Grove PodCliqueSet the 0.8.0 operator renders for a whole graph.

Mirrors ``GenerateGrovePodCliqueSet`` in graph.go and the Kai scheduler helpers in
grove.go of Dynamo 0.8.0. Every service becomes one clique, or a leader and a worker
clique joined in a PodCliqueScalingGroup when it spans several nodes. The object comes
without the ``nvidia.com/last-applied-*`` annotations, which the caller adds.
"""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Optional

from kubectl_dynamo.api import times
from kubectl_dynamo.errors import InputError
from kubectl_dynamo.render.v0_8 import backends
from kubectl_dynamo.render.v0_8.naming import (
    ANNOTATION_DISCOVERY_BACKEND,
    ANNOTATION_ENABLE_METRICS,
    ANNOTATION_KAI_QUEUE,
    API_VERSION,
    DGD_KIND,
    LABEL_BASE_MODEL_HASH,
    LABEL_COMPONENT,
    LABEL_COMPONENT_TYPE,
    LABEL_GRAPH,
    LABEL_KAI_QUEUE,
    LABEL_METRICS_ENABLED,
    LABEL_NAMESPACE,
    LABEL_SELECTOR,
    LABEL_SUB_COMPONENT_TYPE,
    component_name,
    dynamo_namespace,
    effective_discovery_backend,
    model_hash,
    number_of_nodes,
    owner_reference,
)
from kubectl_dynamo.render.v0_8.podspec import build_pod_spec, merge_envs
from kubectl_dynamo.render.v0_8.podspec_merge import order_pod_spec

Object = Dict[str, Any]

GROVE_API_VERSION = "grove.io/v1alpha1"
KAI_SCHEDULER = "kai-scheduler"
DEFAULT_KAI_QUEUE = "dynamo"
LEADER_SUFFIX = "ldr"
WORKER_SUFFIX = "wkr"



# Grove's API (github.com/NVIDIA/grove/operator/api, v0.1.0-alpha.3 in Dynamo 0.8.0's
# go.mod) stores the Go field StartupType as "cliqueStartupType", and its values are
# the constant names themselves, e.g. "CliqueStartupTypeAnyOrder".
STARTUP_TYPE_FIELD = "cliqueStartupType"
STARTUP_ANY_ORDER = "CliqueStartupTypeAnyOrder"
STARTUP_EXPLICIT = "CliqueStartupTypeExplicit"

def parse_go_duration(text: str) -> int:
    """Parse a Go duration such as ``15m`` or ``1h30m`` into nanoseconds; blank is 0; raise InputError if invalid."""
    value = (text or "").strip()
    if not value:
        return 0
    try:
        return times.parse_go_duration(value)
    except ValueError:
        raise InputError(
            f"invalid Grove termination delay {text!r}",
            hint='use a Go duration such as "15m" or "4h" (the --grove-termination-delay flag)',
        ) from None


def format_go_duration(nanos: int) -> str:
    """Format nanoseconds the way Go's time.Duration.String does (``15m0s``, ``4h0m0s``)."""
    if nanos == 0:
        return "0s"
    sign = "-" if nanos < 0 else ""
    nanos = abs(nanos)
    if nanos < 10**9:
        for unit, size in (("ms", 10**6), ("µs", 10**3), ("ns", 1)):
            if nanos >= size:
                return sign + _decimal(nanos, size) + unit
    hours, rest = divmod(nanos, 3600 * 10**9)
    minutes, rest = divmod(rest, 60 * 10**9)
    seconds = _decimal(rest, 10**9) + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{seconds}"
    if minutes:
        return f"{sign}{minutes}m{seconds}"
    return sign + seconds


def _decimal(value: int, unit: int) -> str:
    whole, fraction = divmod(value, unit)
    if not fraction:
        return str(whole)
    digits = str(fraction).rjust(len(str(unit)) - 1, "0").rstrip("0")
    return f"{whole}.{digits}"


def resolve_kai_queue(annotations: Optional[Dict[str, str]]) -> str:
    """Return the Kai scheduler queue: the trimmed DGD annotation when not blank, else ``dynamo``."""
    queue = ((annotations or {}).get(ANNOTATION_KAI_QUEUE) or "").strip()
    return queue or DEFAULT_KAI_QUEUE


def inject_kai_scheduler(clique: Object, settings, queue: str) -> bool:
    """Put a clique on the Kai scheduler unless its pods name another scheduler; return whether it did."""
    if not settings.grove_enabled or not settings.kai_scheduler_enabled:
        return False
    pod_spec = clique["spec"]["podSpec"]
    if pod_spec.get("schedulerName") not in (None, "", KAI_SCHEDULER):
        return False
    pod_spec["schedulerName"] = KAI_SCHEDULER
    clique.setdefault("labels", {})[LABEL_KAI_QUEUE] = queue
    return True


def expand_roles(service_name: str, replicas: Optional[int], nodes: int) -> List[Dict[str, Any]]:
    """Return the cliques of a service: one ``main`` role, or a leader and ``nodes - 1`` workers."""
    if nodes > 1:
        return [
            {"name": f"{service_name}-{LEADER_SUFFIX}", "role": backends.ROLE_LEADER, "replicas": 1},
            {"name": f"{service_name}-{WORKER_SUFFIX}", "role": backends.ROLE_WORKER, "replicas": nodes - 1},
        ]
    return [{"name": service_name, "role": backends.ROLE_MAIN, "replicas": replicas}]


def startup_dependencies(role: str, framework: str, leader_clique: str, worker_cliques: List[str]) -> Optional[List[str]]:
    """Return the cliques a clique starts after: TRT-LLM leaders wait for their workers.

    The vLLM and SGLang rule (workers after the leader) exists in Dynamo 0.8.0 but is
    switched off by the caller, ``apply_startup_dependencies``.
    """
    if framework in (backends.VLLM, backends.SGLANG) and role == backends.ROLE_WORKER and leader_clique:
        return [leader_clique]
    if framework == backends.TRTLLM and role == backends.ROLE_LEADER and worker_cliques:
        return list(worker_cliques)
    return None


def apply_startup_dependencies(pod_clique_set: Object, roles: List[Dict[str, Any]], framework: str, nodes: int) -> None:
    """Set ``startsAfter`` on a multinode TRT-LLM service's leader and make startup Explicit."""
    if framework != backends.TRTLLM or nodes <= 1:
        return
    leader = ""
    workers: List[str] = []
    for role in roles:
        if role["role"] == backends.ROLE_LEADER:
            leader = role["name"].lower()
        elif role["role"] == backends.ROLE_WORKER:
            workers.append(role["name"].lower())

    template = pod_clique_set["spec"]["template"]
    has_dependencies = False
    for clique in template["cliques"]:
        clique_role = next((role["role"] for role in roles if role["name"].lower() == clique["name"]), "")
        starts_after = startup_dependencies(clique_role, framework, leader, workers)
        if starts_after:
            clique["spec"]["startsAfter"] = starts_after
            has_dependencies = True
    if has_dependencies:
        template[STARTUP_TYPE_FIELD] = STARTUP_EXPLICIT


def clique_labels(component: Object, dgd: Object, service_name: str) -> Dict[str, str]:
    """Return a clique's labels (``generateLabels``, graph.go, Dynamo 0.8.0)."""
    metadata = dgd.get("metadata") or {}
    dgd_name = metadata.get("name", "")
    labels = {
        LABEL_SELECTOR: component_name(dgd_name, service_name),
        LABEL_GRAPH: dgd_name,
        LABEL_COMPONENT: service_name,
        LABEL_NAMESPACE: component["dynamoNamespace"],
    }
    if component.get("componentType"):
        labels[LABEL_COMPONENT_TYPE] = component["componentType"]
    if component.get("subComponentType"):
        labels[LABEL_SUB_COMPONENT_TYPE] = component["subComponentType"]
    model = (component.get("modelRef") or {}).get("name")
    if model:
        labels[LABEL_BASE_MODEL_HASH] = model_hash(model)
    if (metadata.get("annotations") or {}).get(ANNOTATION_ENABLE_METRICS) != "false":
        labels[LABEL_METRICS_ENABLED] = "true"
    labels.update(component.get("labels") or {})
    labels.update((component.get("extraPodMetadata") or {}).get("labels") or {})
    return labels


def clique_annotations(component: Object) -> Dict[str, str]:
    annotations = dict(component.get("annotations") or {})
    annotations.update((component.get("extraPodMetadata") or {}).get("annotations") or {})
    return annotations


def render_pod_clique_set(dgd: Object, settings) -> Object:
    """Return the PodCliqueSet of a DGD on the Grove path; raise InputError on invalid services.

    NOTE: with the Kai scheduler the operator also requires a scheduling.run.ai/v2 Queue
    of the chosen name to exist; that cluster lookup is not made here.
    """
    metadata = dgd.get("metadata") or {}
    spec = dgd.get("spec") or {}
    dgd_name = metadata.get("name", "")
    namespace = metadata.get("namespace", "")

    template: Object = {
        STARTUP_TYPE_FIELD: STARTUP_ANY_ORDER,
        "headlessServiceConfig": {"publishNotReadyAddresses": True},
    }
    delay = parse_go_duration(settings.grove_termination_delay)
    if delay > 0:
        template["terminationDelay"] = format_go_duration(delay)
    template["cliques"] = []
    pod_clique_set: Object = {
        "apiVersion": GROVE_API_VERSION,
        "kind": "PodCliqueSet",
        "metadata": {
            "name": dgd_name,
            "namespace": namespace,
            "ownerReferences": [owner_reference(API_VERSION, DGD_KIND, dgd_name, metadata.get("uid"))],
        },
        "spec": {"replicas": 1, "template": template},
    }

    kai_queue = resolve_kai_queue(metadata.get("annotations"))
    discovery = effective_discovery_backend(metadata.get("annotations"), settings.discovery_backend or "")
    scaling_groups: List[Object] = []

    for service_name, service in (spec.get("services") or {}).items():
        component = copy.deepcopy(service or {})
        where = f"spec.services.{service_name}."
        component["dynamoNamespace"] = dynamo_namespace(namespace, dgd_name, component)
        framework = _framework(component, spec.get("backendFramework") or "", where)
        if discovery:
            component["annotations"] = dict(component.get("annotations") or {})
            component["annotations"][ANNOTATION_DISCOVERY_BACKEND] = discovery

        nodes = number_of_nodes(component)
        if nodes <= 1 and component.get("replicas") is None:
            # The 0.8.0 operator dereferences the missing value and its reconcile panics.
            raise InputError(
                f"{where}replicas is missing, which the Grove path needs for a single-node service",
                hint=f"set spec.services.{service_name}.replicas",
            )
        roles = expand_roles(service_name, component.get("replicas"), nodes)
        clique_names: List[str] = []
        if spec.get("envs"):
            component["envs"] = merge_envs(spec["envs"], component.get("envs") or [])

        for role in roles:
            pod_spec = build_pod_spec(
                component,
                framework=framework,
                dgd_name=dgd_name,
                namespace=namespace,
                role=role["role"],
                settings=settings,
                deployer=backends.GROVE,
                service_name=service_name,
                where=where,
            )
            clique: Object = {"name": role["name"].lower()}
            labels = clique_labels(component, dgd, service_name)
            if labels:
                clique["labels"] = labels
            annotations = clique_annotations(component)
            if annotations:
                clique["annotations"] = annotations
            clique["spec"] = {
                "roleName": role["name"].lower(),
                "replicas": role["replicas"],
                "minAvailable": 1,
                "podSpec": pod_spec,
            }
            inject_kai_scheduler(clique, settings, kai_queue)
            clique["spec"]["podSpec"] = order_pod_spec(clique["spec"]["podSpec"])
            template["cliques"].append(clique)
            clique_names.append(role["name"].lower())

        apply_startup_dependencies(pod_clique_set, roles, framework, nodes)

        if nodes > 1:
            group: Object = {"name": service_name.lower(), "cliqueNames": clique_names}
            if component.get("replicas") is not None:
                group["replicas"] = component["replicas"]
            group["minAvailable"] = 1
            scaling_groups.append(group)

    if scaling_groups:
        template["podCliqueScalingGroupConfigs"] = scaling_groups
    return pod_clique_set


def _framework(component: Object, explicit: str, where: str) -> str:
    main = (component.get("extraPodSpec") or {}).get("mainContainer") or {}
    try:
        return backends.determine_framework(
            component.get("componentType") or "", main.get("command") or [], main.get("args") or [], explicit
        )
    except InputError as error:
        raise InputError(f"{where[:-1]}: {error}", hint=error.hint) from None
