"""Default main container and pod spec per component type (Dynamo 0.8.0).

Mirrors component_{common,frontend,worker,planner}.go of the 0.8.0 operator: every
component starts from a container named ``main`` running ``/bin/sh -c`` with the
Dynamo identity env; frontends, workers and planners add ports, probes and env.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List

Object = Dict[str, Any]

MAIN_CONTAINER = "main"

COMPONENT_FRONTEND = "frontend"
COMPONENT_PLANNER = "planner"
WORKER_COMPONENT_TYPES = ("worker", "prefill", "decode")

FRONTEND_PORT = 8000
FRONTEND_PORT_NAME = "http"
SYSTEM_PORT = 9090
SYSTEM_PORT_NAME = "system"
PLANNER_METRICS_PORT = 9085
PLANNER_METRICS_PORT_NAME = "metrics"
PLANNER_SERVICE_ACCOUNT = "planner-serviceaccount"

TERMINATION_GRACE_PERIOD_SECONDS = 60


@dataclass
class ComponentContext:
    """The values the default container is built from."""

    dynamo_namespace: str
    component_type: str
    parent_dgd_name: str
    parent_dgd_namespace: str
    discovery_backend: str  # the effective backend: DCD annotation, else the operator flag


def env_var(name: str, value: str) -> Object:
    """Return an EnvVar as the API serialises it: an empty value is left out."""
    if value == "":
        return {"name": name}
    return {"name": name, "value": value}


def _field_ref_env(name: str, field_path: str) -> Object:
    return {"name": name, "valueFrom": {"fieldRef": {"fieldPath": field_path}}}


def _http_probe(path: str, port: str, **timing: int) -> Object:
    probe: Object = {"httpGet": {"path": path, "port": port}}
    probe.update(timing)
    return probe


def common_container(context: ComponentContext) -> Object:
    """Return the container every component type starts from."""
    env: List[Object] = [
        env_var("DYN_NAMESPACE", context.dynamo_namespace),
        env_var("DYN_COMPONENT", context.component_type),
        env_var("DYN_PARENT_DGD_K8S_NAME", context.parent_dgd_name),
        env_var("DYN_PARENT_DGD_K8S_NAMESPACE", context.parent_dgd_namespace),
        _field_ref_env("POD_NAME", "metadata.name"),
        _field_ref_env("POD_NAMESPACE", "metadata.namespace"),
        _field_ref_env("POD_UID", "metadata.uid"),
    ]
    # Only the exact value "etcd" turns Kubernetes discovery off; an empty backend keeps it.
    if context.discovery_backend != "etcd":
        env.append(env_var("DYN_DISCOVERY_BACKEND", "kubernetes"))
    return {"name": MAIN_CONTAINER, "command": ["/bin/sh", "-c"], "env": env}


def base_container(context: ComponentContext) -> Object:
    """Return the default main container for the component type in ``context``."""
    container = common_container(context)
    component_type = context.component_type

    if component_type == COMPONENT_FRONTEND:
        container["command"] = ["python3"]
        container["args"] = ["-m", "dynamo.frontend"]
        container["ports"] = [{"name": FRONTEND_PORT_NAME, "containerPort": FRONTEND_PORT, "protocol": "TCP"}]
        container["livenessProbe"] = _http_probe(
            "/live", FRONTEND_PORT_NAME, initialDelaySeconds=15, periodSeconds=10, timeoutSeconds=1, failureThreshold=3
        )
        container["readinessProbe"] = _http_probe(
            "/health", FRONTEND_PORT_NAME, initialDelaySeconds=10, periodSeconds=10, timeoutSeconds=3, failureThreshold=3
        )
        container["env"] += [env_var("DYNAMO_PORT", str(FRONTEND_PORT)), env_var("DYN_HTTP_PORT", str(FRONTEND_PORT))]

    elif component_type in WORKER_COMPONENT_TYPES:
        container["ports"] = [{"name": SYSTEM_PORT_NAME, "containerPort": SYSTEM_PORT, "protocol": "TCP"}]
        container["livenessProbe"] = _http_probe("/live", SYSTEM_PORT_NAME, periodSeconds=5, timeoutSeconds=4, failureThreshold=1)
        container["readinessProbe"] = _http_probe("/health", SYSTEM_PORT_NAME, periodSeconds=10, timeoutSeconds=4, failureThreshold=3)
        container["startupProbe"] = _http_probe("/live", SYSTEM_PORT_NAME, periodSeconds=10, timeoutSeconds=5, failureThreshold=720)
        # NOTE: the operator commit right after 0.8.0 sets DYN_HEALTH_CHECK_ENABLED to "false";
        # 7436e3bc0 itself has "true".
        container["env"] += [
            env_var("DYN_SYSTEM_ENABLED", "true"),
            env_var("DYN_SYSTEM_USE_ENDPOINT_HEALTH_STATUS", '["generate"]'),
            env_var("DYN_SYSTEM_PORT", str(SYSTEM_PORT)),
            env_var("DYN_HEALTH_CHECK_ENABLED", "true"),
        ]

    elif component_type == COMPONENT_PLANNER:
        container["ports"] = [{"name": PLANNER_METRICS_PORT_NAME, "containerPort": PLANNER_METRICS_PORT, "protocol": "TCP"}]
        container["env"] += [env_var("PLANNER_PROMETHEUS_PORT", str(PLANNER_METRICS_PORT))]

    return container


def base_pod_spec(component_type: str) -> Object:
    """Return the default pod spec (without containers) for a component type."""
    pod_spec: Object = {
        "terminationGracePeriodSeconds": TERMINATION_GRACE_PERIOD_SECONDS,
        "restartPolicy": "Always",
    }
    if component_type == COMPONENT_PLANNER:
        pod_spec["serviceAccountName"] = PLANNER_SERVICE_ACCOUNT
    return pod_spec


def is_worker(component_type: str) -> bool:
    return component_type in WORKER_COMPONENT_TYPES
