"""Time to write every dossier, and the latency of reading one, on a built workspace.

    python benchmarks/dossier.py WS [--reads 500] [--setup] [--json out.json]

``WS`` is a workspace folder built through the ``exposure`` stage; work on a copy (the
stage rewrites ``dossier``, and every read appends to the audit log). With ``--setup``,
inputs a partly built district lacks are made first and not timed: the ``anomalies``,
``ties`` and ``communities`` stages run if their tables are missing, and a missing
``cotravel_pair`` is created empty (then vehicles show no chance baseline).

Printed: the ``dossiers`` stage's wall time and the process's peak resident memory, the
dossier count and mean JSON size, then ``--reads`` reads of random persons through
:func:`tessera.dossier.store.read` (the audited path: the read is appended to the
hash-chained audit log, then the JSON is parsed), with the median, 95th percentile and
maximum latency. Targets (issue 8, ``district`` tier): every dossier in under 120 s, one
dossier as JSON in under 50 ms at the 95th percentile.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import time
from pathlib import Path
from typing import Any

COTRAVEL_PAIR = (
    "kind VARCHAR, a VARCHAR, b VARCHAR, units BIGINT, places BIGINT, days BIGINT, "
    "expected DOUBLE, bits DOUBLE, together BIGINT, apart BIGINT, together_share DOUBLE, "
    "first_day DATE, last_day DATE"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workspace", type=Path)
    parser.add_argument("--reads", type=int, default=500)
    parser.add_argument("--setup", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    from tessera.audit import Access
    from tessera.dossier import STAGE, store
    from tessera.life import ANOMALIES
    from tessera.network import COMMUNITIES, TIES
    from tessera.stages import run_stages
    from tessera.workspace import Workspace

    out: dict[str, Any] = {}
    with Workspace.open(args.workspace) as ws:
        engine = ws.engine
        if args.setup:
            have = set(engine.table_names())
            missing = [st for st in (ANOMALIES, TIES, COMMUNITIES) if not set(st.outputs) <= have]
            for st in missing:
                t = time.perf_counter()
                run_stages(engine, [st], force=True)
                print(f"setup: ran {st.name} in {time.perf_counter() - t:.1f}s (not timed)")
            if "cotravel_pair" not in have:
                engine.execute(f"CREATE TABLE cotravel_pair ({COTRAVEL_PAIR})")
                print("setup: cotravel_pair created empty (no vehicle chance baselines)")

        t0 = time.perf_counter()
        with engine.transaction():
            counts = STAGE.run(engine)
        out["stage_s"] = time.perf_counter() - t0
        out["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
        out["dossiers"] = counts["dossier"]
        size = engine.fetch_rows(
            "SELECT avg(octet_length(body)), max(octet_length(body)) FROM dossier"
        )[0]
        out["mean_body_bytes"], out["max_body_bytes"] = float(size[0]), int(size[1])
        print(
            f"dossiers: {out['dossiers']:,} in {out['stage_s']:.1f}s "
            f"(peak RSS {out['peak_rss_gb']:.2f} GB); compressed JSON mean "
            f"{out['mean_body_bytes']:,.0f} B, max {out['max_body_bytes']:,} B"
        )

        people = [r[0] for r in engine.fetch_rows("SELECT person FROM dossier")]
        rng = random.Random(1)
        access = Access(user="bench", case="BENCH-1", legal_basis="research")
        store.read(ws, people[0], access)  # warm the caches once
        times = []
        for person in rng.choices(people, k=args.reads):
            t = time.perf_counter()
            d = store.read(ws, person, access)
            times.append((time.perf_counter() - t) * 1000)
            if d["person"] != person:
                raise SystemExit(f"read {person} returned {d['person']}")
        times.sort()
        out["read_ms_median"] = statistics.median(times)
        out["read_ms_p95"] = times[int(0.95 * (len(times) - 1))]
        out["read_ms_max"] = times[-1]
        print(
            f"read one dossier (audited): median {out['read_ms_median']:.1f} ms, "
            f"p95 {out['read_ms_p95']:.1f} ms, max {out['read_ms_max']:.1f} ms "
            f"over {len(times)} reads"
        )
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
