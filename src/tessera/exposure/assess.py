"""The ``exposure`` stage: how exposed each person is to this analysis, and what helps.

**Points.** A subject's trace is the set of its (place, UTC hour) points. The place of
a cell event is its sector's site (``sensor.site_id``, else the ``sensor_id``); of a
GPS-grade fix without a sensor, a :data:`GRID_M` metre grid cell; of a plate read, the
camera. Device events reach device keys as everywhere else
(:func:`tessera.link.keys.device_events_sql`) and device keys their person through
``link_device_person`` (as the ``stays`` stage does); plate reads reach a vehicle
through ``link_plate_read``'s corrected plate and a vehicle its person through
``link_vehicle_person`` (the person with the highest combined confidence). The
*population* is every subject: each person with all their devices and vehicles, and
every unattributed device (its key) and vehicle (``vehicle:<plate>``) alone.

**Components** (one row per person in ``exposure_person``):

- ``unicity_p`` for ``p = 1 .. 4`` (:mod:`tessera.exposure.unicity`): the share of
  :data:`~tessera.exposure.unicity.DRAWS` random sets of ``p`` of the person's points
  that no other subject has all of; ``points_to_single_out``: the least ``p`` with
  ``unicity_p >= 0.5`` (NULL if none up to 4).
- ``predictability_max`` and ``regularity`` from ``life_profile``.
- ``linkability`` (:mod:`tessera.exposure.links`): ``1 - prod(1 - confidence_i)`` over
  the person's identifier links, and ``link_sources``, the source tables behind them.

**Exposure**::

    T = mean over p = 1..4 of unicity_p   (a p beyond the trace's length takes the
                                           value of the whole trace)
    P = predictability_max                (0 when life_profile has none)
    exposure = L * T * (1 + P) / 2

Exposure needs both the name tied to the identifiers (``L``) *and* a trace that gives
the person away: a trace a few known points single out (``T``; averaging over ``p``
rewards needing fewer points) and, on top of it, one that predicts where they will be
(``P``: a fully predictable trace counts in full, an unpredictable one half, since it
still reveals where they were). The score is 0 without linked identifiers or without a
singling-out trace, and increases with each component.

**What-ifs** (``exposure_whatif``). Each countermeasure removes *observations* from the
person's trace; a point survives while one of its observations does; the components
are recomputed against the same population (the other subjects unchanged) with the
same random draws:

- ``second_phone_off``: events of the person's second phones (``link_second_phone``
  seconds attributed to them) go, and so do their links; stays made only of those
  events go and predictability is recomputed;
- ``no_personal_car``: the plate reads of the person's vehicles and the vehicle links go,
  and ``vehicle_keeper`` evidence leaves the device links (their confidence combined
  again from the rest);
- ``varied_routes``: observations outside every stay at a place, at a place (site,
  camera, grid cell) where the person is seen outside stays on more than one day, are
  kept on the first such day only (the route no longer repeats; *approximation*: the
  varied trips are not replaced by new ones, which would add points);
  predictability is read from stays at places, which this does not touch, so it is
  unchanged;
- ``fewer_regular_places``: observations in stays at places other than home and work
  go, and so do those stays; predictability is recomputed on the remaining stays
  (:func:`tessera.life.routine.prepare_slices` and the Lempel-Ziv entropy and Fano
  bound of :mod:`tessera.life.routine`: the same hourly sequence as ``routine``).

A row is written only for a countermeasure that applies to the person: a second phone,
a vehicle, a route point that recurs, a place other than home and work.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from tessera.errors import StageError
from tessera.exposure import links, tables
from tessera.exposure import unicity as uni
from tessera.link.keys import device_events_sql

if TYPE_CHECKING:
    import pyarrow as pa

    from tessera.engines.base import Engine, TempFn

GRID_M = 250.0
M_PER_DEG = 111_195.0
THRESHOLD = 0.5

# scenario bits of an observation: it survives the countermeasure
BASE, SECOND_OFF, NO_CAR, VARIED, FEWER = 1, 2, 4, 8, 16
SCENARIO_BIT = {
    "second_phone_off": SECOND_OFF,
    "no_personal_car": NO_CAR,
    "varied_routes": VARIED,
    "fewer_regular_places": FEWER,
}


def _grid_key(lat: str, lon: str) -> str:
    """A BIGINT key of the :data:`GRID_M` cell of a point, above every dictionary key."""
    y = f"(CAST(floor({lat} * {M_PER_DEG} / {GRID_M}) AS BIGINT) + 100000)"
    x = (
        f"(CAST(floor({lon} * {M_PER_DEG} * cos(radians(floor({lat}))) / {GRID_M}) AS BIGINT)"
        " + 100000)"
    )
    return f"(1000000000000 + {y} * 1000000 + {x})"


def prepare_points(temp: TempFn) -> None:
    """Temporary tables of the traces: ``_exp_subject`` (code, subject, kind),
    ``_exp_obs`` (one row per located observation: code, ident, second, vehicle, pk,
    h, obs_id), ``_exp_agg`` (per subject, identifier and point), ``_exp_pt`` (pk, h,
    point: the points numbered) and ``_exp_mask`` (code, point, mask: the scenario bits
    that keep each point)."""
    temp(
        "_exp_dev",
        "SELECT d.device, coalesce(p.person, d.device) AS subject, "
        "CASE WHEN p.person IS NULL THEN 'device' ELSE 'person' END AS kind, "
        "CAST(row_number() OVER (ORDER BY d.device) AS BIGINT) AS dk "
        "FROM (SELECT device FROM link_device UNION SELECT device FROM link_device_person) d "
        "LEFT JOIN link_device_person p USING (device)",
    )
    temp(
        "_exp_veh",
        """
WITH c AS (SELECT vehicle, person, 1 - exp(sum(ln(greatest(1e-12, 1 - confidence)))) AS c
           FROM link_vehicle_person GROUP BY vehicle, person),
best AS (SELECT vehicle, person FROM c
         QUALIFY row_number() OVER (PARTITION BY vehicle ORDER BY c DESC, person) = 1)
SELECT r.plate AS vehicle, coalesce(b.person, 'vehicle:' || r.plate) AS subject,
       CASE WHEN b.person IS NULL THEN 'vehicle' ELSE 'person' END AS kind,
       -CAST(row_number() OVER (ORDER BY r.plate) AS BIGINT) AS dk
FROM (SELECT DISTINCT plate FROM link_plate_read WHERE plate IS NOT NULL) r
LEFT JOIN best b ON b.vehicle = r.plate
""",
    )
    temp(
        "_exp_subject",
        """
SELECT CAST(row_number() OVER (ORDER BY subject) - 1 AS BIGINT) AS code, subject, kind
FROM (SELECT subject, min(kind) AS kind FROM (
        SELECT subject, kind FROM _exp_dev UNION ALL SELECT subject, kind FROM _exp_veh
        UNION ALL SELECT person, 'person' FROM link_vehicle_person
        UNION ALL SELECT subject, 'person' FROM life_stay WHERE subject_kind = 'person')
      GROUP BY subject)
""",
    )
    temp(
        "_exp_place",
        """
WITH s AS (SELECT DISTINCT sensor_id FROM obs_device_event WHERE sensor_id IS NOT NULL),
site AS (SELECT s.sensor_id, 'site:' || coalesce(any_value(n.site_id), s.sensor_id) AS place
         FROM s LEFT JOIN sensor n USING (sensor_id) GROUP BY s.sensor_id),
cam AS (SELECT DISTINCT camera_id AS sensor_id, 'camera:' || camera_id AS place
        FROM obs_plate_read WHERE camera_id IS NOT NULL),
u AS (SELECT 'cell' AS kind, * FROM site UNION ALL SELECT 'camera', * FROM cam),
k AS (SELECT place, CAST(row_number() OVER (ORDER BY place) AS BIGINT) AS pk
      FROM (SELECT DISTINCT place FROM u))
SELECT u.kind, u.sensor_id, k.pk FROM u JOIN k USING (place)
""",
    )
    temp(
        "_exp_obs",
        f"""
WITH e AS ({device_events_sql()})
SELECT s.code, d.dk AS ident, sp.device IS NOT NULL AS second, false AS vehicle,
       coalesce(pl.pk, {_grid_key("e.lat", "e.lon")}) AS pk,
       CAST(floor(epoch(e.time) / 3600) AS BIGINT) AS h, e.obs_id
FROM e JOIN _exp_dev d USING (device) JOIN _exp_subject s ON s.subject = d.subject
LEFT JOIN _exp_place pl ON pl.kind = 'cell' AND pl.sensor_id = e.sensor_id
LEFT JOIN (SELECT device, person FROM _exp_second WHERE attributed) sp
  ON sp.device = e.device AND sp.person = d.subject
WHERE e.time IS NOT NULL AND (e.sensor_id IS NOT NULL OR (e.lat IS NOT NULL AND e.lon IS NOT NULL))
UNION ALL
SELECT s.code, v.dk, false, true, pl.pk, CAST(floor(epoch(r.time) / 3600) AS BIGINT),
       r.obs_id
FROM obs_plate_read r JOIN link_plate_read l USING (obs_id)
JOIN _exp_veh v ON v.vehicle = l.plate JOIN _exp_subject s ON s.subject = v.subject
JOIN _exp_place pl ON pl.kind = 'camera' AND pl.sensor_id = r.camera_id
WHERE r.time IS NOT NULL
""",
    )
    # observations in a person's stays at a place, and whether that place is neither
    # home nor work
    temp(
        "_exp_stay_obs",
        """
SELECT unnest(s.obs_ids) AS obs_id, s.stay_id, hw.place_id IS NULL AS other
FROM life_stay s
LEFT JOIN (SELECT DISTINCT subject, place_id FROM life_home_work) hw
  ON hw.subject = s.subject AND hw.place_id = s.place_id
WHERE s.place_id IS NOT NULL AND s.subject_kind = 'person'
""",
    )
    # one row per (subject, identifier, place, hour): the scenario bits its observations
    # survive (any one surviving keeps the point), whether one lies in a stay at a place
    # and whether one lies outside every such stay
    temp(
        "_exp_agg",
        f"""
SELECT o.code, o.ident, o.pk, o.h,
       CAST(bit_or({BASE} | CASE WHEN NOT o.second THEN {SECOND_OFF} ELSE 0 END
                   | CASE WHEN NOT o.vehicle THEN {NO_CAR} ELSE 0 END
                   | CASE WHEN NOT coalesce(so.other, false) THEN {FEWER} ELSE 0 END)
            AS INTEGER) AS m,
       bool_or(so.obs_id IS NOT NULL) AS any_place, bool_or(so.obs_id IS NULL) AS any_outside
FROM _exp_obs o LEFT JOIN _exp_stay_obs so USING (obs_id)
GROUP BY o.code, o.ident, o.pk, o.h
""",
    )
    temp(
        "_exp_pt",
        "SELECT pk, h, CAST(row_number() OVER (ORDER BY pk, h) - 1 AS BIGINT) AS point "
        "FROM (SELECT DISTINCT pk, h FROM _exp_agg)",
    )
    # route places: seen outside stays on more than one UTC day
    temp(
        "_exp_route",
        "SELECT code, pk, min(h // 24) AS first_day FROM _exp_agg "
        "WHERE any_outside AND code IN (SELECT code FROM _exp_subject WHERE kind = 'person') "
        "GROUP BY code, pk HAVING count(DISTINCT h // 24) > 1",
    )
    temp(
        "_exp_mask",
        f"""
SELECT a.code, t.point,
       CAST(bit_or(a.m | CASE WHEN r.code IS NULL OR a.any_place OR a.h // 24 = r.first_day
                              THEN {VARIED} ELSE 0 END) AS INTEGER) AS mask
FROM _exp_agg a JOIN _exp_pt t USING (pk, h) LEFT JOIN _exp_route r USING (code, pk)
GROUP BY a.code, t.point
""",
    )


def _column(data: pa.Table, name: str, dtype: Any = np.int64) -> np.ndarray:
    return np.asarray(data.column(name).to_numpy(zero_copy_only=False), dtype=dtype)


def scenario_unicity(
    pop: tuple[np.ndarray, np.ndarray],
    code: np.ndarray,
    point: np.ndarray,
    n_points: int,
    who: np.ndarray,
    *,
    draws: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Unicity ``(len(who), 4)`` and point counts of the subjects ``who`` (sorted codes)
    over the (code, point) pairs given (a person absent from them has no points)."""
    sel = np.isin(code, who)
    codes, ptr, pts = uni.traces(code[sel], point[sel], n_points)
    # traces of every subject of who, empty where it has no points
    at = np.searchsorted(codes, who)
    if len(codes):
        has = (at < len(codes)) & (codes[np.minimum(at, len(codes) - 1)] == who)
    else:  # nobody has a point (a workspace of registries only)
        has = np.zeros(len(who), bool)
    lengths = np.zeros(len(who), np.int64)
    lengths[has] = np.diff(ptr)[at[has]]
    full_ptr = np.r_[0, np.cumsum(lengths)].astype(np.int64)
    order = np.concatenate(
        [pts[ptr[a] : ptr[a + 1]] for a in at[has]] or [np.zeros(0, np.int64)]
    ).astype(np.int64)
    out = np.full((len(who), uni.MAX_P), np.nan)
    for p in range(1, uni.MAX_P + 1):
        out[:, p - 1] = uni.unicity(pop, full_ptr, order, who, p, keys=who, draws=draws, seed=seed)
    return out, lengths


def exposure_score(linkability: Any, u: Any, predictability: Any) -> np.ndarray:
    """``L * T * (1 + P) / 2`` (see the module docstring) element-wise: ``u`` is
    (subjects, 4) unicity with NaN for a p beyond the trace, ``predictability`` NaN
    where unknown (counted 0)."""
    lk = np.nan_to_num(np.asarray(linkability, dtype=np.float64), nan=0.0)
    t = uni.effective(np.atleast_2d(np.asarray(u, dtype=np.float64))).mean(axis=1)
    pr = np.nan_to_num(np.asarray(predictability, dtype=np.float64), nan=0.0)
    return np.asarray(np.clip(lk * t * (1 + pr) / 2, 0.0, 1.0))


def predictability_of(engine: Engine, temp: TempFn, stays: str) -> dict[str, float]:
    """Fano's bound on each subject's hourly place sequence from ``stays`` (a table laid
    out as ``life_stay``), built as :mod:`tessera.life.routine` builds it: local hours,
    the place of most seconds in each, the Lempel-Ziv entropy; NaN below
    :data:`tessera.life.routine.MIN_SEQUENCE_HOURS` known hours."""
    from tessera.life import routine
    from tessera.life.settings import local_timezone

    routine.prepare_codes(temp, [stays])
    routine.prepare_slices(temp, local_timezone(engine), stays)
    seq = engine.fetch_arrow(
        f"SELECT code, arg_max(place_id, {{'s': seconds, 'p': -place_id}}) AS place_id "
        f"FROM {routine.SLOT_PLACE} GROUP BY code, e ORDER BY code, e"
    )
    names = engine.fetch_rows(f"SELECT code, subject FROM {routine.CODES} ORDER BY code")
    code = _column(seq, "code")
    place = _column(seq, "place_id")
    out: dict[str, float] = {}
    if len(code) == 0:
        return out
    s_code, starts = np.unique(code, return_index=True)
    ends = np.r_[starts[1:], len(code)]
    real = routine.real_entropies(place, starts, ends)
    n_places = np.array(
        [len(np.unique(place[a:b])) for a, b in zip(starts, ends, strict=True)], np.int64
    )
    real[(ends - starts) < routine.MIN_SEQUENCE_HOURS] = np.nan
    pi = routine.fano_predictability(real, n_places)
    by_code = dict(zip(s_code.tolist(), pi.tolist(), strict=True))
    for c, subject in names:
        out[str(subject)] = float(by_code.get(int(c), float("nan")))
    return out


def _modified_stays(temp: TempFn) -> None:
    """``_exp_mod_stay``: the stays of every person a countermeasure changes, with the
    subject written ``<person>#<countermeasure>``."""
    temp(
        "_exp_stay_second",
        """
SELECT so.stay_id, bool_and(o.second) AS all_second
FROM _exp_stay_obs so JOIN _exp_obs o USING (obs_id)
WHERE o.code IN (SELECT s.code FROM _exp_subject s JOIN _exp_second p ON p.person = s.subject
                 WHERE p.attributed)
GROUP BY so.stay_id
""",
    )
    temp(
        "_exp_mod_stay",
        """
WITH hw AS (SELECT DISTINCT subject, place_id FROM life_home_work),
st AS (SELECT s.*, coalesce(x.all_second, false) AS gone_second,
              s.place_id IS NOT NULL AND hw.place_id IS NULL AS gone_fewer
       FROM life_stay s LEFT JOIN _exp_stay_second x USING (stay_id)
       LEFT JOIN hw ON hw.subject = s.subject AND hw.place_id = s.place_id
       WHERE s.subject_kind = 'person'),
sc AS (SELECT 'second_phone_off' AS cm, * FROM st
       WHERE subject IN (SELECT subject FROM st WHERE gone_second) AND NOT gone_second
       UNION ALL
       SELECT 'fewer_regular_places', * FROM st
       WHERE subject IN (SELECT subject FROM st WHERE gone_fewer) AND NOT gone_fewer)
SELECT subject || '#' || cm AS subject, subject_kind, stay_id, started_at, finished_at, lat,
       lon, uncertainty_m, place_id, n_obs, sources, obs_ids
FROM sc
""",
    )


def assess(engine: Engine, *, draws: int = uni.DRAWS, seed: int = uni.SEED) -> dict[str, int]:
    """Write the four exposure tables (see the module docstring); return row counts."""
    import pyarrow as pa

    if draws < 1:
        raise StageError(f"exposure: draws must be positive, got {draws}")
    with engine.temp_tables() as temp:
        links.prepare(temp)
        prepare_points(temp)
        n_points = int(engine.fetch_rows("SELECT count(*) FROM _exp_pt")[0][0])
        data = engine.fetch_arrow("SELECT code, point, mask FROM _exp_mask ORDER BY code, point")
        code = _column(data, "code")
        point = _column(data, "point")
        mask = _column(data, "mask", np.int32)
        del data
        pop = uni.population(code, point, n_points)
        temp(
            "_exp_persons",
            "SELECT code, subject FROM _exp_subject WHERE kind = 'person' "
            "AND subject LIKE 'person:%'",
        )
        persons = engine.fetch_rows("SELECT code, subject FROM _exp_persons ORDER BY code")
        who = np.array([int(c) for c, _ in persons], np.int64)
        subject_of = {int(c): str(s) for c, s in persons}
        base_u, base_n = scenario_unicity(pop, code, point, n_points, who, draws=draws, seed=seed)

        # life_profile, linkability, names and days
        prof = {
            str(r[0]): (r[1], r[2])
            for r in engine.fetch_rows(
                "SELECT subject, predictability_max, regularity FROM life_profile "
                "WHERE subject_kind = 'person'"
            )
        }
        temp("_exp_link", links.linkability_sql())
        lk_cols = (
            "linkability, linkability_second_off, linkability_no_car, links, second_links, "
            "vehicle_links, devices, vehicles, link_sources, link_sources_second_off, "
            "link_sources_no_car"
        )
        lk = {
            str(r[0]): dict(zip(lk_cols.split(", "), r[1:], strict=True))
            for r in engine.fetch_rows(f"SELECT person, {lk_cols} FROM _exp_link")
        }
        names = dict(
            engine.fetch_rows(
                "SELECT r.entity_id, min(coalesce(p.full_name, p.full_name_latin, "
                "concat_ws(' ', p.given_name, p.family_name))) FROM resolution_record r "
                "JOIN reg_person p ON p.obs_id = r.obs_id WHERE r.kind = 'person' "
                "GROUP BY r.entity_id"
            )
        )
        days = dict(
            engine.fetch_rows(
                "SELECT a.code, count(DISTINCT a.h // 24) FROM _exp_agg a "
                "JOIN _exp_persons p USING (code) GROUP BY a.code"
            )
        )
        subjects = [subject_of[int(c)] for c in who]
        pred = np.array([_num(prof.get(s, (None, None))[0]) for s in subjects])
        reg = np.array([_num(prof.get(s, (None, None))[1]) for s in subjects])
        base_l = np.array([_num(lk.get(s, {}).get("linkability", 0.0)) for s in subjects])
        base_e = exposure_score(base_l, base_u, pred)
        single = uni.points_to_single_out(base_u, THRESHOLD)

        person_t = pa.table(
            {
                "subject": pa.array(subjects, pa.string()),
                "name": pa.array([names.get(s) for s in subjects], pa.string()),
                "devices": pa.array(
                    [int(lk.get(s, {}).get("devices", 0)) for s in subjects], pa.int32()
                ),
                "vehicles": pa.array(
                    [int(lk.get(s, {}).get("vehicles", 0)) for s in subjects], pa.int32()
                ),
                "days": pa.array([int(days.get(int(c), 0)) for c in who], pa.int32()),
                "points": pa.array(base_n, pa.int32()),
                **{
                    f"unicity_{p}": pa.array(base_u[:, p - 1], pa.float64(), from_pandas=True)
                    for p in range(1, uni.MAX_P + 1)
                },
                "points_to_single_out": pa.array(
                    np.where(single > 0, single, 0), pa.int32(), mask=single == 0
                ),
                "predictability_max": pa.array(pred, pa.float64(), from_pandas=True),
                "linkability": pa.array(base_l, pa.float64()),
                "link_sources": pa.array(
                    [int(lk.get(s, {}).get("link_sources", 0)) for s in subjects], pa.int32()
                ),
                "regularity": pa.array(reg, pa.float64(), from_pandas=True),
                "identifier_links": pa.array(
                    [int(lk.get(s, {}).get("links", 0)) for s in subjects], pa.int32()
                ),
                "exposure": pa.array(base_e, pa.float64()),
                "evidence": pa.array(
                    [
                        _evidence(base_u[i], int(base_n[i]), base_l[i], lk.get(s, {}), pred[i])
                        for i, s in enumerate(subjects)
                    ],
                    pa.string(),
                ),
            }
        )

        # what-ifs
        whatif = _whatifs(
            engine, temp, pop, code, point, mask, n_points, who, subjects, lk, pred,
            base_u, base_n, base_e, draws=draws, seed=seed,
        )  # fmt: skip

        # points per identifier, for the link table
        temp(
            "_exp_ident_points",
            "WITH k AS (SELECT dk, device AS identifier FROM _exp_dev "
            "UNION ALL SELECT dk, vehicle FROM _exp_veh) "
            "SELECT s.subject, k.identifier, count(*) AS points "
            "FROM _exp_agg a JOIN _exp_persons s USING (code) JOIN k ON k.dk = a.ident "
            "GROUP BY s.subject, k.identifier",
        )
        out = {}
        for name, tbl in ((tables.PERSON, person_t), (tables.WHATIF, whatif)):
            engine.create_temp_table(f"_exp_out_{name}", tbl.schema)
            engine.append_arrow(f"_exp_out_{name}", tbl)
            temp(f"_exp_out_{name}", f"SELECT * FROM _exp_out_{name}")
            out[name] = engine.materialise(
                name,
                f"SELECT * FROM _exp_out_{name} ORDER BY subject"
                + (", countermeasure" if name == tables.WHATIF else ""),
                columns=tables.COLUMNS[name],
            )
        out[tables.LINK] = engine.materialise(
            tables.LINK,
            f"SELECT * FROM ({links.link_rows_sql('_exp_ident_points', '_exp_persons')}) "
            "ORDER BY subject, in_linkability DESC, confidence DESC NULLS LAST, identifier",
            columns=tables.COLUMNS[tables.LINK],
        )
        out[tables.CONTACT] = engine.materialise(
            tables.CONTACT,
            f"SELECT * FROM ({links.contact_rows_sql('_exp_persons')}) "
            "ORDER BY subject, kind, weight DESC NULLS LAST, entries DESC, contact",
            columns=tables.COLUMNS[tables.CONTACT],
        )
    return out


def _num(x: Any) -> float:
    return float("nan") if x is None else float(x)


def _evidence(u: np.ndarray, n: int, link: float, lk: dict[str, Any], pred: float) -> str:
    parts = [f"{n} point(s)"]
    defined = [(p, u[p - 1]) for p in range(1, uni.MAX_P + 1) if not np.isnan(u[p - 1])]
    if defined:
        parts.append(
            "singled out by "
            + ", ".join(f"{p} point(s) in {v:.0%}" for p, v in defined)
            + " of draws"
        )
    parts.append(
        f"linkability {link:.3f} from {int(lk.get('links', 0))} identifier link(s) "
        f"over {int(lk.get('link_sources', 0))} source table(s)"
    )
    if not np.isnan(pred):
        parts.append(f"predictability up to {pred:.2f}")
    return "; ".join(parts)


def _whatifs(
    engine: Engine,
    temp: TempFn,
    pop: tuple[np.ndarray, np.ndarray],
    code: np.ndarray,
    point: np.ndarray,
    mask: np.ndarray,
    n_points: int,
    who: np.ndarray,
    subjects: list[str],
    lk: dict[str, dict[str, Any]],
    pred: np.ndarray,
    base_u: np.ndarray,
    base_n: np.ndarray,
    base_e: np.ndarray,
    *,
    draws: int,
    seed: int,
) -> pa.Table:
    import pyarrow as pa

    index = {s: i for i, s in enumerate(subjects)}
    # who each countermeasure applies to
    second = {
        str(r[0]): (int(r[1]), int(r[2]))
        for r in engine.fetch_rows(
            "SELECT person, count(*) FILTER (WHERE attributed), count(*) FILTER "
            "(WHERE NOT attributed) FROM (SELECT DISTINCT device, person, attributed "
            "FROM _exp_second) GROUP BY person"
        )
    }
    other_places = {
        str(r[0])
        for r in engine.fetch_rows(
            "SELECT DISTINCT s.subject FROM life_stay s LEFT JOIN "
            "(SELECT DISTINCT subject, place_id FROM life_home_work) hw "
            "ON hw.subject = s.subject AND hw.place_id = s.place_id "
            "WHERE s.subject_kind = 'person' AND s.place_id IS NOT NULL AND hw.place_id IS NULL"
        )
    }
    person_row = np.isin(code, who)
    lost_varied = np.unique(code[person_row & ((mask & VARIED) == 0)])
    applies = {
        "second_phone_off": [s for s in subjects if s in second],
        "no_personal_car": [s for s in subjects if int(lk.get(s, {}).get("vehicles", 0)) > 0],
        "varied_routes": [subjects[i] for i in np.searchsorted(who, lost_varied)],
        "fewer_regular_places": [s for s in subjects if s in other_places],
    }
    # predictability on modified stays
    _modified_stays(temp)
    mod_pred = predictability_of(engine, temp, "_exp_mod_stay")

    cols: dict[str, list[Any]] = {k: [] for k in (
        "subject", "countermeasure", "exposure_before", "exposure_after", "drop", "points",
        "unicity_1", "unicity_2", "unicity_3", "unicity_4", "points_to_single_out",
        "predictability_max", "linkability", "link_sources", "removed_points",
        "removed_links", "note")}  # fmt: skip
    for cm in tables.COUNTERMEASURES:
        names = sorted(applies[cm], key=lambda s: index[s])
        if not names:
            continue
        idx = np.array([index[s] for s in names], np.int64)
        sub = who[idx]
        keep = (mask & SCENARIO_BIT[cm]) != 0
        u, n = scenario_unicity(pop, code[keep], point[keep], n_points, sub, draws=draws, seed=seed)
        pr = pred[idx].copy()
        lk_after = np.array([_num(lk.get(s, {}).get("linkability", 0.0)) for s in names])
        sources = [int(lk.get(s, {}).get("link_sources", 0)) for s in names]
        removed_links = [0] * len(names)
        notes = [""] * len(names)
        for j, s in enumerate(names):
            info = lk.get(s, {})
            if cm in ("second_phone_off", "fewer_regular_places"):
                key = f"{s}#{cm}"
                if key in mod_pred:
                    pr[j] = mod_pred[key]
            if cm == "second_phone_off":
                lk_after[j] = _num(info.get("linkability_second_off", 0.0))
                sources[j] = int(info.get("link_sources_second_off", 0))
                removed_links[j] = int(info.get("second_links", 0))
                attributed, travelling = second[s]
                notes[j] = (
                    f"{attributed} second phone(s) attributed to the person, "
                    f"{travelling} travelling with them but attributed to nobody "
                    "(those are not in the person's trace or links)"
                )
            elif cm == "no_personal_car":
                lk_after[j] = _num(info.get("linkability_no_car", 0.0))
                sources[j] = int(info.get("link_sources_no_car", 0))
                removed_links[j] = int(info.get("vehicle_links", 0))
                notes[j] = (
                    f"{int(info.get('vehicles', 0))} vehicle(s): plate reads and vehicle links "
                    "removed, vehicle-keeper evidence taken out of device links"
                )
            elif cm == "varied_routes":
                notes[j] = (
                    "route points seen on several days kept on the first day only "
                    "(varied trips not replaced by new ones); predictability unchanged "
                    "(it is read from stays at places)"
                )
            else:
                notes[j] = (
                    "observations and stays at places other than home and work removed; "
                    "predictability recomputed on the remaining stays"
                )
        e_after = exposure_score(lk_after, u, pr)
        single = uni.points_to_single_out(u, THRESHOLD)
        before = base_e[idx]
        cols["subject"] += names
        cols["countermeasure"] += [cm] * len(names)
        cols["exposure_before"] += before.tolist()
        cols["exposure_after"] += e_after.tolist()
        cols["drop"] += (before - e_after).tolist()
        cols["points"] += n.tolist()
        for p in range(1, uni.MAX_P + 1):
            cols[f"unicity_{p}"] += [None if np.isnan(x) else float(x) for x in u[:, p - 1]]
        cols["points_to_single_out"] += [int(x) if x > 0 else None for x in single]
        cols["predictability_max"] += [None if np.isnan(x) else float(x) for x in pr]
        cols["linkability"] += lk_after.tolist()
        cols["link_sources"] += sources
        cols["removed_points"] += (base_n[idx] - n).tolist()
        cols["removed_links"] += removed_links
        cols["note"] += notes
    types = {
        "subject": pa.string(), "countermeasure": pa.string(), "points": pa.int32(),
        "points_to_single_out": pa.int32(), "link_sources": pa.int32(),
        "removed_points": pa.int32(), "removed_links": pa.int32(), "note": pa.string(),
    }  # fmt: skip
    return pa.table({k: pa.array(v, types.get(k, pa.float64())) for k, v in cols.items()})
