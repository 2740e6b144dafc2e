"""How well do Tessera's contact weights and communities match real declared ties and
real organisations?

    python benchmarks/network_real.py                  # both datasets, a summary
    python benchmarks/network_real.py copenhagen       # one dataset
    python benchmarks/network_real.py --json           # the figures as JSON
    python benchmarks/network_real.py --data DIR       # data elsewhere

Both evaluations apply the very functions the stages use: the contact weighting
:func:`tessera.network.contacts.pair_weights_sql` (the ``weight`` of ``net_contact``)
on a table of directed events ``(a, b, time, channel, duration_s)``, and the
communities of :func:`tessera.network.graph.communities` (seeded Leiden on the Constant Potts Model)
on a ``net_edge`` made from those weights, in an in-memory DuckDB engine.

Datasets, read from ``--data`` (default ``../shared/data`` from the repository root; the
files are never copied into the repository, see each folder's SOURCE.txt):

* ``copenhagen``: the Copenhagen Networks Study (Sapiezynski et al. 2019): about 700
  students over four weeks, ``calls.csv`` (timestamp in seconds, caller, callee,
  duration; -1 a missed call, counted 0 s) and ``sms.csv`` (timestamp, sender,
  recipient) as the events, ``fb_friends.csv`` (declared Facebook friendships) as the
  truth. ``genders.csv`` is not read. Figures:

  - ``auc_communicating``: ROC AUC of the weight predicting friendship among the pairs
    that communicated (does a stronger contact mean a declared tie?);
  - ``auc_with_silent``: the same over the communicating pairs plus as many pairs
    drawn uniformly (seed :data:`SEED`) from the study's pairs that never communicated,
    scored 0;
  - ``auc_ties``: tie recovery as in the simulator evaluation: every friendship between
    two people seen in calls or SMS against as many random non-friend pairs of them;
  - ``precision_communicated``: the share of communicating pairs that are friends.

* ``sociopatterns``: face-to-face contacts in an office building (Génois and Barrat
  2018), RFID badges: each line ``t i j`` of ``workplace_InVS15_tij.dat.gz`` (2015) and
  of ``tij_InVS.dat`` in ``workplace_InVS_tij.dat.zip`` (2013) is one 20-second contact,
  taken as one event of channel ``contact`` lasting 20 s (so the weight grows with the
  contact time). The contacts are symmetric, so every pair is one-way (reciprocity 0),
  which scales all weights alike and changes no ranking. Communities are scored against
  the departments of ``workplace_InVS15_metadata.txt`` / ``workplace_InVS_metadata.txt``
  with the normalised mutual information (arithmetic normalisation, as scikit-learn's
  default) and the adjusted Rand index, over the people of the metadata with a contact.

The metrics are implemented here with numpy alone (:func:`nmi`, :func:`adjusted_rand`,
:func:`roc_auc`, ties given half credit) so the benchmark needs nothing beyond Tessera.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import random
import sys
import time
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tessera.engines.duckdb.engine import DuckDBEngine
from tessera.evaluate.scores import adjusted_rand, nmi, roc_auc
from tessera.network.contacts import pair_weights_sql
from tessera.network.graph import communities
from tessera.network.tables import COLUMNS, COMMUNITY, EDGE

if TYPE_CHECKING:
    import pyarrow as pa

    from tessera.engines.base import Engine

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data"
SEED = 7
CONTACT_S = 20.0  # one SocioPatterns contact line covers [t - 20 s, t]


class DataMissing(Exception):
    """A dataset's files are not where ``--data`` says."""


# -- metrics -------------------------------------------------------------------------


# -- shared steps ---------------------------------------------------------------------


def pair_weights(engine: Engine, events: pa.Table) -> dict[tuple[str, str], float]:
    """The ``net_contact`` weight of every pair of ``events`` (a, b, time, channel,
    duration_s), by (a, b) with ``a < b``."""
    engine.register_arrow("_bench_events", events)
    try:
        engine.execute(
            f"CREATE OR REPLACE TABLE _bench_pairs AS {pair_weights_sql('_bench_events')}"
        )
    finally:
        engine.unregister("_bench_events")
    return {
        (a, b): float(w) for a, b, w in engine.fetch_rows("SELECT a, b, weight FROM _bench_pairs")
    }


def leiden_of(engine: Engine, weights: dict[tuple[str, str], float]) -> dict[str, int]:
    """Communities of :func:`tessera.network.graph.communities` on these pair weights."""
    import pyarrow as pa

    keys = sorted(weights)
    engine.execute(f"CREATE OR REPLACE TABLE {EDGE} ({COLUMNS[EDGE]})")
    rows = pa.table(
        {
            "a": [k[0] for k in keys],
            "b": [k[1] for k in keys],
            "w": [weights[k] for k in keys],
        }
    )
    engine.register_arrow("_bench_w", rows)
    engine.execute(
        f"INSERT INTO {EDGE} SELECT a, 'person', b, 'person', w, 0, 0, w, false FROM _bench_w"
    )
    engine.unregister("_bench_w")
    communities(engine)
    return {
        str(s): int(c) for s, c in engine.fetch_rows(f"SELECT subject, community FROM {COMMUNITY}")
    }


def _events(rows: Iterable[tuple[str, str, int, str, float]]) -> pa.Table:
    import pyarrow as pa
    import pyarrow.compute as pc

    a, b, t, ch, d = zip(*rows, strict=True)
    seconds = pa.array(t, pa.int64())
    return pa.table(
        {
            "a": pa.array(a, pa.string()),
            "b": pa.array(b, pa.string()),
            "time": pc.cast(pc.multiply(seconds, 1_000_000), pa.timestamp("us", tz="UTC")),
            "channel": pa.array(ch, pa.string()),
            "duration_s": pa.array(d, pa.float64()),
        }
    )


def _random_pairs(people: list[str], n: int, exclude: Any) -> list[tuple[str, str]]:
    """``n`` distinct pairs of ``people`` drawn at random (seed :data:`SEED`), none in
    ``exclude``, sorted."""
    rng = random.Random(SEED)
    out: set[tuple[str, str]] = set()
    while len(out) < n:
        k = _key(*rng.sample(people, 2))
        if k not in exclude:
            out.add(k)
    return sorted(out)


def _key(x: str, y: str) -> tuple[str, str]:
    return (x, y) if x < y else (y, x)


# -- Copenhagen Networks Study ----------------------------------------------------------


@dataclass
class Copenhagen:
    people: int
    events: int
    communicating_pairs: int
    friend_pairs: int
    communicating_friends: int
    precision_communicated: float
    auc_communicating: float
    auc_with_silent: float
    auc_ties: float
    seconds: float


def copenhagen(data: Path = DEFAULT_DATA) -> Copenhagen:
    """The Copenhagen evaluation (see the module docstring)."""
    folder = data / "copenhagen_cns"
    need = [folder / f for f in ("calls.csv", "sms.csv", "fb_friends.csv")]
    missing = [str(p) for p in need if not p.is_file()]
    if missing:
        raise DataMissing(f"Copenhagen Networks Study files missing: {', '.join(missing)}")
    t0 = time.perf_counter()
    rows: list[tuple[str, str, int, str, float]] = []
    with (folder / "calls.csv").open(newline="") as fh:
        for r in csv.DictReader(fh):
            if r["caller"] != r["callee"]:
                dur = float(r["duration"])
                rows.append((r["caller"], r["callee"], int(r["timestamp"]), "call", max(dur, 0)))
    with (folder / "sms.csv").open(newline="") as fh:
        for r in csv.DictReader(fh):
            if r["sender"] != r["recipient"]:
                rows.append((r["sender"], r["recipient"], int(r["timestamp"]), "sms", 0.0))
    friends: set[tuple[str, str]] = set()
    with (folder / "fb_friends.csv").open(newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        for x, y in reader:
            if x.strip() != y.strip():
                friends.add(_key(x.strip(), y.strip()))
    engine = DuckDBEngine(None)
    try:
        weights = pair_weights(engine, _events(rows))
    finally:
        engine.close()
    comm = sorted(weights)
    labels = [k in friends for k in comm]
    scores = [weights[k] for k in comm]
    auc_comm = roc_auc(scores, labels)
    people = sorted({p for k in comm for p in k})
    silent_keys = _random_pairs(people, len(comm), weights)
    auc_silent = roc_auc(
        scores + [0.0] * len(silent_keys), labels + [k in friends for k in silent_keys]
    )
    pset = set(people)
    pos = sorted(k for k in friends if k[0] in pset and k[1] in pset)
    neg_keys = _random_pairs(people, len(pos), friends)
    auc_ties = roc_auc(
        [weights.get(k, 0.0) for k in pos] + [weights.get(k, 0.0) for k in neg_keys],
        [True] * len(pos) + [False] * len(neg_keys),
    )
    return Copenhagen(
        people=len(people),
        events=len(rows),
        communicating_pairs=len(comm),
        friend_pairs=len(friends),
        communicating_friends=sum(labels),
        precision_communicated=sum(labels) / len(comm),
        auc_communicating=auc_comm,
        auc_with_silent=auc_silent,
        auc_ties=auc_ties,
        seconds=time.perf_counter() - t0,
    )


# -- SocioPatterns workplace ----------------------------------------------------------------


@dataclass
class Workplace:
    deployment: str
    people: int
    contacts: int
    pairs: int
    departments: int
    communities: int
    nmi: float
    adjusted_rand: float
    seconds: float


def _tij(text: str) -> list[tuple[str, str, int, str, float]]:
    rows = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[1] != parts[2]:
            rows.append((parts[1], parts[2], int(parts[0]), "contact", CONTACT_S))
    return rows


def _metadata(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 2:
            out[parts[0]] = parts[1]
    return out


def workplace(data: Path = DEFAULT_DATA) -> list[Workplace]:
    """The SocioPatterns workplace evaluation, one result per deployment (InVS15 and,
    when its zip reads, InVS13)."""
    folder = data / "sociopatterns_workplace"
    tij15 = folder / "workplace_InVS15_tij.dat.gz"
    meta15 = folder / "workplace_InVS15_metadata.txt"
    missing = [str(p) for p in (tij15, meta15) if not p.is_file()]
    if missing:
        raise DataMissing(f"SocioPatterns workplace files missing: {', '.join(missing)}")
    sets: list[tuple[str, str, Path]] = [
        ("InVS15", gzip.decompress(tij15.read_bytes()).decode(), meta15)
    ]
    zipped, meta13 = folder / "workplace_InVS_tij.dat.zip", folder / "workplace_InVS_metadata.txt"
    if zipped.is_file() and meta13.is_file():
        with zipfile.ZipFile(zipped) as z:
            name = next(n for n in z.namelist() if n.endswith(".dat"))
            sets.append(("InVS13", io.TextIOWrapper(z.open(name)).read(), meta13))
    results = []
    for deployment, text, meta_path in sets:
        t0 = time.perf_counter()
        rows = _tij(text)
        departments = _metadata(meta_path)
        engine = DuckDBEngine(None)
        try:
            weights = pair_weights(engine, _events(rows))
            member = leiden_of(engine, weights)
        finally:
            engine.close()
        people = sorted(p for p in member if p in departments)
        x = [member[p] for p in people]
        y = [departments[p] for p in people]
        results.append(
            Workplace(
                deployment=deployment,
                people=len(people),
                contacts=len(rows),
                pairs=len(weights),
                departments=len(set(y)),
                communities=len(set(x)),
                nmi=nmi(x, y),
                adjusted_rand=adjusted_rand(x, y),
                seconds=time.perf_counter() - t0,
            )
        )
    return results


# -- the simulated district -------------------------------------------------------------


@dataclass
class DistrictScore:
    persons: int
    communities: int
    organisations: int
    nmi: float
    adjusted_rand: float


def district_nmi(engine: Engine, truth: Path) -> DistrictScore:
    """``net_community`` of a simulated workspace against the true organisations: each
    resolved person subject is the true person most of its registry records belong to
    (as ``tessera evaluate`` maps them); people of no organisation (-1) are left out."""
    import pyarrow.parquet as pq

    records = pq.read_table(
        truth / "records.parquet", columns=["source", "record_id", "entity", "entity_id"]
    )
    persons = pq.read_table(truth / "persons.parquet", columns=["person_id", "organisation_id"])
    engine.register_arrow("_bench_records", records)
    engine.register_arrow("_bench_persons", persons)
    try:
        rows = engine.fetch_rows(
            f"""
WITH ep AS (SELECT r.entity_id AS subject, mode(t.entity_id) AS person_id
            FROM resolution_record r JOIN _bench_records t
              ON t.source = r.source AND t.record_id = r.record_id AND t.entity = 'person'
            WHERE r.kind = 'person' GROUP BY r.entity_id)
SELECT c.community, p.organisation_id FROM {COMMUNITY} c JOIN ep USING (subject)
JOIN _bench_persons p USING (person_id) WHERE p.organisation_id >= 0
"""
        )
    finally:
        engine.unregister("_bench_records")
        engine.unregister("_bench_persons")
    x = [r[0] for r in rows]
    y = [r[1] for r in rows]
    if not rows:
        return DistrictScore(0, 0, 0, float("nan"), float("nan"))
    return DistrictScore(len(rows), len(set(x)), len(set(y)), nmi(x, y), adjusted_rand(x, y))


DATASETS = ("copenhagen", "sociopatterns")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("datasets", nargs="*", metavar="DATASET", help=", ".join(DATASETS))
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="the shared data folder (%(default)s)"
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    names = list(args.datasets) or list(DATASETS)
    unknown = [n for n in names if n not in DATASETS]
    if unknown:
        parser.error(f"unknown dataset {', '.join(unknown)}; choose from {', '.join(DATASETS)}")
    out: dict[str, Any] = {}
    try:
        if "copenhagen" in names:
            c = copenhagen(args.data)
            out["copenhagen"] = asdict(c)
            if not args.json:
                print(
                    f"Copenhagen: {c.communicating_pairs} communicating pairs of {c.people} "
                    f"people, {c.communicating_friends} friends (precision "
                    f"{c.precision_communicated:.3f}); ROC AUC of the weight: among "
                    f"communicating {c.auc_communicating:.3f}, with silent pairs "
                    f"{c.auc_with_silent:.3f}, tie recovery {c.auc_ties:.3f} "
                    f"({c.seconds:.1f} s)"
                )
        if "sociopatterns" in names:
            ws = workplace(args.data)
            out["sociopatterns"] = [asdict(w) for w in ws]
            if not args.json:
                for w in ws:
                    print(
                        f"SocioPatterns {w.deployment}: {w.people} people, {w.contacts} "
                        f"contacts, {w.pairs} pairs; {w.communities} communities vs "
                        f"{w.departments} departments: NMI {w.nmi:.3f}, ARI "
                        f"{w.adjusted_rand:.3f} ({w.seconds:.1f} s)"
                    )
    except DataMissing as exc:
        print(f"error: {exc} (see --data)", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
