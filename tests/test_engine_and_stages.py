"""The engine port, declared capabilities, and the stage framework."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pyarrow as pa
import pytest

from conftest import toy_mappings
from tessera.engines import CAPABILITIES, Engine, open_engine
from tessera.errors import EngineError, StageError, UnsupportedOperation
from tessera.stages import Stage, plan, run_stages
from tessera.workspace import Workspace


def test_transactions_roll_back() -> None:
    e = open_engine("duckdb")
    e.execute("CREATE TABLE t (x INTEGER)")

    def fail_inside() -> None:
        with e.transaction():
            e.execute("INSERT INTO t VALUES (1)")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fail_inside()
    assert e.row_count("t") == 0
    with e.transaction():
        e.execute("INSERT INTO t VALUES (1)")
    assert e.row_count("t") == 1
    e.register_arrow("a", pa.table({"y": [1, 2, 3]}))
    assert e.fetch_arrow("SELECT sum(y) AS s FROM a").to_pylist() == [{"s": 6}]
    with pytest.raises(EngineError, match="no_such_table"):
        e.execute("SELECT * FROM no_such_table")


def test_capabilities_are_data() -> None:
    e = open_engine("duckdb")
    assert e.supports("ingest")
    CAPABILITIES["__test_gap"] = {"duckdb": "not today"}
    try:
        with pytest.raises(UnsupportedOperation, match="'duckdb' does not support '__test_gap'"):
            e.require("__test_gap")
    finally:
        del CAPABILITIES["__test_gap"]
    with pytest.raises(EngineError, match="unknown engine"):
        open_engine("oracle")


def _stage(name: str, inputs: tuple[str, ...], outputs: tuple[str, ...]) -> Stage:
    def run(engine: Engine) -> Mapping[str, int]:
        return {o: engine.materialise(o, "SELECT 1 AS x") for o in outputs}

    return Stage(name, name, inputs, outputs, run)


def test_plan_orders_and_rejects() -> None:
    a = _stage("a", ("obs_plate_read",), ("t_a",))
    b = _stage("b", ("t_a",), ("t_b",))
    c = _stage("c", ("t_b", "t_a"), ("t_c",))
    assert [s.name for s in plan([c, b, a])] == ["a", "b", "c"]
    with pytest.raises(StageError, match="cycle"):
        plan([_stage("x", ("t_y",), ("t_x",)), _stage("y", ("t_x",), ("t_y",))])
    with pytest.raises(StageError, match="written by both"):
        plan([_stage("x", (), ("t",)), _stage("y", (), ("t",))])
    with pytest.raises(StageError, match="no stage writes"):
        plan([_stage("x", ("ghost",), ("t",))])
    with pytest.raises(StageError, match="ingest owns"):
        plan([_stage("x", (), ("obs_plate_read",))])


def test_run_stages_records_runs_and_rolls_back_failures(ws: Workspace) -> None:
    ok = _stage("ok", (), ("t_ok",))
    results = run_stages(ws.engine, [ok])
    assert results[0].outputs == {"t_ok": 1}
    assert ws.engine.row_count("stage_run") == 1

    def broken(engine: Engine) -> Mapping[str, int]:
        engine.materialise("t_half", "SELECT 1 AS x")
        raise ValueError("bad")

    with pytest.raises(StageError, match="'broken' failed: bad"):
        run_stages(ws.engine, [Stage("broken", "", (), ("t_half",), broken)])
    assert "t_half" not in ws.engine.table_names()
    assert ws.engine.row_count("stage_run") == 1


def test_identifiers_stage_known_answer(ws: Workspace, tmp_path: Path) -> None:
    """Two sources share +4915112345678: one row in `identifier` with both fields, the
    number seen first at 08:00 and last at 09:00 UTC."""
    (tmp_path / "ev.csv").write_text(
        "n,t,c\n+4915112345678,2026-03-01T08:00:00Z,S1\n+4915112345678,2026-03-01T09:00:00Z,S2\n"
    )
    (tmp_path / "sub.csv").write_text("n,name\n+4915112345678,Anna Weber\n")
    events, subs = toy_mappings(tmp_path)
    ws.ingest(events, [tmp_path / "ev.csv"])
    ws.ingest(subs, [tmp_path / "sub.csv"])
    ws.build()
    rows = ws.engine.fetch_rows(
        "SELECT n_rows, n_fields, sources, first_seen, last_seen FROM identifier "
        "WHERE value_type = 'phone' AND value = '+4915112345678'"
    )
    assert len(rows) == 1
    n_rows, n_fields, sources, first, last = rows[0]
    assert (n_rows, n_fields, sources) == (3, 2, ["op", "subs"])
    assert (first.hour, last.hour) == (8, 9)


def test_append_arrow_in_a_transaction_keeps_every_row_and_no_memory(tmp_path: Path) -> None:
    """Regression: DuckDB 2.0's from_arrow().insert_into() lost rows past one row group
    inside a transaction, and register() kept Arrow data alive until the commit."""
    import numpy as np

    e = open_engine("duckdb", path=tmp_path / "a.duckdb")
    n = 300_000  # more than two DuckDB row groups
    base = pa.total_allocated_bytes()
    with e.transaction():
        for part in range(3):
            t = pa.table(
                {
                    "a": pa.array(np.arange(part * n, (part + 1) * n)),
                    "s": pa.array(np.char.add("x", (np.arange(n) % 50).astype(str))),
                }
            )
            if part == 0:
                e.create_temp_table("raw", t.schema)
            e.append_arrow("raw", t)
            del t
        # Arrow buffers are not pinned by the open transaction.
        assert pa.total_allocated_bytes() - base < 16 << 20
        assert e.fetch_rows("SELECT count(*), sum(a), count(DISTINCT s) FROM raw") == [
            (3 * n, (3 * n) * (3 * n - 1) // 2, 50)
        ]
    e.close()


def test_execute_with_progress_reports_fractions() -> None:
    e = open_engine("duckdb")
    seen: list[float] = []
    e.execute_with_progress(
        "CREATE TEMP TABLE big AS SELECT i, md5(CAST(i AS VARCHAR)) AS s FROM range(8000000) t(i)",
        seen.append,
    )
    assert e.row_count("big") == 8_000_000
    # the query runs for seconds here and is polled every 0.25 s: progress is reported
    assert seen
    assert all(0.0 <= f <= 1.0 for f in seen)
    assert seen == sorted(seen)


def test_duckdb_reports_its_memory_limit_in_bytes() -> None:
    """Stages size their batches from ``memory_bytes``: DuckDB's ``memory_limit`` as it
    prints it; sizes it cannot read are refused with the text."""
    from tessera.engines.duckdb.engine import parse_size

    e = open_engine("duckdb", memory_limit="3GB")
    # DuckDB prints it to a tenth of its unit: 2.7 GiB
    assert e.memory_bytes() == pytest.approx(3 * 1000**3, rel=0.05)
    e.execute("SET memory_limit = '512MiB'")
    assert e.memory_bytes() == 512 * 2**20
    assert parse_size("11.1 GiB") == int(11.1 * 2**30)
    assert parse_size("4GB") == 4 * 1000**3
    with pytest.raises(EngineError, match="'lots'"):
        parse_size("lots")


def test_temp_tables_are_dropped_when_the_block_ends() -> None:
    engine = open_engine("duckdb")
    engine.execute("CREATE TABLE kept AS SELECT 1 AS x")

    def exists(name: str) -> bool:
        try:
            engine.fetch_rows(f"SELECT count(*) FROM {name}")
        except EngineError:
            return False
        return True

    with engine.temp_tables() as temp:
        temp("_a", "SELECT 1 AS x")
        temp("_b", "SELECT x + 1 AS x FROM _a")
        temp("_a", "SELECT 3 AS x")  # replaced, still dropped once
        assert engine.fetch_rows("SELECT x FROM _b") == [(2,)]
        assert engine.fetch_rows("SELECT x FROM _a") == [(3,)]
    assert not exists("_a")
    assert not exists("_b")
    assert exists("kept")

    def fail_midway() -> None:
        with engine.temp_tables() as temp:
            temp("_c", "SELECT 1 AS x")
            assert exists("_c")
            temp("_d", "SELECT * FROM no_such_table")

    with pytest.raises(EngineError):
        fail_midway()
    assert not exists("_c")


def test_a_failure_inside_a_transaction_is_reported_not_the_cleanup_after_it() -> None:
    engine = open_engine("duckdb")
    engine.execute("CREATE TABLE t AS SELECT 1 AS x")

    # the failed statement aborts the transaction: the drops that follow fail too, and
    # must not hide the error that caused them
    def fail_in_a_transaction() -> None:
        with engine.transaction(), engine.temp_tables() as temp:
            temp("_e", "SELECT x FROM t")
            temp("_f", "SELECT CAST('not a number' AS INTEGER) AS x")

    with pytest.raises(EngineError) as caught:
        fail_in_a_transaction()
    assert "Conversion Error" in str(caught.value)
    assert "aborted" not in str(caught.value)
    assert engine.fetch_rows("SELECT x FROM t") == [(1,)]  # rolled back, still usable


def test_exact_sum_does_not_depend_on_the_order_of_addition() -> None:
    """(0.1 + 0.2) + 0.3 and (0.3 + 0.2) + 0.1 differ in the last bit as doubles;
    ``exact_sum`` (the scores of second phones and meetings) gives one value for both."""
    from tessera.engines.base import exact_sum
    from tessera.engines.duckdb.engine import DuckDBEngine

    engine = DuckDBEngine(None, threads=1)
    try:
        up, down = "(VALUES (1, 0.1), (2, 0.2), (3, 0.3))", "(VALUES (3, 0.3), (2, 0.2), (1, 0.1))"
        plain = [
            engine.fetch_rows(f"SELECT sum(CAST(x AS DOUBLE)) FROM {v} t(i, x)")[0][0]
            for v in (up, down)
        ]
        exact = [
            engine.fetch_rows(f"SELECT {exact_sum('CAST(x AS DOUBLE)')} FROM {v} t(i, x)")[0][0]
            for v in (up, down)
        ]
        assert plain[0] != plain[1]  # what the sums guard against
        assert exact[0] == exact[1] == pytest.approx(0.6)
        # negative terms (a floor below zero, a fraction above it), large ones, and
        # the window form: every prefix sum is exact to 10^-9
        terms = "(VALUES (1, -2.25), (2, 1e8 + 0.5), (3, -0.125), (4, 3.0))"
        rows = engine.fetch_rows(
            f"SELECT i, {exact_sum('CAST(x AS DOUBLE)', 'ORDER BY i')} FROM {terms} t(i, x) "
            "ORDER BY i"
        )
        assert [r[1] for r in rows] == [-2.25, 1e8 - 1.75, 1e8 - 1.875, 1e8 + 1.125]
        [(total,)] = engine.fetch_rows(
            f"SELECT {exact_sum('CAST(x AS DOUBLE)')} FROM {terms} t(i, x)"
        )
        assert total == 1e8 + 1.125
    finally:
        engine.close()
