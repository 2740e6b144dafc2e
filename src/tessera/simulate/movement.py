"""Trips along the street network, and where everyone is at any moment.

The schedule leaves gaps between stays; here each gap becomes a trip by the person's
mode, routed along the streets (shortest travel time by car, shortest distance on
foot and by bicycle, metro between the stations nearest to both ends), and the stay
boundaries move to the real travel times: a person leaves just in time when the trip
is shorter than the gap, and arrives late when it is longer.

Routing is all-pairs: the district has about 1,500 intersections, so one next-hop
matrix per weighting (from igraph's shortest distances) turns any number of trips
into node sequences with a few vectorised steps.

:class:`Movement` holds the block's trips, their route keyframes (node, time) and the
adjusted stays, and answers "where is person p at time t" for arrays of queries by
interpolating between keyframes (positions are ``NaN`` outside the district).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from tessera.simulate.assets import Assets
from tessera.simulate.routine import OUTSIDE, Schedule, local_midnights
from tessera.simulate.world import World

if TYPE_CHECKING:
    import pyarrow as pa

FOOT_MS = 1.3
BICYCLE_MS = 4.2
METRO_MS = 9.5  # average between stations, stops included
WALK_ONLY_M = 650.0  # shorter trips are walked whatever the person's mode
TRIP_MODES = ("foot", "bicycle", "car", "chauffeur", "taxi", "metro", "bus")
BUS_WALK_M = 1400.0  # public transport users this far from the metro take a bus
DRIVEN = ("car", "chauffeur", "taxi")


class Router:
    """Shortest paths between all intersections, by car time and by distance."""

    def __init__(self, world: World) -> None:
        import igraph

        n = len(world.node_xy)
        length = world.edge_length_m()
        car_s = length / (world.edge_speed_kmh() / 3.6)
        graph = igraph.Graph(n=n, edges=world.edges.tolist())
        self.length = np.full((n, n), np.inf)
        self.car_s = np.full((n, n), np.inf)
        a, b = world.edges[:, 0], world.edges[:, 1]
        self.length[a, b] = self.length[b, a] = length
        self.car_s[a, b] = self.car_s[b, a] = car_s
        self.dist_m = np.array(graph.distances(weights=length.tolist()))
        self.dist_car = np.array(graph.distances(weights=car_s.tolist()))
        nbr = _neighbour_table(world)
        self.next_m = _next_hop(nbr, self.dist_m, self.length)
        self.next_car = _next_hop(nbr, self.dist_car, self.car_s)
        self.to_station = self.dist_m[:, world.station_node]  # (nodes, stations) metres
        self.node_xy = world.node_xy

    def paths(
        self, nxt: np.ndarray, origin: np.ndarray, dest: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Node sequences of many trips: (trip index, node) in trip and path order."""
        trips = [np.arange(len(origin))]
        nodes = [origin.copy()]
        steps = [np.zeros(len(origin), dtype=np.int64)]
        cur = origin.copy()
        active = np.flatnonzero(cur != dest)
        step = 0
        while len(active):
            step += 1
            cur[active] = nxt[cur[active], dest[active]]
            trips.append(active)
            nodes.append(cur[active].copy())
            steps.append(np.full(len(active), step))
            active = active[cur[active] != dest[active]]
        trip = np.concatenate(trips)
        order = np.lexsort((np.concatenate(steps), trip))
        return trip[order], np.concatenate(nodes)[order]


def _neighbour_table(world: World) -> np.ndarray:
    """(nodes, max degree): each node's neighbours, padded with -1."""
    n = len(world.node_xy)
    nbr = np.full((n, int(world.degree().max())), -1, dtype=np.int64)
    fill = np.zeros(n, dtype=np.int64)
    for a, b in np.concatenate([world.edges, world.edges[:, ::-1]]).tolist():
        nbr[a, fill[a]] = b
        fill[a] += 1
    return nbr


def _next_hop(nbr: np.ndarray, dist: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """next[u, t]: the neighbour of u on a shortest path to t (t itself at t)."""
    n = len(nbr)
    w = np.where(nbr >= 0, weight[np.arange(n)[:, None], np.maximum(nbr, 0)], np.inf)
    via = w[:, :, None] + dist[np.maximum(nbr, 0)]  # (n, k, n)
    via[nbr < 0] = np.inf
    best = nbr[np.arange(n)[:, None], via.argmin(axis=1)]
    np.fill_diagonal(best, np.arange(n))
    return np.asarray(best, dtype=np.int32)


@dataclass
class Movement:
    """Trips and positions of one block of people."""

    stays: Schedule  # with start/end moved to the real travel times
    trip_person: np.ndarray
    trip_start: np.ndarray
    trip_end: np.ndarray
    trip_mode: np.ndarray  # str, one of TRIP_MODES
    trip_vehicle: np.ndarray  # -1 none
    trip_from: np.ndarray  # building or OUTSIDE
    trip_to: np.ndarray
    trip_distance_m: np.ndarray
    # route keyframes, sorted by trip then time
    route_trip: np.ndarray
    route_node: np.ndarray
    route_time: np.ndarray
    # position keyframes, sorted by person then time: x, y NaN outside the district
    key_person: np.ndarray
    key_time: np.ndarray
    key_xy: np.ndarray

    def trips_table(self, first_trip_id: int = 0) -> pa.Table:
        import pyarrow as pa

        return pa.table(
            {
                "trip_id": np.arange(len(self.trip_person), dtype=np.int64) + first_trip_id,
                "person_id": self.trip_person.astype(np.int32),
                "start": pa.array(self.trip_start * 1000, pa.timestamp("ms", tz="UTC")),
                "end": pa.array(self.trip_end * 1000, pa.timestamp("ms", tz="UTC")),
                "mode": self.trip_mode.tolist(),
                "vehicle_id": self.trip_vehicle.astype(np.int32),
                "from_building": self.trip_from.astype(np.int32),
                "to_building": self.trip_to.astype(np.int32),
                "distance_m": self.trip_distance_m.round(1),
            }
        )

    def positions(self, person: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Positions (m) of ``person[i]`` at ``t[i]``; NaN outside the district or
        outside the simulated period."""
        base = int(self.key_time.min()) if len(self.key_time) else 0
        span = 1 << 32
        keys = self.key_person * span + (self.key_time - base)
        q = person.astype(np.int64) * span + (t.astype(np.int64) - base)
        i = np.searchsorted(keys, q, side="right") - 1
        out = np.full((len(q), 2), np.nan)
        ok = (i >= 0) & (i < len(keys) - 1)
        ok[ok] &= self.key_person[i[ok]] == person[ok]
        ok[ok] &= self.key_person[i[ok] + 1] == person[ok]
        j = i[ok]
        t0, t1 = self.key_time[j], self.key_time[j + 1]
        f = np.where(t1 > t0, (t[ok] - t0) / np.maximum(t1 - t0, 1), 0.0)[:, None]
        out[ok] = self.key_xy[j] * (1 - f) + self.key_xy[j + 1] * f
        return out

    def moving(self, person: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Whether ``person[i]`` is on a trip at ``t[i]``."""
        span = 1 << 32
        base = int(self.trip_start.min()) if len(self.trip_start) else 0
        keys = self.trip_person * span + (self.trip_start - base)
        q = person.astype(np.int64) * span + (t.astype(np.int64) - base)
        i = np.searchsorted(keys, q, side="right") - 1
        hit = i >= 0
        hit[hit] &= self.trip_person[i[hit]] == person[hit]
        hit[hit] &= self.trip_end[i[hit]] > t[hit]
        return hit


class MovementModel:
    """Routes the trips of any block of people; shared state is built once."""

    def __init__(self, world: World, assets: Assets, start: dt.date, days: int, seed: int) -> None:
        self.world = world
        self.assets = assets
        self.seed = seed
        self.router = Router(world)
        self.midnights = np.array(local_midnights(start, days))
        n_people = len(assets.person_mode)
        # each person leaves and enters the district by one exit (their way to the city)
        rng = np.random.default_rng(np.random.SeedSequence([seed, 6]))
        self.person_exit = rng.choice(world.exit_node, size=n_people)
        self.person_terminal = rng.choice(world.station_node[[0, -1]], size=n_people)
        # who drives a shared car on which day: the first user on weekdays, in turn
        # on weekends
        users: dict[int, list[int]] = {}
        for p in np.flatnonzero(assets.person_vehicle >= 0).tolist():
            users.setdefault(int(assets.person_vehicle[p]), []).append(p)
        n_vehicles = len(assets.vehicle_kind)
        width = max((len(u) for u in users.values()), default=1)
        self.users = np.full((max(n_vehicles, 1), width), -1, dtype=np.int64)
        self.n_users = np.zeros(max(n_vehicles, 1), dtype=np.int64)
        for v, members in users.items():
            self.users[v, : len(members)] = members
            self.n_users[v] = len(members)
        self.weekday = np.array([(start + dt.timedelta(days=d)).weekday() for d in range(days + 1)])

    def car_today(self, person: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Whether each person has their car on that (local) day index."""
        vehicle = self.assets.person_vehicle[person]
        has = vehicle >= 0
        v = np.maximum(vehicle, 0)
        n_users = self.n_users[v]
        turn = np.where(self.weekday[day] < 5, 0, day % np.maximum(n_users, 1))
        mine = self.users[v, np.minimum(turn, self.users.shape[1] - 1)] == person
        return np.asarray(has & mine)

    def block(self, stays: Schedule, block_index: int = 0, n_blocks: int = 1) -> Movement:
        """Trips for the people in ``stays`` (one block of a schedule)."""
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, 6, 1, block_index]))
        w = self.world
        sp, sb = stays.stay_person, stays.stay_building
        s_start, s_end = stays.stay_start.copy(), stays.stay_end.copy()
        # a trip joins consecutive stays of one person at different places
        nxt = np.arange(1, len(sp))
        prv = nxt - 1
        same = sp[nxt] == sp[prv]
        prv, nxt = prv[same], nxt[same]
        moved = sb[prv] != sb[nxt]
        moved &= ~((sb[prv] == OUTSIDE) & (sb[nxt] == OUTSIDE))
        # same place, gap between: the person simply stays
        still = ~moved
        s_end[prv[still]] = s_start[nxt[still]]
        prv, nxt = prv[moved], nxt[moved]
        person = sp[prv]
        b_from, b_to = sb[prv], sb[nxt]
        inside = w.building_node
        o_node = np.where(b_from >= 0, inside[np.maximum(b_from, 0)], self.person_exit[person])
        d_node = np.where(b_to >= 0, inside[np.maximum(b_to, 0)], self.person_exit[person])
        euclid = np.hypot(*(w.node_xy[o_node] - w.node_xy[d_node]).T)
        day = np.clip(np.searchsorted(self.midnights, s_end[prv], side="right") - 1, 0, None)
        day = np.minimum(day, len(self.midnights) - 2)
        mode = self._choose_modes(person, day, euclid, b_from, b_to, rng)
        # the metro is too far from either end: a bus along the streets instead
        nearest = self.router.to_station.min(axis=1)  # per node, to any station
        to_metro = nearest[o_node] + nearest[d_node]
        mode[(mode == "metro") & (to_metro > BUS_WALK_M)] = "bus"
        # metro users leaving the district ride to their terminal instead of an exit
        out_metro = (mode == "metro") & ((b_from == OUTSIDE) | (b_to == OUTSIDE))
        o_node = np.where(out_metro & (b_from == OUTSIDE), self.person_terminal[person], o_node)
        d_node = np.where(out_metro & (b_to == OUTSIDE), self.person_terminal[person], d_node)
        # route every trip as legs (foot or road paths, metro rides between stations)
        depart = s_end[prv].astype(np.float64)
        trip_idx, node, offset, dist = self._route(mode, o_node, d_node, depart, rng)
        n_trips = len(prv)
        duration = np.zeros(n_trips)
        last = np.r_[np.flatnonzero(np.diff(trip_idx)), len(trip_idx) - 1] if len(trip_idx) else []
        duration[trip_idx[last]] = offset[last]
        # door-to-door overheads: to the car and parking, waiting for the cab
        duration += np.select(
            [mode == "car", mode == "chauffeur", mode == "taxi", mode == "metro"],
            [240.0, 120.0, rng.uniform(180, 600, n_trips), 60.0],
            60.0,
        )
        duration = np.maximum(duration, 60.0).round()
        gap = s_start[nxt] - s_end[prv]
        # leave just in time, or arrive late; never past the end of the next stay
        late = duration > gap
        leave = np.where(late, s_end[prv], s_start[nxt] - duration).astype(np.int64)
        arrive = np.minimum(leave + duration.astype(np.int64), s_end[nxt] - 60)
        leave = np.minimum(leave, arrive - 60)
        leave = np.maximum(leave, s_start[prv] + 60)
        s_end[prv] = leave
        s_start[nxt] = arrive
        # stretch route offsets to the trip's final duration
        span = (arrive - leave).astype(np.float64)
        scale = np.divide(span, duration, out=np.ones(n_trips), where=duration > 0)
        route_time = (leave[trip_idx] + offset * scale[trip_idx]).round().astype(np.int64)
        vehicle = self._vehicles(person, mode, leave, arrive, block_index, n_blocks, rng)
        adjusted = Schedule(
            sp, sb, s_start, s_end, stays.stay_activity, stays.meeting_building,
            stays.meeting_start, stays.meeting_end, stays.meeting_discreet,
            stays.meeting_people, stays.phone_left,
        )  # fmt: skip
        order = np.lexsort((leave, person))
        remap = np.empty(n_trips, dtype=np.int64)
        remap[order] = np.arange(n_trips)
        r_order = np.lexsort((route_time, remap[trip_idx]))
        movement = Movement(
            adjusted,
            person[order], leave[order], arrive[order], mode[order], vehicle[order],
            b_from[order], b_to[order], dist[order],
            remap[trip_idx][r_order], node[r_order], route_time[r_order],
            *self._keyframes(adjusted, person, trip_idx, node, route_time),
        )  # fmt: skip
        return movement

    def _choose_modes(
        self,
        person: np.ndarray,
        day: np.ndarray,
        euclid: np.ndarray,
        b_from: np.ndarray,
        b_to: np.ndarray,
        rng: np.random.Generator,
    ) -> np.ndarray:
        base = self.assets.person_mode[person].astype(object)
        has_car = self.car_today(person, day)
        mode = base.copy()
        mode[(base == "car") & ~has_car] = "metro"
        boundary = (b_from == OUTSIDE) | (b_to == OUTSIDE)
        short = (euclid < WALK_ONLY_M) & ~boundary
        mode[short] = "foot"
        mode[(base == "foot") & (euclid > 2500)] = "metro"
        mode[(base == "bicycle") & boundary] = "metro"
        mode[(mode == "foot") & boundary] = "metro"
        hail = (np.isin(mode, ("metro", "bicycle", "foot"))) & (euclid > 1500)
        hail &= rng.random(len(mode)) < 0.03
        mode[hail & ~boundary] = "taxi"
        return np.asarray(mode, dtype=str)

    def _route(
        self,
        mode: np.ndarray,
        o_node: np.ndarray,
        d_node: np.ndarray,
        depart: np.ndarray,
        rng: np.random.Generator,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(trip, node, seconds since departure, trip distance) for every trip."""
        r, w = self.router, self.world
        trips: list[np.ndarray] = []
        nodes: list[np.ndarray] = []
        offsets: list[np.ndarray] = []
        dist = np.zeros(len(mode))
        hour = ((depart - self.midnights[0]) % 86400) // 3600  # local-ish hour
        rush = np.isin(hour, (7, 8, 16, 17, 18))
        congestion = np.where(rush, 1.6, np.where((hour < 6) | (hour >= 22), 0.9, 1.15))

        def leg(
            which: np.ndarray, nxt: np.ndarray, o: np.ndarray, d: np.ndarray,
            speed: float | None, start: np.ndarray, slowdown: float = 1.0,
        ) -> np.ndarray:  # fmt: skip
            """Route trips ``which`` from o to d at ``speed`` m/s (None: by road, at the
            hour's congestion times ``slowdown``); returns each trip's end offset."""
            t, nd = r.paths(nxt, o, d)
            first = np.r_[True, t[1:] != t[:-1]] if len(t) else np.zeros(0, dtype=bool)
            prev = np.r_[nd[:1], nd[:-1]]
            seg_m = np.where(first, 0.0, r.length[prev, nd])
            if speed is None:  # by car: the edge's time, times the hour's congestion
                seg_s = np.where(first, 0.0, r.car_s[prev, nd]) * (congestion[which][t] * slowdown)
            else:
                seg_s = seg_m / speed
            cum_s = cumsum_by(t, seg_s) + start[t]
            np.add.at(dist, which, np.bincount(t, seg_m, minlength=len(which)))
            trips.append(which[t])
            nodes.append(nd)
            offsets.append(cum_s)
            end = start.copy()
            last = np.r_[np.flatnonzero(t[1:] != t[:-1]), len(t) - 1] if len(t) else []
            end[t[last]] = cum_s[last]
            return end

        road = np.flatnonzero(np.isin(mode, DRIVEN))
        if len(road):
            leg(road, r.next_car, o_node[road], d_node[road], None, np.zeros(len(road)))
        bus = np.flatnonzero(mode == "bus")
        if len(bus):  # slower than a car (stops), after a walk to the stop and a wait
            wait = rng.uniform(240, 720, len(bus))
            leg(bus, r.next_car, o_node[bus], d_node[bus], None, wait, slowdown=1.8)
        for m, pace in (("foot", FOOT_MS), ("bicycle", BICYCLE_MS)):
            idx = np.flatnonzero(mode == m)
            if len(idx):
                leg(idx, r.next_m, o_node[idx], d_node[idx], pace, np.zeros(len(idx)))
        metro = np.flatnonzero(mode == "metro")
        if len(metro):
            stations = w.station_node
            walk_to = r.to_station[o_node[metro]]
            walk_from = r.to_station[d_node[metro]]
            s_on = walk_to.argmin(axis=1)
            s_off = walk_from.argmin(axis=1)
            t_on = leg(metro, r.next_m, o_node[metro], stations[s_on], FOOT_MS,
                       np.zeros(len(metro)))  # fmt: skip
            # ride: wait, then station to station along the line
            wait = rng.uniform(60, 300, len(metro))
            lo, hi = np.minimum(s_on, s_off), np.maximum(s_on, s_off)
            n_stops = hi - lo + 1
            ride = np.repeat(np.arange(len(metro)), n_stops)
            k = np.arange(n_stops.sum()) - np.repeat(np.cumsum(n_stops) - n_stops, n_stops)
            forward = np.repeat(s_off >= s_on, n_stops)
            st = np.where(forward, np.repeat(s_on, n_stops) + k, np.repeat(s_on, n_stops) - k)
            st_xy = w.node_xy[stations[st]]
            hop = np.r_[0.0, np.hypot(*(st_xy[1:] - st_xy[:-1]).T)]
            first = np.r_[True, ride[1:] != ride[:-1]]
            hop[first] = 0.0
            ride_off = cumsum_by(ride, hop / METRO_MS) + (t_on + wait)[ride]
            np.add.at(dist, metro, np.bincount(ride, hop, minlength=len(metro)))
            trips.append(metro[ride])
            nodes.append(stations[st])
            offsets.append(ride_off)
            arrive_st = ride_off[np.r_[np.flatnonzero(ride[1:] != ride[:-1]), len(ride) - 1]]
            leg(metro, r.next_m, stations[s_off], d_node[metro], FOOT_MS, arrive_st)
        trip = np.concatenate(trips)
        offset = np.concatenate(offsets)
        node = np.concatenate(nodes)
        order = np.lexsort((offset, trip))
        return trip[order], node[order], offset[order], dist

    def _vehicles(
        self,
        person: np.ndarray,
        mode: np.ndarray,
        leave: np.ndarray,
        arrive: np.ndarray,
        block_index: int,
        n_blocks: int,
        rng: np.random.Generator,
    ) -> np.ndarray:
        a = self.assets
        vehicle = np.full(len(person), -1, dtype=np.int64)
        own = np.isin(mode, ("car", "chauffeur"))
        vehicle[own] = a.person_vehicle[person[own]]
        # taxis: this block's share of the fleet, the first free cab takes the fare
        fleet = a.taxis[block_index % max(1, min(n_blocks, len(a.taxis))) :: max(1, n_blocks)]
        if len(fleet) == 0:
            fleet = a.taxis
        free_at = np.zeros(len(fleet), dtype=np.int64)
        fares = np.flatnonzero(mode == "taxi")
        for i in fares[np.argsort(leave[fares], kind="stable")].tolist():
            free = np.flatnonzero(free_at <= leave[i])
            cab = int(rng.choice(free)) if len(free) else int(free_at.argmin())
            vehicle[i] = fleet[cab]
            free_at[cab] = arrive[i] + 300
        return vehicle

    def _keyframes(
        self,
        stays: Schedule,
        person: np.ndarray,
        trip_idx: np.ndarray,
        node: np.ndarray,
        route_time: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        w = self.world
        b = stays.stay_building
        xy = np.where((b >= 0)[:, None], w.building_xy[np.maximum(b, 0)], np.nan)
        kp = np.concatenate([stays.stay_person, stays.stay_person, person[trip_idx]])
        kt = np.concatenate([stays.stay_start, stays.stay_end - 1, route_time])
        kxy = np.concatenate([xy, xy, w.node_xy[node]])
        order = np.lexsort((kt, kp))
        return kp[order], kt[order], kxy[order]


def cumsum_by(group: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Cumulative sums of ``values`` restarting at each new ``group`` (sorted)."""
    if len(values) == 0:
        return values.astype(np.float64)
    total = np.cumsum(values)
    first = np.r_[True, group[1:] != group[:-1]]
    return total - np.maximum.accumulate(np.where(first, total - values, 0.0))
