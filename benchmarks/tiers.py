"""Whole-build cost by tier: ingest and every stage, time and peak memory, on DuckDB
and (optionally) the same stages on Spark.

    python benchmarks/tiers.py --tier small --out bench-out/tiers
    python benchmarks/tiers.py --tier city --out /data/city      # 200,000 people, 30 days
    python benchmarks/tiers.py --tier district --out bench-out/tiers --spark local[2]

The simulation is written once into ``<out>/<tier>/sim`` and reused (it is not
timed: it stands for the operator's data). The measured run then happens in one child
process: a fresh workspace, every feed ingested, every stage built. A sampling thread
in the child reads its resident memory (``VmRSS``, every 0.2 s) so that each step's
peak is its own: DuckDB, Arrow, numba and Python together, as the operating system
counts them. ``ru_maxrss`` of the child (from ``os.wait4``) is the whole run's peak.

With ``--spark MASTER`` a second child runs :func:`tessera.engines.spark.build.spark_build`
on the built workspace (inputs copied from it first, timed apart) and the figures of
the stages that ran on both engines are printed side by side with their ratio. The
Spark driver's memory is the child's; the executors of ``local[N]`` run in the same JVM,
whose resident memory the child does not count: the JVM is sampled separately.

Targets (issue 10): ``city`` under 30 minutes and 16 GB on 2 cores; Spark ``local[2]``
on ``district`` within 4 times DuckDB's time for the same stages.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

CHILD = r"""
import json, os, sys, threading, time
from pathlib import Path

def rss_mib(pid="self"):
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0

def children_rss():
    # the JVM of a local Spark session is a child of this process
    total = 0.0
    me = str(os.getpid())
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as fh:
                ppid = fh.read().rsplit(")", 1)[1].split()[1]
        except OSError:
            continue
        if ppid == me:
            total += rss_mib(pid)
    return total

class Peak:
    def __init__(self):
        self.peak = 0.0
        self.jvm = 0.0
        self.stop = False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()
    def run(self):
        while not self.stop:
            self.peak = max(self.peak, rss_mib())
            self.jvm = max(self.jvm, children_rss())
            time.sleep(0.2)
    def take(self):
        p, j = max(self.peak, rss_mib()), self.jvm
        self.peak, self.jvm = rss_mib(), 0.0
        return p, j

mode, sim, ws_path, master = sys.argv[1:5]
from tessera.workspace import Workspace
steps = []
peak = Peak()
current = [None, time.perf_counter()]
def progress(stage, i, n):
    # called before each stage (and with "" at the end): close the previous one
    if current[0] is not None:
        step(current[0], time.perf_counter() - current[1])
    current[0], current[1] = stage or None, time.perf_counter()
    peak.take()
def step(name, seconds, rows=None):
    p, j = peak.take()
    steps.append({"step": name, "seconds": round(seconds, 2), "peak_mib": round(p),
                  "jvm_peak_mib": round(j), "rows": rows})
    print(json.dumps(steps[-1]), file=sys.stderr, flush=True)

if mode in ("duckdb", "build"):
    ws = Workspace.init(ws_path) if mode == "duckdb" else Workspace.open(ws_path)
    for mapping in sorted((Path(sim) / "mappings").glob("*.yaml")) if mode == "duckdb" else []:
        t0 = time.perf_counter()
        [r] = ws.ingest(mapping)
        step(f"ingest {mapping.stem}", time.perf_counter() - t0, r.loaded)
    results = ws.build(progress=progress, force=mode == "build")
    ws.close()
else:
    from tessera.engines.spark.build import open_spark, stage_inputs, stage_supported, sync_inputs
    from tessera.stages import RUNS, registered_stages, run_stages
    from tessera.workspace.workspace import SYSTEM_TABLES
    ws = Workspace.open(ws_path)
    chosen = [s for s in registered_stages() if stage_supported(s.name)]
    t0 = time.perf_counter()
    spark = open_spark(ws, master=master)
    step("spark session", time.perf_counter() - t0)
    t0 = time.perf_counter()
    sync_inputs(ws, spark, stage_inputs(chosen))
    if RUNS not in spark.table_names():
        with spark.transaction():
            spark.execute(f"CREATE TABLE {RUNS} ({SYSTEM_TABLES[RUNS]})")
    step("copy inputs", time.perf_counter() - t0)
    results = run_stages(spark, chosen, force=True, progress=progress)
    spark.close()
    ws.close()
print(json.dumps({"steps": steps, "stages": [
    {"stage": r.stage, "seconds": round(r.duration_s, 2), "rows": sum(r.outputs.values())}
    for r in results]}))
"""


def simulate(tier: str, sim: Path, seed: int) -> None:
    if (sim / "manifest.json").exists():
        return
    from tessera.simulate.output import TIERS
    from tessera.simulate.output import simulate as run

    persons, days = TIERS[tier]
    t0 = time.perf_counter()
    run(sim, persons=persons, days=days, seed=seed, tier=tier)
    print(f"simulated {tier} in {time.perf_counter() - t0:.0f} s (not part of the figures)")


def child(mode: str, sim: Path, ws: Path, master: str) -> tuple[dict, float, float]:
    """Run the measured child; return its report, wall seconds and ru_maxrss (MiB)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, mode, str(sim), str(ws), master],
        stdout=subprocess.PIPE,
        env=env,
    )
    # the child writes one line of JSON on stdout at the end (its steps go to stderr)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    out = proc.stdout.read().decode() if proc.stdout else ""
    code = os.waitstatus_to_exitcode(status)
    if code:
        raise SystemExit(f"the {mode} run failed (exit {code})")
    report = json.loads(out.strip().splitlines()[-1])
    return report, wall, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tier", default="small", choices=["small", "district", "city"])
    parser.add_argument("--out", type=Path, default=Path("bench-out/tiers"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--spark", metavar="MASTER", help="also run the stages on Spark")
    parser.add_argument(
        "--skip-duckdb",
        action="store_true",
        help="reuse the workspace of an earlier run (for --spark)",
    )
    parser.add_argument(
        "--build-only",
        action="store_true",
        help="rebuild every stage of the workspace an earlier run ingested (no ingest)",
    )
    parser.add_argument("--json", type=Path, help="write the figures as JSON")
    args = parser.parse_args()

    base = args.out / args.tier
    sim, ws = base / "sim", base / "ws"
    simulate(args.tier, sim, args.seed)
    figures: dict = {"tier": args.tier, "cores": os.cpu_count()}
    if args.skip_duckdb and args.json and args.json.exists():
        # the DuckDB figures of the earlier run, for the ratio
        figures["duckdb"] = json.loads(args.json.read_text()).get("duckdb", {})
    if not args.skip_duckdb:
        if ws.exists() and not args.build_only:
            import shutil

            shutil.rmtree(ws)
        mode = "build" if args.build_only else "duckdb"
        report, wall, maxrss = child(mode, sim, ws, "")
        figures["duckdb"] = {**report, "wall_s": round(wall, 1), "peak_mib": round(maxrss)}
        print(
            f"\n{args.tier} on DuckDB: {wall / 60:.1f} min, peak {maxrss / 1024:.2f} GiB "
            "(targets for city: 30 min, 16 GB)"
        )
        for s in report["steps"]:
            print(f"  {s['step']:<40} {s['seconds']:>9.1f} s {s['peak_mib']:>8,} MiB")
        if args.json:  # kept if the Spark run fails
            args.json.write_text(json.dumps(figures, indent=1))
    if args.spark:
        report, wall, _ = child("spark", sim, ws, args.spark)
        figures["spark"] = {**report, "wall_s": round(wall, 1), "master": args.spark}
        print(f"\n{args.tier} on Spark {args.spark}: {wall / 60:.1f} min")
        duck = {s["stage"]: s["seconds"] for s in figures.get("duckdb", {}).get("stages", [])}
        both = 0.0
        for s in report["stages"]:
            d = duck.get(s["stage"])
            ratio = f"{s['seconds'] / d:6.1f}x" if d else "      "
            print(f"  {s['stage']:<14} {s['seconds']:>9.1f} s   DuckDB {d or 0:>8.1f} s {ratio}")
            both += d or 0.0
        sp = sum(s["seconds"] for s in report["stages"])
        if both:
            print(
                f"  stages on both: Spark {sp:.1f} s, DuckDB {both:.1f} s, "
                f"ratio {sp / both:.2f} (target <= 4)"
            )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
