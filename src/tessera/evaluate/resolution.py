"""Metrics of the ``resolution`` stage against the simulator's ``records.parquet``.

``resolution.<kind>.pairwise_precision|recall|f1`` and ``bcubed_precision|recall|f1``
score the clustering of each kind's records (``resolution_record``) against the true
entity behind every registry row; ``records`` is how many records were scored and
``true_pairs`` how many pairs of them truly belong together.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING

from tessera.evaluate.harness import Provider, SkipProvider
from tessera.resolve.stage import RECORDS

if TYPE_CHECKING:
    from tessera.evaluate.truth import Truth
    from tessera.workspace import Workspace

TRUTH_FILE = "records.parquet"
# resolved kind -> the truth's entity name
TRUTH_ENTITY = {
    "person": "person",
    "organisation": "organisation",
    "vehicle": "vehicle",
    "subscription": "device",
}


def _compute(ws: Workspace, truth: Truth) -> dict[str, float]:
    from tessera.resolve.metrics import cluster_scores

    records = truth.read(TRUTH_FILE, ["source", "record_id", "entity", "entity_id"])
    true: dict[str, dict[Hashable, Hashable]] = {}
    for source, record_id, entity, entity_id in zip(
        *(records.column(c).to_pylist() for c in records.column_names), strict=True
    ):
        true.setdefault(entity, {})[(source, record_id)] = entity_id
    metrics: dict[str, float] = {}
    rows = ws.engine.fetch_rows(f"SELECT kind, source, record_id, entity_id FROM {RECORDS}")
    predicted: dict[str, dict[Hashable, Hashable]] = {}
    for kind, source, record_id, entity_id in rows:
        predicted.setdefault(kind, {})[(source, record_id)] = entity_id
    for kind, entity in TRUTH_ENTITY.items():
        if kind not in predicted or entity not in true:
            continue
        scores = cluster_scores(predicted[kind], true[entity])
        if not scores["records"]:
            continue
        metrics.update({f"resolution.{kind}.{name}": v for name, v in scores.items()})
    if not metrics:
        raise SkipProvider("no resolved record of any kind matches a record in the truth")
    return metrics


PROVIDERS = (
    Provider(
        name="resolution",
        prefix="resolution",
        description="Pairwise and B-cubed scores of entity resolution per kind.",
        compute=_compute,
        tables=(RECORDS,),
        truth_files=(TRUTH_FILE,),
    ),
)
