"""Pattern of life: stays, places, home and work, routines, predictability, anomalies.

Stages, in order (see docs/life.md):

- ``stays``: sector coverage over buildings (:mod:`tessera.life.coverage`), stays of
  every subject from all its devices' observations (:mod:`tessera.life.stays`), its
  significant places with their position and kind, and home and work
  (:mod:`tessera.life.places`);
- ``routine``: weekly profiles, radius of gyration, regularity and predictability
  (:mod:`tessera.life.routine`);
- ``anomalies``: new places, unusual hours, profile breaks and dark periods, each
  against the subject's own baseline (:mod:`tessera.life.anomaly`).

A subject is a resolved person with the devices attributed to them, or a device
attributed to no one (:mod:`tessera.life.tables`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from tessera.life import tables
from tessera.stages import Stage

if TYPE_CHECKING:
    from tessera.engines.base import Engine


def _stays(engine: Engine) -> Mapping[str, int]:
    from tessera.life import coverage, places, stays

    out = dict(coverage.build(engine))
    with engine.temp_tables() as temp:
        out.update(stays.detect(engine, temp))
        out.update(places.locate(engine, temp))
    return out


STAYS = Stage(
    name="stays",
    description="Stays, significant places, home and work of every person and device.",
    inputs=("obs_device_event", "sensor", "reg_address", "link_device", "link_device_person"),
    outputs=(
        "life_coverage",
        "life_sector",
        tables.STAY,
        tables.ACTIVE_HOUR,
        tables.PLACE,
        tables.HOME_WORK,
    ),
    run=_stays,
)


def _routine(engine: Engine) -> Mapping[str, int]:
    from tessera.life.routine import routine

    return routine(engine)


def _anomalies(engine: Engine) -> Mapping[str, int]:
    from tessera.life.anomaly import anomalies

    return anomalies(engine)


ROUTINE = Stage(
    name="routine",
    description="Weekly profiles, radius of gyration, regularity and predictability.",
    inputs=(tables.STAY, tables.PLACE),
    outputs=(tables.ROUTINE, tables.PROFILE),
    run=_routine,
)
ANOMALIES = Stage(
    name="anomalies",
    description="New places, unusual hours, profile breaks and dark periods per subject.",
    inputs=(tables.STAY, tables.ACTIVE_HOUR),
    outputs=(tables.ANOMALY,),
    run=_anomalies,
)

STAGES = (STAYS, ROUTINE, ANOMALIES)

__all__ = ["ANOMALIES", "ROUTINE", "STAGES", "STAYS"]
