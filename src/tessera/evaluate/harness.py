"""The harness: metric providers, their registry, and one evaluation run.

A :class:`Provider` declares the workspace tables and truth files it reads; the
harness runs every provider whose inputs exist and records why the others were
skipped. A provider may also find at run time that it has nothing to score and
raise :class:`SkipProvider` with the reason. Metric names are dotted, start with the
provider's ``prefix``, and map to finite numbers.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tessera.errors import EvaluationError
from tessera.evaluate.truth import Truth

if TYPE_CHECKING:
    import pyarrow as pa

    from tessera.workspace import Workspace


@dataclass(frozen=True)
class Provider:
    """A function that scores one part of a workspace against the truth.

    ``compute(ws, truth)`` runs only when every table in ``tables`` exists in the
    workspace, every file in ``truth_files`` exists in the truth folder and, if
    ``manifest`` is set, ``OUT/manifest.json`` exists. ``name`` is unique and is what a
    skip report names; every metric name starts with ``prefix + "."``.
    """

    name: str
    prefix: str
    description: str
    compute: Callable[[Workspace, Truth], Mapping[str, float]]
    tables: tuple[str, ...] = ()
    truth_files: tuple[str, ...] = ()
    manifest: bool = False


class SkipProvider(Exception):
    """Raised by a provider that finds nothing to score; the message is the reason."""


@dataclass(frozen=True)
class Evaluation:
    """Result of a run: ``metrics`` (dotted name -> number, sorted by name) and
    ``skipped`` (provider name -> why it did not run)."""

    metrics: dict[str, float]
    skipped: dict[str, str]


def registered_providers() -> list[Provider]:
    """Every metric provider Tessera has, in report order."""
    from tessera.evaluate.dossier import PROVIDERS as dossier
    from tessera.evaluate.exposure import PROVIDERS as exposure
    from tessera.evaluate.identifiers import PROVIDERS as identifiers
    from tessera.evaluate.ingest import PROVIDERS as ingest
    from tessera.evaluate.life import PROVIDERS as life
    from tessera.evaluate.linking import PROVIDERS as linking
    from tessera.evaluate.meetings import PROVIDERS as meetings
    from tessera.evaluate.network import PROVIDERS as network
    from tessera.evaluate.phones import PROVIDERS as phones
    from tessera.evaluate.plates import PROVIDERS as plates
    from tessera.evaluate.resolution import PROVIDERS as resolution

    return [
        *ingest,
        *identifiers,
        *resolution,
        *plates,
        *phones,
        *linking,
        *life,
        *meetings,
        *network,
        *exposure,
        *dossier,
    ]


def evaluate(
    workspace: Workspace | str | Path,
    truth: Truth | str | Path,
    providers: Sequence[Provider] | None = None,
) -> Evaluation:
    """Score ``workspace`` (open, or a folder opened read-only) against ``truth``
    (a :class:`Truth`, ``OUT/truth`` or ``OUT``) with ``providers`` (default: all)."""
    from tessera.workspace import Workspace

    if not isinstance(truth, Truth):
        truth = Truth(truth)
    chosen = registered_providers() if providers is None else list(providers)
    if isinstance(workspace, Workspace):
        return _run(workspace, truth, chosen)
    with Workspace.open(workspace, read_only=True) as ws:
        return _run(ws, truth, chosen)


def _run(ws: Workspace, truth: Truth, providers: list[Provider]) -> Evaluation:
    names = [p.name for p in providers]
    if len(set(names)) != len(names):
        raise EvaluationError(f"metric providers share a name: {sorted(names)}")
    from tessera.stages import registered_stages

    tables = set(ws.engine.table_names())
    writers = {out: st.name for st in registered_stages() for out in st.outputs}
    metrics: dict[str, float] = {}
    skipped: dict[str, str] = {}
    for provider in providers:
        reason = _missing_inputs(provider, tables, writers, truth)
        if reason is not None:
            skipped[provider.name] = reason
            continue
        try:
            values = provider.compute(ws, truth)
        except SkipProvider as exc:
            skipped[provider.name] = str(exc)
            continue
        for key, value in values.items():
            metrics[key] = _checked(provider, key, value, metrics)
    return Evaluation(dict(sorted(metrics.items())), skipped)


def _missing_inputs(
    provider: Provider, tables: set[str], writers: dict[str, str], truth: Truth
) -> str | None:
    """Why ``provider`` cannot run (``writers``: table -> the stage that writes it),
    or None when all its inputs exist."""
    reasons = []
    for table in provider.tables:
        if table not in tables:
            hint = (
                f" (written by stage {writers[table]!r}: run `tessera build`)"
                if table in writers
                else ""
            )
            reasons.append(f"the workspace has no table {table!r}{hint}")
    reasons += [
        f"the truth folder {truth.folder} has no {name}"
        for name in provider.truth_files
        if not truth.has(name)
    ]
    if provider.manifest and truth.manifest is None:
        reasons.append(f"there is no {truth.manifest_path}")
    return "; ".join(reasons) or None


def _checked(provider: Provider, key: object, value: object, metrics: dict[str, float]) -> float:
    if not isinstance(key, str) or not key.startswith(provider.prefix + "."):
        raise EvaluationError(
            f"provider {provider.name!r} returned metric {key!r}, which does not start with "
            f"{provider.prefix + '.'!r}"
        )
    if key in metrics:
        raise EvaluationError(f"metric {key!r} is reported twice (again by {provider.name!r})")
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(float(value))
    ):
        raise EvaluationError(
            f"provider {provider.name!r} returned {value!r} for {key!r}; "
            "metrics must be finite numbers"
        )
    return float(value)


# -- helpers for providers ------------------------------------------------------------
@contextmanager
def arrow_view(ws: Workspace, name: str, data: pa.Table) -> Iterator[str]:
    """Expose an Arrow table to the workspace's engine as view ``name`` while in the block."""
    ws.engine.register_arrow(name, data)
    try:
        yield name
    finally:
        ws.engine.unregister(name)


def share(part: int, whole: int) -> float:
    """``part / whole``; a share of nothing is 1.0 (nothing was missed)."""
    return part / whole if whole else 1.0


def precision_recall_f1(found: int, predicted: int, actual: int) -> tuple[float, float, float]:
    """Precision, recall and F1 from the size of the overlap (``found``), of the
    predicted set and of the true set. An empty prediction has precision 1.0 and an
    empty truth recall 1.0; F1 is 0.0 when both precision and recall are."""
    precision, recall = share(found, predicted), share(found, actual)
    total = precision + recall
    return precision, recall, (2 * precision * recall / total if total else 0.0)
