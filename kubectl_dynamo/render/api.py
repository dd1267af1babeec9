"""The public entry point of rendering, shared by every operator profile.

``render_graph`` is what `render`, `diff` and `drift` call; it picks the profile
module and returns the objects in a stable order (by kind, then name).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from kubectl_dynamo.errors import UsageError
from kubectl_dynamo.render.profiles import DEFAULT_PROFILE, PROFILES

Object = Dict[str, Any]


@dataclass
class RenderOptions:
    """Inputs of rendering besides the DGD itself.

    ``settings`` is the profile's operator settings object (for 0.8,
    ``kubectl_dynamo.render.v0_8.settings.OperatorSettings``); None means the
    profile's defaults.
    """

    profile: str = DEFAULT_PROFILE
    namespace: str = "default"  # used when the DGD has no metadata.namespace
    settings: Optional[Any] = None
    # "all" renders both operator stages; "dcd" stops after the first (DGD -> DCDs).
    stage: str = "all"
    # The end of the sentence that rejects a multinode service with neither Grove nor LWS
    # enabled, after "N nodes need Grove, or LeaderWorkerSet with Volcano,". Each command
    # fills in what the user can do; None gives the operator's error.
    no_orchestrator_advice: Optional[str] = None


@dataclass
class RenderResult:
    objects: List[Object] = field(default_factory=list)
    # Deprecated or ignored fields and other notes for stderr, one line each.
    warnings: List[str] = field(default_factory=list)


def load_profile(name: str):
    """Import and return the module of an operator profile."""
    profile = PROFILES.get(name)
    if profile is None:
        known = ", ".join(sorted(PROFILES))
        raise UsageError(f"unknown operator version {name!r}; supported: {known}")
    return importlib.import_module(profile.module)


def render_graph(dgd: Object, options: Optional[RenderOptions] = None) -> RenderResult:
    """Render one DGD (a dict as read from YAML) into the objects the operator creates.

    Raises ``ValidationError`` listing every problem found in the DGD.
    """
    options = options or RenderOptions()
    return load_profile(options.profile).render(dgd, options)
