"""One source feed as the simulator writes it: its rows, its file format and its mapping.

Every producer (registries, sensors, communications) returns :class:`Feed` objects;
:mod:`tessera.simulate.output` writes them under ``OUT/sources`` with a mapping under
``OUT/mappings`` that names the feed's kind and file, so that
``tessera ingest WS --mapping OUT/mappings/<name>.yaml`` alone loads it.

Values in ``table`` are written as they are: a producer that wants dates as
``31.12.1980`` or timestamps as local text stores strings. CSV feeds are written with
the given delimiter and encoding; Parquet feeds keep Arrow types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass
class Feed:
    name: str  # the source name (recorded on every ingested row) and the mapping's file stem
    kind: str  # a source kind of the data model, e.g. "registry.person"
    file: str  # file name under OUT/sources/, with extension .csv or .parquet
    table: pa.Table
    properties: dict[str, Any]  # the mapping's properties (property -> column or spec)
    csv: dict[str, Any] = field(default_factory=dict)  # delimiter, encoding (CSV only)
    options: dict[str, Any] = field(default_factory=dict)  # timezone, phone_region
    # the truth behind the rows: (source, record_id, entity, entity_id) rows
    records: pa.Table | None = None
    # rows planted to be quarantined: (row_no 1-based, header not counted, reason)
    planted: list[tuple[int, str]] = field(default_factory=list)

    @property
    def format(self) -> str:
        return "parquet" if self.file.endswith(".parquet") else "csv"

    def mapping(self) -> dict[str, Any]:
        """The mapping file's body (files relative to ``OUT/mappings``)."""
        body: dict[str, Any] = {
            "source": self.name,
            "kind": self.kind,
            "files": [f"../sources/{self.file}"],
        }
        if self.format == "csv" and self.csv:
            body["csv"] = dict(self.csv)
        body.update(self.options)
        body["properties"] = self.properties
        return body
