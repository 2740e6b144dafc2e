"""Metrics of plate attribution (``link_plate_read``) against ``plate_reads.parquet``.

Every read in ``link_plate_read`` is matched to the truth by its ``read_id`` (cleaned as
an identifier: upper case, no whitespace) and its attributed ``plate`` is compared with
the true plate cleaned by the ``plate`` type (``B-XY 123`` is ``BXY123``).

- ``linking.misread.accuracy``: share of misread reads attributed to their true plate. A
  misread is a read the truth marks ``misread`` whose cleaned text still differs from the
  cleaned true plate (the truth also marks reads that only lost a dash or a space, which
  cleaning repairs; they would count as right without any attribution).
- ``linking.misread.reads``: how many misread reads were scored.
- ``linking.plate.false_correction_rate``: share of reads read right (cleaned text equal to
  the cleaned true plate) whose plate was changed.
- ``linking.plate.accuracy``: share of all scored reads attributed to their true plate.
- ``linking.plate.reads``: how many reads were scored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tessera.evaluate.harness import Provider, SkipProvider, arrow_view, share
from tessera.link.plates import OUTPUT, READS

if TYPE_CHECKING:
    import pyarrow as pa

    from tessera.evaluate.truth import Truth
    from tessera.workspace import Workspace

TRUTH_FILE = "plate_reads.parquet"
_TRUTH_VIEW = "__evaluate_plate_reads"


def _clean_plates(column: pa.ChunkedArray) -> pa.Array:
    """The true plates cleaned by the ``plate`` type, cleaning each distinct value once;
    a plate that does not clean stays as written (it then matches nothing)."""
    import pyarrow as pa

    from tessera.types import get_type

    plate = get_type("plate")
    encoded = column.combine_chunks().dictionary_encode()
    cleaned = []
    for raw in encoded.dictionary.to_pylist():
        value = plate.clean(raw).value if raw is not None else None
        cleaned.append(str(value) if value is not None else raw)
    return pa.DictionaryArray.from_arrays(encoded.indices, pa.array(cleaned, pa.string())).cast(
        pa.string()
    )


def _compute(ws: Workspace, truth: Truth) -> dict[str, float]:
    import pyarrow as pa

    table = truth.read(TRUTH_FILE, ["read_id", "true_plate", "misread"])
    data = pa.table(
        {
            "read_id": table.column("read_id").cast(pa.string()),
            "true_plate": _clean_plates(table.column("true_plate")),
            "misread": table.column("misread").cast(pa.bool_()),
        }
    )
    with arrow_view(ws, _TRUTH_VIEW, data):
        [row] = ws.engine.fetch_rows(
            f"""
            WITH scored AS (
                SELECT l.plate = t.true_plate AS right_plate, l.corrected,
                       l.read_plate = t.true_plate AS read_right,
                       t.misread AND l.read_plate <> t.true_plate AS misread
                FROM {OUTPUT} AS l
                JOIN {READS} AS r ON r.obs_id = l.obs_id
                JOIN {_TRUTH_VIEW} AS t
                  ON t.read_id = upper(regexp_replace(r.read_id, '\\s', '', 'g'))
                WHERE l.read_plate IS NOT NULL
            )
            SELECT count(*),
                   count(*) FILTER (WHERE right_plate),
                   count(*) FILTER (WHERE misread),
                   count(*) FILTER (WHERE misread AND right_plate),
                   count(*) FILTER (WHERE read_right),
                   count(*) FILTER (WHERE read_right AND corrected)
            FROM scored
            """
        )
    reads, right, misreads, misreads_right, read_right, changed = (int(v or 0) for v in row)
    if not reads:
        raise SkipProvider(f"no read of {OUTPUT} has a read_id in {TRUTH_FILE}")
    return {
        "linking.misread.accuracy": share(misreads_right, misreads),
        "linking.misread.reads": float(misreads),
        "linking.plate.accuracy": share(right, reads),
        "linking.plate.false_correction_rate": changed / read_right if read_right else 0.0,
        "linking.plate.reads": float(reads),
    }


PROVIDERS = (
    Provider(
        name="linking.plates",
        prefix="linking",
        description="Misread plates attributed to the true plate; reads changed wrongly.",
        compute=_compute,
        tables=(OUTPUT, READS),
        truth_files=(TRUTH_FILE,),
    ),
)
