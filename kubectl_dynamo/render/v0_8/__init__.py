"""Operator profile 0.8: the Dynamo 0.8.0 operator (``nvidia.com/v1alpha1``).

``render`` runs both operator stages on one DGD, as the operator would on a cluster
with the given ``OperatorSettings``:

1. DGD stage (``graph``): DCDs, or one Grove PodCliqueSet in Grove mode (``grove``),
   plus PVCs, scaling adapters and discovery RBAC; in Grove mode also the Services,
   Ingresses and model Services (``services``).
2. DCD stage, once per DCD: the workload (``workloads``: Deployment, or
   LeaderWorkerSets with Volcano PodGroups) and the Services, Ingress or
   VirtualService and model Services (``services``).

Every object the operator creates through its generic sync gets the
``nvidia.com/last-applied-hash`` and ``-generation`` annotations here (``hashing``).
"""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Optional

from kubectl_dynamo.errors import ValidationError
from kubectl_dynamo.render.api import RenderOptions, RenderResult
from kubectl_dynamo.render.v0_8 import graph, hashing, naming, services
from kubectl_dynamo.render.v0_8.settings import OperatorSettings
from kubectl_dynamo.render.v0_8.validation import apply_dcd_defaults, validate

Object = Dict[str, Any]

SUPPORTED_API_VERSION = naming.API_VERSION


def sort_key(obj: Object):
    metadata = obj.get("metadata") or {}
    return (obj.get("kind", ""), metadata.get("name", ""), metadata.get("namespace", ""))


def prepare(dgd: Object, options: RenderOptions) -> Object:
    """Return a copy of the DGD with the namespace filled in, as the API server would store it."""
    dgd = copy.deepcopy(dgd)
    metadata = dgd.setdefault("metadata", {})
    if not metadata.get("namespace"):
        metadata["namespace"] = options.namespace or "default"
    return dgd


def render(dgd: Object, options: RenderOptions) -> RenderResult:
    """Render one DGD; raises ``ValidationError`` listing every problem found."""
    settings = options.settings if options.settings is not None else OperatorSettings()
    dgd = prepare(dgd, options)
    use_grove = settings.grove_enabled and naming.grove_enabled_for(dgd)
    warnings = validate(dgd, settings, grove=use_grove)  # also applies CRD defaults in place

    objects: List[Object] = []
    objects += graph.render_planner_rbac(dgd, settings)
    objects += graph.render_pvcs(dgd)
    objects += [hashing.annotate(o) for o in graph.render_scaling_adapters(dgd)]
    objects += [hashing.annotate(o) for o in graph.render_discovery_rbac(dgd, settings)]

    if use_grove:
        from kubectl_dynamo.render.v0_8 import grove

        objects.append(hashing.annotate(grove.render_pod_clique_set(dgd, settings)))
        objects += [hashing.annotate(o) for o in services.render_grove_services(dgd, settings)]
    else:
        _check_multinode_orchestrator(dgd, settings, options.no_orchestrator_advice)
        dcds = [stored_dcd(hashing.annotate(dcd)) for dcd in graph.render_dcds(dgd, settings)]
        objects += dcds
        if options.stage != "dcd":
            objects += render_dcd_children(dcds, settings)

    from kubectl_dynamo.render.v0_8.backends import graph_launch_warnings
    from kubectl_dynamo.render.v0_8.podspec import rendered_pod_warnings

    # Pods that the operator renders but the API server or the engine would reject.
    warnings += graph_launch_warnings(dgd)
    warnings += rendered_pod_warnings(objects)

    objects.sort(key=sort_key)
    return RenderResult(objects=objects, warnings=warnings)


def stored_dcd(dcd: Object) -> Object:
    """Turn a DCD as the operator builds it into the object the API server stores.

    The operator sends its typed Go object, so a main container carries ``name: ""``
    and ``resources: {}``, and quantities are canonical. The API server drops nulls and
    fills in CRD defaults such as ``useAsCompilationCache: false``. The DCD controller
    reads this stored form, and ``kubectl get`` and ``diff`` see it.
    """
    dcd["spec"] = hashing.typed_spec(dcd)
    return apply_dcd_defaults(dcd)


def render_dcd_children(dcds: List[Object], settings: OperatorSettings) -> List[Object]:
    """Render the second operator stage for each DCD; a model Service shared by several DCDs appears once."""
    from kubectl_dynamo.render.v0_8 import workloads

    children: List[Object] = []
    model_services: Dict[str, Object] = {}
    for dcd in dcds:
        children += workloads.render_workloads(dcd, settings)
        children += services.render_dcd_services(dcd, settings)
        children += services.render_dcd_ingress(dcd, settings)
        model = ((dcd.get("spec") or {}).get("modelRef") or {}).get("name")
        if model and naming.model_service_name(model) not in model_services:
            model_services[naming.model_service_name(model)] = services.model_service(
                model, dcd["metadata"]["namespace"], services.dcd_owner(dcd))
    children += model_services.values()
    return [hashing.annotate(child) for child in children]


def _check_multinode_orchestrator(dgd: Object, settings: OperatorSettings, advice: Optional[str]) -> None:
    """Without Grove, multinode services need LeaderWorkerSet and Volcano (reconcileResources)."""
    if settings.lws_enabled:
        return
    advice = advice or "and the operator settings enable neither, so the operator fails the graph with \"no multinode orchestrator available\""
    problems = []
    for service_name, service in ((dgd.get("spec") or {}).get("services") or {}).items():
        nodes = naming.number_of_nodes(service or {})
        if nodes > 1:
            problems.append(
                f"spec.services.{service_name}.multinode.nodeCount: {nodes} nodes need Grove, or LeaderWorkerSet "
                f"with Volcano, {advice}"
            )
    if problems:
        raise ValidationError(problems)
