"""How well does Tessera resolve people on real public benchmarks?

    python benchmarks/resolution_real.py                   # all datasets, a table
    python benchmarks/resolution_real.py fake_1000         # one dataset
    python benchmarks/resolution_real.py --json            # the figures as JSON
    python benchmarks/resolution_real.py --markdown res.md # also a Markdown table
    python benchmarks/resolution_real.py --data DIR        # data elsewhere

Each dataset goes through Tessera the way a user's data would: a fresh workspace, the
mappings in ``benchmarks/mappings/`` (``registry.person``), ``Workspace.ingest`` and the
``resolution`` stage for people only. The clustering in ``resolution_record`` is then
scored (:func:`tessera.resolve.metrics.cluster_scores`) against the true entities over
**every record of the input files**: a record that never reached ``resolution_record``
(quarantined at ingest, for example for no name at all; the mappings set an impossible
birth date or a malformed e-mail to null with ``on_error: null`` and keep the record) is
scored as its own singleton cluster, so it counts against recall.

Datasets, read from ``--data`` (default ``../shared/data`` from the repository root; the
files are never copied into the repository, see each folder's SOURCE.txt):

* ``febrl3``: Febrl dataset 3, 5,000 records of 2,000 people, deduplicated. The truth is
  in ``rec_id``: ``rec-<N>-org`` and ``rec-<N>-dup-<k>`` are person N.
* ``febrl4``: Febrl datasets 4a and 4b, 5,000 records each, two sources linked (every
  ``rec-<N>-org`` in 4a has one ``rec-<N>-dup-0`` in 4b).
* ``fake_1000``: Splink's fake_1000, 1,000 records of 251 people; truth column ``cluster``.

Records are matched to the truth by the ``obs_id`` Tessera gives each row (its ingest
batch and 1-based record number), and the stored ``record_id`` is checked against the
file's own id on the way.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MAPPINGS = Path(__file__).resolve().parent / "mappings"
DEFAULT_DATA = ROOT.parent / "shared" / "data"
ROW_BITS = 40  # obs_id = batch_id << 40 | row_no (tessera.ingest.loader)
# how the quarantine table marks a value set to null in a record that was kept
NULLED = "value set to null, row kept (on_error: null)"

_FEBRL_ID = re.compile(r"^rec-(\d+)-(?:org|dup-\d+)$")


def febrl_entity(row: dict[str, str]) -> str:
    """Person N of a Febrl ``rec_id`` (``rec-N-org`` or ``rec-N-dup-k``)."""
    m = _FEBRL_ID.match(row["rec_id"].strip())
    if m is None:
        raise ValueError(f"not a Febrl record id: {row['rec_id']!r}")
    return m.group(1)


def cluster_entity(row: dict[str, str]) -> str:
    return row["cluster"].strip()


@dataclass(frozen=True)
class SourceFile:
    """One input file: its mapping, where it lies under ``--data``, and its truth."""

    mapping: str  # file name in benchmarks/mappings/
    path: str  # relative to --data
    id_column: str
    entity: Callable[[dict[str, str]], str]


@dataclass(frozen=True)
class Dataset:
    name: str
    title: str
    files: tuple[SourceFile, ...]
    target_f1: float


DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            "febrl3",
            "Febrl 3 (dedupe)",
            (SourceFile("febrl3.yaml", "febrl/dataset3.csv", "rec_id", febrl_entity),),
            target_f1=0.99,
        ),
        Dataset(
            "febrl4",
            "Febrl 4 (link 4a-4b)",
            (
                SourceFile("febrl4a.yaml", "febrl/dataset4a.csv", "rec_id", febrl_entity),
                SourceFile("febrl4b.yaml", "febrl/dataset4b.csv", "rec_id", febrl_entity),
            ),
            target_f1=0.99,
        ),
        Dataset(
            "fake_1000",
            "Splink fake_1000 (dedupe)",
            (
                SourceFile(
                    "fake_1000.yaml",
                    "splink_fake_1000/fake_1000.csv",
                    "unique_id",
                    cluster_entity,
                ),
            ),
            target_f1=0.90,
        ),
    )
}


@dataclass
class Result:
    """The scores of one dataset (pairwise and B-cubed over every input record)."""

    dataset: str
    title: str
    records: int
    quarantined: int
    resolved: int
    true_entities: int
    predicted_entities: int
    true_pairs: int
    reachable_pairs: int  # true pairs whose two records both reached resolution_record
    predicted_pairs: int
    pairwise_precision: float
    pairwise_recall: float
    pairwise_f1: float
    bcubed_precision: float
    bcubed_recall: float
    bcubed_f1: float
    target_f1: float
    ingest_s: float
    resolve_s: float
    seconds: float
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    # invalid optional values set to null, the record kept (``on_error: null``)
    values_nulled: int = 0
    nulled_reasons: dict[str, int] = field(default_factory=dict)

    @property
    def meets_target(self) -> bool:
        return self.pairwise_f1 >= self.target_f1

    @property
    def recall_ceiling(self) -> float:
        """The best recall a perfect resolution of the records that were not
        quarantined could reach."""
        return self.reachable_pairs / self.true_pairs if self.true_pairs else 1.0


class DataMissing(FileNotFoundError):
    """An input file of a dataset is not under ``--data``."""


def read_truth(path: Path, src: SourceFile) -> list[tuple[str, str]]:
    """``(record id, true entity)`` per record, in file order (record 1 first)."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = csv.DictReader(fh, skipinitialspace=True)
        return [(row[src.id_column].strip(), src.entity(row)) for row in rows]


def _pairs(sizes: Sequence[int]) -> int:
    return sum(n * (n - 1) // 2 for n in sizes)


def evaluate(name: str, data: Path = DEFAULT_DATA, workdir: Path | None = None) -> Result:
    """Ingest dataset ``name`` into a fresh workspace, resolve people, score the clusters.

    The workspace lives in a temporary folder (under ``workdir`` if given), removed
    after. Raises :class:`DataMissing` when an input file is absent. ``seconds`` times
    the ingest and the resolution, not the reading of the truth.
    """
    from tessera.resolve.kinds import PERSON
    from tessera.resolve.metrics import cluster_scores
    from tessera.resolve.stage import RECORDS, run
    from tessera.workspace import Workspace

    ds = DATASETS[name]
    paths = [data / f.path for f in ds.files]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise DataMissing(f"{ds.title}: missing {', '.join(missing)}")
    file_truth = [read_truth(path, src) for src, path in zip(ds.files, paths, strict=True)]

    with tempfile.TemporaryDirectory(prefix=f"tessera-{name}-", dir=workdir) as tmp:
        t0 = time.perf_counter()
        with Workspace.init(Path(tmp) / "ws") as ws:
            truth: dict[int, tuple[str, str]] = {}  # obs_id -> (record id, entity)
            quarantined = nulled = 0
            for src, path, rows in zip(ds.files, paths, file_truth, strict=True):
                [batch] = ws.ingest(MAPPINGS / src.mapping, [path])
                if batch.read != len(rows):
                    raise RuntimeError(
                        f"{path}: Tessera read {batch.read} records, the csv module {len(rows)}"
                    )
                quarantined += batch.quarantined
                nulled += batch.values_nulled
                for row_no, (record_id, entity) in enumerate(rows, start=1):
                    truth[(batch.batch_id << ROW_BITS) | row_no] = (record_id, entity)
            t1 = time.perf_counter()
            with ws.engine.transaction():
                run(ws.engine, kinds=[PERSON])
            t2 = time.perf_counter()
            resolved = ws.engine.fetch_rows(
                f"SELECT obs_id, record_id, entity_id FROM {RECORDS} WHERE kind = ?",
                [PERSON.kind],
            )
            reasons: Counter[str] = Counter()
            nulled_reasons: Counter[str] = Counter()
            for prop, reason in ws.engine.fetch_rows(
                "SELECT property, reason FROM quarantine "
                f"WHERE NOT ends_with(reason, '{NULLED}') "
                "QUALIFY row_number() OVER (PARTITION BY batch_id, row_no) = 1"
            ):
                reasons[f"{prop or '(row)'}: {reason}"] += 1
            for prop, reason in ws.engine.fetch_rows(
                f"SELECT property, reason FROM quarantine WHERE ends_with(reason, '{NULLED}')"
            ):
                nulled_reasons[f"{prop}: {reason.removesuffix(NULLED).rstrip('; ')}"] += 1
    predicted: dict[int, str] = {}
    for obs_id, record_id, entity_id in resolved:
        expected = truth[int(obs_id)][0]
        if str(record_id) != re.sub(r"\s+", "", expected).upper():
            raise RuntimeError(
                f"obs_id {obs_id}: resolution_record says record {record_id!r}, "
                f"the file {expected!r}"
            )
        predicted[int(obs_id)] = str(entity_id)
    # a record Tessera never resolved (quarantined) is a cluster of its own
    for obs_id in truth:
        predicted.setdefault(obs_id, f"unresolved:{obs_id}")
    true_entity = {k: v[1] for k, v in truth.items()}
    scores = cluster_scores(predicted, true_entity)
    reachable = Counter(true_entity[int(r[0])] for r in resolved)
    return Result(
        dataset=name,
        title=ds.title,
        records=len(truth),
        quarantined=quarantined,
        resolved=len(resolved),
        true_entities=len(set(true_entity.values())),
        predicted_entities=len(set(predicted.values())),
        true_pairs=int(scores["true_pairs"]),
        reachable_pairs=_pairs(list(reachable.values())),
        predicted_pairs=_pairs(list(Counter(predicted.values()).values())),
        pairwise_precision=scores["pairwise_precision"],
        pairwise_recall=scores["pairwise_recall"],
        pairwise_f1=scores["pairwise_f1"],
        bcubed_precision=scores["bcubed_precision"],
        bcubed_recall=scores["bcubed_recall"],
        bcubed_f1=scores["bcubed_f1"],
        target_f1=ds.target_f1,
        ingest_s=t1 - t0,
        resolve_s=t2 - t1,
        seconds=t2 - t0,
        quarantine_reasons=dict(reasons.most_common()),
        values_nulled=nulled,
        nulled_reasons=dict(nulled_reasons.most_common()),
    )


# -- output ------------------------------------------------------------------------------

_COLUMNS: tuple[tuple[str, str, Callable[[Result], str]], ...] = (
    ("dataset", "l", lambda r: r.title),
    ("records", "r", lambda r: f"{r.records:,}"),
    ("quarantined", "r", lambda r: f"{r.quarantined:,}"),
    ("values nulled", "r", lambda r: f"{r.values_nulled:,}"),
    ("true pairs", "r", lambda r: f"{r.true_pairs:,}"),
    ("predicted pairs", "r", lambda r: f"{r.predicted_pairs:,}"),
    ("precision", "r", lambda r: f"{r.pairwise_precision:.4f}"),
    ("recall", "r", lambda r: f"{r.pairwise_recall:.4f}"),
    ("recall ceiling", "r", lambda r: f"{r.recall_ceiling:.4f}"),
    ("F1", "r", lambda r: f"{r.pairwise_f1:.4f}"),
    ("target F1", "r", lambda r: f">= {r.target_f1:.2f} {'met' if r.meets_target else 'MISSED'}"),
    ("B-cubed F1", "r", lambda r: f"{r.bcubed_f1:.4f}"),
    ("seconds", "r", lambda r: f"{r.seconds:.1f}"),
)


def text_table(results: Sequence[Result]) -> str:
    cells = [[h for h, _, _ in _COLUMNS]] + [[f(r) for _, _, f in _COLUMNS] for r in results]
    widths = [max(len(row[i]) for row in cells) for i in range(len(_COLUMNS))]

    def line(row: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if a == "l" else c.rjust(w)
            for c, w, (_, a, _) in zip(row, widths, _COLUMNS, strict=True)
        )

    out = [line(cells[0]), "  ".join("-" * w for w in widths)]
    out += [line(row) for row in cells[1:]]
    return "\n".join(out)


def markdown_table(results: Sequence[Result]) -> str:
    head = "| " + " | ".join(h for h, _, _ in _COLUMNS) + " |"
    rule = "|" + "|".join("---" if a == "l" else "---:" for _, a, _ in _COLUMNS) + "|"
    rows = ["| " + " | ".join(f(r) for _, _, f in _COLUMNS) + " |" for r in results]
    notes = [
        "",
        "Pairwise precision, recall and F1 over every record of the input files; a record "
        "quarantined at ingest is scored as a cluster of its own. Recall ceiling: the recall "
        "a perfect resolution of the records that were not quarantined would reach. "
        "Seconds: ingest and the person resolution in a fresh workspace "
        "(`benchmarks/resolution_real.py`).",
    ]
    return "\n".join([head, rule, *rows, *notes]) + "\n"


def quarantine_notes(results: Sequence[Result]) -> str:
    lines = []
    for r in results:
        for reason, n in r.quarantine_reasons.items():
            lines.append(f"  {r.title}: {n} quarantined: {reason}")
        for reason, n in r.nulled_reasons.items():
            lines.append(f"  {r.title}: {n} values set to null, record kept: {reason}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Score Tessera's person resolution on Febrl 3, Febrl 4 and fake_1000."
    )
    parser.add_argument(
        "datasets",
        nargs="*",
        metavar="DATASET",
        help=f"which to run ({', '.join(DATASETS)}; default: all)",
    )
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="the shared data folder (%(default)s)"
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--markdown", type=Path, metavar="FILE", help="write a Markdown table")
    parser.add_argument("--workdir", type=Path, help="where the temporary workspaces go")
    args = parser.parse_args(argv)
    names: list[str] = list(args.datasets) or list(DATASETS)
    unknown = [n for n in names if n not in DATASETS]
    if unknown:
        parser.error(f"unknown dataset {', '.join(unknown)}; choose from {', '.join(DATASETS)}")

    results = []
    for name in names:
        try:
            result = evaluate(name, args.data, args.workdir)
        except DataMissing as exc:
            print(f"error: {exc} (see --data)", file=sys.stderr)
            return 2
        results.append(result)
        if not args.json:
            print(
                f"{result.title}: F1 {result.pairwise_f1:.4f} in {result.seconds:.1f} s",
                file=sys.stderr,
                flush=True,
            )
    if args.json:
        payload: list[dict[str, Any]] = [
            {**asdict(r), "recall_ceiling": r.recall_ceiling, "meets_target": r.meets_target}
            for r in results
        ]
        print(json.dumps(payload, indent=2))
    else:
        print(text_table(results))
        notes = quarantine_notes(results)
        if notes:
            print("\nAt ingest (a quarantined record is scored as missed):\n" + notes)
    if args.markdown:
        args.markdown.write_text(markdown_table(results), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
