"""A bounded pool of threads for blocking engine calls, with a time limit per call.

The web server is asynchronous; the engine is not. Every engine call of a request runs
in one of ``pool_size`` threads (:class:`EnginePool`), so the event loop never blocks
and the engine never sees more concurrent statements than there are threads.

Per-thread cursors
    A workspace holds one DuckDB connection, and a DuckDB connection runs one statement
    at a time. Each pool thread therefore gets its own *cursor*: a second connection to
    the same database instance (``connection.cursor()``), with its own transactions,
    wrapped in a :class:`~tessera.workspace.Workspace` of its own (same folder, config
    and read-only flag) so that the domain functions (``dossier.store.read``,
    ``find``, ``audited``...) run unchanged. DuckDB's MVCC keeps concurrent readers
    consistent; audit writes are group-committed by :mod:`tessera.audit` (one leader
    writes what the threads queued; each waits for its own entry).

Time limit
    :meth:`EnginePool.run` waits at most ``call_timeout_s``; past it, the thread's
    connection is interrupted (``interrupt()`` cancels the running statement) and
    :class:`CallTimeout` is raised, which the app answers with 504. The thread is
    released as soon as DuckDB honours the interrupt.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from tessera.engines.duckdb.engine import DuckDBEngine
from tessera.service.settings import ServiceError

if TYPE_CHECKING:
    from tessera.workspace import Workspace

T = TypeVar("T")


class CallTimeout(ServiceError):
    """An engine call ran past the service's time limit and was interrupted."""


class CursorEngine(DuckDBEngine):
    """A :class:`DuckDBEngine` over a cursor of another engine's connection: the same
    database, a separate connection (own transactions, own running statement), used by
    its pool thread only."""

    thread_confined = True

    def __init__(self, parent: DuckDBEngine) -> None:
        self.path = parent.path
        self._con = parent.connection.cursor()
        self._con.execute("SET TimeZone = 'UTC'")
        self._in_transaction = False

    def interrupt(self) -> None:
        """Cancel the statement this cursor is running, if any."""
        self._con.interrupt()


def _thread_workspace(ws: Workspace) -> tuple[Workspace, CursorEngine]:
    from tessera.workspace import Workspace

    engine = CursorEngine(ws.engine)
    view = Workspace(ws.path, ws.config, read_only=ws.read_only)
    view._engine = engine  # its own cursor: Workspace.engine returns it
    return view, engine


class EnginePool:
    """``size`` threads, each with its own cursor workspace over ``ws``."""

    def __init__(self, ws: Workspace, size: int, timeout_s: float) -> None:
        self.ws = ws
        self.size = size
        self.timeout_s = timeout_s
        self._local = threading.local()
        self._engines: list[CursorEngine] = []
        self._engines_lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix="tessera-engine")

    def _workspace(self) -> tuple[Workspace, CursorEngine]:
        found: tuple[Workspace, CursorEngine] | None = getattr(self._local, "ws", None)
        if found is None:
            with self._engines_lock:  # cursor() on the shared connection: one at a time
                found = _thread_workspace(self.ws)
                self._engines.append(found[1])
            self._local.ws = found
        return found

    def _call(self, fn: Callable[..., T], args: tuple[Any, ...], box: list[CursorEngine]) -> T:
        ws, engine = self._workspace()
        box.append(engine)
        return fn(ws, *args)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(ws, *args)`` in a pool thread, ``ws`` being that thread's cursor
        workspace; raise :class:`CallTimeout` past the time limit."""
        loop = asyncio.get_running_loop()
        box: list[CursorEngine] = []
        future = loop.run_in_executor(self._executor, functools.partial(self._call, fn, args, box))
        # the time limit as one timer that cancels the wait (not the thread: a running
        # call goes on until the interrupt stops it), cheaper than wait_for + shield
        expired: list[bool] = []

        def expire() -> None:
            expired.append(True)
            future.cancel()

        timer = loop.call_later(self.timeout_s, expire)
        try:
            return await future
        except asyncio.CancelledError:
            if not expired:
                raise
            for engine in box:
                engine.interrupt()
            raise CallTimeout(
                f"the request took longer than {self.timeout_s:g} s and was stopped; "
                "narrow it (fewer rows, a smaller area or window)"
            ) from None
        finally:
            timer.cancel()

    def close(self) -> None:
        """Stop the threads (waiting for running calls) and close their cursors."""
        self._executor.shutdown(wait=True, cancel_futures=True)
        with self._engines_lock:
            for engine in self._engines:
                engine.close()
            self._engines.clear()
