"""The resource kinds the product reads or writes, with their REST coordinates.

Every module names a kind through this table, so that the cluster layer can build
URLs, the test API server can serve the same resources, and messages can print a
kind the way kubectl does (``deployment.apps``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional


@dataclass(frozen=True)
class ResourceKind:
    group: str  # "" for the core group
    version: str
    kind: str
    plural: str
    namespaced: bool = True
    short_names: tuple = ()
    # Subresources the real API server serves for this kind ("status", "scale").
    subresources: tuple = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def resource(self) -> str:
        """Return the ``plural.group`` form kubectl prints in messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def path(self, namespace: Optional[str] = None, name: Optional[str] = None, subresource: Optional[str] = None) -> str:
        """Return the REST path of a collection or object of this kind.

        ``namespace=None`` on a namespaced kind means all namespaces.
        """
        prefix = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        parts = [prefix]
        if self.namespaced and namespace is not None:
            parts.append(f"namespaces/{namespace}")
        parts.append(self.plural)
        if name is not None:
            parts.append(name)
            if subresource:
                parts.append(subresource)
        return "/".join(parts)


def _kind(group, version, kind, plural, namespaced=True, short_names=(), subresources=("status",)):
    return ResourceKind(group, version, kind, plural, namespaced, tuple(short_names), tuple(subresources))


NAMESPACE = _kind("", "v1", "Namespace", "namespaces", namespaced=False, short_names=["ns"])
POD = _kind("", "v1", "Pod", "pods", short_names=["po"], subresources=("status", "log"))
SERVICE = _kind("", "v1", "Service", "services", short_names=["svc"])
SERVICE_ACCOUNT = _kind("", "v1", "ServiceAccount", "serviceaccounts", short_names=["sa"], subresources=())
CONFIG_MAP = _kind("", "v1", "ConfigMap", "configmaps", short_names=["cm"], subresources=())
SECRET = _kind("", "v1", "Secret", "secrets", subresources=())
PVC = _kind("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", short_names=["pvc"])
EVENT = _kind("", "v1", "Event", "events", short_names=["ev"], subresources=())

DEPLOYMENT = _kind("apps", "v1", "Deployment", "deployments", short_names=["deploy"], subresources=("status", "scale"))
REPLICA_SET = _kind("apps", "v1", "ReplicaSet", "replicasets", short_names=["rs"], subresources=("status", "scale"))
INGRESS = _kind("networking.k8s.io", "v1", "Ingress", "ingresses", short_names=["ing"])
ROLE = _kind("rbac.authorization.k8s.io", "v1", "Role", "roles", subresources=())
ROLE_BINDING = _kind("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", subresources=())
HPA = _kind("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", short_names=["hpa"])

DGD = _kind("nvidia.com", "v1alpha1", "DynamoGraphDeployment", "dynamographdeployments", short_names=["dgd"])
DCD = _kind("nvidia.com", "v1alpha1", "DynamoComponentDeployment", "dynamocomponentdeployments", short_names=["dcd"])
DGDSA = _kind(
    "nvidia.com",
    "v1alpha1",
    "DynamoGraphDeploymentScalingAdapter",
    "dynamographdeploymentscalingadapters",
    short_names=["dgdsa"],
    subresources=("status", "scale"),
)
DYNAMO_MODEL = _kind("nvidia.com", "v1alpha1", "DynamoModel", "dynamomodels")

LEADER_WORKER_SET = _kind("leaderworkerset.x-k8s.io", "v1", "LeaderWorkerSet", "leaderworkersets", short_names=["lws"], subresources=("status", "scale"))
VOLCANO_POD_GROUP = _kind("scheduling.volcano.sh", "v1beta1", "PodGroup", "podgroups", short_names=["pg"])
VIRTUAL_SERVICE = _kind("networking.istio.io", "v1beta1", "VirtualService", "virtualservices", short_names=["vs"])

GROVE_POD_CLIQUE_SET = _kind("grove.io", "v1alpha1", "PodCliqueSet", "podcliquesets", short_names=["pcs"], subresources=("status", "scale"))
GROVE_POD_CLIQUE = _kind("grove.io", "v1alpha1", "PodClique", "podcliques", short_names=["pclq"], subresources=("status", "scale"))
GROVE_SCALING_GROUP = _kind(
    "grove.io", "v1alpha1", "PodCliqueScalingGroup", "podcliquescalinggroups", short_names=["pcsg"], subresources=("status", "scale")
)

FLUX_KUSTOMIZATION = _kind("kustomize.toolkit.fluxcd.io", "v1", "Kustomization", "kustomizations", short_names=["ks"])
FLUX_GIT_REPOSITORY = _kind("source.toolkit.fluxcd.io", "v1", "GitRepository", "gitrepositories", short_names=["gitrepo"])
FLUX_OCI_REPOSITORY = _kind("source.toolkit.fluxcd.io", "v1beta2", "OCIRepository", "ocirepositories", short_names=["ocirepo"])
FLUX_BUCKET = _kind("source.toolkit.fluxcd.io", "v1", "Bucket", "buckets")

ALL_KINDS = (
    NAMESPACE, POD, SERVICE, SERVICE_ACCOUNT, CONFIG_MAP, SECRET, PVC, EVENT,
    DEPLOYMENT, REPLICA_SET, INGRESS, ROLE, ROLE_BINDING, HPA,
    DGD, DCD, DGDSA, DYNAMO_MODEL,
    LEADER_WORKER_SET, VOLCANO_POD_GROUP, VIRTUAL_SERVICE,
    GROVE_POD_CLIQUE_SET, GROVE_POD_CLIQUE, GROVE_SCALING_GROUP,
    FLUX_KUSTOMIZATION, FLUX_GIT_REPOSITORY, FLUX_OCI_REPOSITORY, FLUX_BUCKET,
)

_BY_API_VERSION_KIND: Dict[tuple, ResourceKind] = {(k.api_version, k.kind): k for k in ALL_KINDS}


def kind_for(api_version: str, kind: str) -> Optional[ResourceKind]:
    """Return the registered kind for an object's ``apiVersion`` and ``kind``, or None."""
    return _BY_API_VERSION_KIND.get((api_version, kind))
