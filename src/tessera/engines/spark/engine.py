"""Apache Spark implementation of the engine port.

Stages write SQL in the canonical dialect (DuckDB's). This engine parses each
statement with sqlglot and handles the statements that change tables itself (create,
insert, drop); every query is translated to Spark SQL by sqlglot and run by Spark.

**Tables are Parquet.** The engine's catalog is a folder: each persistent table is a
list of Parquet folders (its *parts*) under ``<root>/parts/``, named in the manifest
``<root>/catalog.json`` with the table's Spark schema. A ``CREATE TABLE ... AS``
writes one new part; an ``INSERT`` writes a new part and adds it to the list (nothing
is copied); ``DROP`` removes the name. Every table is a temporary view in the Spark
session over its parts, so queries name tables as they would in DuckDB. Temporary
tables (``CREATE TEMP TABLE``, :meth:`create_temp_table`) live the same way under
``<root>/temp/<session>/`` and are deleted when the engine closes.

**Transactions.** Inside :meth:`transaction`, changes to the manifest are kept in
memory; the commit writes the new manifest atomically (a file renamed over the old
one) and only then deletes the parts no table names any more. An exception, or a
killed process, leaves the previous manifest: the stage's writes are lost, as on
DuckDB, and the unnamed parts are removed by the next engine that opens the folder.

**Sessions.** ``master`` (``local[2]``, ``spark://host:7077``, ``yarn``) starts or
joins a classic session; ``remote`` (``sc://host:15002``) a Spark Connect one; an
existing ``SparkSession`` may be passed as ``session``. The session time zone is set
to UTC, as DuckDB's is.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import uuid
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tessera.engines.base import Engine, quote
from tessera.engines.spark.dialect import to_spark, without_qualify
from tessera.errors import EngineError, UnsupportedOperation

if TYPE_CHECKING:
    import pyarrow as pa

CATALOG = "catalog.json"
SQLGLOT_RECURSION = 20_000

# DuckDB's type names (the ones Tessera's DDL uses) -> Spark's
_TO_SPARK = {
    "VARCHAR": "STRING",
    "TEXT": "STRING",
    "STRING": "STRING",
    "BLOB": "BINARY",
    "BIGINT": "BIGINT",
    "UBIGINT": "DECIMAL(20,0)",
    "HUGEINT": "DECIMAL(38,0)",
    "INTEGER": "INT",
    "INT": "INT",
    "UINTEGER": "BIGINT",
    "SMALLINT": "SMALLINT",
    "USMALLINT": "INT",
    "TINYINT": "TINYINT",
    "UTINYINT": "SMALLINT",
    "DOUBLE": "DOUBLE",
    "FLOAT": "FLOAT",
    "REAL": "FLOAT",
    "BOOLEAN": "BOOLEAN",
    "DATE": "DATE",
    "TIMESTAMPTZ": "TIMESTAMP",
    "TIMESTAMP WITH TIME ZONE": "TIMESTAMP",
    "TIMESTAMP": "TIMESTAMP_NTZ",
    "JSON": "STRING",
}


def spark_type(duckdb_type: str) -> str:
    """Spark's name for a DuckDB column type (``VARCHAR[]`` -> ``ARRAY<STRING>``)."""
    t = " ".join(duckdb_type.upper().split())
    if t.endswith("[]"):
        return f"ARRAY<{spark_type(t[:-2])}>"
    if t.startswith("DECIMAL"):
        return t
    if t in _TO_SPARK:
        return _TO_SPARK[t]
    raise UnsupportedOperation(f"engine 'spark' has no type for DuckDB's {duckdb_type!r}")


def duckdb_type(spark: Any) -> str:
    """DuckDB's name for a Spark data type (what :meth:`Engine.columns` reports)."""
    from pyspark.sql import types as T

    simple = {
        T.StringType: "VARCHAR",
        T.LongType: "BIGINT",
        T.IntegerType: "INTEGER",
        T.ShortType: "SMALLINT",
        T.ByteType: "TINYINT",
        T.DoubleType: "DOUBLE",
        T.FloatType: "FLOAT",
        T.BooleanType: "BOOLEAN",
        T.DateType: "DATE",
        T.TimestampType: "TIMESTAMP WITH TIME ZONE",
        T.TimestampNTZType: "TIMESTAMP",
        T.BinaryType: "BLOB",
        T.NullType: "NULL",
    }
    for cls, name in simple.items():
        if isinstance(spark, cls):
            return name
    if isinstance(spark, T.DecimalType):
        return f"DECIMAL({spark.precision},{spark.scale})"
    if isinstance(spark, T.ArrayType):
        return f"{duckdb_type(spark.elementType)}[]"
    if isinstance(spark, T.StructType):
        inner = ", ".join(f"{quote(f.name)} {duckdb_type(f.dataType)}" for f in spark.fields)
        return f"STRUCT({inner})"
    if isinstance(spark, T.MapType):
        return f"MAP({duckdb_type(spark.keyType)}, {duckdb_type(spark.valueType)})"
    return str(spark.simpleString()).upper()


class SparkEngine(Engine):
    """An engine over a folder of Parquet tables, run by a Spark session."""

    name = "spark"
    dialect = "spark"

    def __init__(
        self,
        root: Path,
        *,
        master: str | None = "local[2]",
        remote: str | None = None,
        session: Any = None,
        conf: dict[str, str] | None = None,
    ) -> None:
        self.root = Path(root)
        (self.root / "parts").mkdir(parents=True, exist_ok=True)
        # sqlglot parses and writes recursively: the resolution stage's name features
        # (functions nested tens deep) pass Python's default limit under a deep caller
        # (a test runner); the translated SQL is written by the same recursion
        sys.setrecursionlimit(max(sys.getrecursionlimit(), SQLGLOT_RECURSION))
        self._session_id = uuid.uuid4().hex[:12]
        self._temp_root = self.root / "temp" / self._session_id
        if session is not None:
            self._spark, self._owns_session = session, False
        else:
            self._spark, self._owns_session = _session(master, remote, conf or {})
        if not remote:
            _register_similarity_functions(self._spark)
        self._catalog: dict[str, dict[str, Any]] = self._read_catalog()
        self._temp: dict[str, dict[str, Any]] = {}
        self._arrow_views: set[str] = set()
        self._pending: dict[str, dict[str, Any]] | None = None  # catalog in a transaction
        self._sweep()
        for table in self._catalog:
            self._register(table, self._catalog[table])

    # -- catalog ---------------------------------------------------------------
    def _read_catalog(self) -> dict[str, dict[str, Any]]:
        path = self.root / CATALOG
        if not path.exists():
            return {}
        data: dict[str, dict[str, Any]] = json.loads(path.read_text())["tables"]
        return data

    def _write_catalog(self, tables: dict[str, dict[str, Any]]) -> None:
        path = self.root / CATALOG
        tmp = path.with_suffix(f".{self._session_id}.tmp")
        tmp.write_text(json.dumps({"format": 1, "tables": tables}, indent=1, sort_keys=True))
        os.replace(tmp, path)

    @property
    def _tables(self) -> dict[str, dict[str, Any]]:
        return self._pending if self._pending is not None else self._catalog

    def _sweep(self) -> None:
        """Delete parts no table names (left by a rolled-back or killed build) and the
        temporary folders of sessions that are gone."""
        named = {p for t in self._catalog.values() for p in t["parts"]}
        for part in (self.root / "parts").iterdir():
            if part.name not in named:
                shutil.rmtree(part, ignore_errors=True)
        shutil.rmtree(self.root / "temp", ignore_errors=True)

    def _register(self, name: str, entry: dict[str, Any]) -> None:
        """(Re)define the session view ``name`` over the entry's parts."""
        from pyspark.sql import types as T

        schema = T.StructType.fromJson(entry["schema"])
        base = self._temp_root if entry.get("temp") else self.root / "parts"
        paths = [str(base / p) for p in entry["parts"]]
        reader = self._spark.read.schema(schema)
        df = reader.parquet(*paths) if paths else self._spark.createDataFrame([], schema)
        df.createOrReplaceTempView(name)

    def _write_part(self, df: Any, temp: bool) -> str:
        part = uuid.uuid4().hex
        base = self._temp_root if temp else self.root / "parts"
        df.write.parquet(str(base / part))
        return part

    def _set(self, name: str, entry: dict[str, Any]) -> None:
        if entry.get("temp"):
            self._temp[name] = entry
        else:
            self._tables[name] = entry
        self._register(name, entry)

    def _entry(self, name: str) -> dict[str, Any] | None:
        return self._temp.get(name) or self._tables.get(name)

    def _forget(self, name: str) -> bool:
        found = self._temp.pop(name, None) is not None or self._tables.pop(name, None) is not None
        self._spark.catalog.dropTempView(name)
        if name in self._tables:  # a temp table hid a persistent one of the same name
            self._register(name, self._tables[name])
        return found

    # -- the port --------------------------------------------------------------
    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        import sqlglot
        from sqlglot import exp

        try:
            statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
        except sqlglot.errors.ParseError as exc:
            raise EngineError(f"Spark engine cannot parse: {exc}\n-- SQL:\n{_clip(sql)}") from exc
        for st in statements:
            if isinstance(st, exp.Create):
                self._create(st, params)
            elif isinstance(st, exp.Insert):
                self._insert(st, params)
            elif isinstance(st, exp.Drop):
                for table in st.args.get("tables") or [st.this]:
                    name = table.name
                    if str(st.args.get("kind") or "").upper() == "VIEW":
                        self.unregister(name)
                    elif not self._forget(name) and not st.args.get("exists"):
                        raise EngineError(f"Spark engine: no table {name!r} to drop")
            elif isinstance(st, exp.Select | exp.Union | exp.With):
                # run for its effect (and its errors), nothing brought to the driver
                self._df(st, params).write.format("noop").mode("overwrite").save()
            else:
                raise UnsupportedOperation(
                    f"engine 'spark' does not run {type(st).__name__} statements\n"
                    f"-- SQL:\n{_clip(st.sql(dialect='duckdb'))}"
                )

    def _df(self, query: Any, params: Sequence[Any] | None = None) -> Any:
        from sqlglot import exp

        tree = query if isinstance(query, exp.Expression) else _parse_one(query)
        text = to_spark(self._expand_stars(without_qualify(tree)))
        try:
            return self._spark.sql(text, args=list(params) if params else None)
        except Exception as exc:  # pyspark's AnalysisException and friends
            raise EngineError(
                f"Spark failed: {_first_line(exc)}\n-- SQL (Spark):\n{_clip(text)}"
            ) from exc

    def _expand_stars(self, tree: Any) -> Any:
        """``* EXCLUDE (...)`` and ``* REPLACE (...)`` (DuckDB's; Spark has neither)
        as explicit column lists: the columns a bare star stands for are read from
        Spark's analysis of the same query with only that star projected (no rows
        are computed)."""
        from sqlglot import exp

        def modified(node: Any) -> Any:
            star = node.this if isinstance(node, exp.Column) else node
            if not isinstance(star, exp.Star):
                return None
            if star.args.get("except_") or star.args.get("replace"):
                return star
            return None

        selects = [s for s in tree.find_all(exp.Select) if any(modified(e) for e in s.expressions)]
        for select in reversed(selects):  # innermost first
            projections = []
            for node in select.expressions:
                star = modified(node)
                if star is None:
                    projections.append(node)
                    continue
                table = node.args.get("table") if isinstance(node, exp.Column) else None
                probe = select.copy()
                bare = exp.Column(this=exp.Star(), table=table) if table else exp.Star()
                probe.set("expressions", [bare])
                for key in ("order", "limit"):
                    probe.set(key, None)
                root = _with_ctes(select, probe)
                names = self._spark.sql(to_spark(root)).columns
                dropped = {c.name for c in star.args.get("except_") or []}
                replaced = {a.alias: a for a in star.args.get("replace") or []}
                for name in names:
                    if name in dropped:
                        continue
                    if name in replaced:
                        projections.append(replaced[name].copy())
                    else:
                        col = exp.column(name, table=table.name if table else None, quoted=True)
                        projections.append(col)
            select.set("expressions", projections)
        return tree

    def _create(self, st: Any, params: Sequence[Any] | None) -> None:
        from sqlglot import exp

        kind = str(st.args.get("kind") or "").upper()
        props = st.args.get("properties")
        temp = bool(props and any(isinstance(p, exp.TemporaryProperty) for p in props.expressions))
        target = st.this
        if kind == "VIEW":
            name = target.name
            body = self._df(st.expression, params)
            body.createOrReplaceTempView(name)
            self._arrow_views.add(name)
            return
        if kind == "INDEX":
            # an index only speeds up DuckDB's point reads (the service's); Spark scans
            return
        if kind != "TABLE":
            raise UnsupportedOperation(f"engine 'spark' does not create {kind or 'that'}")
        if isinstance(target, exp.Schema):  # CREATE TABLE t (a INT, ...)
            name = target.this.name
            if self._entry(name) is not None and not st.args.get("replace"):
                if st.args.get("exists"):
                    return
                raise EngineError(f"Spark engine: table {name!r} exists")
            ddl = ", ".join(
                f"`{c.name}` {spark_type(c.args['kind'].sql(dialect='duckdb'))}"
                for c in target.expressions
                if isinstance(c, exp.ColumnDef)
            )
            schema = self._spark.createDataFrame([], ddl).schema
            self._set(name, {"schema": json.loads(schema.json()), "parts": [], "temp": temp})
            return
        name = target.name
        if self._entry(name) is not None and not st.args.get("replace"):
            if st.args.get("exists"):
                return
            raise EngineError(f"Spark engine: table {name!r} exists")
        df = self._df(st.expression, params)
        part = self._write_part(df, temp)
        entry = {"schema": json.loads(df.schema.json()), "parts": [part], "temp": temp}
        if name in self._temp and not temp:
            self._temp.pop(name)
        self._set(name, entry)

    def _insert(self, st: Any, params: Sequence[Any] | None) -> None:
        from sqlglot import exp

        target = st.this
        columns: list[str] | None = None
        if isinstance(target, exp.Schema):
            columns = [c.name for c in target.expressions]
            target = target.this
        name = target.name
        entry = self._entry(name)
        if entry is None:
            raise EngineError(f"Spark engine: no table {name!r} to insert into")
        if st.args.get("alternative") or st.args.get("conflict"):
            raise UnsupportedOperation(
                f"engine 'spark' does not run INSERT OR REPLACE / ON CONFLICT (into {name})"
            )
        df = self._df(st.expression, params)
        self._append_df(name, entry, df, columns)

    def _append_df(
        self, name: str, entry: dict[str, Any], df: Any, columns: list[str] | None
    ) -> None:
        """Append a DataFrame's rows to table ``name``, by position (or into the named
        ``columns``, the others NULL), cast to the table's types."""
        from pyspark.sql import functions as F
        from pyspark.sql import types as T

        schema = T.StructType.fromJson(entry["schema"])
        given = df.columns
        names = columns if columns is not None else [f.name for f in schema.fields][: len(given)]
        if len(names) != len(given):
            raise EngineError(
                f"Spark engine: {len(given)} values for {len(names)} columns of {name!r}"
            )
        by_name = dict(zip(names, given, strict=True))
        cols = [
            (F.col(f"`{by_name[f.name]}`") if f.name in by_name else F.lit(None))
            .cast(f.dataType)
            .alias(f.name)
            for f in schema.fields
        ]
        part = self._write_part(df.select(*cols), bool(entry.get("temp")))
        new = {**entry, "parts": [*entry["parts"], part]}
        self._set(name, new)

    def fetch_arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        # Spark's TIMESTAMP comes back as timestamp[us, tz=UTC] (the session zone)
        return self._df(sql, params).toArrow()

    def fetch_rows(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        # through Arrow, so that timestamps come back aware of UTC, as DuckDB's do
        table = self.fetch_arrow(sql, params)
        columns = [c.to_pylist() for c in table.columns]
        return list(zip(*columns, strict=True)) if columns else []

    def source_version(self, table: str) -> str | None:
        """The content version recorded when ``table`` was copied in (None if never)."""
        entry = self._tables.get(table)
        return None if entry is None else entry.get("source_version")

    def adopt_parquet(
        self, name: str, path: Path, columns: Sequence[tuple[str, str]], *, source_version: str
    ) -> None:
        """Make the Parquet file ``path`` (moved into the catalog) the whole content of
        table ``name``, noting the content version of the table it was copied from.
        ``columns`` (DuckDB's names and types) must be the file's."""
        part = uuid.uuid4().hex + ".parquet"
        shutil.move(str(path), self.root / "parts" / part)
        schema = self._spark.read.parquet(str(self.root / "parts" / part)).schema
        got = [f.name for f in schema.fields]
        if got != [c for c, _ in columns]:
            raise EngineError(f"Spark engine: {name} arrived with columns {got}")
        self._set(
            name,
            {
                "schema": json.loads(schema.json()),
                "parts": [part],
                "source_version": source_version,
            },
        )

    def register_arrow(self, name: str, data: pa.Table | pa.RecordBatch) -> None:
        import pyarrow as pa

        table = data if isinstance(data, pa.Table) else pa.Table.from_batches([data])
        self._spark.createDataFrame(_spark_safe(table)).createOrReplaceTempView(name)
        self._arrow_views.add(name)

    def create_temp_table(self, name: str, schema: pa.Schema) -> None:
        df = self._spark.createDataFrame(_spark_safe(schema.empty_table()))
        self._set(name, {"schema": json.loads(df.schema.json()), "parts": [], "temp": True})

    def append_arrow(self, name: str, data: pa.Table) -> None:
        entry = self._entry(name)
        if entry is None:
            raise EngineError(f"Spark engine: no table {name!r} to append to")
        df = self._spark.createDataFrame(_spark_safe(data))
        self._append_df(name, entry, df, None)

    def unregister(self, name: str) -> None:
        self._spark.catalog.dropTempView(name)
        self._arrow_views.discard(name)

    def splink_condition(self, sql: str) -> str:
        return to_spark(_parse_one(sql))

    def splink_api(self) -> Any:
        """Splink's SparkAPI on this session: its intermediate tables are session views,
        persisted (memory, then disk), not tables of the catalog. The similarity
        functions (``jaro_winkler`` ...) come from the jar Splink ships, which the
        engine's own sessions load (``spark.jars``); a session passed in must load it."""
        from splink import SparkAPI

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            return SparkAPI(  # type: ignore[no-untyped-call]
                spark_session=self._spark, break_lineage_method="persist"
            )

    def content_version(self, table: str) -> str:
        [(rows, total)] = self.fetch_rows(
            f"SELECT count(*), coalesce(sum(CAST(xxhash64(*) AS DECIMAL(38, 0))), 0) "
            f"FROM {quote(table)}"
        )
        return f"{int(rows)}:{int(total)}"

    def table_names(self) -> list[str]:
        return sorted(self._tables)

    def columns(self, table: str) -> list[tuple[str, str]]:
        from pyspark.sql import types as T

        entry = self._entry(table)
        if entry is None:
            return []
        schema = T.StructType.fromJson(entry["schema"])
        return [(f.name, duckdb_type(f.dataType)) for f in schema.fields]

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self._pending is not None:
            raise EngineError("nested transactions are not supported")
        self._pending = json.loads(json.dumps(self._catalog))
        try:
            yield
        except BaseException:
            pending, self._pending = self._pending, None
            for name in set(pending) | set(self._catalog):
                if name in self._catalog:
                    self._register(name, self._catalog[name])
                elif name not in self._temp:
                    self._spark.catalog.dropTempView(name)
            self._drop_unnamed(pending)
            raise
        else:
            pending, self._pending = self._pending, None
            self._write_catalog(pending)
            old, self._catalog = self._catalog, pending
            self._drop_unnamed(old)

    def _drop_unnamed(self, other: dict[str, dict[str, Any]]) -> None:
        """Delete the parts of ``other`` that the committed catalog does not name."""
        named = {p for t in self._catalog.values() for p in t["parts"]}
        for entry in other.values():
            for part in entry["parts"]:
                if part not in named:
                    shutil.rmtree(self.root / "parts" / part, ignore_errors=True)

    def close(self) -> None:
        shutil.rmtree(self._temp_root, ignore_errors=True)
        for name in list(self._temp) + list(self._arrow_views):
            self._spark.catalog.dropTempView(name)
        self._temp.clear()
        if self._owns_session and os.environ.get("TESSERA_SPARK_KEEP_SESSION") != "1":
            self._spark.stop()

    @property
    def session(self) -> Any:
        """The Spark session."""
        return self._spark

    def __repr__(self) -> str:
        return f"<SparkEngine {self.root}>"


def _session(master: str | None, remote: str | None, conf: dict[str, str]) -> tuple[Any, bool]:
    """(session, whether it was started here): getOrCreate returns a session this
    process already has, which the engine must then not stop when it closes."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("tessera")
    if remote:
        builder = builder.remote(remote)
    elif master:
        builder = builder.master(master)
    settings = {
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.enabled": "false",
        # adaptive execution merges the small ones where the data is small
        "spark.sql.shuffle.partitions": "64",
        # a shuffled hash join where the planner's size estimates allow one, instead of
        # sorting both sides: co-travel on district 730.6 s -> 657.6 s on local[2]
        # (its evidence join 93 s -> 51 s; docs/performance.md)
        "spark.sql.join.preferSortMergeJoin": "false",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.ui.showConsoleProgress": "false",
        # the stages' SQL was written for DuckDB, which gives NULL where ANSI Spark
        # raises (a list index out of range); division by zero: see the dialect
        "spark.sql.ansi.enabled": "false",
        # size(NULL) is NULL, as DuckDB's len(NULL) (the legacy -1 comes with ANSI off)
        "spark.sql.legacy.sizeOfNull": "false",
        # to_json keeps NULL fields, as DuckDB's json_object does
        "spark.sql.jsonGenerator.ignoreNullFields": "false",
        **conf,
    }
    if master and master.startswith("local") and "spark.driver.memory" not in conf:
        # local executors share the driver's heap (Spark's default: 1 GB, which a
        # 20,000-person co-travel stage exhausts): half the machine, as DuckDB's auto
        from tessera.engines.duckdb.engine import auto_memory_limit

        settings["spark.driver.memory"] = auto_memory_limit().replace("MB", "m")
    jar = _similarity_jar()
    if jar and not remote:
        given = settings.get("spark.jars")
        settings["spark.jars"] = f"{given},{jar}" if given else jar
    for key, value in settings.items():
        builder = builder.config(key, value)
    started = SparkSession.getActiveSession() is None
    with warnings.catch_warnings():
        # pyspark 4 warns about pandas 3 at import; Tessera hands Spark Arrow, not pandas
        warnings.simplefilter("ignore", FutureWarning)
        session = builder.getOrCreate()
    if not remote:
        session.sparkContext.setLogLevel("ERROR")
    return session, started


def _similarity_jar() -> str | None:
    """The jar of string-similarity functions that Splink's Spark comparisons call."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            from splink.backends.spark import similarity_jar_location
    except ImportError:
        return None
    path = similarity_jar_location()
    return path if Path(path).exists() else None


def _register_similarity_functions(session: Any) -> None:
    """The jar's functions (``jaro_winkler`` ...) as SQL functions of the session, so
    that queries outside Splink (the dialect's ``jaro_winkler_similarity``) find them
    too. A session without the jar keeps working without them."""
    if _similarity_jar() is None:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        from splink.internals.spark.jar_location import get_scala_udfs
    for name, cls, result in get_scala_udfs():  # type: ignore[no-untyped-call]
        try:
            session.udf.registerJavaFunction(name, cls, result)
        except Exception:  # the jar is not on this session's class path
            return


def _spark_safe(table: pa.Table) -> pa.Table:
    """Arrow types Spark reads: unsigned integers widened, timestamps in microseconds
    (UTC kept), large strings as strings."""
    import pyarrow as pa

    fields = []
    for f in table.schema:
        t = f.type
        if pa.types.is_unsigned_integer(t):
            t = pa.int64() if t.bit_width < 64 else pa.decimal128(20, 0)
        elif pa.types.is_timestamp(t) and t.unit != "us":
            t = pa.timestamp("us", tz=t.tz)
        elif pa.types.is_large_string(t):
            t = pa.string()
        elif pa.types.is_dictionary(t):
            t = t.value_type
        fields.append(pa.field(f.name, t))
    schema = pa.schema(fields)
    return table if schema.equals(table.schema) else table.cast(schema)


def _with_ctes(select: Any, probe: Any) -> Any:
    """``probe`` (a copy of ``select`` with another projection) under the common table
    expressions that ``select`` can see (those of the statements that enclose it)."""
    from sqlglot import exp

    ctes: list[Any] = []
    node = select
    while node is not None:
        with_ = node.args.get("with_") or node.args.get("with")
        if isinstance(with_, exp.With):
            ctes = [c.copy() for c in with_.expressions] + ctes
        node = node.parent
    probe.set("with_", None)
    probe.set("with", None)
    for cte in ctes:
        probe = probe.with_(cte.alias, as_=cte.this, copy=False)
    return probe


def _parse_one(sql: str) -> Any:
    import sqlglot

    try:
        return sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        raise EngineError(f"Spark engine cannot parse: {exc}\n-- SQL:\n{_clip(sql)}") from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _clip(sql: str, limit: int = 2000) -> str:
    return sql if len(sql) <= limit else sql[:limit] + f"\n-- ... ({len(sql) - limit} more chars)"
