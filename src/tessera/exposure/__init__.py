"""Surveillance exposure: how exposed each person is to this analysis, and what helps.

One stage, ``exposure`` (see docs/exposure.md), writes four tables
(:mod:`tessera.exposure.tables`): ``exposure_person`` (unicity of the person's trace
after de Montjoye et al. 2013, predictability, linkability of their identifiers to
their name, and a combined score), ``exposure_link`` (what ties the name to each
identifier, with the source tables), ``exposure_contact`` (contact lists and
communication partners that expose the person) and ``exposure_whatif``
(countermeasures, each recomputed). :func:`most_exposed` ranks an organisation's
members; :func:`population_summary` gives population unicity figures.

Exposure here means surveillance exposure only: nothing else about a person is scored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from tessera.exposure import tables
from tessera.exposure.views import most_exposed, population_summary
from tessera.stages import Stage

if TYPE_CHECKING:
    from tessera.engines.base import Engine


def _exposure(engine: Engine) -> Mapping[str, int]:
    from tessera.exposure.assess import assess

    return assess(engine)


STAGE = Stage(
    name="exposure",
    description="Unicity, predictability and linkability of each person; countermeasures.",
    inputs=(
        "obs_device_event",
        "obs_plate_read",
        "obs_contact",
        "sensor",
        "reg_person",
        "reg_subscription",
        "reg_vehicle",
        "resolution_record",
        "link_device",
        "link_device_evidence",
        "link_device_person",
        "link_vehicle",
        "link_vehicle_device",
        "link_vehicle_person",
        "link_plate_read",
        "link_second_phone",
        "link_device_swap",
        "life_stay",
        "life_home_work",
        "life_profile",
        "net_contact",
    ),
    outputs=(tables.PERSON, tables.LINK, tables.CONTACT, tables.WHATIF),
    run=_exposure,
)

__all__ = ["STAGE", "most_exposed", "population_summary"]
