"""The stage framework: named steps that read tables and write tables.

A :class:`Stage` declares the tables it reads and the tables it writes, and a
``run`` function that receives the engine and returns the row count of each
table it materialised. :func:`plan` orders stages so that every table is
written before it is read, and rejects cycles, duplicate writers and reads of
tables nobody writes (source tables are written by ingest). Stages never import
an engine library: they speak SQL through the :class:`~tessera.engines.Engine`
port, so the same stage runs on every engine.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from tessera.engines.base import Engine
from tessera.errors import StageError


@dataclass(frozen=True)
class Stage:
    """One pipeline step: ``run(engine)`` writes ``outputs`` from ``inputs``."""

    name: str
    description: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    run: Callable[[Engine], Mapping[str, int]]


@dataclass(frozen=True)
class StageResult:
    stage: str
    outputs: dict[str, int]
    duration_s: float


def registered_stages() -> list[Stage]:
    """Every stage Tessera has, in declaration order (see :func:`plan` for run order)."""
    from tessera.life import STAGES as life
    from tessera.link import STAGES as linking
    from tessera.network import STAGES as network
    from tessera.resolve import STAGE as resolution
    from tessera.stages.identifiers import STAGE as identifiers

    return [identifiers, resolution, *linking, *life, *network]


def source_tables() -> set[str]:
    from tessera.model import get_model

    return {k.table for k in get_model().sources.values()}


def plan(stages: Iterable[Stage], available: Iterable[str] = ()) -> list[Stage]:
    """Order ``stages`` so each runs after the writers of its inputs (stable, Kahn's order)."""
    stages = list(stages)
    have = set(available) | source_tables()
    writer: dict[str, str] = {}
    for st in stages:
        for out in st.outputs:
            if out in writer:
                raise StageError(
                    f"table {out!r} is written by both {writer[out]!r} and {st.name!r}"
                )
            if out in have:
                raise StageError(f"stage {st.name!r} writes {out!r}, which ingest owns")
            writer[out] = st.name
    for st in stages:
        for inp in st.inputs:
            if inp not in writer and inp not in have:
                raise StageError(
                    f"stage {st.name!r} reads {inp!r}, "
                    "which no stage writes and ingest does not load"
                )
    by_name = {st.name: st for st in stages}
    deps = {st.name: {writer[i] for i in st.inputs if i in writer} - {st.name} for st in stages}
    ordered: list[Stage] = []
    done: set[str] = set()
    while len(ordered) < len(stages):
        ready = [n for n in by_name if n not in done and deps[n] <= done]
        if not ready:
            cycle = sorted(n for n in by_name if n not in done)
            raise StageError(f"stages depend on each other in a cycle: {', '.join(cycle)}")
        for n in ready:
            ordered.append(by_name[n])
            done.add(n)
    return ordered


def run_stages(
    engine: Engine,
    stages: Iterable[Stage] | None = None,
    *,
    progress: Callable[[str, int, int], None] | None = None,
) -> list[StageResult]:
    """Run stages in dependency order; each stage's outputs are written in one transaction."""
    ordered = plan(registered_stages() if stages is None else stages)
    results = []
    for i, st in enumerate(ordered):
        if progress is not None:
            progress(st.name, i, len(ordered))
        started_at = dt.datetime.now(dt.UTC)
        t0 = time.perf_counter()
        with engine.transaction():
            try:
                outputs = dict(st.run(engine))
            except StageError:
                raise
            except Exception as exc:
                raise StageError(f"stage {st.name!r} failed: {exc}") from exc
            missing = set(st.outputs) - set(outputs)
            if missing:
                raise StageError(f"stage {st.name!r} did not write {sorted(missing)}")
            duration = time.perf_counter() - t0
            engine.execute(
                "INSERT INTO stage_run VALUES (?, ?, ?, ?, ?)",
                [st.name, started_at, dt.datetime.now(dt.UTC), duration, json.dumps(outputs)],
            )
        results.append(StageResult(st.name, outputs, duration))
    if progress is not None:
        progress("", len(ordered), len(ordered))
    return results


__all__ = ["Stage", "StageResult", "plan", "registered_stages", "run_stages"]
