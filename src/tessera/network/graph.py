"""Communities, brokers and central subjects of the combined graph, and two queries on it.

Reads ``net_edge`` (a, a_kind, b, b_kind, contact_weight, copresence_weight, weight,
hidden) and writes ``net_community`` and ``net_centrality`` (layouts in
:data:`tessera.network.tables.COLUMNS`). The graph is undirected; its nodes are the
subjects at either end of an edge of positive ``weight`` (rows of zero or negative
weight, and self pairs, are left out), and a pair written twice counts once, with the
sum of its weights.

**Communities**: the Leiden algorithm (Traag, van Eck and Waltman 2019) of python-igraph
(``Graph.community_leiden``), optimising the Constant Potts Model (CPM, Traag, Van
Dooren and Nesterov 2011): a partition gains, for each community, its internal edge
weight less ``gamma`` per pair of its members, so a community is a group whose members
are on average linked more strongly than ``gamma``. ``gamma`` is the larger of
:data:`CPM_RESOLUTION` times the graph's mean edge weight and :data:`CPM_DENSITY` times
its weight per pair of nodes (total weight over ``n (n - 1) / 2``), so it does not
depend on the weights' scale, and a dense graph (everyone in one workplace has met
everyone) is not one community because it is denser than a sparse city's threshold.
Unlike modularity, CPM has no resolution limit: modularity merges
groups smaller than about the square root of the graph's total weight into larger
ones, whatever their ties, and most organisations are small (on the ``small``
simulation, modularity at resolution 1 gave 33 communities for 2,046 subjects, and
an NMI with the true organisations of 0.71, below the 0.88 of putting everyone alone).
Two iterations (:data:`LEIDEN_ITERATIONS`, igraph's default): iterating until no
iteration improves the objective took about 100 passes and 127 s on the 200,000-person
benchmark, for nearly the same NMI (0.840 against 0.839 with two passes; the same 0.925
on ``district`` and 0.90 on ``small``). igraph draws its random numbers from a Python
``random.Random`` seeded with :data:`SEED`, installed for the call and removed after it,
so a build is reproducible and no global random state is touched. Communities are
numbered from 0 by size, largest first (ties: the community holding the smallest
subject), and ``size`` is their member count.

**Centrality** (``net_centrality``): ``degree`` (neighbours), ``strength`` (sum of
edge weights) and ``betweenness``: the share of shortest paths between other pairs that
pass through the subject, normalised by ``(n - 1)(n - 2) / 2`` for ``n`` nodes, so it
lies in [0, 1]. Paths are shortest in *distance* ``1 / weight``: a strong tie is short,
and two strong ties (weight 4 each, distance 0.5) make a shorter path than one weak
tie (weight 0.3, distance 3.3). Up to :data:`EXACT_BETWEENNESS_MAX_NODES` nodes the
betweenness is exact (Brandes' algorithm, ``O(n m + n^2 log n)``); above, it is the
estimate of Brandes and Pich (2007): the dependencies of shortest paths from
:data:`BETWEENNESS_PIVOTS` source nodes drawn uniformly at random (seeded), scaled by
``n / pivots``, which is unbiased, and whose cost grows with the pivots, not with
``n``. A distance ``cutoff`` would be cheaper still but biased against exactly the
long, community-crossing paths through brokers, so it is not used.
``betweenness_exact`` says which one a row holds. ``rank_in_community`` ranks members
of a community by strength, highest first (ties: betweenness, then subject): 1 is its
most central subject.

**Queries** (for the CLI and the dossier): :func:`shortest_path` and
:func:`ego_network`, below.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tessera.engines.base import quote
from tessera.errors import NetworkError
from tessera.network import tables

if TYPE_CHECKING:
    import igraph
    import numpy as np
    import pyarrow as pa

    from tessera.engines.base import Engine

EDGE = tables.EDGE
COMMUNITY = tables.COMMUNITY
CENTRALITY = tables.CENTRALITY

SEED = 20_240_601
# CPM's gamma as a share of the mean edge weight (docs/network.md: chosen on `small`)
CPM_RESOLUTION = 0.1
CPM_DENSITY = 1.25  # ... and at least this many times the graph's weight per node pair
LEIDEN_ITERATIONS = 2  # passes of Leiden (igraph's default; see the module docstring)
EXACT_BETWEENNESS_MAX_NODES = 5_000
BETWEENNESS_PIVOTS = 64
MAX_HOPS = 6

_EDGES_SQL = f"""
SELECT least(a, b) AS a, greatest(a, b) AS b,
       any_value(CASE WHEN a < b THEN a_kind ELSE b_kind END) AS a_kind,
       any_value(CASE WHEN a < b THEN b_kind ELSE a_kind END) AS b_kind,
       sum(weight) AS weight
FROM {EDGE} WHERE weight > 0 AND a IS NOT NULL AND b IS NOT NULL AND a <> b
GROUP BY least(a, b), greatest(a, b)
"""


@dataclass(frozen=True)
class Graph:
    """The graph of ``net_edge`` in igraph form: node ``i`` is ``subjects[i]``."""

    graph: igraph.Graph
    subjects: list[str]
    kinds: list[str]
    weights: np.ndarray[Any, Any]
    index: dict[str, int] = field(repr=False)


@contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """igraph's random numbers from a private ``random.Random(seed)`` for the block."""
    import igraph

    igraph.set_random_number_generator(random.Random(seed))
    try:
        yield
    finally:
        igraph.set_random_number_generator(random)


def load_graph(engine: Engine) -> Graph:
    """Read ``net_edge`` into an undirected igraph graph (positive weights only)."""
    import igraph
    import numpy as np

    if EDGE not in engine.table_names():
        raise NetworkError(
            f"table {EDGE!r} does not exist: run `tessera build` (the `ties` stage writes it)"
        )
    with engine.temp_tables() as temp:
        temp("_net_g_edge", _EDGES_SQL)
        temp(
            "_net_g_node",
            "SELECT CAST(row_number() OVER (ORDER BY subject) - 1 AS BIGINT) AS i, subject, kind "
            "FROM (SELECT a AS subject, any_value(a_kind) AS kind FROM _net_g_edge GROUP BY a "
            "UNION SELECT b, any_value(b_kind) FROM _net_g_edge GROUP BY b) u "
            "QUALIFY row_number() OVER (PARTITION BY subject ORDER BY kind) = 1",
        )
        nodes = engine.fetch_arrow("SELECT subject, kind FROM _net_g_node ORDER BY i")
        edges = engine.fetch_arrow(
            "SELECT x.i AS u, y.i AS v, e.weight FROM _net_g_edge e "
            "JOIN _net_g_node x ON x.subject = e.a JOIN _net_g_node y ON y.subject = e.b "
            "ORDER BY u, v"
        )
    subjects = [str(s) for s in nodes.column("subject").to_pylist()]
    kinds = [str(k) for k in nodes.column("kind").to_pylist()]
    u = edges.column("u").to_numpy()
    v = edges.column("v").to_numpy()
    g = igraph.Graph(n=len(subjects), edges=np.column_stack([u, v]), directed=False)
    weights = edges.column("weight").to_numpy().astype(float)
    return Graph(g, subjects, kinds, weights, {s: i for i, s in enumerate(subjects)})


def leiden(g: igraph.Graph, weights: np.ndarray[Any, Any], seed: int = SEED) -> list[int]:
    """Leiden communities (CPM, seeded; ``gamma`` as in the module docstring);
    community ids as igraph gives them."""
    n = g.vcount()
    total = float(weights.sum()) if len(weights) else 0.0
    gamma = max(
        CPM_RESOLUTION * total / max(len(weights), 1),
        CPM_DENSITY * total / max(n * (n - 1) / 2, 1),
    )
    with _seeded(seed):
        part = g.community_leiden(
            objective_function="CPM",
            weights=weights,
            resolution=gamma,
            n_iterations=LEIDEN_ITERATIONS,
        )
    return list(part.membership)


def betweenness(
    g: igraph.Graph,
    weights: np.ndarray[Any, Any],
    *,
    exact_max_nodes: int = EXACT_BETWEENNESS_MAX_NODES,
    pivots: int = BETWEENNESS_PIVOTS,
    seed: int = SEED,
) -> tuple[np.ndarray[Any, Any], bool]:
    """Normalised betweenness over distances ``1 / weight`` and whether it is exact
    (see the module docstring: exact up to ``exact_max_nodes``, else pivot sampling)."""
    import numpy as np

    n = g.vcount()
    if n < 3:
        return np.zeros(n), True
    dist = 1.0 / weights
    if n <= exact_max_nodes:
        raw = np.asarray(g.betweenness(directed=False, weights=dist), dtype=float)
        exact = True
    else:
        sources = sorted(random.Random(seed).sample(range(n), min(pivots, n)))
        part = g.betweenness(directed=False, weights=dist, sources=sources)
        raw = np.asarray(part, dtype=float) * (n / len(sources))
        exact = len(sources) == n
    return raw / ((n - 1) * (n - 2) / 2.0), exact


def communities(engine: Engine) -> dict[str, int]:
    """Write :data:`COMMUNITY` and :data:`CENTRALITY` (see the module docstring)."""
    import numpy as np
    import pyarrow as pa

    graph = load_graph(engine)
    g, n = graph.graph, len(graph.subjects)
    engine.execute(f"CREATE OR REPLACE TABLE {COMMUNITY} ({tables.COLUMNS[COMMUNITY]})")
    engine.execute(f"CREATE OR REPLACE TABLE {CENTRALITY} ({tables.COLUMNS[CENTRALITY]})")
    if n == 0:
        return {COMMUNITY: 0, CENTRALITY: 0}
    raw = np.asarray(leiden(g, graph.weights), dtype=np.int64)
    # renumber: largest first, ties by the smallest subject (nodes are in subject order)
    ids, first, sizes = np.unique(raw, return_index=True, return_counts=True)
    order = np.lexsort((first, -sizes))
    renum = np.empty(len(ids), dtype=np.int64)
    renum[order] = np.arange(len(ids))
    member = renum[np.searchsorted(ids, raw)]
    size = np.bincount(member)[member]
    between, exact = betweenness(g, graph.weights)
    degree = np.asarray(g.degree(), dtype=np.int64)
    strength = np.asarray(g.strength(weights=graph.weights), dtype=float)
    data = pa.table(
        {
            "subject": pa.array(graph.subjects, pa.string()),
            "subject_kind": pa.array(graph.kinds, pa.string()),
            "community": pa.array(member, pa.int32()),
            "size": pa.array(size, pa.int32()),
            "degree": pa.array(degree, pa.int32()),
            "strength": pa.array(strength, pa.float64()),
            "betweenness": pa.array(between, pa.float64()),
        }
    )
    engine.register_arrow("_net_g_result", data)
    try:
        engine.execute(
            f"INSERT INTO {COMMUNITY} SELECT subject, subject_kind, community, size "
            "FROM _net_g_result ORDER BY community, subject"
        )
        engine.execute(
            f"""
INSERT INTO {CENTRALITY}
SELECT subject, subject_kind, community, degree, strength, betweenness, {exact} AS exact,
       CAST(row_number() OVER (PARTITION BY community
                               ORDER BY strength DESC, betweenness DESC, subject) AS INTEGER)
FROM _net_g_result ORDER BY community, subject
"""
        )
    finally:
        engine.unregister("_net_g_result")
    return {COMMUNITY: engine.row_count(COMMUNITY), CENTRALITY: engine.row_count(CENTRALITY)}


# -- queries -----------------------------------------------------------------------


@dataclass(frozen=True)
class Hop:
    """One edge of a path, from ``a`` to ``b`` in path order, with its evidence.

    ``weight`` and ``distance`` (``1 / weight``) are those of ``net_edge``;
    ``contact`` holds the pair's ``net_contact`` figures (events, calls, sms, call_s,
    reciprocity, days, listed, second_phone_events, first_at, last_at, weight,
    evidence) and ``copresence`` its ``net_copresence`` figures (meetings, discreet,
    days, places, seconds, first_at, last_at, weight), each None when that table is
    missing or has no row for the pair.
    """

    a: str
    a_kind: str
    b: str
    b_kind: str
    weight: float
    distance: float
    contact_weight: float | None
    copresence_weight: float | None
    hidden: bool | None
    contact: dict[str, Any] | None
    copresence: dict[str, Any] | None


@dataclass(frozen=True)
class Path:
    """A path from ``a`` to ``b``: its hops in order and its total distance."""

    a: str
    b: str
    distance: float
    hops: tuple[Hop, ...]


def _require_subjects(graph: Graph, *subjects: str) -> None:
    unknown = [s for s in subjects if s not in graph.index]
    if unknown:
        raise NetworkError(
            f"unknown subject(s) {', '.join(map(repr, unknown))}: not in {EDGE} "
            "(give a subject id such as 'person:123', a device key such as 'imsi:262...' "
            "or 'number:+49...'; subjects without an edge of positive weight are not in "
            "the graph)"
        )


def _hop_limited(graph: Graph, src: int, dst: int, max_hops: int) -> tuple[float, list[int]] | None:
    """The shortest path (distance ``1 / weight``) from ``src`` to ``dst`` with at most
    ``max_hops`` edges, as (distance, edge ids in order), or None.

    Bellman-Ford limited to ``max_hops`` rounds (round ``k`` holds the best distance
    with at most ``k`` edges), vectorised over the edges with numpy; ties go to the
    smaller edge id, so the answer is deterministic."""
    import numpy as np

    n = len(graph.subjects)
    el = np.asarray(graph.graph.get_edgelist(), dtype=np.int64).reshape(-1, 2)
    eid = np.arange(len(el))
    frm = np.concatenate([el[:, 0], el[:, 1]])
    to = np.concatenate([el[:, 1], el[:, 0]])
    ids = np.concatenate([eid, eid])
    d = np.concatenate([1.0 / graph.weights, 1.0 / graph.weights])
    dist = np.full(n, np.inf)
    dist[src] = 0.0
    layers: list[tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]] = []
    for _ in range(max_hops):
        cand = dist[frm] + d
        ok = np.isfinite(cand)
        c, t, f, i = cand[ok], to[ok], frm[ok], ids[ok]
        order = np.lexsort((i, c, t))
        t_sorted = t[order]
        first = np.ones(len(order), dtype=bool)
        first[1:] = t_sorted[1:] != t_sorted[:-1]
        best = order[first]
        new = dist.copy()
        pred = np.full(n, -1, dtype=np.int64)
        pedge = np.full(n, -1, dtype=np.int64)
        better = c[best] < dist[t[best]]
        tb = t[best][better]
        new[tb] = c[best][better]
        pred[tb] = f[best][better]
        pedge[tb] = i[best][better]
        layers.append((pred, pedge))
        dist = new
    if not np.isfinite(dist[dst]) or src == dst:
        return None
    path: list[int] = []
    v, k = dst, len(layers) - 1
    while v != src:
        pred, pedge = layers[k]
        if pred[v] >= 0:
            path.append(int(pedge[v]))
            v = int(pred[v])
        k -= 1
    return float(dist[dst]), path[::-1]


def _pair_rows(
    engine: Engine, table: str, columns: str, pairs: list[tuple[str, str]]
) -> dict[tuple[str, str], dict[str, Any]]:
    """Rows of ``table`` for the undirected ``pairs`` (stored ``a < b``), by pair."""
    if table not in engine.table_names() or not pairs:
        return {}
    keys = [(min(x, y), max(x, y)) for x, y in pairs]
    where = " OR ".join("(a = ? AND b = ?)" for _ in keys)
    params = [v for k in keys for v in k]
    rel = engine.fetch_arrow(
        f"SELECT a, b, {columns} FROM {quote(table)} WHERE {where}", params
    ).to_pylist()
    return {(r.pop("a"), r.pop("b")): r for r in rel}


def shortest_path(engine: Engine, a: str, b: str, max_hops: int = MAX_HOPS) -> Path | None:
    """The shortest path between subjects ``a`` and ``b`` with at most ``max_hops``
    edges, or None when there is none.

    Distance is ``1 / weight`` per edge of ``net_edge`` (see the module docstring), so
    the path prefers a few strong ties over one weak one. The path is the shortest among
    those with at most ``max_hops`` edges (not the overall shortest cut down), found by
    :func:`_hop_limited`. Each hop carries its ``net_edge`` weights and, where those
    tables exist, the pair's ``net_contact`` and ``net_copresence`` rows
    (:class:`Hop`). Raises :class:`NetworkError` for an unknown subject, a missing
    ``net_edge`` or ``max_hops < 1``.
    """
    if max_hops < 1:
        raise NetworkError(f"max_hops must be at least 1, got {max_hops}")
    graph = load_graph(engine)
    _require_subjects(graph, a, b)
    if a == b:
        return Path(a, b, 0.0, ())
    found = _hop_limited(graph, graph.index[a], graph.index[b], max_hops)
    if found is None:
        return None
    distance, edge_ids = found
    steps: list[tuple[int, int, int]] = []
    at = graph.index[a]
    for e in edge_ids:
        x, y = graph.graph.es[e].tuple
        nxt = y if x == at else x
        steps.append((at, nxt, e))
        at = nxt
    pairs = [(graph.subjects[x], graph.subjects[y]) for x, y, _ in steps]
    edge_rows = _pair_rows(engine, EDGE, "contact_weight, copresence_weight, hidden", pairs)
    contact = _pair_rows(
        engine,
        tables.CONTACT,
        "events, calls, sms, call_s, reciprocity, days, listed, second_phone_events, "
        "first_at, last_at, weight, evidence",
        pairs,
    )
    copresence = _pair_rows(
        engine,
        tables.COPRESENCE,
        "meetings, discreet, days, places, seconds, first_at, last_at, weight",
        pairs,
    )
    hops = []
    for (x, y, e), (sa, sb) in zip(steps, pairs, strict=True):
        key = (min(sa, sb), max(sa, sb))
        er = edge_rows.get(key, {})
        w = float(graph.weights[e])
        hops.append(
            Hop(
                a=sa,
                a_kind=graph.kinds[x],
                b=sb,
                b_kind=graph.kinds[y],
                weight=w,
                distance=1.0 / w,
                contact_weight=er.get("contact_weight"),
                copresence_weight=er.get("copresence_weight"),
                hidden=er.get("hidden"),
                contact=contact.get(key),
                copresence=copresence.get(key),
            )
        )
    return Path(a, b, distance, tuple(hops))


@dataclass(frozen=True)
class Ego:
    """A subject's neighbourhood: ``nodes`` (subject, subject_kind, hops, community,
    size, rank_in_community; community columns NULL without ``net_community``) and
    ``edges`` (the ``net_edge`` rows of positive weight between any two of the nodes,
    columns as ``net_edge``), both Arrow tables sorted by hops/subject and a/b."""

    subject: str
    depth: int
    nodes: pa.Table
    edges: pa.Table


def ego_network(engine: Engine, subject: str, depth: int = 2) -> Ego:
    """The subjects within ``depth`` edges (of positive weight) of ``subject``, with the
    edges among them (:class:`Ego`). Raises :class:`NetworkError` for an unknown
    subject, a missing ``net_edge`` or a negative ``depth``."""
    if depth < 0:
        raise NetworkError(f"depth must be 0 or more, got {depth}")
    names = engine.table_names()
    if EDGE not in names:
        raise NetworkError(
            f"table {EDGE!r} does not exist: run `tessera build` (the `ties` stage writes it)"
        )
    known = engine.fetch_rows(
        f"SELECT count(*) FROM {EDGE} WHERE weight > 0 AND (a = ? OR b = ?)", [subject, subject]
    )
    if not known[0][0]:
        raise NetworkError(
            f"unknown subject {subject!r}: not in {EDGE} (give a subject id such as "
            "'person:123', a device key such as 'imsi:262...' or 'number:+49...'; "
            "subjects without an edge of positive weight are not in the graph)"
        )
    reach = f"""
WITH RECURSIVE e AS (SELECT a AS x, b AS y FROM {EDGE} WHERE weight > 0 AND a <> b
                     UNION ALL SELECT b, a FROM {EDGE} WHERE weight > 0 AND a <> b),
r(subject, hops) AS (SELECT CAST(? AS VARCHAR), 0
                     UNION SELECT e.y, r.hops + 1 FROM r JOIN e ON e.x = r.subject
                     WHERE r.hops < {int(depth)}),
n AS (SELECT subject, min(hops) AS hops FROM r GROUP BY subject),
k AS (SELECT a AS subject, any_value(a_kind) AS kind FROM {EDGE} WHERE a IN (SELECT subject FROM n)
      GROUP BY a UNION ALL
      SELECT b, any_value(b_kind) FROM {EDGE} WHERE b IN (SELECT subject FROM n) GROUP BY b)
"""
    if COMMUNITY in names and CENTRALITY in names:
        comm = f"LEFT JOIN {COMMUNITY} c USING (subject) LEFT JOIN {CENTRALITY} z USING (subject)"
        cols = "c.community, c.size, z.rank_in_community"
    else:
        comm = ""
        cols = (
            "CAST(NULL AS INTEGER) AS community, CAST(NULL AS INTEGER) AS size, "
            "CAST(NULL AS INTEGER) AS rank_in_community"
        )
    nodes = engine.fetch_arrow(
        reach
        + f"""
SELECT n.subject, (SELECT min(kind) FROM k WHERE k.subject = n.subject) AS subject_kind,
       CAST(n.hops AS INTEGER) AS hops, {cols}
FROM n {comm} ORDER BY n.hops, n.subject
""",
        [subject],
    )
    edges = engine.fetch_arrow(
        reach
        + f"""
SELECT g.* FROM {EDGE} g
WHERE g.weight > 0 AND g.a <> g.b AND g.a IN (SELECT subject FROM n)
  AND g.b IN (SELECT subject FROM n)
ORDER BY g.a, g.b
""",
        [subject],
    )
    return Ego(subject, depth, nodes, edges)


__all__ = [
    "BETWEENNESS_PIVOTS",
    "EXACT_BETWEENNESS_MAX_NODES",
    "Ego",
    "Graph",
    "Hop",
    "Path",
    "betweenness",
    "communities",
    "ego_network",
    "leiden",
    "load_graph",
    "shortest_path",
]
