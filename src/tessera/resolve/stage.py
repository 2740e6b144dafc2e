"""The ``resolution`` stage: registry records to canonical entities, per kind.

For each kind in :data:`~tessera.resolve.kinds.KINDS`:

1. **Features.** The kind's feature query runs over its source table into a temporary
   table (one row per record; ``unique_id`` is the record's stable ``obs_id``).
2. **Model.** Without a stored model, Splink estimates one with no labels: a first
   prior from deterministic rules, u by random sampling, m by EM under the kind's
   training blocks, then the prior implied by the model's scores of all candidate
   pairs (:func:`prior_from_pairs`). Weights are then bounded (:func:`bounded`) and
   the model, with the term frequencies it saw, is stored in ``resolution_model`` and
   ``resolution_tf``. Later runs reuse it (``tessera build --retrain`` replaces it)
   as long as the kind's features, comparisons and rules are those it was estimated
   for (:meth:`~tessera.resolve.kinds.KindSpec.structure`); a model estimated for
   others (an earlier version of Tessera) is estimated anew.
3. **Pairs.** Candidate pairs from the blocking rules are scored; pairs at or above
   the kind's ``keep`` probability are stored in ``resolution_pair_<kind>`` with every
   per-comparison weight (the explanation). When the records only grew since the last
   run with the same model, only pairs touching the new records are scored
   (``predict_between`` new and old, ``predict_within`` new): the stored pairs are
   exactly those a full run would produce, because the model and its term
   frequencies are frozen.
4. **Clusters.** :func:`~tessera.resolve.cluster.cluster_records` turns pairs and
   analyst judgements into entities: ``resolution_record`` (record -> entity) and
   ``resolution_entity``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tessera.engines.base import Engine, quote
from tessera.errors import ResolutionError
from tessera.resolve.cluster import cluster_records
from tessera.resolve.kinds import KINDS, KindSpec, rule

RECORDS = "resolution_record"
ENTITIES = "resolution_entity"
MODELS = "resolution_model"
# the key under which a stored model's settings keep the KindSpec.structure they were
# estimated for (left out of what Splink is given)
STRUCTURE_KEY = "tessera_structure"
TERM_FREQUENCIES = "resolution_tf"
JUDGEMENTS = "resolution_judgement"

# Bounds on the estimated m and u probabilities of non-null levels: EM can drive an m
# to zero for a level it never saw among matches (an address match within one
# registry), which would make that level veto any match (-50 bits). Bounded, no single
# comparison contributes more than about -9 or +20 bits.
M_FLOOR = 0.002
U_FLOOR = 1e-6
PRIOR_FLOOR = 1e-9
# the least count a value's term frequency stands for (see term_frequencies)
TF_MIN_RECORDS = 0.5

Progress = Callable[[str], None]


def pair_table(kind: str) -> str:
    return f"resolution_pair_{kind}"


def features_table(kind: str) -> str:
    return f"resolution_features_{kind}"


@dataclass(frozen=True)
class KindRun:
    """What one kind's run did."""

    kind: str
    records: int
    new_records: int
    pairs: int
    trained: bool
    incremental: bool


@contextmanager
def quiet_splink() -> Iterator[None]:
    """Splink logs every EM iteration at INFO; Tessera reports its own progress."""
    logger = logging.getLogger("splink")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def bounded(model: dict[str, Any]) -> dict[str, Any]:
    """A copy of a Splink model with m and u of non-null levels kept off zero."""
    out: dict[str, Any] = json.loads(json.dumps(model))
    # a random id of the Linker object, not of the model: without it the same training
    # stores the same model (and model id) every time
    out.pop("linker_uid", None)
    # a register with no duplicates estimates a prior of 0, which no weight can overcome
    prior = float(out.get("probability_two_random_records_match") or PRIOR_FLOOR)
    out["probability_two_random_records_match"] = min(max(prior, PRIOR_FLOOR), 0.5)
    for comparison in out["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            if level.get("m_probability") is not None:
                level["m_probability"] = max(float(level["m_probability"]), M_FLOOR)
            if level.get("u_probability") is not None:
                level["u_probability"] = max(float(level["u_probability"]), U_FLOOR)
    return out


def prior_from_pairs(weights: Any, start: float, records: int) -> float:
    """The prior that the model's own scores of the candidate pairs imply.

    ``weights`` are the match weights (bits) of every pair the blocking rules generate,
    scored at prior ``start``; each carries the Bayes factor
    ``K = 2 ** (weight - logit2(start))``, which does not depend on the prior. With m and
    u fixed, expectation maximisation of the prior alone iterates

        lambda <- sum_i lambda K_i / (lambda K_i + 1 - lambda) / (records (records - 1) / 2)

    (the expected number of matching pairs over all pairs; pairs the blocking rules
    never generate count as non-matches, so the estimate leans low). The log-likelihood
    is concave in lambda, so the fixed point is unique and does not depend on
    ``start``. The deterministic-rules estimate needs a guess of those rules' recall
    (0.8), and errs low by as much as that guess is high: with typos in names and dates
    exact rules may find a fifth of the matches."""
    import numpy as np

    total = records * (records - 1) / 2
    start = min(max(start, PRIOR_FLOOR), 0.5)
    if total <= 0 or len(weights) == 0:
        return start
    logit = np.log2(start / (1 - start))
    bayes = np.exp2(np.clip(np.asarray(weights, dtype=float) - logit, -200.0, 200.0))
    lam = start
    for _ in range(500):
        new = float(np.sum(lam * bayes / (lam * bayes + 1 - lam)) / total)
        new = min(max(new, PRIOR_FLOOR), 0.5)
        if abs(new - lam) <= 1e-9 + 1e-6 * lam:
            return new
        lam = new
    return lam


def tf_columns(model: Mapping[str, Any]) -> list[str]:
    """Columns whose term frequencies adjust some level of ``model``."""
    cols = {
        level["tf_adjustment_column"]
        for comparison in model["comparisons"]
        for level in comparison["comparison_levels"]
        if level.get("tf_adjustment_column")
    }
    return sorted(cols)


# -- the stored model ----------------------------------------------------------------


@dataclass(frozen=True)
class StoredModel:
    kind: str
    model_id: str
    settings: dict[str, Any]
    trained_at: dt.datetime
    records: int


def load_model(engine: Engine, kind: str) -> StoredModel | None:
    rows = engine.fetch_rows(
        f"SELECT model_id, settings, trained_at, records FROM {MODELS} WHERE kind = ?", [kind]
    )
    if not rows:
        return None
    model_id, settings, trained_at, records = rows[0]
    return StoredModel(kind, model_id, json.loads(settings), trained_at, int(records))


def _train(
    engine: Engine, work: Engine, spec: KindSpec, table: str, n: int, say: Progress
) -> StoredModel:
    """Estimate a model on ``work`` (the scratch engine) and store it in ``engine``."""
    from splink import Linker
    from splink.internals.exceptions import EMTrainingException, SplinkException

    notes: list[str] = []
    api = work.splink_api()
    with quiet_splink():
        linker = Linker(api.register(table), work.splink_settings(spec.settings()), log_level=None)
        try:
            linker.training.estimate_probability_two_random_records_match(
                [rule(r, work) for r in spec.prior_rules], recall=spec.prior_recall
            )
        except SplinkException as exc:  # no pair satisfies the rules: keep the default
            notes.append(f"prior left at its default: {str(exc).splitlines()[0]}")
        # every pair of the sample is counted (min_count_per_level=None): Splink's
        # default stops at the first chunk in which every level has 100 pairs, about 20
        # right-hand records of the sample, each paired only with records of
        # smaller id, so the u it gave depended on the ids (the ingest order) and the
        # model with it (docs/resolution.md, "Estimates that do not depend on the ids")
        linker.training.estimate_u_using_random_sampling(
            max_pairs=spec.u_pairs, seed=1, min_count_per_level=None
        )
        for block in spec.training_blocks:
            before = linker.misc.save_model_to_json()
            try:
                linker.training.estimate_parameters_using_expectation_maximisation(
                    rule(block, work)
                )
            except EMTrainingException as exc:
                # too few pairs under this block (a register with no duplicates)
                notes.append(f"EM under {block!r} skipped: {str(exc).splitlines()[0]}")
            except ValueError as exc:
                # Splink refuses an m it estimated itself when it underflows (below 1e-300:
                # a level almost no match reaches under this block), mid-iteration, leaving
                # the model half updated: the block's session is undone
                if "below the minimum allowed value" not in str(exc):
                    raise
                linker = Linker(api.register(table), bounded(before), log_level=None)
                notes.append(f"EM under {block!r} undone: {str(exc).splitlines()[0]}")
        settings = canonical_sql(bounded(linker.misc.save_model_to_json()), spec)
        start = float(settings["probability_two_random_records_match"])
        prior = start
        freqs: dict[str, Any] = {}
        # twice: the prior from Splink's record term frequencies, then from the
        # deduplicated ones that prior implies (see term_frequencies)
        for _ in range(2 if spec.prior_from_pairs else 0):
            # only the weights are read: the pairs without their columns (at 200,000
            # people the full rows spilled more than 60 GB)
            narrow = {
                **settings,
                "retain_matching_columns": False,
                "retain_intermediate_calculation_columns": False,
            }
            model = StoredModel(spec.kind, "training", narrow, dt.datetime.now(dt.UTC), n)
            scorer = _linker(work, api, table, model, freqs)
            scored = scorer.inference.predict()
            weights = work.fetch_arrow(f"SELECT match_weight FROM {scored.physical_name}")
            prior = prior_from_pairs(weights.column(0).to_numpy(), prior, n)
            settings["probability_two_random_records_match"] = prior
            settings = bounded(settings)
            freqs = {
                c: term_frequencies(work, spec.kind, table, c, prior * (n - 1))
                for c in tf_columns(settings)
            }
        if spec.prior_from_pairs:
            notes.append(
                f"prior {prior:.3g} from {weights.num_rows:,} candidate pairs "
                f"(deterministic rules: {start:.3g})"
            )
        else:
            freqs = {
                c: term_frequencies(work, spec.kind, table, c, prior * (n - 1))
                for c in tf_columns(settings)
            }
    for note in notes:
        say(f"{spec.kind}: {note}")
    settings[STRUCTURE_KEY] = spec.structure()
    text = json.dumps(settings, sort_keys=True)
    model_id = hashlib.sha256(text.encode()).hexdigest()[:16]
    now = dt.datetime.now(dt.UTC)
    engine.execute(f"DELETE FROM {MODELS} WHERE kind = ?", [spec.kind])
    engine.execute(
        f"INSERT INTO {MODELS} VALUES (?, ?, ?, ?, ?)", [spec.kind, model_id, text, now, n]
    )
    # freeze the term frequencies the model was trained with
    engine.execute(f"DELETE FROM {TERM_FREQUENCIES} WHERE kind = ?", [spec.kind])
    for counts in freqs.values():
        engine.append_arrow(TERM_FREQUENCIES, counts)
    return StoredModel(spec.kind, model_id, settings, now, n)


def canonical_sql(settings: dict[str, Any], spec: KindSpec) -> dict[str, Any]:
    """Trained ``settings`` with their SQL in the canonical dialect: an engine in another
    dialect trains on translated conditions, and the stored model must read the same on
    every engine. The comparisons and rules are the kind's own, in the same order, so
    each condition is taken from the kind's canonical settings at the same place."""
    if settings.get("sql_dialect") == "duckdb":
        return settings
    canon = spec.settings().create_settings_dict("duckdb")
    out = {**settings, "sql_dialect": "duckdb"}
    out["comparisons"] = [
        {**c, "comparison_levels": [
            {**lv, "sql_condition": cl["sql_condition"]}
            for lv, cl in zip(c["comparison_levels"], cc["comparison_levels"], strict=True)
        ]}
        for c, cc in zip(settings["comparisons"], canon["comparisons"], strict=True)
    ]  # fmt: skip
    out["blocking_rules_to_generate_predictions"] = canon["blocking_rules_to_generate_predictions"]
    return out


def term_frequencies(work: Engine, kind: str, table: str, col: str, others: float) -> Any:
    """The term frequency of each value of ``col``, deduplicated (Arrow table with
    ``kind``, ``column_name``, ``value``, ``tf``).

    Splink's term-frequency adjustment scores agreement on value ``v`` with the Bayes
    factor ``m / tf_v``, where ``tf_v`` stands for the chance that a record of *another*
    entity has ``v``. The record frequency ``k_v / N`` (``k_v`` records of ``N`` non-null
    ones have ``v``) overstates that chance for rare values, because it counts the
    record itself and its own duplicates: a name written in two registers of one
    person has ``k_v = 2`` though nobody else bears it. Tessera therefore uses

        tf_v = max(k_v - 1 - others, TF_MIN_RECORDS) / N

    where ``others`` is the expected number of *other* records of a record's own entity,
    ``lambda (N - 1)`` for the prior ``lambda`` (the expected matching pairs
    ``lambda N (N - 1) / 2``, times two, over ``N`` records). ``TF_MIN_RECORDS`` (half a
    record) keeps a value seen only within one entity from weighing without bound; a
    common value (``k_v`` far above ``others``) keeps almost its record frequency."""
    others = max(float(others), 0.0)
    return work.fetch_arrow(
        f"SELECT '{kind}' AS kind, '{col}' AS column_name, "
        f"CAST({quote(col)} AS VARCHAR) AS value, "
        f"greatest(count(*) - 1 - {others!r}, {TF_MIN_RECORDS!r}) / sum(count(*)) OVER () AS tf "
        f"FROM {quote(table)} WHERE {quote(col)} IS NOT NULL GROUP BY {quote(col)} "
        "ORDER BY value"
    )


def _linker(
    work: Engine, api: Any, table: str, model: StoredModel, freqs: Mapping[str, Any]
) -> Any:
    """A Splink linker on ``work`` over ``table`` with ``model`` and the term frequency
    tables ``freqs`` (column -> Arrow ``value, tf``) registered; a column without one
    gets Splink's own record frequencies."""
    from splink import Linker

    splink_settings = {k: v for k, v in model.settings.items() if k != STRUCTURE_KEY}
    linker = Linker(api.register(table), work.splink_settings(splink_settings), log_level=None)
    types = dict(work.columns(table))
    for col, frozen in freqs.items():
        lookup = f"tf_lookup_{col}"
        copy_in(work, "tessera_tf_arrow", frozen.select(["value", "tf"]))
        work.temp_table(
            lookup,
            f"SELECT CAST(value AS {types[col]}) AS {quote(col)}, tf AS {quote('tf_' + col)} "
            "FROM tessera_tf_arrow",
        )
        linker.table_management.register_term_frequency_lookup(api.register(lookup), col)
    return linker


def linker_for(engine: Engine, work: Engine, api: Any, table: str, model: StoredModel) -> Any:
    """A Splink linker on ``work`` over ``table`` with the stored model and its frozen
    term frequencies (read from ``engine``) registered."""
    freqs = {
        col: engine.fetch_arrow(
            f"SELECT value, tf FROM {TERM_FREQUENCIES} WHERE kind = ? AND column_name = ?",
            [model.kind, col],
        )
        for col in tf_columns(model.settings)
    }
    return _linker(work, api, table, model, freqs)


def copy_in(work: Engine, name: str, data: Any) -> None:
    """Arrow ``data`` as table ``name`` of ``work``."""
    work.create_temp_table(name, data.schema)
    work.append_arrow(name, data)


# -- one kind ------------------------------------------------------------------------


def resolve_kind(
    engine: Engine, spec: KindSpec, *, previous: set[int], progress: Progress | None = None
) -> KindRun:
    """Features, model, pairs for one kind (clustering is done for all kinds together)."""
    say = progress or (lambda _msg: None)
    feats = features_table(spec.kind)
    engine.temp_table(feats, spec.features())
    n = engine.row_count(feats)
    pairs = pair_table(spec.kind)
    if n < 2:
        engine.execute(
            f"CREATE OR REPLACE TABLE {quote(pairs)} (unique_id_l BIGINT, unique_id_r BIGINT, "
            "match_weight DOUBLE, match_probability DOUBLE)"
        )
        return KindRun(spec.kind, n, n, 0, trained=False, incremental=False)
    work = engine.scratch()
    try:
        if work is not engine:
            copy_in(work, feats, engine.fetch_arrow(f"SELECT * FROM {quote(feats)}"))
        model = load_model(engine, spec.kind)
        if model is not None and model.settings.get(STRUCTURE_KEY) != spec.structure():
            say(
                f"{spec.kind}: the stored model was estimated for other comparisons, "
                "features or blocking rules (an earlier Tessera version): estimating anew"
            )
            model = None
        trained = model is None
        if model is None:
            say(f"{spec.kind}: estimating the model from {n:,} records")
            model = _train(engine, work, spec, feats, n, say)
        ids = {int(r[0]) for r in engine.fetch_rows(f"SELECT unique_id FROM {quote(feats)}")}
        have_pairs = pairs in engine.table_names()
        incremental = bool(previous) and previous <= ids and have_pairs and not trained
        api = work.splink_api()
        with quiet_splink():
            linker = linker_for(engine, work, api, feats, model)
            if not incremental:
                say(f"{spec.kind}: scoring candidate pairs of {n:,} records")
                scored = linker.inference.predict(threshold_match_probability=spec.keep)
                copy_in(engine, "resolution_scored", work.fetch_arrow(
                    f"SELECT * FROM {scored.physical_name} ORDER BY unique_id_l, unique_id_r"
                ))  # fmt: skip
                columns = _pair_columns([c for c, _ in engine.columns("resolution_scored")])
                engine.execute(
                    f"CREATE OR REPLACE TABLE {quote(pairs)} AS "
                    f"SELECT {columns} FROM resolution_scored"
                )
                new = n
            else:
                fresh = sorted(ids - previous)
                new = len(fresh)
                if fresh:
                    import pyarrow as pa

                    say(f"{spec.kind}: scoring {new:,} new records against {len(previous):,}")
                    copy_in(work, "new_ids", pa.table({"unique_id": pa.array(fresh, pa.int64())}))
                    work.temp_table(
                        "new_records",
                        f"SELECT * FROM {quote(feats)} "
                        "WHERE unique_id IN (SELECT unique_id FROM new_ids)",
                    )
                    work.temp_table(
                        "old_records",
                        f"SELECT * FROM {quote(feats)} "
                        "WHERE unique_id NOT IN (SELECT unique_id FROM new_ids)",
                    )
                    new_sdf, old_sdf = api.register("new_records"), api.register("old_records")
                    between = linker.inference.predict_between(
                        new_sdf, old_sdf, threshold_match_probability=spec.keep
                    )
                    within = linker.inference.predict_within(
                        new_sdf, threshold_match_probability=spec.keep
                    )
                    for part in (between, within):
                        copy_in(engine, "resolution_scored", work.fetch_arrow(
                            f"SELECT * FROM {part.physical_name}"
                        ))  # fmt: skip
                        engine.execute(
                            f"INSERT INTO {quote(pairs)} BY NAME SELECT "
                            f"{_ordered_pair_columns(engine, pairs)} FROM resolution_scored"
                        )
    finally:
        if work is not engine:
            work.close()
    return KindRun(spec.kind, n, new, engine.row_count(pairs), trained, incremental)


def _pair_columns(names: list[str]) -> str:
    """Splink's scored columns in one order on every engine (Splink's own order of the
    columns within a comparison differs between its backends): the weight, the
    probability and the two ids, then the others by name, ``match_key`` last."""
    first = ["match_weight", "match_probability", "unique_id_l", "unique_id_r"]
    rest = sorted(n for n in names if n not in first and n != "match_key")
    ordered = [n for n in first if n in names] + rest + [n for n in ["match_key"] if n in names]
    return ", ".join(quote(n) for n in ordered)


def _ordered_pair_columns(engine: Engine, pairs: str) -> str:
    """Select list that stores every pair with ``unique_id_l < unique_id_r``, swapping
    the ``_l`` and ``_r`` columns of pairs scored the other way round."""
    cols = [c for c, _ in engine.columns(pairs)]
    swap = "unique_id_l > unique_id_r"
    out = []
    for c in cols:
        if c.endswith("_l") and c[:-2] + "_r" in cols:
            other = c[:-2] + "_r"
            out.append(f"CASE WHEN {swap} THEN {quote(other)} ELSE {quote(c)} END AS {quote(c)}")
        elif c.endswith("_r") and c[:-2] + "_l" in cols:
            other = c[:-2] + "_l"
            out.append(f"CASE WHEN {swap} THEN {quote(other)} ELSE {quote(c)} END AS {quote(c)}")
        else:
            out.append(quote(c))
    return ", ".join(out)


# -- clustering ----------------------------------------------------------------------


def judgements(engine: Engine, kind: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """The latest verdict on each judged pair of ``kind``: (same, not same)."""
    rows = engine.fetch_rows(
        f"SELECT record_a, record_b, verdict FROM {JUDGEMENTS} WHERE kind = ? "
        "QUALIFY row_number() OVER (PARTITION BY least(record_a, record_b), "
        "greatest(record_a, record_b) ORDER BY created_at DESC, judgement_id DESC) = 1 "
        "ORDER BY 1, 2",
        [kind],
    )
    same = [(int(a), int(b)) for a, b, v in rows if v == "same"]
    apart = [(int(a), int(b)) for a, b, v in rows if v == "not_same"]
    return same, apart


def cluster_kind(engine: Engine, spec: KindSpec) -> list[tuple[int, int]]:
    """``(record, entity representative)`` for every record of ``spec.kind``."""
    feats = features_table(spec.kind)
    ids = [int(r[0]) for r in engine.fetch_rows(f"SELECT unique_id FROM {quote(feats)}")]
    scored = engine.fetch_rows(
        f"SELECT unique_id_l, unique_id_r, match_probability FROM {quote(pair_table(spec.kind))} "
        "WHERE match_probability >= ?",
        [spec.support],
    )
    known = set(ids)
    same, apart = judgements(engine, spec.kind)
    same = [(a, b) for a, b in same if a in known and b in known]
    apart = [(a, b) for a, b in apart if a in known and b in known]
    if spec.apart is not None:
        # pairs the kind's definition keeps apart weigh as analyst "not same" verdicts
        # (an analyst's "same" still overrides them)
        ruled = engine.fetch_rows(
            f"SELECT p.unique_id_l, p.unique_id_r FROM {quote(pair_table(spec.kind))} p "
            f"JOIN {quote(feats)} l ON l.unique_id = p.unique_id_l "
            f"JOIN {quote(feats)} r ON r.unique_id = p.unique_id_r "
            f"WHERE p.match_probability >= ? AND ({spec.apart})",
            [spec.support],
        )
        apart += [(int(a), int(b)) for a, b in ruled]
    result = cluster_records(
        ids,
        [(int(a), int(b), float(p)) for a, b, p in scored],
        threshold=spec.threshold,
        support=spec.support,
        density=spec.density,
        same=same,
        not_same=apart,
    )
    return sorted(result.cluster.items())


def write_clusters(engine: Engine, kinds: list[KindSpec]) -> dict[str, int]:
    """(Re)write ``resolution_record`` and ``resolution_entity`` from stored pairs and
    judgements (the features tables must exist)."""
    import pyarrow as pa

    kind_col: list[str] = []
    record: list[int] = []
    rep: list[int] = []
    for spec in kinds:
        for r, c in cluster_kind(engine, spec):
            kind_col.append(spec.kind)
            record.append(r)
            rep.append(c)
    data = pa.table(
        {
            "kind": pa.array(kind_col, pa.string()),
            "unique_id": pa.array(record, pa.int64()),
            "representative": pa.array(rep, pa.int64()),
        }
    )
    engine.create_temp_table("resolution_clusters", data.schema)
    engine.append_arrow("resolution_clusters", data)
    models = {s.kind: load_model(engine, s.kind) for s in kinds}
    model_case = " ".join(
        f"WHEN '{k}' THEN '{m.model_id}'" for k, m in models.items() if m is not None
    )
    model_expr = f"CASE c.kind {model_case} END" if model_case else "CAST(NULL AS VARCHAR)"
    unions = " UNION ALL ".join(
        f"SELECT '{s.kind}' AS kind, unique_id, source, record_id "
        f"FROM {quote(features_table(s.kind))}"
        for s in kinds
    )
    n_records = engine.materialise(
        RECORDS,
        f"SELECT c.kind, c.unique_id AS obs_id, f.source, f.record_id, "
        f"c.kind || ':' || c.representative AS entity_id, {model_expr} AS model_id "
        f"FROM resolution_clusters c JOIN ({unions}) f USING (kind, unique_id) "
        "ORDER BY c.kind, c.unique_id",
    )
    n_entities = engine.materialise(
        ENTITIES,
        f"SELECT kind, entity_id, count(*) AS records, "
        f"list(DISTINCT source ORDER BY source) AS sources, "
        f"list(source || ':' || record_id ORDER BY source, record_id) AS record_refs "
        f"FROM {RECORDS} GROUP BY kind, entity_id ORDER BY kind, entity_id",
    )
    return {RECORDS: n_records, ENTITIES: n_entities}


# -- the stage -----------------------------------------------------------------------


def previous_records(engine: Engine, kind: str) -> set[int]:
    """Records clustered by the last run of ``kind`` under its current model."""
    if RECORDS not in engine.table_names():
        return set()
    model = load_model(engine, kind)
    if model is None:
        return set()
    rows = engine.fetch_rows(
        f"SELECT obs_id FROM {RECORDS} WHERE kind = ? AND model_id = ?", [kind, model.model_id]
    )
    return {int(r[0]) for r in rows}


def run(
    engine: Engine, kinds: list[KindSpec] | None = None, progress: Progress | None = None
) -> dict[str, int]:
    specs = list(KINDS.values()) if kinds is None else kinds
    out: dict[str, int] = {}
    for spec in specs:
        result = resolve_kind(
            engine, spec, previous=previous_records(engine, spec.kind), progress=progress
        )
        out[pair_table(spec.kind)] = result.pairs
    out.update(write_clusters(engine, specs))
    return out


def forget_models(engine: Engine, kinds: list[str] | None = None) -> None:
    """Drop stored models (all, or of ``kinds``): the next build estimates new ones."""
    for kind in kinds or list(KINDS):
        if kind not in KINDS:
            raise ResolutionError(f"unknown kind {kind!r}; kinds: {', '.join(KINDS)}")
        engine.execute(f"DELETE FROM {MODELS} WHERE kind = ?", [kind])
        engine.execute(f"DELETE FROM {TERM_FREQUENCIES} WHERE kind = ?", [kind])


def recluster(engine: Engine) -> dict[str, int]:
    """Re-cluster every resolved kind from its stored pairs and the judgements (after a
    judgement: no pair is scored again). Nothing to do before the first build."""
    tables = set(engine.table_names())
    specs = [s for s in KINDS.values() if pair_table(s.kind) in tables]
    if not specs or RECORDS not in tables:
        return {}
    for spec in specs:
        engine.temp_table(features_table(spec.kind), spec.features())
    return write_clusters(engine, specs)
