"""One plan, two engines: the stages run on Spark (local[2], the machine's Java) give
the tables DuckDB gives on the same simulated district (200 people, 3 days).

Compared as multisets of rows: floating-point values to 6 decimals (parallel sums
differ in the last bits), lists as lists (the stages order them). Columns a stage
fills by choosing among ties (:data:`TIES`) are left out, as in the resume tests.
Stages that do not run on Spark yet are declared in ``CAPABILITIES`` (``stage:*``)
and their outputs are copied from the DuckDB build, so every other stage is compared
on identical inputs.
"""

from __future__ import annotations

import datetime as dt
import math
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from conftest import built_simulation
from tessera.engines.base import CAPABILITIES
from tessera.engines.spark.build import open_spark, spark_build, stage_supported
from tessera.stages import registered_stages
from tessera.workspace import Workspace

pytestmark = pytest.mark.slow

# columns chosen among ties (arg_min over equal gaps in tessera.link.cotravel.units_sql)
TIES = {"cotravel_evidence": {"t_b", "obs_b"}}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DuckDB build of the district, then a Spark build of the same workspace."""
    _, path = built_simulation(tmp_path_factory, persons=200, days=3, seed=5)
    with Workspace.open(path) as ws:
        results = spark_build(ws, master="local[2]")
    ran = {r.stage for r in results if not r.skipped}
    assert ran == {s.name for s in registered_stages() if stage_supported(s.name)}
    return path


def _norm(value: Any) -> Any:
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 6)
    if isinstance(value, list | tuple):
        return tuple(_norm(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _norm(v)) for k, v in value.items()))
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC)
    return value


def _rows(table: pa.Table, skip: set[str]) -> list[tuple[Any, ...]]:
    keep = [c for c in table.column_names if c not in skip]
    rows = [tuple(_norm(r[c]) for c in keep) for r in table.select(keep).to_pylist()]
    return sorted(rows, key=repr)


def _assert_same_rows(duck: list[tuple[Any, ...]], spark: list[tuple[Any, ...]]) -> None:
    """The two multisets of rows are equal; otherwise the counts and a few rows on each
    side (pytest's own diff of two long lists runs for many minutes)."""
    only_duck = Counter(duck) - Counter(spark)
    only_spark = Counter(spark) - Counter(duck)
    message = (
        f"{sum(only_duck.values())} rows only on DuckDB, e.g. {list(only_duck)[:3]}; "
        f"{sum(only_spark.values())} only on Spark, e.g. {list(only_spark)[:3]}"
    )
    assert not only_duck, message
    assert not only_spark, message


def _spark_outputs() -> list[str]:
    written = {o for s in registered_stages() if stage_supported(s.name) for o in s.outputs}
    return sorted(written)


@pytest.fixture(scope="module")
def engines(built: Path) -> Any:
    with Workspace.open(built) as ws:
        spark = open_spark(ws, master="local[2]")
        try:
            yield ws.engine, spark
        finally:
            spark.close()


@pytest.mark.parametrize("table", _spark_outputs())
def test_spark_writes_the_tables_duckdb_writes(engines: Any, table: str) -> None:
    duck, spark = engines
    assert table in spark.table_names()
    assert [c for c, _ in spark.columns(table)] == [c for c, _ in duck.columns(table)]
    a = duck.fetch_arrow(f'SELECT * FROM "{table}"')
    b = spark.fetch_arrow(f'SELECT * FROM "{table}"')
    skip = TIES.get(table, set())
    assert b.num_rows == a.num_rows
    _assert_same_rows(_rows(a, skip), _rows(b, skip))


def test_gaps_are_declared_as_data() -> None:
    """Every stage either runs on Spark or says why not, in the engine layer."""
    gaps = {s.name for s in registered_stages() if not stage_supported(s.name)}
    for name in gaps:
        reason = CAPABILITIES[f"stage:{name}"]["spark"]
        assert isinstance(reason, str)
        assert len(reason) > 20


def test_a_spark_rebuild_without_changes_skips_every_stage(built: Path, tmp_path: Path) -> None:
    copy = tmp_path / "ws"
    shutil.copytree(built, copy)
    with Workspace.open(copy) as ws:
        results = spark_build(ws, master="local[2]")
    assert results
    assert all(r.skipped for r in results)


REWRITE_QUERIES = {
    "ordered list aggregate": "SELECT k, list(v ORDER BY t DESC, v) AS l, "
    "list(DISTINCT v ORDER BY v) FILTER (WHERE v > 'b') AS d FROM _rw GROUP BY k",
    "timezone": "SELECT k, hour(timezone('Europe/Berlin', ts)) AS h, "
    "CAST(timezone('Europe/Berlin', ts) AS DATE) AS d FROM _rw",
    "epoch": "SELECT k, epoch(ts) AS e FROM _rw",
    "to_timestamp": "SELECT k, to_timestamp(epoch(ts) + 0.25) AS t2 FROM _rw",
    "list length": "SELECT k, len(string_split(v || ' x y', ' ')) AS n FROM _rw",
    "isodow": "SELECT k, isodow(ts) AS d FROM _rw",
    "division": "SELECT k, CAST(t AS DECIMAL(10, 2)) / 3 AS q, t / 0 AS z FROM _rw",
    "qualify": "SELECT * FROM _rw QUALIFY row_number() OVER (PARTITION BY k ORDER BY t) = 1",
}


@pytest.mark.parametrize("rewrite", sorted(REWRITE_QUERIES))
def test_each_rewrite_means_on_spark_what_it_means_on_duckdb(engines: Any, rewrite: str) -> None:
    """The same query over the same rows, on both engines (one query per rewrite of
    ``tessera.engines.spark.dialect``, with sub-second times, a summer-time date, ties
    and NULLs)."""
    from tessera.engines.spark.dialect import REWRITES

    assert set(REWRITE_QUERIES) == set(REWRITES)
    duck, spark = engines
    base = dt.datetime(2026, 3, 29, 0, 30, 0, 250000, tzinfo=dt.UTC)  # 01:30 -> 03:30 CEST
    rows = pa.table(
        {
            "k": [1, 1, 1, 2, 2],
            "v": ["a", "c", "b", "d", None],
            "t": [3, 1, 3, 2, 5],
            "ts": pa.array(
                [base + dt.timedelta(hours=h) for h in (0, 1, 2, 3, 23)],
                pa.timestamp("us", tz="UTC"),
            ),
        }
    )
    for engine in (duck, spark):
        engine.register_arrow("_rw", rows)
    try:
        sql = REWRITE_QUERIES[rewrite]
        a = _rows(duck.fetch_arrow(sql), set())
        b = _rows(spark.fetch_arrow(sql), set())
    finally:
        for engine in (duck, spark):
            engine.unregister("_rw")
    _assert_same_rows(a, b)
