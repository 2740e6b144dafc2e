"""The synthetic city: a district whose hidden truth is known.

``simulate(OUT, persons=..., days=..., seed=...)`` (and ``tessera simulate``) writes the
feeds an operator would receive, their mappings, the truth and a manifest; see
docs/simulation.md. The parts are usable on their own: the layout
(:func:`build_world`), people and ties (:func:`build_population`), their days
(:func:`build_schedule`, or a :class:`~tessera.simulate.routine.Planner` for blocks of
people), phones and vehicles (``assets``), trips (``movement``), sensors
(``sensors``), communications (``comms``) and registries (``registries``).
"""

from tessera.simulate.population import Population, build_population
from tessera.simulate.routine import Schedule, build_schedule
from tessera.simulate.world import BUILDING_KINDS, World, WorldError, WorldParams, build_world

__all__ = [
    "BUILDING_KINDS",
    "Population",
    "Schedule",
    "World",
    "WorldError",
    "WorldParams",
    "build_population",
    "build_schedule",
    "build_world",
]
