"""The synthetic city: a district whose hidden truth is known (work in progress).

So far: the district's layout (:func:`build_world`), its people, organisations and
social ties (:func:`build_population`), and their routines and meetings
(:func:`build_schedule`). Movement, vehicles and phones, sensors, registries and the
truth files come next (issue 3).
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
