"""Score a built workspace against the hidden truth of a simulated district.

::

    from tessera.evaluate import evaluate
    result = evaluate("ws", "OUT/truth")   # or "OUT"
    result.metrics   # {"identifiers.msisdn_recall": 0.98, "ingest.quarantine.f1": 1.0, ...}
    result.skipped   # {"identifiers.vehicles": "the truth folder ... has no vehicles.parquet"}

Metrics come from *providers*: functions ``(ws, truth) -> {dotted name: number}``
declared with the workspace tables and truth files they read. The harness runs every
provider whose inputs exist and reports the others as skipped, with the reason.

How a stage adds its metrics (``resolution``, ``linking``, ...):

1. Write ``tessera/evaluate/<stage>.py`` with small functions
   ``(ws: Workspace, truth: Truth) -> dict[str, float]`` that read the stage's output
   tables through ``ws.engine`` and the truth through ``truth.read("x.parquet",
   columns)``; raise :class:`SkipProvider` when there is nothing to score.
2. Declare them in a module constant ``PROVIDERS``: a tuple of :class:`Provider`
   with a unique ``name``, the ``prefix`` of their metric names (the stage's name,
   e.g. ``resolution.person``), and their inputs (``tables``, ``truth_files``,
   ``manifest``).
3. Add the module to :func:`registered_providers` (``harness.py``), and its metrics to
   ``docs/evaluation.md`` with a known-answer test in ``tests/evaluate/``.

Metric values must be finite numbers; a provider's names must start with its prefix
and no name may be reported twice (:class:`~tessera.errors.EvaluationError`).
"""

from tessera.evaluate.harness import (
    Evaluation,
    Provider,
    SkipProvider,
    evaluate,
    registered_providers,
)
from tessera.evaluate.truth import Truth

__all__ = [
    "Evaluation",
    "Provider",
    "SkipProvider",
    "Truth",
    "evaluate",
    "registered_providers",
]
