"""The pod spec pipeline shared by the Grove PodCliqueSet and the DCD workloads.

``build_pod_spec`` mirrors ``GenerateBasePodSpec`` in graph.go of Dynamo 0.8.0:
default container by component type, the user's main container merged over it,
service env, probes, resources, pull secrets, operator env, volumes, the backend
rewrite, and finally the pod-level merge with ``extraPodSpec``.
"""

from __future__ import annotations

import copy
from typing import Any, Dict, Iterable, List, Optional, Sequence
from urllib.parse import urlsplit

from kubectl_dynamo.api.quantity import canonical as canonical_quantity
from kubectl_dynamo.errors import InputError
from kubectl_dynamo.render.v0_8 import backends
from kubectl_dynamo.render.v0_8.components import ComponentContext, base_container, base_pod_spec, env_var
from kubectl_dynamo.render.v0_8.naming import (
    ANNOTATION_DISABLE_PULL_SECRET_DISCOVERY,
    DISCOVERY_KUBERNETES,
    discovery_service_account,
    effective_discovery_backend,
    number_of_nodes,
)
from kubectl_dynamo.render.v0_8.podspec_merge import merge_container, merge_pod_spec, order_pod_spec

Object = Dict[str, Any]

SHARED_MEMORY_VOLUME = "shared-memory"
SHARED_MEMORY_MOUNT_PATH = "/dev/shm"
DEFAULT_SHARED_MEMORY_SIZE = "8Gi"
DEFAULT_SECURITY_CONTEXT_FS_GROUP = 1000
GPU_RESOURCE = "nvidia.com/gpu"


def merge_envs(common: Iterable[Object], specific: Iterable[Object]) -> List[Object]:
    """Return the union of two env lists by name, ``specific`` winning, sorted by name."""
    merged: Dict[str, Object] = {}
    for item in list(common or []) + list(specific or []):
        merged[item["name"]] = item
    return [merged[name] for name in sorted(merged, key=lambda name: name.encode())]


def resource_requirements(resources: Optional[Object], where: str) -> Optional[Object]:
    """Convert DGD ``resources`` into a container's requests, limits and claims.

    ``requests.gpu`` is ignored (Dynamo 0.8.0 only turns ``limits.gpu`` into a GPU
    resource); the GPU resource name is ``gpuType`` or ``nvidia.com/gpu``.
    """
    if resources is None:
        return None
    result: Object = {}

    limits = resources.get("limits")
    if limits is not None:
        converted = _resource_list(limits, "limits", where, include_gpu=True)
        if converted:
            result["limits"] = converted
    requests = resources.get("requests")
    if requests is not None:
        converted = _resource_list(requests, "requests", where, include_gpu=False)
        if converted:
            result["requests"] = converted
    claims = resources.get("claims")
    if claims is not None:
        result["claims"] = copy.deepcopy(list(claims))
    return result


def _resource_list(item: Object, section: str, where: str, *, include_gpu: bool) -> Object:
    converted: Object = {}
    keys = [("cpu", "cpu"), ("memory", "memory")]
    if include_gpu:
        keys.append(("gpu", item.get("gpuType") or GPU_RESOURCE))
    for field, resource_name in keys:
        value = item.get(field)
        if value not in (None, ""):
            converted[resource_name] = _quantity(value, f"{where}resources.{section}.{field}")
    for name, value in (item.get("custom") or {}).items():
        converted[name] = _quantity(value, f"{where}resources.{section}.custom.{name}")
    return converted


def _quantity(value: Any, path: str) -> str:
    try:
        return canonical_quantity(value)
    except ValueError as error:
        raise InputError(
            f"{path}: invalid quantity {value!r} ({error})",
            hint='write a Kubernetes quantity such as "2", "500m" or "16Gi"',
        ) from None


def image_registry_host(image: str) -> Optional[str]:
    """Return the registry host of an image the way the operator's pull-secret index does.

    The image is read as a URL (``dummy://`` prepended), so ``nvcr.io/nvidia/x:1``
    gives ``nvcr.io`` and an image without a registry such as ``python:3.12-slim``
    gives None (its "port" is not a number).
    """
    url = image if "://" in image else f"dummy://{image}"
    try:
        parts = urlsplit(url)
        _check_port(parts)
    except ValueError:
        return None
    host = parts.netloc.rsplit("@", 1)[-1]
    return host or None


def _check_port(parts) -> None:
    """Raise ValueError for a non-numeric port, as Go's url.Parse does."""
    _ = parts.port


def discovered_pull_secrets(image: str, secrets: Sequence[Any]) -> List[str]:
    """Return the dockerconfigjson Secrets whose registries include the image's registry.

    Each entry of ``secrets`` is a Secret name (used for every registry) or a mapping
    ``{"name": ..., "registries": [...]}`` listing the hosts of its ``auths``.
    """
    host = image_registry_host(image)
    if host is None:
        return []
    names: List[str] = []
    for secret in secrets:
        if isinstance(secret, str):
            names.append(secret)
        elif host in (secret.get("registries") or []):
            names.append(secret["name"])
    return names


def append_unique_pull_secrets(existing: List[Object], names: Iterable[str]) -> List[Object]:
    seen = {item.get("name") for item in existing}
    for name in names:
        if name not in seen:
            existing.append({"name": name})
            seen.add(name)
    return existing


def shared_memory(spec: Optional[Object], where: str):
    """Return the /dev/shm volume and mount, or (None, None) when disabled."""
    size = DEFAULT_SHARED_MEMORY_SIZE
    if spec is not None:
        if spec.get("disabled"):
            return None, None
        given = spec.get("size")
        # A zero size means the default, as in the operator.
        if given not in (None, "") and _quantity(given, f"{where}sharedMemory.size") != "0":
            size = given
    volume = {
        "name": SHARED_MEMORY_VOLUME,
        "emptyDir": {"medium": "Memory", "sizeLimit": _quantity(size, f"{where}sharedMemory.size")},
    }
    return volume, {"name": SHARED_MEMORY_VOLUME, "mountPath": SHARED_MEMORY_MOUNT_PATH}


def operator_env(settings) -> List[Object]:
    """Return the env every pod gets from operator flags, each only when the flag is set."""
    pairs = [
        ("NATS_SERVER", settings.nats_address),
        ("ETCD_ENDPOINTS", settings.etcd_address),
        ("MODEL_EXPRESS_URL", settings.model_express_url),
        ("PROMETHEUS_ENDPOINT", settings.prometheus_endpoint),
    ]
    return [env_var(name, value) for name, value in pairs if value]


def build_pod_spec(
    component: Object,
    *,
    framework: str,
    dgd_name: str,
    namespace: str,
    role: str,
    settings,
    deployer,
    service_name: str,
    where: str = "",
    nodes: Optional[int] = None,
) -> Object:
    """Build the pod spec of one component role (``GenerateBasePodSpec``, graph.go, Dynamo 0.8.0).

    ``component`` is the DGD service or DCD spec and is not changed. ``framework`` comes
    from ``backends.determine_framework``. Multinode host names are built from
    ``service_name``: the DGD service key on Grove, the DCD name for LeaderWorkerSets.
    ``where`` prefixes error messages, e.g. ``spec.services.decode.``. ``nodes`` overrides
    the component's ``multinode.nodeCount``, as the operator's own tests do.
    Raises InputError for invalid volume mounts, quantities or backends.
    """
    annotations = component.get("annotations") or {}
    discovery = effective_discovery_backend(annotations, settings.discovery_backend or "")
    component_type = component.get("componentType") or ""
    context = ComponentContext(
        dynamo_namespace=component.get("dynamoNamespace") or "",
        component_type=component_type,
        parent_dgd_name=dgd_name,
        parent_dgd_namespace=namespace,
        discovery_backend=discovery,
    )
    container = base_container(context)
    extra_pod_spec = component.get("extraPodSpec") or {}
    main = extra_pod_spec.get("mainContainer")

    if main is not None:
        default_env = container["env"]
        container = merge_container(container, copy.deepcopy(main))
        container["env"] = merge_envs(default_env, container.get("env") or [])
        if main.get("startupProbe") is not None:
            container["startupProbe"] = copy.deepcopy(main["startupProbe"])
    container["env"] = merge_envs(container.get("env") or [], component.get("envs") or [])

    for probe in ("livenessProbe", "readinessProbe"):
        if component.get(probe) is not None:
            container[probe] = copy.deepcopy(component[probe])

    _apply_resources(container, resource_requirements(component.get("resources"), where))

    pull_secrets: List[str] = []
    image = (main or {}).get("image") or ""
    if annotations.get(ANNOTATION_DISABLE_PULL_SECRET_DISCOVERY) != "true" and image:
        pull_secrets = discovered_pull_secrets(image, settings.docker_config_secrets)

    if component.get("envFromSecret") is not None:
        container.setdefault("envFrom", []).append({"secretRef": {"name": component["envFromSecret"]}})

    container["env"] = merge_envs(operator_env(settings), container["env"])

    volumes = _add_volume_mounts(container, component, framework, where)

    if nodes is None:
        nodes = number_of_nodes(component)
    backends.update_container(
        framework, container, nodes, role, component, service_name, deployer, settings.mpi_run_ssh_secret_name
    )

    pod_spec = base_pod_spec(component_type)
    user_pod_spec = {key: value for key, value in extra_pod_spec.items() if key != "mainContainer"}
    user_security_context = user_pod_spec.get("securityContext") is not None
    pod_spec = merge_pod_spec(pod_spec, copy.deepcopy(user_pod_spec))

    if not user_security_context:
        security_context = pod_spec.setdefault("securityContext", {})
        security_context.setdefault("fsGroup", DEFAULT_SECURITY_CONTEXT_FS_GROUP)

    if discovery == DISCOVERY_KUBERNETES and not pod_spec.get("serviceAccountName"):
        pod_spec["serviceAccountName"] = discovery_service_account(dgd_name)

    pod_spec["containers"] = list(pod_spec.get("containers") or []) + [container]
    if volumes:
        pod_spec["volumes"] = list(pod_spec.get("volumes") or []) + volumes
    if pull_secrets:
        pod_spec["imagePullSecrets"] = append_unique_pull_secrets(list(pod_spec.get("imagePullSecrets") or []), pull_secrets)

    backends.update_pod_spec(framework, pod_spec, nodes, settings.mpi_run_ssh_secret_name)
    _canonicalize_user_quantities(pod_spec, where)
    return order_pod_spec(pod_spec)


def _canonicalize_user_quantities(pod_spec: Object, where: str) -> None:
    """Write the quantities a user gave in ``extraPodSpec`` in canonical form, as the API would.

    The operator stores them as parsed Quantity values, so ``1024Mi`` comes out as ``1Gi``.
    """
    for kind in ("initContainers", "containers"):
        for index, container in enumerate(pod_spec.get(kind) or []):
            resources = container.get("resources") or {}
            for section in ("limits", "requests"):
                for name, value in list((resources.get(section) or {}).items()):
                    path = f"{where}extraPodSpec.{kind}[{index}].resources.{section}.{name}"
                    resources[section][name] = _quantity(value, path)
    for index, volume in enumerate(pod_spec.get("volumes") or []):
        empty_dir = volume.get("emptyDir")
        if isinstance(empty_dir, dict) and empty_dir.get("sizeLimit") is not None:
            empty_dir["sizeLimit"] = _quantity(empty_dir["sizeLimit"], f"{where}extraPodSpec.volumes[{index}].emptyDir.sizeLimit")
    for field in ("overhead",):
        for name, value in list((pod_spec.get(field) or {}).items()):
            pod_spec[field][name] = _quantity(value, f"{where}extraPodSpec.{field}.{name}")


def _apply_resources(container: Object, requirements: Optional[Object]) -> None:
    resources = container.setdefault("resources", {})
    if not requirements:
        return
    for section in ("requests", "limits"):
        if requirements.get(section):
            resources.setdefault(section, {}).update(requirements[section])
    if requirements.get("claims"):
        resources["claims"] = list(resources.get("claims") or []) + requirements["claims"]


def _add_volume_mounts(container: Object, component: Object, framework: str, where: str) -> List[Object]:
    """Add the PVC and shared-memory mounts to the container and return the pod volumes."""
    volumes: List[Object] = []
    mounts = container.setdefault("volumeMounts", [])
    for index, mount in enumerate(component.get("volumeMounts") or []):
        path = f"{where}volumeMounts[{index}]"
        name = mount.get("name") or ""
        if not name:
            raise InputError(f"{path}.name is missing", hint="name the PVC to mount (an entry of spec.pvcs)")
        mount_point = mount.get("mountPoint") or ""
        if mount.get("useAsCompilationCache") and not mount_point:
            mount_point = backends.default_compilation_cache_mount_point(framework)
            if not mount_point:
                raise InputError(
                    f"{path}: useAsCompilationCache requires an explicit mountPoint for backend framework {framework}",
                    hint="set mountPoint (only vLLM has a default, /root/.cache/vllm)",
                )
        elif not mount_point:
            raise InputError(f"{path}.mountPoint is missing", hint="set mountPoint, or useAsCompilationCache: true")

        # NOTE: a PVC mounted twice gets two volumes of the same name, which the API
        # server rejects; Dynamo 0.8.0 does not deduplicate them.
        volumes.append({"name": name, "persistentVolumeClaim": {"claimName": name}})
        mounts.append({"name": name, "mountPath": mount_point})

    volume, mount = shared_memory(component.get("sharedMemory"), where)
    if volume is not None:
        volumes.append(volume)
        mounts.append(mount)
    if not mounts:
        del container["volumeMounts"]
    return volumes


def pod_spec_warnings(pod_spec: Object, where: str = "") -> List[str]:
    """Return problems the API server or kubelet would report for a rendered pod spec.

    Dynamo 0.8.0 renders these without complaint: a PVC mounted twice through
    ``volumeMounts`` gives two volumes of one name (the API server rejects the pod),
    and a container mount may name a volume that the pod does not have.
    """
    warnings: List[str] = []
    names = [volume.get("name") for volume in pod_spec.get("volumes") or []]
    for name in sorted({name for name in names if names.count(name) > 1}):
        warnings.append(
            f"{where}volume {name!r} appears {names.count(name)} times in the pod, which the API server rejects; "
            "mount the PVC once in volumeMounts and add further mounts with subPath in extraPodSpec.mainContainer.volumeMounts"
        )
    known = set(names)
    for container in pod_spec.get("containers") or []:
        for mount in container.get("volumeMounts") or []:
            if mount.get("name") not in known:
                warnings.append(
                    f"{where}container {container.get('name')!r} mounts volume {mount.get('name')!r}, which the pod does not have; "
                    "add it to volumeMounts (for a PVC) or to extraPodSpec.volumes"
                )
    return warnings


def rendered_pod_warnings(objects: Iterable[Object]) -> List[str]:
    """Return ``pod_spec_warnings`` for every pod template in rendered workloads.

    Reads Deployments, LeaderWorkerSets (leader and worker) and PodCliqueSet cliques.
    """
    warnings: List[str] = []
    for obj in objects:
        kind = obj.get("kind")
        name = (obj.get("metadata") or {}).get("name", "")
        spec = obj.get("spec") or {}
        if kind == "Deployment":
            templates = [("", (spec.get("template") or {}).get("spec"))]
        elif kind == "LeaderWorkerSet":
            group = spec.get("leaderWorkerTemplate") or {}
            templates = [(f" {role}", (group.get(f"{role}Template") or {}).get("spec")) for role in ("leader", "worker")]
        elif kind == "PodCliqueSet":
            cliques = (spec.get("template") or {}).get("cliques") or []
            templates = [(f" clique {clique.get('name')}", (clique.get("spec") or {}).get("podSpec")) for clique in cliques]
        else:
            continue
        for label, pod_spec in templates:
            if pod_spec:
                warnings += pod_spec_warnings(pod_spec, f"{kind} {name}{label}: ")
    return warnings
