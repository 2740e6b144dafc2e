"""Link hypotheses and the analyst judgements that confirm or reject them.

Every inferred link is a hypothesis: a device belongs to a person
(``device_person``), a vehicle to a person (``vehicle_person``, with its role), a
device is another's second phone (``second_phone``), one device took over from
another (``device_swap``). :func:`hypotheses` lists a person's, each with its score,
its chance baseline, its confidence, its evidence and the latest judgement on it;
:func:`judge` records an analyst's ``confirm`` or ``reject`` with a reason code
(:class:`Reason`, never free text alone; a note may add detail) in the system table
``link_judgement``, and writes it to the audit log (``hypothesis.judge``).

A hypothesis id is ``KIND:A|B``: ``device_person:imsi:2620…|person:17``,
``vehicle_person:B-XY123|person:17`` (the primary-user link; a keeper link is a
registration, not an inference), ``second_phone:PRIMARY|SECOND``,
``device_swap:OLD|NEW``.

**How builds honour judgements** (the latest judgement on a hypothesis wins;
``link_judgement`` is state of the ``phones`` and ``attribution`` stages, so a new
judgement reruns them and what follows):

- ``device_person``: a rejection removes every piece of evidence tying the device to
  that person (the device goes to the next best person, or to nobody); a confirmation
  adds evidence ``analyst`` with confidence 1.
- ``vehicle_person``: a rejection removes the vehicle's primary-user link to that
  person; a confirmation makes it a primary-user link with confidence 1.
- ``second_phone`` and ``device_swap``: a rejection removes the pair from the phones
  stage's output (so the second phone no longer inherits the primary's person); a
  confirmation sets its confidence to 1.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tessera.errors import TesseraError

if TYPE_CHECKING:
    from tessera.audit.access import Access
    from tessera.engines.base import Engine
    from tessera.workspace import Workspace

JUDGEMENTS = "link_judgement"
KINDS = ("device_person", "vehicle_person", "second_phone", "device_swap")


class Verdict(StrEnum):
    CONFIRM = "confirm"
    REJECT = "reject"


class Reason(StrEnum):
    """Why an analyst confirms or rejects a link (a code, so that judgements can be
    counted and reviewed; a note may add detail)."""

    CONFIRMED_BY_REGISTRY = "confirmed_by_registry"
    CONFIRMED_BY_OBSERVATION = "confirmed_by_observation"
    CONTRADICTED_BY_REGISTRY = "contradicted_by_registry"
    CONTRADICTED_BY_OBSERVATION = "contradicted_by_observation"
    MISREAD_PLATE = "misread_plate"
    SHARED_VEHICLE = "shared_vehicle"
    OTHER_DOCUMENTED = "other_documented"


REASONS: tuple[str, ...] = tuple(r.value for r in Reason)
VERDICTS: tuple[str, ...] = tuple(v.value for v in Verdict)
NOTE_MAX_CHARS = 1000


class JudgementError(TesseraError):
    """A judgement that cannot be recorded: an unknown hypothesis, verdict or reason."""


def hypothesis_id(kind: str, a: str, b: str) -> str:
    """The id of the hypothesis that ``a`` and ``b`` are linked as ``kind``."""
    return f"{kind}:{a}|{b}"


def parse_id(text: str) -> tuple[str, str, str]:
    """``(kind, a, b)`` of a hypothesis id; :class:`JudgementError` if malformed."""
    kind, sep, rest = text.partition(":")
    if not sep or kind not in KINDS:
        raise JudgementError(
            f"hypothesis id {text!r} must start with one of {', '.join(KINDS)} and ':'"
        )
    a, bar, b = rest.partition("|")
    if not bar or not a or not b or "|" in b:
        raise JudgementError(f"hypothesis id {text!r} must be KIND:A|B (one '|')")
    return kind, a, b


# the hypotheses of one kind, all with the same columns: kind, a, b, person, score,
# baseline (value, kind, meaning), confidence, evidence (a short text)
_HYPOTHESES_SQL = {
    "device_person": """
SELECT 'device_person' AS kind, device AS a, person AS b, person, confidence AS score,
       runner_up AS baseline, 'runner_up_confidence' AS baseline_kind,
       'confidence of the best other person this device could belong to' AS baseline_meaning,
       confidence, evidence
FROM link_device_person""",
    "vehicle_person": """
SELECT 'vehicle_person', vp.vehicle, vp.person, vp.person, c.bits, c.expected,
       'expected_co_observations',
       'co-observations of the vehicle and its primary device expected by chance',
       vp.confidence, vp.evidence
FROM link_vehicle_person vp LEFT JOIN link_vehicle v ON v.vehicle = vp.vehicle
LEFT JOIN cotravel_pair c ON c.kind = 'vehicle_device' AND c.a = vp.vehicle
  AND c.b = v.primary_device
WHERE vp.role = 'primary_user'""",
    "second_phone": """
SELECT 'second_phone', s."primary", s.second, dp.person, s.score, NULL, 'runner_up_margin',
       'the score is in bits over the best other candidate primary (see evidence)',
       s.confidence, s.evidence
FROM link_second_phone s JOIN link_device_person dp ON dp.device = s."primary" """,
    "device_swap": """
SELECT DISTINCT 'device_swap', w.old, w.new, dp.person, w.score, NULL, 'none',
       'a takeover in time: one device stops as the other starts (see evidence)',
       w.confidence, w.evidence
FROM link_device_swap w JOIN link_device_person dp
  ON dp.device = split_part(w.old, '@', 1) OR dp.device = split_part(w.new, '@', 1)""",
}

_COLUMNS = (
    "kind, a, b, person, score, baseline, baseline_kind, baseline_meaning, confidence, evidence"
)

_LATEST = f"""
SELECT hypothesis, verdict, reason, note, user_name, case_ref, created_at FROM {JUDGEMENTS}
QUALIFY row_number() OVER (PARTITION BY hypothesis ORDER BY created_at DESC,
                                         judgement_id DESC) = 1"""


def _available(engine: Engine) -> list[str]:
    """The kinds whose tables exist in this workspace."""
    tables = set(engine.table_names())
    needs = {
        "device_person": {"link_device_person"},
        "vehicle_person": {"link_vehicle_person", "link_vehicle", "cotravel_pair"},
        "second_phone": {"link_second_phone", "link_device_person"},
        "device_swap": {"link_device_swap", "link_device_person"},
    }
    return [k for k in KINDS if needs[k] <= tables]


def hypotheses(ws: Workspace, person: str) -> list[dict[str, Any]]:
    """The inferred links of ``person`` (see the module docstring), strongest first
    within each kind, each with the latest judgement on it (or None). Not audited:
    callers read it inside an audited read."""
    engine = ws.engine
    kinds = _available(engine)
    if not kinds:
        return []
    union = " UNION ALL ".join(f"SELECT * FROM ({_HYPOTHESES_SQL[k]}) h({_COLUMNS})" for k in kinds)
    rows = engine.fetch_arrow(
        f"WITH h AS ({union}), j AS ({_LATEST}) "
        "SELECT h.*, j.verdict, j.reason, j.note, j.user_name, j.case_ref, j.created_at "
        "FROM h LEFT JOIN j ON j.hypothesis = h.kind || ':' || h.a || '|' || h.b "
        "WHERE h.person = ? ORDER BY h.kind, h.confidence DESC, h.a, h.b",
        [person],
    ).to_pylist()
    out = []
    for r in rows:
        judgement = None
        if r["verdict"] is not None:
            judgement = {
                "verdict": r["verdict"],
                "reason": r["reason"],
                "note": r["note"],
                "user": r["user_name"],
                "case": r["case_ref"],
                "at": r["created_at"].isoformat(),
            }
        out.append(
            {
                "id": hypothesis_id(r["kind"], r["a"], r["b"]),
                "kind": r["kind"],
                "a": r["a"],
                "b": r["b"],
                "person": r["person"],
                "score": r["score"],
                "chance_baseline": {
                    "kind": r["baseline_kind"],
                    "value": r["baseline"],
                    "meaning": r["baseline_meaning"],
                },
                "confidence": r["confidence"],
                "evidence": r["evidence"],
                "judgement": judgement,
            }
        )
    return out


def _exists(engine: Engine, kind: str, a: str, b: str) -> bool:
    if kind not in _available(engine):
        return False
    sql = f"SELECT 1 FROM ({_HYPOTHESES_SQL[kind]}) h({_COLUMNS}) WHERE a = ? AND b = ? LIMIT 1"
    return bool(engine.fetch_rows(sql, [a, b]))


def judge(
    ws: Workspace,
    hypothesis: str,
    verdict: str,
    reason: str,
    access: Access,
    note: str | None = None,
) -> dict[str, Any]:
    """Record ``verdict`` (``confirm`` or ``reject``) on ``hypothesis`` (an id from
    :func:`hypotheses`, which must exist in the current build) with a ``reason`` code,
    by ``access.user`` in ``access.case``; write it to the audit log as
    ``hypothesis.judge``. The next build honours it (module docstring). Returns the
    stored judgement."""
    from tessera.audit.log import record

    kind, a, b = parse_id(hypothesis)
    if verdict not in VERDICTS:
        raise JudgementError(f"verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}")
    if reason not in REASONS:
        raise JudgementError(f"reason must be one of {', '.join(REASONS)}, not {reason!r}")
    if note is not None:
        note = note.strip() or None
        if note is not None and len(note) > NOTE_MAX_CHARS:
            raise JudgementError(f"a note has at most {NOTE_MAX_CHARS} characters")
    engine = ws.engine
    if not _exists(engine, kind, a, b):
        record(ws, access, "hypothesis.judge", hypothesis, 0, {"verdict": verdict})
        raise JudgementError(
            f"no hypothesis {hypothesis!r} in this workspace's current build "
            "(judge what `hypotheses` lists)"
        )
    at = dt.datetime.now(dt.UTC)
    with engine.transaction():
        [(next_id,)] = engine.fetch_rows(
            f"SELECT coalesce(max(judgement_id), 0) + 1 FROM {JUDGEMENTS}"
        )
        engine.execute(
            f"INSERT INTO {JUDGEMENTS} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                int(next_id),
                hypothesis,
                kind,
                a,
                b,
                verdict,
                reason,
                note,
                access.user,
                access.case,
                at,
            ],
        )
    record(
        ws,
        access,
        "hypothesis.judge",
        hypothesis,
        1,
        {"verdict": verdict, "reason": reason, "judgement_id": int(next_id)},
    )
    return {
        "id": int(next_id),
        "hypothesis": hypothesis,
        "verdict": verdict,
        "reason": reason,
        "note": note,
        "user": access.user,
        "case": access.case,
        "at": at.isoformat(),
    }


def verdicts_sql(engine: Engine, kind: str) -> str:
    """SQL of the latest verdict on every hypothesis of ``kind``: ``a, b, verdict``
    (no rows when the workspace has no judgement table). Used by the stages."""
    if JUDGEMENTS not in set(engine.table_names()):
        return "SELECT NULL::VARCHAR AS a, NULL::VARCHAR AS b, NULL::VARCHAR AS verdict WHERE false"
    return (
        f"SELECT a, b, verdict FROM {JUDGEMENTS} WHERE kind = '{kind}' "
        "QUALIFY row_number() OVER (PARTITION BY a, b ORDER BY created_at DESC, "
        "judgement_id DESC) = 1"
    )


def judged_sql(engine: Engine, kind: str, sql: str, a: str, b: str, order: str) -> str:
    """``sql`` (rows with columns ``a``, ``b`` and ``confidence``) with the latest
    judgements of ``kind`` applied: rejected rows left out, confirmed ones at
    confidence 1; ordered by ``order``."""
    return f"""
WITH x AS ({sql}), v AS ({verdicts_sql(engine, kind)})
SELECT x.* REPLACE (CASE WHEN v.verdict = 'confirm' THEN 1.0
                         ELSE x.confidence END AS confidence)
FROM x LEFT JOIN v ON v.a = x.{a} AND v.b = x.{b}
WHERE v.verdict IS DISTINCT FROM 'reject'
ORDER BY {order}
"""
