"""Hidden-tie hypotheses and the edge list the graph analytics run on.

Reads ``net_contact``, ``net_copresence`` and ``life_home_work`` and writes two tables
(layouts in :data:`tessera.network.tables.COLUMNS`).

``net_hidden_tie``: pairs whose relationship the communication records understate.

- ``meets_never_talks``: the pair met at least :data:`MIN_MEETINGS` times and no
  communication or contact-list entry links them (no ``net_contact`` row). Ordinary
  acquaintances who meet once are not flagged; people who meet repeatedly and never
  call or text each other are worth a look, because the usual reason is that they use
  channels the data does not hold. ``score`` is the pair's co-presence weight.
- ``second_phones_only``: every communication between the pair involved a second phone
  (``second_phone_events = events``, at least one event). ``score``: the contact weight
  plus the co-presence weight.

A hidden tie is a hypothesis, not a finding: its ``evidence`` says what supports it and
the meetings and events behind it are in ``net_copresence.meeting_ids`` and
``net_contact.obs_ids``.

``net_edge``: one row per pair linked by communication, by co-presence or by a shared
home or workplace, with ``weight = contact_weight + COPRESENCE_FACTOR *
copresence_weight + place_weight``, ``hidden`` true for a hidden tie. ``place_weight``
links the subjects whose home (or work) place (``life_home_work``) is the same
building: ``PLACE_WEIGHT / ln(1 + k)`` for each pair of the ``k`` subjects living (or
working) there, so that a small office or a house binds its people more than a large
one. A home shared by more than ``MAX_SHARING["home"]`` subjects gives no such edges
(an apartment block is many households). A workplace of up to ``2 *``
:data:`PLACE_NEIGHBOURS` ``+ 1`` subjects links every pair; a larger one (up to
``MAX_SHARING["work"]``: more is a station, not a workplace) would give ``k (k - 1) / 2``
pairs (310,000 for one ministry of 788 on ``district``), so each subject is linked
instead to the subjects ``d`` places after it in subject order, around a ring, for
geometric offsets ``d = floor(((k - 1) / 2) ** (j / PLACE_NEIGHBOURS))``, ``j = 1 ..
PLACE_NEIGHBOURS`` (distinct values): ``O(k)`` edges that reach across the whole ring
(no cut of it into a few blocks is cheap, as for the full clique), each weighing
``PLACE_WEIGHT / ln(1 + k) * (k - 1) / (2 * offsets)``, so that every subject's place
strength, and the group's total weight, are the clique's. Before, no workplace of more
than 200 had any edge, and the few large organisations fell apart into the contact
communities of their members (``district``: community NMI with the organisations
0.873, adjusted Rand 0.324; with the ring: see docs/network.md). Living or working in
one building is co-presence on most days, the kind meetings leave out; it ties
colleagues who seldom call each other to their organisation's community, and people
who share a home to each other. Measured on the
``small`` simulation with the first meetings stage (fixed rules): the NMI of
communities with the true organisations rose from 0.57 to 0.72 with workplaces, and
with homes too was 0.69, 0.68 and 0.65 at home weights 1, 2 (kept) and 4; the ROC AUC
of true family ties is 0.91, against 0.80 from contacts alone.
It says where people are, never what their relationship is.

Numbers no ingested device carries (``kind = 'number'``: people outside the
data) stay in ``net_contact`` but are not nodes of the graph: a community or broker
must be someone the data can place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tessera.engines.base import literal
from tessera.life import tables as life
from tessera.network import tables

if TYPE_CHECKING:
    from tessera.engines.base import Engine

MIN_MEETINGS = 2
# one meeting's co-presence weight counts as much as this many units of contact weight
COPRESENCE_FACTOR = 1.0
# per role of the shared place: the weight scale and the most subjects sharing it (a
# shared home counts less: households cross organisations; see the module docstring)
PLACE_WEIGHT = {"home": 2.0, "work": 4.0}
MAX_SHARING = {"home": 12, "work": 5000}
# a workplace of more than 2 * PLACE_NEIGHBOURS + 1 is linked around a ring (docstring)
PLACE_NEIGHBOURS = 100

# one literal pattern (format() on Spark translates only a literal)
_MEETS_NEVER_TALKS = (
    "met {} times on {} days at {} places ({} discreet), never called, texted or listed each other"
)


def ties(engine: Engine) -> dict[str, int]:
    """Write ``net_hidden_tie`` and ``net_edge``; return their row counts."""
    contact, copresence = tables.CONTACT, tables.COPRESENCE
    hidden = engine.materialise(
        tables.HIDDEN_TIE,
        f"""
        SELECT p.a, p.a_kind, p.b, p.b_kind, 'meets_never_talks' AS kind,
               p.meetings, 0 AS contact_events, 0 AS second_phone_events,
               p.weight AS score,
               format({literal(_MEETS_NEVER_TALKS)},
                      p.meetings, p.days, p.places, p.discreet) AS evidence
        FROM {copresence} p ANTI JOIN {contact} c ON c.a = p.a AND c.b = p.b
        WHERE p.meetings >= {MIN_MEETINGS}
        UNION ALL
        SELECT c.a, c.a_kind, c.b, c.b_kind, 'second_phones_only',
               coalesce(p.meetings, 0), c.events, c.second_phone_events,
               c.weight + {COPRESENCE_FACTOR} * coalesce(p.weight, 0),
               format('all {{}} communications involve a second phone; met {{}} times',
                      c.events, coalesce(p.meetings, 0))
        FROM {contact} c LEFT JOIN {copresence} p ON c.a = p.a AND c.b = p.b
        WHERE c.events > 0 AND c.second_phone_events = c.events
        """,
        tables.COLUMNS[tables.HIDDEN_TIE],
    )
    caps = " UNION ALL ".join(
        f"SELECT {literal(role)} AS role, {PLACE_WEIGHT[role]} AS scale, {most} AS most"
        for role, most in MAX_SHARING.items()
    )
    hops = PLACE_NEIGHBOURS  # short name for the SQL below
    edges = engine.materialise(
        tables.EDGE,
        f"""
        WITH w AS (SELECT subject, any_value(subject_kind) AS kind, role,
                          any_value(building) AS b
                   FROM {life.HOME_WORK} WHERE role IN ('home', 'work') AND building IS NOT NULL
                   GROUP BY subject, role),
        cap AS ({caps}),
        k AS (SELECT w.role, w.b, count(*) AS k, any_value(cap.scale) AS scale
              FROM w JOIN cap USING (role) GROUP BY w.role, w.b
              HAVING count(*) <= any_value(cap.most)),
        small AS (SELECT * FROM k WHERE k <= 2 * {hops} + 1),
        offset_ AS (SELECT DISTINCT k.role, k.b,
                           CAST(floor(pow((k.k - 1) / 2.0, t.j / {float(hops)})) AS BIGINT) AS d
                    FROM k CROSS JOIN (SELECT unnest(range(1, {hops} + 1)) AS j) t
                    WHERE k.k > 2 * {hops} + 1),
        ring AS (SELECT k.role, k.b, k.k, k.scale / ln(1 + k.k) * (k.k - 1)
                        / (2.0 * count(*)) AS weight
                 FROM k JOIN offset_ o USING (role, b) GROUP BY k.role, k.b, k.k, k.scale),
        ranked AS (SELECT w.*, row_number() OVER (PARTITION BY w.role, w.b
                                                  ORDER BY w.subject) - 1 AS r
                   FROM w SEMI JOIN ring USING (role, b)),
        wp AS (SELECT x.subject AS a, x.kind AS a_kind, y.subject AS b, y.kind AS b_kind,
                      k.scale / ln(1 + k.k) AS weight
               FROM w x JOIN w y ON x.role = y.role AND x.b = y.b AND x.subject < y.subject
               JOIN small k ON k.role = x.role AND k.b = x.b
               UNION ALL
               SELECT least(x.subject, y.subject), CASE WHEN x.subject < y.subject
                      THEN x.kind ELSE y.kind END, greatest(x.subject, y.subject),
                      CASE WHEN x.subject < y.subject THEN y.kind ELSE x.kind END, g.weight
               FROM ranked x JOIN ring g ON g.role = x.role AND g.b = x.b
               JOIN offset_ o ON o.role = x.role AND o.b = x.b
               JOIN ranked y ON y.role = x.role AND y.b = x.b AND y.r = (x.r + o.d) % g.k),
        pairs AS (
            SELECT a, a_kind, b, b_kind, weight AS contact_weight, 0.0 AS copresence_weight,
                   0.0 AS place_weight FROM {contact}
            UNION ALL
            SELECT a, a_kind, b, b_kind, 0.0, weight, 0.0 FROM {copresence}
            UNION ALL
            SELECT a, a_kind, b, b_kind, 0.0, 0.0, weight FROM wp
        ),
        e AS (SELECT a, any_value(a_kind) AS a_kind, b, any_value(b_kind) AS b_kind,
                     sum(contact_weight) AS contact_weight,
                     sum(copresence_weight) AS copresence_weight,
                     sum(place_weight) AS place_weight
              FROM pairs GROUP BY a, b)
        SELECT e.*, contact_weight + {COPRESENCE_FACTOR} * copresence_weight
                    + place_weight AS weight,
               EXISTS (SELECT 1 FROM {tables.HIDDEN_TIE} h WHERE h.a = e.a AND h.b = e.b)
                   AS hidden
        FROM e
        WHERE a_kind <> 'number' AND b_kind <> 'number'
          AND contact_weight + {COPRESENCE_FACTOR} * copresence_weight + place_weight > 0
        """,
        tables.COLUMNS[tables.EDGE],
    )
    return {tables.HIDDEN_TIE: hidden, tables.EDGE: edges}
