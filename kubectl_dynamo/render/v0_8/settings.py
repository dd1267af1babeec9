"""Operator settings of the Dynamo 0.8.0 operator that rendering depends on.

The operator takes them from command-line flags (cmd/main.go) that its Helm chart
sets, and from API discovery at start-up (Grove, LeaderWorkerSet with Volcano,
Kai scheduler). Defaults here are the Helm defaults of a platform release named
``dynamo-platform`` in namespace ``dynamo-system``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional

from kubectl_dynamo.errors import InputError


@dataclass
class OperatorSettings:
    # Detected from API groups at operator start, not flags.
    grove_enabled: bool = False  # grove.io served
    lws_enabled: bool = False  # leaderworkerset.x-k8s.io and scheduling.volcano.sh both served
    kai_scheduler_enabled: bool = False  # scheduling.run.ai served

    discovery_backend: str = "kubernetes"  # --discovery-backend: kubernetes or etcd
    nats_address: str = "nats://dynamo-platform-nats.dynamo-system.svc.cluster.local:4222"  # --natsAddr
    etcd_address: str = "dynamo-platform-etcd.dynamo-system.svc.cluster.local:2379"  # --etcdAddr
    model_express_url: str = ""  # --model-express-url
    prometheus_endpoint: str = ""  # --prometheus-endpoint
    istio_virtual_service_gateway: str = ""  # --istio-virtual-service-gateway
    ingress_controller_class_name: str = ""  # --ingress-controller-class-name
    ingress_controller_tls_secret_name: str = ""  # --ingress-controller-tls-secret-name
    ingress_host_suffix: str = ""  # --ingress-host-suffix
    grove_termination_delay: str = "4h"  # --grove-termination-delay (platform chart 4h, binary 15m)
    mpi_run_ssh_secret_name: str = "mpi-run-ssh-secret"  # --mpi-run-ssh-secret-name
    mpi_run_ssh_secret_namespace: str = "dynamo-system"  # --mpi-run-ssh-secret-namespace
    planner_cluster_role_name: str = "dynamo-platform-dynamo-operator-planner"  # --planner-cluster-role-name
    restricted_namespace: str = ""  # --restrictedNamespace
    debugger_image: str = "python:3.12-slim"  # env INTERNAL_IMAGES_DEBUGGER

    # Cluster lookups the operator makes while rendering (empty when offline):
    # ServiceAccounts labelled nvidia.com/dynamo-component-pod=true in the DGD namespace,
    # and Secrets of type kubernetes.io/dockerconfigjson there, by name.
    component_service_accounts: List[str] = field(default_factory=list)
    docker_config_secrets: List[str] = field(default_factory=list)


# Go flag name -> settings field, for the flags that change what the operator renders.
FLAG_FIELDS: Dict[str, str] = {
    "natsAddr": "nats_address",
    "etcdAddr": "etcd_address",
    "discovery-backend": "discovery_backend",
    "model-express-url": "model_express_url",
    "prometheus-endpoint": "prometheus_endpoint",
    "istio-virtual-service-gateway": "istio_virtual_service_gateway",
    "ingress-controller-class-name": "ingress_controller_class_name",
    "ingress-controller-tls-secret-name": "ingress_controller_tls_secret_name",
    "ingress-host-suffix": "ingress_host_suffix",
    "grove-termination-delay": "grove_termination_delay",
    "mpi-run-ssh-secret-name": "mpi_run_ssh_secret_name",
    "mpi-run-ssh-secret-namespace": "mpi_run_ssh_secret_namespace",
    "planner-cluster-role-name": "planner_cluster_role_name",
    "restrictedNamespace": "restricted_namespace",
}
# Boolean flags of the 0.8.0 operator binary (cmd/main.go): they never take the next argument.
BOOLEAN_FLAGS = {"leader-elect", "metrics-secure", "enable-http2", "enable-webhooks", "virtual-service-supports-https"}
DISCOVERY_BACKENDS = ("kubernetes", "etcd")


def binary_defaults() -> OperatorSettings:
    """Return the settings of the operator binary started without flags (cmd/main.go defaults)."""
    return OperatorSettings(
        nats_address="", etcd_address="", grove_termination_delay="15m", mpi_run_ssh_secret_name="",
        mpi_run_ssh_secret_namespace="", planner_cluster_role_name="",
    )


def settings_from_operator_args(args: List[str], base: Optional[OperatorSettings] = None) -> OperatorSettings:
    """Settings from the container args of a live operator Deployment (container ``manager``).

    Accepts what Go's flag package accepts: ``--flag=value``, ``-flag=value``,
    ``--flag value`` and bare booleans. Flags that do not change rendering are
    skipped; an absent flag keeps the binary default. Cluster facts (Grove, LWS,
    Kai) are not flags: they stay as in ``base``.
    """
    settings = dataclasses.replace(base) if base is not None else binary_defaults()
    index = 0
    while index < len(args):
        arg = str(args[index])
        index += 1
        if not arg.startswith("-") or arg in ("-", "--"):
            continue
        name, has_value, value = arg.lstrip("-").partition("=")
        if name in BOOLEAN_FLAGS:
            continue
        if not has_value:
            if index < len(args):
                value = str(args[index])
                index += 1
            else:
                value = ""
        field_name = FLAG_FIELDS.get(name)
        if field_name:
            setattr(settings, field_name, value)
    return settings


def _dig(values: Mapping[str, Any], *keys: str, default: Any = None) -> Any:
    node: Any = values
    for key in keys:
        if not isinstance(node, Mapping) or key not in node:
            return default
        node = node[key]
    return default if node is None else node


def settings_from_helm_values(values: Mapping[str, Any], *, release: str = "dynamo-platform",
                              namespace: str = "dynamo-system") -> OperatorSettings:
    """Settings an operator installed with these Helm values would run with.

    ``values`` may be platform-chart values (operator keys under ``dynamo-operator``)
    or operator sub-chart values; the flags are derived as the chart's Deployment
    template derives them. Beyond the charts' keys, ``grove.enabled``,
    ``kai-scheduler.enabled`` (platform keys that install Grove and Kai) and
    ``lws.enabled`` (LeaderWorkerSet and Volcano installed) set the cluster facts.
    """
    if not isinstance(values, Mapping):
        raise InputError("operator config: expected a mapping of Helm values")
    operator = values.get("dynamo-operator") if isinstance(values.get("dynamo-operator"), Mapping) else values
    dynamo = _dig(operator, "dynamo", default={})
    settings = OperatorSettings()
    settings.grove_enabled = bool(_dig(values, "grove", "enabled", default=False))
    settings.kai_scheduler_enabled = bool(_dig(values, "kai-scheduler", "enabled", default=False))
    settings.lws_enabled = bool(_dig(values, "lws", "enabled", default=False))

    settings.nats_address = _dig(operator, "natsAddr") or f"nats://{release}-nats.{namespace}.svc.cluster.local:4222"
    settings.etcd_address = _dig(operator, "etcdAddr") or f"{release}-etcd.{namespace}.svc.cluster.local:2379"
    settings.model_express_url = str(_dig(operator, "modelExpressURL", default=""))
    settings.discovery_backend = str(_dig(operator, "discoveryBackend", default="") or "kubernetes")
    settings.prometheus_endpoint = str(_dig(dynamo, "metrics", "prometheusEndpoint", default=""))
    settings.istio_virtual_service_gateway = ""
    if _dig(dynamo, "istio", "enabled", default=False):
        settings.istio_virtual_service_gateway = str(_dig(dynamo, "istio", "gateway", default=""))
    settings.ingress_controller_class_name = settings.ingress_controller_tls_secret_name = ""
    if _dig(dynamo, "ingress", "enabled", default=False):
        settings.ingress_controller_class_name = str(_dig(dynamo, "ingress", "className", default=""))
        settings.ingress_controller_tls_secret_name = str(_dig(dynamo, "ingress", "tlsSecretName", default=""))
    settings.ingress_host_suffix = str(_dig(dynamo, "ingressHostSuffix", default=""))
    settings.grove_termination_delay = str(_dig(dynamo, "groveTerminationDelay", default="") or "15m")
    settings.mpi_run_ssh_secret_name = str(_dig(dynamo, "mpiRun", "secretName", default=""))
    settings.mpi_run_ssh_secret_namespace = namespace if settings.mpi_run_ssh_secret_name else ""
    settings.debugger_image = str(_dig(dynamo, "internalImages", "debugger", default="") or "python:3.12-slim")
    fullname = release if "dynamo-operator" in release else f"{release}-dynamo-operator"
    if _dig(operator, "namespaceRestriction", "enabled", default=False):
        settings.restricted_namespace = str(_dig(operator, "namespaceRestriction", "targetNamespace", default="") or namespace)
        settings.planner_cluster_role_name = ""
    else:
        settings.restricted_namespace = ""
        settings.planner_cluster_role_name = f"{fullname}-planner"
    return settings


def check_settings(settings: OperatorSettings) -> None:
    """Reject settings the operator itself refuses to start with."""
    if settings.discovery_backend not in DISCOVERY_BACKENDS:
        raise InputError(
            f"discovery backend {settings.discovery_backend!r} is not supported; use kubernetes or etcd "
            "(the 0.8.0 operator exits on any other value)"
        )
