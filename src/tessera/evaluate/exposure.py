"""Metrics of the ``exposure`` stage: unicity and identifier links against the truth.

A resolved person entity stands for the true person behind most of its registry records
(``records.parquet``, as in :mod:`tessera.evaluate.linking`). Each true person is
scored through one row of ``exposure_person``: of the assessed subjects that stand for
them, the one with the most points (then the smallest subject).

**True traces.** The simulator's stays (``stays.parquet``: person, building, start,
end) are turned into points of the kind the stage makes for a located observation
without a sensor: (the :data:`~tessera.exposure.assess.GRID_M` grid cell of the
building, by the stage's own ``_grid_key``, UTC hour), one point for every UTC hour
``h`` the stay covers::

    floor(start / 1 h) <= h <= max(floor(start / 1 h), ceil(end / 1 h) - 1)

(a stay ending on the hour does not reach into the next one). Stays outside the
district (``building_id < 0``) have no place and are left out. The population is every
true person with a point: a full record of everyone's movements.
``unicity_4`` of a true trace is computed with the stage's kernel
(:func:`tessera.exposure.unicity.unicity`, the same ``DRAWS`` and ``SEED``; draws keyed
by the true person id): the share of random sets of 4 distinct points of the trace that
no other true person has all of.

**Compared persons**: true persons for whom an assessed subject stands whose
``unicity_4`` is defined (4 or more observed points) and whose true trace has 4 or more
points; ``exposure.people`` counts them. Over those ``n`` persons, with ``u_i`` the
workspace's ``unicity_4`` and ``t_i`` the true-trace one:

- ``exposure.unicity_4.truth_mean`` = ``sum_i t_i / n``: what a full record of
  everyone's movements would give;
- ``exposure.unicity_4.mean_error`` = ``sum_i u_i / n - sum_i t_i / n`` (signed:
  positive when the observed traces single people out more easily than the full ones,
  as sparse, noisy traces can);
- ``exposure.unicity_4.spearman``: Pearson's correlation of the ranks of ``u`` and of
  ``t`` (tied values take their mean rank); left out when fewer than two persons are
  compared or either side is constant (the correlation is undefined).

**Identifier links.** Of the rows of ``exposure_link`` naming a device or a vehicle
(every link table: attributed devices and vehicles, swaps, second phones),
``exposure.link.precision`` is the share whose identifier truly is the person's:

- a device key (``imsi:X``, ``imei:Y``, or a handset ``imsi:X@imei:Y``, every part
  checked) is the person's when a row of ``devices.parquet`` of that person has that
  IMSI or IMEI;
- a vehicle (its cleaned plate: upper case, letters and digits) is the person's when
  ``vehicles.parquet`` names them owner or ``vehicle_use.parquet`` lists them using it:
  as a driver, or as a passenger of a vehicle other than a taxi (a chauffeured
  diplomatic or official car is its passenger's; a taxi is no passenger's);
- a row of a subject that stands for no true person is wrong.

``exposure.link.rows`` counts the rows scored (a precision of nothing is 1.0).

Measured on the demo workspace (seed 7, 1,000 people, 7 days): 792 persons compared,
true mean 0.590 against the stage's 0.936 (error +0.346), Spearman 0.27; link
precision 0.952 over 1,461 rows. The observed traces are sparse (events, not every
hour), so fewer people share all 4 points of them than share 4 hours at a home or
workplace cell of a full trace.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tessera.errors import EvaluationError
from tessera.evaluate.harness import Provider, SkipProvider, arrow_view, share
from tessera.evaluate.linking import _entity_person
from tessera.exposure import tables

if TYPE_CHECKING:
    import numpy as np

    from tessera.evaluate.truth import Truth
    from tessera.workspace import Workspace

P = 4
MS_PER_HOUR = 3_600_000


def _assessed(ws: Workspace) -> tuple[np.ndarray, np.ndarray]:
    """(true person ids, their workspace ``unicity_4``; NaN where undefined): one row per
    true person an assessed subject stands for, the subject with the most points."""
    import numpy as np

    rows = ws.engine.fetch_rows(
        f"""
SELECT e.person_id, x.unicity_4 FROM {tables.PERSON} x
JOIN _eval_entity_person e ON e.entity_id = x.subject
WHERE e.person_id >= 0
QUALIFY row_number() OVER (PARTITION BY e.person_id ORDER BY x.points DESC NULLS LAST,
                                                             x.subject) = 1
ORDER BY e.person_id
"""
    )
    person = np.array([int(r[0]) for r in rows], np.int64)
    est = np.array([np.nan if r[1] is None else float(r[1]) for r in rows], np.float64)
    return person, est


def _true_points(ws: Workspace, truth: Truth) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """The true population as ``(ids, code, point, n_points)``: distinct (subject code,
    point) pairs sorted by code then point, ``ids[code]`` the true person id; a point is
    (grid cell of a district building, UTC hour of a stay there), numbered densely.

    Sorting is done once, by ``np.sort`` of a packed key: the pairs reach
    :func:`tessera.exposure.unicity.population` and ``traces`` sorted and distinct, so
    they skip their own ``np.unique`` (which numpy 2.4 runs far slower than a sort)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from tessera.exposure.assess import _grid_key

    empty = np.zeros(0, np.int64)
    stays = truth.read("stays.parquet", ["person_id", "building_id", "start", "end"])
    buildings = truth.read("buildings.parquet", ["building_id", "lat", "lon"])
    with arrow_view(ws, "_eval_exp_buildings", buildings):
        cells = ws.engine.fetch_arrow(
            f"SELECT building_id, {_grid_key('lat', 'lon')} AS pk FROM _eval_exp_buildings "
            "WHERE building_id >= 0 AND lat IS NOT NULL AND lon IS NOT NULL ORDER BY building_id"
        )
    b_id = np.asarray(cells.column("building_id").to_numpy(), np.int64)
    if not len(b_id):
        return empty, empty, empty, 0
    # each building's cell, numbered 0 .. cells - 1
    b_cell = np.unique(np.asarray(cells.column("pk").to_numpy(), np.int64), return_inverse=True)
    n_cells, b_cell_of = len(b_cell[0]), b_cell[1].astype(np.int64).ravel()

    valid = pc.and_(
        pc.and_(pc.is_valid(stays.column("person_id")), pc.is_valid(stays.column("building_id"))),
        pc.and_(pc.is_valid(stays.column("start")), pc.is_valid(stays.column("end"))),
    )
    stays = stays.filter(valid)

    def ms(name: str) -> np.ndarray:
        col = stays.column(name).cast(pa.timestamp("ms", "UTC")).cast(pa.int64())
        return np.asarray(col.to_numpy(), np.int64)

    person = np.asarray(stays.column("person_id").to_numpy(), np.int64)
    building = np.asarray(stays.column("building_id").to_numpy(), np.int64)
    start, end = ms("start"), ms("end")
    at = np.searchsorted(b_id, building)
    known = (at < len(b_id)) & (b_id[np.minimum(at, len(b_id) - 1)] == building)
    if not known.any():
        return empty, empty, empty, 0
    ids, pcode = np.unique(person[known], return_inverse=True)
    pcode = pcode.astype(np.int64).ravel()
    cell = b_cell_of[at[known]]
    h0 = start[known] // MS_PER_HOUR
    h1 = np.maximum(h0, -(-end[known] // MS_PER_HOUR) - 1)
    del person, building, start, end, at, known
    h_min = int(h0.min())
    width = int(h1.max()) - h_min + 1
    n_raw = n_cells * width
    if len(ids) * n_raw >= 2**62:
        raise EvaluationError(
            f"exposure: {len(ids)} persons over {n_cells} cells and {width} hours are too "
            "many to number (persons * cells * hours must stay below 2**62)"
        )
    # one key per (stay, hour covered): (person, cell, hour) packed into an int64
    lengths = h1 - h0 + 1
    stay = np.repeat(np.arange(len(h0), dtype=np.int64), lengths)
    offset = np.arange(len(stay), dtype=np.int64) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    key = pcode[stay] * n_raw + cell[stay] * width + (h0[stay] - h_min) + offset
    del stay, offset
    key.sort()
    key = key[np.r_[True, key[1:] != key[:-1]]]
    code, raw = key // n_raw, key % n_raw
    del key
    # number the points densely, keeping their order
    if n_raw <= 8 * len(raw) + 1_000_000:
        seen = np.zeros(n_raw, np.bool_)
        seen[raw] = True
        rank = np.cumsum(seen, dtype=np.int64) - 1
        point, n_points = rank[raw], int(rank[-1]) + 1
    else:
        uniq, inverse = np.unique(raw, return_inverse=True)
        point, n_points = inverse.astype(np.int64).ravel(), len(uniq)
    return ids, code, point, n_points


def _true_unicity(ws: Workspace, truth: Truth, who: np.ndarray) -> np.ndarray:
    """``unicity_4`` of the true traces of the persons ``who`` (sorted ids) against the
    whole true population; NaN for a trace of fewer than 4 points (or none)."""
    import numpy as np

    from tessera.exposure import unicity as uni

    ids, code, point, n_points = _true_points(ws, truth)
    out = np.full(len(who), np.nan)
    if not n_points:
        return out
    pop = uni.population(code, point, n_points)
    sel = np.isin(ids, who)[code]
    codes, ptr, pts = uni.traces(code[sel], point[sel], n_points)
    keys = ids[codes]
    u = uni.unicity(pop, ptr, pts, codes, P, keys=keys, draws=uni.DRAWS, seed=uni.SEED)
    out[np.searchsorted(who, keys)] = u
    return out


def _ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n of ``x``, tied values taking their mean rank."""
    import numpy as np

    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    mean_rank = ends - (counts - 1) / 2.0
    return np.asarray(mean_rank[inverse.ravel()], np.float64)


def spearman(x: Any, y: Any) -> float | None:
    """Spearman's rank correlation of ``x`` and ``y`` (Pearson's correlation of their
    mean-tied ranks); None when fewer than two pairs or either side is constant."""
    import numpy as np

    a = np.asarray(x, np.float64)
    b = np.asarray(y, np.float64)
    if len(a) != len(b):
        raise ValueError("spearman: x and y differ in length")
    if len(a) < 2:
        return None
    ra, rb = _ranks(a), _ranks(b)
    ra -= ra.mean()
    rb -= rb.mean()
    norm = float(np.sqrt((ra * ra).sum() * (rb * rb).sum()))
    if norm == 0.0:
        return None
    return float((ra * rb).sum() / norm)


def _unicity_metrics(ws: Workspace, truth: Truth) -> dict[str, float]:
    import numpy as np

    who, est = _assessed(ws)
    if not len(who):
        raise SkipProvider("no assessed person stands for a person of the truth")
    true = _true_unicity(ws, truth, who)
    both = ~np.isnan(est) & ~np.isnan(true)
    n = int(both.sum())
    if not n:
        raise SkipProvider(
            "no assessed person has unicity_4 both in the workspace and on the true trace"
        )
    u, t = est[both], true[both]
    out = {
        "exposure.people": float(n),
        "exposure.unicity_4.truth_mean": float(t.mean()),
        "exposure.unicity_4.mean_error": float(u.mean() - t.mean()),
    }
    rho = spearman(u, t)
    if rho is not None:
        out["exposure.unicity_4.spearman"] = rho
    return out


def _link_metrics(ws: Workspace, truth: Truth) -> dict[str, float]:
    devices = truth.read("devices.parquet", ["person_id", "imsi", "imei"])
    vehicles = truth.read("vehicles.parquet", ["vehicle_id", "plate", "kind", "owner_person_id"])
    use = truth.read("vehicle_use.parquet", ["vehicle_id", "person_id", "role"])
    clean = "regexp_replace(upper({}), '[^A-Z0-9]', '', 'g')"
    with (
        arrow_view(ws, "_eval_exp_devices", devices),
        arrow_view(ws, "_eval_exp_vehicles", vehicles),
        arrow_view(ws, "_eval_exp_use", use),
    ):
        rows = ws.engine.fetch_rows(
            f"""
WITH own AS (
  SELECT 'device' AS kind, 'imsi:' || imsi AS part, person_id FROM _eval_exp_devices
  WHERE imsi IS NOT NULL AND person_id >= 0
  UNION SELECT 'device', 'imei:' || imei, person_id FROM _eval_exp_devices
  WHERE imei IS NOT NULL AND person_id >= 0
  UNION SELECT 'vehicle', {clean.format("plate")}, owner_person_id FROM _eval_exp_vehicles
  WHERE owner_person_id >= 0 AND plate IS NOT NULL
  UNION SELECT 'vehicle', {clean.format("v.plate")}, u.person_id
  FROM _eval_exp_vehicles v JOIN _eval_exp_use u USING (vehicle_id)
  WHERE (u.role = 'driver' OR v.kind IS DISTINCT FROM 'taxi') AND u.person_id >= 0
    AND v.plate IS NOT NULL),
r AS (SELECT row_number() OVER () AS r, l.identifier_kind AS kind, l.identifier,
             e.person_id
      FROM {tables.LINK} l LEFT JOIN _eval_entity_person e ON e.entity_id = l.subject
      WHERE l.identifier_kind IN ('device', 'vehicle') AND l.identifier IS NOT NULL),
parts AS (SELECT r, kind, person_id,
                 unnest(CASE WHEN kind = 'device' THEN string_split(identifier, '@')
                             ELSE [{clean.format("identifier")}] END) AS part
          FROM r),
scored AS (SELECT p.r, bool_and(o.person_id IS NOT NULL) AS mine
           FROM parts p LEFT JOIN own o
             ON o.kind = p.kind AND o.part = p.part AND o.person_id = p.person_id
           GROUP BY p.r)
SELECT (SELECT count(*) FROM r), count(*) FILTER (WHERE mine) FROM scored
"""
        )
    scored, right = (int(v or 0) for v in rows[0])
    return {"exposure.link.precision": share(right, scored), "exposure.link.rows": float(scored)}


def _exposure(ws: Workspace, truth: Truth) -> dict[str, float]:
    _entity_person(ws, truth)
    return {**_link_metrics(ws, truth), **_unicity_metrics(ws, truth)}


PROVIDERS = (
    Provider(
        name="exposure",
        prefix="exposure",
        description="Unicity against the true traces; identifier links to the right person.",
        compute=_exposure,
        tables=(tables.PERSON, tables.LINK, "resolution_record"),
        truth_files=(
            "records.parquet",
            "stays.parquet",
            "buildings.parquet",
            "devices.parquet",
            "vehicles.parquet",
            "vehicle_use.parquet",
        ),
    ),
)
