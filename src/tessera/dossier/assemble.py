"""Assembling every person's dossier from the built tables, in one pass.

Each section is one query over a stage's output table, grouped by person; the rows are
then placed into the person's dossier. Nothing here infers anything new: a dossier
restates what the stages concluded, with the score, the chance baseline and the
citations each conclusion carries.

Citations are strings a reader can follow back:

- ``obs:<obs_id>``: an observation or a registry row (``obs_id`` is unique across the
  workspace);
- ``record:<source>:<record_id>``: a registry record by its own key;
- ``<table>:<key>``: a hypothesis row of a stage's output table, for example
  ``link_device_person:imsi:2620...`` or ``life_home_work:person:17:home``.

Sections are lists sorted so that the same workspace always gives the same dossier
(byte for byte, apart from ``generated_at``).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections import defaultdict
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from tessera.dossier.schema import SCHEMA_ID

if TYPE_CHECKING:
    import pyarrow as pa

    from tessera.engines.base import Engine

# how much of the long lists a dossier carries (the tables keep everything)
MAX_CITES = 5
MAX_PLACES = 12
MAX_CONTACTS = 25
MAX_MEETINGS = 50
MAX_TIMELINE = 400
MAX_COMMUNITY_TOP = 5

Rows = dict[str, list[dict[str, Any]]]

PERSON_COLUMNS = (
    "full_name",
    "full_name_latin",
    "given_name",
    "family_name",
    "birth_date",
    "nationality",
    "document_number",
    "national_id",
    "organisation",
    "organisation_latin",
    "role",
    "address",
    "phone",
    "email",
)


def _grouped(engine: Engine, sql: str, key: str = "person") -> Rows:
    """Rows of ``sql`` as JSON-ready dicts (see :func:`_json_ready`), grouped by the
    ``key`` column (kept out of the rows)."""
    out: Rows = defaultdict(list)
    for row in _json_ready(engine.fetch_arrow(sql)).to_pylist():
        out[row.pop(key)].append(row)
    return out


def _json_ready(table: pa.Table) -> pa.Table:
    """Columns converted the vectorised way: timestamps to ISO 8601 text in UTC, dates
    to ISO text, decimals to floats, floats rounded to 6 places, NaN to null."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = []
    for col in table.columns:
        t = col.type
        if pa.types.is_timestamp(t):
            col = pc.strftime(col.cast(pa.timestamp("us", tz="UTC")), format="%Y-%m-%dT%H:%M:%SZ")
        elif pa.types.is_date(t):
            col = col.cast(pa.string())
        elif pa.types.is_decimal(t):
            col = col.cast(pa.float64())
        if pa.types.is_floating(col.type):
            col = pc.round(col, 6)
            col = pc.if_else(pc.is_finite(col), col, pa.scalar(None, col.type))
        columns.append(col)
    return pa.table(columns, names=table.column_names)


def _plain(value: Any) -> Any:
    """One JSON-ready value, as :func:`_json_ready` makes them."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value


def _cites(obs_ids: list[int] | None) -> list[str]:
    return [f"obs:{o}" for o in (obs_ids or [])[:MAX_CITES]]


def people(engine: Engine) -> list[str]:
    """Every resolved person entity, in id order."""
    return [
        r[0]
        for r in engine.fetch_rows(
            "SELECT entity_id FROM resolution_entity WHERE kind = 'person' ORDER BY entity_id"
        )
    ]


def _records(engine: Engine) -> Rows:
    cols = ", ".join(f"p.{c}" for c in PERSON_COLUMNS)
    return _grouped(
        engine,
        f"SELECT r.entity_id AS person, p.obs_id, p.source, p.record_id, {cols} "
        "FROM resolution_record r JOIN reg_person p ON p.obs_id = r.obs_id "
        "WHERE r.kind = 'person' ORDER BY r.entity_id, p.source, p.record_id",
    )


def _matches(engine: Engine) -> Rows:
    """The scored record pairs inside each person entity, with the weight of each
    comparison (Splink's ``mw_`` columns, term-frequency adjustments folded in)."""
    names = [c for c, _ in engine.columns("resolution_pair_person")]
    weights = [c for c in names if c.startswith("mw_") and not c.startswith("mw_tf_adj_")]
    parts = []
    for c in weights:
        adj = f"mw_tf_adj_{c[3:]}"
        parts.append(f"{c} + coalesce({adj}, 0)" if adj in names else c)
    struct = ", ".join(f"'{c[3:]}': {p}" for c, p in zip(weights, parts, strict=True))
    comparisons = f"{{{struct}}}" if struct else "NULL"
    return _grouped(
        engine,
        "SELECT ra.entity_id AS person, pa.source || ':' || pa.record_id AS record_a, "
        "pb.source || ':' || pb.record_id AS record_b, m.match_weight, "
        f"m.match_probability, {comparisons} AS weights "
        "FROM resolution_pair_person m "
        "JOIN resolution_record ra ON ra.kind = 'person' AND ra.obs_id = m.unique_id_l "
        "JOIN resolution_record rb ON rb.kind = 'person' AND rb.obs_id = m.unique_id_r "
        "JOIN reg_person pa ON pa.obs_id = m.unique_id_l "
        "JOIN reg_person pb ON pb.obs_id = m.unique_id_r "
        "WHERE ra.entity_id = rb.entity_id "
        "ORDER BY person, round(m.match_weight, 9) DESC, record_a, record_b",
    )


def _devices(engine: Engine) -> Rows:
    return _grouped(
        engine,
        "SELECT dp.person, dp.device, dp.confidence, dp.runner_up, dp.vias, dp.evidence, "
        "d.msisdn, d.imsi, d.imeis, d.sources, d.events, d.first_seen, d.last_seen "
        "FROM link_device_person dp LEFT JOIN link_device d ON d.device = dp.device "
        "ORDER BY dp.person, round(dp.confidence, 9) DESC, dp.device",
    )


def _second_phones(engine: Engine) -> Rows:
    """Second phones travelling with one of the person's devices."""
    return _grouped(
        engine,
        "SELECT dp.person, s.primary AS primary_device, s.second, s.score, s.confidence, "
        "s.together, s.apart, s.shared_contacts, s.second_contacts, s.active_share, "
        "s.evidence FROM link_second_phone s "
        "JOIN link_device_person dp ON dp.device = s.primary "
        "ORDER BY dp.person, round(s.confidence, 9) DESC, s.second",
    )


def _swaps(engine: Engine) -> Rows:
    return _grouped(
        engine,
        "SELECT DISTINCT dp.person, w.old, w.new, w.kind, w.time, w.score, w.confidence, "
        "w.evidence FROM link_device_swap w "
        "JOIN link_device_person dp ON dp.device = split_part(w.old, '@', 1) "
        "OR dp.device = split_part(w.new, '@', 1) ORDER BY dp.person, w.time, w.old, w.new",
    )


def _vehicles(engine: Engine) -> Rows:
    """Vehicle links with the co-travel behind a primary-user link: the co-observations
    seen, on how many places and days, and the count expected by chance."""
    return _grouped(
        engine,
        "SELECT vp.person, vp.vehicle, vp.role, vp.confidence, vp.evidence, "
        "v.plate_kind, v.shared, v.primary_device, c.units AS co_observations, "
        "c.places AS co_places, c.days AS co_days, c.expected AS expected_by_chance, "
        "c.bits AS co_bits, r.make, r.model, r.colour "
        "FROM link_vehicle_person vp LEFT JOIN link_vehicle v ON v.vehicle = vp.vehicle "
        "LEFT JOIN cotravel_pair c ON c.kind = 'vehicle_device' AND c.a = vp.vehicle "
        "AND c.b = v.primary_device "
        "LEFT JOIN (SELECT plate_key, min(make) AS make, min(model) AS model, "
        "min(colour) AS colour FROM reg_vehicle GROUP BY plate_key) r "
        "ON r.plate_key = vp.vehicle "
        "ORDER BY vp.person, round(vp.confidence, 9) DESC, vp.vehicle, vp.role",
    )


def _home_work(engine: Engine) -> Rows:
    return _grouped(
        engine,
        "SELECT subject AS person, role, place_id, lat, lon, building, confidence, days, "
        "evidence FROM life_home_work WHERE subject_kind = 'person' ORDER BY subject, role",
    )


def _places(engine: Engine) -> Rows:
    return _grouped(
        engine,
        "SELECT subject AS person, place_id, lat, lon, radius_m, building, kind, stays, "
        "days, dwell_s, first_seen, last_seen FROM ("
        "  SELECT *, row_number() OVER (PARTITION BY subject ORDER BY round(dwell_s, 3) DESC, "
        "  place_id) AS k FROM life_place WHERE subject_kind = 'person'"
        f") WHERE k <= {MAX_PLACES} ORDER BY subject, round(dwell_s, 3) DESC, place_id",
    )


def _routine(engine: Engine) -> Rows:
    """Per person, the weekly slots (``dow * 24 + hour``) with their seconds present."""
    return _grouped(
        engine,
        "SELECT subject AS person, list(slot ORDER BY slot) AS slots, "
        "list(seconds ORDER BY slot) AS seconds FROM ("
        "  SELECT subject, dow * 24 + hour AS slot, sum(seconds) AS seconds "
        "  FROM life_routine WHERE subject_kind = 'person' GROUP BY subject, dow, hour"
        ") GROUP BY subject ORDER BY subject",
    )


def _profile(engine: Engine) -> Rows:
    return _grouped(
        engine,
        "SELECT subject AS person, days_observed, places, radius_of_gyration_m, regularity, "
        "entropy_random, entropy_uncorrelated, entropy_real, predictability_max "
        "FROM life_profile WHERE subject_kind = 'person' ORDER BY subject",
    )


def _stays(engine: Engine) -> Rows:
    return _grouped(
        engine,
        "SELECT subject AS person, stay_id, started_at, finished_at, lat, lon, "
        f"uncertainty_m, place_id, n_obs, sources, list_slice(obs_ids, 1, {MAX_CITES}) "
        "AS obs_ids FROM ("
        "  SELECT *, row_number() OVER (PARTITION BY subject ORDER BY started_at DESC) AS k "
        f"  FROM life_stay WHERE subject_kind = 'person') WHERE k <= {MAX_TIMELINE} "
        "ORDER BY subject, started_at, stay_id",
    )


def _anomalies(engine: Engine) -> Rows:
    return _grouped(
        engine,
        "SELECT subject AS person, anomaly_id, kind, started_at, finished_at, place_id, "
        "lat, lon, score, baseline, evidence FROM life_anomaly "
        "WHERE subject_kind = 'person' ORDER BY subject, started_at, anomaly_id",
    )


def _contacts(engine: Engine) -> Rows:
    return _grouped(
        engine,
        "SELECT person, other, other_kind, events, calls, sms, call_s, reciprocity, days, "
        "first_at, last_at, listed, second_phone_events, weight, evidence, obs_ids FROM ("
        "  SELECT *, row_number() OVER (PARTITION BY person ORDER BY round(weight, 9) DESC, other) "
        "  AS k FROM ("
        "    SELECT a AS person, b AS other, b_kind AS other_kind, * EXCLUDE (a, b) "
        "    FROM net_contact WHERE a_kind = 'person' UNION ALL "
        "    SELECT b AS person, a AS other, a_kind AS other_kind, * EXCLUDE (a, b) "
        "    FROM net_contact WHERE b_kind = 'person'))"
        f" WHERE k <= {MAX_CONTACTS} ORDER BY person, round(weight, 9) DESC, other",
    )


def _meetings(engine: Engine) -> Rows:
    return _grouped(
        engine,
        # the other members through a grouped self-join: a correlated subquery with
        # `<>` in its condition is not decorrelated by Spark (it ran for many minutes)
        "WITH w AS (SELECT me.meeting_id, me.subject, "
        "                  list(o.subject ORDER BY o.subject) AS with_subjects "
        "           FROM net_meeting_member me JOIN net_meeting_member o "
        "             ON o.meeting_id = me.meeting_id AND o.subject <> me.subject "
        "           WHERE me.subject_kind = 'person' GROUP BY me.meeting_id, me.subject) "
        "SELECT me.subject AS person, m.meeting_id, m.building, m.lat, m.lon, "
        "m.started_at, m.finished_at, m.participants, m.place_entropy, m.privacy, "
        "m.discreet, m.score, m.evidence, me.stay_id, me.sources, w.with_subjects "
        "FROM net_meeting_member me JOIN net_meeting m ON m.meeting_id = me.meeting_id "
        "LEFT JOIN w ON w.meeting_id = me.meeting_id AND w.subject = me.subject "
        "WHERE me.subject_kind = 'person' ORDER BY person, m.started_at, m.meeting_id",
    )


def _hidden_ties(engine: Engine) -> Rows:
    return _grouped(
        engine,
        "SELECT person, other, kind, meetings, contact_events, second_phone_events, score, "
        "evidence FROM ("
        "  SELECT a AS person, b AS other, * EXCLUDE (a, b) FROM net_hidden_tie "
        "  WHERE a_kind = 'person' UNION ALL "
        "  SELECT b AS person, a AS other, * EXCLUDE (a, b) FROM net_hidden_tie "
        "  WHERE b_kind = 'person') ORDER BY person, round(score, 9) DESC, other, kind",
    )


def _network(engine: Engine) -> Rows:
    return _grouped(
        engine,
        "SELECT c.subject AS person, c.community, c.degree, c.strength, c.betweenness, "
        "c.betweenness_exact, c.rank_in_community, k.size AS community_size "
        "FROM net_centrality c JOIN net_community k ON k.subject = c.subject "
        "WHERE c.subject_kind = 'person' ORDER BY c.subject",
    )


def _community_top(engine: Engine) -> dict[int, list[str]]:
    top: dict[int, list[str]] = defaultdict(list)
    for community, subject in engine.fetch_rows(
        "SELECT community, subject FROM net_centrality "
        f"WHERE rank_in_community <= {MAX_COMMUNITY_TOP} "
        "ORDER BY community, rank_in_community, subject"
    ):
        top[community].append(subject)
    return top


def _exposure(engine: Engine, table: str) -> Rows:
    return _grouped(engine, f"SELECT * FROM {table} ORDER BY ALL", key="subject")


def display_names(records: Rows) -> dict[str, str]:
    """The name a person is shown under: the most frequent full name of their records
    as written (ties broken alphabetically), else the normalised Latin form."""
    names: dict[str, str] = {}
    for person, rows in records.items():
        counts: dict[str, int] = defaultdict(int)
        for r in rows:
            name = _record_name(r)
            if name:
                counts[str(name)] += 1
        if counts:
            names[person] = min(counts, key=lambda n: (-counts[n], n))
    return names


def _record_name(r: dict[str, Any]) -> str | None:
    """A record's name as written: the full name, else given and family name (some
    registries keep only the parts), else the normalised Latin form."""
    if r.get("full_name"):
        return str(r["full_name"])
    parts = [str(r[c]) for c in ("given_name", "family_name") if r.get(c)]
    if parts:
        return " ".join(parts)
    return str(r["full_name_latin"]) if r.get("full_name_latin") else None


def _trips(stays: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A trip between each pair of consecutive stays (from the first's end to the next's
    start), with the straight-line distance; the stays are its evidence."""
    trips = []
    for a, b in itertools.pairwise(stays):
        distance = metres(a["lat"], a["lon"], b["lat"], b["lon"])
        trips.append(
            {
                "started_at": a["finished_at"],
                "finished_at": b["started_at"],
                "from_place_id": a["place_id"],
                "to_place_id": b["place_id"],
                "distance_m": round(distance, 1),
                "cites": [f"life_stay:{a['stay_id']}", f"life_stay:{b['stay_id']}"],
            }
        )
    return trips


def metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Distance in metres (equirectangular, good to a few metres within a city); NaN
    when a coordinate is missing."""
    if None in (lat1, lon1, lat2, lon2):
        return float("nan")
    k = math.cos(math.radians((lat1 + lat2) / 2))
    return 6_371_000.0 * math.hypot(math.radians(lat2 - lat1), math.radians(lon2 - lon1) * k)


def _heatmap(rows: list[dict[str, Any]]) -> list[list[float]]:
    """7 x 24 hours observed present (Monday first), summed over places."""
    grid = [[0.0] * 24 for _ in range(7)]
    for r in rows:
        for slot, seconds in zip(r["slots"], r["seconds"], strict=True):
            grid[slot // 24][slot % 24] = round(seconds / 3600.0, 3)
    return grid


class Sections:
    """Every section's rows for every person, fetched once."""

    def __init__(self, engine: Engine) -> None:
        from tessera.exposure import tables as exposure

        self.people = people(engine)
        self.records = _records(engine)
        self.names = display_names(self.records)
        self.matches = _matches(engine)
        self.devices = _devices(engine)
        self.second_phones = _second_phones(engine)
        self.swaps = _swaps(engine)
        self.vehicles = _vehicles(engine)
        self.home_work = _home_work(engine)
        self.places = _places(engine)
        self.routine = _routine(engine)
        self.profile = _profile(engine)
        self.stays = _stays(engine)
        self.anomalies = _anomalies(engine)
        self.contacts = _contacts(engine)
        self.meetings = _meetings(engine)
        self.hidden = _hidden_ties(engine)
        self.network = _network(engine)
        self.community_top = _community_top(engine)
        self.exposure = {t: _exposure(engine, t) for t in exposure.DOSSIER_TABLES}
        self.built_at = _plain(engine.fetch_rows("SELECT max(finished_at) FROM stage_run")[0][0])

    def name(self, subject: str) -> str | None:
        return self.names.get(subject)


def assemble_one(s: Sections, person: str, generated_at: str) -> dict[str, Any]:
    """The dossier of one person as a JSON-ready dict (see :mod:`tessera.dossier.schema`)."""
    from tessera.dossier.summary import summarise

    records = s.records.get(person, [])
    for r in records:
        r["cites"] = [f"record:{r['source']}:{r['record_id']}", f"obs:{r['obs_id']}"]
    names = sorted(
        {str(r[c]) for r in records for c in ("full_name", "full_name_latin") if r.get(c)}
        | {n for r in records if (n := _record_name(r))}
    )
    organisations = sorted(
        {
            str(r.get("organisation_latin") or r["organisation"])
            for r in records
            if r.get("organisation")
        }
    )
    roles = sorted({str(r["role"]) for r in records if r.get("role")})
    matches = s.matches.get(person, [])
    for m in matches:
        m["cites"] = [f"record:{m['record_a']}", f"record:{m['record_b']}"]

    devices = s.devices.get(person, [])
    for d in devices:
        d["role"] = "phone"
        d["chance_baseline"] = {
            "kind": "runner_up_confidence",
            "value": d.get("runner_up"),
            "meaning": "confidence of the best other person this device could belong to",
        }
        d["cites"] = [f"link_device_person:{d['device']}"]
    seconds = s.second_phones.get(person, [])
    for p in seconds:
        p["cites"] = [f"link_second_phone:{p['primary_device']}:{p['second']}"]
    swaps = s.swaps.get(person, [])
    for w in swaps:
        w["cites"] = [f"link_device_swap:{w['old']}:{w['new']}"]
    vehicles = s.vehicles.get(person, [])
    for v in vehicles:
        v["chance_baseline"] = {
            "kind": "expected_co_observations",
            "value": v.pop("expected_by_chance"),
            "observed": v.get("co_observations"),
            "meaning": "co-observations of this vehicle and its primary device expected "
            "by chance from the background traffic at those places and hours",
        }
        v["cites"] = [f"link_vehicle_person:{v['vehicle']}:{v['role']}"]

    home_work = {r["role"]: r for r in s.home_work.get(person, [])}
    for role, r in home_work.items():
        r["cites"] = [f"life_home_work:{person}:{role}"]
    places = s.places.get(person, [])
    for p in places:
        p["cites"] = [f"life_place:{person}:{p['place_id']}"]

    stays = s.stays.get(person, [])
    timeline: list[dict[str, Any]] = []
    for st in stays:
        timeline.append(
            {
                "kind": "stay",
                "started_at": st["started_at"],
                "finished_at": st["finished_at"],
                "place_id": st["place_id"],
                "lat": st["lat"],
                "lon": st["lon"],
                "detail": f"{st['n_obs']} observations from {', '.join(st['sources'] or [])}",
                "cites": [f"life_stay:{st['stay_id']}", *_cites(st.get("obs_ids"))],
            }
        )
    for tr in _trips(stays):
        timeline.append(
            {
                "kind": "trip",
                "started_at": tr["started_at"],
                "finished_at": tr["finished_at"],
                "place_id": tr["to_place_id"],
                "lat": None,
                "lon": None,
                "detail": f"{tr['distance_m']:.0f} m from place {tr['from_place_id']}",
                "cites": tr["cites"],
            }
        )
    meetings = s.meetings.get(person, [])
    for m in meetings[:MAX_MEETINGS]:
        m["with_names"] = [s.name(o) for o in (m.get("with_subjects") or [])]
        m["cites"] = [f"net_meeting:{m['meeting_id']}", f"life_stay:{m['stay_id']}"]
        timeline.append(
            {
                "kind": "meeting",
                "started_at": m["started_at"],
                "finished_at": m["finished_at"],
                "place_id": None,
                "lat": m["lat"],
                "lon": m["lon"],
                "detail": f"with {', '.join(m.get('with_subjects') or [])}",
                "cites": m["cites"],
            }
        )
    anomalies = s.anomalies.get(person, [])
    for a in anomalies:
        a["cites"] = [f"life_anomaly:{person}:{a['anomaly_id']}"]
        timeline.append(
            {
                "kind": "anomaly",
                "started_at": a["started_at"],
                "finished_at": a["finished_at"],
                "place_id": a["place_id"],
                "lat": a["lat"],
                "lon": a["lon"],
                "detail": f"{a['kind']} (score {a['score']}, baseline {a['baseline']})",
                "cites": a["cites"],
            }
        )
    timeline.sort(key=lambda e: (e["started_at"] or "", e["kind"]))

    contacts = s.contacts.get(person, [])
    for c in contacts:
        c["other_name"] = s.name(c["other"])
        c["cites"] = [f"net_contact:{min(person, c['other'])}:{max(person, c['other'])}"]
        c["cites"] += _cites(c.pop("obs_ids"))
    hidden = s.hidden.get(person, [])
    for h in hidden:
        h["other_name"] = s.name(h["other"])
        h["cites"] = [f"net_hidden_tie:{min(person, h['other'])}:{max(person, h['other'])}"]
    network_rows = s.network.get(person, [])
    network: dict[str, Any] | None = None
    if network_rows:
        network = dict(network_rows[0])
        top = s.community_top.get(network["community"], [])
        network["community_top"] = [{"subject": t, "name": s.name(t)} for t in top]
        network["cites"] = [f"net_centrality:{person}"]

    exposure = _exposure_section(s, person)
    profile = s.profile.get(person, [None])[0]
    dossier: dict[str, Any] = {
        "schema": SCHEMA_ID,
        "person": person,
        "name": s.name(person),
        "generated_at": generated_at,
        "built_at": s.built_at,
        "identities": {
            "names": names,
            "organisations": organisations,
            "roles": roles,
            "records": records,
            "matches": matches,
        },
        "identifiers": {
            "devices": devices,
            "second_phones": seconds,
            "swaps": swaps,
            "vehicles": vehicles,
        },
        "places": {
            "home": home_work.get("home"),
            "work": home_work.get("work"),
            "significant": places,
        },
        "routine": {
            "heatmap_hours": _heatmap(s.routine.get(person, [])),
            "profile": profile,
            "cites": [f"life_routine:{person}", f"life_profile:{person}"],
        },
        "timeline": timeline,
        "contacts": contacts,
        "meetings": meetings[:MAX_MEETINGS],
        "hidden_ties": hidden,
        "network": network,
        "anomalies": anomalies,
        "exposure": exposure,
    }
    dossier["summary"] = summarise(dossier)
    return dossier


def _exposure_section(s: Sections, person: str) -> dict[str, Any] | None:
    from tessera.exposure import tables as exposure

    person_rows = s.exposure[exposure.PERSON].get(person, [])
    if not person_rows:
        return None
    section: dict[str, Any] = dict(person_rows[0])
    section["cites"] = [f"{exposure.PERSON}:{person}"]
    section["links"] = s.exposure[exposure.LINK].get(person, [])
    section["contacts"] = s.exposure[exposure.CONTACT].get(person, [])
    for c in section["contacts"]:
        c["cites"] = _cites(c.pop("obs_ids", None))
    section["whatif"] = s.exposure[exposure.WHATIF].get(person, [])
    for w in section["whatif"]:
        w["cites"] = [f"{exposure.WHATIF}:{person}:{w['countermeasure']}"]
    return section


def assemble(engine: Engine, persons: list[str] | None = None) -> Iterator[dict[str, Any]]:
    """Every person's dossier (or those named), assembled from one fetch of each table."""
    sections = Sections(engine)
    generated_at = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
    for person in sections.people if persons is None else persons:
        yield assemble_one(sections, person, generated_at)
