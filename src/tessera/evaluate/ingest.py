"""Metrics of ingest: how much of each feed was loaded, and whether exactly the rows
planted to be quarantined were.

* ``ingest.<source>.loaded_share``: rows loaded from the source's files / the rows
  ``manifest.json`` lists for those files. Only ingested files listed in the manifest
  count (matched by file name); a file ingested more than once counts once, with its
  latest batch.
* ``ingest.quarantine.precision`` / ``recall`` / ``f1``: quarantined rows against
  ``truth/planted_errors.parquet``, a row being (file name, row_no) with row_no the
  1-based record number, header not counted (as the loader numbers them). Planted
  rows count only in files that were ingested; with a manifest, quarantined rows
  count only in files it lists.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from tessera.evaluate.harness import (
    Provider,
    SkipProvider,
    arrow_view,
    precision_recall_f1,
    share,
)

if TYPE_CHECKING:
    from tessera.evaluate.truth import Truth
    from tessera.workspace import Workspace

PLANTED = "planted_errors.parquet"
_PLANTED_VIEW = "__evaluate_planted"
_FILES_VIEW = "__evaluate_files"


def loaded_shares(ws: Workspace, truth: Truth) -> dict[str, float]:
    expected = truth.manifest_rows()
    latest: dict[tuple[str, str], int] = {}
    for source, file, loaded in ws.engine.fetch_rows(
        "SELECT source, file, rows_loaded FROM ingest_batch ORDER BY batch_id"
    ):
        name = Path(file).name
        if name in expected:
            latest[source, name] = int(loaded)  # a later batch of the same file replaces it
    if not latest:
        raise SkipProvider(f"no ingested file is listed in {truth.manifest_path}")
    loaded_rows: Counter[str] = Counter()
    manifest_rows: Counter[str] = Counter()
    for (source, name), n in latest.items():
        loaded_rows[source] += n
        manifest_rows[source] += expected[name]
    return {
        f"ingest.{source}.loaded_share": share(loaded_rows[source], manifest_rows[source])
        for source in sorted(loaded_rows)
    }


def quarantine_scores(ws: Workspace, truth: Truth) -> dict[str, float]:
    import pyarrow as pa

    engine = ws.engine
    ingested = {
        Path(f).name for (f,) in engine.fetch_rows("SELECT DISTINCT file FROM ingest_batch")
    }
    if not ingested:
        raise SkipProvider("the workspace has no ingest batches")
    planted = truth.read(PLANTED, ["file", "row_no"]).to_pydict()
    pairs = [
        (Path(f).name, int(n))
        for f, n in zip(planted["file"], planted["row_no"], strict=True)
        if f is not None and n is not None and Path(f).name in ingested
    ]
    world = set(truth.manifest_rows()) if truth.manifest is not None else None
    files = [
        f
        for (f,) in engine.fetch_rows("SELECT DISTINCT file FROM quarantine")
        if world is None or Path(f).name in world
    ]
    planted_table = pa.table(
        {
            "name": pa.array([p[0] for p in pairs], pa.string()),
            "row_no": pa.array([p[1] for p in pairs], pa.int64()),
        }
    )
    files_table = pa.table(
        {
            "file": pa.array(files, pa.string()),
            "name": pa.array([Path(f).name for f in files], pa.string()),
        }
    )
    with arrow_view(ws, _PLANTED_VIEW, planted_table), arrow_view(ws, _FILES_VIEW, files_table):
        caught, quarantined, planted_n = engine.fetch_rows(
            "WITH q AS (SELECT DISTINCT f.name, q.row_no FROM quarantine q "
            f"JOIN {_FILES_VIEW} f ON q.file = f.file), "
            f"p AS (SELECT DISTINCT name, row_no FROM {_PLANTED_VIEW}) "
            "SELECT (SELECT count(*) FROM q JOIN p USING (name, row_no)), "
            "(SELECT count(*) FROM q), (SELECT count(*) FROM p)"
        )[0]
    precision, recall, f1 = precision_recall_f1(int(caught), int(quarantined), int(planted_n))
    return {
        "ingest.quarantine.precision": precision,
        "ingest.quarantine.recall": recall,
        "ingest.quarantine.f1": f1,
    }


PROVIDERS = (
    Provider(
        name="ingest.sources",
        prefix="ingest",
        description="Share of each source's rows (as the manifest counts them) that loaded.",
        compute=loaded_shares,
        tables=("ingest_batch",),
        manifest=True,
    ),
    Provider(
        name="ingest.quarantine",
        prefix="ingest.quarantine",
        description="Quarantined rows against the rows planted to be quarantined.",
        compute=quarantine_scores,
        tables=("ingest_batch", "quarantine"),
        truth_files=(PLANTED,),
    ),
)
