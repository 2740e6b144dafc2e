"""A workspace is a folder::

    WS/
      tessera.yaml      configuration (format version, engine settings)
      tessera.duckdb    the database: source tables, batches, quarantine, stage outputs
      tmp/              DuckDB's spill directory for larger-than-memory work

Opening a workspace brings its tables in line with the declared data model
(missing tables and columns are added; a changed column type is an error).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tessera.audit.log import AUDIT_COLUMNS
from tessera.engines import open_engine, quote
from tessera.errors import WorkspaceError

if TYPE_CHECKING:
    from tessera.engines.duckdb.engine import DuckDBEngine
    from tessera.ingest.loader import BatchResult, Progress
    from tessera.ingest.mapping import Mapping
    from tessera.stages import StageResult

CONFIG_NAME = "tessera.yaml"
DB_NAME = "tessera.duckdb"
FORMAT_VERSION = 1

# Bookkeeping tables: name -> column DDL.
SYSTEM_TABLES: dict[str, str] = {
    # every read of a dossier or search: who, for which case, on which legal basis
    # (hash-chained; see tessera.audit)
    "audit_log": AUDIT_COLUMNS,
    "tessera_meta": "key VARCHAR PRIMARY KEY, value VARCHAR",
    "ingest_batch": (
        "batch_id INTEGER PRIMARY KEY, source VARCHAR, kind VARCHAR, file VARCHAR, "
        "file_sha256 VARCHAR, file_bytes BIGINT, mapping_sha256 VARCHAR, "
        "rows_read BIGINT, rows_loaded BIGINT, rows_added BIGINT, rows_quarantined BIGINT, "
        "started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ, duration_s DOUBLE, "
        "tessera_version VARCHAR"
    ),
    "quarantine": (
        "batch_id INTEGER, source VARCHAR, kind VARCHAR, file VARCHAR, file_sha256 VARCHAR, "
        "row_no BIGINT, source_column VARCHAR, property VARCHAR, reason VARCHAR, raw VARCHAR"
    ),
    # one row per stage run that wrote its tables; fingerprint and versions (JSON of
    # what the fingerprint hashes) let a build skip stages that are up to date
    "stage_run": (
        "stage VARCHAR, started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ, duration_s DOUBLE, "
        "outputs VARCHAR, fingerprint VARCHAR, versions VARCHAR"
    ),
    # entity resolution: the estimated model per kind and the term frequencies it saw
    # (kept across builds so that incremental runs score like full ones), and analyst
    # judgements, which no build ever drops
    "resolution_model": (
        "kind VARCHAR PRIMARY KEY, model_id VARCHAR, settings VARCHAR, "
        "trained_at TIMESTAMPTZ, records BIGINT"
    ),
    "resolution_tf": "kind VARCHAR, column_name VARCHAR, value VARCHAR, tf DOUBLE",
    "resolution_judgement": (
        "judgement_id INTEGER PRIMARY KEY, kind VARCHAR, record_a BIGINT, record_b BIGINT, "
        "verdict VARCHAR, user_name VARCHAR, reason VARCHAR, created_at TIMESTAMPTZ"
    ),
    # analyst judgements on link hypotheses (tessera.link.judgements), honoured by builds
    "link_judgement": (
        "judgement_id INTEGER PRIMARY KEY, hypothesis VARCHAR, kind VARCHAR, a VARCHAR, "
        "b VARCHAR, verdict VARCHAR, reason VARCHAR, note VARCHAR, user_name VARCHAR, "
        "case_ref VARCHAR, created_at TIMESTAMPTZ"
    ),
    # accounts, API tokens and sessions (tessera.accounts): secrets stored as hashes only
    "account_user": (
        "name VARCHAR, role VARCHAR, display_name VARCHAR, password_hash VARCHAR, "
        "created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ, disabled BOOLEAN"
    ),
    "account_token": (
        "token_id VARCHAR, user_name VARCHAR, label VARCHAR, token_sha256 VARCHAR, "
        "created_at TIMESTAMPTZ, created_by VARCHAR, expires_at TIMESTAMPTZ, "
        "revoked_at TIMESTAMPTZ, revoked_by VARCHAR"
    ),
    "account_session": (
        "session_sha256 VARCHAR, user_name VARCHAR, csrf VARCHAR, created_at TIMESTAMPTZ, "
        "expires_at TIMESTAMPTZ, closed_at TIMESTAMPTZ"
    ),
    # cases (tessera.cases): legal basis, scope, expiry, approval, members
    "case_file": (
        "ref VARCHAR, title VARCHAR, legal_basis VARCHAR, subjects VARCHAR, "
        "area_lat DOUBLE, area_lon DOUBLE, area_radius_m DOUBLE, since TIMESTAMPTZ, "
        "until TIMESTAMPTZ, opened_by VARCHAR, opened_at TIMESTAMPTZ, expires_at TIMESTAMPTZ, "
        "status VARCHAR, approved_by VARCHAR, approved_at TIMESTAMPTZ, closed_by VARCHAR, "
        "closed_at TIMESTAMPTZ"
    ),
    "case_member": "ref VARCHAR, user_name VARCHAR, added_by VARCHAR, added_at TIMESTAMPTZ",
}


class DuckDBSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    memory_limit: str = Field(
        default="auto",
        description="DuckDB memory_limit (spills beyond); auto: half of the machine's memory.",
    )
    threads: int | None = Field(default=None, ge=1, description="Worker threads; default all.")


class WorkspaceConfig(BaseModel):
    """Contents of ``tessera.yaml``."""

    model_config = ConfigDict(extra="forbid")

    tessera_workspace: int = FORMAT_VERSION
    created_at: str
    engine: str = "duckdb"
    timezone: str | None = Field(
        default=None,
        description=(
            "IANA zone in which routines are read (hours of the day, weekdays); unset: the "
            "zone of the first mapping ingested that names one, else UTC."
        ),
    )
    duckdb: DuckDBSettings = Field(default_factory=DuckDBSettings)
    retention: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Source kind -> how long its observations are kept, e.g. {device_event: 90d, "
            "plate_read: 30d}; `tessera purge` deletes older ones (see tessera.retention)."
        ),
    )


class Workspace:
    """An open workspace. Use :meth:`init` or :meth:`open`; close it (or use ``with``)."""

    def __init__(self, path: Path, config: WorkspaceConfig, *, read_only: bool = False) -> None:
        self.path = path
        self.config = config
        self.read_only = read_only
        self._engine: DuckDBEngine | None = None

    # -- lifecycle --------------------------------------------------------------
    @classmethod
    def init(
        cls, path: str | Path, *, exist_ok: bool = False, timezone: str | None = None
    ) -> Workspace:
        """Create a workspace folder with an empty database and return it open.

        ``timezone`` (an IANA name) is the zone routines are read in; see
        :attr:`WorkspaceConfig.timezone`."""
        path = Path(path)
        cfg_path = path / CONFIG_NAME
        if cfg_path.exists():
            if exist_ok:
                return cls.open(path)
            raise WorkspaceError(f"{path} already is a workspace; open it instead")
        if path.exists() and any(path.iterdir()):
            raise WorkspaceError(
                f"{path} exists and is not empty; choose a new folder for the workspace"
            )
        if timezone is not None:
            _check_zone(timezone)
        path.mkdir(parents=True, exist_ok=True)
        config = WorkspaceConfig(created_at=_now().isoformat(), timezone=timezone)
        ws = cls(path, config)
        ws.engine  # creates the database and its tables  # noqa: B018
        _write_atomic(cfg_path, _dump_yaml(config.model_dump()))
        return ws

    @classmethod
    def open(cls, path: str | Path, *, read_only: bool = False) -> Workspace:
        """Open an existing workspace."""
        import yaml

        path = Path(path)
        cfg_path = path / CONFIG_NAME
        if not cfg_path.exists():
            raise WorkspaceError(
                f"{path} is not a Tessera workspace (no {CONFIG_NAME}); "
                f"create one with `tessera init {path}`"
            )
        try:
            raw = yaml.safe_load(cfg_path.read_text("utf-8"))
            config = WorkspaceConfig.model_validate(raw)
        except (yaml.YAMLError, ValidationError) as exc:
            raise WorkspaceError(f"{cfg_path} is invalid: {exc}") from None
        if config.tessera_workspace > FORMAT_VERSION:
            raise WorkspaceError(
                f"{path} has workspace format {config.tessera_workspace}; this Tessera "
                f"reads up to {FORMAT_VERSION}: upgrade Tessera"
            )
        if not (path / DB_NAME).exists():
            raise WorkspaceError(f"{path} has no database {DB_NAME}; the workspace is incomplete")
        ws = cls(path, config, read_only=read_only)
        ws.engine  # noqa: B018
        return ws

    @property
    def engine(self) -> DuckDBEngine:
        if self._engine is None:
            from tessera.engines.duckdb.engine import DuckDBEngine

            tmp = self.path / "tmp"
            tmp.mkdir(exist_ok=True)
            engine = open_engine(
                "duckdb",
                path=self.path / DB_NAME,
                read_only=self.read_only,
                memory_limit=self.config.duckdb.memory_limit,
                threads=self.config.duckdb.threads,
                temp_directory=tmp,
            )
            if not isinstance(engine, DuckDBEngine):  # pragma: no cover - by construction
                raise WorkspaceError("the workspace database needs the DuckDB engine")
            self._engine = engine
            if not self.read_only:
                self._ensure_schema()
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Workspace {self.path}>"

    # -- schema -------------------------------------------------------------------
    def _ensure_schema(self) -> None:
        from tessera import __version__
        from tessera.model import get_model, source_columns

        engine = self.engine
        existing = set(engine.table_names())
        with engine.transaction():
            for name, ddl in SYSTEM_TABLES.items():
                if name not in existing:
                    engine.execute(f"CREATE TABLE {quote(name)} ({ddl})")
                    continue
                # a workspace made by an earlier version: add the columns it lacks
                engine.execute(f"CREATE TEMP TABLE _tessera_ddl ({ddl})")
                try:
                    names = {c for c, _ in engine.columns(name)}
                    for col, sql_type in engine.columns("_tessera_ddl"):
                        if col not in names:
                            engine.execute(
                                f"ALTER TABLE {quote(name)} ADD COLUMN {quote(col)} {sql_type}"
                            )
                finally:
                    engine.execute("DROP TABLE _tessera_ddl")
            for kind in get_model().sources.values():
                cols = source_columns(kind)
                if kind.table not in existing:
                    body = ", ".join(f"{quote(c)} {t}" for c, t in cols)
                    engine.execute(f"CREATE TABLE {quote(kind.table)} ({body})")
                    continue
                have = dict(engine.columns(kind.table))
                for col, sql_type in cols:
                    if col not in have:
                        engine.execute(
                            f"ALTER TABLE {quote(kind.table)} ADD COLUMN {quote(col)} {sql_type}"
                        )
                    elif have[col].split("(")[0] != sql_type.split("(")[0] and not (
                        sql_type == "TIMESTAMPTZ" and have[col] == "TIMESTAMP WITH TIME ZONE"
                    ):
                        raise WorkspaceError(
                            f"table {kind.table}.{col} is {have[col]} but the model says "
                            f"{sql_type}; this workspace was made by an incompatible version"
                        )
            engine.execute(
                "INSERT OR REPLACE INTO tessera_meta VALUES ('format', ?), ('tessera_version', ?)",
                [str(FORMAT_VERSION), __version__],
            )
            if self.config.timezone:
                engine.execute(
                    "INSERT OR REPLACE INTO tessera_meta VALUES ('timezone', ?)",
                    [self.config.timezone],
                )

    # -- operations -------------------------------------------------------------
    def ingest(
        self,
        mapping: Mapping | str | Path,
        files: Sequence[str | Path] = (),
        *,
        kind: str | None = None,
        progress: Progress | None = None,
        on_file: Callable[[Path], None] | None = None,
    ) -> list[BatchResult]:
        """Load files through a mapping; one atomic batch per file."""
        from tessera.ingest.loader import ingest_files

        return ingest_files(self, mapping, files, kind=kind, progress=progress, on_file=on_file)

    def build(
        self, progress: Callable[[str, int, int], None] | None = None, *, force: bool = False
    ) -> list[StageResult]:
        """Run every registered stage in dependency order; stages whose inputs, code and
        settings did not change since their last run are skipped unless ``force``
        (see :func:`tessera.stages.run_stages`)."""
        from tessera.stages import run_stages

        return run_stages(self.engine, progress=progress, force=force)

    def status(self) -> dict[str, Any]:
        """Tables with row counts, ingest batches and the quarantine total."""
        engine = self.engine
        tables = {t: engine.row_count(t) for t in engine.table_names() if t != "tessera_meta"}
        batches = [
            {
                "batch_id": r[0],
                "source": r[1],
                "kind": r[2],
                "file": r[3],
                "read": r[4],
                "loaded": r[5],
                "added": r[6],
                "quarantined": r[7],
                "duration_s": r[8],
            }
            for r in engine.fetch_rows(
                "SELECT batch_id, source, kind, file, rows_read, rows_loaded, rows_added, "
                "rows_quarantined, duration_s FROM ingest_batch ORDER BY batch_id"
            )
        ]
        return {"tables": tables, "batches": batches, "quarantined": tables.get("quarantine", 0)}


def _check_zone(name: str) -> None:
    from tessera.errors import MappingError
    from tessera.types.temporal import zone_info

    try:
        zone_info(name)
    except MappingError as exc:
        raise WorkspaceError(str(exc)) from None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _dump_yaml(data: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(data, sort_keys=False)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
