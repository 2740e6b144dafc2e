"""Where each significant place is, what kind it is, and which are home and work.

**Where.** All of a place's cell observations together locate it: for every building in
reach, the log-likelihood of the place's sector counts (distinct half hours per sector,
``_life_place_sector``) under the coverage model (:mod:`tessera.life.coverage`), each
term floored at ``log(EPS)`` so that one stray sector cannot veto a building; the place
is the posterior mean position over buildings (a uniform prior), its radius the
posterior root mean square distance, its building the most likely one and its kind that
building's use in ``reg_address``. Three or more GPS-grade fixes at the place override
the position (their mean). A home is located again with residential buildings only
(people live in homes), which is what ``life_home_work`` reports for it.

**Home** is the place with the most nights (local days with at least ``HOME_NIGHT_S``
between 00:00 and 06:00 there); its confidence is the share of the subject's observed
nights spent there. **Work** is the place, at least ``WORK_APART_M`` from home, with the
most weekdays with ``WORK_DAY_S`` between 08:00 and 18:00 there, at least
``WORK_MIN_DAYS`` of them (on a tie, the one with more seconds in those hours over all
weekdays, then the smaller ``place_id``, so that the choice does not depend on the
engine's row order); its confidence is the share of observed weekdays. Hours are
read in the workspace's local zone (:func:`tessera.life.settings.local_timezone`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from tessera.life import tables
from tessera.life.coverage import COVERAGE
from tessera.life.settings import local_timezone
from tessera.life.stays import PLACE_GPS, PLACE_SECTORS, SECTOR_CODES
from tessera.link.keys import haversine_sql

if TYPE_CHECKING:
    from tessera.engines.base import Engine, TempFn

EPS = 1e-3
EVIDENCE_N = 10.0
GPS_MIN_FIXES = 3
HOME_NIGHT_S = 2 * 3600
WORK_DAY_S = 3 * 3600
WORK_MIN_DAYS = 2
WORK_APART_M = 250.0


def posterior_weights_sql(
    hist: str, residential_only: bool = False, coverage: str = COVERAGE
) -> str:
    """``(place_id, building, lat, lon, use, w)`` from a ``(place_id, sensor_id, n)``
    histogram: the unnormalised posterior weight ``w`` (1 for the most likely) of every
    building in reach of the place's sectors (``coverage``: a table laid out as
    :data:`~tessera.life.coverage.COVERAGE`), residential ones only if asked."""
    where = "WHERE a.use = 'residential'" if residential_only else ""
    return f"""
WITH f AS (SELECT place_id, sensor_id, n / sum(n) OVER (PARTITION BY place_id) AS f FROM {hist}),
sc AS (SELECT f.place_id, c.building, any_value(c.lat) AS lat, any_value(c.lon) AS lon,
              {EVIDENCE_N} * sum(f.f * greatest(0, ln(c.p) - ln({EPS}))) AS score
       FROM f JOIN {coverage} c USING (sensor_id) GROUP BY f.place_id, c.building),
ka AS (SELECT record_id AS building, any_value(use) AS use FROM reg_address GROUP BY record_id),
k AS (SELECT sc.*, a.use FROM sc JOIN ka a USING (building) {where})
SELECT place_id, building, lat, lon, use, exp(score - max(score) OVER (PARTITION BY place_id)) AS w
FROM k
"""


def posterior_sql(hist: str, residential_only: bool = False, coverage: str = COVERAGE) -> str:
    """``(place_id, lat, lon, radius_m, building, kind)`` from a ``(place_id, sensor_id,
    n)`` histogram: the posterior over the buildings in reach of the place's sectors
    (weights from :func:`posterior_weights_sql`)."""
    dist = haversine_sql("m.lat", "m.lon", "w.lat", "w.lon")
    return f"""
WITH w AS ({posterior_weights_sql(hist, residential_only, coverage)}),
m AS (SELECT place_id, sum(w * lat) / sum(w) AS lat, sum(w * lon) / sum(w) AS lon,
             arg_max(building, w) AS building, arg_max(use, w) AS kind
      FROM w GROUP BY place_id)
SELECT m.place_id, m.lat, m.lon, sqrt(sum(w.w * pow({dist}, 2)) / sum(w.w)) AS radius_m,
       m.building, m.kind
FROM m JOIN w USING (place_id)
GROUP BY m.place_id, m.lat, m.lon, m.building, m.kind
"""


def _posterior(engine: Engine, temp: TempFn) -> Callable[[str, str, bool], None]:
    """A function ``where(name, hist, residential_only)`` that makes the temporary
    table ``name`` :func:`posterior_sql` defines for the ``(place_id, sec, n)``
    histogram ``hist`` (``sec`` the sector numbers of
    :data:`~tessera.life.stays.SECTOR_CODES`) by a compiled pass
    (:func:`tessera.life.kernels.posterior`), instead of a join of every place's
    sectors with every building they reach: each place's sector shares are spread over
    the coverage rows of its sectors (buildings numbered in ``record_id`` order, the
    floored log-likelihood terms computed in SQL as in :func:`posterior_sql`), then
    come the weights, the mean, the most likely building (the smaller ``record_id`` on
    an exact tie, which the SQL leaves to the engine) and the root mean square
    distance. The buildings and the coverage are read once, here."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from tessera.life import kernels

    temp(
        "_life_building",
        f"""
WITH ka AS (SELECT record_id AS building, any_value(use) AS use FROM reg_address
            GROUP BY record_id),
cb AS (SELECT building, any_value(lat) AS lat, any_value(lon) AS lon FROM {COVERAGE}
       GROUP BY building)
SELECT CAST(row_number() OVER (ORDER BY building) - 1 AS INTEGER) AS bi, cb.building,
       cb.lat, cb.lon, ka.use
FROM cb JOIN ka USING (building)
""",
    )
    bld = engine.fetch_arrow("SELECT building, lat, lon, use FROM _life_building ORDER BY bi")
    [(n_sec,)] = engine.fetch_rows(f"SELECT count(*) FROM {SECTOR_CODES}")
    cov = engine.fetch_arrow(
        f"SELECT sc.sec, b.bi, greatest(0, ln(c.p) - ln({EPS})) AS term "
        f"FROM {COVERAGE} c JOIN _life_building b USING (building) "
        f"JOIN {SECTOR_CODES} sc USING (sensor_id) ORDER BY sc.sec, b.bi"
    )
    c_sec = cov.column("sec").to_numpy()
    c_start = np.searchsorted(c_sec, np.arange(int(n_sec) + 1), side="left")
    c_bld = cov.column("bi").to_numpy()
    c_term = cov.column("term").to_numpy()
    b_lat = bld.column("lat").to_numpy(zero_copy_only=False)
    b_lon = bld.column("lon").to_numpy(zero_copy_only=False)
    ok = {
        False: np.ones(bld.num_rows, dtype=np.bool_),
        True: pc.fill_null(pc.equal(bld.column("use"), "residential"), False).to_numpy(),
    }
    schema = pa.schema(
        [
            ("place_id", pa.int64()),
            ("lat", pa.float64()),
            ("lon", pa.float64()),
            ("radius_m", pa.float64()),
            ("building", pa.string()),
            ("kind", pa.string()),
        ]
    )

    def where(name: str, hist: str, residential_only: bool) -> None:
        h = engine.fetch_arrow(f"SELECT place_id, sec, n FROM {hist} ORDER BY place_id, sec")
        place = h.column("place_id").to_numpy()
        new = np.flatnonzero(np.r_[len(place) > 0, place[1:] != place[:-1]])
        lat, lon, radius, best = kernels.posterior(
            np.r_[new, len(place)],
            h.column("sec").to_numpy(),
            h.column("n").to_numpy(),
            c_start,
            c_bld,
            c_term,
            b_lat,
            b_lon,
            ok[residential_only],
            EVIDENCE_N,
        )
        found = best >= 0
        at = pa.array(best[found], pa.int64())
        engine.create_temp_table(name, schema)
        engine.append_arrow(
            name,
            pa.table(
                {
                    "place_id": pa.array(place[new][found], pa.int64()),
                    "lat": lat[found],
                    "lon": lon[found],
                    "radius_m": radius[found],
                    "building": bld.column("building").take(at),
                    "kind": bld.column("use").take(at),
                },
                schema=schema,
            ),
        )

    return where


def _day_parts_sql(zone: str) -> str:
    """Per stay and local day: seconds at night (00-06) and in weekday work hours (08-18)."""
    z = zone.replace("'", "''")
    return f"""
WITH s AS (SELECT subject, subject_kind, place_id, timezone('{z}', started_at) AS a,
                  timezone('{z}', finished_at) AS b FROM {tables.STAY}),
d AS (SELECT *, unnest(generate_series(date_trunc('day', a), date_trunc('day', b),
                                       INTERVAL 1 DAY)) AS day FROM s)
SELECT subject, subject_kind, place_id, day,
       greatest(0, epoch(least(b, day + INTERVAL 6 HOUR)) - epoch(greatest(a, day))) AS night_s,
       CASE WHEN isodow(day) <= 5
            THEN greatest(0, epoch(least(b, day + INTERVAL 18 HOUR))
                             - epoch(greatest(a, day + INTERVAL 8 HOUR)))
            ELSE 0 END AS work_s,
       greatest(0, epoch(least(b, day + INTERVAL 1 DAY)) - epoch(greatest(a, day))) AS day_s
FROM d
"""


def locate(engine: Engine, temp: TempFn) -> dict[str, int]:
    """Write :data:`tables.PLACE` and :data:`tables.HOME_WORK` from the stays and the
    temporary tables :func:`tessera.life.stays.detect` left."""
    zone = local_timezone(engine)
    where = _posterior(engine, temp)
    where("_life_where", PLACE_SECTORS, False)
    temp("_life_parts", _day_parts_sql(zone))
    n_place = engine.materialise(
        tables.PLACE,
        f"""
WITH g AS (SELECT * FROM {PLACE_GPS} WHERE n >= {GPS_MIN_FIXES}),
st AS (SELECT subject, any_value(subject_kind) AS subject_kind, place_id,
              CAST(count(*) AS INTEGER) AS stays,
              sum(epoch(finished_at) - epoch(started_at)) AS dwell_s,
              min(started_at) AS first_seen, max(finished_at) AS last_seen,
              avg(lat) AS lat, avg(lon) AS lon
       FROM {tables.STAY} GROUP BY subject, place_id),
dy AS (SELECT place_id, CAST(count(DISTINCT day) AS INTEGER) AS days FROM _life_parts
       WHERE day_s > 0 GROUP BY place_id)
SELECT st.subject, st.subject_kind, st.place_id,
       coalesce(g.lat, w.lat, st.lat) AS lat, coalesce(g.lon, w.lon, st.lon) AS lon,
       CASE WHEN g.place_id IS NOT NULL THEN 50.0 ELSE w.radius_m END AS radius_m,
       w.building, coalesce(w.kind, 'unknown') AS kind, st.stays, coalesce(dy.days, 0) AS days,
       st.dwell_s, st.first_seen, st.last_seen
FROM st LEFT JOIN _life_where w USING (place_id) LEFT JOIN g USING (place_id)
LEFT JOIN dy USING (place_id)
""",
    )
    temp(
        "_life_home",
        f"""
WITH n AS (SELECT subject, any_value(subject_kind) AS subject_kind, place_id,
                  count(DISTINCT day) FILTER (WHERE night_s >= {HOME_NIGHT_S}) AS nights,
                  sum(night_s) AS night_s
           FROM _life_parts GROUP BY subject, place_id),
o AS (SELECT subject, count(DISTINCT day) AS observed FROM _life_parts WHERE night_s > 0
      GROUP BY subject)
SELECT n.subject, n.subject_kind, arg_max(n.place_id, n.nights * 1e7 + n.night_s) AS place_id,
       max(n.nights) AS nights, any_value(o.observed) AS observed
FROM n JOIN o USING (subject) WHERE n.nights > 0 GROUP BY n.subject, n.subject_kind
""",
    )
    temp(
        "_life_home_hist",
        f"SELECT h.place_id, s.sec, s.n FROM _life_home h JOIN {PLACE_SECTORS} s USING (place_id)",
    )
    where("_life_home_where", "_life_home_hist", True)
    apart = haversine_sql("hp.lat", "hp.lon", "p.lat", "p.lon")
    n_hw = engine.materialise(
        tables.HOME_WORK,
        f"""
WITH hp AS (SELECT h.subject, h.subject_kind, h.place_id, h.nights, h.observed,
                   coalesce(g.lat, r.lat, p.lat) AS lat, coalesce(g.lon, r.lon, p.lon) AS lon,
                   coalesce(r.building, p.building) AS building
            FROM _life_home h JOIN {tables.PLACE} p USING (subject, place_id)
            LEFT JOIN _life_home_where r USING (place_id)
            LEFT JOIN (SELECT * FROM {PLACE_GPS} WHERE n >= {GPS_MIN_FIXES}) g USING (place_id)),
wd AS (SELECT subject, place_id,
              count(DISTINCT day) FILTER (WHERE work_s >= {WORK_DAY_S}) AS days,
              sum(work_s) AS work_s
       FROM _life_parts GROUP BY subject, place_id),
ow AS (SELECT subject, count(DISTINCT day) AS observed FROM _life_parts
       WHERE isodow(day) <= 5 AND day_s > 0 GROUP BY subject),
wc AS (SELECT wd.subject, p.subject_kind, wd.place_id, wd.days, p.lat, p.lon, p.building,
              ow.observed, {{'d': wd.days, 's': wd.work_s, 'p': -wd.place_id}} AS rank
       FROM wd JOIN {tables.PLACE} p USING (subject, place_id) JOIN ow USING (subject)
       LEFT JOIN hp USING (subject)
       WHERE wd.days >= {WORK_MIN_DAYS}
         AND (hp.place_id IS NULL OR (wd.place_id <> hp.place_id AND {apart} >= {WORK_APART_M}))),
w AS (SELECT subject, any_value(subject_kind) AS subject_kind,
             arg_max(place_id, rank) AS place_id, max(days) AS days,
             arg_max(lat, rank) AS lat, arg_max(lon, rank) AS lon,
             arg_max(building, rank) AS building, any_value(observed) AS observed
      FROM wc GROUP BY subject)
SELECT subject, subject_kind, 'home' AS role, place_id, lat, lon, building,
       nights / observed AS confidence, CAST(nights AS INTEGER) AS days,
       to_json({{'nights_here': nights, 'nights_observed': observed}})::VARCHAR AS evidence
FROM hp
UNION ALL
SELECT subject, subject_kind, 'work', place_id, lat, lon, building,
       days / observed, CAST(days AS INTEGER),
       to_json({{'weekdays_here': days, 'weekdays_observed': observed}})::VARCHAR
FROM w
""",
    )
    return {tables.PLACE: n_place, tables.HOME_WORK: n_hw}
