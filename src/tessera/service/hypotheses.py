"""The one place the service calls :mod:`tessera.link.judgements`.

Link hypotheses (a device or vehicle attributed to a person, a second phone, a device
swap) and the analyst's judgements of them belong to the linking package. The service
reaches them only through :func:`hypotheses` and :func:`judge` here, so that the
linking package can change its module layout with a change to this file alone. Until
that module is installed, both raise :class:`HypothesesUnavailable` (answered 503),
never a guess.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING, Any

from tessera.service.settings import ServiceError

if TYPE_CHECKING:
    from tessera.audit import Access
    from tessera.workspace import Workspace

MODULE = "tessera.link.judgements"
VERDICTS = ("confirm", "reject")
# the reason codes the contract names; the module's own REASONS win when it is present
DEFAULT_REASONS = (
    "confirmed_by_registry",
    "confirmed_by_observation",
    "contradicted_by_registry",
    "contradicted_by_observation",
    "misread_plate",
    "shared_vehicle",
    "other_documented",
)


class HypothesesUnavailable(ServiceError):
    """This installation has no link judgements module yet."""


def _module() -> ModuleType:
    try:
        return importlib.import_module(MODULE)
    except ModuleNotFoundError as exc:
        if exc.name != MODULE:
            raise
        raise HypothesesUnavailable(
            f"link hypotheses need {MODULE}, which this installation lacks"
        ) from None


def reasons() -> tuple[str, ...]:
    """The reason codes a judgement may give."""
    try:
        found = getattr(_module(), "REASONS", None)
    except HypothesesUnavailable:
        return DEFAULT_REASONS
    if found is None:
        return DEFAULT_REASONS
    return tuple(str(getattr(r, "value", r)) for r in found)


def hypotheses(ws: Workspace, person: str) -> list[dict[str, Any]]:
    """The person's link hypotheses (no audit of its own: call it inside an audited read)."""
    found: list[dict[str, Any]] = _module().hypotheses(ws, person)
    return found


def judge(
    ws: Workspace,
    hypothesis_id: str,
    verdict: str,
    reason: str,
    access: Access,
    note: str | None = None,
) -> dict[str, Any]:
    """Confirm or reject one hypothesis (audited by the linking package)."""
    result: dict[str, Any] = _module().judge(ws, hypothesis_id, verdict, reason, access, note=note)
    return result
