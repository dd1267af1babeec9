"""Hand-made live objects for the status tests, read from tests/status/data/*.yaml.

A scenario is a base file plus overlays: an overlay object replaces the base
object of the same kind, namespace and name, and adds the others.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List, Tuple

import yaml

from kubectl_dynamo.status.build import GraphSnapshot

DATA = Path(__file__).resolve().parent / "data"
# The clock of every golden file: ages are measured from here.
NOW = datetime(2026, 1, 10, 12, 0, 0, tzinfo=timezone.utc)


def _key(obj: dict) -> Tuple[str, str, str]:
    meta = obj.get("metadata") or {}
    return obj["kind"], meta.get("namespace", ""), meta["name"]


def load(*names: str) -> List[dict]:
    """Return the objects of the named files merged in order (later files win)."""
    merged: Dict[Tuple[str, str, str], dict] = {}
    for name in names:
        for doc in yaml.safe_load_all((DATA / f"{name}.yaml").read_text()):
            if doc:
                merged[_key(doc)] = doc
    return list(merged.values())


def as_yaml(objects: List[dict]) -> str:
    return yaml.safe_dump_all(objects, sort_keys=False)


def snapshot(objects: List[dict], name: str, *, events: bool = True) -> GraphSnapshot:
    """Group the objects of one graph the way the label selectors of `status` would."""
    graph_label = "nvidia.com/dynamo-graph-deployment-name"
    fields = {
        "DynamoComponentDeployment": "dcds",
        "Deployment": "deployments",
        "LeaderWorkerSet": "leader_worker_sets",
        "PodClique": "podcliques",
        "Pod": "pods",
    }
    dgd = next(o for o in objects if o["kind"] == "DynamoGraphDeployment" and o["metadata"]["name"] == name)
    snap = GraphSnapshot(dgd=dgd, events=[] if events else None)
    for obj in objects:
        labels = obj["metadata"].get("labels") or {}
        if obj["kind"] in fields and labels.get(graph_label) == name:
            getattr(snap, fields[obj["kind"]]).append(obj)
        elif obj["kind"] == "PodCliqueScalingGroup" and labels.get("app.kubernetes.io/part-of") == name:
            snap.scaling_groups.append(obj)
        elif obj["kind"] == "PodCliqueSet" and obj["metadata"]["name"] == name:
            snap.podcliqueset = obj
        elif obj["kind"] == "Event" and events:
            snap.events.append(obj)
    return snap
