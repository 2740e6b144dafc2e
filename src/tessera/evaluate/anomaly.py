"""Which simulated events count as anomalies, and how well found anomalies match them.

:func:`anomaly_truth` turns a simulator's truth folder into the anomalies a perfect
observer should report, one row per anomaly (person_id, kind, started_at, finished_at,
building_id). Where a kind is defined by a rule on where people are, the truth applies
the *same rule* (:func:`tessera.life.anomaly.detect`, with the same constants) to the
true stays, so the metric measures what observation, stays and places lose; where the
simulator plants an event, the truth is the event:

- ``new_place``: the rule on true stays in district buildings (``building_id >= 0``,
  the place being the building; time outside the district is unknown, as it is to
  the sensors): a first stay of at least 30 minutes at a building the person had no
  earlier stay at, at least seven local days after the person's first stay
  (:data:`tessera.life.anomaly.MIN_HISTORY_DAYS`,
  :data:`~tessera.life.anomaly.NEW_PLACE_MIN_S`).
- ``unusual_hour``: the rule on true stays: a stay at a building the person was at on
  another day, in a local weekday-hour where the person's own leave-one-day-out
  profile gives that building a probability below
  :data:`tessera.life.anomaly.UNUSUAL_P`.
- ``dark_period``: each ``away`` absence (the person is outside the district, where no
  sensor hears their phones; adjacent ones joined), except those under way when the
  period starts (nothing was heard from the person before them). A discreet meeting
  with a phone left behind is *not* one: the simulator keeps the phone left at home
  talking to its home cell, so nothing goes silent (the person is misplaced, not dark).
- ``profile_break``: each local day of an ``ill`` absence, on which the simulator
  keeps the person at home all day instead of their routine. The reason is the
  simulator's; Tessera never reports one, only that the day departs from the routine.
  A person who stays home on such days anyway (no work, a weekend) leaves nothing to
  detect, so recall has a ceiling below 1.

``building_id`` is the building for the rule kinds and -1 for the event kinds.

:func:`anomaly_metrics` matches found anomalies to true ones: a found anomaly and a true
one *match* when they are of the same person, of compatible kinds (:data:`COMPATIBLE`:
a new place seen at an unusual hour, or a silence that shows as a broken day, is still
found) and their time spans overlap once each is widened by
:data:`MATCH_TOLERANCE_S` on both sides. Matching is not one-to-one: a two-day silence
matches both its days. ``life.anomaly.precision`` is the share of found anomalies that
match a true one and ``life.anomaly.recall`` the share of true anomalies matched by a
found one; ``life.anomaly.<kind>.precision`` counts found anomalies of that kind and
``.recall`` true anomalies of that kind (each against every compatible kind);
``.found`` and ``.true`` give the counts.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tessera.evaluate.harness import share
from tessera.evaluate.truth import Truth
from tessera.life.anomaly import KINDS

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

PREFIX = "life.anomaly"
# seconds by which each span is widened on both sides before testing overlap
MATCH_TOLERANCE_S = 3600
# found kind -> true kinds it may match (symmetric)
COMPATIBLE: dict[str, frozenset[str]] = {
    "new_place": frozenset({"new_place", "unusual_hour"}),
    "unusual_hour": frozenset({"unusual_hour", "new_place"}),
    "dark_period": frozenset({"dark_period", "profile_break"}),
    "profile_break": frozenset({"profile_break", "dark_period"}),
}
RULE_KINDS = ("new_place", "unusual_hour")
DEFAULT_ZONE = "UTC"


def _schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema(
        [
            ("person_id", pa.int64()),
            ("kind", pa.string()),
            ("started_at", pa.timestamp("us", tz="UTC")),
            ("finished_at", pa.timestamp("us", tz="UTC")),
            ("building_id", pa.int64()),
        ]
    )


def anomaly_truth(truth: Truth | str | Path, *, zone: str | None = None) -> pa.Table:
    """The anomalies of the simulator's truth (see the module docstring), sorted by
    person, start and kind. ``zone`` (IANA) is where local days and hours are read;
    default: the manifest's ``timezone``, else UTC."""
    import pyarrow as pa

    t = truth if isinstance(truth, Truth) else Truth(truth)
    if zone is None:
        zone = str((t.manifest or {}).get("timezone") or DEFAULT_ZONE)
    stays = t.read("stays.parquet", ["person_id", "building_id", "start", "end"])
    buildings = t.read("buildings.parquet", ["building_id", "lat", "lon"])
    absences = t.read("absences.parquet", ["person_id", "start", "end", "kind"])
    from tessera.engines import open_engine
    from tessera.life.anomaly import detect

    engine = open_engine("duckdb")
    try:
        engine.register_arrow("_truth_stays", stays)
        engine.register_arrow("_truth_buildings", buildings)
        engine.register_arrow("_truth_absences", absences)
        engine.execute(
            """
CREATE TABLE _truth_stay AS
SELECT CAST(s.person_id AS VARCHAR) AS subject, 'person' AS subject_kind,
       CAST(row_number() OVER (ORDER BY s.person_id, s.start, s.building_id) AS BIGINT)
         AS stay_id,
       CAST(s.start AS TIMESTAMPTZ) AS started_at, CAST(s."end" AS TIMESTAMPTZ) AS finished_at,
       b.lat, b.lon, CAST(s.building_id AS BIGINT) AS place_id
FROM _truth_stays s JOIN _truth_buildings b USING (building_id)
WHERE s.building_id >= 0 AND s."end" > s.start
"""
        )
        detect(
            engine,
            zone=zone,
            stays="_truth_stay",
            active_hours=None,
            kinds=RULE_KINDS,
            out="_truth_rule",
        )
        table = engine.fetch_arrow(
            f"""
WITH period AS (SELECT min(start) AS t0 FROM _truth_stays),
away AS (
  SELECT person_id, start, "end",
         CASE WHEN start = lag("end") OVER (PARTITION BY person_id ORDER BY start)
              THEN 0 ELSE 1 END AS fresh
  FROM _truth_absences WHERE kind = 'away'
), runs AS (
  SELECT person_id, start, "end",
         sum(fresh) OVER (PARTITION BY person_id ORDER BY start ROWS UNBOUNDED PRECEDING) AS run
  FROM away
), dark AS (
  SELECT person_id, min(start) AS s, max("end") AS f FROM runs GROUP BY person_id, run
), ill AS (
  SELECT person_id, start, "end",
         unnest(range(CAST(timezone({_lit(zone)}, start) AS DATE),
                      CAST(timezone({_lit(zone)}, "end" - INTERVAL 1 SECOND) AS DATE)
                        + INTERVAL 1 DAY, INTERVAL 1 DAY)) AS day
  FROM _truth_absences WHERE kind = 'ill'
)
SELECT CAST(subject AS BIGINT) AS person_id, kind, started_at, finished_at,
       place_id AS building_id
FROM _truth_rule
UNION ALL
SELECT CAST(person_id AS BIGINT), 'dark_period', CAST(s AS TIMESTAMPTZ), CAST(f AS TIMESTAMPTZ),
       CAST(-1 AS BIGINT)
FROM dark, period WHERE dark.s > period.t0
UNION ALL
SELECT DISTINCT CAST(person_id AS BIGINT), 'profile_break',
       timezone({_lit(zone)}, CAST(day AS TIMESTAMP)),
       timezone({_lit(zone)}, CAST(day AS TIMESTAMP) + INTERVAL 1 DAY), CAST(-1 AS BIGINT)
FROM ill
ORDER BY 1, 3, 2
"""
        )
    finally:
        engine.close()
    return pa.Table.from_arrays(
        [table.column(i).cast(f.type) for i, f in enumerate(_schema())], schema=_schema()
    )


def _lit(value: str) -> str:
    from tessera.engines.base import literal

    return literal(value)


def anomaly_metrics(
    found: pa.Table, truth: pa.Table, *, tolerance_s: float = MATCH_TOLERANCE_S
) -> dict[str, float]:
    """Precision and recall of ``found`` anomalies (person_id, kind, started_at,
    finished_at) against ``truth`` (as :func:`anomaly_truth` gives), overall and per
    kind (see the module docstring). Kinds outside :data:`COMPATIBLE` match nothing."""
    import numpy as np

    f_person, f_kind, f_s, f_e = _columns(found, "found")
    t_person, t_kind, t_s, t_e = _columns(truth, "truth")
    tol = round(tolerance_s * 1_000_000)
    f_hit = np.zeros(len(f_person), dtype=bool)
    t_hit = np.zeros(len(t_person), dtype=bool)
    if len(f_person) and len(t_person):
        # every (found, true) pair of the same person, through a sort of the true rows
        order = np.argsort(t_person, kind="stable")
        sorted_person = t_person[order]
        lo = np.searchsorted(sorted_person, f_person, side="left")
        hi = np.searchsorted(sorted_person, f_person, side="right")
        counts = hi - lo
        fi = np.repeat(np.arange(len(f_person)), counts)
        within = np.arange(len(fi)) - np.repeat(np.cumsum(counts) - counts, counts)
        ti = order[np.repeat(lo, counts) + within]
        ok = (f_s[fi] - tol <= t_e[ti] + tol) & (t_s[ti] - tol <= f_e[fi] + tol)
        compatible = np.array(
            [
                t_kind[b] in COMPATIBLE.get(f_kind[a], frozenset())
                for a, b in zip(fi, ti, strict=True)
            ],
            dtype=bool,
        )
        ok &= compatible
        f_hit[fi[ok]] = True
        t_hit[ti[ok]] = True
    out: dict[str, float] = {
        f"{PREFIX}.precision": share(int(f_hit.sum()), len(f_hit)),
        f"{PREFIX}.recall": share(int(t_hit.sum()), len(t_hit)),
        f"{PREFIX}.found": float(len(f_hit)),
        f"{PREFIX}.true": float(len(t_hit)),
    }
    for kind in KINDS:
        fk = f_kind == kind
        tk = t_kind == kind
        out[f"{PREFIX}.{kind}.precision"] = share(int(f_hit[fk].sum()), int(fk.sum()))
        out[f"{PREFIX}.{kind}.recall"] = share(int(t_hit[tk].sum()), int(tk.sum()))
        out[f"{PREFIX}.{kind}.found"] = float(fk.sum())
        out[f"{PREFIX}.{kind}.true"] = float(tk.sum())
    return out


def _columns(table: pa.Table, what: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """person ids, kinds, and start and end in microseconds since the epoch."""
    import numpy as np
    import pyarrow as pa

    from tessera.errors import EvaluationError

    missing = [
        c for c in ("person_id", "kind", "started_at", "finished_at") if c not in table.column_names
    ]
    if missing:
        raise EvaluationError(
            f"anomaly_metrics: the {what} table has no column {', '.join(missing)}; "
            f"it has {', '.join(table.column_names)}"
        )

    def micros(name: str) -> np.ndarray:
        col = table.column(name)
        if not pa.types.is_timestamp(col.type):
            raise EvaluationError(f"anomaly_metrics: {what}.{name} must be a timestamp")
        return np.asarray(
            col.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64()).fill_null(0).to_numpy()
        )

    person = np.asarray(table.column("person_id").cast(pa.int64()).fill_null(-1).to_numpy())
    kind = np.asarray(
        table.column("kind").cast(pa.string()).fill_null("").to_pylist(), dtype=object
    )
    return person, kind, micros("started_at"), micros("finished_at")
