"""Bring two versions of an object into one comparable form.

A diff must show what a change does, not the bookkeeping the API server keeps
(managedFields, resourceVersion, status) nor the defaults it fills in
(revisionHistoryLimit, dnsPolicy, protocol TCP ...). ``normalize`` removes the
first and fills the second on one object. ``normalize_pair`` then removes the
differences that only depend on which side was read from a cluster. These are
fields the server allocates (clusterIP, volumeName), labels and annotations that
other controllers add, and quantities written differently (``1Gi`` and ``1024Mi``).

The defaults mirror kube-apiserver's defaulting functions for apps/v1
Deployments and core/v1 pod specs, Services and PVCs (pkg/apis/core/v1/defaults.go
and pkg/apis/apps/v1/defaults.go, Kubernetes 1.32), limited to the fields the
Dynamo operator sets or users put in ``extraPodSpec``.
"""

from __future__ import annotations

import copy
from typing import Any, Callable, Dict, Optional

from kubectl_dynamo.api import labels
from kubectl_dynamo.api.quantity import same_quantity

Object = Dict[str, Any]

# Server bookkeeping, which tells nothing about what an object does.
_METADATA_DROPPED = (
    "managedFields", "resourceVersion", "uid", "creationTimestamp", "generation", "selfLink",
    "deletionGracePeriodSeconds", "generateName",
)
# Annotations written by the operator's apply step, kubectl, the Deployment controller,
# the DGD conversion (``nvidia.com/dgd-*``) and the PVC binder.
_ANNOTATIONS_DROPPED = (
    labels.LAST_APPLIED_HASH,
    labels.LAST_APPLIED_GENERATION,
    "kubectl.kubernetes.io/last-applied-configuration",
    "deployment.kubernetes.io/revision",
)
_ANNOTATION_PREFIXES_DROPPED = (
    "nvidia.com/dgd-", "pv.kubernetes.io/", "volume.beta.kubernetes.io/", "volume.kubernetes.io/",
)

# Keys whose empty map is meaningful (``emptyDir: {}`` selects the volume type).
_KEEP_EMPTY = frozenset({"emptyDir"})
# Keys whose values are quantities, and keys whose map values all are.
_QUANTITY_KEYS = frozenset({"sizeLimit", "divisor", "storage"})
_QUANTITY_MAPS = frozenset({"limits", "requests", "capacity", "hard", "overhead"})
# Lists whose order matters even though every item has a name: init containers run in order.
ORDERED_LISTS = frozenset({"initContainers"})


def normalize(obj: Object) -> Object:
    """Return a copy without server bookkeeping and with the API server's defaults filled in."""
    result = copy.deepcopy(obj)
    result.pop("status", None)
    _clean_metadata(result.setdefault("metadata", {}))
    filler = _DEFAULTERS.get(result.get("kind", ""))
    if filler is not None:
        filler(result)
    _default_container_ports(result)
    return _prune(result)


def normalize_pair(old: Optional[Object], new: Optional[Object], *, keep_old_metadata: bool) -> None:
    """Remove, in place, the differences between two normalised objects that change nothing.

    ``old`` is the side read from a cluster (or the earlier version); ``new`` the
    desired side. With ``keep_old_metadata`` (comparing with a live object),
    labels and annotations only ``old`` has are copied to ``new``: neither
    `kubectl apply` of the DGD nor the operator's update of a child removes them.
    """
    if old is None or new is None:
        return
    if keep_old_metadata:
        for key in ("labels", "annotations"):
            old_map = old.get("metadata", {}).get(key) or {}
            new_map = new.setdefault("metadata", {}).get(key) or {}
            merged = dict(old_map)
            merged.update(new_map)
            if merged:
                new["metadata"][key] = merged
        if "ownerReferences" not in new.get("metadata", {}):
            old.get("metadata", {}).pop("ownerReferences", None)
        if "finalizers" not in new.get("metadata", {}):
            old.get("metadata", {}).pop("finalizers", None)
    _drop_allocated(old, new)
    _align_equivalent(old, new, key="")


def sort_keyed_lists(value: Any, key: str = "") -> Any:
    """Sort, in place, every list whose items all carry a ``name`` (env, containers, volumes, ports).

    Such lists are keyed by name for the API server (strategic merge) and for the
    operator's hash, so their order is not a change. Volume mounts sort by name and path.
    """
    if isinstance(value, dict):
        for child_key, child in value.items():
            sort_keyed_lists(child, child_key)
    elif isinstance(value, list):
        for item in value:
            sort_keyed_lists(item)
        if key not in ORDERED_LISTS and keyed_list(value):
            value.sort(key=lambda item: (item["name"], str(item.get("mountPath", ""))))
    return value


def keyed_list(value: Any) -> bool:
    """Tell whether a list is keyed by ``name``: non-empty, of maps that all have a string name."""
    return (
        isinstance(value, list) and bool(value)
        and all(isinstance(item, dict) and isinstance(item.get("name"), str) for item in value)
    )


# --- bookkeeping -------------------------------------------------------------------------


def _clean_metadata(metadata: Object) -> None:
    for key in _METADATA_DROPPED:
        metadata.pop(key, None)
    annotations = metadata.get("annotations")
    if isinstance(annotations, dict):
        for key in list(annotations):
            if key in _ANNOTATIONS_DROPPED or key.startswith(_ANNOTATION_PREFIXES_DROPPED):
                del annotations[key]
    for reference in metadata.get("ownerReferences") or []:
        # The owner's uid differs between clusters and is unknown offline.
        if isinstance(reference, dict):
            reference.pop("uid", None)


def _prune(value: Any, key: str = "") -> Any:
    """Drop None values and empty maps and lists, which the API server treats as absent."""
    if isinstance(value, dict):
        pruned = {}
        for child_key, child in value.items():
            child = _prune(child, child_key)
            if child is None or (child in ({}, []) and child_key not in _KEEP_EMPTY):
                continue
            pruned[child_key] = child
        return pruned
    if isinstance(value, list):
        return [_prune(item) for item in value]
    return value


# --- defaults ----------------------------------------------------------------------------


def _default_deployment(obj: Object) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    strategy = spec.setdefault("strategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxUnavailable", "25%")
        rolling.setdefault("maxSurge", "25%")
    _default_pod_template(spec.get("template"))


def _default_pod_template(template: Optional[Object]) -> None:
    if not isinstance(template, dict):
        return
    metadata = template.get("metadata")
    if isinstance(metadata, dict):
        metadata.pop("creationTimestamp", None)
    default_pod_spec(template.setdefault("spec", {}))


def default_pod_spec(spec: Object) -> None:
    """Fill, in place, what the API server defaults in a pod spec (SetDefaults_PodSpec and the rest)."""
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    # The v1 conversion mirrors serviceAccountName into the deprecated serviceAccount field.
    if spec.get("serviceAccountName") and not spec.get("serviceAccount"):
        spec["serviceAccount"] = spec["serviceAccountName"]
    for key in ("containers", "initContainers", "ephemeralContainers"):
        for container in spec.get(key) or []:
            if isinstance(container, dict):
                _default_container(container, host_network=bool(spec.get("hostNetwork")))
    for volume in spec.get("volumes") or []:
        if isinstance(volume, dict):
            _default_volume(volume)


def _default_container(container: Object, *, host_network: bool) -> None:
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    if "imagePullPolicy" not in container:
        container["imagePullPolicy"] = _pull_policy(str(container.get("image") or ""))
    for port in container.get("ports") or []:
        port.setdefault("protocol", "TCP")
        if host_network and "containerPort" in port:
            port.setdefault("hostPort", port["containerPort"])
    for probe_key in ("livenessProbe", "readinessProbe", "startupProbe"):
        probe = container.get(probe_key)
        if isinstance(probe, dict):
            probe.setdefault("timeoutSeconds", 1)
            probe.setdefault("periodSeconds", 10)
            probe.setdefault("successThreshold", 1)
            probe.setdefault("failureThreshold", 3)
            _default_handler(probe)
    lifecycle = container.get("lifecycle")
    if isinstance(lifecycle, dict):
        for handler in lifecycle.values():
            if isinstance(handler, dict):
                _default_handler(handler)
    for variable in container.get("env") or []:
        source = variable.get("valueFrom") if isinstance(variable, dict) else None
        if isinstance(source, dict):
            _default_field_refs(source)


def _pull_policy(image: str) -> str:
    """Return the pull policy the API server picks: Always for ``:latest`` or no tag, unless pinned by digest."""
    if "@" in image or not image:
        return "IfNotPresent"
    last_part = image.rsplit("/", 1)[-1]
    tag = last_part.split(":", 1)[1] if ":" in last_part else ""
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def _default_handler(handler: Object) -> None:
    http_get = handler.get("httpGet")
    if isinstance(http_get, dict):
        http_get.setdefault("path", "/")
        http_get.setdefault("scheme", "HTTP")


def _default_field_refs(source: Object) -> None:
    field_ref = source.get("fieldRef")
    if isinstance(field_ref, dict):
        field_ref.setdefault("apiVersion", "v1")
    resource_ref = source.get("resourceFieldRef")
    if isinstance(resource_ref, dict):
        resource_ref.setdefault("divisor", "0")


def _default_volume(volume: Object) -> None:
    sources = [key for key in volume if key != "name"]
    if not sources:
        volume["emptyDir"] = {}
    for key in ("configMap", "secret", "downwardAPI", "projected"):
        source = volume.get(key)
        if isinstance(source, dict):
            source.setdefault("defaultMode", 420)
            for item in source.get("items") or []:
                if isinstance(item, dict):
                    _default_field_refs(item)
    projected = volume.get("projected")
    for source in (projected.get("sources") or []) if isinstance(projected, dict) else []:
        if not isinstance(source, dict):
            continue
        token = source.get("serviceAccountToken")
        if isinstance(token, dict):
            token.setdefault("expirationSeconds", 3600)
        downward = source.get("downwardAPI")
        for item in (downward.get("items") or []) if isinstance(downward, dict) else []:
            if isinstance(item, dict):
                _default_field_refs(item)
    host_path = volume.get("hostPath")
    if isinstance(host_path, dict):
        host_path.setdefault("type", "")


def _default_service(obj: Object) -> None:
    spec = obj.setdefault("spec", {})
    service_type = spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if spec["sessionAffinity"] == "ClientIP":
        config = spec.setdefault("sessionAffinityConfig", {}).setdefault("clientIP", {})
        config.setdefault("timeoutSeconds", 10800)
    if service_type != "ExternalName":
        spec.setdefault("internalTrafficPolicy", "Cluster")
    if service_type in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    if service_type == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)
    for port in spec.get("ports") or []:
        port.setdefault("protocol", "TCP")
        if "port" in port:
            port.setdefault("targetPort", port["port"])


def _default_pvc(obj: Object) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("volumeMode", "Filesystem")


def _default_leader_worker_set(obj: Object) -> None:
    # NOTE: the LeaderWorkerSet defaults below are those of its v0.6 webhook, not of kube-apiserver.
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("startupPolicy", "LeaderCreated")
    rollout = spec.setdefault("rolloutStrategy", {})
    rollout.setdefault("type", "RollingUpdate")
    rolling = rollout.setdefault("rollingUpdateConfiguration", {})
    rolling.setdefault("maxUnavailable", 1)
    rolling.setdefault("maxSurge", 0)
    spec.setdefault("networkConfig", {}).setdefault("subdomainPolicy", "Shared")
    template = spec.setdefault("leaderWorkerTemplate", {})
    template.setdefault("size", 1)
    template.setdefault("restartPolicy", "RecreateGroupOnPodRestart")
    _default_pod_template(template.get("leaderTemplate"))
    _default_pod_template(template.get("workerTemplate"))


def _default_container_ports(value: Any) -> None:
    """Default ``protocol: TCP`` on every container port, as the CRD schemas of DGDs and DCDs do."""
    if isinstance(value, dict):
        for key, child in value.items():
            if key == "ports" and isinstance(child, list):
                for port in child:
                    if isinstance(port, dict) and "containerPort" in port:
                        port.setdefault("protocol", "TCP")
            else:
                _default_container_ports(child)
    elif isinstance(value, list):
        for item in value:
            _default_container_ports(item)


def _default_dynamo_service(service: Object) -> None:
    """Fill the defaults of the DGD and DCD CRD schemas (Dynamo 0.8.0) in one service spec.

    The operator's Go types write an empty ``mainContainer.name`` into every DCD, and
    it always names the container ``main`` itself, so an empty name counts as absent.
    """
    main_container = (service.get("extraPodSpec") or {}).get("mainContainer")
    if isinstance(main_container, dict) and main_container.get("name") == "":
        del main_container["name"]
    multinode = service.get("multinode")
    if isinstance(multinode, dict):
        multinode.setdefault("nodeCount", 2)
    adapter = service.get("scalingAdapter")
    if isinstance(adapter, dict):
        adapter.setdefault("disable", False)


def _default_dgd(obj: Object) -> None:
    for service in ((obj.get("spec") or {}).get("services") or {}).values():
        if isinstance(service, dict):
            _default_dynamo_service(service)


def _default_dcd(obj: Object) -> None:
    spec = obj.get("spec")
    if isinstance(spec, dict):
        _default_dynamo_service(spec)


_DEFAULTERS: Dict[str, Callable[[Object], None]] = {
    "DynamoGraphDeployment": _default_dgd,
    "DynamoComponentDeployment": _default_dcd,
    "Deployment": _default_deployment,
    "Service": _default_service,
    "PersistentVolumeClaim": _default_pvc,
    "LeaderWorkerSet": _default_leader_worker_set,
}


# --- pairs -------------------------------------------------------------------------------


def _drop_allocated(old: Object, new: Object) -> None:
    """Drop from ``old`` the fields a server allocates that ``new`` leaves for it to choose."""
    kind = new.get("kind")
    if kind == "ServiceAccount":
        # Token controllers (before Kubernetes 1.24) and OpenShift add these to every account.
        for key in ("secrets", "imagePullSecrets"):
            if key not in new:
                old.pop(key, None)
        return
    old_spec, new_spec = old.get("spec"), new.get("spec")
    if not isinstance(old_spec, dict) or not isinstance(new_spec, dict):
        return
    if kind == "Service":
        for key in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy", "healthCheckNodePort"):
            if key not in new_spec:
                old_spec.pop(key, None)
        new_ports = {_port_key(port): port for port in new_spec.get("ports") or []}
        for port in old_spec.get("ports") or []:
            counterpart = new_ports.get(_port_key(port))
            if counterpart is not None and "nodePort" not in counterpart:
                port.pop("nodePort", None)
    elif kind == "PersistentVolumeClaim":
        for key in ("volumeName", "storageClassName"):
            if key not in new_spec:
                old_spec.pop(key, None)


def _port_key(port: Object) -> tuple:
    return (port.get("name"), port.get("port"), port.get("protocol"))


def _align_equivalent(old: Any, new: Any, *, key: str, in_quantity_map: bool = False) -> None:
    """Copy ``old``'s text into ``new`` wherever both hold the same quantity, so no diff shows."""
    if isinstance(old, dict) and isinstance(new, dict):
        for child_key in new:
            if child_key not in old:
                continue
            old_child, new_child = old[child_key], new[child_key]
            if (in_quantity_map or child_key in _QUANTITY_KEYS) and not isinstance(new_child, (dict, list)):
                if old_child != new_child and same_quantity(old_child, new_child):
                    new[child_key] = old_child
                continue
            _align_equivalent(old_child, new_child, key=child_key, in_quantity_map=child_key in _QUANTITY_MAPS)
    elif isinstance(old, list) and isinstance(new, list):
        if keyed_list(old) and keyed_list(new):
            by_name = {item["name"]: item for item in old}
            for item in new:
                if item["name"] in by_name:
                    _align_equivalent(by_name[item["name"]], item, key=key)
        else:
            for old_item, new_item in zip(old, new):
                _align_equivalent(old_item, new_item, key=key)


def object_key(obj: Object) -> tuple:
    """Return (apiVersion, kind, namespace, name), the identity used to pair objects."""
    metadata = obj.get("metadata") or {}
    return (obj.get("apiVersion", ""), obj.get("kind", ""), metadata.get("namespace") or "", metadata.get("name", ""))


def live_hash(obj: Optional[Object]) -> Optional[str]:
    """Return an object's ``nvidia.com/last-applied-hash`` annotation, or None."""
    if not obj:
        return None
    return ((obj.get("metadata") or {}).get("annotations") or {}).get(labels.LAST_APPLIED_HASH)

