"""The sync verdict, computed from plain dicts without a server."""

from datetime import datetime, timedelta, timezone

import pytest

from kubectl_dynamo.flux import sync
from kubectl_dynamo.api.times import parse_time
from kubectl_dynamo.flux.objects import format_duration, parse_duration, parse_inventory_id
from kubectl_dynamo.flux.revision import parse_revision, same_revision, short_revision
from kubectl_dynamo.flux.sync import evaluate_sync
from tests.flux.factories import REV_A, REV_B, SHA_A, SHA_B, cond, dgd, git_repository, inventory_id, kustomization

NOW = datetime(2026, 12, 4, 20, 7, tzinfo=timezone.utc)


def test_synced_reports_revisions_and_times():
    graph = dgd()
    state = evaluate_sync(graph, kustomization(inventory=[inventory_id(graph)]), git_repository(), NOW)
    assert state.verdict == sync.SYNCED
    assert state.kustomization == "flux-system/apps"
    assert state.source == "GitRepository/flux-system/flux-repo"
    assert state.source_revision == REV_A
    assert state.applied_revision == REV_A
    assert state.attempted_revision == REV_A
    assert state.ready_reason == "ReconciliationSucceeded"
    assert state.last_reconcile == datetime(2026, 12, 4, 20, 0, tzinfo=timezone.utc)
    assert state.interval_seconds == 600
    assert state.next_reconcile == datetime(2026, 12, 4, 20, 10, tzinfo=timezone.utc)
    assert state.prune is True
    assert state.revision_summary() == "main@aaaaaaa"


def test_new_source_revision_is_pending():
    state = evaluate_sync(dgd(), kustomization(), git_repository(revision=REV_B), NOW)
    assert state.verdict == sync.PENDING
    assert "bbbbbbb" in state.detail
    assert state.revision_summary() == "main@aaaaaaa -> main@bbbbbbb"


def test_new_revision_being_applied_is_pending():
    reconciling = cond("Reconciling", "True", "Progressing", "Building manifests for revision " + REV_B)
    ks = kustomization(attempted=REV_B, ready=cond("Ready", "Unknown", "Progressing", "Reconciliation in progress"),
                       extra_conditions=[reconciling])
    assert evaluate_sync(dgd(), ks, git_repository(revision=REV_B), NOW).verdict == sync.PENDING


def test_failed_apply_is_failing_with_message():
    ready = cond("Ready", "False", "ReconciliationFailed", "DynamoGraphDeployment/dynamo/llm dry-run failed: invalid")
    ks = kustomization(attempted=REV_B, ready=ready)
    state = evaluate_sync(dgd(), ks, git_repository(revision=REV_B), NOW)
    assert state.verdict == sync.FAILING
    assert state.ready_reason == "ReconciliationFailed"
    assert "dry-run failed" in state.ready_message
    assert state.attempted_revision == REV_B


def test_failing_uses_retry_interval():
    ready = cond("Ready", "False", "BuildFailed", "kustomize build failed")
    ks = kustomization(ready=ready, spec={"retryInterval": "2m"})
    state = evaluate_sync(dgd(), ks, git_repository(), NOW)
    assert state.verdict == sync.FAILING
    assert state.next_reconcile == datetime(2026, 12, 4, 20, 2, tzinfo=timezone.utc)


def test_attempted_differs_without_ready_false_is_failing():
    retry = cond("Reconciling", "True", "ProgressingWithRetry", "retrying")
    ks = kustomization(attempted=REV_B, ready=cond("Ready", "Unknown", "Progressing", ""), extra_conditions=[retry])
    assert evaluate_sync(dgd(), ks, git_repository(revision=REV_B), NOW).verdict == sync.FAILING


def test_stalled_kustomization_is_failing():
    stalled = cond("Stalled", "True", "InvalidCELExpression", "bad expression")
    state = evaluate_sync(dgd(), kustomization(extra_conditions=[stalled]), git_repository(), NOW)
    assert state.verdict == sync.FAILING
    assert "InvalidCELExpression" in state.detail


@pytest.mark.parametrize("which", ["kustomization", "source"])
def test_suspended_either_object(which):
    ks = kustomization(suspend=which == "kustomization")
    src = git_repository(suspend=which == "source", revision=REV_B)
    state = evaluate_sync(dgd(), ks, src, NOW)
    assert state.verdict == sync.SUSPENDED
    assert state.suspended is True


def test_suspended_kustomization_has_no_next_reconcile():
    state = evaluate_sync(dgd(), kustomization(suspend=True), git_repository(), NOW)
    assert state.next_reconcile is None


@pytest.mark.parametrize(
    "labels, annotations, expected_disabled, expected_ssa",
    [
        ({}, {"kustomize.toolkit.fluxcd.io/reconcile": "Disabled"}, True, ""),
        ({"kustomize.toolkit.fluxcd.io/reconcile": "disabled"}, {}, True, ""),
        ({}, {"kustomize.toolkit.fluxcd.io/ssa": "ignore"}, False, "Ignore"),
        ({}, {"kustomize.toolkit.fluxcd.io/ssa": "IfNotPresent"}, False, "IfNotPresent"),
    ],
)
def test_object_opt_outs_suspend(labels, annotations, expected_disabled, expected_ssa):
    state = evaluate_sync(dgd(labels=labels, annotations=annotations), kustomization(), git_repository(), NOW)
    assert state.verdict == sync.SUSPENDED
    assert state.suspended is False
    assert state.reconcile_disabled is expected_disabled
    assert state.ssa_policy == expected_ssa
    assert state.opted_out


def test_ssa_merge_is_reported_but_synced():
    state = evaluate_sync(dgd(annotations={"kustomize.toolkit.fluxcd.io/ssa": "merge"}), kustomization(), git_repository(), NOW)
    assert state.verdict == sync.SYNCED
    assert state.ssa_policy == "Merge"


def test_source_fetch_failed_is_source_not_ready():
    failed = cond("FetchFailed", "True", "GitOperationFailed", "failed to checkout: auth required")
    src = git_repository(ready=cond("Ready", "False", "GitOperationFailed", "failed to checkout"), extra_conditions=[failed])
    state = evaluate_sync(dgd(), kustomization(), src, NOW)
    assert state.verdict == sync.SOURCE_NOT_READY
    assert "auth required" in state.detail
    assert state.source_ready_message == "failed to checkout"


def test_missing_source_is_source_not_ready():
    state = evaluate_sync(dgd(), kustomization(), None, NOW)
    assert state.verdict == sync.SOURCE_NOT_READY
    assert state.detail == "GitRepository/flux-system/flux-repo not found"


def test_source_without_artifact_is_source_not_ready():
    src = git_repository(revision=None, ready=cond("Ready", "Unknown", "Progressing", "building"))
    assert evaluate_sync(dgd(), kustomization(), src, NOW).verdict == sync.SOURCE_NOT_READY


def test_unread_source_kind_does_not_block():
    ks = kustomization(source_kind="ExternalArtifact")
    state = evaluate_sync(dgd(), ks, None, NOW)
    assert state.verdict == sync.SYNCED
    assert state.source == "ExternalArtifact/flux-system/flux-repo"


def test_never_applied_is_pending():
    ks = kustomization(applied="", attempted="", ready=cond("Ready", "Unknown", "Progressing", ""), last_reconciled="")
    state = evaluate_sync(dgd(), ks, git_repository(), NOW)
    assert state.verdict == sync.PENDING
    assert state.last_reconcile is not None  # falls back to the Ready transition time


def test_dependency_not_ready_is_pending():
    ready = cond("Ready", "False", "DependencyNotReady", "dependency 'flux-system/infra' is not ready")
    assert evaluate_sync(dgd(), kustomization(ready=ready), git_repository(), NOW).verdict == sync.PENDING


def test_stale_generation_is_pending():
    state = evaluate_sync(dgd(), kustomization(generation=3, observed=2), git_repository(), NOW)
    assert state.verdict == sync.PENDING
    assert "generation 3" in state.detail


def test_unlabelled_graph_not_managed():
    state = evaluate_sync(dgd(ks=None), None, None, NOW)
    assert state.verdict == sync.NOT_MANAGED
    assert state.kustomization == ""
    assert not state.managed


def test_labelled_graph_with_missing_kustomization():
    state = evaluate_sync(dgd(ks=("flux-system", "gone")), None, None, NOW)
    assert state.verdict == sync.NOT_MANAGED
    assert state.kustomization == "flux-system/gone"
    assert "does not exist" in state.detail


def test_labelled_graph_missing_from_inventory():
    other = dgd(name="other")
    state = evaluate_sync(dgd(), kustomization(inventory=[inventory_id(other)]), git_repository(), NOW)
    assert state.verdict == sync.NOT_MANAGED
    assert "not in its inventory" in state.detail


def test_owner_found_through_inventory():
    graph = dgd(ks=None)
    owned = kustomization(name="by-inventory", inventory=[inventory_id(graph)])
    unrelated = kustomization(name="unrelated", inventory=[])
    assert sync.owning_kustomization(graph, [unrelated, owned]) is owned


def test_to_dict_is_json_ready():
    state = evaluate_sync(dgd(), kustomization(), git_repository(), NOW)
    data = state.to_dict()
    assert data["verdict"] == "Synced"
    assert data["lastReconcile"] == "2026-12-04T20:00:00Z"
    assert data["nextReconcile"] == "2026-12-04T20:10:00Z"
    assert data["intervalSeconds"] == 600
    assert data["sourceRevision"] == REV_A


def test_legacy_revision_equals_current_form():
    ks = kustomization(applied=f"main/{SHA_A}")
    assert evaluate_sync(dgd(), ks, git_repository(), NOW).verdict == sync.SYNCED


@pytest.mark.parametrize(
    "text, ref, algorithm, hash_",
    [
        (f"main@sha1:{SHA_A}", "main", "sha1", SHA_A),
        (f"feature/x@sha1:{SHA_B}", "feature/x", "sha1", SHA_B),
        (f"refs/heads/main@sha1:{SHA_A}", "refs/heads/main", "sha1", SHA_A),
        (f"sha1:{SHA_A}", "", "sha1", SHA_A),
        (f"main/{SHA_A}", "main", "sha1", SHA_A),
        (f"feature/x/{SHA_B}", "feature/x", "sha1", SHA_B),
        ("latest@sha256:" + "c" * 64, "latest", "sha256", "c" * 64),
        ("not a revision", "", "", ""),
    ],
)
def test_parse_revision(text, ref, algorithm, hash_):
    revision = parse_revision(text)
    assert (revision.ref, revision.algorithm, revision.hash) == (ref, algorithm, hash_)


def test_revision_helpers():
    assert same_revision(f"main/{SHA_A}", f"main@sha1:{SHA_A}")
    assert not same_revision(REV_A, REV_B)
    assert short_revision(f"sha1:{SHA_A}") == "aaaaaaa"
    assert parse_revision(REV_A).commit == SHA_A


@pytest.mark.parametrize("text, seconds", [("10m", 600), ("1h30m", 5400), ("90s", 90), ("1.5h", 5400), ("500ms", 0.5), ("10m0s", 600), ("0", 0)])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "10", "m", "10x", "1h 2m", None])
def test_parse_duration_rejects(text):
    assert parse_duration(text) is None


def test_parse_inventory_id():
    entry = parse_inventory_id("dynamo_llm-agg_nvidia.com_DynamoGraphDeployment", "v1alpha1")
    assert (entry.namespace, entry.name, entry.group, entry.kind, entry.api_version) == (
        "dynamo", "llm-agg", "nvidia.com", "DynamoGraphDeployment", "nvidia.com/v1alpha1")
    core = parse_inventory_id("dynamo_frontend__Service", "v1")
    assert (core.name, core.group, core.kind, core.api_version) == ("frontend", "", "Service", "v1")
    cluster_scoped = parse_inventory_id("_dynamo__Namespace", "v1")
    assert (cluster_scoped.namespace, cluster_scoped.name) == ("", "dynamo")
    rbac = parse_inventory_id("_system__controller_rbac.authorization.k8s.io_ClusterRole", "v1")
    assert rbac.name == "system:controller"
    assert parse_inventory_id("garbage") is None


def test_parse_time_forms():
    assert parse_time("2026-12-04T20:00:00Z") == datetime(2026, 12, 4, 20, tzinfo=timezone.utc)
    assert parse_time("2026-12-04T20:00:00.123456789Z") == datetime(2026, 12, 4, 20, 0, 0, 123456, tzinfo=timezone.utc)
    assert parse_time("2026-12-04T21:00:00+01:00") - parse_time("2026-12-04T20:00:00Z") == timedelta(0)
    assert parse_time("yesterday") is None


@pytest.mark.parametrize("seconds, text", [(0, "0s"), (89, "89s"), (90, "2m"), (721, "12m"), (3600, "1h"), (3900, "1h5m"),
                                           (9 * 3600 + 120, "9h"), (86400 * 2 + 3600, "2d1h"), (-180, "3m")])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def test_oci_repository_source():
    oci = git_repository(revision="latest@sha256:" + "c" * 64)
    oci["apiVersion"], oci["kind"] = "source.toolkit.fluxcd.io/v1beta2", "OCIRepository"
    ks = kustomization(source_kind="OCIRepository", applied="latest@sha256:" + "c" * 64)
    state = evaluate_sync(dgd(), ks, oci, NOW)
    assert state.verdict == sync.SYNCED
    assert state.source == "OCIRepository/flux-system/flux-repo"
    assert state.revision_summary() == "latest@ccccccc"


def test_missing_bucket_is_source_not_ready():
    state = evaluate_sync(dgd(), kustomization(source_kind="Bucket"), None, NOW)
    assert state.verdict == sync.SOURCE_NOT_READY
    assert state.source == "Bucket/flux-system/flux-repo"
