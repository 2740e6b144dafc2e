"""Metrics of the ``identifiers`` stage: does the pivot index hold the true identifiers?

``identifiers.<field>_recall`` is the share of the distinct values of a truth column
that appear in the ``identifier`` table under the column's value type, after that
type's cleaning (so a truth plate ``b-xy 123`` is looked up as ``BXY123``). A truth
value that does not clean counts as missed. One provider per truth file, so a
missing file skips only its own metrics.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from tessera.evaluate.harness import Provider, arrow_view, share
from tessera.stages.identifiers import OUTPUT as IDENTIFIER_TABLE

if TYPE_CHECKING:
    from tessera.evaluate.truth import Truth
    from tessera.types import ValueType
    from tessera.workspace import Workspace

_VALUES_VIEW = "__evaluate_values"

# truth file -> (metric, column, value type) for each recall measured in it
RECALLS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "devices.parquet": (
        ("identifiers.msisdn_recall", "msisdn", "phone"),
        ("identifiers.imsi_recall", "imsi", "imsi"),
    ),
    "vehicles.parquet": (("identifiers.plate_recall", "plate", "plate"),),
}


def recall(ws: Workspace, values: Iterable[Any], value_type: str) -> float:
    """Share of the distinct non-missing ``values``, cleaned as ``value_type``, that the
    identifier index holds under that type."""
    import pyarrow as pa

    from tessera.types import get_type

    vtype = get_type(value_type)
    wanted = {c for raw in set(values) if (c := _canonical(vtype, raw)) is not None}
    if not wanted:
        return share(0, 0)
    data = pa.table({"value": pa.array(sorted(wanted), pa.string())})
    with arrow_view(ws, _VALUES_VIEW, data):
        [(found,)] = ws.engine.fetch_rows(
            f"SELECT count(*) FROM {_VALUES_VIEW} WHERE value IN "
            f"(SELECT value FROM {IDENTIFIER_TABLE} WHERE value_type = ?)",
            [vtype.name],
        )
    return share(int(found), len(wanted))


def _canonical(vtype: ValueType, raw: Any) -> str | None:
    """The cleaned value; the raw text when it does not clean (it then cannot match);
    None when missing."""
    if raw is None:
        return None
    cleaned = vtype.clean(str(raw))
    if cleaned.value is not None:
        return str(cleaned.value)
    return None if cleaned.error is None else str(raw)


def _recalls(
    file: str, specs: tuple[tuple[str, str, str], ...]
) -> Callable[[Workspace, Truth], dict[str, float]]:
    def compute(ws: Workspace, truth: Truth) -> dict[str, float]:
        table = truth.read(file, [column for _, column, _ in specs])
        return {
            metric: recall(ws, table.column(column).to_pylist(), value_type)
            for metric, column, value_type in specs
        }

    return compute


PROVIDERS = tuple(
    Provider(
        name=f"identifiers.{file.removesuffix('.parquet')}",
        prefix="identifiers",
        description=f"Recall of {file} identifiers in the identifier index.",
        compute=_recalls(file, specs),
        tables=(IDENTIFIER_TABLE,),
        truth_files=(file,),
    )
    for file, specs in RECALLS.items()
)
