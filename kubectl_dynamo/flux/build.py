"""Build the objects a Kustomization applies, from a source tree, the way Flux builds them.

Follows kustomize-controller v1.9 and fluxcd/pkg ``kustomize``:

1. Go to ``spec.path``. Without a kustomization file, Flux generates one listing
   every ``.yaml``/``.yml`` file below it, each of which must be Kubernetes YAML;
   a sub-directory with its own kustomization file becomes one resource.
2. Merge ``spec.targetNamespace`` (as ``namespace``), ``spec.patches``,
   ``spec.images``, ``spec.components`` and ``spec.namePrefix``/``nameSuffix``
   into that kustomization and run kustomize with no load restrictions. Here
   the real ``kubectl kustomize`` runs it. A plain YAML directory with none of
   those transforms is read directly, as the build would not change it.
3. Post-build substitution (``${var}``, ``${var:=default}``) on each object,
   unless the object opts out with ``kustomize.toolkit.fluxcd.io/substitute: disabled``.
   Flux substitutes in the YAML text of each built object, which kustomize
   writes without the quotes of the Git file, and parses the result again: a
   quoted ``"${gpus}"`` with ``gpus: "1"`` becomes the integer 1. Such type
   changes are reported as ``TypeChange`` items.
4. Stamp the two owner labels and ``spec.commonMetadata``.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import yaml

from kubectl_dynamo.errors import InputError
from kubectl_dynamo.flux import objects as fx
from kubectl_dynamo.flux.revision import short_revision
from kubectl_dynamo.flux.source import SourceTree

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

Object = Dict[str, Any]

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_TRANSFORMS = ("patches", "images", "components", "namePrefix", "nameSuffix")
_VAR_NAME = re.compile(r"^[_a-zA-Z][_a-zA-Z0-9]*$")

# Kinds without a namespace among those a Dynamo repository typically holds;
# targetNamespace leaves them alone when the directory is read without kustomize.
CLUSTER_SCOPED_KINDS = frozenset({
    "Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding", "PriorityClass",
    "StorageClass", "PersistentVolume", "IngressClass", "RuntimeClass", "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration", "APIService", "Node",
})


def kubectl_binary() -> str:
    return os.environ.get("KUBECTL") or "kubectl"


def build(tree: SourceTree, kustomization: Object, variables: Optional[Dict[str, str]] = None,
          *, kubectl: Optional[str] = None, type_changes: Optional[List["TypeChange"]] = None) -> List[Object]:
    """Return the objects ``kustomization`` applies from ``tree``, in build order.

    ``variables`` are the resolved ``postBuild`` variables (see ``resolve_variables``).
    When ``type_changes`` is a list, the string fields that substitution turned
    into another type are appended to it.
    Raises ``InputError`` naming the path and revision when the build fails.
    """
    spec = kustomization.get("spec") or {}
    meta = kustomization.get("metadata") or {}
    where = f"Kustomization {meta.get('namespace', '')}/{meta.get('name', '')} at {short_revision(tree.revision)}"
    rel = str(spec.get("path") or ".")
    top = tree.root.resolve()
    root = (top / rel.lstrip("/")).resolve()
    if root != top and top not in root.parents:
        raise InputError(f"spec.path {rel!r} of {where} leaves the repository")
    if not root.is_dir():
        raise InputError(f"spec.path {rel!r} of {where} is not a directory in the source",
                         hint="Check that the clone or artifact is the Kustomization's source.")

    if _needs_kustomize(root, spec):
        write_kustomization(root, spec, where)
        built = run_kustomize(root, where, kubectl or kubectl_binary())
    else:
        built = read_plain(root, where)
        target_namespace = spec.get("targetNamespace")
        if target_namespace:
            for obj in built:
                if obj.get("kind") not in CLUSTER_SCOPED_KINDS:
                    obj.setdefault("metadata", {})["namespace"] = target_namespace

    post_build = spec.get("postBuild") or {}
    strategy = str(post_build.get("substituteStrategy") or "WithVariables")
    result = []
    for obj in built:
        substituted = substitute_object(obj, variables or {}, strategy, where)
        if type_changes is not None and substituted is not obj:
            type_changes.extend(find_type_changes(obj, substituted, variables or {}))
        obj = substituted
        stamp_metadata(obj, kustomization)
        result.append(obj)
    return result


def _needs_kustomize(root: Path, spec: Object) -> bool:
    if any(spec.get(name) for name in _TRANSFORMS):
        return True
    for _dirpath, _dirs, files in os.walk(root):
        if any(name in KUSTOMIZATION_FILES for name in files):
            return True
    return False


def _kustomization_file(directory: Path) -> Optional[Path]:
    for name in KUSTOMIZATION_FILES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def _load_yaml_documents(path: Path, where: str) -> List[Any]:
    try:
        return [doc for doc in yaml.load_all(path.read_text(encoding="utf-8"), Loader=_Loader) if doc is not None]
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError(f"failed to decode Kubernetes YAML from {path.name} ({where}): {exc}") from exc


def _yaml_files(root: Path) -> List[Path]:
    """Return the YAML files Flux's generator lists, in its order (lexical walk)."""
    found: List[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        here = Path(dirpath)
        if here != root and _kustomization_file(here):
            found.append(here)
            dirnames.clear()
            continue
        for name in sorted(filenames):
            if name.endswith((".yaml", ".yml")):
                found.append(here / name)
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def read_plain(root: Path, where: str) -> List[Object]:
    """Read every Kubernetes object from the YAML files below ``root`` (no kustomize)."""
    objects: List[Object] = []
    for path in _yaml_files(root):
        if not path.is_file():
            continue
        for doc in _load_yaml_documents(path, where):
            if not isinstance(doc, dict) or not doc.get("apiVersion") or not doc.get("kind"):
                rel = path.relative_to(root).as_posix()
                raise InputError(f"failed to decode Kubernetes YAML from {rel} ({where}): apiVersion and kind are required")
            if str(doc.get("kind", "")).endswith("List") and isinstance(doc.get("items"), list):
                objects.extend(item for item in doc.get("items") or [] if isinstance(item, dict))
            else:
                objects.append(doc)
    return objects


def write_kustomization(root: Path, spec: Object, where: str) -> Path:
    """Write the kustomization file Flux would build from: the repository's, or a generated one, plus transforms."""
    existing = _kustomization_file(root)
    if existing:
        loaded = yaml.load(existing.read_text(encoding="utf-8"), Loader=_Loader) or {}
        if not isinstance(loaded, dict):
            raise InputError(f"{existing.name} in {where} is not a mapping")
        data: Object = loaded
        target = existing
    else:
        resources = []
        for path in _yaml_files(root):
            if path.is_file():
                for doc in _load_yaml_documents(path, where):
                    if not isinstance(doc, dict) or not doc.get("apiVersion") or not doc.get("kind"):
                        rel = path.relative_to(root).as_posix()
                        raise InputError(f"failed to decode Kubernetes YAML from {rel} ({where}): apiVersion and kind are required")
            resources.append("./" + path.relative_to(root).as_posix())
        data = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": resources}
        target = root / "kustomization.yaml"

    if spec.get("targetNamespace"):
        data["namespace"] = spec["targetNamespace"]
    for patch in spec.get("patches") or []:
        entry = {"patch": patch.get("patch", "")}
        if patch.get("target"):
            entry["target"] = {k: v for k, v in patch["target"].items() if v}
        data.setdefault("patches", []).append(entry)
    for image in spec.get("images") or []:
        images = data.setdefault("images", [])
        replaced = [i for i, existing_image in enumerate(images) if existing_image.get("name") == image.get("name")]
        if replaced:
            images[replaced[0]] = dict(image)
        else:
            images.append(dict(image))
    for component in spec.get("components") or []:
        data.setdefault("components", []).append(component)
    for field in ("namePrefix", "nameSuffix"):
        if spec.get(field):
            data[field] = spec[field]

    target.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return target


def run_kustomize(root: Path, where: str, kubectl: str) -> List[Object]:
    """Run ``kubectl kustomize`` on ``root`` and parse its output."""
    command = [kubectl, "kustomize", "--load-restrictor", "LoadRestrictionsNone", str(root)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    except FileNotFoundError as exc:
        raise InputError(f"{kubectl} not found; building a kustomization needs kubectl on PATH (or $KUBECTL)") from exc
    except subprocess.TimeoutExpired as exc:
        raise InputError(f"kubectl kustomize timed out after 300s for {where}") from exc
    if done.returncode != 0:
        raise InputError(f"kustomize build failed for {where}: {_kubectl_error(done.stderr)}")
    try:
        return [doc for doc in yaml.load_all(done.stdout, Loader=_Loader) if isinstance(doc, dict)]
    except yaml.YAMLError as exc:
        raise InputError(f"kubectl kustomize printed invalid YAML for {where}: {exc}") from exc


def _kubectl_error(stderr: str) -> str:
    # kubectl 1.32 wraps the kustomize error in a klog line: E1204 … "command failed" err=< … >
    lines = [line.strip() for line in stderr.strip().splitlines()]
    lines = [line for line in lines if line and line != ">" and not re.match(r"^[EWI]\d{4} .*\] ", line)]
    return " ".join(lines) or stderr.strip()


# --- post-build substitution ----------------------------------------------------

_EXPRESSION = re.compile(r"\$\$\{|\$\{([^{}]*)\}")
_OPERATOR = re.compile(r"^([_a-zA-Z][_a-zA-Z0-9]*)(?:(:=|:-|=|-)(.*))?$", re.DOTALL)


def envsubst(text: str, variables: Dict[str, str]) -> str:
    """Replace ``${var}`` forms the way Flux's post-build substitution does.

    ``${var}`` becomes the value, or "" when undefined. ``${var:=default}`` and
    ``${var:-default}`` use the default when the variable is undefined or empty.
    ``${var=default}`` and ``${var-default}`` use it only when it is undefined.
    ``$${var}`` leaves a literal ``${var}``, and plain ``$var`` is not substituted.
    """

    def replace(match: "re.Match[str]") -> str:
        if match.group(0) == "$${":
            return "${"
        parsed = _OPERATOR.match(match.group(1))
        if not parsed:
            return match.group(0)
        name, operator, default = parsed.group(1), parsed.group(2), parsed.group(3) or ""
        value = variables.get(name)
        if operator in (":=", ":-") and not value:
            return default
        if operator in ("=", "-") and value is None:
            return default
        return value or ""

    return _EXPRESSION.sub(replace, text)


def substitute_object(obj: Object, variables: Dict[str, str], strategy: str, where: str) -> Object:
    """Return ``obj`` after post-build substitution (the same object when none applies)."""
    if fx.substitute_disabled(obj):
        return obj
    if strategy != "Always" and not variables:
        return obj
    for name in variables:
        if not _VAR_NAME.match(name):
            raise InputError(f"postBuild variable {name!r} of {where} is invalid: names must match {_VAR_NAME.pattern}")
    text = yaml.safe_dump(obj, sort_keys=False, width=1_000_000, allow_unicode=True)
    substituted = envsubst(text, variables)
    if substituted == text:
        return obj
    try:
        result = yaml.load(substituted, Loader=_Loader)
    except yaml.YAMLError as exc:
        meta = obj.get("metadata") or {}
        raise InputError(f"variable substitution left invalid YAML in {obj.get('kind')} {meta.get('name')} ({where}): {exc}") from exc
    return result if isinstance(result, dict) else obj


_TYPE_NAMES = {bool: "boolean", int: "integer", float: "number", type(None): "null"}


@dataclass(frozen=True)
class TypeChange:
    """A string field of Git that post-build substitution turned into another YAML type."""

    kind: str
    namespace: str
    name: str
    path: Tuple[str, ...]
    #: The Git text of the field, e.g. ``${gpus}``.
    expression: str
    #: The variables the expression names, in order.
    variables: Tuple[str, ...]
    value: Any

    @property
    def text_path(self) -> str:
        return ".".join(self.path)

    @property
    def type_name(self) -> str:
        return _TYPE_NAMES.get(type(self.value), type(self.value).__name__)

    def advice(self) -> str:
        """Say what happened and how to keep the field a string."""
        rendered = yaml.safe_dump(self.value).splitlines()[0] if self.value is not None else "null"
        names = ", ".join(self.variables) or "the variable"
        first = self.variables[0] if self.variables else "var"
        return (f"Flux substitutes {self.expression} after the kustomize build, which drops the quotes of the Git "
                f"file, so the field becomes the {self.type_name} {rendered}, not a string; quoting it in Git "
                f"does not help. Keep it a string by setting {names} to a quoted value, "
                f"e.g. postBuild.substitute.{first}: '\"{rendered}\"'")

    def to_dict(self) -> Dict[str, Any]:
        return {"path": self.text_path, "expression": self.expression, "variables": list(self.variables),
                "value": self.value, "type": self.type_name, "message": self.advice()}


def find_type_changes(before: Any, after: Any, variables: Dict[str, str], path: Tuple[str, ...] = (),
                      obj: Optional[Object] = None) -> List[TypeChange]:
    """Return the string fields with ``${...}`` in ``before`` that are no longer strings in ``after``."""
    obj = obj if obj is not None else before
    found: List[TypeChange] = []
    if isinstance(before, dict) and isinstance(after, dict):
        for key, value in before.items():
            if key in after:
                found.extend(find_type_changes(value, after[key], variables, path + (str(key),), obj))
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for index, (old, new) in enumerate(zip(before, after)):
            found.extend(find_type_changes(old, new, variables, path + (str(index),), obj))
    elif isinstance(before, str) and "${" in before and not isinstance(after, (str, dict, list)):
        names = tuple(dict.fromkeys(m.group(1) for m in re.finditer(r"\$\{([_a-zA-Z][_a-zA-Z0-9]*)", before)))
        meta = obj.get("metadata") or {}
        found.append(TypeChange(str(obj.get("kind", "")), str(meta.get("namespace", "") or ""),
                                str(meta.get("name", "")), path, before, names, after))
    return found


def resolve_variables(kustomization: Object, config_maps: Dict[str, Optional[Object]],
                      secrets: Dict[str, Optional[Object]]) -> Dict[str, str]:
    """Merge ``substituteFrom`` ConfigMaps and Secrets (in order) and then ``substitute``.

    ``config_maps`` and ``secrets`` map names to the fetched object, or None when
    it does not exist. A missing reference is an error unless ``optional``.
    Newlines are removed from every value, as Flux does.
    """
    import base64

    meta = kustomization.get("metadata") or {}
    post_build = (kustomization.get("spec") or {}).get("postBuild") or {}
    variables: Dict[str, str] = {}
    for ref in post_build.get("substituteFrom") or []:
        kind, name = ref.get("kind"), ref.get("name")
        source = (config_maps if kind == "ConfigMap" else secrets).get(name)
        if source is None:
            if ref.get("optional"):
                continue
            raise InputError(f"substituteFrom {kind}/{name} of Kustomization {meta.get('namespace')}/{meta.get('name')} not found",
                             hint="Flux fails the same build; create it or mark the reference optional.")
        for key, value in (source.get("data") or {}).items():
            if kind == "Secret":
                value = base64.b64decode(value).decode("utf-8", errors="replace")
            variables[key] = str(value).replace("\n", "")
        if kind == "Secret":
            for key, value in (source.get("stringData") or {}).items():
                variables[key] = str(value).replace("\n", "")
    for key, value in (post_build.get("substitute") or {}).items():
        variables[str(key)] = str(value).replace("\n", "")
    return variables


def stamp_metadata(obj: Object, kustomization: Object) -> None:
    """Add the owner labels and ``spec.commonMetadata`` that Flux sets on every applied object."""
    meta = kustomization.get("metadata") or {}
    common = (kustomization.get("spec") or {}).get("commonMetadata") or {}
    target = obj.setdefault("metadata", {})
    labels = target.setdefault("labels", {}) or {}
    target["labels"] = labels
    labels.update(common.get("labels") or {})
    labels[fx.NAME_LABEL] = meta.get("name", "")
    labels[fx.NAMESPACE_LABEL] = meta.get("namespace", "")
    if common.get("annotations"):
        annotations = target.setdefault("annotations", {}) or {}
        target["annotations"] = annotations
        annotations.update(common["annotations"])
