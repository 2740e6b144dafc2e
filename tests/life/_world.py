"""Hand-made life tables for the routine and anomaly tests: Berlin time, a worker who is
home every night, at work 09:00-17:00 on weekdays and home all weekend, from Monday
2 March 2026 (three weeks before summer time begins on 29 March)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

import pyarrow as pa

from tessera.life import tables
from tessera.workspace import Workspace

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = dt.date(2026, 3, 2)
HOME = (1, 52.50, 13.30)
WORK = (2, 52.51, 13.30)  # 0.01 degrees north: 1,111.95 m on the 6,371 km sphere

Stay = tuple[str, dt.datetime, dt.datetime, tuple[int, float, float]]


def local(day: dt.date, hour: float) -> dt.datetime:
    """The UTC instant at which Berlin's wall clock shows ``hour`` (24 is the next
    midnight) on ``day``: Python adds hours to a zoned time on the wall clock."""
    midnight = dt.datetime.combine(day, dt.time(), BERLIN)
    return (midnight + dt.timedelta(hours=hour)).astimezone(dt.UTC)


def write_stays(ws: Workspace, stays: Sequence[Stay], zone: str = "Europe/Berlin") -> None:
    """``life_stay`` from (subject, start, end, (place_id, lat, lon)) and the zone."""
    engine = ws.engine
    engine.execute("INSERT OR REPLACE INTO tessera_meta VALUES ('timezone', ?)", [zone])
    engine.execute(f"CREATE TABLE {tables.STAY} ({tables.COLUMNS[tables.STAY]})")
    data = pa.table(
        {
            "subject": pa.array([s[0] for s in stays], pa.string()),
            "stay_id": pa.array(range(1, len(stays) + 1), pa.int64()),
            "started_at": pa.array([s[1] for s in stays], pa.timestamp("us", tz="UTC")),
            "finished_at": pa.array([s[2] for s in stays], pa.timestamp("us", tz="UTC")),
            "place_id": pa.array([s[3][0] for s in stays], pa.int64()),
            "lat": pa.array([s[3][1] for s in stays], pa.float64()),
            "lon": pa.array([s[3][2] for s in stays], pa.float64()),
        }
    )
    engine.register_arrow("_test_stays", data)
    engine.execute(
        f"INSERT INTO {tables.STAY} (subject, subject_kind, stay_id, started_at, finished_at, "
        "lat, lon, place_id, n_obs) SELECT subject, 'person', stay_id, started_at, finished_at, "
        "lat, lon, place_id, 10 FROM _test_stays"
    )
    engine.unregister("_test_stays")


def worker_stays(subject: str, days: int, first: dt.date = MONDAY) -> list[Stay]:
    """Home every night, at work 09:00-17:00 on weekdays, at home all weekend; in transit
    (unknown hours) 08:00-09:00 and 17:00-18:00. ``first`` must be a Monday."""
    stays: list[Stay] = []
    start = local(first, 0)
    for d in range(days):
        day = first + dt.timedelta(days=d)
        if day.weekday() < 5:
            stays.append((subject, start, local(day, 8), HOME))
            stays.append((subject, local(day, 9), local(day, 17), WORK))
            start = local(day, 18)
    stays.append((subject, start, local(first + dt.timedelta(days=days), 0), HOME))
    return stays
