"""Render every DGD found in files, directories and stdin: the core of `kubectl dynamo render`.

Reads the documents, passes over those that are not DGDs (with a note), renders
each DGD with ``render_graph``, and reports the problems of all documents
together, each prefixed with the file and document it came from.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Sequence

from kubectl_dynamo.api.kinds import (
    DCD,
    DEPLOYMENT,
    DGD,
    DGDSA,
    GROVE_POD_CLIQUE_SET,
    INGRESS,
    LEADER_WORKER_SET,
    PVC,
    ROLE,
    ROLE_BINDING,
    SERVICE,
    SERVICE_ACCOUNT,
    VIRTUAL_SERVICE,
    VOLCANO_POD_GROUP,
)
from kubectl_dynamo.api.load import display_path, load_documents, parse_documents, read_text
from kubectl_dynamo.api.namespaces import check_namespace_flag, document_namespace
from kubectl_dynamo.errors import InputError, UsageError, ValidationError
from kubectl_dynamo.render.api import RenderOptions, render_graph

Object = Dict[str, Any]

DGD_KIND = DGD.kind

# Kinds the renderer can produce. --kind accepts each one's kind, plural or short name.
RENDERED_KINDS = (
    DCD, DEPLOYMENT, DGDSA, GROVE_POD_CLIQUE_SET, INGRESS, LEADER_WORKER_SET, PVC, ROLE, ROLE_BINDING,
    SERVICE, SERVICE_ACCOUNT, VIRTUAL_SERVICE, VOLCANO_POD_GROUP,
)
KIND_ALIASES: Dict[str, Sequence[str]] = {
    kind.kind: (kind.kind.lower(), kind.plural, *kind.short_names) for kind in RENDERED_KINDS
}


@dataclass
class RenderedFiles:
    objects: List[Object] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)  # deprecated or ignored fields
    notes: List[str] = field(default_factory=list)  # documents passed over


def object_name(obj: Object) -> str:
    """Name an object as `kubectl get -o name` does: ``deployment.apps/x``, ``service/y``."""
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    kind = str(obj.get("kind", "")).lower()
    return f"{kind}.{group}/{obj['metadata']['name']}" if group else f"{kind}/{obj['metadata']['name']}"


def resolve_kinds(names: Iterable[str]) -> Optional[set]:
    """Turn --kind values (kind, plural or short name, any case, comma-separated) into kinds."""
    selected = set()
    for value in names:
        for name in filter(None, (part.strip() for part in value.split(","))):
            lowered = name.lower().split(".")[0]
            match = [kind for kind, aliases in KIND_ALIASES.items() if lowered == kind.lower() or lowered in aliases]
            if not match:
                known = ", ".join(sorted(KIND_ALIASES))
                raise UsageError(f"--kind {name!r} is not a kind the renderer produces; choose from: {known}")
            selected.update(match)
    return selected or None


def render_files(paths: Sequence[str], options: RenderOptions, kinds: Iterable[str] = (),
                 namespace_flag: Optional[str] = None) -> RenderedFiles:
    """Render every DGD in ``paths``; raise ``ValidationError`` with the problems of all of them.

    ``namespace_flag`` is -n as given (None when absent): a graph whose file sets
    another namespace is rejected, as by kubectl.
    """
    check_namespace_flag(namespace_flag)
    selected_kinds = resolve_kinds(kinds)
    documents = load_documents(paths)
    result = RenderedFiles()
    problems: List[str] = []
    rendered_any = False
    for document in documents:
        if document.kind != DGD_KIND:
            description = f"{document.kind or 'a document without kind'} {document.name}".strip()
            result.notes.append(f"{document.origin}: skipped {description}: not a {DGD_KIND}")
            continue
        rendered_any = True
        namespace = document_namespace(document, namespace_flag, options.namespace or "default")
        graph_options = dataclasses.replace(options, namespace=namespace)
        try:
            rendered = render_graph(document.body, graph_options)
        except ValidationError as exc:
            problems += [f"{document.origin}: {problem}" for problem in exc.problems]
            continue
        result.warnings += [f"{document.origin}: {warning}" for warning in rendered.warnings]
        result.objects += [o for o in rendered.objects if selected_kinds is None or o.get("kind") in selected_kinds]
    if problems:
        raise ValidationError(problems, hint="Fix the fields named above; nothing was rendered.")
    if not rendered_any:
        result.warnings.append(f"no {DGD_KIND} found in {', '.join(display_path(path) for path in paths)}")
    elif selected_kinds and not result.objects:
        result.notes.append(f"no objects of kind {', '.join(sorted(selected_kinds))} rendered")
    return result


def load_settings(profile: str, config_path: Optional[str], *, grove: Optional[bool] = None, lws: Optional[bool] = None,
                  discovery_backend: Optional[str] = None):
    """Build the operator settings from the profile's defaults, then the Helm values file, then the flags.

    ``config_path`` is the --operator-config file; None flags leave the value as it is.
    """
    # NOTE: ``profile`` is not read yet because 0.8 is the only profile. A later profile needs its own settings module here.
    from kubectl_dynamo.render.v0_8 import settings as profile_settings

    settings = profile_settings.OperatorSettings()
    if config_path:
        documents = list(parse_documents(read_text(config_path), config_path))
        if len(documents) != 1:
            raise InputError(f"{config_path}: expected one YAML document of Helm values, found {len(documents)}")
        settings = profile_settings.settings_from_helm_values(documents[0].body)
    overrides = {}
    if grove is not None:
        overrides["grove_enabled"] = grove
    if lws is not None:
        overrides["lws_enabled"] = lws
    if discovery_backend is not None:
        overrides["discovery_backend"] = discovery_backend
    settings = dataclasses.replace(settings, **overrides)
    profile_settings.check_settings(settings)
    return settings
