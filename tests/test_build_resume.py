"""Incremental, resumable builds: stage fingerprints, skips, reruns and resumption.

Hand-built stages over tiny ingested files give known answers (which stage runs, what
it writes); a small simulated district checks the real stages: a no-change rebuild
skips everything, new device events rerun what reads them and not resolution, an
analyst judgement reruns resolution and what follows it, and a build interrupted by an
exception or by SIGKILL resumes and ends with the tables of an uninterrupted build.

Every test runs with a pinned code version (``tessera.stages.code_version``), so edits
to the package while the tests run cannot make stages rerun; one test changes it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

import tessera.stages as stages
from conftest import built_simulation, dossier_content, toy_mappings
from tessera.engines import Engine
from tessera.engines.duckdb.engine import DuckDBEngine
from tessera.errors import StageError
from tessera.resolve.explain import judge
from tessera.resolve.stage import forget_models
from tessera.stages import Stage, StageResult, plan, registered_stages, run_stages
from tessera.workspace import Workspace

PIN = "code-version-pinned-by-tests"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module", autouse=True)
def pinned_code() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(stages, "code_version", lambda: PIN)
        yield


# -- hand-built stages with known answers ------------------------------------------


def _write_events(folder: Path, name: str, times: list[str]) -> Path:
    path = folder / name
    rows = [f"+4915112345678,{t},S1" for t in times]
    path.write_text("n,t,c\n" + "\n".join(rows) + "\n")
    return path


def _mappings(folder: Path) -> tuple[Path, Path]:
    events, subs = toy_mappings(folder)
    (folder / "sub.csv").write_text("n,name\n+4915112345678,Anna Weber\n+4915112345679,Ben\n")
    return events, subs


class Toy:
    """Four stages: ``events`` counts device events, ``double`` doubles that count,
    ``subs`` counts subscriptions, ``judged`` adds the number of analyst judgements
    (a state table) to it. ``runs`` lists the stages in the order they ran."""

    def __init__(self) -> None:
        self.runs: list[str] = []
        self.fail: set[str] = set()

    def _stage(
        self, name: str, inputs: tuple[str, ...], out: str, sql: str, state: tuple[str, ...] = ()
    ) -> Stage:
        def run(engine: Engine) -> Mapping[str, int]:
            self.runs.append(name)
            rows = engine.materialise(out, sql)
            if name in self.fail:
                raise RuntimeError(f"{name} interrupted")
            return {out: rows}

        return Stage(name, name, inputs, (out,), run, state)

    def stages(self) -> list[Stage]:
        return [
            self._stage(
                "events",
                ("obs_device_event",),
                "t_events",
                "SELECT count(*) AS n FROM obs_device_event",
            ),
            self._stage("double", ("t_events",), "t_double", "SELECT 2 * n AS n FROM t_events"),
            self._stage(
                "subs",
                ("reg_subscription",),
                "t_subs",
                "SELECT count(*) AS n FROM reg_subscription",
            ),
            self._stage(
                "judged",
                ("t_subs",),
                "t_judged",
                "SELECT (SELECT n FROM t_subs) + count(*) AS n FROM resolution_judgement",
                state=("resolution_judgement",),
            ),
        ]

    def build(self, ws: Workspace, *, force: bool = False) -> list[StageResult]:
        self.runs = []
        return run_stages(ws.engine, self.stages(), force=force)


def _value(ws: Workspace, table: str) -> int:
    return int(ws.engine.fetch_rows(f"SELECT n FROM {table}")[0][0])


def test_toy_stages_skip_rerun_downstream_and_force(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """3 events and 2 subscriptions: t_double = 6, t_judged = 2. A second build runs
    nothing; 2 new events rerun `events` and `double` (t_double = 10) but not `subs`;
    re-ingesting a file that adds no rows reruns nothing; a judgement reruns `judged`
    only (t_judged = 3); a dropped output reruns its stage only; a new code version or
    `force` reruns all four."""
    events_map, subs_map = _mappings(tmp_path)
    first = _write_events(tmp_path, "a.csv", ["2026-03-01T08:00:00Z", "2026-03-01T09:00:00Z",
                                              "2026-03-01T10:00:00Z"])  # fmt: skip
    ws.ingest(events_map, [first])
    ws.ingest(subs_map, [tmp_path / "sub.csv"])
    toy = Toy()

    results = toy.build(ws)
    assert toy.runs == ["events", "subs", "double", "judged"]
    assert {r.reason for r in results} == {"first run"}
    assert (_value(ws, "t_double"), _value(ws, "t_judged")) == (6, 2)
    assert ws.engine.row_count("stage_run") == 4

    again = toy.build(ws)
    assert toy.runs == []
    assert all(r.skipped and r.duration_s == 0 and r.reason == "up to date" for r in again)
    assert [r.outputs for r in again] == [r.outputs for r in results]
    assert [r.fingerprint for r in again] == [r.fingerprint for r in results]
    assert ws.engine.row_count("stage_run") == 4  # a skip writes nothing

    ws.ingest(events_map, [_write_events(tmp_path, "b.csv", ["2026-03-02T08:00:00Z",
                                                             "2026-03-02T09:00:00Z"])])  # fmt: skip
    by = {r.stage: r for r in toy.build(ws)}
    assert toy.runs == ["events", "double"]
    assert by["events"].reason == "changed: obs_device_event"
    assert by["double"].reason == "changed: t_events"
    assert by["subs"].skipped
    assert by["judged"].skipped
    assert _value(ws, "t_double") == 10

    # the same file again: a batch that adds no rows changes nothing
    assert ws.ingest(events_map, [first])[0].added == 0
    toy.build(ws)
    assert toy.runs == []

    ws.engine.execute(
        "INSERT INTO resolution_judgement VALUES (1, 'person', 1, 2, 'same', 'analyst', "
        "'test', now())"
    )
    by = {r.stage: r for r in toy.build(ws)}
    assert toy.runs == ["judged"]
    assert by["judged"].reason == "changed: resolution_judgement"
    assert _value(ws, "t_judged") == 3

    ws.engine.execute("DROP TABLE t_double")
    by = {r.stage: r for r in toy.build(ws)}
    assert toy.runs == ["double"]
    assert by["double"].reason == "outputs missing: t_double"
    assert _value(ws, "t_double") == 10

    monkeypatch.setattr(stages, "code_version", lambda: "edited")
    by = {r.stage: r for r in toy.build(ws)}
    assert toy.runs == ["events", "subs", "double", "judged"]
    assert by["events"].reason == "changed: code"
    assert by["double"].reason == "changed: code, t_events"
    toy.build(ws)
    assert toy.runs == []
    toy.build(ws, force=True)
    assert toy.runs == ["events", "subs", "double", "judged"]
    assert (_value(ws, "t_double"), _value(ws, "t_judged")) == (10, 3)


def test_toy_build_interrupted_by_an_exception_resumes(ws: Workspace, tmp_path: Path) -> None:
    """Run order: events, subs, double, judged. `double` raises: `events` and `subs`
    stay recorded, `double`'s half-written table is rolled back; the next build runs
    only `double` and `judged` and ends with t_double = 4, t_judged = 2."""
    events_map, subs_map = _mappings(tmp_path)
    ws.ingest(events_map, [_write_events(tmp_path, "a.csv", ["2026-03-01T08:00:00Z",
                                                             "2026-03-01T09:00:00Z"])])  # fmt: skip
    ws.ingest(subs_map, [tmp_path / "sub.csv"])
    toy = Toy()
    toy.fail = {"double"}
    with pytest.raises(StageError, match="'double' failed: double interrupted"):
        toy.build(ws)
    assert toy.runs == ["events", "subs", "double"]
    recorded = {r[0] for r in ws.engine.fetch_rows("SELECT stage FROM stage_run")}
    assert recorded == {"events", "subs"}
    assert "t_double" not in ws.engine.table_names()

    toy.fail = set()
    by = {r.stage: r for r in toy.build(ws)}
    assert toy.runs == ["double", "judged"]
    assert by["events"].skipped
    assert by["subs"].skipped
    assert by["double"].reason == "first run"
    assert (_value(ws, "t_double"), _value(ws, "t_judged")) == (4, 2)


def test_a_stage_run_table_without_fingerprints_is_upgraded(ws: Workspace) -> None:
    """A workspace made before fingerprints: its stage_run has five columns and a row
    without a fingerprint. The next run adds the columns and runs the stage again."""
    engine = ws.engine
    engine.execute("DROP TABLE stage_run")
    engine.execute(
        "CREATE TABLE stage_run (stage VARCHAR, started_at TIMESTAMPTZ, "
        "finished_at TIMESTAMPTZ, duration_s DOUBLE, outputs VARCHAR)"
    )
    stage = Stage(
        "one", "", (), ("t_one",), lambda e: {"t_one": e.materialise("t_one", "SELECT 1")}
    )
    stage.run(engine)
    engine.execute(
        "INSERT INTO stage_run VALUES ('one', now(), now(), 0.1, ?)", [json.dumps({"t_one": 1})]
    )
    [result] = run_stages(engine, [stage])
    assert (result.skipped, result.reason) == (False, "no fingerprint recorded")
    assert [c for c, _ in engine.columns("stage_run")][-2:] == ["fingerprint", "versions"]
    [again] = run_stages(engine, [stage])
    assert again.skipped


# -- the real stages on a small simulated district ---------------------------------


@pytest.fixture(scope="module")
def district(tmp_path_factory: pytest.TempPathFactory, pinned_code: None) -> tuple[Path, Path]:
    """(simulator output, workspace built once): 200 people over 3 days."""
    return built_simulation(tmp_path_factory, persons=200, days=3, seed=5)


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _new_events(sim: Path, folder: Path) -> tuple[Path, Path]:
    """(mapping, file): 50 events of operator A, 7 minutes later than the originals."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(sim / "sources" / "network_events_operator_a.parquet").slice(0, 50)
    i = table.schema.get_field_index("EVENT_TS")
    later = pc.add(table.column(i), pa.scalar(dt.timedelta(minutes=7), pa.duration("ms")))
    path = folder / "new_events.parquet"
    pq.write_table(table.set_column(i, "EVENT_TS", later), path)
    return sim / "mappings" / "operator_a_events.yaml", path


def _downstream(*table: str) -> set[str]:
    """Names of the stages that read any of ``table``, directly or through other stages."""
    reached: set[str] = set()
    tables = set(table)
    for st in plan(registered_stages()):
        if tables & set(st.inputs):
            reached.add(st.name)
            tables |= set(st.outputs)
    return reached


def _outputs() -> list[str]:
    return [o for st in registered_stages() for o in st.outputs]


def _exact(ws: Workspace) -> dict[str, str]:
    return {t: ws.engine.content_version(t) for t in _outputs()}


def _settled(ws: Workspace) -> dict[str, tuple[int, int]]:
    """Each output's row count and order-free hash, floating-point values rounded to 6
    decimals (parallel sums differ in the last bits from run to run)."""
    engine = ws.engine
    out = {}
    for table in _outputs():
        cols = []
        for col, sql_type in engine.columns(table):
            q = '"' + col + '"'
            if (table, col) == ("dossier", "body"):  # compressed: compared below
                continue
            if sql_type == "DOUBLE":
                cols.append(f"round({q}, 6) AS {q}")
            elif sql_type == "DOUBLE[]":
                cols.append(f"list_transform({q}, x -> round(x, 6)) AS {q}")
            else:
                cols.append(q)
        [(rows, total)] = engine.fetch_rows(
            f"SELECT count(*), coalesce(sum(hash(t)), 0) FROM "
            f'(SELECT {", ".join(cols)} FROM "{table}") AS t'
        )
        out[table] = (int(rows), int(total))
    # dossiers, less when they were generated
    bodies = sorted(
        json.dumps(dossier_content(b)) for (b,) in engine.fetch_rows("SELECT body FROM dossier")
    )
    digest = hashlib.sha256("\n".join(bodies).encode()).hexdigest()
    out["dossier.body"] = (len(bodies), int(digest[:16], 16))
    return out


def _ran(results: list[StageResult]) -> set[str]:
    return {r.stage for r in results if not r.skipped}


def test_a_rebuild_without_changes_skips_every_stage(
    district: tuple[Path, Path], tmp_path: Path
) -> None:
    path = _copy(district[1], tmp_path / "ws")
    with Workspace.open(path) as ws:
        before = _exact(ws)
        runs_before = ws.engine.row_count("stage_run")
        results = ws.build()
        assert [r.stage for r in results] == [s.name for s in plan(registered_stages())]
        assert all(r.skipped for r in results)
        assert _exact(ws) == before
        assert ws.engine.row_count("stage_run") == runs_before
        recorded = dict(
            ws.engine.fetch_rows(
                "SELECT stage, outputs FROM stage_run QUALIFY row_number() OVER "
                "(PARTITION BY stage ORDER BY finished_at DESC) = 1"
            )
        )
        assert {r.stage: r.outputs for r in results} == {
            s: json.loads(o) for s, o in recorded.items()
        }
        assert sum(r.outputs["identifier"] for r in results if r.stage == "identifiers") > 0


def test_new_device_events_rerun_only_what_reads_them(
    district: tuple[Path, Path], tmp_path: Path
) -> None:
    """Device events feed identifiers, co-travel, phones, stays and what follows;
    resolution (registries only) and plates (plate reads) are skipped."""
    sim, built = district
    path = _copy(built, tmp_path / "ws")
    mapping, file = _new_events(sim, tmp_path)
    with Workspace.open(path) as ws:
        [batch] = ws.ingest(mapping, [file])
        assert batch.added == 50
        results = ws.build()
        expected = _downstream("obs_device_event")
        assert _ran(results) == expected
        assert {"identifiers", "cotravel", "stays", "communities"} <= expected
        assert {"resolution", "plates"}.isdisjoint(expected)
        by_stage = {r.stage: r for r in results}
        assert by_stage["stays"].reason.startswith("changed: ")
        assert "obs_device_event" in by_stage["stays"].reason
        assert all(r.skipped for r in ws.build())


def test_a_judgement_reruns_resolution_and_what_follows(
    district: tuple[Path, Path], tmp_path: Path
) -> None:
    path = _copy(district[1], tmp_path / "ws")
    with Workspace.open(path) as ws:
        rows = ws.engine.fetch_rows(
            "SELECT a.source || ':' || a.record_id, b.source || ':' || b.record_id "
            "FROM resolution_pair_person p "
            "JOIN resolution_record a ON a.obs_id = p.unique_id_l "
            "JOIN resolution_record b ON b.obs_id = p.unique_id_r "
            "WHERE a.entity_id <> b.entity_id ORDER BY p.match_probability DESC, 1, 2 LIMIT 1"
        )
        assert rows, "the district needs a scored pair kept apart"
        judge(ws, rows[0][0], rows[0][1], "same", user="analyst", reason="same passport")
        results = ws.build()
        resolution = next(s for s in registered_stages() if s.name == "resolution")
        expected = _downstream(*resolution.outputs)
        assert _ran(results) == {"resolution"} | expected
        assert {"attribution", "stays", "communities"} <= expected
        assert {"identifiers", "plates", "cotravel", "phones"}.isdisjoint(_ran(results))
        by_stage = {r.stage: r for r in results}
        assert by_stage["resolution"].reason == "changed: resolution_judgement"


def test_retrain_reruns_resolution_then_the_model_is_up_to_date(
    district: tuple[Path, Path], tmp_path: Path
) -> None:
    """`tessera build --retrain` deletes the stored models: resolution trains again (the
    fingerprint it records is taken after training), so the next build skips it."""
    path = _copy(district[1], tmp_path / "ws")
    with Workspace.open(path) as ws:
        with ws.engine.transaction():
            forget_models(ws.engine)
        results = ws.build()
        by_stage = {r.stage: r for r in results}
        assert "resolution_model" in by_stage["resolution"].reason
        assert ws.engine.row_count("resolution_model") == 4
        assert {"identifiers", "plates", "cotravel", "phones"}.isdisjoint(_ran(results))
        assert all(r.skipped for r in ws.build())


def test_force_and_a_code_change_rerun_everything(
    district: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _copy(district[1], tmp_path / "ws")
    names = {s.name for s in registered_stages()}
    with Workspace.open(path) as ws:
        before = _settled(ws)
        forced = ws.build(force=True)
        assert _ran(forced) == names
        assert {r.reason for r in forced} == {"forced"}
        assert _settled(ws) == before
        assert all(r.skipped for r in ws.build())
        monkeypatch.setattr(stages, "code_version", lambda: "edited")
        changed = ws.build()
        assert _ran(changed) == names
        assert all(r.reason.startswith("changed: code") for r in changed)
        assert _settled(ws) == before


def _reference(district: tuple[Path, Path], tmp_path: Path) -> dict[str, tuple[int, int]]:
    """The outputs of an uninterrupted build after the new device events."""
    sim, built = district
    path = _copy(built, tmp_path / "reference")
    mapping, file = _new_events(sim, tmp_path)
    with Workspace.open(path) as ws:
        ws.ingest(mapping, [file])
        ws.build()
        return _settled(ws)


def test_a_build_interrupted_by_an_exception_resumes(
    district: tuple[Path, Path], tmp_path: Path
) -> None:
    """New device events, then a build whose `stays` raises: the stages before it are
    recorded; the next build skips them and ends with the tables of an uninterrupted
    build."""
    expected = _reference(district, tmp_path)
    sim, built = district
    path = _copy(built, tmp_path / "ws")
    mapping, file = _new_events(sim, tmp_path)

    def boom(engine: Engine) -> Mapping[str, int]:
        engine.execute("DROP TABLE life_stay")
        raise KeyboardInterrupt

    broken = [
        dataclasses.replace(s, run=boom) if s.name == "stays" else s for s in registered_stages()
    ]
    with Workspace.open(path) as ws:
        ws.ingest(mapping, [file])
        with pytest.raises(KeyboardInterrupt):
            run_stages(ws.engine, broken)
        assert "life_stay" in ws.engine.table_names()  # the drop was rolled back
        results = ws.build()
        finished = {"identifiers", "cotravel", "phones", "attribution"}
        assert {r.stage for r in results if r.skipped} == finished | {"resolution", "plates"}
        assert _ran(results) == _downstream("obs_device_event") - finished
        assert _settled(ws) == expected


KILLED_BUILD = textwrap.dedent(
    """
    import sys
    import tessera.stages as stages
    from tessera.workspace import Workspace

    stages.code_version = lambda: {pin!r}

    def report(stage, done, total):
        print(stage, flush=True)

    with Workspace.open(sys.argv[1]) as ws:
        ws.build(progress=report)
    """
)


def test_a_killed_build_resumes(district: tuple[Path, Path], tmp_path: Path) -> None:
    """New device events, then a build in a subprocess killed (SIGKILL) as soon as
    `stays` starts: what finished is recorded, the stage in progress left nothing; the
    next build skips exactly the finished stages and ends with the tables of an
    uninterrupted build."""
    expected = _reference(district, tmp_path)
    sim, built = district
    path = _copy(built, tmp_path / "ws")
    mapping, file = _new_events(sim, tmp_path)
    with Workspace.open(path) as ws:
        ws.ingest(mapping, [file])
        [(runs_before,)] = ws.engine.fetch_rows("SELECT count(*) FROM stage_run")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    started = []
    with subprocess.Popen(
        [sys.executable, "-c", KILLED_BUILD.format(pin=PIN), str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    ) as child:
        assert child.stdout is not None
        try:
            for line in child.stdout:
                started.append(line.strip())
                if line.strip() == "stays":
                    break
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
    assert child.returncode == -signal.SIGKILL
    assert started[-1] == "stays", started
    with Workspace.open(path) as ws:
        finished = {
            r[0]
            for r in ws.engine.fetch_rows(
                "SELECT stage FROM stage_run ORDER BY finished_at OFFSET ?", [runs_before]
            )
        }
        assert {"identifiers", "cotravel", "phones", "attribution"} <= finished
        results = ws.build()
        assert {r.stage for r in results if r.skipped} == finished | {"resolution", "plates"}
        assert "stays" in _ran(results)
        assert _settled(ws) == expected


def test_every_stage_declares_the_tables_it_reads(
    district: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fingerprints are only as good as the declarations: trace every statement a
    forced build sends to the workspace database, parse it (sqlglot) and check that
    each stage reads no persistent table beyond its inputs, outputs and state tables
    (and tessera_meta, part of every fingerprint; stage_run, where the framework
    records the run)."""
    import sqlglot
    from sqlglot import exp

    path = _copy(district[1], tmp_path / "ws")
    current: list[str] = []
    read: dict[str, set[str]] = {}
    unparsed: list[str] = []

    def traced(name: str) -> None:
        method = getattr(DuckDBEngine, name)

        def wrapper(self: DuckDBEngine, sql: str, *args: object, **kwargs: object) -> object:
            if current and self.path is not None:
                # sqlglot parses by recursive descent: the person features' nested
                # transliteration folds go deeper than Python's default limit (pure
                # Python calls, so a higher limit costs no C stack on 3.11+)
                limit = sys.getrecursionlimit()
                sys.setrecursionlimit(max(limit, 20_000))
                try:
                    trees = sqlglot.parse(sql, read="duckdb")
                except sqlglot.errors.ParseError:
                    unparsed.append(sql[:200])
                    trees = []
                finally:
                    sys.setrecursionlimit(limit)
                for tree in trees:
                    if tree is not None:
                        read[current[-1]].update(t.name for t in tree.find_all(exp.Table))
            return method(self, sql, *args, **kwargs)

        monkeypatch.setattr(DuckDBEngine, name, wrapper)

    for name in ("execute", "fetch_rows", "fetch_arrow", "execute_with_progress"):
        traced(name)
    with Workspace.open(path) as ws:

        def report(stage: str, done: int, total: int) -> None:
            current.append(stage)
            read.setdefault(stage, set())

        ws.build(progress=report, force=True)
        persistent = set(ws.engine.table_names())
    assert not unparsed
    for st in registered_stages():
        allowed = {*st.inputs, *st.outputs, *st.state, "tessera_meta", "stage_run"}
        extra = (read[st.name] & persistent) - allowed
        assert not extra, f"stage {st.name!r} reads {sorted(extra)} without declaring them"
    assert {"resolution_model", "resolution_judgement"} <= read["resolution"]


BUILD_AND_LIST_MODULES = """
import sys
from pathlib import Path
from tessera.workspace import Workspace
folder = Path(sys.argv[1])
with Workspace.init(folder / "ws") as ws:
    ws.ingest(folder / "ev.yaml", [folder / "ev.csv"])
    ws.ingest(folder / "sub.yaml", [folder / "sub.csv"])
    results = ws.build()
print(len(results))
print("\\n".join(sorted(m for m in sys.modules if m.startswith("tessera"))))
"""


def test_a_build_imports_nothing_the_code_version_leaves_out(tmp_path: Path) -> None:
    """The code version skips the parts of the package no stage runs
    (stages.NOT_STAGE_CODE): a whole build, in a fresh process, must import none of
    them, or an edit there could change results without rerunning anything."""
    _write_events(tmp_path, "ev.csv", ["2026-03-01T08:00:00Z", "2026-03-01T09:00:00Z"])
    _mappings(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run(
        [sys.executable, "-c", BUILD_AND_LIST_MODULES, str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout.split("\n")
    assert int(out[0]) == len(registered_stages())
    loaded = {m for m in out[1:] if m}
    assert "tessera.dossier.store" in loaded  # the build really ran the stages
    left_out = {f"tessera.{p.removesuffix('.py')}" for p in stages.NOT_STAGE_CODE}
    imported = {m for m in loaded if any(m == p or m.startswith(p + ".") for p in left_out)}
    assert imported == set()
