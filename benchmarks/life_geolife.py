"""Stays on real GPS traces: Tessera's staypoint kernel against trackintel, on GeoLife.

    python benchmarks/life_geolife.py                        # the table; exit 1 below target
    python benchmarks/life_geolife.py --json out.json        # also write the figures
    python benchmarks/life_geolife.py --data DIR --repeat 5  # data elsewhere, more runs

Needs the ``bench`` dependency group (trackintel, polars): ``uv sync --group bench``.

The GeoLife ``.plt`` files (``<data>/<uid>/Trajectory/*.plt``, default
``../shared/data/geolife_dev`` from the repository root, never copied into the
repository; see SOURCE.txt there) are read once into arrays (6 header lines, then
``lat,lon,0,alt_ft,days,date,time``, times in GMT). Both libraries then get the same
points:

* trackintel 1.4.2: a ``Positionfixes`` GeoDataFrame (``user_id``, ``tracked_at`` as UTC
  timestamps, point geometry in EPSG:4326; no elevation, so that duplicate fixes are the
  same for both) and ``generate_staypoints(method="sliding", dist_threshold=100,
  time_threshold=5, gap_threshold=15)`` (metres and minutes; one process, ``n_jobs=1``);
* Tessera: ``detect_staypoints(user, t_ms, lat, lon, dist_threshold_m=100,
  time_threshold_s=300, gap_threshold_s=900)`` (one thread).

Reading the files and building the inputs are outside both timings; each side is timed
``--repeat`` times and the best run is reported. Tessera's kernel is compiled first (that
time is reported on its own) and called once to warm up. With ``--scale K`` Tessera is
also timed on the points repeated for K times as many users, for its throughput on a
larger input.

Agreement is measured on stay *time*: per user, the stays of each side are intervals
``[started_at, finished_at)``; "Tessera covers trackintel" is the share of trackintel's
total stay time that lies inside Tessera's stays of the same user, and the other way
round; the Jaccard index is their intersection over their union. Targets (from the issue):
agreement of at least 0.90 both ways, and Tessera at least 20 times faster.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tessera.life.staypoints import EARTH_RADIUS_M, compile_kernels, detect_staypoints

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "geolife_dev"

DIST_M = 100.0
TIME_MIN = 5.0
GAP_MIN = 15.0
AGREEMENT_TARGET = 0.90
SPEEDUP_TARGET = 20.0


@dataclass
class Points:
    user: np.ndarray  # int64, the folder name as a number
    t_ms: np.ndarray  # int64, milliseconds since the epoch, UTC
    lat: np.ndarray
    lon: np.ndarray
    files: int


@dataclass
class Result:
    points: int
    users: int
    files: int
    duplicate_points: int
    staypoints_trackintel: int
    staypoints_tessera: int
    identical_staypoints: int  # same user, start and finish
    stay_hours_trackintel: float
    stay_hours_tessera: float
    tessera_covers_trackintel: float
    trackintel_covers_tessera: float
    jaccard: float
    position_diff_m_median: float  # identical stays: distance between the two positions
    position_diff_m_max: float
    seconds_trackintel: float
    seconds_tessera: float
    compile_seconds: float
    speedup: float
    tessera_points_per_s: float
    repeat: int
    scaled_points: int = 0
    scaled_seconds: float = 0.0
    scaled_points_per_s: float = 0.0


def read_geolife(data: Path) -> Points:
    """All ``<uid>/Trajectory/*.plt`` files under ``data``, in user then file order."""
    import polars as pl

    names = ["lat", "lon", "zero", "alt_ft", "days", "date", "time"]
    frames = []
    files = sorted(data.glob("*/Trajectory/*.plt"))
    if not files:
        raise FileNotFoundError(f"no <uid>/Trajectory/*.plt files under {data}")
    for path in files:
        df = pl.read_csv(path, skip_rows=6, has_header=False, new_columns=names)
        frames.append(
            df.select(
                pl.lit(int(path.parent.parent.name), dtype=pl.Int64).alias("user"),
                (pl.col("date") + " " + pl.col("time"))
                .str.to_datetime("%Y-%m-%d %H:%M:%S", time_unit="ms", time_zone="UTC")
                .dt.epoch("ms")
                .alias("t_ms"),
                pl.col("lat").cast(pl.Float64),
                pl.col("lon").cast(pl.Float64),
            )
        )
    df = pl.concat(frames)
    return Points(
        user=df["user"].to_numpy(),
        t_ms=df["t_ms"].to_numpy(),
        lat=df["lat"].to_numpy(),
        lon=df["lon"].to_numpy(),
        files=len(files),
    )


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def run_trackintel(p: Points, repeat: int) -> tuple[float, Any]:
    import geopandas as gpd
    import pandas as pd
    import trackintel as ti

    gdf = gpd.GeoDataFrame(
        {"user_id": p.user, "tracked_at": pd.to_datetime(p.t_ms, unit="ms", utc=True)},
        geometry=gpd.points_from_xy(p.lon, p.lat),
        crs="EPSG:4326",
    )
    pfs = ti.Positionfixes(gdf)

    def once() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "N duplicates were dropped", pandas notices
            _, sp = pfs.generate_staypoints(
                method="sliding",
                dist_threshold=DIST_M,
                time_threshold=TIME_MIN,
                gap_threshold=GAP_MIN,
                n_jobs=1,
            )
        return sp

    return best_of(repeat, once)


def intervals(users: np.ndarray, start: np.ndarray, end: np.ndarray) -> dict[int, np.ndarray]:
    """Per user, the union of ``[start, end)`` as sorted disjoint rows ``(start, end)``."""
    out: dict[int, np.ndarray] = {}
    for u in np.unique(users):
        sel = users == u
        order = np.argsort(start[sel], kind="stable")
        s, e = start[sel][order], end[sel][order]
        merged: list[list[int]] = []
        for a, b in zip(s.tolist(), e.tolist(), strict=True):
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        out[int(u)] = np.array(merged, dtype=np.int64).reshape(-1, 2)
    return out


def total(iv: dict[int, np.ndarray]) -> int:
    return int(sum(int((x[:, 1] - x[:, 0]).sum()) for x in iv.values()))


def overlap(a: dict[int, np.ndarray], b: dict[int, np.ndarray]) -> int:
    """Total length of the intersection of two per-user interval sets."""
    inter = 0
    for u, x in a.items():
        y = b.get(u)
        if y is None:
            continue
        i = j = 0
        while i < len(x) and j < len(y):
            lo, hi = max(x[i, 0], y[j, 0]), min(x[i, 1], y[j, 1])
            inter += max(0, int(hi - lo))
            if x[i, 1] < y[j, 1]:
                i += 1
            else:
                j += 1
    return inter


def haversine_m(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> Any:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    h = (
        np.sin((p2 - p1) / 2) ** 2
        + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(h))


def compare(p: Points, repeat: int, scale: int) -> Result:
    import pandas as pd

    t_ti, sp = run_trackintel(p, repeat)

    t0 = time.perf_counter()
    compile_kernels()
    compile_s = time.perf_counter() - t0

    def tessera() -> Any:
        return detect_staypoints(
            p.user,
            p.t_ms,
            p.lat,
            p.lon,
            dist_threshold_m=DIST_M,
            time_threshold_s=TIME_MIN * 60,
            gap_threshold_s=GAP_MIN * 60,
        )

    tessera()  # warm-up
    t_te, ours = best_of(max(repeat, 10), tessera)

    ti_user = sp["user_id"].to_numpy(dtype=np.int64)
    ti_start = sp["started_at"].dt.as_unit("ms").astype("int64").to_numpy()
    ti_end = sp["finished_at"].dt.as_unit("ms").astype("int64").to_numpy()
    te_user = ours.column("user").to_numpy()
    te_start = ours.column("started_at_ms").to_numpy()
    te_end = ours.column("finished_at_ms").to_numpy()

    a = intervals(ti_user, ti_start, ti_end)
    b = intervals(te_user, te_start, te_end)
    inter, ta, tb = overlap(a, b), total(a), total(b)

    left = pd.DataFrame(
        {"u": ti_user, "s": ti_start, "e": ti_end, "lat": sp.geometry.y, "lon": sp.geometry.x}
    )
    right = pd.DataFrame(
        {
            "u": te_user,
            "s": te_start,
            "e": te_end,
            "lat": ours.column("lat").to_numpy(),
            "lon": ours.column("lon").to_numpy(),
        }
    )
    same = left.merge(right, on=["u", "s", "e"], suffixes=("_ti", "_te"))
    diff = haversine_m(
        same["lat_ti"].to_numpy(),
        same["lon_ti"].to_numpy(),
        same["lat_te"].to_numpy(),
        same["lon_te"].to_numpy(),
    )
    dup = pd.DataFrame({"u": p.user, "t": p.t_ms, "la": p.lat, "lo": p.lon}).duplicated()

    result = Result(
        points=len(p.t_ms),
        users=len(np.unique(p.user)),
        files=p.files,
        duplicate_points=int(dup.sum()),
        staypoints_trackintel=len(sp),
        staypoints_tessera=ours.num_rows,
        identical_staypoints=len(same),
        stay_hours_trackintel=ta / 3.6e6,
        stay_hours_tessera=tb / 3.6e6,
        tessera_covers_trackintel=inter / ta if ta else math.nan,
        trackintel_covers_tessera=inter / tb if tb else math.nan,
        jaccard=inter / (ta + tb - inter) if ta + tb - inter else math.nan,
        position_diff_m_median=float(np.median(diff)) if len(diff) else math.nan,
        position_diff_m_max=float(diff.max()) if len(diff) else math.nan,
        seconds_trackintel=t_ti,
        seconds_tessera=t_te,
        compile_seconds=compile_s,
        speedup=t_ti / t_te,
        tessera_points_per_s=len(p.t_ms) / t_te,
        repeat=repeat,
    )
    if scale > 1:
        n = len(p.t_ms)
        span = int(p.user.max()) + 1
        user = (p.user[None, :] + span * np.arange(scale)[:, None]).reshape(-1)
        big = (user, np.tile(p.t_ms, scale), np.tile(p.lat, scale), np.tile(p.lon, scale))

        def scaled() -> Any:
            return detect_staypoints(
                *big,
                dist_threshold_m=DIST_M,
                time_threshold_s=TIME_MIN * 60,
                gap_threshold_s=GAP_MIN * 60,
            )

        secs, out = best_of(repeat, scaled)
        if out.num_rows != scale * ours.num_rows:
            raise RuntimeError(f"scaled run found {out.num_rows} stays, not {scale} x {ours}")
        result.scaled_points, result.scaled_seconds = scale * n, secs
        result.scaled_points_per_s = scale * n / secs
    return result


def report(r: Result) -> str:
    rows = [
        ("points (users, files)", f"{r.points:,} ({r.users} users, {r.files} files)"),
        ("  of which repeated fixes", f"{r.duplicate_points:,}"),
        ("staypoints trackintel / Tessera", f"{r.staypoints_trackintel} / {r.staypoints_tessera}"),
        ("  identical (user, start, finish)", f"{r.identical_staypoints}"),
        (
            "stay time trackintel / Tessera",
            f"{r.stay_hours_trackintel:,.1f} h / {r.stay_hours_tessera:,.1f} h",
        ),
        (
            "Tessera covers trackintel's stay time",
            f"{r.tessera_covers_trackintel:.4f}  (target >= {AGREEMENT_TARGET})",
        ),
        (
            "trackintel covers Tessera's stay time",
            f"{r.trackintel_covers_tessera:.4f}  (target >= {AGREEMENT_TARGET})",
        ),
        ("Jaccard of stay time", f"{r.jaccard:.4f}"),
        (
            "position, identical stays (median / max)",
            f"{r.position_diff_m_median:.2f} m / {r.position_diff_m_max:.2f} m",
        ),
        ("trackintel generate_staypoints", f"{r.seconds_trackintel:.3f} s (best of {r.repeat})"),
        (
            "Tessera detect_staypoints",
            f"{r.seconds_tessera * 1e3:.2f} ms ({r.tessera_points_per_s / 1e6:,.1f} M points/s)",
        ),
        ("  numba compile (once per process)", f"{r.compile_seconds:.2f} s"),
        ("speedup (trackintel / Tessera)", f"{r.speedup:,.0f} x  (target >= {SPEEDUP_TARGET:g})"),
    ]
    if r.scaled_points:
        rows.append(
            (
                f"Tessera on {r.scaled_points:,} points",
                f"{r.scaled_seconds:.3f} s ({r.scaled_points_per_s / 1e6:,.1f} M points/s)",
            )
        )
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the GeoLife user folders")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs of each side (best)")
    ap.add_argument(
        "--scale",
        type=int,
        default=100,
        help="also time Tessera on the points repeated for K times the users (1: skip)",
    )
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)
    try:
        points = read_geolife(args.data)
    except FileNotFoundError as exc:
        print(f"error: {exc} (see --data)", file=sys.stderr)
        return 2
    print(
        f"Stays on GeoLife ({args.data}) on {platform.node()} ({os.cpu_count()} cores, "
        f"Python {platform.python_version()}); thresholds {DIST_M:g} m, {TIME_MIN:g} min, "
        f"gap {GAP_MIN:g} min",
        flush=True,
    )
    result = compare(points, args.repeat, args.scale)
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(asdict(result), indent=2) + "\n")
    failed = []
    for name, value in (
        ("Tessera covers trackintel", result.tessera_covers_trackintel),
        ("trackintel covers Tessera", result.trackintel_covers_tessera),
    ):
        if not value >= AGREEMENT_TARGET:
            failed.append(f"agreement '{name}' {value:.4f} < {AGREEMENT_TARGET}")
    if not result.speedup >= SPEEDUP_TARGET:
        failed.append(f"speedup {result.speedup:.1f} < {SPEEDUP_TARGET:g}")
    for line in failed:
        print(f"TARGET MISSED: {line}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
