"""The synthetic city: a district whose hidden truth is known (work in progress).

So far: the district's layout (:func:`build_world`) and its people, organisations and
social ties (:func:`build_population`). Routines, movement, sensors and the truth
tables come next (issue 3).
"""

from tessera.simulate.population import Population, build_population
from tessera.simulate.world import BUILDING_KINDS, World, WorldError, WorldParams, build_world

__all__ = [
    "BUILDING_KINDS",
    "Population",
    "World",
    "WorldError",
    "WorldParams",
    "build_population",
    "build_world",
]
