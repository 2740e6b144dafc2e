"""Metrics of the network stages: tie recovery and communities against the truth.

Each true person is scored through the subject that stands for them, as for pattern
of life (:func:`tessera.evaluate.life._subjects`, with at least one observed day); a
subject that stands for more than one true person (a merge) is left out, with its
people.

- ``network.tie.auc``: how well ``net_edge.weight`` ranks the true ties
  (``ties.parquet``, any kind) above pairs with no tie: the ROC AUC over every true tie
  between two scored people (``network.tie.positives``) against as many pairs of scored
  people drawn at random, without a tie (a fixed seed). A pair with no edge scores 0.
  ``network.tie.auc_<kind>`` is the same for the true ties of one kind (``family``,
  ``friend``, ``colleague``, ``acquaintance`` in the simulator) against the same
  negatives; ``.recovered`` is the share of true ties with an edge.
- ``network.tie.auc_observable``: the same over the true ties the data holds a trace
  of (``network.tie.observable`` is their share): the workspace holds a communication
  (``obs_communication``) or a contact-list entry (``obs_contact``) between numbers of
  the two people (``devices.parquet``), or they share a home or a workplace building
  (``persons.parquet``), or they met (``meetings.parquet``). A tie with no trace (in
  the simulator, most acquaintances: random pairs of people who seldom or never
  communicate) is a random pair to any method. ``network.tie.auc_ceiling`` is the
  AUC of an oracle that scores every observable tie 1 and everything else 0: the
  best ``network.tie.auc`` any weight can reach on this data.
- ``network.community.nmi``: normalised mutual information between the Leiden
  communities (``net_community``) and the true organisations, over the scored people
  who belong to an organisation and are in the graph (``network.community.people``);
  ``network.community.coverage`` is the share of the scored organisation members who
  are in the graph. NMI rewards splitting when most organisations are small: with
  everyone in a community of their own it is ``network.community.nmi_alone`` (0.88 on
  the ``small`` simulation), the baseline to read it against;
  ``network.community.adjusted_rand`` (0 for a chance partition, and 0 for everyone
  alone) is not fooled that way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tessera.evaluate.harness import Provider, SkipProvider, arrow_view, share
from tessera.evaluate.life import _subjects
from tessera.evaluate.scores import adjusted_rand, nmi, roc_auc
from tessera.network import tables

if TYPE_CHECKING:
    import pyarrow as pa

    from tessera.evaluate.truth import Truth
    from tessera.workspace import Workspace

SEED = 7


def _scored(ws: Workspace, truth: Truth) -> None:
    """Temp table ``_eval_net_subject(person_id, subject)``, one subject per person."""
    _subjects(ws, truth, 1)
    ws.engine.temp_table(
        "_eval_net_subject",
        "SELECT person_id, subject FROM _eval_life_subject WHERE subject IN ("
        "SELECT subject FROM _eval_life_subject GROUP BY subject HAVING count(*) = 1)",
    )


def _ties(ws: Workspace, truth: Truth) -> dict[str, float]:
    import numpy as np

    _scored(ws, truth)
    true_ties = truth.read("ties.parquet", ["person_a", "person_b", "tie"])
    with arrow_view(ws, "_eval_net_ties", true_ties):
        positives = ws.engine.fetch_arrow(
            """
            SELECT least(sa.subject, sb.subject) AS a,
                   greatest(sa.subject, sb.subject) AS b, min(t.tie) AS tie
            FROM _eval_net_ties t
            JOIN _eval_net_subject sa ON sa.person_id = t.person_a
            JOIN _eval_net_subject sb ON sb.person_id = t.person_b
            GROUP BY ALL
            """
        )
    subjects = sorted(r[0] for r in ws.engine.fetch_rows("SELECT subject FROM _eval_net_subject"))
    if positives.num_rows == 0 or len(subjects) < 3:
        raise SkipProvider("no true tie joins two scored people")
    tied = set(zip(positives["a"].to_pylist(), positives["b"].to_pylist(), strict=True))
    rng = np.random.default_rng(SEED)
    negatives: set[tuple[str, str]] = set()
    possible = len(subjects) * (len(subjects) - 1) // 2 - len(tied)
    want = min(len(tied), possible)
    while len(negatives) < want:
        i, j = rng.integers(0, len(subjects), 2)
        pair = (min(subjects[i], subjects[j]), max(subjects[i], subjects[j]))
        if i != j and pair not in tied:
            negatives.add(pair)
    weights = {
        (a, b): w for a, b, w in ws.engine.fetch_rows(f"SELECT a, b, weight FROM {tables.EDGE}")
    }
    ends = zip(positives["a"].to_pylist(), positives["b"].to_pylist(), strict=True)
    kinds = dict(zip(ends, positives["tie"].to_pylist(), strict=True))
    negative_scores = [weights.get(p, 0.0) for p in negatives]

    def auc(pairs: list[tuple[str, str]]) -> float:
        scores = [weights.get(p, 0.0) for p in pairs] + negative_scores
        return roc_auc(scores, [True] * len(pairs) + [False] * len(negative_scores))

    observable = _observable(ws, truth, positives)
    ceiling = roc_auc(
        [1.0 if p in observable else 0.0 for p in sorted(tied)] + [0.0] * len(negatives),
        [True] * len(tied) + [False] * len(negatives),
    )
    out = {
        "network.tie.auc": auc(sorted(tied)),
        "network.tie.auc_observable": auc(sorted(observable)) if observable else float("nan"),
        "network.tie.auc_ceiling": ceiling,
        "network.tie.observable": share(len(observable), len(tied)),
        "network.tie.positives": len(tied),
        "network.tie.recovered": share(sum(1 for p in tied if p in weights), len(tied)),
    }
    for kind in sorted(set(kinds.values())):
        out[f"network.tie.auc_{kind}"] = auc(sorted(p for p, k in kinds.items() if k == kind))
    return out


def _observable(ws: Workspace, truth: Truth, positives: pa.Table) -> set[tuple[str, str]]:
    """The pairs of ``positives`` (subject ``a < b``) with a trace in the data: see the
    module docstring."""
    devices = truth.read("devices.parquet", ["person_id", "msisdn"])
    persons = truth.read("persons.parquet", ["person_id", "home_building", "work_building"])
    meetings = truth.read("meetings.parquet", ["meeting_id", "participants"])
    names = set(ws.engine.table_names())
    traces = []
    if "obs_communication" in names:
        traces.append("SELECT from_number AS x, to_number AS y FROM obs_communication")
    if "obs_contact" in names:
        traces.append("SELECT owner_number, listed_number FROM obs_contact")
    numbers = (
        f"""
        SELECT DISTINCT least(sa.subject, sb.subject) AS a,
               greatest(sa.subject, sb.subject) AS b
        FROM ({" UNION ALL ".join(traces)}) t
        JOIN _eval_net_dev da ON da.msisdn = t.x
        JOIN _eval_net_subject sa ON sa.person_id = da.person_id
        JOIN _eval_net_dev db ON db.msisdn = t.y
        JOIN _eval_net_subject sb ON sb.person_id = db.person_id
        UNION ALL"""
        if traces
        else ""
    )
    with (
        arrow_view(ws, "_eval_net_pos", positives),
        arrow_view(ws, "_eval_net_dev", devices),
        arrow_view(ws, "_eval_net_person", persons),
        arrow_view(ws, "_eval_net_meeting", meetings),
    ):
        rows = ws.engine.fetch_rows(
            f"""
            WITH placed AS (SELECT s.subject, p.home_building AS home, p.work_building AS work
                            FROM _eval_net_person p JOIN _eval_net_subject s USING (person_id)),
            met AS (SELECT m.meeting_id, s.subject
                    FROM (SELECT meeting_id, unnest(participants) AS person_id
                          FROM _eval_net_meeting) m
                    JOIN _eval_net_subject s USING (person_id)),
            trace AS ({numbers}
                SELECT x.subject AS a, y.subject AS b FROM met x JOIN met y
                    ON x.meeting_id = y.meeting_id AND x.subject < y.subject)
            SELECT p.a, p.b FROM _eval_net_pos p
            LEFT JOIN placed x ON x.subject = p.a LEFT JOIN placed y ON y.subject = p.b
            WHERE x.home = y.home OR (x.work = y.work AND x.work >= 0)
               OR EXISTS (SELECT 1 FROM trace t WHERE t.a = p.a AND t.b = p.b)
            """
        )
    return {(a, b) for a, b in rows}


def _communities(ws: Workspace, truth: Truth) -> dict[str, float]:
    _scored(ws, truth)
    persons = truth.read("persons.parquet", ["person_id", "organisation_id"])
    with arrow_view(ws, "_eval_net_persons", persons):
        rows = ws.engine.fetch_rows(
            f"""
            SELECT p.organisation_id, c.community
            FROM _eval_net_persons p
            JOIN _eval_net_subject s USING (person_id)
            LEFT JOIN {tables.COMMUNITY} c ON c.subject = s.subject
            WHERE p.organisation_id >= 0
            """
        )
    placed = [(org, community) for org, community in rows if community is not None]
    if len(placed) < 2:
        raise SkipProvider("fewer than two organisation members are in the graph")
    orgs, found = [o for o, _ in placed], [c for _, c in placed]
    return {
        "network.community.nmi": nmi(orgs, found),
        "network.community.nmi_alone": nmi(orgs, list(range(len(orgs)))),
        "network.community.adjusted_rand": adjusted_rand(orgs, found),
        "network.community.people": len(placed),
        "network.community.coverage": share(len(placed), len(rows)),
    }


_TRUTH = ("devices.parquet", "records.parquet")
PROVIDERS = (
    Provider(
        name="network.ties",
        prefix="network",
        description="True ties ranked above random pairs by the combined edge weight (AUC).",
        compute=_ties,
        tables=(tables.EDGE, "life_active_hour", "resolution_record"),
        truth_files=("ties.parquet", "persons.parquet", "meetings.parquet", *_TRUTH),
    ),
    Provider(
        name="network.communities",
        prefix="network",
        description="Leiden communities against the true organisations (NMI).",
        compute=_communities,
        tables=(tables.COMMUNITY, "life_active_hour", "resolution_record"),
        truth_files=("persons.parquet", *_TRUTH),
    ),
)
