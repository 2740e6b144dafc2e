"""Tessera benchmarks: ingest throughput, peak memory, CLI start-up.

    python benchmarks/run.py                 # the default suite (a few minutes on 2 cores)
    python benchmarks/run.py --quick         # small sizes, to check the runner works
    python benchmarks/run.py --memory-rows 50000000   # the 50M-row memory target
    python benchmarks/run.py --json out.json # also write the figures as JSON

Every measured ingest runs in its own child process on a fresh workspace, so that its
peak resident memory (``ru_maxrss`` of that child alone, from ``os.wait4``) is the
ingest's own. Inputs are generated once into ``--out`` (default ``bench-out/``, ignored
by git) and reused by later runs with the same sizes.

The figures are compared with the targets from the foundation issue and printed as
ratios (measured / target, higher is better for throughput, lower for memory and time).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import yaml

T0_MS = 1_772_000_000_000  # 2026-02-25, a fixed origin so that inputs are reproducible
DEVICES = 50_000
SECTORS = 3_000
CHUNK_ROWS = 1_000_000
CSV_GENERATOR = 2  # bump when make_csv writes different data

CHILD = """
import json, sys, time
from tessera.workspace import Workspace
ws_path, mapping, data = sys.argv[1:4]
ws = Workspace.init(ws_path)
t0 = time.perf_counter()
[r] = ws.ingest(mapping, [data])
elapsed = time.perf_counter() - t0
ws.close()
print(json.dumps({"read": r.read, "loaded": r.loaded, "added": r.added,
                  "quarantined": r.quarantined, "seconds": elapsed}))
"""


@dataclass
class Figure:
    name: str
    rows: int
    seconds: float
    rows_per_s: float
    peak_rss_mib: float
    target: str
    ratio: float  # measured / target for throughput; target / measured for memory
    runs: int = 1
    seconds_range: tuple[float, float] = (0.0, 0.0)  # fastest and slowest run

    def line(self) -> str:
        spread = (
            f"  ({self.runs} runs, {self.seconds_range[0]:.2f}-{self.seconds_range[1]:.2f} s)"
            if self.runs > 1
            else ""
        )
        return (
            f"{self.name:<34} {self.rows:>12,} rows {self.seconds:>8.2f} s "
            f"{self.rows_per_s:>12,.0f} rows/s {self.peak_rss_mib:>8.0f} MiB  "
            f"target {self.target:<22} ratio {self.ratio:5.2f}{spread}"
        )


def _device_event_table(rng: np.random.Generator, start: int, n: int) -> pa.Table:
    dev = rng.integers(0, DEVICES, n)
    # A realistic feed: many events per device, numbers in one national format.
    msisdn = pa.array(np.char.add("+49151", np.char.zfill(dev.astype(str), 8)))
    t = T0_MS + (start + np.arange(n, dtype=np.int64)) * 37
    return pa.table(
        {
            "msisdn": msisdn,
            "event_time": pa.array(t).cast(pa.timestamp("ms", tz="UTC")),
            "event": pa.array(np.array(["LU", "CALL", "SMS", "DATA"])[rng.integers(0, 4, n)]),
            "cell": pa.array(np.char.add("S", rng.integers(0, SECTORS, n).astype(str))),
        }
    )


def make_parquet(path: Path, rows: int) -> None:
    if path.exists() and pq.ParquetFile(path).metadata.num_rows == rows:
        return
    rng = np.random.default_rng(1)
    tmp = path.with_suffix(".tmp")
    writer: pq.ParquetWriter | None = None
    try:
        for start in range(0, rows, CHUNK_ROWS):
            t = _device_event_table(rng, start, min(CHUNK_ROWS, rows - start))
            if writer is None:
                writer = pq.ParquetWriter(tmp, t.schema, compression="zstd")
            writer.write_table(t, row_group_size=256_000)
    finally:
        if writer is not None:
            writer.close()
    tmp.replace(path)


def make_csv(path: Path, rows: int) -> None:
    marker = path.with_suffix(".rows")
    stamp = f"{rows} rows, generator {CSV_GENERATOR}"  # regenerate when the generator changes
    if path.exists() and marker.exists() and marker.read_text() == stamp:
        return
    rng = np.random.default_rng(2)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as out:
        for start in range(0, rows, CHUNK_ROWS):
            t = _device_event_table(rng, start, min(CHUNK_ROWS, rows - start))
            # As operators export it: local-time text without a zone, a national number.
            local = pa.compute.strftime(  # type: ignore[attr-defined]
                t.column("event_time").cast(pa.timestamp("s", tz="UTC"), safe=False),
                format="%d.%m.%Y %H:%M:%S",
                locale="C",
            )
            t = t.set_column(1, "event_time", local)
            opts = pacsv.WriteOptions(include_header=start == 0, delimiter=";")
            pacsv.write_csv(t, out, write_options=opts)
    tmp.replace(path)
    marker.write_text(stamp)


def write_mapping(path: Path, fmt: str) -> Path:
    body: dict[str, object] = {
        "source": f"bench_{fmt}",
        "kind": "device_event",
        "phone_region": "DE",
        "properties": {
            "msisdn": "msisdn",
            "sensor_id": "cell",
            "event_type": {
                "column": "event",
                "values": {"LU": "location_update", "CALL": "call", "SMS": "sms", "DATA": "data"},
            },
        },
    }
    props = body["properties"]
    assert isinstance(props, dict)
    if fmt == "csv":
        body["timezone"] = "UTC"
        body["csv"] = {"delimiter": ";"}
        props["time"] = {"column": "event_time", "format": "%d.%m.%Y %H:%M:%S"}
    else:
        props["time"] = "event_time"
    path.write_text(yaml.safe_dump(body, sort_keys=False), "utf-8")
    return path


def _child_env() -> dict[str, str]:
    """The environment for measured children: as installed Python normally runs, with
    cached bytecode (some sandboxes set PYTHONDONTWRITEBYTECODE, which recompiles every
    module in every process)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run_child(ws: Path, mapping: Path, data: Path) -> tuple[dict[str, float], float]:
    args = [sys.executable, "-c", CHILD, str(ws), str(mapping), str(data)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_child_env())
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    out = proc.stdout.read().decode() if proc.stdout else ""
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.stdout:
        proc.stdout.close()
    if proc.stderr:
        proc.stderr.close()
    if proc.returncode != 0:
        raise SystemExit(f"benchmark child failed ({proc.returncode}):\n{err}")
    rss_kib = usage.ru_maxrss  # KiB on Linux
    return json.loads(out.strip().splitlines()[-1]), rss_kib / 1024


def bench_ingest(
    out: Path,
    name: str,
    fmt: str,
    rows: int,
    target_rows_s: float | None,
    memory_target_mib: float | None = None,
    repeat: int = 1,
) -> Figure:
    """Ingest ``rows`` generated rows ``repeat`` times, each into a fresh workspace;
    report the median time and the largest peak memory."""
    data = out / f"device_events_{rows}.{'csv' if fmt == 'csv' else 'parquet'}"
    print(f"  generating {data.name} ...", flush=True)
    (make_csv if fmt == "csv" else make_parquet)(data, rows)
    mapping = write_mapping(out / f"{fmt}.yaml", fmt)
    import shutil

    ws = out / f"ws_{name.replace(' ', '_').replace(',', '')}"
    times: list[float] = []
    rss = 0.0
    for i in range(repeat):
        if ws.exists():
            shutil.rmtree(ws)
        print(f"  ingesting {data.name} (run {i + 1} of {repeat}) ...", flush=True)
        res, run_rss = run_child(ws, mapping, data)
        if res["read"] != rows or res["read"] != res["loaded"] + res["quarantined"]:
            raise SystemExit(f"{name}: counts do not add up: {res}")
        if res["quarantined"] or res["added"] < 0.99 * rows:  # the generated data is clean
            raise SystemExit(f"{name}: clean input was not loaded as such: {res}")
        times.append(res["seconds"])
        rss = max(rss, run_rss)
    shutil.rmtree(ws)
    seconds = float(np.median(times))
    rate = rows / seconds
    if memory_target_mib is not None:
        target, ratio = f"< {memory_target_mib:,.0f} MiB", memory_target_mib / rss
    else:
        assert target_rows_s is not None
        target, ratio = f">= {target_rows_s:,.0f} rows/s", rate / target_rows_s
    return Figure(name, rows, seconds, rate, rss, target, ratio, repeat, (min(times), max(times)))


def bench_help(repeats: int = 7) -> Figure:
    exe = Path(sys.executable).with_name("tessera")
    cmd = [str(exe), "--help"] if exe.exists() else [sys.executable, "-m", "tessera", "--help"]
    times = []
    env = _child_env()
    subprocess.run(cmd, check=True, capture_output=True, env=env)  # writes the bytecode cache
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - t0)
    med = float(np.median(times))
    return Figure("tessera --help (median of 7)", 0, med, 0.0, 0.0, "< 0.5 s", 0.5 / med)


# tier -> (wall-time target in seconds or None, peak-memory target in MiB or None)
SIMULATE_TARGETS: dict[str, tuple[float | None, float | None]] = {
    "small": (30.0, None),
    "district": (600.0, None),
    "city": (None, 8 * 1024.0),
}


def bench_simulate(out: Path, tier: str) -> Figure:
    """``tessera simulate OUT --tier TIER`` in a child process: wall time, peak memory and
    the rows written, against the tier's target."""
    import shutil

    target_dir = out / f"sim_{tier}"
    if target_dir.exists():
        shutil.rmtree(target_dir)
    cmd = [sys.executable, "-m", "tessera", "simulate", str(target_dir), "--tier", tier]
    print(f"  simulating the {tier} tier ...", flush=True)
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_child_env()
    )
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"simulate {tier} failed:\n{err}")
    rss = usage.ru_maxrss / 1024
    manifest = json.loads((target_dir / "manifest.json").read_text())
    rows = sum(v["rows"] or 0 for k, v in manifest["files"].items() if k.startswith("sources/"))
    shutil.rmtree(target_dir)
    time_target, memory_target = SIMULATE_TARGETS[tier]
    if time_target is not None:
        target, ratio = f"< {time_target:,.0f} s", time_target / seconds
    else:
        assert memory_target is not None
        target, ratio = f"< {memory_target:,.0f} MiB", memory_target / rss
    return Figure(
        f"simulate {tier} (source rows)", rows, seconds, rows / seconds, rss, target, ratio
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--out", type=Path, default=Path("bench-out"))
    ap.add_argument("--parquet-rows", type=int, default=10_000_000)
    ap.add_argument("--csv-rows", type=int, default=3_000_000)
    ap.add_argument(
        "--memory-rows",
        type=int,
        default=0,
        help="also ingest this many Parquet rows and report peak memory (0: skip)",
    )
    ap.add_argument(
        "--repeat", type=int, default=3, help="runs of each throughput figure (median reported)"
    )
    ap.add_argument(
        "--simulate",
        action="append",
        default=[],
        choices=sorted(SIMULATE_TARGETS),
        help="also time `tessera simulate --tier T` (repeatable)",
    )
    ap.add_argument("--quick", action="store_true", help="small sizes (checks the runner)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)
    if args.quick:
        args.parquet_rows, args.csv_rows = 200_000, 100_000
        args.memory_rows = min(args.memory_rows, 300_000)
    args.out.mkdir(parents=True, exist_ok=True)

    print(
        f"Tessera benchmarks on {platform.node()} ({os.cpu_count()} cores, "
        f"Python {platform.python_version()})",
        flush=True,
    )
    figures = [bench_help()]
    print(figures[-1].line(), flush=True)
    figures.append(
        bench_ingest(
            args.out,
            "ingest parquet device events",
            "parquet",
            args.parquet_rows,
            1_000_000,
            repeat=args.repeat,
        )
    )
    print(figures[-1].line(), flush=True)
    figures.append(
        bench_ingest(
            args.out, "ingest csv device events", "csv", args.csv_rows, 300_000, repeat=args.repeat
        )
    )
    print(figures[-1].line(), flush=True)
    if args.memory_rows:
        figures.append(
            bench_ingest(
                args.out,
                "peak memory, parquet",
                "parquet",
                args.memory_rows,
                None,
                memory_target_mib=2048,
            )
        )
        print(figures[-1].line(), flush=True)
    for tier in args.simulate:
        figures.append(bench_simulate(args.out, tier))
        print(figures[-1].line(), flush=True)
    print()
    print("\n".join(f.line() for f in figures))
    if args.json:
        args.json.write_text(json.dumps([asdict(f) for f in figures], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
