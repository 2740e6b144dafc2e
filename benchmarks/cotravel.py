"""Co-travel at scale: Tessera's ``cotravel`` stage on 100 million device events and
5 million plate reads, against a straightforward Polars join of the same data.

    python benchmarks/cotravel.py                                 # 100M events, 5M reads
    python benchmarks/cotravel.py --events 10000000 --reads 500000
    python benchmarks/cotravel.py --skip-polars --json out.json

**The data** is generated once (seeded, reproducible) into ``--out`` (default
``bench-out/``, ignored by git), ingested once into a Tessera workspace there through
ordinary mappings, and reused by later runs with the same sizes. A square city (its
side grows with the square root of the number of devices, so density stays that of the
``district`` tier) has two operators' cell sites on offset grids, three 65 degree
sectors each, and plate cameras at 60 % of the intersections of a 400 m street grid.
Each device has a home and a workplace, a usual time to leave and a working day;
on most weekdays it commutes along the streets (first along its home's street, then
along its workplace's), by car when its owner has one (a quarter of the cars carry a
passenger's phone too on half the days), else by transit. Device events: a
device-specific Poisson rate through the day (fewer at night) at the sector serving
where it is, plus handovers at intersections passed on a trip; plate reads: a car
passing a camera is read 9 times in 10. Sizes are calibrated so that the totals are
close to ``--events`` and ``--reads``.

**Measured**, each in its own child process (peak memory is its ``ru_maxrss`` from
``os.wait4``; the Polars child is stopped if its memory passes ``--polars-cap-gib``):

1. ``tessera stage``: ``tessera.link.cotravel.run`` on the workspace, everything the
   stage does (device keys, coverage, the three pair kinds with baseline, evidence and
   alibis), with the workspace's DuckDB ``memory_limit`` set to ``--memory-limit``;
2. ``tessera join``: the same code's vehicle-device join alone (observations, units,
   pairs with at least 3 units), with the presence cap off, so that it computes exactly
   what the Polars join computes;
3. ``polars join``: a straightforward Polars lazy query over the generated Parquet files
   and the coverage the stage computed: the first event per device, sector and 90 s
   bucket; reads joined to the sectors covering their camera; the equality join on
   (sector, bucket) with the neighbouring buckets and the exact 90 s gap; distinct
   (plate, device, camera, day) units; pairs with at least 3 units.

The two joins must agree on the number of units and candidate pairs (checked). Ratios
are printed as Tessera / Polars (below 1: Tessera is faster or smaller).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml

GENERATOR = 2  # bump when the generated data changes
DAYS = 30
T0 = 1_772_409_600_000  # 2026-03-02 00:00 UTC, a Monday, in ms
DAY_MS = 86_400_000
STREET_M = 400.0  # street grid
CAMERA_SHARE = 0.6  # intersections with a camera
READ_P = 0.9  # a car passing a camera is read
TRIP_EVENT_P = 0.35  # an event (handover) at an intersection passed on a trip
CAR_STEP_S = 40.0  # seconds per street block by car
TRANSIT_STEP_S = 70.0
EVENTS_PER_DAY = 55.0  # per device, all kinds
DEVICES_PER_KM2 = 420.0
OPERATORS = (
    ("A", "26201", 600.0, 0.0),
    ("B", "26203", 750.0, 300.0),
)  # name, MCC+MNC, site spacing, offset
LAT0, LON0 = 52.40, 13.20
M_PER_DEG_LAT = 111_320.0
M_PER_DEG_LON = 111_320.0 * math.cos(math.radians(52.45))
WINDOW_MS = 90_000
MIN_UNITS = 3


# -- generation --------------------------------------------------------------------
@dataclass(frozen=True)
class City:
    side_m: float
    n_streets: int  # intersections per side
    cameras: np.ndarray  # bool [n_streets, n_streets]
    sites: list[tuple[str, str, np.ndarray, np.ndarray, np.ndarray]]  # op, mccmnc, x, y, rot


def _city(rng: np.random.Generator, n_devices: int) -> City:
    side = math.sqrt(n_devices / DEVICES_PER_KM2) * 1000.0
    n = int(side // STREET_M) + 1
    cameras = rng.random((n, n)) < CAMERA_SHARE
    sites = []
    for op, mccmnc, spacing, offset in OPERATORS:
        k = int((side - offset) // spacing) + 1
        gx, gy = np.meshgrid(offset + spacing * np.arange(k), offset + spacing * np.arange(k))
        rot = rng.uniform(0, 120, gx.size)
        sites.append((op, mccmnc, gx.ravel(), gy.ravel(), rot))
    return City(side, n, cameras, sites)


def _sector_names(city: City) -> tuple[list[str], list[int]]:
    """Every sector id, and the first sector index of each operator."""
    names: list[str] = []
    first = []
    for op, _mccmnc, x, _y, _rot in city.sites:
        first.append(len(names))
        names += [f"{op}-{s:05d}-{k}" for s in range(x.size) for k in range(3)]
    return names, first


def _serving(
    city: City, first: list[int], op: np.ndarray, x: np.ndarray, y: np.ndarray
) -> np.ndarray:
    """Index of the sector serving each point (x, y) for a device of operator ``op``:
    the nearest site of its operator, the sector facing the point."""
    out = np.empty(x.size, dtype=np.int32)
    for o, (_name, _mccmnc, sx, _sy, rot) in enumerate(city.sites):
        m = op == o
        if not m.any():
            continue
        spacing, offset = OPERATORS[o][2], OPERATORS[o][3]
        k = math.isqrt(sx.size)
        col = np.clip(np.rint((x[m] - offset) / spacing), 0, k - 1).astype(np.int64)
        row = np.clip(np.rint((y[m] - offset) / spacing), 0, k - 1).astype(np.int64)
        site = row * k + col
        dx, dy = x[m] - (offset + spacing * col), y[m] - (offset + spacing * row)
        bearing = np.degrees(np.arctan2(dx, dy)) % 360.0
        sector = (((bearing - rot[site]) % 360.0 + 60.0) // 120.0).astype(np.int64) % 3
        out[m] = first[o] + site * 3 + sector
    return out


@dataclass(frozen=True)
class People:
    op: np.ndarray
    home: np.ndarray  # [n, 2] intersection (col, row)
    work: np.ndarray
    jitter: np.ndarray  # [n, 2] metres
    leave_s: np.ndarray
    stay_s: np.ndarray
    rate: np.ndarray  # stationary events per day
    owner_of: np.ndarray  # vehicle index per owner device, -1 otherwise
    passenger_of: np.ndarray  # vehicle index per passenger device, -1 otherwise
    vehicle_owner: np.ndarray  # owner device per vehicle


def _places(rng: np.random.Generator, n: int, size: int, central: float) -> np.ndarray:
    """Intersections: a share ``central`` near the centre, the rest anywhere."""
    c = rng.normal(size / 2, size / 6, (n, 2))
    u = rng.uniform(0, size, (n, 2))
    pick = rng.random(n) < central
    return np.clip(np.rint(np.where(pick[:, None], c, u)), 0, size - 1).astype(np.int32)


def _people(rng: np.random.Generator, city: City, n: int, n_vehicles: int) -> People:
    op = (rng.random(n) < 1 / 3).astype(np.int8)
    home = _places(rng, n, city.n_streets, 0.4)
    work = _places(rng, n, city.n_streets, 0.7)
    jitter = rng.uniform(-150, 150, (n, 2))
    leave = np.clip(rng.normal(7.6, 0.8, n), 5.0, 10.5) * 3600
    stay = np.clip(rng.normal(8.5, 1.0, n), 4.0, 11.0) * 3600
    rate = rng.lognormal(0.0, 0.5, n)
    rate /= rate.mean()
    owners = rng.choice(n, n_vehicles, replace=False)
    owner_of = np.full(n, -1, np.int32)
    owner_of[owners] = np.arange(n_vehicles)
    # a quarter of the cars carry a passenger's phone (a household member) on half the
    # days: the passenger lives with the owner
    with_passenger = np.flatnonzero(rng.random(n_vehicles) < 0.25)
    others = np.setdiff1d(np.arange(n), owners)
    passengers = rng.choice(others, min(with_passenger.size, others.size), replace=False)
    passenger_of = np.full(n, -1, np.int32)
    passenger_of[passengers] = with_passenger[: passengers.size]
    home[passengers] = home[owners[with_passenger[: passengers.size]]]
    return People(op, home, work, jitter, leave, stay, rate, owner_of, passenger_of, owners)


def _trip_steps(
    start: np.ndarray, end: np.ndarray, t_start: np.ndarray, step_s: np.ndarray, reverse: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Intersections passed on each trip (along the start's street, then along the end's;
    reversed for the way back): (trip, col, row, time in s)."""
    dc, dr = end[:, 0] - start[:, 0], end[:, 1] - start[:, 1]
    nh, nv = np.abs(dc), np.abs(dr)
    steps = nh + nv + 1
    trip = np.repeat(np.arange(start.shape[0]), steps)
    first = np.repeat(np.cumsum(steps) - steps, steps)
    k = np.arange(trip.size) - first
    k_path = steps[trip] - 1 - k if reverse else k
    horizontal = k_path <= nh[trip]
    col = np.where(horizontal, start[trip, 0] + np.sign(dc[trip]) * k_path, end[trip, 0])
    row = np.where(
        horizontal, start[trip, 1], start[trip, 1] + np.sign(dr[trip]) * (k_path - nh[trip])
    )
    return trip, col, row, t_start[trip] + k * step_s[trip]


def _day(
    rng: np.random.Generator, city: City, first: list[int], p: People, day: int, stat_rate: float
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """One day's device events (device, sector, t ms, type) and plate reads (vehicle,
    camera col, row, t ms)."""
    n = p.op.size
    weekday = day % 7 < 5
    commutes = rng.random(n) < (0.85 if weekday else 0.15)
    leave = p.leave_s + rng.normal(0, 600, n)
    stay = p.stay_s + rng.normal(0, 1200, n)
    work = p.work.copy()
    by_car = commutes & (p.owner_of >= 0)
    # passengers ride with the owner on half the owner's car days
    pas = np.flatnonzero(p.passenger_of >= 0)
    owner = p.vehicle_owner[p.passenger_of[pas]]
    rides = by_car[owner] & (rng.random(pas.size) < 0.5)
    pas, owner = pas[rides], owner[rides]
    commutes[pas] = True
    leave[pas], stay[pas], work[pas] = leave[owner], stay[owner], work[owner]
    step = np.where(by_car, CAR_STEP_S, TRANSIT_STEP_S)
    step[pas] = CAR_STEP_S
    dist = np.abs(work - p.home).sum(axis=1)
    travel = (dist + 1) * step
    back = leave + travel + stay
    c = np.flatnonzero(commutes)
    # trips: morning home -> work, evening work -> home (the same streets back)
    dev_parts, t_parts, col_parts, row_parts = [], [], [], []
    read_parts = []
    for t_start, reverse in ((leave, False), (back, True)):
        trip, col, row, ts = _trip_steps(p.home[c], work[c], t_start[c], step[c], reverse)
        dev = c[trip]
        e = rng.random(trip.size) < TRIP_EVENT_P
        dev_parts.append(dev[e])
        t_parts.append(ts[e] + rng.uniform(0, step[dev[e]]))
        col_parts.append(col[e])
        row_parts.append(row[e])
        car = by_car[dev] & city.cameras[row, col] & (rng.random(trip.size) < READ_P)
        read_parts.append(
            (p.owner_of[dev[car]], col[car], row[car], ts[car] + rng.uniform(-3, 3, car.sum()))
        )
    trip_dev = np.concatenate(dev_parts)
    trip_x = np.concatenate(col_parts) * STREET_M + rng.normal(0, 50, trip_dev.size)
    trip_y = np.concatenate(row_parts) * STREET_M + rng.normal(0, 50, trip_dev.size)
    trip_t = np.concatenate(t_parts)
    # stationary events: most by day, some at night; at home, or at work in between
    counts = rng.poisson(p.rate * stat_rate)
    dev = np.repeat(np.arange(n), counts)
    night = rng.random(dev.size) < 0.15
    t = np.where(night, rng.uniform(0, 86400, dev.size), rng.uniform(6 * 3600, 23 * 3600, dev.size))
    out1, in1 = leave[dev], leave[dev] + travel[dev]
    out2, in2 = back[dev], back[dev] + travel[dev]
    moving = commutes[dev] & (((t >= out1) & (t < in1)) | ((t >= out2) & (t < in2)))
    dev, t = dev[~moving], t[~moving]
    at_work = commutes[dev] & (t >= leave[dev] + travel[dev]) & (t < back[dev])
    place = np.where(at_work[:, None], work[dev], p.home[dev]) * STREET_M
    x = place[:, 0] + p.jitter[dev, 0] + rng.normal(0, 120, dev.size)
    y = place[:, 1] + p.jitter[dev, 1] + rng.normal(0, 120, dev.size)
    all_dev = np.concatenate([dev, trip_dev])
    all_x, all_y = np.concatenate([x, trip_x]), np.concatenate([y, trip_y])
    sector = _serving(city, first, p.op[all_dev], all_x, all_y)
    kind = np.concatenate(
        [rng.choice(4, dev.size, p=[0.7, 0.15, 0.08, 0.07]), np.full(trip_dev.size, 4)]
    ).astype(np.int8)
    ms = T0 + day * DAY_MS + (np.concatenate([t, trip_t]) * 1000).astype(np.int64)
    order = np.argsort(ms, kind="stable")
    events = {"dev": all_dev[order], "sector": sector[order], "t": ms[order], "kind": kind[order]}
    veh = np.concatenate([r[0] for r in read_parts])
    reads = {
        "vehicle": veh,
        "col": np.concatenate([r[1] for r in read_parts]),
        "row": np.concatenate([r[2] for r in read_parts]),
        "t": T0
        + day * DAY_MS
        + (np.concatenate([r[3] for r in read_parts]) * 1000).astype(np.int64),
    }
    return events, reads


def _plates(n: int) -> list[str]:
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    return [
        f"B{letters[i // (len(letters) * 9000) % len(letters)]}{letters[i // 9000 % len(letters)]}"
        f"{1000 + i % 9000}"
        for i in range(n)
    ]


def _calibrate(
    rng: np.random.Generator, city: City, n_devices: int, reads: int
) -> tuple[int, float]:
    """Cars for ``reads`` plate reads, and the stationary event rate, from a sample of
    trips (reads per car trip, events per trip)."""
    probe = _people(rng, city, 4000, 0)
    dist = np.abs(probe.work - probe.home).sum(axis=1) + 1
    cam_share = city.cameras.mean()
    commute_days = (5 * 0.85 + 2 * 0.15) / 7
    reads_per_car_day = commute_days * 2 * dist.mean() * cam_share * READ_P
    n_vehicles = min(int(0.6 * n_devices), round(reads / (DAYS * reads_per_car_day)))
    trip_events = commute_days * 2 * dist.mean() * TRIP_EVENT_P
    # stationary events that would fall during a trip are dropped: about 2 %
    return n_vehicles, max(1.0, EVENTS_PER_DAY - trip_events) * 1.02


def generate(folder: Path, events: int, reads: int, seed: int) -> dict[str, Any]:
    """Write the city's sensors, device events and plate reads as Parquet under
    ``folder`` (one events file and one reads file per day) and their mappings."""
    rng = np.random.default_rng(seed)
    n_devices = max(100, round(events / (DAYS * EVENTS_PER_DAY)))
    city = _city(rng, n_devices)
    names, first = _sector_names(city)
    n_vehicles, stat_rate = _calibrate(np.random.default_rng(seed + 1), city, n_devices, reads)
    people = _people(rng, city, n_devices, n_vehicles)
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    _write_sensors(data, city, names)
    imsi = pa.array(
        [f"{OPERATORS[o][1]}{i:010d}" for i, o in enumerate(people.op.tolist())], pa.string()
    )
    plates = pa.array(_plates(n_vehicles), pa.string())
    sector_names = pa.array(names, pa.string())
    camera_names = np.array(
        [f"CAM-{r:03d}-{c:03d}" for r in range(city.n_streets) for c in range(city.n_streets)]
    )
    kinds = pa.array(["DATA", "LU", "SMS", "CALL", "HO"], pa.string())
    n_events = n_reads = 0
    for day in range(DAYS):
        ev, rd = _day(rng, city, first, people, day, stat_rate)
        table = pa.table(
            {
                "IMSI": pc.take(imsi, pa.array(ev["dev"])),
                "EVENT_TS": pa.array(ev["t"]).cast(pa.timestamp("ms", tz="UTC")),
                "EVENT_TYPE": pc.take(kinds, pa.array(ev["kind"])),
                "CGI": pc.take(sector_names, pa.array(ev["sector"])),
            }
        )
        pq.write_table(
            table, data / f"events_{day:02d}.parquet", compression="zstd", row_group_size=512_000
        )
        n_events += table.num_rows
        order = np.argsort(rd["t"], kind="stable")
        cam = camera_names[rd["row"][order] * city.n_streets + rd["col"][order]]
        reads_table = pa.table(
            {
                "read_id": pa.array([f"{day:02d}{i:09d}" for i in range(order.size)], pa.string()),
                "camera": pa.array(cam, pa.string()),
                "plate_text": pc.take(plates, pa.array(rd["vehicle"][order])),
                "seen_at": pa.array(rd["t"][order]).cast(pa.timestamp("ms", tz="UTC")),
                "conf": pa.array(np.full(order.size, 0.95)),
            }
        )
        pq.write_table(reads_table, data / f"reads_{day:02d}.parquet", compression="zstd")
        n_reads += reads_table.num_rows
        print(f"    day {day + 1:2d}/{DAYS}: {n_events:,} events, {n_reads:,} reads", flush=True)
    _write_mappings(data)
    facts = {
        "devices": n_devices,
        "vehicles": n_vehicles,
        "sectors": len(names),
        "cameras": int(city.cameras.sum()),
        "side_km": round(city.side_m / 1000, 1),
        "events": n_events,
        "reads": n_reads,
    }
    (folder / "data.json").write_text(json.dumps(facts))
    return facts


def _write_sensors(data: Path, city: City, names: list[str]) -> None:
    rows: dict[str, list[Any]] = {k: [] for k in ("CELL_ID", "SITE_ID", "LAT", "LON", "AZIMUTH")}
    i = 0
    for op, _mccmnc, x, y, rot in city.sites:
        for s in range(x.size):
            for k in range(3):
                rows["CELL_ID"].append(names[i])
                rows["SITE_ID"].append(f"{op}-{s:05d}")
                rows["LAT"].append(LAT0 + y[s] / M_PER_DEG_LAT)
                rows["LON"].append(LON0 + x[s] / M_PER_DEG_LON)
                rows["AZIMUTH"].append(float((rot[s] + 120 * k) % 360))
                i += 1
    cells = (
        pa.table(rows)
        .append_column("BEAMWIDTH", pa.array([65.0] * i))
        .append_column("RANGE_M", pa.array([900.0] * i))
    )
    pq.write_table(cells, data / "cells.parquet")
    r, c = np.nonzero(city.cameras)
    cams = pa.table(
        {
            "camera_ref": [f"CAM-{a:03d}-{b:03d}" for a, b in zip(r, c, strict=True)],
            "latitude": LAT0 + r * STREET_M / M_PER_DEG_LAT,
            "longitude": LON0 + c * STREET_M / M_PER_DEG_LON,
        }
    )
    pq.write_table(cams, data / "cameras.parquet")


MAPPINGS: dict[str, dict[str, Any]] = {
    "cells": {
        "source": "bench_cells",
        "kind": "sensor",
        "properties": {
            "sensor_id": "CELL_ID",
            "kind": {"constant": "cell_sector"},
            "lat": "LAT",
            "lon": "LON",
            "azimuth_deg": "AZIMUTH",
            "beamwidth_deg": "BEAMWIDTH",
            "range_m": "RANGE_M",
            "site_id": "SITE_ID",
        },
    },
    "cameras": {
        "source": "bench_cameras",
        "kind": "sensor",
        "properties": {
            "sensor_id": "camera_ref",
            "kind": {"constant": "plate_camera"},
            "lat": "latitude",
            "lon": "longitude",
        },
    },
    "reads": {
        "source": "bench_anpr",
        "kind": "plate_read",
        "properties": {
            "read_id": "read_id",
            "camera_id": "camera",
            "plate": "plate_text",
            "time": "seen_at",
            "confidence": "conf",
        },
    },
    "events": {
        "source": "bench_operator",
        "kind": "device_event",
        "properties": {
            "imsi": "IMSI",
            "time": "EVENT_TS",
            "event_type": {
                "column": "EVENT_TYPE",
                "values": {
                    "DATA": "data",
                    "LU": "location_update",
                    "SMS": "sms",
                    "CALL": "call",
                    "HO": "handover",
                },
            },
            "sensor_id": "CGI",
        },
    },
}


def _write_mappings(data: Path) -> None:
    for name, body in MAPPINGS.items():
        (data / f"{name}.yaml").write_text(yaml.safe_dump(body, sort_keys=False), "utf-8")


def build_workspace(folder: Path) -> None:
    """Ingest the generated files into ``folder/ws`` (once)."""
    from tessera.workspace import Workspace

    ws_path = folder / "ws"
    if ws_path.exists():
        shutil.rmtree(ws_path)
    data = folder / "data"
    t0 = time.perf_counter()
    with Workspace.init(ws_path) as ws:
        for name in ("cells", "cameras", "reads", "events"):
            files = sorted(data.glob(f"{name}*.parquet"))
            print(f"    ingesting {name} ({len(files)} files) ...", flush=True)
            for r in ws.ingest(data / f"{name}.yaml", files):
                if r.quarantined:
                    raise SystemExit(f"generated {name} data was quarantined: {r}")
    print(f"    ingested in {time.perf_counter() - t0:.0f} s", flush=True)
    (folder / "ws.done").write_text("ok")


def _set_memory(ws_path: Path, memory_limit: str, threads: int | None) -> None:
    cfg_path = ws_path / "tessera.yaml"
    cfg = yaml.safe_load(cfg_path.read_text("utf-8"))
    cfg.setdefault("duckdb", {})["memory_limit"] = memory_limit
    cfg["duckdb"]["threads"] = threads
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False), "utf-8")


# -- measured children ---------------------------------------------------------------
STAGE_CHILD = """
import json, sys, time
from tessera.workspace import Workspace
from tessera.link import cotravel
ws = Workspace.open(sys.argv[1])
t0 = time.perf_counter()
steps = []
with ws.engine.transaction():
    counts = cotravel.run(ws.engine, progress=lambda m: steps.append((time.perf_counter() - t0, m)))
seconds = time.perf_counter() - t0
kinds = ws.engine.fetch_rows("SELECT kind, count(*) FROM cotravel_pair GROUP BY kind ORDER BY kind")
ws.engine.execute(
    f"COPY (SELECT camera_id, sensor_id FROM link_coverage) TO '{sys.argv[2]}' (FORMAT parquet)"
)
ws.close()
print(json.dumps({"seconds": seconds, "counts": dict(counts), "pairs_by_kind": kinds,
                  "steps": steps}))
"""

JOIN_CHILD = """
import json, sys, time
from tessera.workspace import Workspace
from tessera.link import cotravel
cotravel.PRESENCE_CAP["vehicle_device"] = 1.0  # off: the plain join, as Polars does it
ws = Workspace.open(sys.argv[1])
e = ws.engine
t0 = time.perf_counter()
with e.transaction(), e.temp_tables() as temp:
    e.materialise(cotravel.COVERAGE, cotravel.coverage_sql())
    cotravel.prepare(temp, None)
    s = cotravel.sides(temp, "vehicle_device")
    temp("_co_units", cotravel.units_sql(s))
    temp("_co_cand", "SELECT a, b, count(*) AS units FROM _co_units GROUP BY a, b "
         "HAVING count(*) >= 3")
    seconds = time.perf_counter() - t0
    units = e.row_count("_co_units")
    cand = e.row_count("_co_cand")
ws.close()
print(json.dumps({"seconds": seconds, "units": units, "candidates": cand}))
"""

POLARS_CHILD = """
import json, sys, time
import polars as pl
data, coverage = sys.argv[1], sys.argv[2]
W, DAY = 90_000, 86_400_000
t0 = time.perf_counter()
ev = (
    pl.scan_parquet(f"{data}/events_*.parquet")
    .select(dev="IMSI", sector="CGI", t=pl.col("EVENT_TS").dt.epoch("ms"))
    .with_columns(bucket=pl.col("t") // W)
    .group_by("dev", "sector", "bucket")
    .agg(pl.col("t").min())
)
reads = pl.scan_parquet(f"{data}/reads_*.parquet").select(
    plate="plate_text", camera="camera", ta=pl.col("seen_at").dt.epoch("ms")
)
cov = pl.scan_parquet(coverage).select(camera="camera_id", sector="sensor_id")
left = reads.join(cov, on="camera").with_columns(bucket=pl.col("ta") // W)
left = pl.concat([left.with_columns(bucket=pl.col("bucket") + k) for k in (-1, 0, 1)])
units = (
    left.join(ev, on=["sector", "bucket"])
    .filter((pl.col("t") - pl.col("ta")).abs() <= W)
    .select("plate", "dev", "camera", day=pl.col("ta") // DAY)
    .unique()
)
pairs = units.group_by("plate", "dev").agg(units=pl.len())
res = pairs.select(
    units=pl.col("units").sum(), candidates=(pl.col("units") >= 3).sum()
).collect(engine="streaming")
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "units": int(res["units"][0]),
                  "candidates": int(res["candidates"][0])}))
"""


def _child_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run_child(
    code: str, args: list[str], cap_gib: float | None = None
) -> tuple[dict[str, Any] | None, float, str]:
    """Run ``code`` in a child Python; return (its JSON result or None, peak RSS MiB,
    why it failed). A child whose resident memory passes ``cap_gib`` is stopped."""
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_child_env(),
    )
    stopped = threading.Event()
    out: dict[str, bytes] = {}

    def drain(name: str, stream: Any) -> None:
        out[name] = stream.read()

    readers = [
        threading.Thread(target=drain, args=("out", proc.stdout)),
        threading.Thread(target=drain, args=("err", proc.stderr)),
    ]
    for r in readers:
        r.start()

    def watch() -> None:
        status = Path(f"/proc/{proc.pid}/status")
        while proc.poll() is None and cap_gib is not None:
            try:
                for line in status.read_text().splitlines():
                    if line.startswith("VmRSS:") and int(line.split()[1]) > cap_gib * 1024**2:
                        stopped.set()
                        proc.kill()
            except (OSError, ValueError):
                return
            time.sleep(0.2)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    for r in readers:
        r.join()
    rss_mib = usage.ru_maxrss / 1024
    if stopped.is_set():
        return None, rss_mib, f"stopped: resident memory passed {cap_gib} GiB"
    if proc.returncode != 0:
        return None, rss_mib, f"failed ({proc.returncode}): {out.get('err', b'').decode()[-2000:]}"
    return json.loads(out["out"].decode().strip().splitlines()[-1]), rss_mib, ""


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--events", type=int, default=100_000_000)
    ap.add_argument("--reads", type=int, default=5_000_000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--out", type=Path, default=Path("bench-out"))
    ap.add_argument("--memory-limit", default="6GB", help="the workspace's DuckDB memory_limit")
    ap.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: all)")
    ap.add_argument("--skip-polars", action="store_true")
    ap.add_argument("--skip-join", action="store_true", help="skip the join-only Tessera run")
    ap.add_argument("--polars-cap-gib", type=float, default=12.0)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    folder = args.out / f"cotravel_{args.events}_{args.reads}_s{args.seed}_g{GENERATOR}"
    if not (folder / "data.json").exists():
        print(f"generating {args.events:,} events and {args.reads:,} reads into {folder} ...")
        if folder.exists():
            shutil.rmtree(folder)
        generate(folder, args.events, args.reads, args.seed)
    facts = json.loads((folder / "data.json").read_text())
    if not (folder / "ws.done").exists():
        print("building the workspace ...", flush=True)
        build_workspace(folder)
    print(
        f"data: {facts['events']:,} device events, {facts['reads']:,} plate reads; "
        f"{facts['devices']:,} devices, {facts['vehicles']:,} cars, {facts['sectors']:,} "
        f"sectors, {facts['cameras']:,} cameras, {facts['side_km']} km square, {DAYS} days"
    )
    ws_path = folder / "ws"
    _set_memory(ws_path, args.memory_limit, args.threads)
    coverage = folder / "coverage.parquet"
    results: dict[str, Any] = {"data": facts, "memory_limit": args.memory_limit}

    print("tessera stage (cotravel.run) ...", flush=True)
    stage, rss, why = run_child(STAGE_CHILD, [str(ws_path), str(coverage)])
    if stage is None:
        raise SystemExit(f"the stage {why}")
    results["stage"] = {**stage, "peak_rss_mib": rss}
    for t, m in stage["steps"]:
        print(f"  {t:7.1f} s  {m}")
    print(
        f"  {stage['seconds']:.1f} s, peak {rss:,.0f} MiB; {stage['counts']}; "
        f"pairs by kind {stage['pairs_by_kind']}"
    )
    if not args.skip_join:
        print("tessera join (vehicle-device units and pairs, presence cap off) ...", flush=True)
        join, rss, why = run_child(JOIN_CHILD, [str(ws_path)])
        if join is None:
            raise SystemExit(f"the join {why}")
        results["join"] = {**join, "peak_rss_mib": rss}
        print(
            f"  {join['seconds']:.1f} s, peak {rss:,.0f} MiB; {join['units']:,} units, "
            f"{join['candidates']:,} pairs with >= {MIN_UNITS} units"
        )
    if not args.skip_polars:
        print("polars join (streaming engine) ...", flush=True)
        polars, rss, why = run_child(
            POLARS_CHILD, [str(folder / "data"), str(coverage)], args.polars_cap_gib
        )
        results["polars"] = {**(polars or {"failed": why}), "peak_rss_mib": rss}
        if polars is None:
            print(f"  did not finish: {why} (peak {rss:,.0f} MiB)")
        else:
            print(
                f"  {polars['seconds']:.1f} s, peak {rss:,.0f} MiB; {polars['units']:,} units, "
                f"{polars['candidates']:,} pairs with >= {MIN_UNITS} units"
            )
            for name in ("stage", "join"):
                if name in results:
                    mine = results[name]
                    print(
                        f"  ratio tessera {name} / polars join: time "
                        f"{mine['seconds'] / polars['seconds']:.2f}, peak memory "
                        f"{mine['peak_rss_mib'] / rss:.2f}"
                    )
            if "join" in results:
                same = (results["join"]["units"], results["join"]["candidates"]) == (
                    polars["units"],
                    polars["candidates"],
                )
                print(f"  the two joins agree: {same}")
                results["joins_agree"] = same
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
