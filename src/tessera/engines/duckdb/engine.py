"""DuckDB implementation of the engine port."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tessera.engines.base import Engine, literal, quote
from tessera.errors import EngineError, WorkspaceError

if TYPE_CHECKING:
    import pyarrow as pa


class DuckDBEngine(Engine):
    """An engine over one DuckDB database file (or in memory when ``path`` is None)."""

    name = "duckdb"
    dialect = "duckdb"

    def __init__(
        self,
        path: Path | None,
        *,
        read_only: bool = False,
        memory_limit: str | None = None,
        threads: int | None = None,
        temp_directory: Path | None = None,
    ) -> None:
        import duckdb

        config: dict[str, Any] = {}
        if memory_limit == "auto":
            memory_limit = auto_memory_limit()
        if memory_limit:
            config["memory_limit"] = memory_limit
        if threads:
            config["threads"] = threads
        if temp_directory is not None:
            config["temp_directory"] = str(temp_directory)
        self.path = path
        try:
            self._con = duckdb.connect(
                str(path) if path is not None else ":memory:", read_only=read_only, config=config
            )
        except duckdb.IOException as exc:
            text = str(exc)
            if "lock" in text.lower():
                raise WorkspaceError(
                    f"the database {path} is in use by another process; wait for it to "
                    f"finish or stop it ({text.splitlines()[0]})"
                ) from None
            raise WorkspaceError(f"cannot open database {path}: {text}") from None
        except duckdb.Error as exc:
            raise WorkspaceError(f"cannot open database {path}: {exc}") from None
        self._con.execute("SET TimeZone = 'UTC'")
        # Progress is tracked (execute_with_progress reads it) but never printed:
        # Tessera draws its own bars.
        self._con.execute("SET enable_progress_bar = true")
        self._con.execute("SET enable_progress_bar_print = false")
        self._in_transaction = False

    @property
    def connection(self) -> Any:
        """The raw DuckDB connection, for libraries (Splink) that take one."""
        return self._con

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        import duckdb

        try:
            self._con.execute(sql, params)
        except duckdb.Error as exc:
            raise EngineError(f"DuckDB failed: {exc}\n-- SQL:\n{_clip(sql)}") from exc

    def execute_with_progress(self, sql: str, on_progress: Callable[[float], None]) -> None:
        import threading

        done = threading.Event()

        def poll() -> None:
            while not done.wait(0.25):
                fraction = self._con.query_progress()
                if fraction >= 0:
                    on_progress(min(fraction, 100.0) / 100.0)

        watcher = threading.Thread(target=poll, name="tessera-progress", daemon=True)
        watcher.start()
        try:
            self.execute(sql)
        finally:
            done.set()
            watcher.join()

    def fetch_arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        import duckdb

        try:
            return self._con.sql(sql, params=params).to_arrow_table()
        except duckdb.Error as exc:
            raise EngineError(f"DuckDB failed: {exc}\n-- SQL:\n{_clip(sql)}") from exc

    def fetch_rows(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        import duckdb

        try:
            return list(self._con.execute(sql, params).fetchall())
        except duckdb.Error as exc:
            raise EngineError(f"DuckDB failed: {exc}\n-- SQL:\n{_clip(sql)}") from exc

    def register_arrow(self, name: str, data: pa.Table | pa.RecordBatch) -> None:
        self._con.register(name, data)

    # Both methods below pass Arrow data through DuckDB's replacement scan (a local
    # variable named in the SQL) rather than register(): a view registered inside a
    # transaction keeps its Arrow data alive until the commit, and
    # from_arrow().insert_into() loses rows beyond one row group inside a transaction
    # (DuckDB 2.0; tests/test_engine_and_stages.py checks both).
    # DuckDB resolves the name from the locals of the frame that calls execute(), so
    # these two call the connection directly.
    def create_temp_table(self, name: str, schema: pa.Schema) -> None:
        # Explicit DDL from DuckDB's reading of the schema: a CREATE TABLE AS SELECT
        # followed by inserts in the same transaction loses the inserted rows (DuckDB 2.0).
        import duckdb

        tessera_arrow_rows = schema.empty_table()  # noqa: F841 - read by the SQL below
        try:
            cols = self._con.execute("DESCRIBE SELECT * FROM tessera_arrow_rows").fetchall()
        except duckdb.Error as exc:
            raise EngineError(f"DuckDB cannot read the Arrow schema for {name}: {exc}") from exc
        ddl = ", ".join(f"{quote(c[0])} {c[1]}" for c in cols)
        self.execute(f"CREATE OR REPLACE TEMP TABLE {quote(name)} ({ddl})")

    def append_arrow(self, name: str, data: pa.Table) -> None:
        import duckdb

        tessera_arrow_rows = data  # noqa: F841 - read by the SQL below
        sql = f"INSERT INTO {quote(name)} SELECT * FROM tessera_arrow_rows"
        try:
            self._con.execute(sql)
        except duckdb.Error as exc:
            raise EngineError(f"DuckDB failed appending to {name}: {exc}") from exc

    def create_parquet_view(
        self, name: str, path: Path, columns: Sequence[str], row_number: str
    ) -> None:
        cols = ", ".join(quote(c) for c in columns)
        self.execute(
            f"CREATE OR REPLACE TEMP VIEW {quote(name)} AS SELECT {cols}, "
            f"file_row_number + 1 AS {quote(row_number)} "
            f"FROM read_parquet({literal(str(path))}, file_row_number = true)"
        )

    def unregister(self, name: str) -> None:
        self._con.unregister(name)

    def splink_api(self) -> Any:
        from splink import DuckDBAPI

        return DuckDBAPI(connection=self._con)

    def scratch(self) -> DuckDBEngine:
        # Splink probes for tables by catching errors, which aborts an open DuckDB
        # transaction: its work runs on a separate in-memory database instead
        # spilling where the workspace spills (an in-memory database would spill to
        # the current directory)
        return DuckDBEngine(
            None,
            memory_limit=self._setting("memory_limit"),
            threads=self._threads(),
            temp_directory=Path(self._setting("temp_directory")),
        )

    def content_version(self, table: str) -> str:
        # hash(t) of a row alias hashes the whole row (a struct of every column); the
        # sum of UBIGINT hashes is a HUGEINT, so it cannot overflow
        [(rows, total)] = self.fetch_rows(
            f"SELECT count(*), coalesce(sum(hash(t)), 0) FROM {quote(table)} AS t"
        )
        return f"{int(rows)}:{int(total)}"

    def memory_bytes(self) -> int | None:
        # DuckDB's hash tables and joins spill, but not every operator does, and a
        # transaction's temporary tables count too: stages batch to its memory_limit
        return parse_size(self._setting("memory_limit"))

    def spill_free_bytes(self) -> int | None:
        # the temporary directory may not exist until DuckDB first spills: measure the
        # nearest folder that does
        folder = Path(self._setting("temp_directory") or ".").absolute()
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        return shutil.disk_usage(folder).free

    def _setting(self, name: str) -> str:
        return str(self.fetch_rows(f"SELECT current_setting('{name}')")[0][0])

    def _threads(self) -> int:
        return int(self._setting("threads"))

    def table_names(self) -> list[str]:
        rows = self.fetch_rows(
            "SELECT table_name FROM duckdb_tables() WHERE NOT temporary "
            "AND schema_name = 'main' ORDER BY table_name"
        )
        return [r[0] for r in rows]

    def columns(self, table: str) -> list[tuple[str, str]]:
        rows = self.fetch_rows(
            "SELECT column_name, data_type FROM duckdb_columns() "
            "WHERE table_name = ? ORDER BY column_index",
            [table],
        )
        return [(r[0], r[1]) for r in rows]

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self._in_transaction:
            raise EngineError("nested transactions are not supported")
        self._con.execute("BEGIN TRANSACTION")
        self._in_transaction = True
        try:
            yield
        except BaseException:
            self._con.execute("ROLLBACK")
            raise
        else:
            self._con.execute("COMMIT")
        finally:
            self._in_transaction = False

    def close(self) -> None:
        self._con.close()

    def __repr__(self) -> str:
        return f"<DuckDBEngine {self.path or ':memory:'}>"


def _clip(sql: str, limit: int = 2000) -> str:
    return sql if len(sql) <= limit else sql[:limit] + f"\n-- ... ({len(sql) - limit} more chars)"


__all__ = ["DuckDBEngine", "quote"]


AUTO_MEMORY_SHARE = 0.5  # of the machine's (or the container's) memory
AUTO_MEMORY_FLOOR_MB = 1024


_UNITS = {
    "": 1,
    "B": 1,
    "BYTES": 1,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "TB": 1000**4,
    "KIB": 2**10,
    "MIB": 2**20,
    "GIB": 2**30,
    "TIB": 2**40,
    "PIB": 2**50,
}


def parse_size(text: str) -> int:
    """Bytes of a DuckDB size setting as DuckDB prints it (``953.6 MiB``, ``11.1 GiB``)
    or as a user writes it (``4GB``)."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*", text)
    unit = match.group(2).upper() if match else ""
    if match is None or unit not in _UNITS:
        raise EngineError(f"cannot read the size {text!r} (a number and a unit such as GiB)")
    return int(float(match.group(1)) * _UNITS[unit])


def auto_memory_limit() -> str:
    """DuckDB's ``memory_limit`` for the setting ``auto``: half of the physical memory,
    or of the cgroup (container) limit when that is lower, at least 1 GB. Half leaves
    room for the numeric kernels and Python objects that stages build beside DuckDB,
    which its own default (80 %) does not."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    try:
        text = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if text.isdigit():
            total = min(total, int(text))
    except OSError:
        pass
    mb = max(AUTO_MEMORY_FLOOR_MB, int(total * AUTO_MEMORY_SHARE) // 2**20)
    return f"{mb}MB"
