"""Co-travel linking: plates, devices, vehicles and people.

Four stages, in order (see docs/linking.md):

- ``plates``: every plate read attributed to its true plate (OCR misreads clustered
  with their vehicle, :mod:`tessera.link.plates`);
- ``cotravel``: device keys, camera coverage, and co-travel hypotheses for vehicle and
  device, device and device, vehicle and vehicle pairs, each with its support, its
  expected-by-chance count, its surprise and its evidence (:mod:`tessera.link.cotravel`);
- ``phones``: second phones and device swaps (:mod:`tessera.link.phones`);
- ``attribution``: vehicles and devices to resolved people, shared vehicles
  (:mod:`tessera.link.attribute`).

``phones`` and ``attribution`` honour analysts' judgements on their hypotheses
(:mod:`tessera.link.judgements`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from tessera.stages import Stage

if TYPE_CHECKING:
    from tessera.engines.base import Engine

PLATE_READS = "link_plate_read"
LINK_JUDGEMENTS = "link_judgement"  # analysts' verdicts (tessera.link.judgements)


def _plates(engine: Engine) -> Mapping[str, int]:
    from tessera.link.plates import attribute_plates

    return {PLATE_READS: attribute_plates(engine, out=PLATE_READS)}


def _cotravel(engine: Engine) -> Mapping[str, int]:
    from tessera.link.cotravel import run

    return run(engine, plates=PLATE_READS)


def _phones(engine: Engine) -> Mapping[str, int]:
    from tessera.link.phones import detect_phones

    return detect_phones(engine)


def _attribution(engine: Engine) -> Mapping[str, int]:
    from tessera.link.attribute import run

    return run(engine)


PLATES = Stage(
    name="plates",
    description="Attribute every plate read to its true plate (OCR misreads clustered).",
    inputs=("obs_plate_read", "sensor", "reg_vehicle"),
    outputs=(PLATE_READS,),
    run=_plates,
)
COTRAVEL = Stage(
    name="cotravel",
    description="Score co-travel of vehicles and devices against chance, with evidence.",
    inputs=("obs_device_event", "obs_plate_read", "sensor", PLATE_READS),
    outputs=("link_device", "link_coverage", "cotravel_pair", "cotravel_evidence"),
    run=_cotravel,
)
PHONES = Stage(
    name="phones",
    description="Detect second phones and device swaps.",
    inputs=("obs_device_event", "sensor", "obs_communication", "obs_contact", "link_device"),
    outputs=("link_second_phone", "link_device_swap"),
    run=_phones,
    state=(LINK_JUDGEMENTS,),
)
ATTRIBUTION = Stage(
    name="attribution",
    description="Link devices and vehicles to resolved people; recognise shared vehicles.",
    inputs=(
        "cotravel_pair",
        "link_device",
        "link_second_phone",
        "link_device_swap",
        "reg_person",
        "reg_subscription",
        "reg_vehicle",
        "reg_address",
        "obs_contact",
        "obs_device_event",
        "sensor",
        "resolution_record",
    ),
    outputs=(
        "link_vehicle_device",
        "link_vehicle",
        "link_device_evidence",
        "link_device_person",
        "link_vehicle_person",
    ),
    run=_attribution,
    state=(LINK_JUDGEMENTS,),
)
STAGES = (PLATES, COTRAVEL, PHONES, ATTRIBUTION)

__all__ = ["ATTRIBUTION", "COTRAVEL", "PHONES", "PLATES", "STAGES"]
