"""Networks and meetings: contacts, co-presence, communities, brokers and hidden ties.

Stages, in order (see docs/network.md):

- ``contacts``: the contact network from communications and contact lists, at the level
  of subjects (:mod:`tessera.network.contacts`);
- ``meetings``: two or more subjects at one place at one time, away from home and work,
  weighted by how private the place is, and the co-presence network of repeated
  meetings (:mod:`tessera.network.meetings`);
- ``ties``: hidden-tie hypotheses and the combined edge list (:mod:`tessera.network.ties`);
- ``communities``: Leiden communities, brokers and central subjects
  (:mod:`tessera.network.graph`).

Subjects are those of pattern of life (:mod:`tessera.network.tables`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from tessera.life import tables as life
from tessera.network import tables
from tessera.stages import Stage

if TYPE_CHECKING:
    from tessera.engines.base import Engine


def _contacts(engine: Engine) -> Mapping[str, int]:
    from tessera.network.contacts import contacts

    return contacts(engine)


def _meetings(engine: Engine) -> Mapping[str, int]:
    from tessera.network.meetings import meetings

    return meetings(engine)


def _ties(engine: Engine) -> Mapping[str, int]:
    from tessera.network.ties import ties

    return ties(engine)


def _communities(engine: Engine) -> Mapping[str, int]:
    from tessera.network.graph import communities

    return communities(engine)


CONTACTS = Stage(
    name="contacts",
    description="The contact network from calls, messages and contact lists.",
    inputs=(
        "obs_communication",
        "obs_contact",
        "link_device",
        "link_device_person",
        "link_second_phone",
    ),
    outputs=(tables.CONTACT,),
    run=_contacts,
)
MEETINGS = Stage(
    name="meetings",
    description="Meetings away from home and work, weighted by privacy; co-presence pairs.",
    inputs=(
        life.STAY,
        life.PLACE,
        life.HOME_WORK,
        life.ANOMALY,
        "link_second_phone",
        "obs_device_event",
        "life_coverage",
        "reg_address",
        tables.CONTACT,
    ),
    outputs=(tables.MEETING, tables.MEETING_MEMBER, tables.COPRESENCE),
    run=_meetings,
)
TIES = Stage(
    name="ties",
    description="Hidden-tie hypotheses; contact, co-presence and workplace edges combined.",
    inputs=(tables.CONTACT, tables.COPRESENCE, life.HOME_WORK),
    outputs=(tables.HIDDEN_TIE, tables.EDGE),
    run=_ties,
)
COMMUNITIES = Stage(
    name="communities",
    description="Leiden communities, brokers (betweenness) and central subjects.",
    inputs=(tables.EDGE,),
    outputs=(tables.COMMUNITY, tables.CENTRALITY),
    run=_communities,
)

STAGES = (CONTACTS, MEETINGS, TIES, COMMUNITIES)

__all__ = ["COMMUNITIES", "CONTACTS", "MEETINGS", "STAGES", "TIES"]
