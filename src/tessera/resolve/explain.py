"""Why two records are (not) the same entity, and the analyst's word on it.

:func:`explain` scores any two records of one kind with the stored model and returns
the waterfall behind the match weight: the prior, then each comparison's level, the
values compared and the weight it adds (with its term-frequency adjustment), and the
running total. It says whether the build put both records in one entity, and the
analyst judgement on the pair, if any.

:func:`judge` records "same" or "not same" with the user and the reason, and
re-clusters the kind at once; every later build honours the judgement (the latest
judgement on a pair wins).

Records are named ``SOURCE:RECORD_ID`` (the registry's own key) or by ``obs_id``.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tessera.engines.base import quote
from tessera.errors import ResolutionError
from tessera.resolve.kinds import KINDS

if TYPE_CHECKING:
    from tessera.workspace import Workspace

VERDICTS = ("same", "not_same")


@dataclass(frozen=True)
class RecordRef:
    kind: str
    obs_id: int
    source: str
    record_id: str | None

    @property
    def label(self) -> str:
        return f"{self.source}:{self.record_id}" if self.record_id else str(self.obs_id)


@dataclass(frozen=True)
class Step:
    """One bar of the waterfall."""

    comparison: str
    level: str
    left: Any
    right: Any
    weight: float
    tf_adjustment: float
    cumulative: float


@dataclass(frozen=True)
class Explanation:
    kind: str
    left: RecordRef
    right: RecordRef
    steps: list[Step]
    match_weight: float
    match_probability: float
    same_entity: bool | None
    judgement: dict[str, Any] | None


def find_record(ws: Workspace, ref: str) -> RecordRef:
    """The record named ``SOURCE:RECORD_ID`` or by its ``obs_id``, in any resolved kind."""
    engine = ws.engine
    source, sep, record_id = ref.partition(":")
    found: list[RecordRef] = []
    for spec in KINDS.values():
        if sep:
            rows = engine.fetch_rows(
                f"SELECT obs_id, source, record_id FROM {quote(spec.table)} "
                "WHERE source = ? AND record_id = ?",
                [source, record_id],
            )
        elif ref.isdigit():
            rows = engine.fetch_rows(
                f"SELECT obs_id, source, record_id FROM {quote(spec.table)} WHERE obs_id = ?",
                [int(ref)],
            )
        else:
            raise ResolutionError(
                f"cannot read record {ref!r}: name it SOURCE:RECORD_ID (e.g. "
                "residents_registry:MR000102463) or by its obs_id"
            )
        found.extend(RecordRef(spec.kind, int(o), s, r) for o, s, r in rows)
    if not found:
        raise ResolutionError(f"no registry record {ref!r} in {ws.path}")
    if len(found) > 1:
        raise ResolutionError(
            f"{ref!r} names {len(found)} records ({', '.join(str(f.obs_id) for f in found)}); "
            "name one by its obs_id"
        )
    return found[0]


def _pair(ws: Workspace, a: str, b: str) -> tuple[RecordRef, RecordRef]:
    left, right = find_record(ws, a), find_record(ws, b)
    if left.kind != right.kind:
        raise ResolutionError(
            f"{left.label} is a {left.kind} record and {right.label} a {right.kind} record; "
            "only records of one kind can be compared"
        )
    if left.obs_id == right.obs_id:
        raise ResolutionError(f"{a!r} and {b!r} are the same record")
    return left, right


def _levels(model: dict[str, Any], name: str) -> dict[int, str]:
    """gamma value -> level label for comparison ``name``."""
    for comparison in model["comparisons"]:
        if comparison["output_column_name"] != name:
            continue
        levels = comparison["comparison_levels"]
        non_null = [lv for lv in levels if not lv.get("is_null_level")]
        out = {-1: "missing on one side"}
        for i, lv in enumerate(non_null):
            out[len(non_null) - 1 - i] = lv.get("label_for_charts") or lv["sql_condition"]
        return out
    return {}


def explain(ws: Workspace, a: str, b: str) -> Explanation:
    """Score records ``a`` and ``b`` with the stored model of their kind."""
    from tessera.resolve.stage import (
        RECORDS,
        copy_in,
        features_table,
        linker_for,
        load_model,
        quiet_splink,
    )

    left, right = _pair(ws, a, b)
    engine = ws.engine
    spec = KINDS[left.kind]
    model = load_model(engine, spec.kind)
    if model is None:
        raise ResolutionError(
            f"no {spec.kind} model yet in {ws.path}: run `tessera build {ws.path}` first"
        )
    feats = engine.fetch_arrow(
        f"SELECT * FROM ({spec.features()}) WHERE unique_id IN (?, ?) ORDER BY unique_id",
        [left.obs_id, right.obs_id],
    )
    work = engine.scratch()
    try:
        table = features_table(spec.kind)
        copy_in(work, table, feats)
        for side, obs in (("left_record", left.obs_id), ("right_record", right.obs_id)):
            work.execute(f"CREATE TABLE {side} AS SELECT * FROM {table} WHERE unique_id = ?", [obs])
        api = work.splink_api()
        with quiet_splink():
            linker = linker_for(engine, work, api, table, model)
            scored = linker.inference.score_pair(
                api.register("left_record"), api.register("right_record")
            )
            row = scored.as_record_list()[0]
    finally:
        if work is not engine:
            work.close()
    prior = float(model.settings["probability_two_random_records_match"])
    total = math.log2(prior / (1 - prior))
    steps = [Step("prior", "two random records match", None, None, total, 0.0, total)]
    for comparison in model.settings["comparisons"]:
        name = comparison["output_column_name"]
        gamma = int(row[f"gamma_{name}"])
        weight = float(row.get(f"mw_{name}") or 0.0)
        tf = float(row.get(f"mw_tf_adj_{name}") or 0.0)
        total += weight + tf
        shown = _shown_columns(row, name)
        steps.append(
            Step(
                name,
                _levels(model.settings, name).get(gamma, f"level {gamma}"),
                shown[0],
                shown[1],
                weight,
                tf,
                total,
            )
        )
    weight = float(row["match_weight"])
    same_entity = None
    if RECORDS in engine.table_names():
        rows = engine.fetch_rows(
            f"SELECT count(DISTINCT entity_id), count(*) FROM {RECORDS} "
            "WHERE kind = ? AND obs_id IN (?, ?)",
            [spec.kind, left.obs_id, right.obs_id],
        )
        distinct, found = rows[0]
        same_entity = bool(found == 2 and distinct == 1) if found == 2 else None
    return Explanation(
        spec.kind,
        left,
        right,
        steps,
        weight,
        float(row["match_probability"]),
        same_entity,
        latest_judgement(ws, left, right),
    )


def _shown_columns(row: dict[str, Any], comparison: str) -> tuple[Any, Any]:
    """The compared values of a comparison: its ``<col>_l`` and ``<col>_r`` columns."""
    lefts = {k[:-2]: v for k, v in row.items() if k.endswith("_l") and k != "unique_id_l"}
    rights = {k[:-2]: v for k, v in row.items() if k.endswith("_r") and k != "unique_id_r"}
    names = [n for n in lefts if n in rights and not n.startswith(("tf_", "gamma_", "mw_"))]
    used = [n for n in names if n == comparison or n.startswith(comparison)]
    if not used:
        return None, None
    if len(used) == 1:
        return lefts[used[0]], rights[used[0]]
    return (
        {n: lefts[n] for n in used},
        {n: rights[n] for n in used},
    )


def latest_judgement(ws: Workspace, left: RecordRef, right: RecordRef) -> dict[str, Any] | None:
    from tessera.resolve.stage import JUDGEMENTS

    rows = ws.engine.fetch_rows(
        f"SELECT verdict, user_name, reason, created_at FROM {JUDGEMENTS} WHERE kind = ? AND "
        "least(record_a, record_b) = ? AND greatest(record_a, record_b) = ? "
        "ORDER BY created_at DESC, judgement_id DESC LIMIT 1",
        [left.kind, min(left.obs_id, right.obs_id), max(left.obs_id, right.obs_id)],
    )
    if not rows:
        return None
    verdict, user, reason, created_at = rows[0]
    return {"verdict": verdict, "user": user, "reason": reason, "created_at": created_at}


def judge(ws: Workspace, a: str, b: str, verdict: str, *, user: str, reason: str) -> dict[str, int]:
    """Record an analyst's ``same`` or ``not_same`` on records ``a`` and ``b``, then
    re-cluster their kind. Returns the rewritten tables' row counts."""
    from tessera.resolve.stage import JUDGEMENTS, recluster

    if verdict not in VERDICTS:
        raise ResolutionError(f"verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}")
    if not user.strip():
        raise ResolutionError("a judgement needs the user who makes it")
    if not reason.strip():
        raise ResolutionError("a judgement needs a reason (what the analyst saw)")
    left, right = _pair(ws, a, b)
    engine = ws.engine
    with engine.transaction():
        [(next_id,)] = engine.fetch_rows(
            f"SELECT coalesce(max(judgement_id), 0) + 1 FROM {JUDGEMENTS}"
        )
        engine.execute(
            f"INSERT INTO {JUDGEMENTS} VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                int(next_id),
                left.kind,
                left.obs_id,
                right.obs_id,
                verdict,
                user.strip(),
                reason.strip(),
                dt.datetime.now(dt.UTC),
            ],
        )
        return recluster(engine)
