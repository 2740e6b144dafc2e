"""Loading one file as one atomic batch.

The flow for a file::

    reader chunks (Arrow, exact row numbers)      or, for Parquet used as stored,
      -> __ingest_raw (temporary table;            the engine's own scan of the file
         DuckDB spills it beyond its memory limit)  (a view named __ingest_raw)
      -> clean, once per file: vectorized types in SQL, the others once per distinct
         raw value in Python, joined back
      -> the source table, every row once (a failed row marked by a negative row_no)
    then, in the same transaction, remove what must not stay:
      failed rows       -> re-cleaned alone into quarantine (file, row, column,
                           property, reason, raw row), then deleted
      dropped values    -> a property mapped with ``on_error: null`` whose value is
                           invalid is stored as null and the row kept; each dropped
                           value is recorded in quarantine too (reason ends in
                           "value set to null, row kept")
      rows already held -> deleted (compared on every cleaned value, in the batch's
                           time range)
      repeats in file   -> deleted but the first (skipped when row hashes are distinct)
      the batch record  -> ingest_batch

Everything for a file happens in one DuckDB transaction: an error, Ctrl-C or a
killed process leaves the workspace as it was before the file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from tessera.engines import literal, quote
from tessera.errors import EngineError, IngestError, MappingError, SourceFileError
from tessera.ingest.mapping import Mapping, load_mapping
from tessera.ingest.readers import ROW_NO, BadRecord, Chunk, ParquetReader, open_reader
from tessera.types import CleanOptions, ValueType, get_type

if TYPE_CHECKING:
    import pyarrow as pa

    from tessera.engines.base import Engine
    from tessera.model import SourceKind
    from tessera.workspace import Workspace

_FAILED = "__ingest_failed"
_RAW = "__ingest_raw"
_BAD = "__ingest_bad"
_DICT = "__ingest_dict"


class Progress(Protocol):
    """What the loader reports while it works (the CLI draws a Rich bar from it)."""

    def start(self, path: Path, total_bytes: int) -> None: ...
    def update(self, rows: int, bytes_done: int) -> None: ...
    def finishing(self) -> None: ...
    def done(self, result: BatchResult) -> None: ...


@dataclass(frozen=True)
class BatchResult:
    """What one file's batch did. ``read == loaded + quarantined`` always holds;
    ``added <= loaded`` (rows already present, from this or an overlapping file, are not added)."""

    batch_id: int
    source: str
    kind: str
    file: str
    file_sha256: str
    read: int
    loaded: int
    added: int
    quarantined: int
    duration_s: float
    # invalid values set to null in loaded rows (properties mapped with on_error: null)
    values_nulled: int = 0

    @property
    def duplicates(self) -> int:
        return self.loaded - self.added

    def as_dict(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "source": self.source,
            "kind": self.kind,
            "file": self.file,
            "read": self.read,
            "loaded": self.loaded,
            "added": self.added,
            "quarantined": self.quarantined,
            "values_nulled": self.values_nulled,
            "duration_s": round(self.duration_s, 3),
        }


@dataclass(frozen=True)
class _Column:
    """How one property is produced."""

    prop: str
    vtype: ValueType
    options: CleanOptions
    source_label: str  # the file column(s) it comes from, for quarantine messages
    column: str | None  # chunk column holding the raw value (None for constants)
    constant_sql: str | None  # SQL literal for constants
    required: bool
    parts: tuple[str, ...] = ()  # for properties joined from several columns
    join: str = " "
    null_on_error: bool = False  # an invalid value becomes null; the row is kept


def ingest_files(
    workspace: Workspace,
    mapping: Mapping | str | Path,
    files: Sequence[str | Path] = (),
    *,
    kind: str | None = None,
    progress: Progress | None = None,
    on_file: Callable[[Path], None] | None = None,
) -> list[BatchResult]:
    """Ingest ``files`` (or the mapping's own ``files``) through ``mapping``."""
    if not isinstance(mapping, Mapping):
        mapping = load_mapping(mapping)
    kind_name = mapping.resolved_kind(kind)
    mapping.check_against(kind_name)
    paths = [Path(f) for f in files] if files else mapping.resolved_files()
    if not paths:
        raise MappingError(
            f"no files to ingest for source {mapping.source!r}: pass FILE arguments or list "
            "'files:' in the mapping"
        )
    results = []
    for path in paths:
        if on_file is not None:
            on_file(path)
        results.append(ingest_file(workspace.engine, mapping, kind_name, path, progress=progress))
    return results


def ingest_file(
    engine: Engine,
    mapping: Mapping,
    kind_name: str,
    path: Path,
    *,
    progress: Progress | None = None,
) -> BatchResult:
    """Load one file as one atomic batch and return what happened."""
    from tessera import __version__
    from tessera.model import get_model

    engine.require("ingest")
    started = time.perf_counter()
    started_at = dt.datetime.now(dt.UTC)
    kind = get_model().source(kind_name)
    fmt = mapping.file_format(path)
    plan = _plan_columns(mapping, kind, path)
    needed = sorted({c for p in mapping.properties.values() for c in p.source_columns})
    reader = open_reader(path, fmt, mapping.csv, needed)
    file_sha = _sha256(path)
    size = path.stat().st_size
    if progress is not None:
        progress.start(path, size)

    rows_read = 0
    with engine.transaction():
        batch_id = int(
            engine.fetch_rows("SELECT coalesce(max(batch_id), 0) + 1 FROM ingest_batch")[0][0]
        )
        bad_total: list[BadRecord] = []
        schema: pa.Schema | None = None
        by_dict: dict[str, str] = {}
        native = _native_parquet(engine, reader, plan)
        if native:
            # The engine scans the Parquet file itself (in parallel, no Arrow round trip);
            # a first slice read here serves the file checks and the cleaning plan.
            assert isinstance(reader, ParquetReader)  # noqa: S101 - narrowed by _native_parquet
            first = next(reader.chunks(columns=needed, batch_rows=20_000), None)
            rows_read = reader.num_rows
            if first is not None and first.table.num_rows:
                _check_time_zones(plan, first, path)
                schema = first.table.schema
                by_dict = _choose_by_dict(plan, first.table)
                cols = [n for n in schema.names if n != ROW_NO]
                engine.create_parquet_view(_RAW, path, cols, ROW_NO)
        chunks: Iterator[Chunk] = iter(())
        if not native:
            chunks = (
                reader.chunks(columns=needed)
                if isinstance(reader, ParquetReader)
                else reader.chunks()
            )
        # Raw chunks go to a temporary table (DuckDB spills it to disk beyond its memory
        # limit), appended without registering views: a view registered inside the
        # transaction would keep its Arrow data alive until the commit.
        for chunk in chunks:
            rows_read += chunk.table.num_rows + len(chunk.bad)
            bad_total.extend(chunk.bad)
            if chunk.table.num_rows:
                table = _prepare_chunk(plan, chunk.table)
                if schema is None:
                    _check_time_zones(plan, chunk, path)
                    schema = table.schema
                    by_dict = _choose_by_dict(plan, table)
                    engine.create_temp_table(_RAW, schema)
                engine.append_arrow(_RAW, table.cast(schema))
            if progress is not None:
                progress.update(rows_read, chunk.bytes_read)
        if rows_read == 0:
            raise SourceFileError(f"{path}: the file has no data rows; nothing to load")
        on_progress: Callable[[float], None] | None = None
        if native and progress is not None:
            # The engine's scan of the file is the long step: its progress is the bar's.
            bar = progress
            on_progress = lambda f: bar.update(int(f * rows_read), int(f * size))  # noqa: E731
        elif progress is not None:
            progress.finishing()
        failed = added = nulled = 0
        if schema is not None:
            try:
                failed, added, nulled = _load_rows(
                    engine, kind, plan, schema, by_dict, batch_id, mapping.source, on_progress
                )
            except EngineError as exc:
                if not native:
                    raise
                raise SourceFileError(
                    f"{path}: damaged Parquet data ({exc}); re-copy or re-export the file"
                ) from None
            engine.execute(f"DROP {'VIEW' if native else 'TABLE'} {_RAW}")
        if native and progress is not None:
            progress.update(rows_read, size)
            progress.finishing()
        quarantined = failed + _write_quarantine(
            engine,
            batch_id,
            mapping.source,
            kind_name,
            path,
            file_sha,
            bad_total,
            failed + nulled > 0,
        )
        if schema is not None:
            engine.execute(f"DROP TABLE {_FAILED}")
        loaded = rows_read - quarantined
        duration = time.perf_counter() - started
        engine.execute(
            "INSERT INTO ingest_batch VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                batch_id,
                mapping.source,
                kind_name,
                str(path),
                file_sha,
                size,
                mapping.digest,
                rows_read,
                loaded,
                added,
                quarantined,
                started_at,
                dt.datetime.now(dt.UTC),
                duration,
                __version__,
            ],
        )
        if mapping.timezone:
            # the first zone a mapping names is the workspace's local zone, unless set
            engine.execute(
                "INSERT INTO tessera_meta SELECT 'timezone', ? WHERE NOT EXISTS "
                "(SELECT 1 FROM tessera_meta WHERE key = 'timezone')",
                [mapping.timezone],
            )
    result = BatchResult(
        batch_id,
        mapping.source,
        kind_name,
        str(path),
        file_sha,
        rows_read,
        loaded,
        added,
        quarantined,
        duration,
        nulled,
    )
    if progress is not None:
        progress.done(result)
    return result


def _sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _plan_columns(mapping: Mapping, kind: SourceKind, path: Path) -> list[_Column]:
    plan = []
    for prop, pm in mapping.properties.items():
        decl = kind.properties[prop]
        vtype = get_type(decl.type)
        options = CleanOptions(
            phone_region=pm.phone_region or mapping.phone_region,
            timezone=pm.timezone or mapping.timezone,
            formats=pm.formats,
            minimum=decl.minimum,
            maximum=decl.maximum,
            values=decl.values,
            aliases=tuple((k.strip().lower(), v) for k, v in pm.values.items()),
        )
        constant_sql = None
        column: str | None
        if pm.constant is not None:
            cleaned = vtype.clean(str(pm.constant), options)
            if cleaned.error is not None or cleaned.value is None:
                raise MappingError(
                    f"mapping for source {mapping.source!r}: constant {pm.constant!r} for "
                    f"{prop!r} is not a valid {decl.type}: {cleaned.error or 'blank'}"
                )
            constant_sql = _sql_literal(cleaned.value, vtype.sql_type)
            column, label = None, f"(constant {pm.constant!r})"
        elif pm.columns:
            column, label = f"__join_{prop}", "+".join(pm.columns)
        else:
            column, label = pm.column, str(pm.column)
        plan.append(
            _Column(
                prop,
                vtype,
                options,
                label,
                column,
                constant_sql,
                decl.required,
                pm.columns,
                pm.join,
                pm.on_error == "null",
            )
        )
    return plan


def _sql_literal(value: Any, sql_type: str) -> str:
    if isinstance(value, dt.datetime):
        return f"TIMESTAMPTZ {literal(value.astimezone(dt.UTC).isoformat())}"
    if isinstance(value, dt.date):
        return f"DATE {literal(value.isoformat())}"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return f"CAST({value!r} AS {sql_type})"
    return literal(str(value))


def _check_time_zones(plan: list[_Column], chunk: Chunk, path: Path) -> None:
    """A timestamp column without zones and no ``timezone`` in the mapping is a file error."""
    for c in plan:
        if c.vtype.name != "timestamp" or c.options.timezone or c.column is None:
            continue
        arrow_type = str(chunk.table.schema.field(c.column).type)
        if arrow_type.startswith("timestamp") and "tz=" not in arrow_type:
            raise IngestError(
                f"{path}: column {c.column!r} ({c.prop}) holds timestamps without a time zone; "
                "add 'timezone: Area/City' (for example Europe/Berlin, or UTC) to the mapping"
            )
        if arrow_type != "string":
            continue
        sample = [v for v in chunk.table.column(c.column).slice(0, 200).to_pylist() if v]
        for raw in sample[:50]:
            err = c.vtype.clean(raw, c.options).error
            if err and "time zone" in err:
                raise IngestError(
                    f"{path}: column {c.column!r} ({c.prop}) holds times without a time zone "
                    f"(for example {raw!r}); add 'timezone: Area/City' (for example "
                    "Europe/Berlin, or UTC) to the mapping"
                )


def _native_parquet(engine: Engine, reader: object, plan: list[_Column]) -> bool:
    """Whether the engine can scan this Parquet file directly: every mapped column is
    used as stored (no joined columns, and text where a Python type cleans it)."""
    import pyarrow as pa

    if not isinstance(reader, ParquetReader) or not engine.supports("parquet_view"):
        return False
    for c in plan:
        if c.column is None:
            continue
        if c.column.startswith("__join_"):
            return False
        if not c.vtype.vectorized and not pa.types.is_string(reader.schema.field(c.column).type):
            return False
    return True


def _prepare_chunk(plan: list[_Column], table: pa.Table) -> pa.Table:
    """Add joined columns; make the raw input of Python-cleaned types text."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for c in plan:
        if (
            c.column is not None
            and c.column.startswith("__join_")
            and c.column not in table.column_names
        ):
            arrays = [pc.cast(table.column(p), pa.string()) for p in c.parts]
            joined = pc.binary_join_element_wise(*arrays, c.join, null_handling="skip")
            joined = pc.if_else(pc.equal(pc.utf8_trim_whitespace(joined), ""), None, joined)
            table = table.append_column(c.column, joined)
    for c in plan:
        if c.column is not None and not c.vtype.vectorized:
            col = table.column(c.column)
            if not pa.types.is_string(col.type):
                table = table.set_column(
                    table.column_names.index(c.column), c.column, pc.cast(col, pa.string())
                )
    return table


def _choose_by_dict(plan: list[_Column], table: pa.Table) -> dict[str, str]:
    """Which properties are cleaned once per distinct value, and where.

    In Python for types that are not vectorized (phone, IMEI, names, plates); in SQL
    over the distinct values for vectorized types on text columns with few distinct
    values (identifiers, enums), judged on the first chunk. Other columns are cleaned
    row by row in SQL (timestamps, numbers, free text).
    """
    import pyarrow as pa

    by_dict: dict[str, str] = {}
    for c in plan:
        if c.column is None:
            continue
        if not c.vtype.vectorized:
            by_dict[c.prop] = "python"
        elif pa.types.is_string(table.column(c.column).type) and _few_distinct(
            table.column(c.column)
        ):
            by_dict[c.prop] = "sql"
    return by_dict


def _load_rows(
    engine: Engine,
    kind: SourceKind,
    plan: list[_Column],
    schema: pa.Schema,
    by_dict: dict[str, str],
    batch_id: int,
    source: str,
    on_progress: Callable[[float], None] | None = None,
) -> tuple[int, int, int]:
    """Clean the file's raw rows (``_RAW``) into the source table; return how many rows
    failed validation (kept in ``_FAILED``), how many were added, and how many invalid
    values of loaded rows were set to null (``on_error: null``; also in ``_FAILED``,
    with the row number of the row that was kept).

    Every row is written once, straight to the source table, and what must not stay is
    removed afterwards inside the same transaction: rows that failed validation (marked
    by a negative ``row_no`` and re-cleaned, alone, for the quarantine), rows repeated
    inside the file, and rows the source already holds. Writing rows twice (a staging
    table, then the source table) cost more than these checks.

    Python-cleaned dictionaries become temporary tables, not registered Arrow views:
    DuckDB reports no progress for a query that scans an Arrow view.
    """
    from tessera.model import source_columns

    created: list[str] = []
    try:
        for i, c in enumerate(plan):
            if by_dict.get(c.prop) != "python":
                continue
            uniques = engine.fetch_arrow(
                f"SELECT DISTINCT {quote(str(c.column))} AS raw FROM {_RAW} "
                f"WHERE {quote(str(c.column))} IS NOT NULL"
            ).column(0)
            name = f"{_DICT}_{i}"
            cleaned = _clean_dictionary_python(c, uniques)
            engine.create_temp_table(name, cleaned.schema)
            created.append(name)
            engine.append_arrow(name, cleaned)
        raw_cols = [n for n in schema.names if n != ROW_NO and not n.startswith("__join_")]
        select = _compile_clean_sql(kind, plan, schema, by_dict, raw_cols)

        table = quote(kind.table)
        stored = {c.prop for c in plan} | {
            f"{c.prop}_{d.suffix}" for c in plan for d in c.vtype.derived
        }
        value_cols = [c for c, _ in source_columns(kind)[4:]]
        cols = [c for c in value_cols if c in stored]
        col_list = ", ".join(quote(c) for c in cols)
        insert = (
            f"INSERT INTO {table} (obs_id, batch_id, row_no, source, {col_list}) "
            f"SELECT (CAST({batch_id} AS BIGINT) << 40) | s.__row_no, {batch_id}, "
            "CASE WHEN s.__err_reason IS NULL THEN s.__row_no ELSE -s.__row_no END, "
            f"{literal(source)}, {', '.join(f's.{quote(c)}' for c in cols)} FROM ({select}) s"
        )
        if on_progress is None:
            engine.execute(insert)
        else:
            engine.execute_with_progress(insert, on_progress)
        mine = f"FROM {table} WHERE batch_id = {batch_id}"

        # 1. Rows that failed: re-clean just those for their reasons, then remove them.
        engine.execute(
            f"CREATE OR REPLACE TEMP TABLE {_FAILED} (__row_no BIGINT, __err_column VARCHAR, "
            "__err_property VARCHAR, __err_reason VARCHAR, __raw VARCHAR)"
        )
        failed = int(engine.fetch_rows(f"SELECT count(*) {mine} AND row_no < 0")[0][0])
        if failed:
            engine.execute(
                f"INSERT INTO {_FAILED} SELECT __row_no, __err_column, __err_property, "
                f"__err_reason, __raw FROM ({select}) s WHERE s.__row_no IN "
                f"(SELECT -row_no {mine} AND row_no < 0)"
            )
            engine.execute(f"DELETE {mine} AND row_no < 0")
        # Values set to null (on_error: null) in rows that were kept: one record each.
        nulled = 0
        soft = [(i, c) for i, c in enumerate(plan) if c.null_on_error]
        if soft:
            before = int(engine.fetch_rows(f"SELECT count(*) FROM {_FAILED}")[0][0])
            parts = " UNION ALL ".join(
                f"SELECT __row_no, {literal(c.source_label)}, {literal(c.prop)}, "
                f"__nulled{i} || '; value set to null, row kept (on_error: null)', __raw "
                f"FROM s WHERE __nulled{i} IS NOT NULL AND __err_reason IS NULL"
                for i, c in soft
            )
            engine.execute(f"INSERT INTO {_FAILED} WITH s AS ({select}) {parts}")
            nulled = int(engine.fetch_rows(f"SELECT count(*) FROM {_FAILED}")[0][0]) - before

        # 2. Rows the source already holds (only those in the batch's time range can be).
        same = " AND ".join(f"t.{quote(c)} IS NOT DISTINCT FROM n.{quote(c)}" for c in value_cols)
        existing = [f"t.source = {literal(source)}", f"t.batch_id <> {batch_id}"]
        params: list[Any] = []
        if kind.time_property in cols:
            tcol = quote(str(kind.time_property))
            lo, hi = engine.fetch_rows(f"SELECT min({tcol}), max({tcol}) {mine}")[0]
            if lo is not None:
                existing.append(f"t.{tcol} BETWEEN ? AND ?")
                params += [lo, hi]
        where = " AND ".join(existing)
        if engine.fetch_rows(f"SELECT EXISTS (SELECT 1 FROM {table} t WHERE {where})", params)[0][
            0
        ]:
            engine.execute(
                f"DELETE FROM {table} n WHERE n.batch_id = {batch_id} AND EXISTS "
                f"(SELECT 1 FROM {table} t WHERE {where} AND {same})",
                params,
            )

        # 3. Rows repeated inside the file: equal rows have equal hashes, so as many
        # distinct hashes as rows proves there are none; otherwise keep the first.
        n, n_hashes = engine.fetch_rows(
            f"SELECT count(*), count(DISTINCT hash({col_list})) {mine}"
        )[0]
        if n != n_hashes:
            engine.execute(
                f"DELETE {mine} AND obs_id NOT IN (SELECT min(obs_id) {mine} GROUP BY {col_list})"
            )
        added = int(engine.fetch_rows(f"SELECT count(*) {mine}")[0][0])
        return failed, added, nulled
    finally:
        for name in created:
            engine.execute(f"DROP TABLE IF EXISTS {name}")


def _few_distinct(col: pa.ChunkedArray) -> bool:
    """Whether cleaning by distinct value pays: judged on a sample of the column."""
    import pyarrow.compute as pc

    sample = col.slice(0, 20_000)
    return len(sample) < 1_000 or pc.count_distinct(sample).as_py() <= 0.3 * len(sample)


def _exceptions_only(c: _Column) -> bool:
    """Whether the dictionary of a Python-cleaned property lists only the raw values that
    clean to something else (a different value, or an error): possible for types with no
    derived columns, and it makes the join nearly free when the input is already clean."""
    return not c.vtype.derived


def _clean_dictionary_python(c: _Column, raw: pa.ChunkedArray) -> pa.Table:
    import pyarrow as pa

    uniques = raw.to_pylist()
    cache: dict[Any, tuple[Any, ...]] = {}
    for raw in uniques:
        if raw not in cache:
            cleaned = c.vtype.clean(raw, c.options)
            derived = c.vtype.derive(cleaned.value) if cleaned.value is not None else {}
            cache[raw] = (
                cleaned.value,
                cleaned.error,
                *(derived.get(d.suffix) for d in c.vtype.derived),
            )
    if _exceptions_only(c):
        uniques = [u for u in uniques if cache[u][0] != u or cache[u][1] is not None]
    data: dict[str, Any] = {
        "raw": pa.array(uniques, pa.string()),
        "value": pa.array([cache[u][0] for u in uniques], pa.string()),
        "err": pa.array([cache[u][1] for u in uniques], pa.string()),
    }
    for j, d in enumerate(c.vtype.derived):
        data[f"d_{d.suffix}"] = pa.array([cache[u][2 + j] for u in uniques], pa.string())
    return pa.table(data)


def _compile_clean_sql(
    kind: SourceKind,
    plan: list[_Column],
    schema: pa.Schema,
    by_dict: dict[str, str],
    raw_cols: list[str],
) -> str:
    """INSERT INTO the stage: typed values, first error per row, raw row of failures."""
    inner: list[str] = [f"b.{quote(ROW_NO)} AS __row_no"]
    joins: list[str] = []
    checks: list[tuple[str, str, str, str]] = []  # (condition, column label, property, reason)
    nulled: list[tuple[int, str, str]] = []  # on_error: null (plan index, condition, reason)
    stage_cols: list[str] = []
    for i, c in enumerate(plan):
        v, inv = f"__v{i}", f"__i{i}"
        stage_cols.append(quote(c.prop))
        if c.constant_sql is not None:
            inner += [f"{c.constant_sql} AS {v}", f"FALSE AS {inv}"]
            reason = "NULL"
        elif c.prop in by_dict:
            d, col = f"d{i}", quote(str(c.column))
            if by_dict[c.prop] == "python":
                joins.append(f"LEFT JOIN {_DICT}_{i} {d} ON b.{col} = {d}.raw")
            else:
                arrow_type = str(schema.field(str(c.column)).type)
                sc = c.vtype.sql_clean("raw", arrow_type, c.options)
                joins.append(
                    f"LEFT JOIN (SELECT raw, {sc.value} AS value, CASE WHEN "
                    f"coalesce({sc.invalid}, FALSE) THEN {sc.reason} END AS err FROM "
                    f"(SELECT DISTINCT b.{col} AS raw FROM {_RAW} b)) {d} ON b.{col} = {d}.raw"
                )
            value_sql = f"{d}.value"
            if by_dict[c.prop] == "python" and _exceptions_only(c):
                # a raw value not in the dictionary is already clean
                value_sql = f"CASE WHEN {d}.raw IS NULL THEN b.{col} ELSE {d}.value END"
            if c.vtype.sql_type != "VARCHAR" and by_dict[c.prop] == "python":
                value_sql = f"CAST({value_sql} AS {c.vtype.sql_type})"
            inner += [
                f"{value_sql} AS {v}",
                f"({d}.err IS NOT NULL) AS {inv}",
                f"{d}.err AS __r{i}",
            ]
            for dv in c.vtype.derived:
                inner.append(f"{d}.d_{dv.suffix} AS __v{i}_{dv.suffix}")
            reason = f"__r{i}"
        else:
            col = quote(str(c.column))
            arrow_type = str(schema.field(str(c.column)).type)
            sc = c.vtype.sql_clean(f"b.{col}", arrow_type, c.options)
            inner += [
                f"{sc.value} AS {v}",
                f"coalesce({sc.invalid}, FALSE) AS {inv}",
                f"b.{col} AS __raw{i}",
            ]
            reason = sc.reason.replace(f"b.{col}", f"__raw{i}")
        for dv in c.vtype.derived:
            stage_cols.append(quote(f"{c.prop}_{dv.suffix}"))
        label = literal(c.source_label)
        if c.null_on_error:
            nulled.append((i, inv, reason))
        else:
            checks.append((inv, label, literal(c.prop), reason))
        if c.required:
            checks.append((f"{v} IS NULL", label, literal(c.prop), "'required value is missing'"))
    index = {c.prop: i for i, c in enumerate(plan)}
    for rule in kind.rules:
        names = rule.names()
        present = {
            n: (f"({_kept(index[n], nulled)}) IS NOT NULL" if n in index else "FALSE")
            for n in names
        }
        if rule.require_any is not None:
            cond = "NOT (" + " OR ".join(present[n] for n in rule.require_any) + ")"
        elif rule.require_together is not None:
            cnt = " + ".join(f"CAST({present[n]} AS INTEGER)" for n in rule.require_together)
            cond = f"({cnt}) NOT IN (0, {len(rule.require_together)})"
        else:
            groups = rule.require_one_of_groups or ()
            cond = (
                "NOT ("
                + " OR ".join("(" + " AND ".join(present[n] for n in g) + ")" for g in groups)
                + ")"
            )
        checks.append((cond, "'(row)'", "NULL", literal(f"row needs {rule.describe()}")))

    def case(pick: int) -> str:
        whens = " ".join(f"WHEN {chk[0]} THEN {chk[pick]}" for chk in checks)
        return f"CASE {whens} ELSE NULL END"

    raw_struct = ", ".join(f"{quote(n)} := b.{quote(n)}" for n in raw_cols)
    outer_vals = []
    soft = {i: cond for i, cond, _ in nulled}
    for i, c in enumerate(plan):
        vals = [f"__v{i}"] + [f"__v{i}_{dv.suffix}" for dv in c.vtype.derived]
        if i in soft:
            vals = [f"CASE WHEN __i{i} THEN NULL ELSE {v} END" for v in vals]
        outer_vals += vals
    inner_sql = (
        f"SELECT {', '.join(inner + [f'b.{quote(n)}' for n in raw_cols])} FROM {_RAW} b "
        + " ".join(joins)
    )
    # the reason each on_error: null value was dropped (NULL where it was valid)
    reasons = [f"CASE WHEN {cond} THEN {reason} END AS __nulled{i}" for i, cond, reason in nulled]
    return _final_sql(
        stage_cols, outer_vals, inner_sql, case(1), case(2), case(3), raw_struct, reasons
    )


def _kept(i: int, nulled: list[tuple[int, str, str]]) -> str:
    """The value of property ``i`` as stored: null where ``on_error: null`` dropped it."""
    for j, cond, _ in nulled:
        if j == i:
            return f"CASE WHEN {cond} THEN NULL ELSE __v{i} END"
    return f"__v{i}"


def _final_sql(
    stage_cols: list[str],
    outer_vals: list[str],
    inner_sql: str,
    col_case: str,
    prop_case: str,
    err_case: str,
    raw_struct: str,
    nulled: Sequence[str] = (),
) -> str:
    raw_struct_s = raw_struct.replace(":= b.", ":= s.")
    named = ", ".join(f"{v} AS {c}" for v, c in zip(outer_vals, stage_cols, strict=True))
    names = [n.rsplit(" AS ", 1)[1] for n in nulled]
    keep_raw = " OR ".join(["__err IS NOT NULL", *(f"{n} IS NOT NULL" for n in names)])
    extra = "".join(f", {n}" for n in names)
    middle = "".join(f", {n}" for n in nulled)
    return (
        f"SELECT {named}, __row_no, "
        f"CASE WHEN __err IS NOT NULL THEN {col_case} END AS __err_column, "
        f"CASE WHEN __err IS NOT NULL THEN {prop_case} END AS __err_property, "
        f"__err AS __err_reason, CASE WHEN {keep_raw} THEN "
        f"CAST(to_json(struct_pack({raw_struct_s})) AS VARCHAR) END AS __raw{extra} "
        f"FROM (SELECT s.*, {err_case} AS __err{middle} FROM ({inner_sql}) s) s"
    )


def _write_quarantine(
    engine: Engine,
    batch_id: int,
    source: str,
    kind_name: str,
    path: Path,
    file_sha: str,
    bad: list[BadRecord],
    have_failed: bool,
) -> int:
    """Quarantine malformed records and rows that failed validation (``_FAILED``), not
    again when the file is re-ingested; return how many malformed records there were."""
    import pyarrow as pa

    head = [batch_id, source, kind_name, str(path), file_sha]

    def not_yet(alias: str, col: str) -> str:
        return (
            "NOT EXISTS (SELECT 1 FROM quarantine q WHERE q.source = ? AND q.file_sha256 = ? "
            f"AND q.row_no = {alias}.{col})"
        )

    if bad:
        engine.register_arrow(
            _BAD,
            pa.table(
                {
                    "row_no": pa.array([b.row_no for b in bad], pa.int64()),
                    "reason": pa.array([b.reason for b in bad], pa.string()),
                    "raw": pa.array([b.text for b in bad], pa.string()),
                }
            ),
        )
        try:
            engine.execute(
                f"INSERT INTO quarantine SELECT ?, ?, ?, ?, ?, row_no, '(row)', NULL, reason, "
                f"CAST(to_json(raw) AS VARCHAR) FROM {_BAD} n WHERE {not_yet('n', 'row_no')}",
                [*head, source, file_sha],
            )
        finally:
            engine.unregister(_BAD)
    if have_failed:
        engine.execute(
            "INSERT INTO quarantine SELECT ?, ?, ?, ?, ?, __row_no, __err_column, "
            f"__err_property, __err_reason, __raw FROM {_FAILED} f "
            f"WHERE {not_yet('f', '__row_no')}",
            [*head, source, file_sha],
        )
    return len(bad)
