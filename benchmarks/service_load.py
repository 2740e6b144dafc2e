"""Load on the web service: concurrent clients reading random dossiers over loopback.

    python benchmarks/service_load.py WS [--clients 16] [--seconds 20] [--pool 8]

Copies the workspace ``WS`` (a built district) to a temporary folder, adds an analyst
and a supervisor, opens and approves a case whose scope names every person with a
dossier, issues the analyst an API token, starts ``tessera serve`` on a free loopback
port in a separate process, and then runs ``--clients`` concurrent clients (one asyncio
task each, HTTP keep-alive) that request ``GET /api/dossiers/{random person}?case=...``
back to back for ``--seconds`` seconds after a short warm-up. The clients speak
HTTP/1.1 over plain asyncio streams (a minimal keep-alive client, not httpx: on 2 cores
the load generator competes with the server for CPU, and httpx cost about half a core
at 200 requests/s); every answer's status is checked and every request's latency is
measured from writing the request to reading the whole body. Every request is a full
audited read: token lookup, case authorisation, scope check, the dossier, and an
audit-log entry (hash chain, head file).

Prints requests/s and the latency percentiles p50/p95/p99 (nearest-rank over every
completed request), and the count of non-200 answers. Target (issue 9): >= 300
requests/s with p99 < 200 ms on 2 cores from a district workspace.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import math
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(src: Path, dst: Path) -> tuple[str, list[str]]:
    """Copy the workspace, add accounts and a case; return (token, people)."""
    from tessera.accounts import add_user, issue_token
    from tessera.cases import Scope, approve_case, open_case
    from tessera.workspace import Workspace

    shutil.copytree(src, dst)
    with Workspace.open(dst) as ws:
        people = [
            r[0] for r in ws.engine.fetch_rows("SELECT person FROM dossier ORDER BY 1 LIMIT 1000")
        ]
        if not people:
            raise SystemExit(f"{src} has no dossiers: run `tessera build` on it first")
        add_user(ws, "bench", "analyst", "benchmark password", by="local.bench")
        add_user(ws, "boss", "supervisor", "benchmark password", by="local.bench")
        open_case(
            ws,
            "BENCH-1",
            title="Service load benchmark",
            legal_basis="synthetic_demo",
            scope=Scope(subjects=tuple(people)),
            expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=1),
            opened_by="bench",
        )
        approve_case(ws, "BENCH-1", by="boss")
        token = issue_token(ws, "bench", label="load", expires_at=None, by="local.bench")
    return token, people


def percentile(sorted_ms: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted values."""
    if not sorted_ms:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(sorted_ms)))
    return sorted_ms[rank - 1]


class _Conn:
    """One keep-alive HTTP/1.1 connection: a request written, the answer read (status
    line, headers, then a ``Content-Length`` or chunked body). Deliberately minimal: it
    costs the load generator far less CPU than a full client, and on 2 cores the load
    generator shares the machine with the server it measures."""

    def __init__(self, host: str, port: int, headers: str) -> None:
        self.host, self.port, self.headers = host, port, headers
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, target: str) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.reader, self.writer
        assert reader is not None
        writer.write(f"GET {target} HTTP/1.1\r\n{self.headers}\r\n".encode("latin-1"))
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        fields = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                fields[name.strip().lower()] = value.strip()
        if "content-length" in fields:
            body = await reader.readexactly(int(fields["content-length"]))
        elif fields.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                parts.append(await reader.readexactly(size + 2))
                if size == 0:
                    break
            body = b"".join(p[:-2] for p in parts)
        else:
            body = await reader.read()
            fields["connection"] = "close"
        if fields.get("connection", "").lower() == "close":
            writer.close()
            self.reader = self.writer = None
        return status, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def load(
    url: str, token: str, people: list[str], clients: int, seconds: float, warmup: float
) -> tuple[list[float], int, float]:
    """Run ``clients`` keep-alive connections back to back; every completed request's
    latency (request written to body read) is kept, and every answer that is not a 200
    with a non-empty body counts as an error."""
    from urllib.parse import quote, urlsplit

    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", int(parts.port or 80)
    headers = f"Host: {host}:{port}\r\nAuthorization: Bearer {token}\r\nAccept: */*\r\n"
    latencies: list[float] = []
    errors = 0
    start = time.perf_counter()
    measure_from = start + warmup
    stop = measure_from + seconds
    rng = random.Random(7)

    async def client() -> None:
        nonlocal errors
        conn = _Conn(host, port, headers)
        try:
            while True:
                t0 = time.perf_counter()
                if t0 >= stop:
                    return
                person = rng.choice(people)
                status, body = await conn.get(f"/api/dossiers/{quote(person)}?case=BENCH-1")
                t1 = time.perf_counter()
                if t0 >= measure_from:
                    latencies.append((t1 - t0) * 1000)
                    if status != 200 or not body:
                        errors += 1
        finally:
            conn.close()

    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies, errors, seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("workspace", type=Path)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--pool", type=int, default=8)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="tessera-bench-") as tmp:
        ws = Path(tmp) / "ws"
        token, people = prepare(args.workspace, ws)
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tessera",
                "serve",
                str(ws),
                "--port",
                str(port),
                "--pool",
                str(args.pool),
            ],
        )
        try:
            import urllib.error
            import urllib.request

            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/api/health", timeout=1) as r:
                        if r.status == 200:
                            break
                except (urllib.error.URLError, OSError):
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the server did not start")
                time.sleep(0.2)
            latencies, errors, seconds = asyncio.run(
                load(url, token, people, args.clients, args.seconds, args.warmup)
            )
        finally:
            server.terminate()
            server.wait(timeout=30)
    latencies.sort()
    print(
        f"clients={args.clients} pool={args.pool} seconds={seconds:g} people={len(people)} "
        f"requests={len(latencies)} non_200={errors}"
    )
    print(
        f"requests/s={len(latencies) / seconds:.1f} p50={percentile(latencies, 50):.1f}ms "
        f"p95={percentile(latencies, 95):.1f}ms p99={percentile(latencies, 99):.1f}ms"
    )


if __name__ == "__main__":
    main()
