"""Entity resolution: registry records to canonical people, organisations, vehicles
and subscriptions, with Splink, explainable weights and analyst judgements.

See docs/resolution.md. The stage is :data:`STAGE`; :func:`explain` gives the
per-comparison weights behind a pair of records and :func:`judge` records an
analyst's "same" or "not same", which every later build honours.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from tessera.resolve.kinds import KINDS, KindSpec
from tessera.stages import Stage

if TYPE_CHECKING:
    from tessera.engines.base import Engine


def _run(engine: Engine) -> Mapping[str, int]:
    from tessera.resolve.stage import run

    return run(engine)


def _outputs() -> tuple[str, ...]:
    from tessera.resolve.stage import ENTITIES, RECORDS, pair_table

    return (*(pair_table(k) for k in KINDS), RECORDS, ENTITIES)


def _state() -> tuple[str, ...]:
    from tessera.resolve.stage import JUDGEMENTS, MODELS, TERM_FREQUENCIES

    # kept across builds: the stored models (the stage writes them when it trains; a
    # `--retrain` deletes them), their term frequencies, and analyst judgements
    return (MODELS, TERM_FREQUENCIES, JUDGEMENTS)


STAGE = Stage(
    name="resolution",
    description="Resolve registry records into people, organisations, vehicles and subscriptions.",
    inputs=tuple(sorted({s.table for s in KINDS.values()})),
    outputs=_outputs(),
    run=_run,
    state=_state(),
)

__all__ = ["KINDS", "STAGE", "KindSpec"]
