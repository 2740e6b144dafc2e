"""A batch is atomic: killing the process at any moment leaves the workspace as it was
before the batch (or, if the kill came after the commit, with the whole batch), and the
workspace still opens."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from tessera.workspace import Workspace

N = 600_000

SCRIPT = """
import sys
from tessera.workspace import Workspace
ws = Workspace.open(sys.argv[1])
print("ready", flush=True)
ws.ingest(sys.argv[2], [sys.argv[3]])
ws.close()
print("done", flush=True)
"""


def _state(path: Path) -> tuple[int, int, int]:
    with Workspace.open(path) as ws:
        return (
            ws.engine.row_count("obs_device_event"),
            ws.engine.row_count("ingest_batch"),
            ws.engine.row_count("quarantine"),
        )


def test_kill_at_any_moment(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    first = tmp_path / "first.parquet"
    second = tmp_path / "second.parquet"
    for path, offset in ((first, 0), (second, 10**6)):
        pq.write_table(
            pa.table(
                {
                    "msisdn": [f"+4915{x:09d}" for x in rng.integers(0, 5000, N)],
                    "t": pa.array(
                        np.int64(1_772_000_000_000) + offset + np.arange(N, dtype=np.int64) * 1000
                    ).cast(pa.timestamp("ms", tz="UTC")),
                    "cell": [f"S{x}" for x in rng.integers(0, 500, N)],
                }
            ),
            path,
        )
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        yaml.safe_dump(
            {
                "source": "op",
                "kind": "device_event",
                "properties": {
                    "msisdn": "msisdn",
                    "time": "t",
                    "sensor_id": "cell",
                    "event_type": {"constant": "location_update"},
                },
            }
        )
    )
    ws_path = tmp_path / "ws"
    with Workspace.init(ws_path) as ws:
        ws.ingest(mapping, [first])
    before = _state(ws_path)
    assert before == (N, 1, 0)

    # How long does a full second batch take, uninterrupted? (on a throwaway copy)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    t0 = time.perf_counter()
    full = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(ws_path), str(mapping), str(second)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    full_time = time.perf_counter() - t0
    assert "done" in full.stdout
    after = _state(ws_path)
    assert after == (2 * N, 2, 0)

    # Start again from `before`: rebuild the workspace with only the first batch.
    outcomes = []
    fractions = [0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.9, 0.97]
    for frac in fractions:
        path = tmp_path / f"ws{frac}"
        with Workspace.init(path) as ws:
            ws.ingest(mapping, [first])
        with subprocess.Popen(
            [sys.executable, "-c", SCRIPT, str(path), str(mapping), str(second)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        ) as proc:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready"
            time.sleep(frac * full_time)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=60)
        state = _state(path)  # the workspace still opens
        assert state in (before, after), (frac, state)
        outcomes.append(state == after)
        # and it still takes the batch afterwards
        with Workspace.open(path) as ws:
            ws.ingest(mapping, [second])
        assert _state(path)[0] == 2 * N
    assert not all(outcomes), "every kill came after the commit; the test proved nothing"
