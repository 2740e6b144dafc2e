"""The engine port: the few operations every stage needs from an engine.

Stages and the ingest compiler write SQL in one canonical dialect (DuckDB's);
an engine runs it, translating with sqlglot when its own dialect differs. All
engine-specific code lives in ``tessera/engines/<name>/``; stage modules never
import an engine library. What an engine cannot do is declared as data in
:data:`CAPABILITIES`, and :meth:`Engine.require` raises a clear error naming the
engine and the operation.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tessera.errors import EngineError, UnsupportedOperation

if TYPE_CHECKING:
    import pyarrow as pa

CANONICAL_DIALECT = "duckdb"

# makes one temporary table from a query: temp(name, sql) (see Engine.temp_tables)
TempFn = Callable[[str, str], None]

# Engine gaps as data: operation -> engine -> True, or a string saying why not.
CAPABILITIES: dict[str, dict[str, bool | str]] = {
    "ingest": {
        "duckdb": True,
        "spark": "ingest writes the embedded workspace; load with DuckDB, then export Parquet",
    },
    # Spark: a transaction commits its table changes together by replacing catalog.json
    "transactions": {"duckdb": True, "spark": True},
    "register_arrow": {"duckdb": True, "spark": True},
    "materialise": {"duckdb": True, "spark": True},
    "try_strptime": {"duckdb": True, "spark": "use to_timestamp with ANSI mode off"},
    "parquet_view": {"duckdb": True, "spark": "Spark has no exact file row numbers"},
    "splink": {"duckdb": True, "spark": True},
    "content_version": {"duckdb": True, "spark": True},
    # a stage an engine cannot run is declared here as "stage:<name>": {"spark": why};
    # a Spark build then takes its outputs from the workspace's last DuckDB build
    # (tessera.engines.spark.build). Every stage runs on both engines today.
}


class Engine(ABC):
    """A SQL engine behind Tessera's stages."""

    name: str
    dialect: str
    # True when one thread only ever uses this engine (the service's per-thread cursors):
    # code that serialises reads on a shared connection may skip its lock for it
    thread_confined: bool = False

    # -- the port -------------------------------------------------------------
    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        """Run a statement (canonical dialect) for its effect."""

    def execute_with_progress(self, sql: str, on_progress: Callable[[float], None]) -> None:
        """Run a long statement, reporting its completed fraction (0..1) while it runs.
        Engines that cannot tell just run it."""
        self.execute(sql)

    @abstractmethod
    def fetch_arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        """Run a query (canonical dialect) and return its result as Arrow."""

    @abstractmethod
    def fetch_rows(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run a query and return its rows (small results only)."""

    @abstractmethod
    def register_arrow(self, name: str, data: pa.Table | pa.RecordBatch) -> None:
        """Expose an Arrow table as a view called ``name``."""

    @abstractmethod
    def create_temp_table(self, name: str, schema: pa.Schema) -> None:
        """Create (or replace) an empty temporary table with an Arrow schema's columns."""

    @abstractmethod
    def append_arrow(self, name: str, data: pa.Table) -> None:
        """Append Arrow rows to a table, columns by position."""

    def create_parquet_view(
        self, name: str, path: Path, columns: Sequence[str], row_number: str
    ) -> None:
        """A temporary view of a Parquet file's ``columns`` plus its 1-based row number,
        scanned by the engine itself (capability ``parquet_view``)."""
        self.require("parquet_view")

    def splink_api(self) -> Any:
        """A Splink database API over this engine's own connection (capability ``splink``)."""
        self.require("splink")
        raise UnsupportedOperation(f"engine {self.name!r} declares splink but has no binding")

    def splink_condition(self, sql: str) -> str:
        """A Splink SQL condition (a blocking rule or a comparison level, canonical
        dialect, columns suffixed ``_l``/``_r`` or prefixed ``l.``/``r.``) in this
        engine's dialect."""
        return sql

    def splink_settings(self, settings: Any) -> Any:
        """Splink settings for this engine's Splink API: ``settings`` (a
        ``SettingsCreator`` or a settings dict, canonical dialect) as they are where the
        dialect is the canonical one, else a dict with every SQL condition translated
        by :meth:`splink_condition`."""
        if self.dialect == CANONICAL_DIALECT:
            return settings
        import json

        base = (
            settings
            if isinstance(settings, dict)
            else settings.create_settings_dict(CANONICAL_DIALECT)
        )
        out = json.loads(json.dumps(base))
        out["sql_dialect"] = self.dialect
        for comparison in out.get("comparisons", []):
            for level in comparison["comparison_levels"]:
                if level["sql_condition"].strip().upper() != "ELSE":
                    level["sql_condition"] = self.splink_condition(level["sql_condition"])
        for rule in out.get("blocking_rules_to_generate_predictions", []):
            rule["blocking_rule"] = self.splink_condition(rule["blocking_rule"])
            rule["sql_dialect"] = self.dialect
        return out

    def content_version(self, table: str) -> str:
        """A version of a table's content that ignores row order (capability
        ``content_version``): ``"<rows>:<sum>"``, the row count and the sum, as an exact
        integer, of a 64-bit hash of every row (all columns). Equal tables give equal
        versions in one engine version; a changed, added or removed row changes the sum
        except with probability about 2**-64. The sum (not XOR) keeps duplicate rows
        from cancelling. Build fingerprints use it for tables no stage writes and
        ingest does not load (see :mod:`tessera.stages`)."""
        self.require("content_version")
        raise UnsupportedOperation(f"engine {self.name!r} declares content_version but lacks it")

    def scratch(self) -> Engine:
        """An engine for working tables that must stay out of the workspace and out of
        its open transaction (Splink's). Engines without transactions return themselves."""
        return self

    @abstractmethod
    def unregister(self, name: str) -> None:
        """Drop a view made by :meth:`register_arrow`."""

    @abstractmethod
    def table_names(self) -> list[str]:
        """Names of the persistent tables."""

    @abstractmethod
    def columns(self, table: str) -> list[tuple[str, str]]:
        """``(name, type)`` of a table's columns, in order."""

    @abstractmethod
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All statements inside commit together or not at all."""

    @abstractmethod
    def close(self) -> None:
        """Release the engine's resources."""

    # -- shared orchestration ---------------------------------------------------
    def supports(self, operation: str) -> bool:
        return CAPABILITIES.get(operation, {}).get(self.name) is True

    def require(self, operation: str) -> None:
        """Raise :class:`UnsupportedOperation` if this engine cannot do ``operation``."""
        status = CAPABILITIES.get(operation, {}).get(self.name, "not declared")
        if status is not True:
            raise UnsupportedOperation(
                f"engine {self.name!r} does not support {operation!r}: {status}"
            )

    def translate(self, sql: str) -> str:
        """Translate canonical SQL to this engine's dialect (identity for DuckDB)."""
        if self.dialect == CANONICAL_DIALECT:
            return sql
        import sqlglot

        return ";\n".join(
            sqlglot.transpile(sql, read=CANONICAL_DIALECT, write=self.dialect, pretty=False)
        )

    def materialise(self, name: str, sql: str, columns: str | None = None) -> int:
        """Create or replace table ``name`` from a query; return its row count.

        ``columns``, a column DDL (``"a VARCHAR, n INTEGER"``, names without commas in
        their types), fixes the table's layout: the table is created with it and the
        query's columns of those names are inserted, cast to the declared types, so a
        stage cannot drift from its table contract.
        """
        self.require("materialise")
        if columns is None:
            self.execute(f"CREATE OR REPLACE TABLE {quote(name)} AS {sql}")
        else:
            names = ", ".join(quote(part.split()[0]) for part in columns.split(","))
            self.execute(f"CREATE OR REPLACE TABLE {quote(name)} ({columns})")
            self.execute(f"INSERT INTO {quote(name)} SELECT {names} FROM ({sql}) AS q")
        rows = self.fetch_rows(f"SELECT count(*) FROM {quote(name)}")
        return int(rows[0][0])

    def temp_table(self, name: str, sql: str) -> None:
        """Create or replace the temporary (session-only) table ``name`` from a query."""
        self.execute(f"CREATE OR REPLACE TEMP TABLE {quote(name)} AS {sql}")

    @contextmanager
    def temp_tables(self) -> Iterator[TempFn]:
        """Yield a function ``temp(name, sql)`` that makes temporary tables like
        :meth:`temp_table`; every table it made is dropped when the block ends."""
        made: list[str] = []

        def temp(name: str, sql: str) -> None:
            self.temp_table(name, sql)
            made.append(name)

        try:
            yield temp
        except BaseException:
            # the block failed: its error is the one to see. A failed statement
            # aborts DuckDB's transaction and every later statement fails with
            # "transaction is aborted" (the rollback removes the tables then), so a
            # drop that fails here must not replace it (the city build reported a
            # full disk that way)
            for name in reversed(dict.fromkeys(made)):
                with suppress(EngineError):
                    self.execute(f"DROP TABLE IF EXISTS {quote(name)}")
            raise
        for name in reversed(dict.fromkeys(made)):
            self.execute(f"DROP TABLE IF EXISTS {quote(name)}")

    def row_count(self, table: str) -> int:
        return int(self.fetch_rows(f"SELECT count(*) FROM {quote(table)}")[0][0])

    def memory_bytes(self) -> int | None:
        """The memory one statement's working tables must fit in, in bytes, for stages
        that split their work into batches to stay within it; None where the engine
        spills every operator to disk on its own, so that a batch saves no memory and
        each extra statement only costs time (Spark: a job and a Parquet write)."""
        return None

    def spill_free_bytes(self) -> int | None:
        """The free space where the engine spills what exceeds its memory, in bytes; None
        where the engine does not say (then stages plan by memory alone)."""
        return None


def memory_batches(
    engine: Engine, size: Callable[[], int], per_gib: float, *, spill_share: float = 0.0
) -> int:
    """How many batches work of ``size()`` (rows, bytes: any unit of which ``per_gib``
    fit in a GiB) is split into so that each fits the engine's memory (at least a GiB)
    plus ``spill_share`` of the free space it spills to; one, without calling ``size``,
    where the engine spills every operator itself (:meth:`Engine.memory_bytes` None)."""
    memory = engine.memory_bytes()
    if memory is None:
        return 1
    room = max(memory, 2**30) + spill_share * (engine.spill_free_bytes() or 0)
    return max(1, math.ceil(size() * 2**30 / (per_gib * room)))


def quote(identifier: str) -> str:
    """Quote an SQL identifier (double quotes, embedded quotes doubled)."""
    return '"' + identifier.replace('"', '""') + '"'


def literal(value: str) -> str:
    """An SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def exact_sum(term: str, over: str | None = None) -> str:
    """``sum(term)`` of a DOUBLE term (a window sum ``OVER (over)`` if given) that is the
    same whatever order the engine adds in, so that a score, and a ranking made from
    it, does not change with the threads between runs or between engines. Each term is
    cut at 10^-9 below (its floor and the floor of its fraction in units of 10^-9, both
    exact in IEEE arithmetic on every engine) and the two parts are added as BIGINTs,
    whose sums are exact in any order. The cut truncates: a sum of n terms is up to
    n * 10^-9 below the true one (on `district`'s 8.18 M co-travel baselines, at most
    9.1e-8 below the rounded DECIMAL sum this replaced). Terms must stay below 10^9 in
    magnitude, and there must be fewer than 9 * 10^9 of them.

    Two integer sums rather than one DECIMAL(18, 9) sum: Spark sums a DECIMAL into a
    DECIMAL(28, 9), which it computes with Java's BigDecimal; on `district`, co-travel's
    vehicle-device baseline took 139.6 s in the stage on Spark local[2] that way and
    60.5 s this way (DuckDB: 17 s either way, the statement alone)."""
    window = f" OVER ({over})" if over else ""
    whole = f"floor({term})"
    nanos = f"floor(({term} - {whole}) * 1e9)"
    return (
        f"(CAST(sum(CAST({whole} AS BIGINT)){window} AS DOUBLE) + "
        f"CAST(sum(CAST({nanos} AS BIGINT)){window} AS DOUBLE) / 1e9)"
    )
