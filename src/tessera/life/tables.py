"""Names and column layouts of the pattern-of-life tables (see docs/life.md).

A *subject* is a resolved person (``subject_kind = 'person'``, ``subject`` the person id of
``link_device_person.person``) or, for a device nobody is attributed to, the device itself
(``subject_kind = 'device'``, ``subject`` the ``link_device.device`` key).
"""

from __future__ import annotations

STAY = "life_stay"
PLACE = "life_place"
HOME_WORK = "life_home_work"
ACTIVE_HOUR = "life_active_hour"
ROUTINE = "life_routine"
PROFILE = "life_profile"
ANOMALY = "life_anomaly"

# name -> column DDL, the contract between the stages that write and read them
COLUMNS: dict[str, str] = {
    STAY: (
        "subject VARCHAR, subject_kind VARCHAR, stay_id BIGINT, started_at TIMESTAMPTZ, "
        "finished_at TIMESTAMPTZ, lat DOUBLE, lon DOUBLE, uncertainty_m DOUBLE, "
        "place_id BIGINT, n_obs INTEGER, sources VARCHAR[], obs_ids BIGINT[]"
    ),
    PLACE: (
        "subject VARCHAR, subject_kind VARCHAR, place_id BIGINT, lat DOUBLE, lon DOUBLE, "
        "radius_m DOUBLE, building VARCHAR, kind VARCHAR, stays INTEGER, days INTEGER, "
        "dwell_s DOUBLE, first_seen TIMESTAMPTZ, last_seen TIMESTAMPTZ"
    ),
    HOME_WORK: (
        "subject VARCHAR, subject_kind VARCHAR, role VARCHAR, place_id BIGINT, lat DOUBLE, "
        "lon DOUBLE, building VARCHAR, confidence DOUBLE, days INTEGER, evidence VARCHAR"
    ),
    ACTIVE_HOUR: (
        "subject VARCHAR, subject_kind VARCHAR, hour TIMESTAMPTZ, events INTEGER, sources VARCHAR[]"
    ),
    ROUTINE: (
        "subject VARCHAR, subject_kind VARCHAR, place_id BIGINT, dow SMALLINT, hour SMALLINT, "
        "seconds DOUBLE, share DOUBLE"
    ),
    PROFILE: (
        "subject VARCHAR, subject_kind VARCHAR, days_observed INTEGER, places INTEGER, "
        "radius_of_gyration_m DOUBLE, regularity DOUBLE, entropy_random DOUBLE, "
        "entropy_uncorrelated DOUBLE, entropy_real DOUBLE, predictability_max DOUBLE"
    ),
    ANOMALY: (
        "subject VARCHAR, subject_kind VARCHAR, anomaly_id BIGINT, kind VARCHAR, "
        "started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ, place_id BIGINT, lat DOUBLE, "
        "lon DOUBLE, score DOUBLE, baseline DOUBLE, evidence VARCHAR"
    ),
}
