"""Pattern of life at scale: stays, places, home/work and routines over up to 100 million
device events.

    python benchmarks/life.py                        # 100M events (the issue's target size)
    python benchmarks/life.py --events 30000000 --json out.json

**The data** is the co-travel benchmark's city (``benchmarks/cotravel.py``: devices
commuting between a home and a workplace through two operators' sectors, seeded and
reproducible), generated and ingested once into ``--out`` and shared with that
benchmark. Every device is its own subject (no registry attributes devices to people
in this data), so the stages see ``--events`` events over about as many subjects as
devices.

**Measured** in one child process (peak memory is its ``ru_maxrss``), on a copy-free
run over the workspace (the stages replace their own output tables):

1. ``keys``: ``link_device`` from the events (the co-travel stage's device keys; built
   once, not timed as part of pattern of life: it belongs to linking);
2. ``coverage``: sector coverage over the buildings (:mod:`tessera.life.coverage`);
3. ``stays``: stays of every subject (:func:`tessera.life.stays.detect`);
4. ``places``: places, their buildings and kinds, home and work
   (:func:`tessera.life.places.locate`);
5. ``routine``: weekly profiles and predictability (:func:`tessera.life.routine.routine`).

The target (issue 6) is stays, places, home/work and routines for 100 million events
in under 3 minutes on 2 cores: the sum of steps 2-5 is printed against it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cotravel import GENERATOR, _set_memory, build_workspace, generate, run_child

TARGET_S = 180.0

CHILD = """
import json, sys, time
sys.path.insert(0, sys.argv[3])
from cotravel import LAT0, LON0, M_PER_DEG_LAT as M_LAT, M_PER_DEG_LON as M_LON
from tessera.workspace import Workspace
from tessera.link import cotravel
from tessera.link.keys import device_events_sql
from tessera.life import coverage, places, routine, stays
ws = Workspace.open(sys.argv[1])
e = ws.engine
steps = {}
def timed(name, fn):
    t0 = time.perf_counter()
    with e.transaction():
        out = fn()
    steps[name] = {"seconds": time.perf_counter() - t0, "rows": dict(out or {})}
    print(f"  {name}: {steps[name]['seconds']:.1f} s {steps[name]['rows']}", file=sys.stderr,
          flush=True)
if "link_device" not in e.table_names():
    timed("keys", lambda: {"link_device": e.materialise(
        cotravel.DEVICES, cotravel.device_sql(f"({device_events_sql()})"))})
e.execute("CREATE OR REPLACE TABLE link_device_person (device VARCHAR, person VARCHAR, "
          "confidence DOUBLE, runner_up DOUBLE, vias VARCHAR[], evidence VARCHAR)")
# buildings: one every 100 m over the city, seven in ten residential (the generated
# city has sectors and streets but no address register)
n = int(float(sys.argv[2]) * 10) + 1
e.execute("DELETE FROM reg_address WHERE source = 'bench_buildings'")
e.execute(
    f"INSERT INTO reg_address (source, record_id, use, lat, lon) "
    f"SELECT 'bench_buildings', 'B-' || i || '-' || j, "
    f"CASE WHEN hash(i, j) % 10 < 7 THEN 'residential' ELSE 'office' END, "
    f"{LAT0} + (j * 100 + 50) / {M_LAT}, {LON0} + (i * 100 + 50) / {M_LON} "
    f"FROM range({n}) a(i), range({n}) b(j)"
)
timed("coverage", lambda: coverage.build(e))
def life():
    with e.temp_tables() as temp:
        out = dict(stays.detect(e, temp))
        t1 = time.perf_counter()
        out.update(places.locate(e, temp))
        out["places_s"] = time.perf_counter() - t1
    return out
timed("stays_places", life)
timed("routine", lambda: routine.routine(e))
events = e.row_count("obs_device_event")
ws.close()
print(json.dumps({"events": events, "steps": steps}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--events", type=int, default=100_000_000)
    ap.add_argument(
        "--reads",
        type=int,
        default=None,
        help="plate reads in the city (default: one per 20 events, the co-travel "
        "benchmark's ratio, so that its generated cities are reused)",
    )
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--out", type=Path, default=Path("bench-out"))
    ap.add_argument("--memory-limit", default="6GB", help="the workspace's DuckDB memory_limit")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    if args.reads is None:
        args.reads = args.events // 20

    folder = args.out / f"cotravel_{args.events}_{args.reads}_s{args.seed}_g{GENERATOR}"
    if not (folder / "data.json").exists():
        print(f"generating {args.events:,} events into {folder} ...", flush=True)
        if folder.exists():
            shutil.rmtree(folder)
        generate(folder, args.events, args.reads, args.seed)
    if not (folder / "ws.done").exists():
        print("building the workspace ...", flush=True)
        build_workspace(folder)
    facts = json.loads((folder / "data.json").read_text())
    print(
        f"data: {facts['events']:,} device events, {facts['devices']:,} devices, "
        f"{facts['sectors']:,} sectors, {facts['side_km']} km square"
    )
    ws_path = folder / "ws"
    _set_memory(ws_path, args.memory_limit, None)
    print("pattern of life (coverage, stays, places, routine) ...", flush=True)
    result, rss, why = run_child(
        CHILD, [str(ws_path), str(facts["side_km"]), str(Path(__file__).resolve().parent)]
    )
    if result is None:
        raise SystemExit(f"the stages {why}")
    steps = result["steps"]
    total = sum(v["seconds"] for k, v in steps.items() if k != "keys")
    for name, step in steps.items():
        rows = ", ".join(f"{k} {v:,.0f}" for k, v in step["rows"].items())
        print(f"  {name:13s} {step['seconds']:7.1f} s  ({rows})")
    print(
        f"  total (coverage, stays, places, home/work, routines): {total:.1f} s for "
        f"{result['events']:,} events, peak {rss:,.0f} MiB; target {TARGET_S:.0f} s "
        f"for 100M: {'met' if total <= TARGET_S and result['events'] >= 1e8 else 'NOT met'}"
    )
    out: dict[str, Any] = {**result, "total_s": total, "peak_rss_mib": rss, "data": facts}
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
