"""The synthetic city: a district whose hidden truth is known (work in progress).

So far: the district's layout (:func:`build_world`). People, routines, movement,
sensors and the truth tables come next (issue 3).
"""

from tessera.simulate.world import BUILDING_KINDS, World, WorldError, WorldParams, build_world

__all__ = ["BUILDING_KINDS", "World", "WorldError", "WorldParams", "build_world"]
