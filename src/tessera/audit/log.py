"""The audit log: an append-only, hash-chained record of every read, in the workspace.

Each entry is one row of the table ``audit_log`` (:data:`AUDIT_COLUMNS`): who read
(``user``), for which ``case``, on which ``legal_basis``, what (``action``, e.g.
``dossier.read`` or ``find``; ``target``, a subject id or a query), how much came back
(``result_size``), extra facts as canonical JSON (``detail``), and the chain
(``prev_hash``, ``hash``).

The hash chain
    Entry ``n`` (``seq`` = 1, 2, ...) carries

        hash_n = SHA-256( canonical(seq, at, user, case, legal_basis, action, target,
                                    result_size, detail, prev_hash) )
        prev_hash_n = hash_{n-1},   prev_hash_1 = GENESIS_HASH (64 zeros)

    where ``canonical`` is JSON with sorted keys, no whitespace, UTF-8, and ``at``
    written as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC (see :func:`entry_hash`). Editing
    any field of any entry changes its hash; rewriting the hash too breaks the next
    entry's ``prev_hash``; so a change goes unnoticed only if every later entry is
    rewritten.

The head file
    Deleting the *last* entries leaves a valid, shorter chain. So the head of the chain
    (its ``seq`` and ``hash``) is also kept outside the table, in the file
    ``WS/audit.head`` (:data:`HEAD_NAME`), rewritten atomically after every commit.
    :func:`verify` compares the table's last entry with it. Whoever can rewrite both the
    whole table and the head file can forge a history: ship the head hash elsewhere
    (see ``docs/audit.md``).

Writing (group commit)
    :meth:`AuditLog.record` validates its entry in the caller's thread and puts it in the
    queue of its log (one queue per head file in the process), then takes the process's
    write lock. Whoever holds the lock is the *leader*: it takes every entry queued so
    far, numbers and chains them in queue order, appends them in one transaction,
    rewrites the head file once (written, fsynced, renamed) and marks them written;
    the other callers of that batch find their entry written when they get the lock and
    return at once. So ``k`` concurrent reads cost one commit and one head update, and
    still no call returns before its own entry is committed and the head file records
    it. Before appending, the leader checks that the table's last entry matches the
    head file and refuses (``WorkspaceError``, given to every caller of the batch) when
    it does not, so that a truncated log cannot be silently extended: reads stop until
    someone looks. A batch the database refuses for another reason is retried one entry
    at a time, so that one bad entry fails only its own caller. DuckDB already stops a
    second process writing the workspace.

    The table's layout is checked once per engine (the first write through it) rather
    than on every write; a write that fails forgets the check, so a dropped or replaced
    table is checked (and refused) again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import sys
import threading
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from tessera.audit.access import Access
from tessera.engines.base import Engine, quote
from tessera.errors import AccessError, WorkspaceError

if TYPE_CHECKING:
    from tessera.workspace import Workspace

AUDIT_TABLE = "audit_log"
HEAD_NAME = "audit.head"
GENESIS_HASH = "0" * 64
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

# column -> SQL type, in table order; `at`, `user` and `case` are SQL keywords: quote them
_COLUMNS: tuple[tuple[str, str], ...] = (
    ("seq", "BIGINT"),
    ("at", "TIMESTAMPTZ"),
    ("user", "VARCHAR"),
    ("case", "VARCHAR"),
    ("legal_basis", "VARCHAR"),
    ("action", "VARCHAR"),
    ("target", "VARCHAR"),
    ("result_size", "BIGINT"),
    ("detail", "VARCHAR"),
    ("prev_hash", "VARCHAR"),
    ("hash", "VARCHAR"),
)
COLUMN_NAMES: tuple[str, ...] = tuple(name for name, _ in _COLUMNS)
# the table's column DDL (identifiers quoted), as SYSTEM_TABLES takes it
AUDIT_COLUMNS = ", ".join(f"{quote(name)} {sql_type}" for name, sql_type in _COLUMNS)
# the fields the hash covers: every column but the hash itself
HASHED_FIELDS: tuple[str, ...] = COLUMN_NAMES[:-1]

# documented actions; others are accepted if they match ACTION_PATTERN
ACTIONS: tuple[str, ...] = (
    "dossier.read",
    "find",
    "export",
    "path",
    "ego",
    "purge",
    "hypothesis.judge",
    # the audit log read by an auditor (case SYSTEM): who watched the watchers
    "audit.read",
    "audit.flags",
    # accounts (tessera.accounts): administrative entries, case SYSTEM
    "user.add",
    "user.password",
    "user.role",
    "user.disable",
    "token.issue",
    "token.revoke",
    "session.open",
    "session.close",
    "login.refused",
    # cases (tessera.cases)
    "case.open",
    "case.approve",
    "case.close",
    "case.member",
    "case.refused",
    "case.out_of_scope",
)
ACTION_PATTERN = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*")

_LOCK = threading.RLock()  # one writer (and reader) of any audit log at a time
_SELECT = ", ".join(quote(c) for c in COLUMN_NAMES)
_MARKS = "(" + ", ".join("?" for _ in COLUMN_NAMES) + ")"

# engines whose audit_log layout has been checked (forgotten when a write fails)
_CHECKED: weakref.WeakSet[Engine] = weakref.WeakSet()


class _Pending:
    """An entry waiting in the queue: its fields but seq, at and the chain; then the
    outcome (``seq`` once durable, or ``error``)."""

    __slots__ = ("done", "error", "fields", "seq")

    def __init__(self, fields: dict[str, Any]) -> None:
        self.fields = fields
        self.seq: int | None = None
        self.error: BaseException | None = None
        self.done = False


class _Queue:
    """The entries queued for one head file, and the head file's state as this process
    last wrote it (see :func:`head_epoch`)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pending: list[_Pending] = []
        self.stamp: tuple[int, int, int] | None = None  # (inode, size, mtime_ns) we wrote
        self.epoch = 0
        self.last: Head | None = None  # the last entry this process wrote


_QUEUES: dict[str, _Queue] = {}
_QUEUES_LOCK = threading.Lock()


_RESOLVED: dict[str, str] = {}  # head path as given -> resolved (resolve() is slow)
_HEADS: dict[str, Path] = {}  # workspace folder as given -> its head file


def head_path(ws_path: str | Path) -> Path:
    """The head file of the workspace in folder ``ws_path`` (memoised: every audited
    read asks, and building paths costs more than the rest of its bookkeeping)."""
    given = str(ws_path)
    found = _HEADS.get(given)
    if found is None:
        found = _HEADS[given] = Path(given) / HEAD_NAME
    return found


def _queue(head_path: str | Path) -> _Queue:
    given = str(head_path)
    key = _RESOLVED.get(given)
    if key is None:
        key = _RESOLVED[given] = str(Path(given).resolve())
    found = _QUEUES.get(key)  # the common case: no lock (a dict read is atomic)
    if found is not None:
        return found
    with _QUEUES_LOCK:
        found = _QUEUES.get(key)
        if found is None:
            found = _QUEUES[key] = _Queue()
        return found


def _stamp(path: str | Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def head_epoch(head_path: str | Path) -> int:
    """A counter that changes whenever the head file was changed by someone other than
    this process's audit writer (another process that wrote the workspace while this one
    did not hold it open, or an edit). Caches of data that only audited writes change
    (accounts, cases) compare it to know they may still be used: a change elsewhere
    means a change this process did not see. Costs one ``stat``.

    This process's own head writes never count: the writer renames the new head file
    into place and notes its stamp while holding the queue's lock, so no caller can
    ``stat`` the new file before the stamp is noted, and the ``stat`` here is taken
    under that lock too (either would take the process's own write for someone else's
    and empty the caches for nothing; measured under load, the reloads that caused took
    about 7 % of the service's thread time)."""
    q = _queue(head_path)
    with q.lock:  # the stat too: one taken before a write but compared after it would
        now = _stamp(head_path)  # undo the writer's note and count its write as foreign
        if now != q.stamp:
            q.stamp = now
            q.epoch += 1
        return q.epoch


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One row of the audit log."""

    seq: int
    at: dt.datetime
    user: str
    case: str
    legal_basis: str
    action: str
    target: str
    result_size: int
    detail: str | None  # canonical JSON text, or None
    prev_hash: str
    hash: str

    def detail_json(self) -> Any:
        """``detail`` parsed (None when absent)."""
        return None if self.detail is None else json.loads(self.detail)

    def fields(self) -> dict[str, Any]:
        """The columns as stored (``at`` a datetime, ``detail`` its JSON text), as
        :func:`entry_hash` takes them."""
        return {name: getattr(self, name) for name in COLUMN_NAMES}

    def as_dict(self) -> dict[str, Any]:
        """The entry for JSON output (``at`` formatted, ``detail`` parsed)."""
        return {
            "seq": self.seq,
            "at": format_time(self.at),
            "user": self.user,
            "case": self.case,
            "legal_basis": self.legal_basis,
            "action": self.action,
            "target": self.target,
            "result_size": self.result_size,
            "detail": self.detail_json(),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


class Problem(NamedTuple):
    """A defect :func:`verify` found: the ``seq`` of the first entry concerned (None when
    no entry can be named) and what is wrong."""

    seq: int | None
    reason: str


@dataclass(frozen=True, slots=True)
class Head:
    """The chain's head as the head file records it."""

    seq: int
    hash: str


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """``ok`` when the chain is intact and ends where the head file says; ``entries``
    rows were read; ``problems`` in order of ``seq`` (file-level ones last)."""

    ok: bool
    entries: int
    problems: list[Problem] = field(default_factory=list)
    head: Head | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "head": None if self.head is None else {"seq": self.head.seq, "hash": self.head.hash},
            "problems": [{"seq": p.seq, "reason": p.reason} for p in self.problems],
        }


# -- hashing -----------------------------------------------------------------------------
def format_time(at: dt.datetime) -> str:
    """``at`` in UTC as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (microseconds, what the database
    keeps). A naive datetime is refused: every time in Tessera is tz-aware."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise AccessError(f"audit time {at!r} has no time zone; times are tz-aware UTC")
    return at.astimezone(dt.UTC).strftime(TIME_FORMAT)


def canonical(fields: Mapping[str, Any]) -> bytes:
    """The canonical serialisation hashed for an entry: the :data:`HASHED_FIELDS` as a
    JSON object with sorted keys, no whitespace, non-ASCII kept, UTF-8 encoded; ``at``
    as :func:`format_time` writes it."""
    body = {name: fields[name] for name in HASHED_FIELDS}
    at = body["at"]
    if isinstance(at, dt.datetime):
        body["at"] = format_time(at)
    return json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def entry_hash(fields: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of :func:`canonical` ``(fields)``."""
    return hashlib.sha256(canonical(fields)).hexdigest()


def canonical_detail(detail: Mapping[str, Any] | None) -> str | None:
    """``detail`` as canonical JSON text (sorted keys, no whitespace), or None."""
    if detail is None:
        return None
    if not isinstance(detail, Mapping):
        raise AccessError(f"audit detail must be a mapping, not {type(detail).__name__}")
    try:
        return json.dumps(
            dict(detail), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
    except (TypeError, ValueError) as exc:
        raise AccessError(
            f"audit detail must be plain JSON (text, numbers, lists): {exc}"
        ) from None


# -- the log -----------------------------------------------------------------------------
class AuditLog:
    """The audit log of one database (``engine``) with its head file (``head_path``).
    :meth:`of` gives a workspace's log (its database, ``WS/audit.head``)."""

    def __init__(self, engine: Engine, head_path: str | Path, *, read_only: bool = False) -> None:
        self.engine = engine
        self.head_path = Path(head_path)
        self.read_only = read_only

    @classmethod
    def of(cls, ws: Workspace | AuditLog) -> AuditLog:
        """The log of a workspace (or the log itself)."""
        if isinstance(ws, AuditLog):
            return ws
        return cls(ws.engine, head_path(ws.path), read_only=ws.read_only)

    def __repr__(self) -> str:
        return f"<AuditLog {self.head_path}>"

    # -- table and head ----------------------------------------------------------------
    def has_table(self) -> bool:
        return AUDIT_TABLE in self.engine.table_names()

    def ensure_table(self) -> None:
        """Create ``audit_log`` if missing; refuse one whose columns differ. Done once
        per engine: later calls return at once until :meth:`_forget_table` (a failed
        write) asks for the check again."""
        if self.engine in _CHECKED:
            return
        if not self.has_table():
            self.engine.execute(f"CREATE TABLE {quote(AUDIT_TABLE)} ({AUDIT_COLUMNS})")
            _CHECKED.add(self.engine)
            return
        have = [name for name, _ in self.engine.columns(AUDIT_TABLE)]
        if have != list(COLUMN_NAMES):
            raise WorkspaceError(
                f"table {AUDIT_TABLE} has columns {', '.join(have)}; expected "
                f"{', '.join(COLUMN_NAMES)}: the audit log was altered or made by an "
                "incompatible version"
            )
        _CHECKED.add(self.engine)

    def _forget_table(self) -> None:
        _CHECKED.discard(self.engine)

    def read_head(self) -> Head | None:
        """The head file's record, or None when there is no head file. An unreadable
        head file raises :class:`WorkspaceError`."""
        try:
            text = self.head_path.read_text("utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise WorkspaceError(
                f"cannot read the audit head file {self.head_path}: {exc}"
            ) from None
        try:
            data = json.loads(text)
            seq, digest = data["seq"], data["hash"]
        except (ValueError, TypeError, KeyError):
            raise WorkspaceError(
                f"the audit head file {self.head_path} is not valid (expected JSON with "
                "'seq' and 'hash'): it was edited or damaged"
            ) from None
        if (
            not isinstance(seq, int)
            or isinstance(seq, bool)
            or seq < 1
            or not isinstance(digest, str)
            or re.fullmatch(r"[0-9a-f]{64}", digest) is None
        ):
            raise WorkspaceError(
                f"the audit head file {self.head_path} holds seq={seq!r}, hash={digest!r}; "
                "expected a positive seq and a SHA-256 hex digest: it was edited or damaged"
            )
        return Head(seq, digest)

    def _write_head(self, head: Head, q: _Queue | None = None) -> None:
        """Write the head file (a temporary file, fsynced, renamed over it). Given the
        queue ``q``, note ``head`` and the new file's stamp in it, whether or not the
        write succeeded; the rename and the stamp happen under ``q.lock`` (see
        :func:`head_epoch`)."""
        text = json.dumps({"format": 1, "seq": head.seq, "hash": head.hash}, sort_keys=True)
        tmp = self.head_path.with_name(self.head_path.name + ".tmp")
        try:
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(text + "\n")
                fh.flush()
                os.fsync(fh.fileno())
        except BaseException:
            if q is not None:
                self._note(q, head)
            raise
        if q is None:
            os.replace(tmp, self.head_path)
            return
        with q.lock:
            try:
                os.replace(tmp, self.head_path)
            finally:
                q.stamp = _stamp(self.head_path)
                q.last = head

    def _note(self, q: _Queue, head: Head) -> None:
        stamp = _stamp(self.head_path)
        with q.lock:
            q.stamp = stamp
            q.last = head

    def _tail(self, last: Head | None = None) -> Head | None:
        """The table's last entry. Given ``last`` (the entry this process wrote last),
        first the cheap question: are the entries from ``last.seq`` on exactly
        ``last``? (a range on ``seq``, which the table's min/max statistics narrow,
        instead of sorting every ``seq``); anything else asks the full question."""
        if last is not None:
            rows = self.engine.fetch_rows(
                f"SELECT seq, hash FROM {quote(AUDIT_TABLE)} WHERE seq >= ?", [last.seq]
            )
            if rows == [(last.seq, last.hash)]:
                return last
        rows = self.engine.fetch_rows(
            f"SELECT seq, hash FROM {quote(AUDIT_TABLE)} ORDER BY seq DESC NULLS FIRST LIMIT 1"
        )
        if not rows:
            return None
        seq, digest = rows[0]
        if seq is None or digest is None:
            raise WorkspaceError(
                f"the audit log has an entry without seq or hash: it was edited; "
                f"run `tessera audit verify {self.head_path.parent}`"
            )
        return Head(int(seq), str(digest))

    # -- writing -----------------------------------------------------------------------
    def record(
        self,
        access: Access,
        action: str,
        target: str,
        result_size: int,
        detail: Mapping[str, Any] | None = None,
    ) -> int:
        """Append one entry (one transaction) and return its ``seq``.

        ``access.note``, when given, is kept in ``detail`` under ``access_note``. Refuses
        (:class:`WorkspaceError`) when the table's last entry does not match the head
        file (entries deleted, head file missing or edited), so that a damaged log is
        never silently extended."""
        if not isinstance(access, Access):
            raise AccessError(
                f"record needs an Access (user, case, legal basis), not {type(access).__name__}"
            )
        if not isinstance(action, str) or ACTION_PATTERN.fullmatch(action) is None:
            raise AccessError(
                f"action {action!r} is invalid; use dotted lowercase names such as "
                f"{', '.join(ACTIONS)}"
            )
        if not isinstance(target, str) or not target.strip():
            raise AccessError("target (what was read: a subject id, a query) must be non-empty")
        if not isinstance(result_size, int) or isinstance(result_size, bool) or result_size < 0:
            raise AccessError(f"result_size must be a count (int >= 0), not {result_size!r}")
        if detail is not None and not isinstance(detail, Mapping):
            raise AccessError(f"audit detail must be a mapping, not {type(detail).__name__}")
        merged = dict(detail) if detail is not None else None
        if access.note is not None:
            merged = {**(merged or {}), "access_note": access.note}
        detail_text = canonical_detail(merged)
        if self.read_only:
            raise WorkspaceError(
                "the workspace is open read-only, so this access cannot be recorded in its "
                "audit log; open it for writing"
            )
        fields: dict[str, Any] = {
            "user": access.user,
            "case": access.case,
            "legal_basis": access.legal_basis,
            "action": action,
            "target": target,
            "result_size": result_size,
            "detail": detail_text,
        }
        for name in ("user", "case", "legal_basis", "target", "detail"):
            value = fields[name]
            if value is not None:
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError:
                    raise AccessError(f"audit {name} is not valid text (UTF-8)") from None
        item = _Pending(fields)
        q = _queue(self.head_path)
        with q.lock:
            q.pending.append(item)
        with _LOCK:  # the leader: write what is queued, unless a leader before wrote ours
            if not item.done:
                with q.lock:
                    batch, q.pending = q.pending, []
                self._commit(q, batch)
        if item.error is not None:
            raise item.error
        if item.seq is None:  # pragma: no cover - a leader always settles its batch
            raise WorkspaceError("the audit entry was not written")
        return item.seq

    def _commit(self, q: _Queue, batch: list[_Pending]) -> None:
        """Write ``batch`` (under the write lock) and settle every entry of it: one
        transaction and one head update; on a failure other than a refused chain, each
        entry again on its own so that only a bad entry fails."""
        try:
            self._write(q, batch)
        except WorkspaceError as exc:
            for item in batch:
                item.error, item.done = exc, True
            return
        except Exception:
            if len(batch) == 1:
                batch[0].error, batch[0].done = sys.exc_info()[1], True
                return
            for item in batch:
                self._commit(q, [item])
            return
        for item in batch:
            item.done = True

    def _write(self, q: _Queue, batch: list[_Pending]) -> None:
        checked = self.engine in _CHECKED
        try:
            self._write_once(q, batch)
        except WorkspaceError:
            raise
        except Exception:
            if not checked:
                raise
            self._write_once(q, batch)  # the table changed since it was checked: again

    def _write_once(self, q: _Queue, batch: list[_Pending]) -> None:
        head_epoch(self.head_path)  # notices a head file changed behind this process
        try:
            with self.engine.transaction():
                self.ensure_table()
                tail = self._tail(q.last)
                self._check_tail(tail)
                seq = 0 if tail is None else tail.seq
                prev = GENESIS_HASH if tail is None else tail.hash
                at = dt.datetime.now(dt.UTC)
                params: list[Any] = []
                for item in batch:
                    seq += 1
                    fields = {**item.fields, "seq": seq, "at": at, "prev_hash": prev}
                    fields["hash"] = prev = entry_hash(fields)
                    params += [fields[c] for c in COLUMN_NAMES]
                    item.seq = seq
                self.engine.execute(
                    f"INSERT INTO {quote(AUDIT_TABLE)} ({_SELECT}) VALUES "
                    + ", ".join(_MARKS for _ in batch),
                    params,
                )
        except BaseException:
            self._forget_table()
            for item in batch:
                item.seq = None
            raise
        try:
            self._write_head(Head(seq, prev), q)
        except OSError as exc:
            raise WorkspaceError(
                f"audit entry {seq} was recorded but the head file {self.head_path} "
                f"could not be written ({exc}); the log will fail verification until "
                "this is investigated"
            ) from None

    def _check_tail(self, tail: Head | None) -> None:
        head = self.read_head()
        where = f"run `tessera audit verify {self.head_path.parent}`"
        if head is None and tail is None:
            return
        if head is None:
            raise WorkspaceError(
                f"the audit log has entries up to {tail.seq if tail else 0} but its head "
                f"file {self.head_path} is missing; refusing to extend it: {where}"
            )
        if tail is None:
            raise WorkspaceError(
                f"the audit log is empty but its head file records {head.seq} entries; "
                f"refusing to extend it: {where}"
            )
        if tail != head:
            raise WorkspaceError(
                f"the audit log ends at entry {tail.seq} but its head file records entry "
                f"{head.seq} (hash {head.hash[:12]}...); refusing to extend it: {where}"
            )

    # -- reading -----------------------------------------------------------------------
    def entries(
        self,
        *,
        user: str | None = None,
        case: str | None = None,
        action: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: int | None = None,
    ) -> list[AuditEntry]:
        """Entries matching every filter given, in order of ``seq``: ``since`` <= ``at`` <
        ``until`` (tz-aware); ``limit`` keeps the most recent ``limit`` of them."""
        with _LOCK:
            return self._entries(user, case, action, since, until, limit)

    def _entries(
        self,
        user: str | None,
        case: str | None,
        action: str | None,
        since: dt.datetime | None,
        until: dt.datetime | None,
        limit: int | None,
    ) -> list[AuditEntry]:
        if not self.has_table():
            return []
        where: list[str] = []
        params: list[Any] = []
        for name, value in (("user", user), ("case", case), ("action", action)):
            if value is not None:
                where.append(f"{quote(name)} = ?")
                params.append(value)
        for op, when in ((">=", since), ("<", until)):
            if when is not None:
                format_time(when)  # refuses naive times
                where.append(f"{quote('at')} {op} ?")
                params.append(when)
        sql = f"SELECT {_SELECT} FROM {quote(AUDIT_TABLE)}"
        if where:
            sql += " WHERE " + " AND ".join(where)
        if limit is not None:
            if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
                raise AccessError(f"limit must be a count (int >= 0), not {limit!r}")
            sql = f"SELECT * FROM ({sql} ORDER BY seq DESC LIMIT {int(limit)}) AS q"
        rows = self.engine.fetch_rows(sql + " ORDER BY seq", params)
        return [AuditEntry(*row) for row in rows]

    def verify(self) -> VerifyResult:
        """Check every entry and the head file; see :func:`verify_rows` for the checks."""
        with _LOCK:
            return self._verify()

    def _verify(self) -> VerifyResult:
        try:
            head = self.read_head()
            head_error: str | None = None
        except WorkspaceError as exc:
            head, head_error = None, str(exc)
        if not self.has_table():
            problems: list[Problem] = []
            if head is not None:
                problems.append(
                    Problem(
                        head.seq,
                        f"the table {AUDIT_TABLE} is missing but the head file records "
                        f"{head.seq} entries: the audit log was dropped",
                    )
                )
            if head_error is not None:
                problems.append(Problem(None, head_error))
            return VerifyResult(ok=not problems, entries=0, problems=problems, head=head)
        rows = self.engine.fetch_rows(
            f"SELECT {_SELECT} FROM {quote(AUDIT_TABLE)} ORDER BY seq NULLS FIRST, hash"
        )
        dicts = [dict(zip(COLUMN_NAMES, row, strict=True)) for row in rows]
        problems = verify_rows(dicts, head, head_file=self.head_path)
        if head_error is not None:
            problems.append(Problem(None, head_error))
        return VerifyResult(ok=not problems, entries=len(rows), problems=problems, head=head)


def verify_rows(
    rows: list[dict[str, Any]], head: Head | None, *, head_file: Path | None = None
) -> list[Problem]:
    """The defects of a chain ``rows`` (ordered by ``seq``) against its ``head``.

    For each row, with ``expected`` the next seq (1 at first) and ``previous`` the hash
    of the row before (``GENESIS_HASH`` at first):

    * a NULL in any column: the entry was edited;
    * ``seq < expected``: a second entry with that seq (copied or renumbered);
    * ``seq > expected``: entries ``expected .. seq-1`` were deleted (a gap);
    * ``prev_hash != previous`` (where no gap explains it): if ``prev_hash`` is the
      hash of another entry ``s``, the entries were reordered (this one chains from
      ``s``); otherwise the link is broken (the previous entry's hash was edited);
    * the recomputed :func:`entry_hash` differs from the stored ``hash``: a field was
      edited (which one cannot be told from the hash);

    then the last row against the head file: head missing while entries exist; no rows
    while the head records some (all deleted); fewer (tail truncated); more (head stale,
    or entries appended outside Tessera); same seq with another hash (last entry
    rewritten, or the head file edited).
    """
    problems: list[Problem] = []
    by_hash = {r["hash"]: r["seq"] for r in rows if r["hash"] is not None}
    expected, previous = 1, GENESIS_HASH
    last_seq: int | None = None
    for row in rows:
        seq = row["seq"]
        nulls = [c for c in COLUMN_NAMES if row[c] is None and c != "detail"]
        if seq is None:
            problems.append(Problem(None, "an entry has no seq: the log was edited"))
            continue
        seq = int(seq)
        if seq < expected:
            problems.append(
                Problem(seq, f"entry {seq} appears more than once: entries copied or renumbered")
            )
            continue
        gap = seq > expected
        if gap:
            missing = str(expected) if seq == expected + 1 else f"{expected} to {seq - 1}"
            problems.append(
                Problem(expected, f"entries {missing} are missing (deleted): the next is {seq}")
            )
        if nulls:
            problems.append(
                Problem(seq, f"entry {seq} has no {', '.join(nulls)}: the entry was edited")
            )
        elif not gap and row["prev_hash"] != previous:
            origin = by_hash.get(row["prev_hash"])
            if origin is not None and origin != seq:
                problems.append(
                    Problem(
                        seq,
                        f"entry {seq} chains from entry {origin}, not from entry {seq - 1}: "
                        "entries were reordered (seq renumbered)",
                    )
                )
            else:
                problems.append(
                    Problem(
                        seq,
                        f"broken link: entry {seq}'s prev_hash is not the hash of entry "
                        f"{seq - 1} (that entry's hash was edited)",
                    )
                )
        if not nulls and entry_hash(row) != row["hash"]:
            problems.append(
                Problem(
                    seq,
                    f"entry {seq} does not match its hash: a field of this entry was edited",
                )
            )
        expected, previous, last_seq = seq + 1, row["hash"], seq
    where = f" ({head_file})" if head_file is not None else ""
    if head is None:
        if rows:
            problems.append(
                Problem(
                    last_seq,
                    f"the head file{where} is missing while {len(rows)} entries exist: it was "
                    "deleted, or the database was copied without it",
                )
            )
    elif last_seq is None:
        missing = "1" if head.seq == 1 else f"1 to {head.seq}"
        problems.append(
            Problem(
                1,
                f"entries {missing} are missing: the log has no valid entries but the head "
                f"file records {head.seq} (all entries were deleted)",
            )
        )
    elif last_seq < head.seq:
        missing = str(head.seq) if head.seq == last_seq + 1 else f"{last_seq + 1} to {head.seq}"
        problems.append(
            Problem(
                last_seq + 1,
                f"entries {missing} are missing: the log ends at {last_seq} but the head "
                f"file records {head.seq} (the tail was deleted)",
            )
        )
    elif last_seq > head.seq:
        problems.append(
            Problem(
                head.seq + 1,
                f"entries {head.seq + 1} to {last_seq} are beyond the head file's entry "
                f"{head.seq}: the head file is stale (a crash after a commit) or entries "
                "were added outside Tessera",
            )
        )
    elif rows[-1]["hash"] != head.hash:
        problems.append(
            Problem(
                last_seq,
                f"entry {last_seq}'s hash differs from the head file's: the last entry was "
                "rewritten or the head file edited",
            )
        )
    return problems


# -- module-level API --------------------------------------------------------------------
def record(
    log: Workspace | AuditLog,
    access: Access,
    action: str,
    target: str,
    result_size: int,
    detail: Mapping[str, Any] | None = None,
) -> int:
    """Record one access in a workspace's audit log; see :meth:`AuditLog.record`."""
    return AuditLog.of(log).record(access, action, target, result_size, detail)


T = TypeVar("T")


def audited(
    log: Workspace | AuditLog,
    access: Access,
    action: str,
    target: str,
    read: Callable[[], T],
    size: Callable[[T], int],
) -> T:
    """Run ``read()`` and record the access with ``size(result)`` rows; a read the
    workspace refuses (a :class:`~tessera.errors.TesseraError`) is recorded with size 0
    before the error goes on, since an audit that lists only successes hides probing."""
    from tessera.errors import TesseraError

    try:
        result = read()
    except TesseraError:
        record(log, access, action, target, 0)
        raise
    record(log, access, action, target, size(result))
    return result


def verify(log: Workspace | AuditLog) -> VerifyResult:
    """Verify a workspace's audit log; see :func:`verify_rows` for what is checked."""
    return AuditLog.of(log).verify()


def entries(
    log: Workspace | AuditLog,
    *,
    user: str | None = None,
    case: str | None = None,
    action: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int | None = None,
) -> list[AuditEntry]:
    """List a workspace's audit entries; see :meth:`AuditLog.entries`."""
    return AuditLog.of(log).entries(
        user=user, case=case, action=action, since=since, until=until, limit=limit
    )
