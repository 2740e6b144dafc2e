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
workplace, with ``weight = contact_weight + COPRESENCE_FACTOR * copresence_weight +
workplace_weight``, ``hidden`` true for a hidden tie. ``workplace_weight`` links the
subjects whose work place (``life_home_work``, role ``work``) is the same building:
``WORKPLACE_WEIGHT / ln(1 + k)`` for each pair of the ``k`` subjects working there,
so that a small office binds its people more than a large one; buildings with more than
:data:`MAX_WORKPLACE` workers give no such edges (a ministry or a hospital is many
teams, and its pairs would swamp the graph). Being seen at the same workplace on most
weekdays is co-presence too, the kind meetings leave out; it is what ties colleagues
who rarely call each other to their organisation's community (on the ``small``
simulation it raises the NMI of communities with the true organisations from 0.57 to
0.71). Numbers no ingested device carries (``kind = 'number'``: people outside the
data) stay in ``net_contact`` but are not nodes of the graph: a community or broker
must be someone the data can place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tessera.life import tables as life
from tessera.network import tables

if TYPE_CHECKING:
    from tessera.engines.base import Engine

MIN_MEETINGS = 2
# one meeting's co-presence weight counts as much as this many units of contact weight
COPRESENCE_FACTOR = 1.0
WORKPLACE_WEIGHT = 4.0
MAX_WORKPLACE = 200


def ties(engine: Engine) -> dict[str, int]:
    """Write ``net_hidden_tie`` and ``net_edge``; return their row counts."""
    contact, copresence = tables.CONTACT, tables.COPRESENCE
    hidden = engine.materialise(
        tables.HIDDEN_TIE,
        f"""
        SELECT p.a, p.a_kind, p.b, p.b_kind, 'meets_never_talks' AS kind,
               p.meetings, 0 AS contact_events, 0 AS second_phone_events,
               p.weight AS score,
               format('met {{}} times on {{}} days at {{}} places ({{}} discreet), '
                      || 'never called, texted or listed each other',
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
    edges = engine.materialise(
        tables.EDGE,
        f"""
        WITH w AS (SELECT subject, any_value(subject_kind) AS kind, any_value(building) AS b
                   FROM {life.HOME_WORK} WHERE role = 'work' AND building IS NOT NULL
                   GROUP BY subject),
        k AS (SELECT b, count(*) AS k FROM w GROUP BY b HAVING count(*) <= {MAX_WORKPLACE}),
        wp AS (SELECT x.subject AS a, x.kind AS a_kind, y.subject AS b, y.kind AS b_kind,
                      {WORKPLACE_WEIGHT} / ln(1 + k.k) AS weight
               FROM w x JOIN w y ON x.b = y.b AND x.subject < y.subject JOIN k ON k.b = x.b),
        pairs AS (
            SELECT a, a_kind, b, b_kind, weight AS contact_weight, 0.0 AS copresence_weight,
                   0.0 AS workplace_weight FROM {contact}
            UNION ALL
            SELECT a, a_kind, b, b_kind, 0.0, weight, 0.0 FROM {copresence}
            UNION ALL
            SELECT a, a_kind, b, b_kind, 0.0, 0.0, weight FROM wp
        ),
        e AS (SELECT a, any_value(a_kind) AS a_kind, b, any_value(b_kind) AS b_kind,
                     sum(contact_weight) AS contact_weight,
                     sum(copresence_weight) AS copresence_weight,
                     sum(workplace_weight) AS workplace_weight
              FROM pairs GROUP BY a, b)
        SELECT e.*, contact_weight + {COPRESENCE_FACTOR} * copresence_weight
                    + workplace_weight AS weight,
               EXISTS (SELECT 1 FROM {tables.HIDDEN_TIE} h WHERE h.a = e.a AND h.b = e.b)
                   AS hidden
        FROM e
        WHERE a_kind <> 'number' AND b_kind <> 'number'
          AND contact_weight + {COPRESENCE_FACTOR} * copresence_weight + workplace_weight > 0
        """,
        tables.COLUMNS[tables.EDGE],
    )
    return {tables.HIDDEN_TIE: hidden, tables.EDGE: edges}
