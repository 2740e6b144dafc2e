"""Entity resolution speed on the simulator's ``district`` tier: a full run and an
incremental one.

    python benchmarks/resolution.py                      # simulates the district tier once
    python benchmarks/resolution.py --sim OUT            # an existing simulator output
    python benchmarks/resolution.py --json out.json

**The data** are the district tier's registries (20,000 people, seed 7: residents
register, employer and accreditation lists, company, vehicle and subscriber
registers), simulated once into ``--out`` unless ``--sim`` names a simulator output.
Ingest is not timed.

**Measured**, each on the same workspace, the ``resolution`` stage alone:

1. ``full``: every registry but the last 1% of the residents register, no stored
   model: features, estimating the four models (u by sampling, m by EM, the prior and
   term frequencies), scoring every candidate pair, clustering;
2. ``incremental``: the other 1% of the residents ingested, then the stage again: the
   stored models are reused and only pairs touching the new records are scored
   (``predict_between`` new and old, ``predict_within`` new), then clustering;
3. ``rescore``: the stage once more after forgetting which records it had seen
   (stored models kept): every pair scored again, for comparison.

Targets (issue 4): ``full`` under 120 s on 2 cores; ``incremental`` under 10% of
``full``.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

FULL_TARGET_S = 120.0
INCREMENTAL_TARGET = 0.10
NEW_SHARE = 0.01


def _simulate(out: Path, seed: int) -> Path:
    from tessera.simulate.output import TIERS, simulate

    folder = out / f"resolution_district_s{seed}"
    if not (folder / "manifest.json").exists():
        persons, days = TIERS["district"]
        print(f"simulating the district tier into {folder} (once) ...", file=sys.stderr)
        simulate(folder, persons=persons, days=days, seed=seed, tier="district")
    return folder


def _split_residents(sim: Path, work: Path) -> tuple[Path, Path, int, int]:
    """The residents register split into the first 99% and the last 1% of its rows."""
    residents = next((sim / "sources").glob("residents_registry.*"))
    with open(residents, encoding="latin-1", newline="") as fh:
        rows = list(csv.reader(fh, delimiter=";"))
    header, body = rows[0], rows[1:]
    cut = round(len(body) * (1 - NEW_SHARE))
    first, rest = work / "residents_first.csv", work / "residents_rest.csv"
    for path, part in ((first, body[:cut]), (rest, body[cut:])):
        with open(path, "w", encoding="latin-1", newline="") as fh:
            csv.writer(fh, delimiter=";").writerows([header, *part])
    return first, rest, cut, len(body) - cut


def _run_stage(ws: Any) -> tuple[float, dict[str, int]]:
    from tessera.resolve import STAGE

    t0 = time.perf_counter()
    with ws.engine.transaction():
        out = dict(STAGE.run(ws.engine))
    return time.perf_counter() - t0, out


def measure(sim: Path) -> dict[str, Any]:
    from tessera.simulate.registries import REGISTRIES
    from tessera.workspace import Workspace

    registries = [r for r in REGISTRIES if r not in ("address_register", "residents_registry")]
    with tempfile.TemporaryDirectory(prefix="tessera-bench-res-") as tmp:
        work = Path(tmp)
        first, rest, n_first, n_rest = _split_residents(sim, work)
        mapping = sim / "mappings" / "residents_registry.yaml"
        with Workspace.init(work / "ws") as ws:
            ws.ingest(mapping, [first])
            for name in registries:
                ws.ingest(sim / "mappings" / f"{name}.yaml")
            records = {
                t: ws.engine.fetch_rows(f"SELECT count(*) FROM {t}")[0][0]
                for t in ("reg_person", "reg_organisation", "reg_vehicle", "reg_subscription")
            }
            print(f"records: {records}", file=sys.stderr)
            full_s, full_out = _run_stage(ws)
            print(f"  full         {full_s:6.1f} s", file=sys.stderr)
            ws.ingest(mapping, [rest])
            inc_s, _ = _run_stage(ws)
            print(f"  incremental  {inc_s:6.1f} s  (+{n_rest:,} residents)", file=sys.stderr)
            ws.engine.execute("DROP TABLE resolution_record")
            rescore_s, _ = _run_stage(ws)
            print(f"  rescore      {rescore_s:6.1f} s", file=sys.stderr)
    return {
        "records": records,
        "new_residents": n_rest,
        "first_residents": n_first,
        "full_s": full_s,
        "incremental_s": inc_s,
        "rescore_s": rescore_s,
        "incremental_ratio": inc_s / full_s,
        "pairs": {k: v for k, v in full_out.items() if k.startswith("resolution_pair_")},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sim", type=Path, default=None, help="an existing simulator output")
    ap.add_argument("--out", type=Path, default=Path("bench-out"))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    sim = args.sim or _simulate(args.out, args.seed)
    result = measure(sim)
    full_ok = result["full_s"] < FULL_TARGET_S
    inc_ok = result["incremental_ratio"] < INCREMENTAL_TARGET
    print(
        f"full resolution {result['full_s']:.1f} s: {result['full_s'] / FULL_TARGET_S:.2f} of "
        f"the {FULL_TARGET_S:.0f} s target ({'met' if full_ok else 'NOT met'}); incremental "
        f"(+{NEW_SHARE:.0%} residents) {result['incremental_s']:.1f} s = "
        f"{result['incremental_ratio']:.3f} of full, target {INCREMENTAL_TARGET} "
        f"({'met' if inc_ok else 'NOT met'}); every pair rescored with the stored models "
        f"{result['rescore_s']:.1f} s"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
