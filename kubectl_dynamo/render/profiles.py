"""The operator releases whose rendering the plugin reproduces.

A profile is a module with a ``render`` entry point. A later operator is added as a
new module and a new row here, without editing an existing profile.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict


@dataclass(frozen=True)
class Profile:
    name: str  # what --operator-version takes
    module: str
    api_version: str  # the DGD apiVersion the profile reads
    description: str


PROFILES: Dict[str, Profile] = {
    "0.8": Profile(
        name="0.8",
        module="kubectl_dynamo.render.v0_8",
        api_version="nvidia.com/v1alpha1",
        description="Dynamo 0.8.0 operator (deploy/cloud/operator, commit 7436e3bc0)",
    ),
}

DEFAULT_PROFILE = "0.8"
