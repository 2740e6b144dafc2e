"""The sensors, with their real flaws: cell sectors, plate cameras, handset GPS.

Device events are located only by their serving sector. Which sector serves a point
comes from a coverage grid (25 m cells): each sector's signal falls with distance and
with the angle off its azimuth; the strongest serves, and near a boundary the second
strongest often does instead (tower ping-pong). Events are periodic location updates,
bursty data sessions with a day/night rhythm, location updates on the move, and calls
and SMS at both ends. Phones are off while their owner switches them off at night, a
second phone is on only at its owner's chosen times, and a phone left at home during a
discreet meeting stays at home.

Plate reads come from cars, chauffeured cars and taxis passing a camera: detected with
a probability below one, with OCR confusions (0/O/D, 1/I, 8/B, 5/S, 2/Z), dropped
characters, duplicate reads and a read confidence. Through-traffic from outside the
district and visitors' roaming phones add the background that every chance baseline
needs.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

from tessera.simulate.assets import NIGHT_OFF_HOURS, Assets
from tessera.simulate.movement import DRIVEN, Movement, Router, cumsum_by
from tessera.simulate.routine import LOCAL
from tessera.simulate.world import World
from tessera.types.identifiers import luhn_check_digit

GRID_M = 25.0
LU_PERIOD_S = 5400.0
DETECTION = 0.88
OCR_CONFUSIONS = {"0": "OD", "O": "0D", "D": "0O", "1": "I", "I": "1", "8": "B", "B": "8",
                  "5": "S", "S": "5", "2": "Z", "Z": "2"}  # fmt: skip
# relative activity by local hour (data sessions), low at night, peaks at noon and evening
HOURLY = np.array([0.15, 0.08, 0.05, 0.04, 0.05, 0.12, 0.35, 0.65, 0.85, 0.9, 0.95, 1.0,
                   1.0, 0.95, 0.9, 0.9, 0.95, 1.0, 1.0, 0.95, 0.9, 0.8, 0.6, 0.35])  # fmt: skip

EVENT_CODES = ("LU", "DATA", "HO", "MOC", "MTC", "SMS-MO", "SMS-MT")
EVENT_VALUES = {"LU": "location_update", "DATA": "data", "HO": "handover", "MOC": "call",
                "MTC": "call", "SMS-MO": "sms", "SMS-MT": "sms"}  # fmt: skip


class Coverage:
    """The serving sector and the runner-up at every 25 m of the district."""

    def __init__(self, world: World) -> None:
        size = world.params.size_m
        n = math.ceil(size / GRID_M)
        self.n = n
        centres = (np.arange(n) + 0.5) * GRID_M
        gx, gy = np.meshgrid(centres, centres, indexing="ij")
        pts = np.stack([gx.ravel(), gy.ravel()], axis=1)
        sec_xy = world.site_xy[world.sector_site]
        best = np.empty((len(pts), 2), dtype=np.int32)
        margin = np.empty(len(pts))
        for lo in range(0, len(pts), 8192):
            p = pts[lo : lo + 8192]
            d = p[:, None, :] - sec_xy[None, :, :]
            dist = np.maximum(np.hypot(d[..., 0], d[..., 1]), 30.0)
            bearing = np.degrees(np.arctan2(d[..., 0], d[..., 1])) % 360
            off = np.abs((bearing - world.sector_azimuth[None, :] + 180) % 360 - 180)
            gain = -np.minimum(12 * (off / 65) ** 2, 20)
            signal = -35 * np.log10(dist) + gain - 10 * (dist > world.sector_range_m * 1.5)
            rows = np.arange(len(p))
            first = signal.argmax(axis=1)
            s1 = signal[rows, first]
            signal[rows, first] = -np.inf
            second = signal.argmax(axis=1)
            best[lo : lo + 8192, 0] = first
            best[lo : lo + 8192, 1] = second
            margin[lo : lo + 8192] = s1 - signal[rows, second]
        self.best = best
        self.margin = margin

    def serving(self, xy: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Serving sector index for each position (NaN positions: -1)."""
        ok = ~np.isnan(xy[:, 0])
        cell = np.clip((np.nan_to_num(xy) // GRID_M).astype(np.int64), 0, self.n - 1)
        flat = cell[:, 0] * self.n + cell[:, 1]
        second = rng.random(len(xy)) < 0.5 * np.exp(-self.margin[flat] / 3.0)
        out = np.where(second, self.best[flat, 1], self.best[flat, 0]).astype(np.int64)
        out[~ok] = -1
        return np.asarray(out)


@dataclass
class DeviceEvents:
    device: np.ndarray  # device index; visitors are numbered after the population's
    time: np.ndarray  # epoch seconds
    code: np.ndarray  # index into EVENT_CODES
    sector: np.ndarray


@dataclass
class PlateReads:
    vehicle: np.ndarray  # -1 through traffic
    true_plate: list[str]
    read: list[str]
    camera: np.ndarray  # index into world.camera_node
    time: np.ndarray
    confidence: np.ndarray


class SensorModel:
    def __init__(self, world: World, assets: Assets, homes: np.ndarray, seed: int) -> None:
        self.world = world
        self.homes = homes
        self.assets = assets
        self.seed = seed
        self.coverage = Coverage(world)
        self.camera_of_node = np.full(len(world.node_xy), -1, dtype=np.int64)
        self.camera_of_node[world.camera_node] = np.arange(len(world.camera_node))
        self.plate_ocr = [p.replace("-", "").replace(" ", "") for p in assets.vehicle_plate]
        self.policy = np.array(
            [assets.second_policy.get(d, "") for d in range(len(assets.device_role))]
        )
        # the zone's UTC offset at the period's start and end (they differ by an hour at
        # most), and the second it changes
        t0, t1 = assets.period_start, assets.period_end
        self.offsets = tuple(_utc_offset(t) for t in (t0, t1))
        self.switch = _offset_switch(t0, t1) if self.offsets[0] != self.offsets[1] else t1
        self.first_weekday = dt.datetime.fromtimestamp(t0, LOCAL).weekday()

    # -- device events ---------------------------------------------------------
    def device_events(
        self,
        movement: Movement,
        persons: range,
        comm_time: np.ndarray,
        comm_device: np.ndarray,
        comm_code: np.ndarray,
        block_index: int,
    ) -> DeviceEvents:
        """Events of the devices of ``persons``; ``comm_*`` are this block's call and
        SMS ends (device, time, event code)."""
        a = self.assets
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, 7, block_index]))
        devices = np.flatnonzero(
            (a.device_person >= persons.start) & (a.device_person < persons.stop)
        )
        t0, t1 = a.period_start, a.period_end
        times: list[np.ndarray] = []
        devs: list[np.ndarray] = []
        codes: list[np.ndarray] = []
        # periodic location updates
        n_lu = int((t1 - t0) / LU_PERIOD_S) + 1
        phase = rng.uniform(0, LU_PERIOD_S, len(devices))
        lu = phase[:, None] + np.arange(n_lu)[None, :] * LU_PERIOD_S
        lu += rng.normal(0, 120, lu.shape)
        times.append((t0 + lu).ravel())
        devs.append(np.repeat(devices, n_lu))
        codes.append(np.zeros(lu.size, dtype=np.int8))
        # data sessions: a thinned Poisson process, several events per session
        rate = rng.lognormal(np.log(0.9), 0.8, len(devices))  # sessions per hour at peak
        hours = (t1 - t0) / 3600
        n_cand = rng.poisson(rate * hours)
        dev = np.repeat(devices, n_cand)
        t = rng.uniform(t0, t1, n_cand.sum())
        keep = rng.random(len(t)) < HOURLY[self._local_hour(t)]
        dev, t = dev[keep], t[keep]
        burst = rng.geometric(0.45, len(t))
        dev = np.repeat(dev, burst)
        start = np.repeat(t, burst)
        k = np.arange(burst.sum()) - np.repeat(np.cumsum(burst) - burst, burst)
        gaps = rng.exponential(75, len(k))
        t = start + cumsum_by(np.cumsum(k == 0), np.where(k == 0, 0.0, gaps))
        times.append(t)
        devs.append(dev)
        codes.append(np.ones(len(t), dtype=np.int8))
        # calls and SMS
        times.append(comm_time.astype(np.float64))
        devs.append(comm_device)
        codes.append(comm_code.astype(np.int8))
        # location updates on the move: a new sector at a route node, now and then
        hand_t, hand_d = self._moves(movement, devices, rng)
        times.append(hand_t)
        devs.append(hand_d)
        codes.append(np.full(len(hand_t), 2, dtype=np.int8))
        time = np.concatenate(times)
        device = np.concatenate(devs)
        code = np.concatenate(codes)
        time = np.floor(time).astype(np.int64)
        on = self._on(device, time, code, movement)
        device, time, code = device[on], time[on], code[on]
        person = a.device_person[device]
        xy = movement.positions(person, time)
        xy = self._left_at_home(movement, device, person, time, xy)
        xy = xy + rng.normal(0, 20, xy.shape)
        sector = self.coverage.serving(xy, rng)
        inside = sector >= 0
        order = np.lexsort((code[inside], time[inside], device[inside]))
        return DeviceEvents(
            device[inside][order], time[inside][order], code[inside][order],
            sector[inside][order],
        )  # fmt: skip

    def _local_hour(self, t: np.ndarray) -> np.ndarray:
        off = np.where(t < self.switch, *self.offsets)
        return ((t + off) // 3600 % 24).astype(np.int64)

    def _on(
        self, device: np.ndarray, time: np.ndarray, code: np.ndarray, movement: Movement
    ) -> np.ndarray:
        """Whether each device is on (active, not switched off, within its policy; a
        second phone is on whenever it calls or texts, which its owner does at its times)."""
        a = self.assets
        on = (time >= a.device_from[device]) & (time < a.device_to[device])
        on &= (time >= a.period_start) & (time < a.period_end)
        hour = self._local_hour(time)
        night = (hour >= NIGHT_OFF_HOURS[0]) & (hour < NIGHT_OFF_HOURS[1])
        on &= ~(a.device_night_off[device] & night)
        second = a.device_role[device] == "second"
        if second.any():
            policy = self.policy[device[second]]
            h = hour[second]
            wd = (self.first_weekday + (time[second] - a.period_start) // 86400) % 7
            ok = np.where(
                policy == "work_hours",
                (wd < 5) & (h >= 9) & (h < 18),
                np.where(policy == "evenings", (h >= 18) & (h < 23), False),
            )
            meet = policy == "meetings"
            if meet.any():
                ok[meet] = self._near_meeting(
                    a.device_person[device[second][meet]], time[second][meet], movement
                )
            comm = code[second] >= 3
            on[np.flatnonzero(second)] &= ok | comm
        return np.asarray(on)

    def _near_meeting(self, person: np.ndarray, time: np.ndarray, movement: Movement) -> np.ndarray:
        """Within 2 h before to 1 h after one of the person's discreet meetings."""
        s = movement.stays
        ok = np.zeros(len(person), dtype=bool)
        here = set(np.unique(person).tolist())
        for m in np.flatnonzero(s.meeting_discreet).tolist():
            if here.isdisjoint(s.meeting_people[m]):
                continue
            who = np.isin(person, s.meeting_people[m])
            if who.any():
                lo, hi = s.meeting_start[m] - 7200, s.meeting_end[m] + 3600
                ok |= who & (time >= lo) & (time < hi)
        return ok

    def _left_at_home(
        self,
        movement: Movement,
        device: np.ndarray,
        person: np.ndarray,
        time: np.ndarray,
        xy: np.ndarray,
    ) -> np.ndarray:
        s, a, w = movement.stays, self.assets, self.world
        primary = a.device_role[device] == "primary"
        here = set(np.unique(person).tolist())  # only this block's people
        for p, m in sorted(pm for pm in s.phone_left if pm[0] in here):
            hit = primary & (person == p)
            if not hit.any():
                continue
            lo, hi = s.meeting_start[m] - 3600, s.meeting_end[m] + 3600
            hit &= (time >= lo) & (time < hi)
            if hit.any():
                xy[hit] = w.building_xy[self.homes[p]]
        return xy

    def _moves(
        self, movement: Movement, devices: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """A location update at some route nodes where the serving sector changes."""
        w, a = self.world, self.assets
        if len(movement.route_node) == 0:
            return np.zeros(0), np.zeros(0, dtype=np.int64)
        sec = self.coverage.serving(w.node_xy[movement.route_node], rng)
        trip = movement.route_trip
        change = np.r_[False, (sec[1:] != sec[:-1]) & (trip[1:] == trip[:-1])]
        change &= rng.random(len(change)) < 0.35
        idx = np.flatnonzero(change)
        person = movement.trip_person[trip[idx]]
        # the person's primary devices
        prim = devices[a.device_role[devices] == "primary"]
        owner = a.device_person[prim]
        order = np.argsort(owner, kind="stable")
        lo = np.searchsorted(owner[order], person, side="left")
        hi = np.searchsorted(owner[order], person, side="right")
        count = hi - lo
        rep = np.repeat(np.arange(len(idx)), count)
        k = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
        dev = prim[order][lo[rep] + k]
        return movement.route_time[idx][rep].astype(np.float64), dev

    # -- GPS-grade fixes ---------------------------------------------------------
    def gps_fixes(
        self, movement: Movement, persons: range, block_index: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(device, time, xy, accuracy_m) from handsets whose app reports GPS fixes:
        every ~5 minutes on the move, every ~30 minutes at rest."""
        a = self.assets
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, 8, block_index]))
        devices = np.flatnonzero(
            a.device_gps & (a.device_person >= persons.start) & (a.device_person < persons.stop)
        )
        if len(devices) == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 2)), np.zeros(0)
        t0, t1 = a.period_start, a.period_end
        step = 300
        grid = np.arange(t0, t1, step)
        dev = np.repeat(devices, len(grid))
        t = np.tile(grid, len(devices)) + rng.integers(0, step, len(dev))
        person = a.device_person[dev]
        moving = movement.moving(person, t)
        keep = moving | (rng.random(len(t)) < step / 1800)
        keep &= (t >= a.device_from[dev]) & (t < a.device_to[dev])
        dev, t, person = dev[keep], t[keep], person[keep]
        xy = movement.positions(person, t)
        inside = ~np.isnan(xy[:, 0])
        acc = rng.lognormal(np.log(12), 0.6, int(inside.sum())).clip(3, 150)
        noisy = xy[inside] + rng.normal(0, 1, (int(inside.sum()), 2)) * acc[:, None] / 1.5
        return dev[inside], t[inside], noisy, acc

    # -- plate reads ------------------------------------------------------------
    def plate_reads(self, movement: Movement, block_index: int) -> PlateReads:
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, 9, block_index]))
        trip = movement.route_trip
        driven = np.isin(movement.trip_mode, DRIVEN)[trip]
        cam = self.camera_of_node[movement.route_node]
        hit = np.flatnonzero(driven & (cam >= 0))
        vehicle = movement.trip_vehicle[trip[hit]]
        times = movement.route_time[hit]
        keep = vehicle >= 0
        return self._reads(vehicle[keep], cam[hit][keep], times[keep], rng, self.plate_ocr)

    def _reads(
        self,
        vehicle: np.ndarray,
        camera: np.ndarray,
        time: np.ndarray,
        rng: np.random.Generator,
        plates: list[str],
    ) -> PlateReads:
        hour = self._local_hour(time)
        p_detect = np.where((hour >= 6) & (hour < 21), DETECTION, DETECTION - 0.1)
        seen = rng.random(len(time)) < p_detect
        vehicle, camera, time = vehicle[seen], camera[seen], time[seen]
        dup = rng.random(len(time)) < 0.02  # a second read of the same pass
        vehicle = np.concatenate([vehicle, vehicle[dup]])
        camera = np.concatenate([camera, camera[dup]])
        time = np.concatenate([time, time[dup] + rng.integers(1, 3, int(dup.sum()))])
        true = [plates[v] for v in vehicle.tolist()]
        read, confidence = _ocr(true, rng)
        order = np.lexsort((camera, time))
        return PlateReads(
            vehicle[order], [true[i] for i in order], [read[i] for i in order],
            camera[order], time[order], confidence[order],
        )  # fmt: skip

    # -- background: through traffic and visitors ---------------------------------
    def through_traffic(self, r: Router, n_vehicles: int) -> PlateReads:
        """Cars from outside crossing the district exit to exit on some days."""
        w, a = self.world, self.assets
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, 10]))
        days = round((a.period_end - a.period_start) / 86400)
        plates = [_foreign_plate(rng) for _ in range(n_vehicles)]
        present = rng.random((n_vehicles, days)) < rng.uniform(0.05, 0.6, n_vehicles)[:, None]
        veh, day = np.nonzero(present)
        n = len(veh)
        o = rng.choice(w.exit_node, n)
        d = rng.choice(w.exit_node, n)
        hour = rng.choice(24, n, p=HOURLY / HOURLY.sum())
        depart = a.period_start + day * 86400 + hour * 3600 + rng.integers(0, 3600, n)
        trip, node = r.paths(r.next_car, o, d)
        first = np.r_[True, trip[1:] != trip[:-1]] if len(trip) else np.zeros(0, bool)
        prev = np.r_[node[:1], node[:-1]]
        seg = np.where(first, 0.0, r.car_s[prev, node]) * 1.2
        t = depart[trip] + cumsum_by(trip, seg).round().astype(np.int64)
        cam = self.camera_of_node[node]
        hit = cam >= 0
        reads = self._reads(veh[trip[hit]], cam[hit], t[hit], rng, plates)
        # the truth knows no vehicle behind through traffic (the index above is into
        # ``plates``, not the district's vehicles)
        reads.vehicle = np.full(len(reads.vehicle), -1, dtype=reads.vehicle.dtype)
        return reads

    def visitors(
        self, n_devices: int, first_index: int
    ) -> tuple[DeviceEvents, list[dict[str, str]]]:
        """Roaming phones of visitors: present for some hours on a few days, around
        hotels, offices and the metro."""
        w, a = self.world, self.assets
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, 11]))
        days = round((a.period_end - a.period_start) / 86400)
        places = np.flatnonzero(np.isin(w.building_kind, ("hotel", "office", "restaurant", "cafe")))
        ids = []
        for _ in range(n_devices):
            mcc, cc = ROAMING[int(rng.integers(len(ROAMING)))]
            body = "35" + f"{int(rng.integers(0, 10**12)):012d}"
            ids.append(
                {
                    "msisdn": _valid_number(cc, rng),
                    "imsi": mcc + "0" + f"{int(rng.integers(0, 10**11)):011d}",
                    "imei": body + luhn_check_digit(body),
                }
            )
        visit_days = rng.random((n_devices, days)) < 0.15
        visit_days[np.arange(n_devices), rng.integers(0, days, n_devices)] = True  # at least once
        dev, day = np.nonzero(visit_days)
        place = rng.choice(places, len(dev))
        start = a.period_start + day * 86400 + rng.integers(8 * 3600, 20 * 3600, len(dev))
        length = rng.integers(1800, 4 * 3600, len(dev))
        n_ev = rng.poisson(length / 900) + 1
        e_dev = np.repeat(dev, n_ev)
        e_t = np.repeat(start, n_ev) + (rng.random(n_ev.sum()) * np.repeat(length, n_ev)).astype(
            np.int64
        )
        xy = w.building_xy[np.repeat(place, n_ev)] + rng.normal(0, 25, (n_ev.sum(), 2))
        sector = self.coverage.serving(xy, rng)
        code = rng.choice([0, 1, 1, 1, 5], len(e_t)).astype(np.int8)
        order = np.lexsort((e_t, e_dev))
        events = DeviceEvents(e_dev[order] + first_index, e_t[order], code[order], sector[order])
        return events, ids


# visitors' home networks: (MCC, mobile prefix in E.164)
ROAMING = (("234", "+447"), ("208", "+336"), ("250", "+7916"), ("460", "+86138"),
           ("310", "+1202"), ("222", "+39347"))  # fmt: skip


def _valid_number(prefix: str, rng: np.random.Generator) -> str:
    """A number under ``prefix`` that libphonenumber accepts as valid."""
    import phonenumbers

    for _ in range(200):
        width = int(rng.integers(6, 10))
        candidate = prefix + "".join(str(int(d)) for d in rng.integers(0, 10, width))
        try:
            if phonenumbers.is_valid_number(phonenumbers.parse(candidate)):
                return candidate
        except phonenumbers.NumberParseException:
            continue
    raise ValueError(f"no valid number found under {prefix}")


def _utc_offset(t: int) -> float:
    offset = dt.datetime.fromtimestamp(t, LOCAL).utcoffset()
    return offset.total_seconds() if offset else 0.0


def _offset_switch(start: int, end: int) -> int:
    """The UTC second at which the zone's offset changes within [start, end)."""
    lo, hi = start, end
    off = dt.datetime.fromtimestamp(lo, LOCAL).utcoffset()
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if dt.datetime.fromtimestamp(mid, LOCAL).utcoffset() == off:
            lo = mid
        else:
            hi = mid
    return hi


def _ocr(plates: list[str], rng: np.random.Generator) -> tuple[list[str], np.ndarray]:
    """Reads of ``plates`` with OCR flaws, and a confidence for each."""
    n = len(plates)
    u = rng.random((n, 3))
    out: list[str] = []
    wrong = np.zeros(n, dtype=bool)
    for i, plate in enumerate(plates):
        chars = list(plate)
        if u[i, 0] < 0.06:  # a confusable character misread
            spots = [j for j, c in enumerate(chars) if c in OCR_CONFUSIONS]
            if spots:
                j = spots[int(u[i, 1] * len(spots))]
                options = OCR_CONFUSIONS[chars[j]]
                chars[j] = options[int(u[i, 2] * len(options))]
                wrong[i] = True
        elif u[i, 0] < 0.075 and len(chars) > 3:  # a character dropped
            del chars[int(u[i, 1] * len(chars))]
            wrong[i] = True
        out.append("".join(chars))
    confidence = np.where(wrong, rng.uniform(0.45, 0.9, n), rng.beta(18, 1.5, n))
    return out, confidence.round(3)


def _foreign_plate(rng: np.random.Generator) -> str:
    kind = rng.random()
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"

    def pick(k: int) -> str:
        return "".join(letters[int(i)] for i in rng.integers(0, len(letters), size=k).tolist())

    if kind < 0.7:
        city = ["P", "HH", "M", "F", "LDS", "BAR", "OHV", "MOL", "TF", "PM"][int(rng.integers(10))]
        return f"{city}-{pick(2)} {int(rng.integers(1, 9999))}"
    if kind < 0.85:
        return f"W{pick(1)} {int(rng.integers(10000, 99999))}"  # Polish-style
    return f"{pick(2)}-{int(rng.integers(100, 999))}-{pick(2)}"  # French-style
