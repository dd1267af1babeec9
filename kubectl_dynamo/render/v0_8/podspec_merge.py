"""Merge a user's container or pod spec over the operator defaults like mergo v0.3.6.

The 0.8.0 operator calls ``mergo.Merge(&defaults, user, mergo.WithOverride)``. On the
JSON form a pointer field that the user set replaces the default whole, even ``{}``
or ``0``. A struct or map is merged key by key, and a non-empty list replaces the
default list. A scalar replaces the default unless it is the zero value (``""``,
``0``, ``false``), so a user can never clear a default with a zero value.
"""

from __future__ import annotations

import copy
from typing import Any, Dict, FrozenSet

Object = Dict[str, Any]

# Pointer-typed fields of the core/v1 Container and PodSpec Go types.
CONTAINER_POINTER_FIELDS: FrozenSet[str] = frozenset(
    {"livenessProbe", "readinessProbe", "startupProbe", "lifecycle", "securityContext", "restartPolicy"}
)
POD_SPEC_POINTER_FIELDS: FrozenSet[str] = frozenset(
    {
        "terminationGracePeriodSeconds", "activeDeadlineSeconds", "securityContext", "affinity", "dnsConfig",
        "priority", "runtimeClassName", "enableServiceLinks", "preemptionPolicy", "shareProcessNamespace",
        "automountServiceAccountToken", "setHostnameAsFQDN", "os", "hostUsers", "resources", "overhead",
    }
)


def _is_zero(value: Any) -> bool:
    return value is None or value == "" or value is False or (value == 0 and not isinstance(value, bool)) or value == [] or value == {}


def merge_override(defaults: Object, user: Object, pointer_fields: FrozenSet[str] = frozenset()) -> Object:
    """Return ``defaults`` with ``user`` merged over it; ``pointer_fields`` replace whole when set."""
    result = copy.deepcopy(defaults)
    for key, value in user.items():
        if value is None:
            continue
        if key in pointer_fields:
            result[key] = copy.deepcopy(value)
        elif isinstance(value, dict):
            if isinstance(result.get(key), dict):
                result[key] = merge_override(result[key], value)
            elif value:
                result[key] = copy.deepcopy(value)
        elif not _is_zero(value):
            result[key] = copy.deepcopy(value)
    return result


def merge_container(defaults: Object, user: Object) -> Object:
    return merge_override(defaults, user, CONTAINER_POINTER_FIELDS)


def merge_pod_spec(defaults: Object, user: Object) -> Object:
    return merge_override(defaults, user, POD_SPEC_POINTER_FIELDS)


# Field order of the core/v1 Go types, which is the order the operator's JSON has.
CONTAINER_FIELD_ORDER = (
    "name", "image", "command", "args", "workingDir", "ports", "envFrom", "env", "resources", "resizePolicy",
    "restartPolicy", "volumeMounts", "volumeDevices", "livenessProbe", "readinessProbe", "startupProbe", "lifecycle",
    "terminationMessagePath", "terminationMessagePolicy", "imagePullPolicy", "securityContext", "stdin", "stdinOnce", "tty",
)
POD_SPEC_FIELD_ORDER = (
    "volumes", "initContainers", "containers", "ephemeralContainers", "restartPolicy", "terminationGracePeriodSeconds",
    "activeDeadlineSeconds", "dnsPolicy", "nodeSelector", "serviceAccountName", "serviceAccount",
    "automountServiceAccountToken", "nodeName", "hostNetwork", "hostPID", "hostIPC", "shareProcessNamespace",
    "securityContext", "imagePullSecrets", "hostname", "subdomain", "affinity", "schedulerName", "tolerations",
    "hostAliases", "priorityClassName", "priority", "dnsConfig", "readinessGates", "runtimeClassName",
    "enableServiceLinks", "preemptionPolicy", "overhead", "topologySpreadConstraints", "setHostnameAsFQDN", "os",
    "hostUsers", "schedulingGates", "resourceClaims", "resources",
)


def _ordered(obj: Object, order) -> Object:
    rank = {key: index for index, key in enumerate(order)}
    return dict(sorted(obj.items(), key=lambda item: rank.get(item[0], len(rank))))


def order_pod_spec(pod_spec: Object) -> Object:
    """Return the pod spec with fields, and those of its containers, in Go struct order."""
    result = _ordered(pod_spec, POD_SPEC_FIELD_ORDER)
    for key in ("initContainers", "containers"):
        if key in result:
            result[key] = [_ordered(container, CONTAINER_FIELD_ORDER) for container in result[key]]
    return result
