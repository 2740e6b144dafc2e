"""The simulated district: streets, buildings, metro, exits, plate cameras, cell sites.

Everything is laid out in metres on a square of ``size_m`` (x east, y north, the
origin at the south-west corner) and converted to WGS84 around ``origin`` only when
tables are written. Each part draws from its own random stream, spawned from the seed,
so that changing how one part is generated does not move the others.

The layout follows the brief of a district around an embassy quarter: a grid of
arterials (every ~800 m) with side streets between them (every ~160 m, some
missing), the quarter's embassies and ministries near the centre, residential
compounds towards the edges, shops and hotels along arterials, a metro line through the
centre, exits where arterials leave the district, plate cameras on a share of
intersections (arterials favoured) and cell sites of three sectors, denser in the
centre.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from tessera.errors import TesseraError

if TYPE_CHECKING:
    import pyarrow as pa

METRES_PER_DEGREE = 111_320.0

# Building kinds with how many per km², where they sit and how many people they hold.
# centre: preferred distance from the centre as a share of the half-width (0 centre,
# 1 edge); spread: how strictly; arterial: share placed on arterial frontage.
BUILDING_KINDS: dict[str, dict[str, float]] = {
    "embassy": {"per_km2": 1.6, "centre": 0.15, "spread": 0.18, "arterial": 0.3, "capacity": 60},
    "ministry": {"per_km2": 0.4, "centre": 0.2, "spread": 0.2, "arterial": 0.6, "capacity": 400},
    "office": {"per_km2": 10.0, "centre": 0.35, "spread": 0.3, "arterial": 0.5, "capacity": 120},
    "residential": {"per_km2": 40.0, "centre": 0.7, "spread": 0.35, "arterial": 0.1,
                    "capacity": 40},
    "hotel": {"per_km2": 1.0, "centre": 0.3, "spread": 0.3, "arterial": 0.8, "capacity": 200},
    "restaurant": {"per_km2": 7.0, "centre": 0.35, "spread": 0.4, "arterial": 0.6, "capacity": 60},
    "cafe": {"per_km2": 5.5, "centre": 0.35, "spread": 0.4, "arterial": 0.5, "capacity": 30},
    "gym": {"per_km2": 1.1, "centre": 0.5, "spread": 0.4, "arterial": 0.5, "capacity": 80},
    "school": {"per_km2": 0.8, "centre": 0.6, "spread": 0.4, "arterial": 0.2, "capacity": 500},
    "park": {"per_km2": 0.6, "centre": 0.5, "spread": 0.5, "arterial": 0.2, "capacity": 300},
}  # fmt: skip


class WorldError(TesseraError):
    """The world's parameters cannot produce a sensible district."""


@dataclass(frozen=True)
class WorldParams:
    size_m: float = 6_000.0
    arterial_spacing_m: float = 800.0
    side_spacing_m: float = 160.0
    missing_side_share: float = 0.12  # side-street segments left out (dead ends, blocks)
    camera_share: float = 0.25  # of intersections
    metro_station_spacing_m: float = 800.0
    origin_lat: float = 52.5080  # an embassy quarter's south-west corner
    origin_lon: float = 13.3200

    def __post_init__(self) -> None:
        if not 1_000 <= self.size_m <= 50_000:
            raise WorldError(f"size_m must be 1,000..50,000 m, got {self.size_m}")
        if not 0 <= self.camera_share <= 1:
            raise WorldError(f"camera_share must be 0..1, got {self.camera_share}")
        if not 0 <= self.missing_side_share < 0.5:
            raise WorldError(f"missing_side_share must be 0..0.5, got {self.missing_side_share}")
        if not self.side_spacing_m < self.arterial_spacing_m < self.size_m:
            raise WorldError("need side_spacing_m < arterial_spacing_m < size_m")


@dataclass(frozen=True)
class World:
    """The district. Arrays are aligned by index; ids are the indexes."""

    params: WorldParams
    node_xy: np.ndarray  # (n, 2) metres
    node_arterial: np.ndarray  # (n,) bool: on an arterial
    edges: np.ndarray  # (m, 2) node indexes
    edge_arterial: np.ndarray  # (m,) bool
    building_kind: np.ndarray  # (b,) str
    building_xy: np.ndarray  # (b, 2)
    building_node: np.ndarray  # (b,) nearest street node
    building_capacity: np.ndarray  # (b,) people
    station_node: np.ndarray  # (s,) metro stations in line order
    exit_node: np.ndarray  # (e,) where arterials leave the district
    camera_node: np.ndarray  # (c,) intersections with a plate camera
    site_xy: np.ndarray  # (k, 2) cell sites
    sector_site: np.ndarray  # (3k,) site of each sector
    sector_azimuth: np.ndarray  # (3k,) degrees clockwise from north
    sector_range_m: np.ndarray  # (3k,)

    @property
    def centre(self) -> np.ndarray:
        return np.array([self.params.size_m / 2, self.params.size_m / 2])

    def edge_length_m(self) -> np.ndarray:
        a, b = self.node_xy[self.edges[:, 0]], self.node_xy[self.edges[:, 1]]
        return np.asarray(np.hypot(*(a - b).T))

    def edge_speed_kmh(self) -> np.ndarray:
        return np.where(self.edge_arterial, 50.0, 30.0)

    def to_latlon(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lat0 = self.params.origin_lat
        lat = lat0 + xy[:, 1] / METRES_PER_DEGREE
        lon = self.params.origin_lon + xy[:, 0] / (METRES_PER_DEGREE * math.cos(math.radians(lat0)))
        return lat, lon

    def degree(self) -> np.ndarray:
        return np.bincount(self.edges.ravel(), minlength=len(self.node_xy))

    def is_connected(self) -> bool:
        n = len(self.node_xy)
        adjacency: list[list[int]] = [[] for _ in range(n)]
        for a, b in self.edges.tolist():
            adjacency[a].append(b)
            adjacency[b].append(a)
        seen = np.zeros(n, dtype=bool)
        seen[0] = True
        queue = deque([0])
        while queue:
            for nxt in adjacency[queue.popleft()]:
                if not seen[nxt]:
                    seen[nxt] = True
                    queue.append(nxt)
        return bool(seen.all())

    # -- tables, as the truth and the sensor lists are written -------------------
    def sector_ids(self) -> list[str]:
        """Cell sector ids: the site and the sector's number (1-3) on it."""
        return [f"C{s:04d}-{i % 3 + 1}" for i, s in enumerate(self.sector_site.tolist())]

    def camera_ids(self) -> list[str]:
        return [f"CAM{i:04d}" for i in range(len(self.camera_node))]

    def sensors_table(self) -> pa.Table:
        """Plate cameras and cell sectors with their true positions (WGS84)."""
        import pyarrow as pa

        cam_xy = self.node_xy[self.camera_node]
        cam_lat, cam_lon = self.to_latlon(cam_xy)
        sec_xy = self.site_xy[self.sector_site]
        sec_lat, sec_lon = self.to_latlon(sec_xy)
        n_cam, n_sec = len(cam_xy), len(sec_xy)
        return pa.table(
            {
                "sensor_id": self.camera_ids() + self.sector_ids(),
                "kind": ["plate_camera"] * n_cam + ["cell_sector"] * n_sec,
                "lat": np.concatenate([cam_lat, sec_lat]),
                "lon": np.concatenate([cam_lon, sec_lon]),
                "azimuth_deg": pa.array(
                    [None] * n_cam + self.sector_azimuth.tolist(), pa.float64()
                ),
                "range_m": pa.array([None] * n_cam + self.sector_range_m.tolist(), pa.float64()),
            }
        )

    def buildings_table(self) -> pa.Table:
        import pyarrow as pa

        lat, lon = self.to_latlon(self.building_xy)
        return pa.table(
            {
                "building_id": np.arange(len(self.building_kind), dtype=np.int32),
                "kind": self.building_kind.tolist(),
                "lat": lat,
                "lon": lon,
                "node": self.building_node.astype(np.int32),
                "capacity": self.building_capacity.astype(np.int32),
            }
        )


def build_world(seed: int, params: WorldParams | None = None) -> World:
    """Lay out the district for ``seed`` (the same seed gives the same world)."""
    p = params or WorldParams()
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(6)]
    node_xy, node_arterial, edges, edge_arterial = _streets(p, streams[0])
    kinds, b_xy, b_node, b_cap = _buildings(p, streams[1], node_xy, edges, edge_arterial)
    stations = _metro(p, node_xy)
    exits = _exits(p, node_xy, edges, edge_arterial)
    cameras = _cameras(p, streams[2], node_xy, node_arterial, edges)
    site_xy, sector_site, azimuth, rng_m = _cells(p, streams[3])
    return World(
        p, node_xy, node_arterial, edges, edge_arterial, kinds, b_xy, b_node, b_cap,
        stations, exits, cameras, site_xy, sector_site, azimuth, rng_m,
    )  # fmt: skip


def _lines(size: float, arterial: float, side: float, rng: np.random.Generator) -> np.ndarray:
    """Positions of the grid lines along one axis, arterials flagged (as -position)."""
    n_art = max(2, round(size / arterial))
    art = np.linspace(0, size, n_art + 1)
    art[1:-1] += rng.uniform(-0.08, 0.08, n_art - 1) * arterial
    lines: list[float] = []
    flags: list[bool] = []
    for lo, hi in itertools.pairwise(art.tolist()):
        k = max(1, round((hi - lo) / side))
        for j in range(k):
            lines.append(lo + (hi - lo) * j / k)
            flags.append(j == 0)
    lines.append(size)
    flags.append(True)
    return np.array([(-x if f else x) for x, f in zip(lines, flags, strict=True)])


def _streets(
    p: WorldParams, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    xs_f = _lines(p.size_m, p.arterial_spacing_m, p.side_spacing_m, rng)
    ys_f = _lines(p.size_m, p.arterial_spacing_m, p.side_spacing_m, rng)
    xs, x_art = np.abs(xs_f), (xs_f < 0) | (xs_f == 0)
    ys, y_art = np.abs(ys_f), (ys_f < 0) | (ys_f == 0)
    nx, ny = len(xs), len(ys)
    gx, gy = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
    idx = gx * ny + gy
    jitter = rng.uniform(-12, 12, (nx * ny, 2))
    xy = np.stack([xs[gx.ravel()], ys[gy.ravel()]], axis=1)
    inner = (xy > 0).all(axis=1) & (xy < p.size_m).all(axis=1)
    xy[inner] += jitter[inner]
    node_art = x_art[gx.ravel()] | y_art[gy.ravel()]
    # Horizontal segments run along a y line; they are arterial if that line is.
    h = np.stack([idx[:-1, :].ravel(), idx[1:, :].ravel()], axis=1)
    h_art = np.broadcast_to(y_art[None, :], (nx - 1, ny)).ravel()
    v = np.stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()], axis=1)
    v_art = np.broadcast_to(x_art[:, None], (nx, ny - 1)).ravel()
    edges = np.concatenate([h, v])
    art = np.concatenate([h_art, v_art])
    # Leave out some side-street segments, never one that would cut the network.
    drop = (~art) & (rng.random(len(edges)) < p.missing_side_share)
    keep = ~drop
    degree = np.bincount(edges[keep].ravel(), minlength=nx * ny)
    for e in np.flatnonzero(drop):  # restore segments whose removal isolates a node
        a, b = edges[e]
        if degree[a] < 2 or degree[b] < 2:
            keep[e] = True
            degree[a] += 1
            degree[b] += 1
    return xy, node_art, edges[keep], art[keep]


def _buildings(
    p: WorldParams,
    rng: np.random.Generator,
    node_xy: np.ndarray,
    edges: np.ndarray,
    edge_arterial: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    area_km2 = (p.size_m / 1000) ** 2
    half = p.size_m / 2
    a, b = node_xy[edges[:, 0]], node_xy[edges[:, 1]]
    mid = (a + b) / 2
    dist = np.hypot(*(mid - half).T) / (half * math.sqrt(2))  # 0 centre .. 1 corner
    kinds: list[str] = []
    xy: list[np.ndarray] = []
    node: list[np.ndarray] = []
    cap: list[np.ndarray] = []
    for kind, spec in BUILDING_KINDS.items():
        n = max(1, round(spec["per_km2"] * area_km2))
        n_art = round(n * spec["arterial"])
        weight = np.exp(-(((dist - spec["centre"]) / spec["spread"]) ** 2))
        chosen = []
        for on_art, count in ((True, n_art), (False, n - n_art)):
            pool = np.flatnonzero(edge_arterial == on_art)
            if count == 0 or len(pool) == 0:
                continue
            w = weight[pool] / weight[pool].sum()
            chosen.append(rng.choice(pool, size=count, p=w))
        picked = np.concatenate(chosen)
        t = rng.uniform(0.15, 0.85, len(picked))[:, None]
        side = rng.choice([-1.0, 1.0], len(picked))[:, None]
        along = b[picked] - a[picked]
        normal = np.stack([-along[:, 1], along[:, 0]], axis=1)
        normal /= np.maximum(np.hypot(*normal.T), 1e-9)[:, None]
        pos = a[picked] + t * along + side * normal * rng.uniform(12, 30, (len(picked), 1))
        xy.append(np.clip(pos, 0, p.size_m))
        near_a = t[:, 0] < 0.5
        node.append(np.where(near_a, edges[picked, 0], edges[picked, 1]))
        cap.append(
            np.maximum(2, rng.normal(spec["capacity"], spec["capacity"] / 4, len(picked)))
            .round()
            .astype(np.int64)
        )
        kinds += [kind] * len(picked)
    return np.array(kinds), np.concatenate(xy), np.concatenate(node), np.concatenate(cap)


def _nearest(node_xy: np.ndarray, points: np.ndarray) -> np.ndarray:
    d = ((node_xy[None, :, :] - points[:, None, :]) ** 2).sum(axis=2)
    return np.asarray(d.argmin(axis=1))


def _metro(p: WorldParams, node_xy: np.ndarray) -> np.ndarray:
    """A line from the south-west to the north-east through the centre."""
    length = p.size_m * math.sqrt(2)
    n = max(2, int(length // p.metro_station_spacing_m))
    t = (np.arange(n) + 0.5) / n
    line = np.stack([t * p.size_m, t * p.size_m * 0.85 + p.size_m * 0.075], axis=1)
    stations = _nearest(node_xy, line)
    _, first = np.unique(stations, return_index=True)
    return np.asarray(stations[np.sort(first)])


def _exits(
    p: WorldParams, node_xy: np.ndarray, edges: np.ndarray, edge_arterial: np.ndarray
) -> np.ndarray:
    """Boundary nodes where an arterial comes in from the district (not the ring road)."""
    boundary = (np.isclose(node_xy, 0) | np.isclose(node_xy, p.size_m)).any(axis=1)
    a, b = edges[:, 0], edges[:, 1]
    inward = edge_arterial & (boundary[a] != boundary[b])
    ends = np.where(boundary[a[inward]], a[inward], b[inward])
    return np.unique(ends)


def _cameras(
    p: WorldParams,
    rng: np.random.Generator,
    node_xy: np.ndarray,
    node_arterial: np.ndarray,
    edges: np.ndarray,
) -> np.ndarray:
    degree = np.bincount(edges.ravel(), minlength=len(node_xy))
    crossings = np.flatnonzero(degree >= 3)
    k = round(p.camera_share * len(crossings))
    if k == 0:
        return np.array([], dtype=np.int64)
    w = np.where(node_arterial[crossings], 4.0, 1.0)
    return np.sort(rng.choice(crossings, size=k, replace=False, p=w / w.sum()))


def _cells(
    p: WorldParams, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sites by thinning a uniform field: about 9 per km² at the centre, 2 at the edge."""
    area_km2 = (p.size_m / 1000) ** 2
    candidates = rng.uniform(0, p.size_m, (int(area_km2 * 9 * 1.2) + 10, 2))
    half = p.size_m / 2
    r = np.hypot(*(candidates - half).T) / (half * math.sqrt(2))
    keep_p = 2 / 9 + (1 - 2 / 9) * np.exp(-((r / 0.35) ** 2))
    sites = candidates[rng.random(len(candidates)) < keep_p]
    # Sector range follows local density: short in the dense centre.
    r_site = np.hypot(*(sites - half).T) / (half * math.sqrt(2))
    site_range = 350 + 1100 * r_site
    base = rng.uniform(0, 120, len(sites))
    sector_site = np.repeat(np.arange(len(sites)), 3)
    azimuth = (np.repeat(base, 3) + np.tile([0.0, 120.0, 240.0], len(sites))) % 360
    return sites, sector_site, azimuth, np.repeat(site_range, 3)
