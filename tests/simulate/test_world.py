"""The district layout: determinism, geometry, and the placements the brief asks for."""

from __future__ import annotations

import numpy as np
import pytest

from tessera.simulate import BUILDING_KINDS, World, WorldError, WorldParams, build_world


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(7)


def _arrays(w: World) -> dict[str, np.ndarray]:
    return {k: v for k, v in vars(w).items() if isinstance(v, np.ndarray)}


def test_same_seed_same_world_other_seed_other_world(world: World) -> None:
    again = _arrays(build_world(7))
    for name, arr in _arrays(world).items():
        assert np.array_equal(arr, again[name]), name
    other = build_world(8)
    assert not np.array_equal(world.node_xy, other.node_xy)
    assert world.sensors_table().equals(build_world(7).sensors_table())


def test_everything_lies_in_the_district(world: World) -> None:
    size = world.params.size_m
    for xy in (world.node_xy, world.building_xy, world.site_xy):
        assert xy.min() >= 0
        assert xy.max() <= size


def test_street_network_is_connected_with_arterials_and_side_streets(world: World) -> None:
    assert world.is_connected()
    lengths = world.edge_length_m()
    assert 0.1 < world.edge_arterial.mean() < 0.5
    # side streets are short blocks, and some were left out (not a perfect grid)
    assert 100 < np.median(lengths[~world.edge_arterial]) < 220
    full_grid = 2 * len(world.node_xy) - 2 * int(np.sqrt(len(world.node_xy)))
    assert len(world.edges) < full_grid
    assert set(np.unique(world.edge_speed_kmh())) == {30.0, 50.0}


def test_building_kinds_and_where_they_sit(world: World) -> None:
    kinds = set(world.building_kind.tolist())
    assert kinds == set(BUILDING_KINDS)
    r = np.hypot(*(world.building_xy - world.centre).T)
    embassies = r[world.building_kind == "embassy"].mean()
    homes = r[world.building_kind == "residential"].mean()
    assert embassies < 0.6 * homes  # the embassy quarter is central
    # each building is served by a street node close to it
    gap = np.hypot(*(world.building_xy - world.node_xy[world.building_node]).T)
    assert np.percentile(gap, 95) < 150


def test_metro_exits_and_cameras(world: World) -> None:
    stations = world.node_xy[world.station_node]
    hops = np.hypot(*np.diff(stations, axis=0).T)
    assert len(stations) >= 8
    assert 400 < np.median(hops) < 1200
    size = world.params.size_m
    exits = world.node_xy[world.exit_node]
    assert len(exits) >= 8
    assert ((np.isclose(exits, 0)) | np.isclose(exits, size)).any(axis=1).all()
    degree = world.degree()
    crossings = int((degree >= 3).sum())
    assert (degree[world.camera_node] >= 3).all()
    assert len(world.camera_node) == round(0.25 * crossings)
    # arterials are favoured
    assert world.node_arterial[world.camera_node].mean() > world.node_arterial[degree >= 3].mean()


def test_cell_sites_denser_in_the_centre_three_sectors_each(world: World) -> None:
    assert len(world.sector_site) == 3 * len(world.site_xy)
    per_site = np.bincount(world.sector_site)
    assert (per_site == 3).all()
    r = np.hypot(*(world.site_xy - world.centre).T)
    half = world.params.size_m / 2
    inner_density = (r < half / 2).sum() / (np.pi * (half / 2) ** 2)
    ring = (r >= half / 2) & (r < half)
    outer_density = ring.sum() / (np.pi * (half**2 - (half / 2) ** 2))
    assert inner_density > 1.5 * outer_density
    az = world.sector_azimuth.reshape(-1, 3)
    assert np.allclose((az[:, 1] - az[:, 0]) % 360, 120)
    sensors = world.sensors_table()
    assert set(sensors.column("kind").to_pylist()) == {"plate_camera", "cell_sector"}
    assert sensors.num_rows == len(world.camera_node) + len(world.sector_site)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"size_m": 100}, "size_m"),
        ({"camera_share": 1.5}, "camera_share"),
        ({"arterial_spacing_m": 100, "side_spacing_m": 160}, "side_spacing_m"),
    ],
)
def test_bad_parameters_are_refused(params: dict[str, float], message: str) -> None:
    with pytest.raises(WorldError, match=message):
        WorldParams(**params)
