"""Line handling: timestamps, resuming without duplicates, filters, prefixes, colour and JSON."""

import json

import pytest

from kubectl_dynamo.errors import UsageError
from kubectl_dynamo.logs.lines import LineFilter, LineFormat, ResumePoint, split_timestamp, timestamp_ns
from kubectl_dynamo.logs.request import LogsRequest, check_request, check_since_time, parse_duration
from kubectl_dynamo.logs.targets import StreamKey, Target
from kubectl_dynamo.output.color import stable_color

TARGET = Target(StreamKey("default", "llm-frontend-abc", "uid-1", "main"), "Frontend")


def test_split_timestamp():
    assert split_timestamp("2026-01-01T00:00:01.5Z hello world") == ("2026-01-01T00:00:01.5Z", "hello world")
    assert split_timestamp("2026-01-01T00:00:01Z ") == ("2026-01-01T00:00:01Z", "")
    assert split_timestamp("no timestamp here") == ("", "no timestamp here")


def test_timestamp_ns_handles_fractions_and_offsets():
    assert timestamp_ns("1970-01-01T00:00:01Z") == 1_000_000_000
    assert timestamp_ns("1970-01-01T00:00:01.5Z") == 1_500_000_000
    assert timestamp_ns("1970-01-01T00:00:01.000000007Z") == 1_000_000_007
    assert timestamp_ns("1970-01-01T01:00:01+01:00") == 1_000_000_000
    assert timestamp_ns("yesterday") is None


def test_resume_drops_seen_lines_only():
    point = ResumePoint()
    first = ["2026-01-01T00:00:01Z", "2026-01-01T00:00:02Z", "2026-01-01T00:00:02Z"]
    assert [point.admit(t) for t in first] == [True, True, True]
    assert (point.last, point.count) == ("2026-01-01T00:00:02Z", 2)

    # The reconnect with sinceTime=00:00:02 repeats both lines at 00:00:02, then a third one and a newer one.
    point.start_resume()
    replay = ["2026-01-01T00:00:02Z", "2026-01-01T00:00:02Z", "2026-01-01T00:00:02Z", "2026-01-01T00:00:03Z"]
    assert [point.admit(t) for t in replay] == [False, False, True, True]


def test_resume_drops_older_lines_from_rounded_since_time():
    point = ResumePoint()
    point.admit("2026-01-01T00:00:02.700000000Z")
    point.start_resume()
    # A server that rounds sinceTime down to the second sends older lines of that second again.
    assert point.admit("2026-01-01T00:00:02.100000000Z") is False
    assert point.admit("2026-01-01T00:00:02.7Z") is False  # the same instant written with fewer digits
    assert point.admit("2026-01-01T00:00:02.800000000Z") is True


def test_resume_without_seen_lines_admits_everything():
    point = ResumePoint()
    point.start_resume()
    assert point.admit("2026-01-01T00:00:00Z") is True


def test_filter_include_any_exclude_all():
    line_filter = LineFilter(include=["error", "warn"], exclude=["health"])
    assert line_filter.keep("an error occurred")
    assert line_filter.keep("warn: slow")
    assert not line_filter.keep("info: ok")
    assert not line_filter.keep("error in health check")


def test_filter_rejects_invalid_regex():
    with pytest.raises(UsageError, match=r"invalid --include regular expression '\('"):
        LineFilter(include=["("])


def test_text_prefix_plain_and_coloured():
    plain = LineFormat().for_target(TARGET)
    assert plain("2026-01-01T00:00:01Z", "ready") == "Frontend/llm-frontend-abc ready\n"
    coloured = LineFormat(color=True).for_target(TARGET)
    assert coloured("", "ready") == f"\033[{stable_color('Frontend')}mFrontend/llm-frontend-abc\033[0m ready\n"


def test_text_prefix_with_container_and_timestamp():
    fmt = LineFormat(show_container=True, timestamps=True).for_target(TARGET)
    assert fmt("2026-01-01T00:00:01Z", "ready") == "Frontend/llm-frontend-abc/main 2026-01-01T00:00:01Z ready\n"


def test_json_record_fields():
    fmt = LineFormat(output="json", color=True).for_target(TARGET)
    record = json.loads(fmt("2026-01-01T00:00:01Z", "ready \u00e9"))
    assert record == {
        "service": "Frontend",
        "pod": "llm-frontend-abc",
        "container": "main",
        "timestamp": "2026-01-01T00:00:01Z",
        "message": "ready \u00e9",
    }


@pytest.mark.parametrize("text, seconds", [("30s", 30), ("5m", 300), ("1h30m", 5400), ("1.5s", 2), ("500ms", 1)])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5", "5x", "m5", "0s", "-5m"])
def test_parse_duration_rejects(text):
    with pytest.raises(UsageError, match="--since"):
        parse_duration(text)


def test_since_time_must_be_rfc3339():
    assert check_since_time("2026-01-02T15:04:05Z") == "2026-01-02T15:04:05Z"
    with pytest.raises(UsageError, match="RFC 3339"):
        check_since_time("2026-01-02 15:04")


@pytest.mark.parametrize(
    "request_, flag",
    [
        (LogsRequest("g", since_seconds=5, since_time="2026-01-01T00:00:00Z"), "--since-time"),
        (LogsRequest("g", container="main", all_containers=True), "--all-containers"),
        (LogsRequest("g", previous=True, follow=True), "--previous"),
        (LogsRequest("g", max_log_requests=0), "--max-log-requests"),
        (LogsRequest("g", tail=-2), "--tail"),
    ],
)
def test_check_request_rejects(request_, flag):
    with pytest.raises(UsageError, match=flag):
        check_request(request_)


def test_default_tail():
    assert LogsRequest("g").tail_lines is None
    assert LogsRequest("g", follow=True).tail_lines == 10
    assert LogsRequest("g", follow=True, since_seconds=60).tail_lines is None
    assert LogsRequest("g", follow=True, tail=-1).tail_lines is None
    assert LogsRequest("g", tail=3).tail_lines == 3
