"""Time and peak memory of the ``exposure`` stage on a built workspace.

    python benchmarks/exposure.py PATH [--threads 2] [--draws 50] [--json out.json]

``PATH`` is a workspace folder (opened with :class:`tessera.workspace.Workspace`) or a
DuckDB file (opened with the DuckDB engine). Work on a copy: the stage writes its four
tables. When inputs the stage reads are missing (a partly built district), the missing
ones are made first in a child process, not timed: ``life_profile`` by the ``routine``
stage, ``link_plate_read`` by the ``plates`` stage, and the vehicle-attribution and swap
tables as empty tables of their layout (so every vehicle is its own subject in the
population); the script says which.

Printed: the stage's wall time, the peak resident memory of this process (``ru_maxrss``,
which includes opening the database), the row counts, and the population figures of
:func:`tessera.exposure.population_summary` (compare ``mean_unicity_4`` with de Montjoye
et al.'s 95 % at hourly antenna resolution).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

# layouts of the link tables made empty when a partial build lacks them
EMPTY: dict[str, str] = {
    "link_vehicle": (
        "vehicle VARCHAR, plate_kind VARCHAR, shared BOOLEAN, devices BIGINT, "
        "primary_device VARCHAR, keeper VARCHAR, keeper_via VARCHAR"
    ),
    "link_vehicle_device": (
        "vehicle VARCHAR, device VARCHAR, bits DOUBLE, units BIGINT, places BIGINT, "
        "days BIGINT, together BIGINT, apart BIGINT, rel_vehicle DOUBLE, rel_device DOUBLE, "
        "is_primary BOOLEAN, confidence DOUBLE"
    ),
    "link_vehicle_person": (
        "vehicle VARCHAR, person VARCHAR, role VARCHAR, confidence DOUBLE, evidence VARCHAR"
    ),
    "link_device_swap": (
        "old VARCHAR, new VARCHAR, kind VARCHAR, time TIMESTAMPTZ, score DOUBLE, "
        "confidence DOUBLE, evidence VARCHAR"
    ),
}


def _open(path: Path, threads: int | None) -> tuple[Any, Any]:
    """(engine, closer) for a workspace folder or a DuckDB file."""
    if path.is_dir():
        from tessera.workspace import Workspace

        ws = Workspace.open(path)
        return ws.engine, ws.close
    from tessera.engines import open_engine

    engine = open_engine("duckdb", path=path, threads=threads)
    return engine, engine.close


def prepare(path: Path, threads: int | None) -> list[str]:
    """Make the inputs the stage reads that ``path`` lacks; return what was done."""
    from tessera.exposure import STAGE
    from tessera.life import ROUTINE
    from tessera.link import PLATES

    engine, close = _open(path, threads)
    done: list[str] = []
    try:
        have = set(engine.table_names())
        for stage, table in ((PLATES, "link_plate_read"), (ROUTINE, "life_profile")):
            if table not in have:
                t0 = time.perf_counter()
                with engine.transaction():
                    stage.run(engine)
                done.append(f"ran {stage.name} ({time.perf_counter() - t0:.1f} s)")
        for table, layout in EMPTY.items():
            if table not in have:
                engine.execute(f"CREATE TABLE {table} ({layout})")
                done.append(f"created {table} empty")
        missing = sorted(set(STAGE.inputs) - set(engine.table_names()))
        if missing:
            raise SystemExit(f"inputs still missing: {', '.join(missing)}")
    finally:
        close()
    return done


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("path", type=Path)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--draws", type=int, default=None)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--prepare-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.prepare_only:
        print(json.dumps(prepare(args.path, args.threads)))
        return

    child = [sys.executable, __file__, str(args.path), "--prepare-only"]
    if args.threads:
        child += ["--threads", str(args.threads)]
    prep = subprocess.run(child, check=True, capture_output=True, text=True)
    done = json.loads(prep.stdout.strip().splitlines()[-1])
    for line in done:
        print(f"prepared: {line}")

    from tessera.exposure import population_summary
    from tessera.exposure.assess import assess
    from tessera.exposure.unicity import DRAWS

    engine, close = _open(args.path, args.threads)
    try:
        t0 = time.perf_counter()
        with engine.transaction():
            rows = assess(engine, draws=args.draws or DRAWS)
        elapsed = time.perf_counter() - t0
        summary = population_summary(engine)
    finally:
        close()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures = {
        "path": str(args.path),
        "draws": args.draws or DRAWS,
        "seconds": round(elapsed, 2),
        "peak_rss_mb": round(peak_mb, 1),
        "rows": rows,
        "prepared": done,
        "population": summary,
    }
    print(f"exposure stage: {elapsed:.1f} s, peak RSS {peak_mb:.0f} MB")
    print(f"rows: {rows}")
    for k, v in summary.items():
        print(f"  {k}: {v if not isinstance(v, float) else round(v, 4)}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
