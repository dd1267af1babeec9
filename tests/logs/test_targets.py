"""Target selection: services, types, containers and container states of a graph's pods."""

import pytest

from kubectl_dynamo.errors import NotFoundError
from kubectl_dynamo.logs.request import LogsRequest
from kubectl_dynamo.logs.targets import (
    GONE,
    STARTED,
    WAITING,
    check_named_container,
    check_types,
    choose_containers,
    container_state,
    graph_services,
    plan_streams,
    resolve_services,
    type_matches,
)
from tests.logs.fakes import graph, pod

DISAGG = {
    "Frontend": ("frontend", ""),
    "VllmPrefillWorker": ("worker", "prefill"),
    "VllmDecodeWorker": ("worker", "decode"),
    "Planner": ("planner", ""),
}


def services_by_name(dgd):
    return {s.name: s for s in graph_services(dgd)}


def test_graph_services_keep_file_order_and_types():
    services = graph_services(graph(services=DISAGG))
    assert [s.name for s in services] == list(DISAGG)
    assert services[1].component_type == "worker"
    assert services[1].sub_component_type == "prefill"


def test_resolve_services_matches_case_insensitively():
    services = graph_services(graph(services=DISAGG))
    assert resolve_services(["frontend", "VllmDecodeWorker"], services, "llm") == ("Frontend", "VllmDecodeWorker")


def test_unknown_service_lists_graph_services():
    services = graph_services(graph(services=DISAGG))
    with pytest.raises(NotFoundError) as caught:
        resolve_services(["Router"], services, "llm")
    message = str(caught.value)
    assert "'Router' not found in graph 'llm'" in message
    assert "Frontend (frontend)" in message
    assert "VllmPrefillWorker (worker/prefill)" in message


@pytest.mark.parametrize(
    "wanted, component_type, sub_type, expected",
    [
        (["worker"], "worker", "prefill", True),
        (["worker"], "prefill", "", True),
        (["worker"], "decode", "", True),
        (["prefill"], "worker", "prefill", True),
        (["prefill"], "prefill", "", True),
        (["prefill"], "worker", "decode", False),
        (["decode"], "worker", "", False),
        (["frontend", "planner"], "planner", "", True),
        (["frontend"], "worker", "", False),
    ],
)
def test_type_matches(wanted, component_type, sub_type, expected):
    assert type_matches(wanted, component_type, sub_type) is expected


def test_check_types_rejects_absent_type():
    services = graph_services(graph(services={"Frontend": ("frontend", ""), "W": ("worker", "")}))
    with pytest.raises(NotFoundError, match="no service of type planner"):
        check_types(["planner"], services, "llm")
    check_types(["worker"], services, "llm")


def test_default_container_is_main_among_sidecars():
    request = LogsRequest("llm")
    choice = choose_containers(pod("w-1", "W", containers=("sidecar-frontend", "main")), request)
    assert choice.containers == ("main",)


def test_default_container_annotation_wins_over_main():
    annotated = pod("w-1", "W", containers=("main", "proxy"), annotations={"kubectl.kubernetes.io/default-container": "proxy"})
    assert choose_containers(annotated, LogsRequest("llm")).containers == ("proxy",)


def test_single_container_without_main_is_used():
    assert choose_containers(pod("w-1", "W", containers=("vllm",)), LogsRequest("llm")).containers == ("vllm",)


def test_missing_main_names_containers_and_flags():
    choice = choose_containers(pod("w-1", "W", containers=("a", "b")), LogsRequest("llm"))
    assert choice.containers == ()
    assert "pod w-1 has no container 'main'; its containers are: a, b" in choice.problem
    assert "-c" in choice.problem and "--all-containers" in choice.problem


def test_all_containers_lists_init_first():
    request = LogsRequest("llm", all_containers=True)
    shaped = pod("w-1", "W", containers=("main", "sidecar-frontend"), init_containers=("wait-for-leader-mp",))
    assert choose_containers(shaped, request).containers == ("wait-for-leader-mp", "main", "sidecar-frontend")


def test_named_container_may_be_init_container():
    request = LogsRequest("llm", container="wait-for-leader-mp")
    shaped = pod("w-1", "W", init_containers=("wait-for-leader-mp",))
    assert choose_containers(shaped, request).containers == ("wait-for-leader-mp",)


def test_plan_skips_pods_without_named_container_quietly():
    request = LogsRequest("llm", container="sidecar-frontend")
    pods = [pod("f-1", "Frontend"), pod("w-1", "W", containers=("main", "sidecar-frontend"))]
    plan = plan_streams(pods, request, {}, ())
    assert [t.label for t in plan.start] == ["W/w-1/sidecar-frontend"]
    assert plan.problems == []


def test_named_container_absent_everywhere():
    pods = [pod("f-1", "Frontend"), pod("w-1", "W", containers=("main", "sidecar"))]
    with pytest.raises(NotFoundError) as caught:
        check_named_container(pods, LogsRequest("llm", container="nope"))
    assert str(caught.value) == "no pod of graph 'llm' has a container 'nope'; their containers are: main, sidecar"
    check_named_container(pods, LogsRequest("llm", container="sidecar"))


def test_plan_filters_services_and_types():
    dgd = graph(services=DISAGG)
    pods = [
        pod("llm-frontend-1", "Frontend", component_type="frontend"),
        pod("llm-prefill-1", "VllmPrefillWorker", component_type="worker", sub_type="prefill"),
        pod("llm-decode-1", "VllmDecodeWorker", component_type="worker", sub_type="decode"),
        pod("llm-planner-1", "Planner", component_type="planner"),
    ]
    services = services_by_name(dgd)
    by_type = plan_streams(pods, LogsRequest("llm", types=("prefill", "planner")), services, ())
    assert [t.key.pod for t in by_type.start] == ["llm-planner-1", "llm-prefill-1"]
    by_service = plan_streams(pods, LogsRequest("llm"), services, ("Frontend",))
    assert [t.key.pod for t in by_service.start] == ["llm-frontend-1"]


def test_plan_types_fall_back_to_graph_spec():
    services = services_by_name(graph(services=DISAGG))
    unlabelled = pod("llm-decode-1", "VllmDecodeWorker")
    assert [t.key.pod for t in plan_streams([unlabelled], LogsRequest("llm", types=("decode",)), services, ()).start] == ["llm-decode-1"]


@pytest.mark.parametrize("count", [1, 5, 9, 40])
def test_plan_splits_at_limit(count):
    pods = [pod(f"llm-worker-{i:02d}", "W") for i in range(count)]
    plan = plan_streams(pods, LogsRequest("llm"), {}, (), limit=5)
    assert len(plan.start) == min(count, 5)
    assert len(plan.over_limit) == max(0, count - 5)
    assert [t.key.pod for t in plan.start + plan.over_limit] == sorted(p["metadata"]["name"] for p in pods)


@pytest.mark.parametrize(
    "state, phase, running",
    [("running", STARTED, True), ("waiting", WAITING, False), ("pending", WAITING, False), ("terminated", STARTED, False)],
)
def test_container_state_phases(state, phase, running):
    result = container_state(pod("p", "S", state=state), "main")
    assert result.phase == phase
    assert result.running is running


def test_crashlooping_container_has_previous_log():
    result = container_state(pod("p", "S", state="crashloop", restart_count=3), "main")
    assert result.phase == STARTED
    assert result.has_previous
    assert result.restart_count == 3
    assert result.reason == "CrashLoopBackOff"


def test_succeeded_pod_without_status_is_gone():
    finished = pod("p", "S", state="pending")
    finished["status"]["phase"] = "Succeeded"
    assert container_state(finished, "main").phase == GONE
