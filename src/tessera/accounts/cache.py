"""An in-process cache of account and case lookups, invalidated by a generation counter.

Why it is sound
    A workspace open for writing belongs to one process (DuckDB refuses a second), so
    every write to ``account_*`` and ``case_*`` goes through :mod:`tessera.accounts` and
    :mod:`tessera.cases` in this process. Each of their writes calls :func:`bump` after
    its transaction (in a ``finally``), which raises the generation of the workspace's
    cache and empties it, so the very next lookup reads the database again: a revoked
    token, a disabled account, a changed role, a closed case take effect at once.

    A lookup notes the generation before it reads the database and stores what it read
    only if the generation is unchanged afterwards, so a read that raced a write is never
    kept. Expiry times are not cached away: entries keep ``expires_at`` and the caller
    compares it with the current time on every hit.

    The cache is shared by every :class:`~tessera.workspace.Workspace` of the same
    database file in the process (the service's per-thread cursors, a test's own handle);
    it is emptied too when the audit head file was changed by anyone but this process
    (:func:`tessera.audit.log.head_epoch`): every account and case write is audited, so
    a write by another process, made while this one did not hold the workspace, is seen.

Keys are SHA-256 digests of tokens and session ids, account names and case
references; never a secret. At most :data:`MAX_ENTRIES` entries per kind (emptied when
full). Failed lookups are not cached.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from tessera.workspace import Workspace

MAX_ENTRIES = 10_000
T = TypeVar("T")


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.generation = 0
        self.epoch = -1
        self.entries: dict[tuple[str, str], Any] = {}


_CACHES: dict[str, _Cache] = {}
_CACHES_LOCK = threading.Lock()


_RESOLVED: dict[str, str] = {}  # database path as given -> resolved (resolve() is slow)


def _key(ws: Workspace) -> str:
    path = getattr(ws.engine, "path", None)
    if path is None:  # an in-memory database: its own cache per engine
        return f"engine:{id(getattr(ws.engine, 'root', ws.engine))}"
    given = str(path)
    key = _RESOLVED.get(given)
    if key is None:
        key = _RESOLVED[given] = str(Path(path).resolve())
    return key


def _cache(ws: Workspace) -> _Cache:
    key = _key(ws)
    with _CACHES_LOCK:
        found = _CACHES.get(key)
        if found is None:
            found = _CACHES[key] = _Cache()
        return found


def _epoch(ws: Workspace) -> int:
    from tessera.audit.log import head_epoch, head_path

    return head_epoch(head_path(ws.path))


def bump(ws: Workspace) -> None:
    """Forget everything cached for ``ws``'s database: call after every write to
    accounts, tokens, sessions, cases or members (committed or not)."""
    c = _cache(ws)
    with c.lock:
        c.generation += 1
        c.entries.clear()


def cached(ws: Workspace, kind: str, key: str, load: Callable[[], T | None]) -> T | None:
    """The value cached under ``(kind, key)``, else ``load()`` (kept unless None or a
    write happened meanwhile)."""
    c = _cache(ws)
    epoch = _epoch(ws)
    with c.lock:
        if epoch != c.epoch:
            c.epoch = epoch
            c.generation += 1
            c.entries.clear()
        found = c.entries.get((kind, key), c)
        generation = c.generation
    if found is not c:
        value: T | None = found
        return value
    value = load()
    if value is not None:
        with c.lock:
            if c.generation == generation:
                if len(c.entries) >= MAX_ENTRIES:
                    c.entries.clear()
                c.entries[(kind, key)] = value
    return value


__all__ = ["MAX_ENTRIES", "bump", "cached"]
