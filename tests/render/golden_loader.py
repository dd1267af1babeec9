"""Load the operator's golden test vectors and compare rendered objects with them.

The vectors under tests/data/golden are transcribed from the Dynamo 0.8.0 operator's
Go unit tests, which compare Go structs. Rendered objects are in the API's JSON form,
where empty strings and empty structs are left out, so ``api_form`` brings expected
values into that form before comparing.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Dict

import yaml

from kubectl_dynamo.render.v0_8.settings import OperatorSettings

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "data" / "golden"


def load_golden(name: str) -> Dict[str, Any]:
    with open(GOLDEN_DIR / name, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def cases(golden: Dict[str, Any], group: str):
    """Return (case name, input, expected) for every case of a group, for parametrize."""
    inputs = golden["input"][group]
    expected = golden["expected"][group]
    return [(name, inputs[name], expected[name]) for name in inputs]


# The vectors name Grove's startup order by the Go field and short constant names; the
# API's JSON form uses the json tag and the constants' string values.
GROVE_STARTUP_VALUES = {"AnyOrder": "CliqueStartupTypeAnyOrder", "Explicit": "CliqueStartupTypeExplicit", "InOrder": "CliqueStartupTypeInOrder"}


def api_form(value: Any) -> Any:
    """Return ``value`` as the API server would show it: no empty env values or empty structs,
    and Grove's startup order under its JSON name."""
    value = copy.deepcopy(value)
    _strip(value)
    return value


def _strip(value: Any) -> None:
    if isinstance(value, dict):
        if "name" in value and value.get("value") == "" and set(value) <= {"name", "value"}:
            del value["value"]
        if "startupType" in value and "cliques" in value:
            value["cliqueStartupType"] = GROVE_STARTUP_VALUES[value.pop("startupType")]
        for key in list(value):
            _strip(value[key])
            if key == "resources" and value[key] == {}:
                del value[key]
    elif isinstance(value, list):
        for item in value:
            _strip(item)


def operator_settings(config: Dict[str, Any] = None, **overrides: Any) -> OperatorSettings:
    """Return operator settings with every flag empty, as a Go test's ``controller_common.Config{}``.

    ``config`` takes the Go test's field names (discoveryBackend, etcdAddress, ...).
    """
    config = config or {}
    settings = OperatorSettings(
        discovery_backend=config.get("discoveryBackend", ""),
        nats_address=config.get("natsAddress", ""),
        etcd_address=config.get("etcdAddress", ""),
        model_express_url=config.get("modelExpressURL", ""),
        prometheus_endpoint=config.get("prometheusEndpoint", ""),
        grove_termination_delay=(config.get("grove") or {}).get("terminationDelay", "0s"),
    )
    for key, value in overrides.items():
        setattr(settings, key, value)
    return settings
