"""The declared data model loads, is self-consistent, and rejects typos."""

from __future__ import annotations

import copy
from importlib import resources
from typing import Any

import pytest
import yaml

from tessera.errors import ModelError
from tessera.model import get_model, parse_model, source_columns


def raw_model() -> dict[str, Any]:
    text = resources.files("tessera.model").joinpath("schema.yaml").read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def test_model_has_every_kind() -> None:
    m = get_model()
    assert set(m.entities) == {"person", "organisation", "vehicle", "device", "place", "sensor"}
    assert set(m.sources) == {
        "registry.person",
        "registry.organisation",
        "registry.vehicle",
        "registry.subscription",
        "registry.address",
        "plate_read",
        "device_event",
        "communication",
        "contact_list",
        "sensor",
    }
    ev = m.source("device_event")
    assert {
        "msisdn",
        "imsi",
        "imei",
        "time",
        "event_type",
        "sensor_id",
        "lat",
        "lon",
        "accuracy_m",
    } <= set(ev.properties)
    assert ev.time_property == "time"
    cols = dict(source_columns(m.source("plate_read")))
    assert cols["plate_key"] == "VARCHAR"
    assert cols["time"] == "TIMESTAMPTZ"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["sources"]["plate_read"].update(colour="red"), "Extra inputs"),
        (
            lambda d: d["sources"]["plate_read"]["properties"]["plate"].update(typ="x"),
            "Extra inputs",
        ),
        (
            lambda d: d["sources"]["plate_read"]["properties"]["plate"].update(type="platez"),
            "unknown type 'platez'",
        ),
        (lambda d: d["sources"]["sensor"].update(table="obs_plate_read"), "used twice"),
        (
            lambda d: d["sources"]["device_event"]["rules"].append({"require_any": ["nope"]}),
            "unknown properties",
        ),
        (lambda d: d["sources"]["plate_read"].update(entity="ghost"), "unknown entity"),
        (
            lambda d: d["sources"]["plate_read"]["properties"]["plate"].update(values=["a"]),
            "only allowed on enum",
        ),
    ],
)
def test_model_validation_rejects(edit: Any, message: str) -> None:
    data = copy.deepcopy(raw_model())
    edit(data)
    with pytest.raises(ModelError, match=message):
        parse_model(data)


def test_unknown_source_kind_lists_known() -> None:
    with pytest.raises(ModelError, match=r"known kinds: registry\.person"):
        get_model().source("plates")
