"""Matchability: how many people can be linked after 1, 3, 7, 14 and 30 days of data.

For each horizon ``d`` a copy of the workspace keeps only the observations (device
events, plate reads, communications) of the first ``d`` days, counted from the
earliest observation's UTC midnight; the registries and the resolved entities are
kept whole (they do not accumulate by day). The linking stages (``plates``,
``cotravel``, ``phones``, ``attribution``) are run again on the copy, and scored:

The days are local days (the workspace's zone, :func:`tessera.life.settings.local_timezone`).

- ``behavioural``: the share of people whose car and phone co-travel alone links. Over
  the true primary users of a private car (the driver with most trips; taxis left
  out) whose car was read and one of whose phones was seen in the first ``d`` days:
  the share whose car's primary device (``link_vehicle_device.is_primary``) is one of
  their own phones. This is Kondor et al.'s (2018) question (can two datasets of the
  same people be matched from co-location alone?) asked of plate reads and phone
  events; registries play no part in it.
- ``device_person_recall`` and ``device_person_precision``: ``linking.device_person``
  (:mod:`tessera.evaluate.linking`) on the copy: registries, contact lists and
  co-travel together, as a build would give them after ``d`` days.

A horizon longer than the data is reported for the data's length and marked so.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tessera.errors import EvaluationError

if TYPE_CHECKING:
    from tessera.evaluate.truth import Truth
    from tessera.workspace import Workspace

DAYS = (1, 3, 7, 14, 30)
# observation tables cut at the horizon, and their time column
TIMED = {"obs_device_event": "time", "obs_plate_read": "time", "obs_communication": "time"}


@dataclass(frozen=True)
class Point:
    """One horizon of the curve."""

    days: int
    covered_days: int  # days of data actually there (at most the data's length)
    people: int  # people scored for ``behavioural``
    behavioural: float
    device_person_precision: float
    device_person_recall: float
    seconds: float


def _span(ws: Workspace) -> tuple[dt.datetime, int]:
    """The local midnight (the workspace's zone) that starts the first observation's
    day, and the number of days of data."""
    from tessera.life.settings import local_timezone
    from tessera.types.temporal import zone_info

    parts = " UNION ALL ".join(f"SELECT min({c}), max({c}) FROM {t}" for t, c in TIMED.items())
    lo, hi = ws.engine.fetch_rows(f"SELECT min(lo), max(hi) FROM ({parts}) AS s(lo, hi)")[0]
    if lo is None:
        raise EvaluationError("the workspace has no timed observations to cut into days")
    zone = zone_info(local_timezone(ws.engine))
    start = dt.datetime.combine(lo.astimezone(zone).date(), dt.time(), zone)
    return start, (hi - start).days + 1


def _behavioural(ws: Workspace, truth: Truth) -> tuple[int, float]:
    from tessera.evaluate.harness import arrow_view, share
    from tessera.link.cotravel import DEVICES

    vehicles = truth.read("vehicles.parquet", ["vehicle_id", "plate", "kind"])
    use = truth.read("vehicle_use.parquet", ["vehicle_id", "person_id", "role", "trips"])
    devices = truth.read("devices.parquet", ["person_id", "imsi"])
    with (
        arrow_view(ws, "_eval_m_vehicles", vehicles),
        arrow_view(ws, "_eval_m_use", use),
        arrow_view(ws, "_eval_m_devices", devices),
    ):
        people, linked = ws.engine.fetch_rows(
            f"""
WITH u AS (SELECT vehicle_id, arg_max(person_id, trips) AS person_id FROM _eval_m_use
           WHERE role = 'driver' GROUP BY vehicle_id),
car AS (SELECT regexp_replace(upper(v.plate), '[^A-Z0-9]', '', 'g') AS plate, u.person_id
        FROM _eval_m_vehicles v JOIN u USING (vehicle_id) WHERE v.kind <> 'taxi'),
phone AS (SELECT DISTINCT 'imsi:' || d.imsi AS device, d.person_id FROM _eval_m_devices d
          WHERE d.imsi IS NOT NULL AND d.person_id >= 0),
seen AS (SELECT DISTINCT c.plate, c.person_id FROM car c
         JOIN link_plate_read r ON r.plate = c.plate
         JOIN phone p ON p.person_id = c.person_id JOIN {DEVICES} d ON d.device = p.device)
SELECT count(*),
       count(*) FILTER (WHERE EXISTS (
           SELECT 1 FROM link_vehicle_device l JOIN phone p ON p.device = l.device
           WHERE l.vehicle = seen.plate AND l.is_primary AND p.person_id = seen.person_id))
FROM seen
"""
        )[0]
    return int(people), share(int(linked), int(people))


def matchability(
    ws_path: str | Path,
    truth: Truth,
    days: Sequence[int] = DAYS,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> list[Point]:
    """The curve, one :class:`Point` per horizon (see the module docstring). The
    workspace itself is not changed: each horizon runs on a temporary copy."""
    import time

    from tessera.evaluate.linking import device_person_metrics
    from tessera.link import STAGES
    from tessera.workspace import Workspace

    if not days or any(int(d) < 1 for d in days):
        raise EvaluationError(f"matchability horizons must be whole days >= 1, not {days!r}")
    source = Path(ws_path)
    horizons = sorted({int(d) for d in days})
    out: list[Point] = []
    with tempfile.TemporaryDirectory(prefix="tessera-matchability-") as tmp:
        for k, d in enumerate(horizons):
            if progress is not None:
                progress(k, len(horizons))
            t0 = time.perf_counter()
            copy = Path(tmp) / f"ws-{d}"
            shutil.copytree(source, copy, ignore=shutil.ignore_patterns("tmp"))
            with Workspace.open(copy) as ws:
                start, length = _span(ws)
                end = start + dt.timedelta(days=d)
                with ws.engine.transaction():
                    for table, column in TIMED.items():
                        ws.engine.execute(f"DELETE FROM {table} WHERE {column} >= ?", [end])
                for stage in STAGES:
                    with ws.engine.transaction():
                        stage.run(ws.engine)
                people, behavioural = _behavioural(ws, truth)
                linked = device_person_metrics(ws, truth)
            shutil.rmtree(copy)
            out.append(
                Point(
                    days=d,
                    covered_days=min(d, length),
                    people=people,
                    behavioural=behavioural,
                    device_person_precision=linked["linking.device_person.precision"],
                    device_person_recall=linked["linking.device_person.recall"],
                    seconds=time.perf_counter() - t0,
                )
            )
    if progress is not None:
        progress(len(horizons), len(horizons))
    return out
