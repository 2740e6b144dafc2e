"""Network analytics at scale: the ``contacts`` stage, Leiden and approximate betweenness
on a synthetic contact graph of 200,000 people.

    python benchmarks/network.py                          # 200,000 people, ~7 M events
    python benchmarks/network.py --people 20000           # smaller
    python benchmarks/network.py --threads 2 --json out.json

**Target** (issue 7): building the network, Leiden and approximate betweenness for
200,000 people in under 2 minutes on 2 cores.

**The data** (seeded, generated in memory, not timed): people belong to organisations
whose sizes are drawn log-uniformly between 5 and 500 members; each person has
``--intra`` ties (on average) to random members of their own organisation (all of them
in small ones) and ``--weak`` ties to people anywhere, so about 10-20 edges per person.
Every tie gets a Poisson number of communication events over ``--days`` days (mean
``--strong-events`` for ties inside an organisation, ``--weak-events`` for weak ties,
at least one), 40 % calls (exponential duration, mean 2 minutes) and 60 % SMS, each in
a random direction. Each person has one device with one number (``link_device``), 90 %
of devices are attributed to their person (``link_device_person``), 2 % of the people
also have a second phone (``link_second_phone``), and one in ten people has a contact
list of ten of their ties (``obs_contact``). The events are ``obs_communication``.

**Measured** (wall clock, DuckDB with ``--threads`` threads, igraph single-threaded):

1. ``contacts``: :func:`tessera.network.contacts.contacts`, the whole stage: numbers to
   devices to subjects (with the number-swap rule), self pairs, contact lists, and the
   per-pair aggregates and weights of ``net_contact``;
2. ``edges``: ``net_edge`` from ``net_contact`` (what the ``ties`` stage will do, with no
   co-presence here) and :func:`tessera.network.graph.load_graph` (to igraph);
3. ``leiden``: :func:`tessera.network.graph.leiden`;
4. ``betweenness``: :func:`tessera.network.graph.betweenness`, sampled with
   :data:`tessera.network.graph.BETWEENNESS_PIVOTS` pivots above
   :data:`tessera.network.graph.EXACT_BETWEENNESS_MAX_NODES` nodes.

The total is compared with the target. As a check of the output, the NMI of the Leiden
communities against the planted organisations is printed too.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from tessera.engines.duckdb.engine import DuckDBEngine
from tessera.network import graph
from tessera.network.contacts import contacts
from tessera.network.tables import CONTACT, EDGE

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tessera.evaluate.scores import nmi

TARGET_S = 120.0
T0_US = 1_772_409_600_000_000  # 2026-03-02 00:00 UTC


@dataclass
class Figures:
    people: int
    organisations: int
    ties: int
    events: int
    threads: int
    contact_pairs: int
    nodes: int
    edges: int
    communities: int
    nmi_vs_organisations: float
    betweenness_exact: bool
    pivots: int
    contacts_s: float
    edges_s: float
    leiden_s: float
    betweenness_s: float
    total_s: float
    target_s: float

    @property
    def meets_target(self) -> bool:
        return self.total_s <= self.target_s


def generate(
    people: int,
    intra: float,
    weak: float,
    strong_events: float,
    weak_events: float,
    days: int,
    seed: int,
) -> dict[str, Any]:
    """The synthetic population, ties and events (see the module docstring)."""
    rng = np.random.default_rng(seed)
    sizes: list[int] = []
    while sum(sizes) < people:
        sizes.append(round(np.exp(rng.uniform(np.log(5), np.log(500)))))
    sizes[-1] -= sum(sizes) - people
    if sizes[-1] < 1:
        sizes.pop()
        sizes[-1] += people - sum(sizes)
    org = np.repeat(np.arange(len(sizes)), sizes)
    start = np.repeat(np.cumsum([0, *sizes[:-1]]), sizes)
    size = np.repeat(sizes, sizes)
    # intra ties: each person picks about intra / 2 partners in their organisation
    k = rng.poisson(intra / 2, people)
    src = np.repeat(np.arange(people), k)
    dst = start[src] + rng.integers(0, size[src])
    ws = rng.poisson(weak / 2, people)
    wsrc = np.repeat(np.arange(people), ws)
    wdst = rng.integers(0, people, len(wsrc))
    a = np.concatenate([src, wsrc])
    b = np.concatenate([dst, wdst])
    strong = np.concatenate([np.ones(len(src), bool), np.zeros(len(wsrc), bool)])
    keep = a != b
    a, b, strong = a[keep], b[keep], strong[keep]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    key = lo.astype(np.int64) * people + hi
    _, first = np.unique(key, return_index=True)
    lo, hi, strong = lo[first], hi[first], strong[first]
    n_ev = np.maximum(1, rng.poisson(np.where(strong, strong_events, weak_events)))
    ea = np.repeat(lo, n_ev)
    eb = np.repeat(hi, n_ev)
    flip = rng.random(len(ea)) < 0.5
    frm, to = np.where(flip, eb, ea), np.where(flip, ea, eb)
    is_call = rng.random(len(ea)) < 0.4
    dur = np.where(is_call, rng.exponential(120.0, len(ea)).round(), 0.0)
    t = T0_US + (rng.random(len(ea)) * days * 86_400e6).astype(np.int64)
    return {
        "org": org,
        "ties": (lo, hi),
        "events": (frm, to, t, is_call, dur),
        "rng": rng,
    }


def number(i: np.ndarray[Any, Any]) -> pa.Array:
    return pa.array(np.char.add("+4915", np.char.zfill(i.astype(str), 9)))


def load(engine: DuckDBEngine, data: dict[str, Any], people: int) -> None:
    """Write the stage's input tables (not timed)."""
    rng = data["rng"]
    frm, to, t, is_call, dur = data["events"]
    n = len(frm)
    events = pa.table(
        {
            "obs_id": pa.array(np.arange(n, dtype=np.int64)),
            "batch_id": pa.array(np.ones(n, dtype=np.int32)),
            "row_no": pa.array(np.arange(1, n + 1, dtype=np.int64)),
            "source": pa.array(["cdr"] * 1).take(pa.array(np.zeros(n, dtype=np.int64))),
            "from_number": number(frm),
            "to_number": number(to),
            "time": pa.array(t, pa.timestamp("us", tz="UTC")),
            "channel": pa.array(np.where(is_call, "call", "sms")),
            "duration_s": pa.array(dur),
        }
    )
    second = rng.random(people) < 0.02
    ids = np.arange(people)
    dev = np.char.add("imsi:26201", np.char.zfill(ids.astype(str), 10))
    sec_ids = ids[second]
    sec_dev = np.char.add("imsi:26202", np.char.zfill(sec_ids.astype(str), 10))
    devices = pa.table(
        {
            "device": pa.array(np.concatenate([dev, sec_dev])),
            "msisdn": pa.concat_arrays([number(ids), number(sec_ids + 10**8)]),
            "events": pa.array(np.full(people + len(sec_ids), 100, dtype=np.int64)),
        }
    )
    attributed = rng.random(people) < 0.9
    dp = pa.table(
        {
            "device": pa.array(np.concatenate([dev[attributed], sec_dev])),
            "person": pa.array(
                np.char.add("person:", np.concatenate([ids[attributed], sec_ids]).astype(str))
            ),
        }
    )
    lo, hi = data["ties"]
    owners = ids[rng.random(people) < 0.1]
    ol, ll = [], []
    by_lo = np.argsort(lo, kind="stable")
    starts = np.searchsorted(lo[by_lo], owners)
    for o, s in zip(owners, starts, strict=True):
        j = by_lo[s : s + 10]
        j = j[lo[j] == o]
        ol.extend([o] * len(j))
        ll.extend(hi[j].tolist())
    lists = pa.table({"owner": number(np.asarray(ol)), "listed": number(np.asarray(ll))})
    e = engine
    e.register_arrow("_g_events", events)
    e.execute("CREATE TABLE obs_communication AS SELECT * FROM _g_events")
    e.unregister("_g_events")
    e.register_arrow("_g_dev", devices)
    e.execute(
        "CREATE TABLE link_device AS SELECT device, NULL::VARCHAR AS imsi, msisdn, "
        "[]::VARCHAR[] AS imeis, ['cdr'] AS sources, events, "
        "TIMESTAMPTZ '2026-03-02 00:00:00+00' AS first_seen, "
        "TIMESTAMPTZ '2026-04-30 00:00:00+00' AS last_seen FROM _g_dev"
    )
    e.unregister("_g_dev")
    e.register_arrow("_g_dp", dp)
    e.execute(
        "CREATE TABLE link_device_person AS SELECT device, person, 0.9 AS confidence, "
        "0.0 AS runner_up, []::VARCHAR[] AS vias, '' AS evidence FROM _g_dp"
    )
    e.unregister("_g_dp")
    e.execute(
        "CREATE TABLE link_second_phone AS SELECT replace(device, 'imsi:26202', 'imsi:26201') "
        'AS "primary", device AS second, 1.0 AS confidence FROM link_device '
        "WHERE device LIKE 'imsi:26202%'"
    )
    e.register_arrow("_g_lists", lists)
    e.execute(
        "CREATE TABLE obs_contact AS SELECT CAST(row_number() OVER () AS BIGINT) AS obs_id, "
        "2 AS batch_id, CAST(row_number() OVER () AS BIGINT) AS row_no, 'lists' AS source, "
        "owner AS owner_number, NULL::VARCHAR AS owner_imei, NULL::VARCHAR AS owner_imei_tac, "
        "listed AS listed_number, 'x' AS listed_name, 'x' AS listed_name_latin FROM _g_lists"
    )
    e.unregister("_g_lists")
    e.execute("CREATE TABLE tessera_meta (key VARCHAR, value VARCHAR)")
    e.execute("INSERT INTO tessera_meta VALUES ('timezone', 'Europe/Berlin')")


def run(args: argparse.Namespace) -> Figures:
    t = time.perf_counter()
    data = generate(
        args.people,
        args.intra,
        args.weak,
        args.strong_events,
        args.weak_events,
        args.days,
        args.seed,
    )
    engine = DuckDBEngine(None, threads=args.threads, memory_limit=args.memory_limit)
    load(engine, data, args.people)
    n_events = len(data["events"][0])
    print(
        f"generated {args.people:,} people, {len(data['ties'][0]):,} ties, {n_events:,} events "
        f"in {time.perf_counter() - t:.1f} s",
        file=sys.stderr,
        flush=True,
    )
    t = time.perf_counter()
    n_contact = contacts(engine)[CONTACT]
    contacts_s = time.perf_counter() - t
    print(f"contacts: {n_contact:,} pairs in {contacts_s:.1f} s", file=sys.stderr, flush=True)
    t = time.perf_counter()
    engine.execute(
        f"CREATE TABLE {EDGE} AS SELECT a, a_kind, b, b_kind, weight AS contact_weight, "
        f"0.0 AS copresence_weight, 0.0 AS place_weight, weight, false AS hidden "
        f"FROM {CONTACT}"
    )
    g = graph.load_graph(engine)
    edges_s = time.perf_counter() - t
    print(
        f"edges: {g.graph.vcount():,} nodes, {g.graph.ecount():,} edges in {edges_s:.1f} s",
        file=sys.stderr,
        flush=True,
    )
    t = time.perf_counter()
    member = graph.leiden(g.graph, g.weights)
    leiden_s = time.perf_counter() - t
    print(
        f"leiden: {len(set(member)):,} communities in {leiden_s:.1f} s", file=sys.stderr, flush=True
    )
    t = time.perf_counter()
    _, exact = graph.betweenness(g.graph, g.weights)
    betweenness_s = time.perf_counter() - t
    print(f"betweenness: exact={exact} in {betweenness_s:.1f} s", file=sys.stderr, flush=True)
    # Leiden against the planted organisations, over attributed people
    org = data["org"]
    pairs = [
        (m, int(org[int(s.split(":")[1])]))
        for s, m in zip(g.subjects, member, strict=True)
        if s.startswith("person:")
    ]
    score = nmi([p[0] for p in pairs], [p[1] for p in pairs])
    engine.close()
    total = contacts_s + edges_s + leiden_s + betweenness_s
    return Figures(
        people=args.people,
        organisations=int(org.max()) + 1,
        ties=len(data["ties"][0]),
        events=n_events,
        threads=args.threads,
        contact_pairs=n_contact,
        nodes=g.graph.vcount(),
        edges=g.graph.ecount(),
        communities=len(set(member)),
        nmi_vs_organisations=score,
        betweenness_exact=exact,
        pivots=graph.BETWEENNESS_PIVOTS,
        contacts_s=contacts_s,
        edges_s=edges_s,
        leiden_s=leiden_s,
        betweenness_s=betweenness_s,
        total_s=total,
        target_s=TARGET_S,
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--people", type=int, default=200_000)
    ap.add_argument("--intra", type=float, default=12.0, help="mean ties inside the organisation")
    ap.add_argument("--weak", type=float, default=4.0, help="mean weak ties anywhere")
    ap.add_argument("--strong-events", type=float, default=7.0)
    ap.add_argument("--weak-events", type=float, default=2.0)
    ap.add_argument("--days", type=int, default=56)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--memory-limit", default="4GB")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)
    f = run(args)
    how = "exact" if f.betweenness_exact else f"{f.pivots} pivots"
    print(
        f"{f.people:,} people, {f.events:,} events, {f.nodes:,} nodes, {f.edges:,} edges, "
        f"{f.threads} threads\n"
        f"  contacts     {f.contacts_s:7.1f} s\n"
        f"  edges        {f.edges_s:7.1f} s\n"
        f"  leiden       {f.leiden_s:7.1f} s  ({f.communities:,} communities, NMI vs "
        f"organisations {f.nmi_vs_organisations:.3f})\n"
        f"  betweenness  {f.betweenness_s:7.1f} s  ({how})\n"
        f"  total        {f.total_s:7.1f} s  (target {f.target_s:.0f} s: "
        f"{'met' if f.meets_target else 'NOT met'})"
    )
    if args.json:
        args.json.write_text(json.dumps({**asdict(f), "meets_target": f.meets_target}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
