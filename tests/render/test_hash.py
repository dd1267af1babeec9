"""The ``nvidia.com/last-applied-hash`` annotation against values worked out by hand.

No 0.8.0 operator test pins a literal hash, so each expected value here was built by
following GetResourceHash and SortKeys (controller_common/resource.go, Dynamo 0.8.0)
step by step on paper: sort map keys, sort lists of maps with Go's stable sort and
the operator's "name, else first key" order, encode compactly with Go's HTML
escaping, then hash the text with coreutils (``printf '%s' TEXT | sha256sum``), not
with Python.
"""

from __future__ import annotations

import random

import pytest

from kubectl_dynamo.api.quantity import canonical
from kubectl_dynamo.render.v0_8 import hashing

EMPTY_OBJECT_SHA = "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"


def test_service_spec_hash_by_hand():
    spec = {
        "selector": {"a&b": "x<y>"},
        "ports": [
            {"targetPort": "system", "protocol": "TCP", "port": 9090, "name": "system"},
            {"name": "http", "port": 8000, "targetPort": "http", "protocol": "TCP"},
        ],
    }
    by_hand = ('{"ports":[{"name":"http","port":8000,"protocol":"TCP","targetPort":"http"},'
               '{"name":"system","port":9090,"protocol":"TCP","targetPort":"system"}],'
               '"selector":{"a\\u0026b":"x\\u003cy\\u003e"}}')
    assert hashing.go_json(hashing.sort_keys(spec)) == by_hand
    assert hashing.hash_value(spec) == "b384a43fd37b42500941d3abb6f3d73a5a8ea062653f4a990b5a045f6ad47701"


def test_objects_without_spec_hash_as_empty_object():
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "rules": [{"verbs": ["get"]}]}
    assert hashing.spec_hash(role) == EMPTY_OBJECT_SHA


def test_list_sort_follows_go_stable_sort():
    # [{name b}, {value}, {name a}]: insertion sort moves {name a} before {value}
    # ("name" < "value" by first key), then before {name b} (names compared).
    # Tolerations have no name: first keys "effect" and "key" are already in order.
    spec = {
        "x": [{"name": "b"}, {"value": 1}, {"name": "a"}],
        "tolerations": [{"key": "b", "effect": "NoSchedule"}, {"operator": "Exists", "key": "a"}],
    }
    by_hand = ('{"tolerations":[{"effect":"NoSchedule","key":"b"},{"key":"a","operator":"Exists"}],'
               '"x":[{"name":"a"},{"name":"b"},{"value":1}]}')
    assert hashing.go_json(hashing.sort_keys(spec)) == by_hand
    assert hashing.hash_value(spec) == "a6c09bf749e01f9aff0bfb495cc2908066db03bb55d6093538cfd092310f6b27"


def test_numbers_and_escapes_encode_like_go():
    spec = {"s": "tab\there\u2028", "n": [0.5, 1e21, 1e-7, 2.0, -3]}
    by_hand = '{"n":[0.5,1e+21,1e-7,2,-3],"s":"tab\\there\\u2028"}'
    assert hashing.go_json(spec) == by_hand
    assert hashing.hash_value(spec) == "146d9f610ef24f4eb26b5d32c2de747843a7354f8caed04abc393f5d26878bb5"


@pytest.mark.parametrize("size", [5, 21, 47, 130])
def test_go_stable_sort_matches_python_for_consistent_order(size):
    # For a proper order Go's algorithm and Python's sort must agree, including ties.
    rng = random.Random(size)
    items = [{"name": rng.choice("abcdef"), "i": i} for i in range(size)]
    expected = sorted(items, key=lambda item: item["name"])
    got = list(items)
    hashing._go_stable_sort(got, lambda a, b: a["name"] < b["name"])
    assert got == expected


def test_typed_view_adds_go_struct_fields():
    deployment = {"kind": "Deployment", "spec": {"template": {"metadata": {"labels": {"a": "b"}},
                                                              "spec": {"containers": [{"name": "main", "resources": {"limits": {"cpu": "1000m"}}}]}}}}
    typed = hashing.typed_spec(deployment)
    assert typed["template"]["metadata"]["creationTimestamp"] is None
    assert typed["template"]["spec"]["containers"][0]["resources"] == {"limits": {"cpu": "1"}}
    assert "creationTimestamp" not in deployment["spec"]["template"]["metadata"]  # input untouched


def test_dcd_typed_view_shared_memory_and_pod_spec():
    dcd = {"kind": "DynamoComponentDeployment",
           "spec": {"sharedMemory": {"disabled": True}, "extraPodSpec": {"nodeSelector": {"a": "b"}, "mainContainer": {"image": "x"}}}}
    typed = hashing.typed_spec(dcd)
    assert typed["sharedMemory"] == {"disabled": True, "size": "0"}
    assert typed["extraPodSpec"]["containers"] is None
    assert typed["extraPodSpec"]["mainContainer"] == {"image": "x", "name": "", "resources": {}}


def test_annotate_sets_hash_and_generation_in_metadata_order():
    obj = {"kind": "Service", "metadata": {"name": "s", "ownerReferences": [{}], "namespace": "n"}, "spec": {}}
    hashing.annotate(obj)
    assert list(obj["metadata"]) == ["name", "namespace", "annotations", "ownerReferences"]
    assert obj["metadata"]["annotations"] == {"nvidia.com/last-applied-hash": EMPTY_OBJECT_SHA,
                                              "nvidia.com/last-applied-generation": "1"}


@pytest.mark.parametrize("given, expected", [
    ("1000m", "1"), ("0.5", "500m"), ("1500", "1500"), ("2000", "2k"), ("1024Mi", "1Gi"),
    ("0.5Gi", "512Mi"), ("1000Mi", "1000Mi"), ("1e3", "1e3"), ("8Gi", "8Gi"), (4, "4"),
])
def test_quantity_canonical_form(given, expected):
    assert canonical(given) == expected
