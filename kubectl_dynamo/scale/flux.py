"""The Flux consequences of a live replica change (pure).

kustomize-controller applies Git with server-side apply and force, so at each
reconcile it sets every field that Git contains back to the Git value, including
``spec.services.<S>.replicas``, whichever client changed it (kubectl, the
scaling adapter, the planner). Nothing is reverted while the Kustomization is suspended
or when the graph opts out with ``kustomize.toolkit.fluxcd.io/reconcile: disabled``
or ``kustomize.toolkit.fluxcd.io/ssa: Ignore|IfNotPresent``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Dict, List, Optional, Sequence

from kubectl_dynamo.flux.sync import FluxSync

Object = Dict[str, Any]

FLUX_MANAGER = "kustomize-controller"


@dataclass
class FluxNotice:
    warnings: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)


def git_sets_replicas(dgd: Object, service: str) -> Optional[bool]:
    """Return whether Flux's apply owns ``spec.services.<service>.replicas``, from managedFields.

    None when the graph has no Apply entry of kustomize-controller, so
    ownership is unknown (managedFields stripped, or Flux never applied it).
    """
    entries = [
        entry for entry in (dgd.get("metadata") or {}).get("managedFields") or []
        if entry.get("manager") == FLUX_MANAGER and entry.get("operation") == "Apply" and not entry.get("subresource")
    ]
    if not entries:
        return None
    for entry in entries:
        fields = entry.get("fieldsV1") or {}
        node = fields
        for key in ("f:spec", "f:services", f"f:{service}", "f:replicas"):
            if not isinstance(node, dict) or key not in node:
                node = None
                break
            node = node[key]
        if node is not None:
            return True
    return False


def describe_when(sync: FluxSync, now: datetime) -> str:
    """Return when the next reconcile is due, e.g. "in about 4m (at 21:10:00Z; interval 10m, last reconcile 21:00:00Z)"."""
    details = []
    if sync.interval_seconds is not None:
        details.append(f"interval {_duration(sync.interval_seconds)}")
    if sync.last_reconcile is not None:
        details.append(f"last reconcile {_clock(sync.last_reconcile)}")
    suffix = f" ({'; '.join(details)})" if details else ""
    if sync.next_reconcile is None:
        return f"at its next reconcile{suffix}"
    remaining = (sync.next_reconcile - now).total_seconds()
    if remaining <= 0:
        return f"at any moment: the next reconcile was due at {_clock(sync.next_reconcile)}{suffix}"
    return f"in about {_duration(_round_to_minutes(remaining))}, at {_clock(sync.next_reconcile)}{suffix}"


def flux_notice(sync: FluxSync, dgd: Object, services: Sequence[str], now: datetime, gitops_hint: str) -> FluxNotice:
    """Return the warnings to print before a live write of ``services``' replicas on a Flux-managed graph."""
    notice = FluxNotice()
    if not sync.managed or not services:
        return notice
    kustomization = f"Kustomization {sync.kustomization}"
    if sync.opted_out:
        notice.notes.append(f"Flux does not apply this graph ({sync.detail}), so it keeps the new count")
        return notice
    if sync.suspended:
        # NOTE: FluxSync does not tell a suspended source from a suspended Kustomization. With only the
        # source suspended, Flux still re-applies the last artifact at each interval.
        notice.warnings.append(
            f"{sync.detail}. Flux keeps the new count only until it is resumed, then sets it back to the Git value."
        )
        notice.notes.append(gitops_hint)
        return notice

    pinned = [s for s in services if git_sets_replicas(dgd, s) is not False]
    if not pinned:
        notice.notes.append(
            f"{kustomization} applies this graph, but Git does not set the replicas of {', '.join(services)}, "
            f"so Flux leaves the new count alone"
        )
        return notice
    known = all(git_sets_replicas(dgd, s) for s in pinned)
    fields = " and ".join(f"spec.services.{s}.replicas" for s in pinned)
    graph = (dgd.get("metadata") or {}).get("name", "")
    if known:
        notice.warnings.append(
            f"graph {graph} is applied by Flux {kustomization}, and Git sets {fields}. Flux will set the "
            f"count back to the Git value {describe_when(sync, now)}."
        )
    else:
        notice.warnings.append(
            f"graph {graph} is applied by Flux {kustomization}. If Git sets {fields}, Flux will set the "
            f"count back to the Git value {describe_when(sync, now)}."
        )
    notice.notes.append(gitops_hint)
    return notice


def _round_to_minutes(seconds: float) -> float:
    """Return ``seconds`` rounded to whole minutes from 90 s up, for an estimate such as "about 7m"."""
    return seconds if seconds < 90 else round(seconds / 60) * 60


def _clock(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _duration(seconds: float) -> str:
    """Return a Go-like short duration: 45s, 4m, 4m30s, 1h5m."""
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    text = ""
    if hours:
        text += f"{hours}h"
    if minutes:
        text += f"{minutes}m"
    if secs or not text:
        text += f"{secs}s"
    return text
