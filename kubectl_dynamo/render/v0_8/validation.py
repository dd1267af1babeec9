"""Checks a DGD as the API server and the 0.8.0 operator would, before rendering.

Two layers, all problems collected and reported together:

1. The CRD schema (``dgd_schema.json``, generated from crds/ by scripts/gen_schema.py):
   unknown keys, types, enums, bounds, required keys and the PVC ``create`` rule.
   Like the API server, it also drops nulls and fills in schema defaults (for
   example ``multinode.nodeCount: 2``), in place, so that rendering reads the stored
   object.
2. The operator's own rules (webhook/validation, Dynamo 0.8.0) and the errors its
   render step raises: services present, PVC fields when ``create`` is true,
   ingress host, mount points, shared-memory size, quantities, backend framework
   detection, ``DYN_DEPLOYMENT_CONFIG``, and Grove's 45-character name limit.

``validate`` returns warnings (deprecated or ignored fields) and raises
``ValidationError`` when anything is wrong.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional

from kubectl_dynamo.api.quantity import QuantityError, is_zero, parse
from kubectl_dynamo.errors import ValidationError
from kubectl_dynamo.render.v0_8 import naming
from kubectl_dynamo.render.v0_8.settings import OperatorSettings

Object = Dict[str, Any]

SCHEMA_FILE = Path(__file__).with_name("dgd_schema.json")
# Grove's admission webhook limits the names that make up pod names (Grove PodCliqueSet validation).
GROVE_NAME_LIMIT = 45
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
PVC_CREATE_RULE = "!has(self.create) || self.create == false || (has(self.size) && has(self.storageClass) && has(self.volumeAccessMode))"

# Known mistakes and where the value belongs instead, by key.
KEY_HINTS = {
    "nvidia.com/gpu": 'use "gpu" (the operator turns it into nvidia.com/gpu, or into gpuType when set)',
    "mountPath": 'use "mountPoint" (mountPath belongs to extraPodSpec.mainContainer.volumeMounts)',
    "mountPoint": 'use "mountPath" (mountPoint belongs to the service-level volumeMounts)',
    "pvc": 'per-service "pvc" was removed; declare the claim in spec.pvcs and mount it with volumeMounts',
    "env": 'use "envs"',
    "dynamoComponent": "removed from the API; delete it",
    "dynamoTag": "removed from the API; delete it",
    "dynamoGraph": "removed from the API; delete it",
    "compilationCache": 'removed; mark a volumeMounts entry with "useAsCompilationCache: true"',
    "nodeSelector": "move it under extraPodSpec",
    "tolerations": "move it under extraPodSpec",
    "affinity": "move it under extraPodSpec",
    "image": "move it under extraPodSpec.mainContainer",
    "command": "move it under extraPodSpec.mainContainer",
    "args": "move it under extraPodSpec.mainContainer",
}

# Fields of older or later operators that the 0.8.0 API server drops (it prunes unknown
# fields unless the client asks for strict validation), by key and parent path. They
# render with a warning instead of an error because real files still carry them.
PRUNED_FIELDS = {
    "pvc": (r"^spec\.services\.[^.]+$",
            "was removed before 0.8.0 and is dropped, so the claim is not mounted; declare it in "
            "spec.pvcs and mount it with volumeMounts"),
    "enabled": (r"\.scalingAdapter$",
                "belongs to operators after 0.8.0 and is dropped; at 0.8.0 every service gets a scaling "
                "adapter unless scalingAdapter.disable is true"),
}

# Compiled on first use (re caches them), so that importing this module stays cheap.
BACKEND_PATTERN = {
    name: r"python[0-9.]*\s+[^|&;]*-m\s+[^|&;]*dynamo\." + name + r"[^|&;]*"
    for name in ("vllm", "sglang", "trtllm")
}


@lru_cache(maxsize=1)
def dgd_schema() -> Object:
    with open(SCHEMA_FILE, encoding="utf-8") as handle:
        return json.load(handle)


def _key_path(path: str, key: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_-]+", key):
        return f"{path}.{key}" if path else key
    return f'{path}["{key}"]'


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    return type(value).__name__


class SchemaChecker:
    """Walks a value against the compact OpenAPI schema, collecting problems."""

    def __init__(self) -> None:
        self.problems: List[str] = []
        self.warnings: List[str] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def check(self, value: Any, schema: Object, path: str) -> Any:
        """Check ``value``; return it with nulls dropped and defaults filled in."""
        if schema.get("x-kubernetes-int-or-string"):
            if isinstance(value, bool) or not isinstance(value, (int, str)):
                self.add(path, f"expected an integer or a string, found {_type_name(value)} {value!r}")
                return value
            pattern = schema.get("pattern")
            if pattern and isinstance(value, str) and not re.search(pattern, value):
                self.add(path, f"{value!r} is not a valid quantity; write a number with an optional suffix such as 500m, 8Gi or 2")
            return value
        expected = schema.get("type")
        if expected == "integer" and isinstance(value, float) and value.is_integer():
            value = int(value)  # the API server accepts 2.0 for an integer field
        if expected and not self._type_ok(value, expected):
            hint = ""
            if expected == "string" and isinstance(value, (int, float)) and not isinstance(value, bool):
                hint = f'; quote it: "{value}"'
            elif expected == "string" and isinstance(value, bool):
                hint = "; quote the value, because YAML reads true, false, yes and no as booleans"
            self.add(path, f"expected {'a mapping' if expected == 'object' else 'a list' if expected == 'array' else expected}, found {_type_name(value)}{hint}")
            return value
        if "enum" in schema and value not in schema["enum"]:
            choices = ", ".join(str(v) for v in schema["enum"])
            self.add(path, f"{value!r} is not one of: {choices}")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if "minimum" in schema and value < schema["minimum"]:
                self.add(path, f"{value} is below the minimum {schema['minimum']}")
            if "maximum" in schema and value > schema["maximum"]:
                self.add(path, f"{value} is above the maximum {schema['maximum']}")
        if isinstance(value, str):
            if "maxLength" in schema and len(value) > schema["maxLength"]:
                self.add(path, f"longer than {schema['maxLength']} characters")
            if "pattern" in schema and not re.search(schema["pattern"], value):
                self.add(path, f"{value!r} does not match the pattern {schema['pattern']}")
        if isinstance(value, list):
            if "maxItems" in schema and len(value) > schema["maxItems"]:
                self.add(path, f"has {len(value)} items, at most {schema['maxItems']} are allowed")
            if "minItems" in schema and len(value) < schema["minItems"]:
                self.add(path, f"needs at least {schema['minItems']} items")
            items = schema.get("items")
            if items:
                value = [self.check(item, items, f"{path}[{i}]") for i, item in enumerate(value)]
        if isinstance(value, dict):
            value = self._check_object(value, schema, path)
        for rule in schema.get("x-kubernetes-validations") or []:
            self._check_rule(value, rule, path)
        return value

    @staticmethod
    def _type_ok(value: Any, expected: str) -> bool:
        if expected == "object":
            return isinstance(value, dict)
        if expected == "array":
            return isinstance(value, list)
        if expected == "string":
            return isinstance(value, str)
        if expected == "integer":
            return isinstance(value, int) and not isinstance(value, bool)
        if expected == "number":
            return isinstance(value, (int, float)) and not isinstance(value, bool)
        if expected == "boolean":
            return isinstance(value, bool)
        return True

    def _check_object(self, value: Object, schema: Object, path: str) -> Object:
        properties = schema.get("properties")
        additional = schema.get("additionalProperties")
        preserve = schema.get("x-kubernetes-preserve-unknown-fields")
        if "maxProperties" in schema and len(value) > schema["maxProperties"]:
            self.add(path, f"has {len(value)} entries, at most {schema['maxProperties']} are allowed")
        result: Object = {}
        for key, item in value.items():
            key = str(key)
            item_path = _key_path(path, key)
            if item is None and not (properties and (properties.get(key) or {}).get("nullable")):
                continue  # the API server drops nulls of non-nullable fields
            if properties is not None and key in properties:
                result[key] = self.check(item, properties[key], item_path)
            elif isinstance(additional, dict):
                result[key] = self.check(item, additional, item_path)
            elif properties is not None and not preserve and additional is not True:
                pruned = PRUNED_FIELDS.get(key)
                if pruned and re.search(pruned[0], path):
                    self.warnings.append(f"{item_path} {pruned[1]}")
                    continue
                self.add(path, self._unknown_key(key, properties))
                result[key] = item
            else:
                result[key] = item
        for key, sub in (properties or {}).items():
            if key not in result and "default" in sub:
                result[key] = copy.deepcopy(sub["default"])
        for key in schema.get("required") or []:
            if key not in result:
                self.add(path, f'missing required key "{key}"')
        return result

    @staticmethod
    def _unknown_key(key: str, properties: Object) -> str:
        message = f'unknown key "{key}"'
        hint = KEY_HINTS.get(key)
        if hint is None and ("limits" in properties or "cpu" in properties) and "custom" in properties:
            hint = f'put it under custom: {{"{key}": ...}}'
        if hint is None:
            close = difflib.get_close_matches(key, list(properties), n=1, cutoff=0.6)
            if close:
                hint = f'did you mean "{close[0]}"?'
        return f"{message}; {hint}" if hint else message

    def _check_rule(self, value: Any, rule: Object, path: str) -> None:
        if rule.get("rule") == PVC_CREATE_RULE and isinstance(value, dict):
            if value.get("create") is True:
                missing = [k for k in ("size", "storageClass", "volumeAccessMode") if k not in value]
                if missing:
                    self.add(path, f"{rule.get('message')} (missing: {', '.join(missing)})")
        # NOTE: other CEL rules are not evaluated; the 0.8.0 DGD CRD has only the one above.


def apply_dcd_defaults(dcd: Object) -> Object:
    """Fill in the CRD defaults the API server adds when it stores a DCD, in place.

    The operator sends ``scalingAdapter: {}`` or a volume mount without
    ``useAsCompilationCache``, because Go leaves out false. The stored object, which the
    DCD controller reads and ``kubectl get`` shows, has them back. The DCD spec schema is
    the DGD service schema plus ``backendFramework``, which has no default.
    """
    service_schema = dgd_schema()["schema"]["properties"]["spec"]["properties"]["services"]["additionalProperties"]
    spec = dcd.get("spec")
    if isinstance(spec, dict):
        dcd["spec"] = SchemaChecker().check(spec, service_schema, "spec")
    return dcd


def detect_backend(service: Object) -> Optional[str]:
    """Detect the backend a worker's command runs (detectBackendFrameworkFromArgs, graph.go).

    Returns None for no match; raises ValueError when several frameworks match.
    """
    main = ((service.get("extraPodSpec") or {}).get("mainContainer") or {})
    words = [str(w) for w in (main.get("command") or [])] + [str(w) for w in (main.get("args") or [])]
    text = " ".join(words)
    found = [name for name, pattern in BACKEND_PATTERN.items() if re.search(pattern, text)]
    if len(found) > 1:
        raise ValueError(f"the command matches several backends ({', '.join(found)})")
    return found[0] if found else None


def validate(dgd: Object, settings: OperatorSettings, *, grove: bool = False) -> List[str]:
    """Validate ``dgd`` in place (nulls dropped, defaults applied); return warnings."""
    api_version = dgd.get("apiVersion")
    if api_version != naming.API_VERSION:
        raise ValidationError([
            f"apiVersion: {api_version!r} is not supported by operator profile 0.8, which reads "
            f"{naming.DGD_KIND} {naming.API_VERSION}; write the graph in {naming.API_VERSION} "
            f"(services map, extraPodSpec) or pick a later profile with --operator-version"
        ])

    checker = SchemaChecker()
    schema = dgd_schema()["schema"]
    spec = dgd.get("spec")
    if not isinstance(spec, dict):
        raise ValidationError([f"spec: expected a mapping with services, found {_type_name(spec)}"])
    dgd["spec"] = checker.check(spec, schema["properties"]["spec"], "spec")
    spec = dgd["spec"]
    warnings: List[str] = checker.warnings
    problems = checker.problems

    name = str((dgd.get("metadata") or {}).get("name") or "")
    if not name:
        problems.append('metadata.name: missing; every DynamoGraphDeployment needs a name')
    elif not re.match(DNS_SUBDOMAIN, name) or len(name) > 253:
        problems.append(f"metadata.name: {name!r} is not a valid name; use lower-case letters, digits and '-'")
    else:
        _check_graph_name(dgd, name, problems)

    _check_metadata_maps(dgd, problems)
    services = spec.get("services")
    if not isinstance(services, dict) or not services:
        problems.append("spec.services: must have at least one service; add a map of service name to service spec")
        services = {}
    _check_pvcs(spec, problems)
    namespace = str((dgd.get("metadata") or {}).get("namespace", ""))
    for pvc in spec.get("pvcs") or []:
        if isinstance(pvc, dict) and pvc.get("name") and pvc.get("create") is not True:
            warnings.append(f"PVC {pvc['name']} is not created by the operator (create is not true); "
                            f"it must already exist in namespace {namespace}, or the graph fails")
    explicit_backend = spec.get("backendFramework") or ""
    by_lower: Dict[str, str] = {}
    for service_name in services:
        other = by_lower.setdefault(str(service_name).lower(), str(service_name))
        if other != service_name:
            problems.append(f"spec.services.{service_name}: services {other} and {service_name} both become the objects "
                            f"named {name}-{str(service_name).lower()}; rename one of them")
    for service_name, service in services.items():
        if not isinstance(service, dict):
            continue
        _check_service(dgd, name, str(service_name), service, explicit_backend, settings, grove, problems, warnings)

    if problems:
        raise ValidationError(list(dict.fromkeys(problems)))
    return warnings


def _check_metadata_maps(dgd: Object, problems: List[str]) -> None:
    """Labels and annotations are maps of strings in every Kubernetes object."""
    metadata = dgd.get("metadata") or {}
    for field_name in ("labels", "annotations"):
        values = metadata.get(field_name)
        if values is None:
            continue
        if not isinstance(values, dict):
            problems.append(f"metadata.{field_name}: expected a mapping, found {_type_name(values)}")
            continue
        for key, value in values.items():
            if not isinstance(value, str):
                problems.append(f'metadata.{field_name}["{key}"]: expected string, found {_type_name(value)}; '
                                f'quote it: "{str(value).lower() if isinstance(value, bool) else value}"')


def _check_graph_name(dgd: Object, name: str, problems: List[str]) -> None:
    """Check the names and label values the operator derives from the graph name."""
    if not name[0].isalpha():
        problems.append(f"metadata.name: {name!r} must start with a letter, because the component Services "
                        f"are named after it and Service names must start with a letter")
    namespace = str((dgd.get("metadata") or {}).get("namespace", ""))
    services = (dgd.get("spec") or {}).get("services") or {}
    if any(isinstance(s, dict) and not s.get("globalDynamoNamespace") for s in services.values()):
        dynamo_namespace = f"{namespace}-{name}"
        if len(dynamo_namespace) > 63:
            problems.append(f"metadata.name: the dynamo namespace {dynamo_namespace} ({len(dynamo_namespace)} characters) "
                            f"is the value of the label {naming.LABEL_NAMESPACE}, which allows 63; shorten the graph "
                            f"or namespace name")


def _check_pvcs(spec: Object, problems: List[str]) -> None:
    for index, pvc in enumerate(spec.get("pvcs") or []):
        if not isinstance(pvc, dict):
            continue
        path = f"spec.pvcs[{index}]"
        if not pvc.get("name"):
            problems.append(f"{path}.name: required; name the PersistentVolumeClaim")
        if pvc.get("create") is True:
            if not pvc.get("storageClass"):
                problems.append(f"{path}.storageClass: required when create is true")
            if is_zero(pvc.get("size")):
                problems.append(f"{path}.size: required and non-zero when create is true, e.g. 100Gi")
            if not pvc.get("volumeAccessMode"):
                problems.append(f"{path}.volumeAccessMode: required when create is true, e.g. ReadWriteMany")


def _check_quantity(value: Any, path: str, problems: List[str]) -> None:
    if value in (None, ""):
        return
    try:
        parse(str(value))
    except QuantityError as exc:
        problems.append(f"{path}: {exc}")


def _check_service(dgd: Object, dgd_name: str, service_name: str, service: Object, explicit_backend: str,
                   settings: OperatorSettings, grove: bool, problems: List[str], warnings: List[str]) -> None:
    path = f"spec.services.{service_name}"
    lower = service_name.lower()
    if not re.match(DNS_LABEL, lower):
        problems.append(f"{path}: service name {service_name!r} must lower-case to letters, digits and '-', "
                        f"because it becomes part of object names ({dgd_name}-{lower})")
    elif grove:
        if naming.number_of_nodes(service) > 1:
            length = len(dgd_name) + len(lower) + len(lower) + len("-ldr")
            detail = f"{dgd_name} + {lower} + {lower}-ldr"
        else:
            length, detail = len(dgd_name) + len(lower), f"{dgd_name} + {lower}"
        if length > GROVE_NAME_LIMIT:
            problems.append(f"{path}: Grove allows {GROVE_NAME_LIMIT} characters for the names in a pod name, "
                            f"this service needs {length} ({detail}); shorten the graph or service name")
    elif len(dgd_name) + 1 + len(lower) + 2 > 63:
        problems.append(f"{path}: the Service name {dgd_name}-{lower}-p is longer than 63 characters; "
                        f"shorten the graph or service name")

    if service.get("dynamoNamespace") is not None:
        warnings.append(f"{path}.dynamoNamespace is deprecated and ignored; the operator uses "
                        f"{naming.dynamo_namespace(str((dgd.get('metadata') or {}).get('namespace', '')), dgd_name, service)}")
    if service.get("autoscaling") is not None:
        warnings.append(f"{path}.autoscaling is deprecated and ignored; scale through the "
                        f"DynamoGraphDeploymentScalingAdapter {naming.component_name(dgd_name, service_name)} with HPA, KEDA or the planner")
    component_type = service.get("componentType")
    if not component_type:
        warnings.append(f"{path} has no componentType, so it gets none of the frontend or worker defaults "
                        f"(command, ports, probes); set componentType: frontend, worker, prefill, decode or planner")
    elif component_type == "main":
        warnings.append(f"{path}.componentType main is an old spelling without meaning at 0.8.0; "
                        f"use frontend for the HTTP entry service")

    ingress = service.get("ingress") or {}
    if ingress.get("enabled") is True and not ingress.get("host"):
        problems.append(f"{path}.ingress.host: required when ingress is enabled")
    elif ingress.get("enabled") is True and "." in str(ingress.get("host")) and ingress.get("hostSuffix") is None:
        host = f"{ingress.get('hostPrefix') or ''}{ingress['host']}.{naming.DEFAULT_INGRESS_SUFFIX}"
        warnings.append(f"{path}.ingress: the operator appends the host suffix, so the Ingress host becomes {host}; "
                        f"set ingress.hostSuffix and put only the first label in ingress.host")
    mounted: Dict[str, int] = {}
    for index, mount in enumerate(service.get("volumeMounts") or []):
        if isinstance(mount, dict) and mount.get("name") in mounted:
            problems.append(f"{path}.volumeMounts[{index}].name: PVC {mount['name']} is already mounted by "
                            f"volumeMounts[{mounted[mount['name']]}]; the 0.8.0 operator would add its volume twice, "
                            f"which Kubernetes rejects, so mount it once (use extraPodSpec.mainContainer.volumeMounts "
                            f"with subPath for more paths)")
        elif isinstance(mount, dict) and mount.get("name"):
            mounted[mount["name"]] = index
        if isinstance(mount, dict) and not mount.get("useAsCompilationCache") and not mount.get("mountPoint"):
            problems.append(f"{path}.volumeMounts[{index}].mountPoint: required unless useAsCompilationCache is true, e.g. /models")
        if isinstance(mount, dict) and not mount.get("name"):
            problems.append(f"{path}.volumeMounts[{index}].name: required; name a PVC from spec.pvcs")
    shared_memory = service.get("sharedMemory")
    if isinstance(shared_memory, dict) and not shared_memory.get("disabled") and is_zero(shared_memory.get("size")):
        problems.append(f"{path}.sharedMemory.size: required unless disabled is true, e.g. 16Gi (the default without sharedMemory is 8Gi)")
    if grove and naming.number_of_nodes(service) <= 1 and service.get("replicas") is None:
        problems.append(f"{path}.replicas: required in Grove mode (the 0.8.0 operator crashes on a service without it); set replicas: 1")

    resources = service.get("resources") or {}
    for section in ("requests", "limits"):
        item = resources.get(section) or {}
        if not isinstance(item, dict):
            continue
        for key in ("cpu", "memory", "gpu"):
            _check_quantity(item.get(key), f"{path}.resources.{section}.{key}", problems)
        for key, value in (item.get("custom") or {}).items():
            _check_quantity(value, f'{path}.resources.{section}.custom["{key}"]', problems)

    if naming.is_worker(component_type):
        try:
            detected = detect_backend(service)
        except ValueError as exc:
            detected = None
            if not explicit_backend:
                problems.append(f"{path}.extraPodSpec.mainContainer: {exc}; set spec.backendFramework")
        if detected and explicit_backend and detected != explicit_backend:
            problems.append(f"spec.backendFramework: {explicit_backend!r} does not match the {detected} command of "
                            f"service {service_name} (backend framework mismatch); set it to {detected} or remove it")

    from kubectl_dynamo.render.v0_8.graph import GraphError, render_dcd

    try:
        render_dcd(dgd, service_name, service, settings)
    except GraphError as exc:
        problems.append(str(exc))
