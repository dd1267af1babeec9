"""The Flux warnings of scale, computed from a FluxSync and the graph's managedFields."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from kubectl_dynamo.flux.sync import NOT_MANAGED, SUSPENDED, SYNCED, FluxSync
from kubectl_dynamo.scale.flux import describe_when, flux_notice, git_sets_replicas

NOW = datetime(2026, 12, 4, 21, 0, 0, tzinfo=timezone.utc)


def dgd(managed_replicas=True, with_entry=True):
    fields = {"f:spec": {"f:services": {"f:Worker": {"f:componentType": {}}}}}
    if managed_replicas:
        fields["f:spec"]["f:services"]["f:Worker"]["f:replicas"] = {}
    entries = [{"manager": "kustomize-controller", "operation": "Apply", "fieldsV1": fields}] if with_entry else []
    return {"metadata": {"name": "demo", "managedFields": entries}}


def synced(**extra):
    values = dict(
        kustomization="flux-system/apps", last_reconcile=NOW - timedelta(minutes=3),
        interval_seconds=600.0, next_reconcile=NOW + timedelta(minutes=7),
    )
    values.update(extra)
    return FluxSync(SYNCED, **values)


def test_git_sets_replicas_from_managed_fields():
    assert git_sets_replicas(dgd(True), "Worker") is True
    assert git_sets_replicas(dgd(False), "Worker") is False
    assert git_sets_replicas(dgd(with_entry=False), "Worker") is None


def test_warning_names_kustomization_and_time():
    notice = flux_notice(synced(), dgd(), ["Worker"], NOW, "HINT")
    [warning] = notice.warnings
    assert "Kustomization flux-system/apps" in warning
    assert "Git sets spec.services.Worker.replicas." in warning
    assert "in about 7m, at 2026-12-04T21:07:00Z" in warning
    assert "interval 10m" in warning
    assert "last reconcile 2026-12-04T20:57:00Z" in warning
    assert notice.notes == ["HINT"]


def test_unknown_ownership_is_conditional():
    notice = flux_notice(synced(), dgd(with_entry=False), ["Worker"], NOW, "HINT")
    assert "If Git sets spec.services.Worker.replicas, Flux will set" in notice.warnings[0]


def test_replicas_not_in_git_no_warning():
    notice = flux_notice(synced(), dgd(False), ["Worker"], NOW, "HINT")
    assert notice.warnings == []
    assert "Git does not set the replicas" in notice.notes[0]


def test_suspended_kustomization_no_revert_warning():
    sync = FluxSync(SUSPENDED, kustomization="flux-system/apps", suspended=True, detail="Kustomization flux-system/apps is suspended")
    notice = flux_notice(sync, dgd(), ["Worker"], NOW, "HINT")
    assert "only until it is resumed" in notice.warnings[0]
    assert "will set the count back" not in notice.warnings[0]


def test_opted_out_graph_only_note():
    sync = FluxSync(SUSPENDED, kustomization="flux-system/apps", reconcile_disabled=True, detail="opts out")
    notice = flux_notice(sync, dgd(), ["Worker"], NOW, "HINT")
    assert notice.warnings == []
    assert "keeps the new count" in notice.notes[0]


def test_not_managed_silent():
    notice = flux_notice(FluxSync(NOT_MANAGED), dgd(), ["Worker"], NOW, "HINT")
    assert notice.warnings == []
    assert notice.notes == []


def test_overdue_reconcile():
    text = describe_when(synced(next_reconcile=NOW - timedelta(seconds=5)), NOW)
    assert text.startswith("at any moment")
