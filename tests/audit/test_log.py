"""The hash-chained audit log: recording, the known-answer hash, and tampering of every
kind named by ``verify``."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tessera.audit import (
    AUDIT_COLUMNS,
    AUDIT_TABLE,
    GENESIS_HASH,
    HEAD_NAME,
    Access,
    AuditLog,
    entries,
    record,
    verify,
)
from tessera.audit.log import COLUMN_NAMES, canonical, entry_hash
from tessera.engines import open_engine
from tessera.engines.base import Engine
from tessera.errors import AccessError, WorkspaceError
from tessera.workspace import Workspace

ALICE = Access("alice", "OP-2024/017", "warrant")
BOB = Access("bob", "OP-2024/018", "court_order", note="order 5/24")


def _fill(log: AuditLog | Workspace, n: int = 4) -> None:
    """Entries 1..n: alice reads person:1..n with result sizes 10, 20, ..."""
    for i in range(1, n + 1):
        record(log, ALICE, "dossier.read", f"person:{i}", 10 * i, {"fields": ["home", i]})


@pytest.fixture
def log(tmp_path: Path) -> Iterator[AuditLog]:
    """An audit log with 4 entries over an in-memory database (fast), head file in tmp."""
    engine = open_engine("duckdb", path=None)
    audit = AuditLog(engine, tmp_path / HEAD_NAME)
    _fill(audit)
    try:
        yield audit
    finally:
        engine.close()


def _problems(audit: AuditLog) -> list[tuple[int | None, str]]:
    result = audit.verify()
    assert not result.ok
    assert result.problems
    return [(p.seq, p.reason) for p in result.problems]


# -- the hash, known answer ------------------------------------------------------------
def test_entry_hash_is_sha256_of_sorted_compact_json() -> None:
    """The canonical form is written out by hand: keys sorted, no spaces, at in UTC with
    microseconds and a Z; an equal time in another zone hashes the same."""
    fields = {
        "seq": 1,
        "at": dt.datetime(2024, 5, 1, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        "user": "alice",
        "case": "OP-2024/017",
        "legal_basis": "warrant",
        "action": "find",
        "target": "name:Smith",
        "result_size": 2,
        "detail": None,
        "prev_hash": GENESIS_HASH,
    }
    text = (
        '{"action":"find","at":"2024-05-01T08:00:00.000000Z","case":"OP-2024/017",'
        '"detail":null,"legal_basis":"warrant","prev_hash":"' + "0" * 64 + '",'
        '"result_size":2,"seq":1,"target":"name:Smith","user":"alice"}'
    )
    assert canonical(fields) == text.encode()
    assert entry_hash(fields) == hashlib.sha256(text.encode()).hexdigest()
    assert entry_hash(fields) == "10a826e050ce88cb023596429f6092bcd6b57fd7ec19985b26173a569b4aa021"


def test_naive_time_is_refused() -> None:
    fields = dict.fromkeys(COLUMN_NAMES[:-1], "x") | {"at": dt.datetime(2024, 5, 1)}
    with pytest.raises(AccessError, match="no time zone"):
        entry_hash(fields)


# -- recording on a real workspace -------------------------------------------------------
def test_record_and_verify_on_a_fresh_workspace(ws: Workspace) -> None:
    assert verify(ws).ok  # no table, no head: an empty, intact log
    assert verify(ws).entries == 0
    before = dt.datetime.now(dt.UTC)
    assert record(ws, ALICE, "find", "name:Smith", 3) == 1
    assert record(ws, BOB, "dossier.read", "person:1099511627779", 1, {"sections": ["home"]}) == 2
    assert record(ws, ALICE, "export", "person:1099511627779", 0, {"format": "graphml"}) == 3
    result = verify(ws)
    assert (result.ok, result.entries, result.problems) == (True, 3, [])

    rows = entries(ws)
    assert [e.seq for e in rows] == [1, 2, 3]
    assert [e.user for e in rows] == ["alice", "bob", "alice"]
    assert [e.case for e in rows] == ["OP-2024/017", "OP-2024/018", "OP-2024/017"]
    assert [e.legal_basis for e in rows] == ["warrant", "court_order", "warrant"]
    assert [e.action for e in rows] == ["find", "dossier.read", "export"]
    assert [e.result_size for e in rows] == [3, 1, 0]
    assert rows[0].detail is None
    # detail is canonical JSON; the access note is kept in it
    assert rows[1].detail == '{"access_note":"order 5/24","sections":["home"]}'
    assert rows[1].detail_json() == {"access_note": "order 5/24", "sections": ["home"]}
    # the chain: genesis, then each prev_hash is the hash before
    assert rows[0].prev_hash == GENESIS_HASH
    assert [e.prev_hash for e in rows[1:]] == [e.hash for e in rows[:-1]]
    for e in rows:
        assert e.hash == entry_hash(e.fields())
        assert e.at.tzinfo is not None
        assert before <= e.at <= dt.datetime.now(dt.UTC)
    # the head file holds the last entry
    head = json.loads((ws.path / HEAD_NAME).read_text("utf-8"))
    assert (head["seq"], head["hash"]) == (3, rows[-1].hash)
    assert not (ws.path / (HEAD_NAME + ".tmp")).exists()


def test_the_log_survives_reopening(ws: Workspace) -> None:
    _fill(ws, 2)
    path = ws.path
    ws.close()
    with Workspace.open(path) as again:
        assert record(again, ALICE, "path", "person:1 -> person:2", 4) == 3
        assert verify(again).ok
    with Workspace.open(path, read_only=True) as ro:
        assert verify(ro).entries == 3
        with pytest.raises(WorkspaceError, match="read-only"):
            record(ro, ALICE, "find", "x", 1)


def test_read_only_workspace_without_a_log_verifies_empty(ws: Workspace) -> None:
    path = ws.path
    ws.close()
    with Workspace.open(path, read_only=True) as ro:
        result = verify(ro)
        assert (result.ok, result.entries) == (True, 0)
        assert entries(ro) == []


def test_every_workspace_has_the_log_from_its_system_tables(ws: Workspace) -> None:
    """Workspace creates audit_log from AUDIT_COLUMNS, and the log uses it as is."""
    assert AUDIT_TABLE in ws.engine.table_names()
    assert ws.engine.row_count(AUDIT_TABLE) == 0
    ws.engine.execute(f"DROP TABLE {AUDIT_TABLE}")
    ws.engine.execute(f"CREATE TABLE {AUDIT_TABLE} ({AUDIT_COLUMNS})")
    _fill(ws, 2)
    assert verify(ws).entries == 2


def test_a_table_of_another_layout_is_refused(ws: Workspace) -> None:
    ws.engine.execute(f"DROP TABLE {AUDIT_TABLE}")
    ws.engine.execute(f"CREATE TABLE {AUDIT_TABLE} (seq BIGINT, what VARCHAR)")
    with pytest.raises(WorkspaceError, match="audit log was altered"):
        record(ws, ALICE, "find", "x", 1)


def test_entries_filters(log: AuditLog) -> None:
    record(log, BOB, "find", "name:Smith", 7)
    record(log, BOB, "ego", "person:2", 5)
    assert [e.seq for e in entries(log, user="bob")] == [5, 6]
    assert [e.seq for e in entries(log, case="OP-2024/017")] == [1, 2, 3, 4]
    assert [e.seq for e in entries(log, action="dossier.read", user="alice")] == [1, 2, 3, 4]
    assert [e.seq for e in entries(log, limit=2)] == [5, 6]
    assert [e.seq for e in entries(log, user="alice", limit=1)] == [4]
    assert entries(log, limit=0) == []
    all_rows = entries(log)
    t3 = all_rows[2].at
    assert [e.seq for e in entries(log, since=t3)] == [3, 4, 5, 6]
    assert [e.seq for e in entries(log, until=t3)] == [1, 2]
    assert [e.seq for e in entries(log, since=t3, until=all_rows[4].at)] == [3, 4]
    assert entries(log, user="nobody") == []
    with pytest.raises(AccessError, match="no time zone"):
        entries(log, since=dt.datetime(2024, 1, 1))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"action": "Dossier Read"}, "action"),
        ({"action": ""}, "action"),
        ({"target": "  "}, "target"),
        ({"result_size": -1}, "result_size"),
        ({"result_size": True}, "result_size"),
        ({"detail": {"when": dt.date(2024, 1, 1)}}, "plain JSON"),
        ({"detail": {"x": float("nan")}}, "plain JSON"),
        ({"detail": [("a", 1)]}, "mapping"),
        ({"access": "alice"}, "needs an Access"),
    ],
)
def test_invalid_records_are_refused_and_nothing_is_written(
    log: AuditLog, kwargs: dict[str, object], match: str
) -> None:
    args: dict[str, object] = {
        "access": ALICE,
        "action": "find",
        "target": "name:Smith",
        "result_size": 1,
        "detail": None,
    } | kwargs
    with pytest.raises(AccessError, match=match):
        log.record(**args)  # type: ignore[arg-type]
    assert len(entries(log)) == 4
    assert log.verify().ok


def test_concurrent_writers_in_one_process_are_serialised(log: AuditLog) -> None:
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            for i in range(10):
                log.record(ALICE, "find", f"q{k}.{i}", i)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    result = log.verify()
    assert (result.ok, result.entries) == (True, 44)
    assert [e.seq for e in entries(log)] == list(range(1, 45))
    assert len({e.target for e in entries(log, action="find")}) == 40


def test_many_threads_on_their_own_cursors_each_get_their_entry_once(ws: Workspace) -> None:
    """32 threads, each with its own cursor on one workspace (as the service's pool
    has), record 8 entries each. Every call returns the seq of its own entry, which is
    committed and covered by the head file when the call returns; the chain verifies,
    and every (thread, i) appears exactly once."""
    from tessera.service.pool import CursorEngine

    parent = ws.engine
    engines = [CursorEngine(parent) for _ in range(32)]  # type: ignore[arg-type]
    got: dict[str, int] = {}
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(k: int) -> None:
        audit = AuditLog(engines[k], ws.path / HEAD_NAME)
        try:
            for i in range(8):
                target = f"person:{k}.{i}"
                seq = audit.record(ALICE, "dossier.read", target, 1)
                # durable before the call returns: in the table, and within the head
                rows = engines[k].fetch_rows(
                    f"SELECT target FROM {AUDIT_TABLE} WHERE seq = ?", [seq]
                )
                head = audit.read_head()
                with lock:
                    got[target] = seq
                    if rows != [(target,)] or head is None or head.seq < seq:
                        errors.append(AssertionError((target, seq, rows, head)))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for engine in engines:
        engine.close()
    assert errors == []
    result = verify(ws)
    assert (result.ok, result.entries) == (True, 256)
    found = entries(ws, action="dossier.read")
    assert sorted(e.target for e in found) == sorted(got)
    assert {e.target: e.seq for e in found} == got
    assert sorted(got.values()) == list(range(1, 257))


def test_queued_entries_are_written_in_one_group_commit(log: AuditLog) -> None:
    """While the write lock is held, 6 callers queue their entries; the first to get
    the lock writes all 6 in one transaction (one time stamp), in queue order, and
    every caller returns its own seq."""
    from tessera.audit.log import _LOCK, _queue

    q = _queue(log.head_path)
    seqs: dict[int, int] = {}

    def work(k: int) -> None:
        seqs[k] = log.record(BOB, "find", f"q{k}", k)

    with _LOCK:
        threads = []
        for k in range(6):
            t = threading.Thread(target=work, args=(k,))
            t.start()
            threads.append(t)
            while len(q.pending) < k + 1:  # queued in this order
                threading.Event().wait(0.001)
    for t in threads:
        t.join()
    batch = entries(log, action="find")
    assert [e.target for e in batch] == [f"q{k}" for k in range(6)]
    assert {seqs[k] for k in range(6)} == {e.seq for e in batch} == set(range(5, 11))
    assert all(seqs[int(e.target[1:])] == e.seq for e in batch)
    assert len({e.at for e in batch}) == 1
    assert log.verify().ok


def test_a_refused_chain_fails_every_caller_of_the_batch(log: AuditLog) -> None:
    """The head file says 5 entries, the table has 4: each queued caller is refused."""
    from tessera.audit.log import _LOCK, _queue

    log.head_path.write_text(json.dumps({"format": 1, "seq": 5, "hash": "a" * 64}))
    q = _queue(log.head_path)
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            log.record(BOB, "find", f"q{k}", k)
        except WorkspaceError as exc:
            errors.append(exc)

    with _LOCK:
        threads = [threading.Thread(target=work, args=(k,)) for k in range(3)]
        for t in threads:
            t.start()
        while len(q.pending) < 3:
            threading.Event().wait(0.001)
    for t in threads:
        t.join()
    assert len(errors) == 3
    assert all("refusing to extend" in str(e) for e in errors)
    assert len(entries(log)) == 4


# -- tampering ---------------------------------------------------------------------------
# one edit per column that certainly changes the value of that entry
EDITS = {
    "seq": "seq = 99",
    "at": '"at" = "at" + INTERVAL 1 SECOND',
    "user": "\"user\" = 'mallory'",
    "case": "\"case\" = 'OP-2024/999'",
    "legal_basis": "legal_basis = 'consent'",
    "action": "action = 'find'",
    "target": "target = 'person:999'",
    "result_size": "result_size = result_size + 1",
    "detail": 'detail = \'{"fields":["work"]}\'',
    "prev_hash": "prev_hash = repeat('1', 64)",
    "hash": "hash = repeat('f', 64)",
}


def test_every_column_has_an_edit() -> None:
    assert set(EDITS) == set(COLUMN_NAMES)


@pytest.mark.parametrize("seq", [1, 2, 4])
@pytest.mark.parametrize("column", list(EDITS))
def test_editing_any_column_of_any_entry_is_named(log: AuditLog, column: str, seq: int) -> None:
    """The first problem names the edited entry's seq, in the first, a middle and the
    last entry."""
    log.engine.execute(f"UPDATE {AUDIT_TABLE} SET {EDITS[column]} WHERE seq = ?", [seq])
    problems = _problems(log)
    assert problems[0][0] == seq, problems


def test_an_edited_field_is_reported_as_such(log: AuditLog) -> None:
    log.engine.execute(f"UPDATE {AUDIT_TABLE} SET target = 'person:999' WHERE seq = 2")
    assert _problems(log) == [
        (2, "entry 2 does not match its hash: a field of this entry was edited")
    ]


def test_an_edited_hash_breaks_the_next_link(log: AuditLog) -> None:
    log.engine.execute(f"UPDATE {AUDIT_TABLE} SET hash = repeat('f', 64) WHERE seq = 2")
    problems = _problems(log)
    assert [p[0] for p in problems] == [2, 3]
    assert "does not match its hash" in problems[0][1]
    assert "broken link" in problems[1][1]


def test_a_recomputed_hash_still_breaks_the_next_link(log: AuditLog) -> None:
    """An attacker who edits an entry and recomputes its hash is caught by the next one."""
    row = next(e for e in entries(log) if e.seq == 2)
    forged = row.fields() | {"target": "person:999"}
    log.engine.execute(
        f"UPDATE {AUDIT_TABLE} SET target = 'person:999', hash = ? WHERE seq = 2",
        [entry_hash(forged)],
    )
    assert _problems(log) == [
        (3, "broken link: entry 3's prev_hash is not the hash of entry 2 (that entry's hash "
            "was edited)")
    ]  # fmt: skip


def test_null_in_a_column_is_named(log: AuditLog) -> None:
    log.engine.execute(f'UPDATE {AUDIT_TABLE} SET "user" = NULL WHERE seq = 3')
    assert _problems(log)[0] == (3, "entry 3 has no user: the entry was edited")


def test_deleting_a_middle_entry_is_named(log: AuditLog) -> None:
    log.engine.execute(f"DELETE FROM {AUDIT_TABLE} WHERE seq = 2")
    assert _problems(log) == [(2, "entries 2 are missing (deleted): the next is 3")]


def test_deleting_several_middle_entries_is_named(log: AuditLog) -> None:
    log.engine.execute(f"DELETE FROM {AUDIT_TABLE} WHERE seq IN (2, 3)")
    assert _problems(log) == [(2, "entries 2 to 3 are missing (deleted): the next is 4")]


def test_deleting_the_first_entry_is_named(log: AuditLog) -> None:
    log.engine.execute(f"DELETE FROM {AUDIT_TABLE} WHERE seq = 1")
    assert _problems(log)[0][0] == 1


def test_deleting_the_last_entry_is_caught_by_the_head_file(log: AuditLog) -> None:
    log.engine.execute(f"DELETE FROM {AUDIT_TABLE} WHERE seq = 4")
    assert _problems(log) == [
        (4, "entries 4 are missing: the log ends at 3 but the head file records 4 (the tail "
            "was deleted)")
    ]  # fmt: skip


def test_deleting_the_last_entries_is_caught_by_the_head_file(log: AuditLog) -> None:
    log.engine.execute(f"DELETE FROM {AUDIT_TABLE} WHERE seq >= 2")
    problems = _problems(log)
    assert problems[0][0] == 2
    assert "entries 2 to 4 are missing" in problems[0][1]


def test_deleting_every_entry_is_named(log: AuditLog) -> None:
    log.engine.execute(f"DELETE FROM {AUDIT_TABLE}")
    result = log.verify()
    assert (result.ok, result.entries) == (False, 0)
    assert [(p.seq, p.reason) for p in result.problems] == [
        (1, "entries 1 to 4 are missing: the log has no valid entries but the head file "
            "records 4 (all entries were deleted)")
    ]  # fmt: skip


def test_dropping_the_table_is_named(log: AuditLog) -> None:
    log.engine.execute(f"DROP TABLE {AUDIT_TABLE}")
    problems = _problems(log)
    assert problems[0][0] == 4
    assert "audit log was dropped" in problems[0][1]


def test_reordering_entries_is_named(log: AuditLog) -> None:
    """Swapping the seq of entries 2 and 3."""
    log.engine.execute(
        f"UPDATE {AUDIT_TABLE} SET seq = CASE seq WHEN 2 THEN 3 ELSE 2 END WHERE seq IN (2, 3)"
    )
    problems = _problems(log)
    assert problems[0] == (
        2,
        "entry 2 chains from entry 3, not from entry 1: entries were reordered (seq renumbered)",
    )
    assert (3, "entry 3 chains from entry 1, not from entry 2: entries were reordered (seq "
               "renumbered)") in problems  # fmt: skip


def test_a_copied_entry_is_named(log: AuditLog) -> None:
    log.engine.execute(f"INSERT INTO {AUDIT_TABLE} SELECT * FROM {AUDIT_TABLE} WHERE seq = 2")
    assert _problems(log) == [(2, "entry 2 appears more than once: entries copied or renumbered")]


def test_a_forged_appended_entry_is_named(log: AuditLog) -> None:
    """An entry appended with a valid hash, but not through record(): beyond the head."""
    last = entries(log)[-1]
    fields = last.fields() | {"seq": 5, "prev_hash": last.hash}
    fields["hash"] = entry_hash(fields)
    log.engine.execute(
        f"INSERT INTO {AUDIT_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [fields[c] for c in COLUMN_NAMES],
    )
    problems = _problems(log)
    assert problems[0][0] == 5
    assert "beyond the head file's entry 4" in problems[0][1]


def test_editing_the_head_hash_is_named(log: AuditLog) -> None:
    head = json.loads(log.head_path.read_text("utf-8"))
    log.head_path.write_text(json.dumps({"seq": 4, "hash": "a" * 64}), "utf-8")
    assert head["hash"] != "a" * 64
    assert _problems(log) == [
        (4, "entry 4's hash differs from the head file's: the last entry was rewritten or the "
            "head file edited")
    ]  # fmt: skip


def test_editing_the_head_seq_is_named(log: AuditLog) -> None:
    head = json.loads(log.head_path.read_text("utf-8"))
    log.head_path.write_text(json.dumps({"seq": 6, "hash": head["hash"]}), "utf-8")
    problems = _problems(log)
    assert problems[0][0] == 5
    assert "entries 5 to 6 are missing" in problems[0][1]


def test_a_garbled_head_file_is_named(log: AuditLog) -> None:
    log.head_path.write_text("seq=4", "utf-8")
    problems = _problems(log)
    assert problems[-1][0] is None
    assert "head file" in problems[-1][1]
    assert "is not valid" in problems[-1][1]


def test_a_missing_head_file_is_named(log: AuditLog) -> None:
    log.head_path.unlink()
    problems = _problems(log)
    assert problems[0][0] == 4
    assert "head file" in problems[0][1]
    assert "is missing while 4 entries exist" in problems[0][1]


@pytest.mark.parametrize(
    "damage",
    [
        "DELETE FROM audit_log WHERE seq = 4",
        "DELETE FROM audit_log",
        "UPDATE audit_log SET hash = repeat('f', 64) WHERE seq = 4",
        "head:missing",
        "head:edited",
    ],
)
def test_record_refuses_to_extend_a_damaged_tail(log: AuditLog, damage: str) -> None:
    """Otherwise the next entry would hide the deletion of the last ones."""
    if damage == "head:missing":
        log.head_path.unlink()
    elif damage == "head:edited":
        log.head_path.write_text(json.dumps({"seq": 4, "hash": "a" * 64}), "utf-8")
    else:
        log.engine.execute(damage)
    before = [e.seq for e in entries(log)]
    with pytest.raises(WorkspaceError, match="refusing to extend it"):
        log.record(ALICE, "find", "name:Smith", 1)
    assert [e.seq for e in entries(log)] == before
    assert not log.verify().ok


def test_the_log_of_an_engine_and_a_head_path(tmp_path: Path) -> None:
    """The (engine, head_path) form, as a web service holding its own engine would use."""
    engine: Engine = open_engine("duckdb", path=tmp_path / "db.duckdb")
    try:
        audit = AuditLog(engine, tmp_path / "elsewhere.head")
        assert audit.record(ALICE, "find", "x", 0) == 1
        assert (tmp_path / "elsewhere.head").exists()
        assert audit.verify().ok
    finally:
        engine.close()
