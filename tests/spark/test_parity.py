"""One plan, two engines: every stage run on Spark (local[2], the machine's Java) gives
the tables DuckDB gives on the same simulated ``small`` tier (2,000 people, 14 days;
about seven minutes here). ``TESSERA_PARITY_TIER=mini`` runs the same tests on 200
people and 9 days (about four minutes), any tier name on that tier.

Compared as multisets of rows: floating-point values to a relative 1e-9 (parallel
sums differ in the last bits), lists as lists (the stages order them), JSON text as the
values it holds (the engines write small numbers in different notations; a number
rounded for reading may differ by one unit in its last place). Every column is compared:
where a stage chooses among ties, it breaks them by a key (the ``small`` tier found the
ones that were left to the engine). A stage Spark could not run would be declared in
``CAPABILITIES`` (``stage:*``) and its outputs copied from the DuckDB build; none is
today.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from conftest import built_simulation, dossier_content
from tessera.engines.base import CAPABILITIES
from tessera.engines.spark.build import open_spark, spark_build, stage_supported
from tessera.simulate.output import TIERS
from tessera.stages import registered_stages
from tessera.workspace import Workspace

pytestmark = pytest.mark.slow


# a quick district for local runs (TESSERA_PARITY_TIER=mini): 200 people, 9 days, enough
# history for the anomaly stage, which needs 7 days before it reports
MINI = "mini"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DuckDB build of the district, then a Spark build of the same workspace."""
    tier = os.environ.get("TESSERA_PARITY_TIER", "small")
    if tier != MINI and tier not in TIERS:
        raise ValueError(f"TESSERA_PARITY_TIER={tier!r}: use {MINI!r} or one of {list(TIERS)}")
    persons, days = (200, 9) if tier == MINI else TIERS[tier]
    _, path = built_simulation(tmp_path_factory, persons=persons, days=days, seed=5)
    with Workspace.open(path) as ws:
        results = spark_build(ws, master="local[2]")
    ran = {r.stage for r in results if not r.skipped}
    assert ran == {s.name for s in registered_stages() if stage_supported(s.name)}
    return path


class _Shown(float):
    """A number of evidence JSON, which stages round for reading (``round(x, 2)``)."""


class _Metres(float):
    """A distance in metres (a column named ``*_m``): near 0 its relative error is
    unbounded (two positions a last bit apart, from sums made in another order, are
    ~1e-8 m apart), so it is compared to a micrometre too."""


def _norm(value: Any, shown: bool = False) -> Any:
    if isinstance(value, str) and value[:1] == "{":
        # evidence JSON: compared as values (Spark writes 1.0E-6 where DuckDB writes
        # 0.000001)
        try:
            return ("json", _norm(json.loads(value), shown=True))
        except ValueError:
            return value
    if isinstance(value, float):
        return None if math.isnan(value) else (_Shown(value) if shown else value)
    if isinstance(value, list | tuple):
        return tuple(_norm(v, shown) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _norm(v, shown)) for k, v in value.items()))
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC)
    return value


def _rows(table: pa.Table) -> list[tuple[Any, ...]]:
    rows = [
        tuple(
            _Metres(v)
            if c.endswith("_m") and isinstance(v, float) and not math.isnan(v)
            else _norm(dossier_content(v) if c == "body" else v)
            for c, v in r.items()
        )
        for r in table.to_pylist()
    ]
    return sorted(rows, key=repr)


FLOAT = "<float>"


def _split(value: Any, floats: list[float]) -> Any:
    """``value`` with each float replaced by :data:`FLOAT`, the floats appended to
    ``floats`` in order."""
    if isinstance(value, float):
        floats.append(value)
        return FLOAT
    if isinstance(value, tuple):
        return tuple(_split(v, floats) for v in value)
    return value


def _decimals(x: float) -> int:
    text = repr(x)
    return len(text.split(".")[1]) if "." in text and "e" not in text else 0


def _close(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    """Equal to a relative 1e-9 (distances in metres also to 1e-6 m, other values to
    an absolute 1e-9); a number of evidence JSON rounded to at most 6
    places may also differ by one unit in its last place: the engines' sums differ in
    the last bits, and a value on a rounding boundary (0.575) rounds either way."""

    def close(x: float, y: float) -> bool:
        metres = isinstance(x, _Metres) and isinstance(y, _Metres)
        if math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-6 if metres else 1e-9):
            return True
        places = min(_decimals(x), _decimals(y))
        shown = isinstance(x, _Shown) and isinstance(y, _Shown) and places <= 6
        return shown and abs(x - y) <= 1.000001 * 10.0**-places

    return all(close(x, y) for x, y in zip(a, b, strict=True))


def _assert_same_rows(duck: list[tuple[Any, ...]], spark: list[tuple[Any, ...]]) -> None:
    """The two multisets of rows are equal, floating-point values to a relative 1e-9
    (sums made in another order differ in the last bits; rounding them to a fixed
    number of places instead fails where a value straddles the rounding boundary);
    otherwise the counts and a few rows on each side (pytest's own diff of two long
    lists runs for many minutes)."""
    groups: dict[Any, tuple[list[tuple[float, ...]], list[tuple[float, ...]]]] = {}
    for side, rows in enumerate((duck, spark)):
        for row in rows:
            floats: list[float] = []
            key = _split(row, floats)
            groups.setdefault(key, ([], []))[side].append(tuple(floats))
    only_duck, only_spark = [], []
    for key, (a, b) in groups.items():
        a, b = sorted(a), sorted(b)
        paired = min(len(a), len(b))
        differ = [i for i in range(paired) if not _close(a[i], b[i])]
        only_duck += [(key, a[i]) for i in differ] + [(key, v) for v in a[paired:]]
        only_spark += [(key, b[i]) for i in differ] + [(key, v) for v in b[paired:]]
    message = (
        f"{len(only_duck)} rows only on DuckDB, e.g. {only_duck[:3]}; "
        f"{len(only_spark)} only on Spark, e.g. {only_spark[:3]}"
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


def test_the_comparison_forgives_last_bits_and_nothing_more() -> None:
    """A distance of ~1e-9 m against 0 (positions a last bit apart) is equal, a
    centimetre is not, and a share of ~1e-9 against 0 is not either."""

    def same(a: dict[str, list[float]], b: dict[str, list[float]]) -> bool:
        try:
            _assert_same_rows(_rows(pa.table(a)), _rows(pa.table(b)))
        except AssertionError:
            return False
        return True

    assert same({"radius_m": [1.26e-9], "k": [1.0]}, {"radius_m": [0.0], "k": [1.0]})
    assert not same({"radius_m": [0.01], "k": [1.0]}, {"radius_m": [0.0], "k": [1.0]})
    assert not same({"share": [1.26e-9]}, {"share": [0.0]})
    assert same({"share": [0.3 + 1e-12]}, {"share": [0.3]})


@pytest.mark.parametrize("table", _spark_outputs())
def test_spark_writes_the_tables_duckdb_writes(engines: Any, table: str) -> None:
    duck, spark = engines
    assert table in spark.table_names()
    assert spark.columns(table) == duck.columns(table)
    a = duck.fetch_arrow(f'SELECT * FROM "{table}"')
    b = spark.fetch_arrow(f'SELECT * FROM "{table}"')
    assert b.num_rows == a.num_rows
    _assert_same_rows(_rows(a), _rows(b))


def test_every_stage_runs_on_spark() -> None:
    assert all(stage_supported(s.name) for s in registered_stages())


def test_a_declared_gap_is_taken_from_the_duckdb_build(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stage declared as a gap (``stage:<name>`` with a reason) is not run on Spark;
    the stages after it read its outputs as copied from the DuckDB build."""
    copy = tmp_path / "ws"
    shutil.copytree(built, copy)
    monkeypatch.setitem(
        CAPABILITIES, "stage:contacts", {"duckdb": True, "spark": "a gap, for this test"}
    )
    assert not stage_supported("contacts")
    with Workspace.open(copy) as ws:
        # dropped from the Spark catalog, so that only a copy can bring it back
        spark = open_spark(ws, master="local[2]")
        with spark.transaction():
            spark.execute("DROP TABLE net_contact")
        spark.close()
        results = spark_build(ws, master="local[2]", stages=["ties"])
        assert "contacts" not in {r.stage for r in results}
        assert "ties" in {r.stage for r in results}
        spark = open_spark(ws, master="local[2]")
        try:
            copied = spark.fetch_arrow("SELECT count(*) AS n FROM net_contact")
        finally:
            spark.close()
        assert copied.column("n")[0].as_py() == ws.engine.row_count("net_contact")


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
    "CAST(timezone('Europe/Berlin', ts) AS DATE) AS d, "
    "timezone('Europe/Berlin', CAST(CAST(timezone('Europe/Berlin', ts) AS DATE) AS TIMESTAMP)) "
    "AS local_midnight FROM _rw",
    "epoch": "SELECT k, epoch(ts) AS e FROM _rw",
    "to_timestamp": "SELECT k, to_timestamp(epoch(ts) + 0.25) AS t2 FROM _rw",
    "list length": "SELECT k, len(string_split(v || ' x y', ' ')) AS n FROM _rw",
    "isodow": "SELECT k, isodow(ts) AS d FROM _rw",
    "division": "SELECT k, CAST(t AS DECIMAL(10, 2)) / 3 AS q, t / 0 AS z FROM _rw",
    "qualify": "SELECT * FROM _rw QUALIFY row_number() OVER (PARTITION BY k ORDER BY t) = 1",
    "list slice": "SELECT k, list(v ORDER BY t, v)[2:3] AS m, list(t ORDER BY t)[:1] AS f, "
    "list(t ORDER BY t)[2:] AS r, list(t ORDER BY t)[1:50] AS all_, "
    "list_slice(list(t ORDER BY t), 1, 2) AS two FROM _rw GROUP BY k",
    # a struct key breaks ties by its second field; NULL values are left out
    "top n arg_max": "SELECT k, arg_max(v, {'t': t, 'v': v}, 2) AS hi, "
    "arg_min(t, ts, 2) AS lo FROM _rw GROUP BY k",
    "regex script class": "SELECT k, regexp_matches(coalesce(v, '') || '\u5f20', '\\p{Han}') AS h, "
    "regexp_matches(coalesce(v, ''), '^\\p{Latin}+$') AS l FROM _rw",
    "list_intersect": "SELECT k, len(list_intersect(list(v), ['a', 'b', 'a'])) AS n, "
    "list_sort(list_intersect(list(t), [3, 3, 1])) AS c FROM _rw GROUP BY k",
    "list overlap": "SELECT k, list(v) && ['a', 'x'] AS o, list(t) && [4] AS n FROM _rw GROUP BY k",
    "jaro_winkler": "SELECT k, round(jaro_winkler_similarity(v, 'dixon'), 9) AS a, "
    "round(jaro_winkler_similarity('martha', 'marhta'), 9) AS b, "
    "round(jaro_winkler_similarity(v || 'bc', 'abcd'), 9) AS c FROM _rw",
    "format": "SELECT k, format('{} at {}% of {}', v, t, k) AS f FROM _rw",
    "hugeint": "SELECT k, arg_min(v, CAST(t AS HUGEINT) * 10000000000000000 + k) AS first, "
    "max(CAST(t AS HUGEINT) * 10000000000000000 + 7) AS big FROM _rw GROUP BY k",
    "avg": "SELECT k, avg(CASE WHEN v > 'a' THEN 1.0 ELSE 0.0 END) AS share, "
    "avg(t) AS mean FROM _rw GROUP BY k",
    "json_object": "SELECT k, json_object('v', v, 't', t, 'half', round(t / 2, 1), "
    "'big', (t > 2), 'no', NULL, 'small', t / 3e6) AS j FROM _rw",
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
        a = _rows(duck.fetch_arrow(sql))
        b = _rows(spark.fetch_arrow(sql))
    finally:
        for engine in (duck, spark):
            engine.unregister("_rw")
    _assert_same_rows(a, b)


def test_the_command_line_builds_on_spark(built: Path, tmp_path: Path) -> None:
    """``tessera build WS --engine spark --master local[2]``, as a user runs it: on an
    unchanged workspace every stage is reported up to date; ``--master`` without
    ``--engine spark`` is refused."""
    from typer.testing import CliRunner

    from tessera.cli import app

    copy = tmp_path / "ws"
    shutil.copytree(built, copy)
    runner = CliRunner()
    result = runner.invoke(app, ["build", str(copy), "--engine", "spark", "--master", "local[2]"])
    assert result.exit_code == 0, result.output
    for stage in registered_stages():
        assert f"{stage.name}: up to date, skipped" in result.output
    refused = runner.invoke(app, ["build", str(copy), "--master", "local[2]"])
    assert refused.exit_code != 0
    assert "--engine spark" in refused.output
