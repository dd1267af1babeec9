"""Operator settings of the Dynamo 0.8.0 operator that rendering depends on.

The operator takes them from command-line flags (cmd/main.go) that its Helm chart
sets, and from API discovery at start-up (Grove, LeaderWorkerSet with Volcano,
Kai scheduler). Defaults here are the Helm defaults of a platform release named
``dynamo-platform`` in namespace ``dynamo-system``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List


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
    grove_termination_delay: str = "15m"  # --grove-termination-delay
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
