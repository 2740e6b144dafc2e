"""The stage framework: named steps that read tables and write tables.

A :class:`Stage` declares the tables it reads and the tables it writes, and a
``run`` function that receives the engine and returns the row count of each
table it materialised. :func:`plan` orders stages so that every table is
written before it is read, and rejects cycles, duplicate writers and reads of
tables nobody writes (source tables are written by ingest). Stages never import
an engine library: they speak SQL through the :class:`~tessera.engines.Engine`
port, so the same stage runs on every engine.

:func:`run_stages` is incremental at the grain of a stage. Each run records a
*fingerprint* in ``stage_run``: the SHA-256 of a JSON object of versions,

- ``stage``: the stage's name;
- ``code``: :func:`code_version`, a hash of every file of the ``tessera`` package
  (Python sources and package data such as ``model/schema.yaml``) and of the
  installed versions of the libraries stages compute with, made once per process;
- ``config``: the content version of ``tessera_meta``, the workspace settings stages
  read (the local time zone, from ``tessera.yaml`` or the first mapping that names
  one; the format and Tessera versions);
- one entry per declared input: for a source table (loaded by ingest), its row count
  and the ``(batch_id, rows_added)`` of every ingest batch of that kind that added
  rows; for a table another stage writes, that stage's fingerprint in this build;
  for any other table, its content version (:meth:`Engine.content_version`: row
  count and an order-independent hash of every row);
- one entry per *state* table (:attr:`Stage.state`: stored models, analyst
  judgements), by content version.

A stage whose latest recorded run has the fingerprint it would have now, and whose
outputs all exist, is skipped. A stage that updates its own state tables (the
resolution stage stores the model it trains) records the fingerprint computed after
its run, so that the next build finds it up to date. Each stage commits on its own,
so an interrupted build resumes at the first stage it did not finish.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tessera.engines.base import Engine, quote
from tessera.errors import StageError

RUNS = "stage_run"
# columns run_stages needs in stage_run beyond the original five (workspaces made
# before fingerprints get them added on the next build)
RUN_COLUMNS: tuple[tuple[str, str], ...] = (("fingerprint", "VARCHAR"), ("versions", "VARCHAR"))
CONFIG_TABLE = "tessera_meta"
BATCHES = "ingest_batch"
# libraries whose version can change a stage's result; their versions are part of
# the code version (read from installed metadata, nothing is imported)
LIBRARIES = ("duckdb", "splink", "igraph", "numpy", "numba", "pyarrow", "sqlglot")


@dataclass(frozen=True)
class Stage:
    """One pipeline step: ``run(engine)`` writes ``outputs`` from ``inputs``.

    ``state`` names tables the stage also reads that no stage writes and ingest does
    not load: state kept across builds, such as stored models and analyst judgements.
    They take no part in ordering; their content is part of the stage's fingerprint
    (see the module docstring), so changing them makes the stage run again.
    """

    name: str
    description: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    run: Callable[[Engine], Mapping[str, int]]
    state: tuple[str, ...] = ()


@dataclass(frozen=True)
class StageResult:
    """What :func:`run_stages` did with one stage.

    ``skipped``: the stage was up to date; ``outputs`` are then the row counts its
    last run recorded and ``duration_s`` is 0. ``reason`` says why it ran (``"first
    run"``, ``"forced"``, ``"changed: obs_device_event"``, ``"outputs missing: …"``)
    or ``"up to date"``; ``fingerprint`` is the one recorded (see the module docstring).
    """

    stage: str
    outputs: dict[str, int]
    duration_s: float
    skipped: bool = False
    reason: str = ""
    fingerprint: str = ""


def registered_stages() -> list[Stage]:
    """Every stage Tessera has, in declaration order (see :func:`plan` for run order)."""
    from tessera.dossier import STAGE as dossiers
    from tessera.exposure import STAGE as exposure
    from tessera.life import STAGES as life
    from tessera.link import STAGES as linking
    from tessera.network import STAGES as network
    from tessera.resolve import STAGE as resolution
    from tessera.stages.identifiers import STAGE as identifiers

    return [identifiers, resolution, *linking, *life, *network, exposure, dossiers]


def source_tables() -> set[str]:
    from tessera.model import get_model

    return {k.table for k in get_model().sources.values()}


def plan(stages: Iterable[Stage], available: Iterable[str] = ()) -> list[Stage]:
    """Order ``stages`` so each runs after the writers of its inputs (stable, Kahn's order)."""
    stages = list(stages)
    have = set(available) | source_tables()
    writer: dict[str, str] = {}
    for st in stages:
        for out in st.outputs:
            if out in writer:
                raise StageError(
                    f"table {out!r} is written by both {writer[out]!r} and {st.name!r}"
                )
            if out in have:
                raise StageError(f"stage {st.name!r} writes {out!r}, which ingest owns")
            writer[out] = st.name
    for st in stages:
        for inp in st.inputs:
            if inp not in writer and inp not in have:
                raise StageError(
                    f"stage {st.name!r} reads {inp!r}, "
                    "which no stage writes and ingest does not load"
                )
    by_name = {st.name: st for st in stages}
    deps = {st.name: {writer[i] for i in st.inputs if i in writer} - {st.name} for st in stages}
    ordered: list[Stage] = []
    done: set[str] = set()
    while len(ordered) < len(stages):
        ready = [n for n in by_name if n not in done and deps[n] <= done]
        if not ready:
            cycle = sorted(n for n in by_name if n not in done)
            raise StageError(f"stages depend on each other in a cycle: {', '.join(cycle)}")
        for n in ready:
            ordered.append(by_name[n])
            done.add(n)
    return ordered


# parts of the package no stage runs (a test builds a workspace and checks that none of
# them was imported): editing them (the web UI, the CLI, accounts, the simulator, the
# evaluation) must not rerun a district build
NOT_STAGE_CODE: tuple[str, ...] = (
    "accounts",
    "cases",
    "cli",
    "cli_options.py",
    "evaluate",
    "retention",
    "service",
    "simulate",
)


def code_version() -> str:
    """A hash of the code stages run: every file of the ``tessera`` package (relative
    path and bytes, in path order; compiled caches and the parts in
    :data:`NOT_STAGE_CODE` excluded) plus the installed versions of :data:`LIBRARIES`.
    Computed once per process (cached)."""
    return _code_version()


@functools.cache
def _code_version() -> str:
    from importlib import metadata

    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts or path.suffix == ".pyc":
            continue
        if path.relative_to(root).parts[0] in NOT_STAGE_CODE:
            continue
        h.update(path.relative_to(root).as_posix().encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    for lib in LIBRARIES:
        try:
            version = metadata.version(lib)
        except metadata.PackageNotFoundError:
            version = "absent"
        h.update(f"{lib}=={version}\0".encode())
    return h.hexdigest()


def _digest(versions: Mapping[str, str]) -> str:
    text = json.dumps(dict(versions), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _content(engine: Engine, table: str, tables: set[str]) -> str:
    return f"content {engine.content_version(table)}" if table in tables else "absent"


def _source_versions(engine: Engine, tables: set[str]) -> dict[str, str]:
    """Source table -> version: its row count and the ``(batch_id, rows_added)`` of
    every ingest batch of its kind that added rows (a batch that added nothing left
    the table as it was). Without a batch table, the content version."""
    from tessera.model import get_model

    table_of = {name: kind.table for name, kind in get_model().sources.items()}
    if BATCHES not in tables:
        return {t: _content(engine, t, tables) for t in table_of.values()}
    batches: dict[str, list[str]] = {t: [] for t in table_of.values()}
    for kind, batch_id, added in engine.fetch_rows(
        f"SELECT kind, batch_id, rows_added FROM {BATCHES} WHERE rows_added > 0 ORDER BY batch_id"
    ):
        if kind in table_of:
            batches[table_of[kind]].append(f"{int(batch_id)}:{int(added)}")
    out = {}
    for table, ids in batches.items():
        rows = engine.row_count(table) if table in tables else 0
        digest = hashlib.sha256(",".join(ids).encode()).hexdigest()[:16]
        out[table] = f"rows {rows}, batches {len(ids)} {digest}"
    return out


def _last_runs(engine: Engine) -> dict[str, tuple[str | None, str, str | None]]:
    """Stage -> (fingerprint, outputs JSON, versions JSON) of its latest recorded run."""
    rows = engine.fetch_rows(
        f"SELECT stage, fingerprint, outputs, versions FROM {RUNS} "
        "QUALIFY row_number() OVER (PARTITION BY stage ORDER BY finished_at DESC, "
        "started_at DESC) = 1"
    )
    return {str(r[0]): (r[1], str(r[2]), r[3]) for r in rows}


def _ensure_run_columns(engine: Engine) -> None:
    """Add the fingerprint columns to a ``stage_run`` made before them (opening a
    workspace adds missing tables, not missing columns of system tables)."""
    if RUNS not in engine.table_names():
        raise StageError(
            f"the engine has no {RUNS} table: run stages on a workspace "
            "(Workspace.build, or run_stages(ws.engine))"
        )
    have = {c for c, _ in engine.columns(RUNS)}
    missing = [(c, t) for c, t in RUN_COLUMNS if c not in have]
    if missing:
        with engine.transaction():
            for col, sql_type in missing:
                engine.execute(f"ALTER TABLE {RUNS} ADD COLUMN {quote(col)} {sql_type}")


def _why(
    previous: tuple[str | None, str, str | None] | None,
    versions: Mapping[str, str],
    fingerprint: str,
    missing: list[str],
    force: bool,
) -> str | None:
    """Why the stage must run, or None when it is up to date."""
    if force:
        return "forced"
    if previous is None:
        return "first run"
    before, _outputs, before_versions = previous
    if before is None:
        return "no fingerprint recorded"
    if before != fingerprint:
        old: dict[str, Any] = json.loads(before_versions) if before_versions else {}
        changed = sorted(k for k in {*old, *versions} if old.get(k) != versions.get(k))
        return "changed: " + ", ".join(changed) if changed else "fingerprint changed"
    if missing:
        return "outputs missing: " + ", ".join(missing)
    return None


def run_stages(
    engine: Engine,
    stages: Iterable[Stage] | None = None,
    *,
    progress: Callable[[str, int, int], None] | None = None,
    force: bool = False,
) -> list[StageResult]:
    """Run stages in dependency order, skipping those that are up to date.

    Each stage that runs writes its outputs and its ``stage_run`` row in one
    transaction, so an exception, Ctrl-C or a killed process loses only the stage in
    progress and the next call resumes there. A stage is skipped when its latest
    recorded run has the fingerprint it has now (see the module docstring) and its
    outputs all exist; ``force=True`` runs every stage. A skipped stage writes
    nothing (``stage_run`` lists the runs that wrote tables) and its result carries
    the row counts its last run recorded. ``progress(stage, i, n)`` is called before
    each stage and once with ``("", n, n)`` at the end. Given an explicit list of
    ``stages``, tables already in the workspace count as available inputs.
    """
    # an explicit list may read tables earlier builds wrote (run one stage again)
    if stages is None:
        ordered = plan(registered_stages())
    else:
        stages = list(stages)
        written = {out for st in stages for out in st.outputs}
        ordered = plan(stages, available=set(engine.table_names()) - written)
    _ensure_run_columns(engine)
    writer = {out: st.name for st in ordered for out in st.outputs}
    tables = set(engine.table_names())
    last = _last_runs(engine)
    sources = _source_versions(engine, tables)
    base = {"code": code_version(), "config": _content(engine, CONFIG_TABLE, tables)}
    current: dict[str, str] = {}  # stage -> its fingerprint in this build
    results = []
    for i, st in enumerate(ordered):
        if progress is not None:
            progress(st.name, i, len(ordered))
        tables = set(engine.table_names())
        versions = {"stage": st.name, **base}
        for inp in st.inputs:
            if inp in writer:
                versions[inp] = f"stage {current[writer[inp]]}"
            elif inp in sources:
                versions[inp] = sources[inp]
            else:
                versions[inp] = _content(engine, inp, tables)
        for table in st.state:
            versions[table] = _content(engine, table, tables)
        fingerprint = _digest(versions)
        previous = last.get(st.name)
        missing = [o for o in st.outputs if o not in tables]
        reason = _why(previous, versions, fingerprint, missing, force)
        if reason is None and previous is not None:
            recorded = {str(k): int(v) for k, v in json.loads(previous[1]).items()}
            results.append(StageResult(st.name, recorded, 0.0, True, "up to date", fingerprint))
            current[st.name] = fingerprint
            continue
        started_at = dt.datetime.now(dt.UTC)
        t0 = time.perf_counter()
        with engine.transaction():
            try:
                outputs = dict(st.run(engine))
            except StageError:
                raise
            except Exception as exc:
                raise StageError(f"stage {st.name!r} failed: {exc}") from exc
            missing = sorted(set(st.outputs) - set(outputs))
            if missing:
                raise StageError(f"stage {st.name!r} did not write {missing}")
            if st.state:  # the stage may have updated them (a trained model)
                tables = set(engine.table_names())
                for table in st.state:
                    versions[table] = _content(engine, table, tables)
                fingerprint = _digest(versions)
            duration = time.perf_counter() - t0
            engine.execute(
                f"INSERT INTO {RUNS} (stage, started_at, finished_at, duration_s, outputs, "
                "fingerprint, versions) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    st.name,
                    started_at,
                    dt.datetime.now(dt.UTC),
                    duration,
                    json.dumps(outputs),
                    fingerprint,
                    json.dumps(versions, sort_keys=True),
                ],
            )
        current[st.name] = fingerprint
        results.append(StageResult(st.name, outputs, duration, False, reason or "", fingerprint))
    if progress is not None:
        progress("", len(ordered), len(ordered))
    return results


__all__ = [
    "Stage",
    "StageResult",
    "code_version",
    "plan",
    "registered_stages",
    "run_stages",
    "source_tables",
]
