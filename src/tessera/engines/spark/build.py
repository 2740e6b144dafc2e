"""Builds on Spark: the workspace's stage inputs as Parquet, the stages run by Spark.

Ingest stays with the embedded workspace (capability ``ingest``). A Spark build
copies every table a stage reads and no stage writes (the ingested sources, the
analyst judgements and models, ``tessera_meta`` and ``ingest_batch``) from the
DuckDB workspace into the Spark catalog, ``<workspace>/spark/`` (see
:mod:`tessera.engines.spark.engine`), skipping those whose content is unchanged since
the last copy; then it runs the same stages, in the same order, with the same
fingerprints, on a :class:`~tessera.engines.spark.engine.SparkEngine`. Outputs are
Parquet under ``<workspace>/spark/parts/``, named in ``<workspace>/spark/catalog.json``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tessera.engines.base import literal, quote
from tessera.errors import StageError

if TYPE_CHECKING:
    from tessera.engines.spark.engine import SparkEngine
    from tessera.stages import Stage, StageResult
    from tessera.workspace import Workspace

SPARK_DIR = "spark"


def stage_inputs(stages: Iterable[Stage]) -> list[str]:
    """Tables the stages read (inputs and state) that none of them writes, plus the
    two the build fingerprints read (``tessera_meta``, ``ingest_batch``)."""
    from tessera.stages import BATCHES, CONFIG_TABLE

    stages = list(stages)
    written = {o for st in stages for o in st.outputs}
    read = {t for st in stages for t in (*st.inputs, *st.state)} - written
    return sorted(read | {CONFIG_TABLE, BATCHES})


def open_spark(ws: Workspace, **options: Any) -> SparkEngine:
    """A Spark engine over the workspace's Spark catalog (``<workspace>/spark``)."""
    from tessera.engines.spark.engine import SparkEngine

    return SparkEngine(ws.path / SPARK_DIR, **options)


def sync_inputs(ws: Workspace, spark: SparkEngine, tables: Iterable[str]) -> dict[str, str]:
    """Copy each of ``tables`` present in the workspace into the Spark catalog unless
    the copy there has the same content version; return table -> "copied" or
    "unchanged". One transaction: all copies land, or none."""
    duck = ws.engine
    have = set(duck.table_names())
    done: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="tessera-spark-") as tmp, spark.transaction():
        for table in tables:
            if table not in have:
                continue
            version = duck.content_version(table)
            if spark.source_version(table) == version:
                done[table] = "unchanged"
                continue
            path = Path(tmp) / f"{table}.parquet"
            duck.execute(
                f"COPY (SELECT * FROM {quote(table)}) TO {literal(str(path))} "
                "(FORMAT parquet, COMPRESSION zstd)"
            )
            spark.adopt_parquet(table, path, duck.columns(table), source_version=version)
            done[table] = "copied"
    return done


def spark_build(
    ws: Workspace,
    *,
    progress: Callable[[str, int, int], None] | None = None,
    force: bool = False,
    stages: Iterable[str] | None = None,
    **options: Any,
) -> list[StageResult]:
    """Run the registered stages (or the named ones and what they need) on Spark, after
    copying their inputs from the workspace. ``options`` go to the engine
    (``master``, ``remote``, ``session``, ``conf``)."""
    from tessera.stages import RUNS, registered_stages, run_stages
    from tessera.workspace.workspace import SYSTEM_TABLES

    chosen = registered_stages()
    if stages is not None:
        wanted = set(stages)
        unknown = wanted - {s.name for s in chosen}
        if unknown:
            raise StageError(f"no stage named {', '.join(sorted(unknown))}")
        chosen = _with_prerequisites(chosen, wanted)
    gaps = [st.name for st in chosen if not stage_supported(st.name)]
    chosen = [st for st in chosen if st.name not in gaps]
    inputs = stage_inputs(chosen)
    have = set(ws.engine.table_names())
    borrowed = [o for st in registered_stages() if st.name in gaps for o in st.outputs]
    missing = [t for t in borrowed if t in inputs and t not in have]
    if missing:
        raise StageError(
            f"stages {', '.join(gaps)} do not run on Spark yet and the workspace lacks their "
            f"outputs ({', '.join(missing)}): run `tessera build` (DuckDB) first"
        )
    spark = open_spark(ws, **options)
    try:
        sync_inputs(ws, spark, inputs)
        if RUNS not in spark.table_names():
            with spark.transaction():
                spark.execute(f"CREATE TABLE {RUNS} ({SYSTEM_TABLES[RUNS]})")
        return run_stages(spark, chosen, progress=progress, force=force)
    finally:
        spark.close()


def stage_supported(name: str) -> bool:
    """Whether stage ``name`` runs on Spark (capability ``stage:<name>``); a stage that
    does not is taken from the DuckDB workspace's last build instead."""
    from tessera.engines.base import CAPABILITIES

    return CAPABILITIES.get(f"stage:{name}", {}).get("spark", True) is True


def _with_prerequisites(stages: list[Stage], wanted: set[str]) -> list[Stage]:
    """The stages named, plus every stage whose outputs they read, transitively."""
    writer = {o: st for st in stages for o in st.outputs}
    keep: dict[str, Stage] = {}
    todo = [st for st in stages if st.name in wanted]
    while todo:
        st = todo.pop()
        if st.name in keep:
            continue
        keep[st.name] = st
        todo.extend(writer[t] for t in (*st.inputs, *st.state) if t in writer)
    return [st for st in stages if st.name in keep]
