"""Field drift by server-side apply ownership, and the manager that set each field."""

from datetime import datetime, timezone

import pytest

from kubectl_dynamo.flux.fields import (MISSING, ManagedFields, compare, diff_values, format_path, parse_path,
                                        path_matches, values_equal)
from kubectl_dynamo.flux.ignore import ignored_paths, selector_matches, target_matches
from tests.flux.factories import dgd, flux_entry, kustomization, managed


def live_graph(replicas=2, entries=None, **extra_spec):
    graph = dgd(replicas=replicas)
    graph["spec"]["services"]["VllmWorker"].update(extra_spec)
    graph["metadata"]["managedFields"] = entries if entries is not None else [flux_entry()]
    return graph


def test_equal_objects_have_no_drift():
    result = compare(dgd(), live_graph())
    assert result.drifts == []
    assert result.ignored == []


def test_replicas_changed_by_kubectl_patch():
    entries = [flux_entry(), managed("kubectl-patch", "Update", "2026-12-04T19:55:00Z", "spec.services.VllmWorker.replicas")]
    result = compare(dgd(replicas=2), live_graph(replicas=4, entries=entries))
    assert len(result.drifts) == 1
    item = result.drifts[0]
    assert item.text_path == "spec.services.VllmWorker.replicas"
    assert (item.git, item.live, item.kind) == (2, 4, "changed")
    assert item.owner.manager == "kubectl-patch"
    assert item.owner.time == datetime(2026, 12, 4, 19, 55, tzinfo=timezone.utc)


def test_operator_field_not_drift():
    entries = [flux_entry(), managed("dynamo-operator", "Update", "2026-12-04T19:56:00Z", "spec.services.VllmWorker.resources")]
    live = live_graph(entries=entries, resources={"limits": {"gpu": "1"}})
    result = compare(dgd(), live)
    assert result.drifts == []
    assert [(format_path(p), o.manager) for p, o in result.kept] == [("spec.services.VllmWorker.resources", "dynamo-operator")]


def test_field_added_by_kubectl_is_drift():
    entries = [flux_entry(), managed("kubectl-edit", "Update", "2026-12-04T19:57:00Z", "spec.services.VllmWorker.envs")]
    live = live_graph(entries=entries, envs=[{"name": "DEBUG", "value": "1"}])
    result = compare(dgd(), live)
    assert [(d.text_path, d.kind, d.owner.manager) for d in result.drifts] == [("spec.services.VllmWorker.envs", "extra", "kubectl-edit")]
    assert result.drifts[0].git is MISSING


def test_kubectl_field_kept_under_ssa_merge():
    entries = [flux_entry(), managed("kubectl-edit", "Update", "2026-12-04T19:57:00Z", "spec.services.VllmWorker.envs")]
    live = live_graph(entries=entries, envs=[{"name": "DEBUG", "value": "1"}])
    result = compare(dgd(), live, merge_policy=True)
    assert result.drifts == []
    assert len(result.kept) == 1


def test_kubectl_scale_subresource_entry_not_taken_over():
    entries = [flux_entry(), managed("kubectl", "Update", "2026-12-04T19:57:00Z", "spec.services.VllmWorker.envs", subresource="scale")]
    live = live_graph(entries=entries, envs=[])
    live["spec"]["services"]["VllmWorker"]["envs"] = [{"name": "A"}]
    assert compare(dgd(), live).drifts == []


def test_missing_git_field_is_drift():
    git = dgd()
    git["spec"]["services"]["VllmWorker"]["image"] = "repo/vllm:v2"
    result = compare(git, live_graph())
    assert [(d.text_path, d.kind) for d in result.drifts] == [("spec.services.VllmWorker.image", "missing")]


def test_ignored_path_reported_apart():
    entries = [flux_entry(), managed("planner", "Update", "2026-12-04T19:58:00Z", "spec.services.VllmWorker.replicas")]
    result = compare(dgd(replicas=2), live_graph(replicas=6, entries=entries),
                     ignore=[parse_path("/spec/services/VllmWorker/replicas")])
    assert result.drifts == []
    assert [(d.text_path, d.owner.manager) for d in result.ignored] == [("spec.services.VllmWorker.replicas", "planner")]


def test_wildcard_ignore_path():
    result = compare(dgd(replicas=2), live_graph(replicas=6), ignore=[parse_path("spec.services.*.replicas")])
    assert result.drifts == []
    assert len(result.ignored) == 1


def test_labels_compared_status_not():
    live = live_graph()
    live["metadata"]["labels"]["kustomize.toolkit.fluxcd.io/name"] = "other"
    live["status"] = {"state": "successful"}
    live["metadata"]["annotations"] = {"nvidia.com/last-applied-hash": "abc"}
    result = compare(dgd(), live)
    assert [d.text_path for d in result.drifts] == ["metadata.labels[kustomize.toolkit.fluxcd.io/name]"]


def test_attribution_without_managed_fields():
    result = compare(dgd(replicas=2), live_graph(replicas=3, entries=[]))
    assert result.drifts[0].owner is None


def test_attribution_prefers_newest_non_flux_owner():
    fields = ManagedFields.of({"metadata": {"managedFields": [
        flux_entry("2026-12-04T20:00:00Z"),
        managed("kubectl-patch", "Update", "2026-12-04T19:00:00Z", "spec.services.VllmWorker.replicas"),
        managed("kubectl-edit", "Update", "2026-12-04T19:30:00Z", "spec.services.VllmWorker"),
    ]}})
    assert fields.who_set(("spec", "services", "VllmWorker", "replicas")).manager == "kubectl-edit"


@pytest.mark.parametrize("git, live", [({}, MISSING), ([], None), ("1", 1), (1, 1.0), ({"a": []}, {})])
def test_values_equal_normalises(git, live):
    assert values_equal(git, live)


@pytest.mark.parametrize("git, live", [(True, "true"), (2, 3), ([1, 2], [2, 1]), ("a", MISSING)])
def test_values_differ(git, live):
    assert not values_equal(git, live)


def test_parse_path_forms():
    assert parse_path("/spec/services/VllmWorker/replicas") == ("spec", "services", "VllmWorker", "replicas")
    assert parse_path("/metadata/annotations/a~1b") == ("metadata", "annotations", "a/b")
    assert parse_path("metadata.labels[app.kubernetes.io/name]") == ("metadata", "labels", "app.kubernetes.io/name")
    assert path_matches(("spec", "*", "W"), ("spec", "services", "W", "replicas"))
    assert not path_matches(("spec", "x"), ("spec",))


def test_diff_values_ops():
    changes = diff_values({"a": 1, "b": {"c": 2}}, {"a": 2, "b": {"d": 3}})
    assert [(c.op, c.text_path) for c in changes] == [("change", "a"), ("remove", "b.c"), ("add", "b.d")]


def test_kustomization_ignore_rules_match_target():
    graph = dgd()
    ks = kustomization(spec={"ignore": [
        {"paths": ["/spec/services/VllmWorker/replicas"], "target": {"kind": "DynamoGraphDeployment", "name": "ll.*"}},
        {"paths": ["/spec/other"], "target": {"kind": "Deployment"}},
        {"paths": ["/metadata/annotations/x"]},
    ]})
    assert ignored_paths(ks, graph) == [("spec", "services", "VllmWorker", "replicas"), ("metadata", "annotations", "x")]


def test_target_regex_is_anchored():
    assert target_matches({"name": "llm"}, dgd(name="llm"))
    assert not target_matches({"name": "llm"}, dgd(name="llm-2"))
    assert target_matches({"group": "nvidia.com", "version": "v1alpha1"}, dgd())


@pytest.mark.parametrize("selector, expected", [
    ("team=a", True), ("team==a", True), ("team!=a", False), ("team", True), ("!team", False),
    ("team in (a,b)", True), ("team notin (a,b)", False), ("team=a,tier=gpu", True), ("tier=cpu", False), ("", True),
])
def test_selector_matches(selector, expected):
    assert selector_matches(selector, {"team": "a", "tier": "gpu"}) is expected


def test_multi_line_note_stays_under_its_first_line():
    from datetime import datetime, timezone

    from kubectl_dynamo.flux.drift import DriftReport, KustomizationDrift
    from kubectl_dynamo.flux.report import format_report

    ks = KustomizationDrift("flux-system/apps", notes=["the build fails: 2 problems found:\n  a: bad\n  b: bad"])
    text = format_report(DriftReport([], [ks], datetime.now(timezone.utc)))
    assert "  note: the build fails: 2 problems found:\n      a: bad\n      b: bad\n" in text
