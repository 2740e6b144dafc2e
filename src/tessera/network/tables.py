"""Names and column layouts of the network tables (see docs/network.md).

Nodes are the same *subjects* as in pattern of life (:mod:`tessera.life.tables`): a
resolved person (``subject_kind = 'person'``), a device attributed to no one
(``'device'``), or, in the contact network only, a number no ingested device carries
(``'number'``, ``subject = 'number:+49...'``). Undirected pairs are stored once, with
``a < b``.
"""

from __future__ import annotations

CONTACT = "net_contact"
MEETING = "net_meeting"
MEETING_MEMBER = "net_meeting_member"
COPRESENCE = "net_copresence"
HIDDEN_TIE = "net_hidden_tie"
EDGE = "net_edge"
COMMUNITY = "net_community"
CENTRALITY = "net_centrality"

# name -> column DDL, the contract between the stages that write and read them
COLUMNS: dict[str, str] = {
    # one row per undirected pair that communicated or is in a contact list
    CONTACT: (
        "a VARCHAR, a_kind VARCHAR, b VARCHAR, b_kind VARCHAR, events INTEGER, "
        "calls INTEGER, sms INTEGER, call_s DOUBLE, a_to_b INTEGER, b_to_a INTEGER, "
        "reciprocity DOUBLE, days INTEGER, first_at TIMESTAMPTZ, last_at TIMESTAMPTZ, "
        "listed BOOLEAN, second_phone_events INTEGER, weight DOUBLE, evidence VARCHAR, "
        "obs_ids BIGINT[]"
    ),
    # one row per detected meeting (two or more subjects at one place at one time)
    MEETING: (
        "meeting_id BIGINT, building VARCHAR, lat DOUBLE, lon DOUBLE, "
        "started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ, participants INTEGER, "
        "place_entropy DOUBLE, privacy DOUBLE, discreet BOOLEAN, score DOUBLE, "
        "evidence VARCHAR"
    ),
    # who was in each meeting, through which stay (or other evidence)
    MEETING_MEMBER: (
        "meeting_id BIGINT, subject VARCHAR, subject_kind VARCHAR, stay_id BIGINT, "
        "started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ, away_from_home_work BOOLEAN, "
        "sources VARCHAR[], evidence VARCHAR"
    ),
    # one row per undirected pair that met at least once
    COPRESENCE: (
        "a VARCHAR, a_kind VARCHAR, b VARCHAR, b_kind VARCHAR, meetings INTEGER, "
        "discreet INTEGER, days INTEGER, places INTEGER, seconds DOUBLE, weight DOUBLE, "
        "first_at TIMESTAMPTZ, last_at TIMESTAMPTZ, meeting_ids BIGINT[]"
    ),
    # pairs who meet but never communicate, or communicate only from second phones
    HIDDEN_TIE: (
        "a VARCHAR, a_kind VARCHAR, b VARCHAR, b_kind VARCHAR, kind VARCHAR, "
        "meetings INTEGER, contact_events INTEGER, second_phone_events INTEGER, "
        "score DOUBLE, evidence VARCHAR"
    ),
    # the graph analysed: contact, co-presence and shared-place weights combined per pair
    EDGE: (
        "a VARCHAR, a_kind VARCHAR, b VARCHAR, b_kind VARCHAR, contact_weight DOUBLE, "
        "copresence_weight DOUBLE, place_weight DOUBLE, weight DOUBLE, hidden BOOLEAN"
    ),
    COMMUNITY: "subject VARCHAR, subject_kind VARCHAR, community INTEGER, size INTEGER",
    CENTRALITY: (
        "subject VARCHAR, subject_kind VARCHAR, community INTEGER, degree INTEGER, "
        "strength DOUBLE, betweenness DOUBLE, betweenness_exact BOOLEAN, "
        "rank_in_community INTEGER"
    ),
}
