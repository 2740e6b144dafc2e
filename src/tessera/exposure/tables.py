"""Names and column layouts of the exposure tables (see docs/exposure.md).

Every row is about a *person*: a resolved person entity (``subject = 'person:<n>'``)
with attributed identifiers (``link_device_person``, ``link_vehicle_person``) or
stays (``life_stay``). Exposure means *surveillance exposure only*: how surely this
kind of analysis ties the person's identifiers to their name and how surely their
trace singles them out and predicts them; nothing else about the person is scored.
"""

from __future__ import annotations

PERSON = "exposure_person"
LINK = "exposure_link"
CONTACT = "exposure_contact"
WHATIF = "exposure_whatif"

# what a dossier's exposure section is assembled from
DOSSIER_TABLES = (PERSON, LINK, CONTACT, WHATIF)

COUNTERMEASURES = ("second_phone_off", "no_personal_car", "varied_routes", "fewer_regular_places")

_COMPONENTS = (
    "points INTEGER, unicity_1 DOUBLE, unicity_2 DOUBLE, unicity_3 DOUBLE, unicity_4 DOUBLE, "
    "points_to_single_out INTEGER, predictability_max DOUBLE, linkability DOUBLE, "
    "link_sources INTEGER"
)

# name -> column DDL, the contract between the stage and its readers
COLUMNS: dict[str, str] = {
    # one row per person: the components and the combined score
    PERSON: (
        "subject VARCHAR, name VARCHAR, devices INTEGER, vehicles INTEGER, days INTEGER, "
        f"{_COMPONENTS}, regularity DOUBLE, identifier_links INTEGER, exposure DOUBLE, "
        "evidence VARCHAR"
    ),
    # one row per (person, identifier or registry record) that ties the person's name
    # to what the analysis holds
    LINK: (
        "subject VARCHAR, identifier VARCHAR, identifier_kind VARCHAR, link_table VARCHAR, "
        "vias VARCHAR[], role VARCHAR, confidence DOUBLE, in_linkability BOOLEAN, "
        "points INTEGER, source_tables VARCHAR[], evidence VARCHAR"
    ),
    # contact-list owners who name the person's numbers, and strong partners
    CONTACT: (
        "subject VARCHAR, contact VARCHAR, contact_kind VARCHAR, kind VARCHAR, "
        "numbers VARCHAR[], entries INTEGER, names_person BOOLEAN, weight DOUBLE, "
        "second_phone_events INTEGER, evidence VARCHAR, obs_ids BIGINT[]"
    ),
    # one row per (person, countermeasure that applies): before, after, recomputed
    WHATIF: (
        "subject VARCHAR, countermeasure VARCHAR, exposure_before DOUBLE, "
        f"exposure_after DOUBLE, drop DOUBLE, {_COMPONENTS}, removed_points INTEGER, "
        "removed_links INTEGER, note VARCHAR"
    ),
}
