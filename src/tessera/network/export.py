"""Exports of the network for the tools analysts already use (see docs/network.md).

:func:`export_network` reads the network tables (:mod:`tessera.network.tables`) and
writes one of four formats:

``graphml``
    GraphML (one file; Gephi, yEd, Cytoscape, igraph, networkx). Every attribute is
    declared as a ``<key>`` with its type (``string``, ``int``, ``double``,
    ``boolean``); the graph is undirected.
``gexf``
    GEXF 1.3 (one file; Gephi's own format), with the node and edge attributes
    declared in ``<attributes>`` blocks and the combined weight as the edge ``weight``.
``i2``
    A folder with ``entities.csv`` and ``links.csv`` (UTF-8, comma separated, one
    header row) for an i2 Analyst's Notebook import specification: one row per node
    with an identity column, one row per edge naming the identities of its two ends
    (columns in :data:`I2_ENTITY_COLUMNS` and :data:`I2_LINK_COLUMNS`).
``ftm``
    FollowTheMoney entities for Aleph, one JSON object per line: a ``Person`` per
    resolved person, a ``LegalEntity`` (a party not known, reached through its phone)
    per unattributed device or outside number, and an ``UnknownLink`` per edge (the
    data show that two parties communicated or were seen together, not what their
    relationship is; FtM's ``Associate`` would assert one, and a ``Call`` is a single
    call, not an aggregate).

**What is exported.** Edges are the rows of ``net_edge`` with ``weight >= min_weight``;
with ``subjects``, only edges whose two ends are both among them (their mutual edges),
so nothing outside the named subjects leaks into the file. Nodes are the ends of the
exported edges, plus every named subject (kept even with no edge left). A named subject
that is in none of the network tables is an error (a typo must not export silently
less than asked).

**Node attributes** (one per subject): ``label`` (a person's most frequent registry
name, ties broken alphabetically; a device's number, else its key), ``kind``
(``person``, ``device``, ``number``), ``community`` and ``community_size``
(``net_community``), ``degree``, ``strength``, ``betweenness`` and
``rank_in_community`` (``net_centrality``, measured on the whole network, not on the
exported part), and the identifiers known for the subject: ``phones`` (the numbers of
its attributed devices and of its registry records), ``imsis``, ``imeis``, ``emails``
and ``id_numbers`` (registry document and national id numbers); several values are
joined with ``"; "`` in GraphML, GEXF and CSV and are lists in FtM.

**Edge attributes** (one per pair): ``contact_weight``, ``copresence_weight``,
``place_weight`` (a shared home or workplace) and ``weight`` (``net_edge``),
``hidden`` and ``hidden_kind`` (the kinds of ``net_hidden_tie`` for the pair, comma
separated), ``events`` (communication events,
``net_contact``), ``meetings`` (``net_copresence``), and ``first_at`` / ``last_at``,
the earliest and latest evidence of either kind (UTC, ISO 8601).

Files are written to a temporary name in the target folder and renamed into place, so
a failed export leaves no half-written file. The returned :class:`ExportResult` says
what was written (paths, nodes and edges by kind).
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import re
import secrets
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from xml.sax.saxutils import escape, quoteattr

from tessera.errors import NetworkError
from tessera.network import tables

if TYPE_CHECKING:
    from tessera.engines.base import Engine

FORMATS = ("graphml", "gexf", "i2", "ftm")

# every table an export reads; all are written by `tessera build`'s network stages
REQUIRED = (
    tables.EDGE,
    tables.COMMUNITY,
    tables.CENTRALITY,
    tables.CONTACT,
    tables.COPRESENCE,
    tables.HIDDEN_TIE,
)

I2_ENTITIES = "entities.csv"
I2_LINKS = "links.csv"
I2_ENTITY_COLUMNS = (
    "Entity ID",
    "Entity Type",
    "Label",
    "Tessera Kind",
    "Community",
    "Community Size",
    "Degree",
    "Strength",
    "Betweenness",
    "Rank In Community",
    "Phone Numbers",
    "IMSIs",
    "IMEIs",
    "Emails",
    "ID Numbers",
)
I2_LINK_COLUMNS = (
    "Link ID",
    "From Entity ID",
    "To Entity ID",
    "Link Type",
    "Strength",
    "Weight",
    "Contact Weight",
    "Co-presence Weight",
    "Place Weight",
    "Hidden",
    "Hidden Kind",
    "Events",
    "Meetings",
    "Start Date",
    "Start Time",
    "End Date",
    "End Time",
)
# suggested i2 entity types per Tessera subject kind
I2_TYPES = {"person": "Person", "device": "Mobile Phone", "number": "Telephone"}

GRAPHML_NS = "http://graphml.graphdrawing.org/xmlns"
GEXF_NS = "http://gexf.net/1.3"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"

# (name, type) of the attributes, in file order; types are GraphML's
NODE_ATTRIBUTES: tuple[tuple[str, str], ...] = (
    ("label", "string"),
    ("kind", "string"),
    ("community", "int"),
    ("community_size", "int"),
    ("degree", "int"),
    ("strength", "double"),
    ("betweenness", "double"),
    ("rank_in_community", "int"),
    ("phones", "string"),
    ("imsis", "string"),
    ("imeis", "string"),
    ("emails", "string"),
    ("id_numbers", "string"),
)
EDGE_ATTRIBUTES: tuple[tuple[str, str], ...] = (
    ("contact_weight", "double"),
    ("copresence_weight", "double"),
    ("place_weight", "double"),
    ("weight", "double"),
    ("hidden", "boolean"),
    ("hidden_kind", "string"),
    ("events", "int"),
    ("meetings", "int"),
    ("first_at", "string"),
    ("last_at", "string"),
)
_GEXF_TYPES = {"string": "string", "int": "integer", "double": "double", "boolean": "boolean"}
_LIST_SEP = "; "
_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
_E164 = re.compile(r"^\+[1-9][0-9]{5,14}$")
# characters XML 1.0 does not allow (C0 controls but tab, LF, CR; U+FFFE, U+FFFF)
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class Node:
    """One exported subject with its label, network measures and identifiers."""

    subject: str
    kind: str
    label: str
    community: int | None = None
    community_size: int | None = None
    degree: int | None = None
    strength: float | None = None
    betweenness: float | None = None
    rank_in_community: int | None = None
    names: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    imsis: tuple[str, ...] = ()
    imeis: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    id_numbers: tuple[str, ...] = ()

    def value(self, name: str) -> Any:
        """The attribute ``name`` as written (lists joined with ``"; "``)."""
        v = getattr(self, name)
        return _LIST_SEP.join(v) if isinstance(v, tuple) else v


@dataclass(frozen=True)
class Edge:
    """One exported pair (``a < b``) with its weights, counts and time span."""

    a: str
    b: str
    contact_weight: float
    copresence_weight: float
    place_weight: float
    weight: float
    hidden: bool
    hidden_kind: str | None
    events: int
    meetings: int
    first_at: datetime | None
    last_at: datetime | None

    def value(self, name: str) -> Any:
        """The attribute ``name`` as written (times as ISO 8601 UTC strings)."""
        v = getattr(self, name)
        return _iso(v) if isinstance(v, datetime) else v

    @property
    def evidence(self) -> str:
        """The kinds of evidence behind the edge, joined by "and": ``contact``,
        ``co-presence``, ``shared place`` (e.g. ``contact and co-presence``)."""
        kinds = [
            name
            for name, w in (
                ("contact", self.contact_weight),
                ("co-presence", self.copresence_weight),
                ("shared place", self.place_weight),
            )
            if w > 0
        ]
        return " and ".join(kinds) or "co-presence"


@dataclass(frozen=True)
class Network:
    """The part of the network an export writes."""

    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote: its files, node and edge totals, and counts by kind
    (``nodes.person``, ``edges.hidden``, and for FtM ``entities.<schema>``)."""

    format: str
    paths: tuple[Path, ...]
    nodes: int
    edges: int
    counts: Mapping[str, int] = field(default_factory=dict)


def export_network(
    engine: Engine,
    fmt: str,
    out_path: str | Path,
    *,
    subjects: Iterable[str] | None = None,
    min_weight: float = 0.0,
) -> ExportResult:
    """Write the network (or the part of it among ``subjects``) as ``fmt``.

    ``out_path`` is a file for ``graphml``, ``gexf`` and ``ftm`` and a folder for
    ``i2`` (created if missing; ``entities.csv`` and ``links.csv`` are replaced).
    Raises :class:`NetworkError` for an unknown format, missing network tables, unknown
    subjects, a non-finite ``min_weight`` or a path that cannot be written.
    """
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise NetworkError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if not math.isfinite(min_weight):
        raise NetworkError(f"min_weight must be a finite number, not {min_weight!r}")
    path = Path(out_path)
    network = read_network(engine, subjects=subjects, min_weight=min_weight)
    counts = _counts(network)
    if fmt == "i2":
        paths = write_i2(network, path)
    else:
        writer = {"graphml": write_graphml, "gexf": write_gexf, "ftm": write_ftm}[fmt]
        counts.update(writer(network, path))
        paths = (path,)
    return ExportResult(fmt, paths, len(network.nodes), len(network.edges), counts)


# -- reading -------------------------------------------------------------------------


def read_network(
    engine: Engine, *, subjects: Iterable[str] | None = None, min_weight: float = 0.0
) -> Network:
    """The nodes and edges an export writes (rules in the module docstring)."""
    present = set(engine.table_names())
    missing = [t for t in REQUIRED if t not in present]
    if missing:
        raise NetworkError(
            f"the workspace has no network tables ({', '.join(missing)} missing); "
            "run `tessera build` first"
        )
    scope = None if subjects is None else sorted(set(subjects))
    if scope is not None and not scope:
        raise NetworkError("no subjects given: name at least one subject to export")
    if scope is not None:
        known = {r[0] for r in engine.fetch_rows(_pool_sql(), [scope])}
        unknown = [s for s in scope if s not in known]
        if unknown:
            shown = ", ".join(unknown[:5]) + (" ..." if len(unknown) > 5 else "")
            raise NetworkError(
                f"{len(unknown)} subject(s) are not in the network: {shown} "
                "(subjects are 'person:<n>' or a device key such as 'imsi:...')"
            )
    edges = tuple(
        Edge(
            a=r[0],
            b=r[1],
            contact_weight=float(r[2] or 0.0),
            copresence_weight=float(r[3] or 0.0),
            place_weight=float(r[4] or 0.0),
            weight=float(r[5]),
            hidden=bool(r[6]),
            hidden_kind=r[7],
            events=int(r[8]),
            meetings=int(r[9]),
            first_at=r[10],
            last_at=r[11],
        )
        for r in engine.fetch_rows(
            _edges_sql(scoped=scope is not None),
            [min_weight, scope, scope] if scope is not None else [min_weight],
        )
    )
    wanted = sorted({e.a for e in edges} | {e.b for e in edges} | set(scope or ()))
    return Network(_nodes(engine, wanted, present), edges)


def _pool_sql() -> str:
    """Which of the given subjects (parameter 1, a list) are in the network tables."""
    return f"""
SELECT DISTINCT subject FROM (
  SELECT a AS subject FROM {tables.EDGE} UNION ALL SELECT b FROM {tables.EDGE}
  UNION ALL SELECT subject FROM {tables.COMMUNITY}
  UNION ALL SELECT subject FROM {tables.CENTRALITY})
WHERE subject IN (SELECT unnest(?::VARCHAR[]))
"""


def _edges_sql(*, scoped: bool) -> str:
    """Edges of weight >= parameter 1, with their counts, hidden-tie kinds and time span;
    when ``scoped``, only those with both ends in parameters 2 and 3 (the same list)."""
    scope = (
        "AND e.a IN (SELECT unnest(?::VARCHAR[])) AND e.b IN (SELECT unnest(?::VARCHAR[]))"
        if scoped
        else ""
    )
    return f"""
WITH c AS (SELECT a, b, sum(events) AS events, min(first_at) AS first_at,
                  max(last_at) AS last_at FROM {tables.CONTACT} GROUP BY a, b),
p AS (SELECT a, b, sum(meetings) AS meetings, min(first_at) AS first_at,
             max(last_at) AS last_at FROM {tables.COPRESENCE} GROUP BY a, b),
h AS (SELECT a, b, string_agg(DISTINCT kind, ',' ORDER BY kind) AS kinds
      FROM {tables.HIDDEN_TIE} GROUP BY a, b)
SELECT e.a, e.b, e.contact_weight, e.copresence_weight, e.place_weight, e.weight,
       coalesce(e.hidden, FALSE) AS hidden, h.kinds,
       coalesce(c.events, 0), coalesce(p.meetings, 0),
       least(c.first_at, p.first_at), greatest(c.last_at, p.last_at)
FROM {tables.EDGE} e
LEFT JOIN c ON c.a = e.a AND c.b = e.b
LEFT JOIN p ON p.a = e.a AND p.b = e.b
LEFT JOIN h ON h.a = e.a AND h.b = e.b
WHERE e.weight >= ? {scope}
ORDER BY e.a, e.b
"""


def _nodes(engine: Engine, wanted: list[str], present: set[str]) -> tuple[Node, ...]:
    """Kinds, measures and identifiers of the ``wanted`` subjects."""
    if not wanted:
        return ()
    rows = engine.fetch_rows(
        f"""
WITH k AS (SELECT subject, min(kind) AS kind FROM (
             SELECT a AS subject, a_kind AS kind FROM {tables.EDGE}
             UNION ALL SELECT b, b_kind FROM {tables.EDGE}
             UNION ALL SELECT subject, subject_kind FROM {tables.COMMUNITY}
             UNION ALL SELECT subject, subject_kind FROM {tables.CENTRALITY})
           WHERE subject IN (SELECT unnest(?::VARCHAR[])) GROUP BY subject),
cm AS (SELECT subject, any_value(community) AS community, any_value(size) AS size
       FROM {tables.COMMUNITY} GROUP BY subject),
ce AS (SELECT subject, any_value(degree) AS degree, any_value(strength) AS strength,
              any_value(betweenness) AS betweenness,
              any_value(rank_in_community) AS rank_in_community,
              any_value(community) AS community
       FROM {tables.CENTRALITY} GROUP BY subject)
SELECT k.subject, k.kind, coalesce(cm.community, ce.community), cm.size, ce.degree,
       ce.strength, ce.betweenness, ce.rank_in_community
FROM k LEFT JOIN cm USING (subject) LEFT JOIN ce USING (subject)
ORDER BY k.subject
""",
        [wanted],
    )
    ids = _identifiers(engine, wanted, present)
    nodes = []
    for subject, kind, community, size, degree, strength, betweenness, rank in rows:
        info = ids.get(subject, {})
        names = _ranked(info.get("names", Counter()))
        phones = _sorted(info.get("phones", ()))
        if kind == "number" and subject.startswith("number:"):
            phones = _sorted({*phones, subject.removeprefix("number:")})
        label = names[0] if names else (phones[0] if phones and kind != "person" else subject)
        nodes.append(
            Node(
                subject=subject,
                kind=kind,
                label=label,
                community=community,
                community_size=size,
                degree=degree,
                strength=strength,
                betweenness=betweenness,
                rank_in_community=rank,
                names=tuple(names),
                phones=phones,
                imsis=_sorted(info.get("imsis", ())),
                imeis=_sorted(info.get("imeis", ())),
                emails=_sorted(info.get("emails", ())),
                id_numbers=_sorted(info.get("id_numbers", ())),
            )
        )
    return tuple(nodes)


def _identifiers(engine: Engine, wanted: list[str], present: set[str]) -> dict[str, dict[str, Any]]:
    """subject -> {names: Counter, phones, imsis, imeis, emails, id_numbers: sets}.

    Persons: the registry records resolved into the person (``resolution_record`` and
    ``reg_person``) and the devices attributed to it (``link_device_person``); devices:
    their own ``link_device`` row. Tables a workspace lacks are skipped."""
    out: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"names": Counter(), **{k: set() for k in _ID_FIELDS}}
    )
    if {"resolution_record", "reg_person"} <= present:
        name = (
            "coalesce(nullif(trim(p.full_name), ''), "
            "nullif(trim(concat_ws(' ', p.given_name, p.family_name)), ''))"
        )
        for subject, full, phone, email, doc, nat in engine.fetch_rows(
            f"""
SELECT r.entity_id, {name}, p.phone, p.email, p.document_number, p.national_id
FROM resolution_record r JOIN reg_person p ON p.obs_id = r.obs_id
WHERE r.kind = 'person' AND r.entity_id IN (SELECT unnest(?::VARCHAR[]))
""",
            [wanted],
        ):
            info = out[subject]
            if full:
                info["names"][full] += 1
            _add(info["phones"], phone)
            _add(info["emails"], email)
            _add(info["id_numbers"], doc, nat)
    if "link_device" in present:
        person_join = ""
        if "link_device_person" in present:
            person_join = """
UNION ALL
SELECT dp.person, d.msisdn, d.imsi, d.imeis FROM link_device_person dp
JOIN link_device d ON d.device = dp.device
WHERE dp.person IN (SELECT unnest(?::VARCHAR[]))"""
        for subject, msisdn, imsi, imeis in engine.fetch_rows(
            f"""
SELECT d.device, d.msisdn, d.imsi, d.imeis FROM link_device d
WHERE d.device IN (SELECT unnest(?::VARCHAR[])){person_join}
""",
            [wanted, wanted] if person_join else [wanted],
        ):
            info = out[subject]
            _add(info["phones"], msisdn)
            _add(info["imsis"], imsi)
            _add(info["imeis"], *(imeis or ()))
    return out


_ID_FIELDS = ("phones", "imsis", "imeis", "emails", "id_numbers")


def _add(target: set[str], *values: Any) -> None:
    for v in values:
        if v is not None and str(v).strip():
            target.add(str(v).strip())


def _sorted(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(values))


def _ranked(names: Counter[str]) -> list[str]:
    """Names, most frequent first, then alphabetical."""
    return [n for n, _ in sorted(names.items(), key=lambda kv: (-kv[1], kv[0]))]


def _counts(network: Network) -> dict[str, int]:
    counts: Counter[str] = Counter(f"nodes.{n.kind}" for n in network.nodes)
    counts["edges.hidden"] = sum(e.hidden for e in network.edges)
    for e in network.edges:
        counts[f"edges.{e.evidence}"] += 1
    return dict(sorted(counts.items()))


# -- writing -------------------------------------------------------------------------


def _iso(ts: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` in UTC."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _xml_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return _XML_ILLEGAL.sub("", str(value))


def _replace_atomically(targets: Sequence[tuple[Path, Callable[[IO[str]], None]]]) -> None:
    """Write each target to a temporary file in its folder, then rename them all into
    place; on any error nothing is left behind. OS errors become NetworkError."""
    written: list[tuple[Path, Path]] = []
    try:
        for path, write in targets:
            if path.is_dir():
                raise NetworkError(f"cannot write {path}: it is a folder; give a file name")
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
            written.append((tmp, path))
            with tmp.open("x", encoding="utf-8", newline="") as f:
                write(f)
        for tmp, path in written:
            os.replace(tmp, path)
    except OSError as exc:
        raise NetworkError(f"cannot write the export to {targets[0][0]}: {exc}") from exc
    finally:
        for tmp, _ in written:
            tmp.unlink(missing_ok=True)


def _xml_attr(value: Any) -> str:
    """A quoted XML attribute value."""
    return quoteattr(_xml_text(value))


def _xml_value(value: Any) -> str:
    """Escaped XML character data."""
    return escape(_xml_text(value))


def write_graphml(network: Network, path: Path) -> dict[str, int]:
    """GraphML with one ``<key>`` per attribute (ids ``n_<name>`` and ``e_<name>``);
    node ids are the subjects, edge ids ``e<i>``; missing values are left out.

    The file is streamed element by element (no document tree in memory), so a
    network of millions of edges exports in constant memory beyond its rows."""

    def write(f: IO[str]) -> None:
        f.write(_XML_DECLARATION)
        f.write(
            f'<graphml xmlns="{GRAPHML_NS}" xmlns:xsi="{XSI_NS}" '
            f'xsi:schemaLocation="{GRAPHML_NS} {GRAPHML_NS}/1.0/graphml.xsd">\n'
        )
        for target, prefix, attributes in (
            ("node", "n", NODE_ATTRIBUTES),
            ("edge", "e", EDGE_ATTRIBUTES),
        ):
            for name, kind in attributes:
                f.write(
                    f'  <key id="{prefix}_{name}" for="{target}" attr.name="{name}" '
                    f'attr.type="{kind}"/>\n'
                )
        f.write('  <graph id="tessera" edgedefault="undirected">\n')
        for n in network.nodes:
            f.write(f"    <node id={_xml_attr(n.subject)}>\n")
            _graphml_data(f, "n", NODE_ATTRIBUTES, n.value)
            f.write("    </node>\n")
        for i, e in enumerate(network.edges):
            f.write(f'    <edge id="e{i}" source={_xml_attr(e.a)} target={_xml_attr(e.b)}>\n')
            _graphml_data(f, "e", EDGE_ATTRIBUTES, e.value)
            f.write("    </edge>\n")
        f.write("  </graph>\n</graphml>\n")

    _replace_atomically([(path, write)])
    return {}


def _graphml_data(
    f: IO[str], prefix: str, attributes: Sequence[tuple[str, str]], value: Callable[[str], Any]
) -> None:
    for name, _ in attributes:
        v = value(name)
        if v is not None and v != "":
            f.write(f'      <data key="{prefix}_{name}">{_xml_value(v)}</data>\n')


def write_gexf(network: Network, path: Path) -> dict[str, int]:
    """GEXF 1.3: a static undirected graph; attributes declared per class with ids
    ``0, 1, ...`` and their names as titles; the node label is ``label`` and the edge
    weight the combined ``weight`` (``label`` is not repeated as an attribute).
    Streamed like :func:`write_graphml`."""
    from tessera._version import __version__

    node_attrs = [(name, kind) for name, kind in NODE_ATTRIBUTES if name != "label"]

    def write(f: IO[str]) -> None:
        f.write(_XML_DECLARATION)
        f.write(
            f'<gexf xmlns="{GEXF_NS}" xmlns:xsi="{XSI_NS}" '
            f'xsi:schemaLocation="{GEXF_NS} {GEXF_NS}/gexf.xsd" version="1.3">\n'
        )
        today = datetime.now(UTC).date().isoformat()
        f.write(f'  <meta lastmodifieddate="{today}">\n')
        f.write(f"    <creator>Tessera {_xml_value(__version__)}</creator>\n")
        f.write(
            f"    <description>Tessera network export: {len(network.nodes)} nodes, "
            f"{len(network.edges)} edges</description>\n  </meta>\n"
        )
        f.write('  <graph defaultedgetype="undirected" mode="static">\n')
        for cls, attributes in (("node", node_attrs), ("edge", EDGE_ATTRIBUTES)):
            f.write(f'    <attributes class="{cls}" mode="static">\n')
            for i, (name, kind) in enumerate(attributes):
                f.write(f'      <attribute id="{i}" title="{name}" type="{_GEXF_TYPES[kind]}"/>\n')
            f.write("    </attributes>\n")
        f.write(f'    <nodes count="{len(network.nodes)}">\n')
        for n in network.nodes:
            f.write(f"      <node id={_xml_attr(n.subject)} label={_xml_attr(n.label)}>\n")
            _gexf_values(f, node_attrs, n.value)
            f.write("      </node>\n")
        f.write(f'    </nodes>\n    <edges count="{len(network.edges)}">\n')
        for i, e in enumerate(network.edges):
            f.write(
                f'      <edge id="{i}" source={_xml_attr(e.a)} target={_xml_attr(e.b)} '
                f"weight={_xml_attr(e.weight)}>\n"
            )
            _gexf_values(f, EDGE_ATTRIBUTES, e.value)
            f.write("      </edge>\n")
        f.write("    </edges>\n  </graph>\n</gexf>\n")

    _replace_atomically([(path, write)])
    return {}


def _gexf_values(
    f: IO[str], attributes: Sequence[tuple[str, str]], value: Callable[[str], Any]
) -> None:
    f.write("        <attvalues>\n")
    for i, (name, _) in enumerate(attributes):
        v = value(name)
        if v is not None and v != "":
            f.write(f'          <attvalue for="{i}" value={_xml_attr(v)}/>\n')
    f.write("        </attvalues>\n")


def i2_strength(edge: Edge) -> str:
    """The i2 link strength: ``Tentative`` for a hidden-tie hypothesis, ``Confirmed``
    when communications were observed, ``Unconfirmed`` for co-presence alone."""
    if edge.hidden:
        return "Tentative"
    return "Confirmed" if edge.contact_weight > 0 else "Unconfirmed"


def write_i2(network: Network, folder: Path) -> tuple[Path, ...]:
    """``entities.csv`` and ``links.csv`` in ``folder`` (columns in
    :data:`I2_ENTITY_COLUMNS` and :data:`I2_LINK_COLUMNS`; dates and times in UTC as
    ``YYYY-MM-DD`` and ``HH:MM:SS``; several values joined with ``"; "``)."""
    if folder.exists() and not folder.is_dir():
        raise NetworkError(f"cannot write the i2 export to {folder}: it is a file, not a folder")

    def entities(f: IO[str]) -> None:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(I2_ENTITY_COLUMNS)
        for n in network.nodes:
            w.writerow(
                [n.subject, I2_TYPES.get(n.kind, "Entity"), n.label, n.kind]
                + [_csv(n.value(k)) for k in (
                    "community", "community_size", "degree", "strength", "betweenness",
                    "rank_in_community", "phones", "imsis", "imeis", "emails", "id_numbers")]
            )  # fmt: skip

    def links(f: IO[str]) -> None:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(I2_LINK_COLUMNS)
        for e in network.edges:
            start = e.first_at.astimezone(UTC) if e.first_at else None
            end = e.last_at.astimezone(UTC) if e.last_at else None
            w.writerow(
                [_link_id(e), e.a, e.b, e.evidence.capitalize(), i2_strength(e)]
                + [_csv(v) for v in (
                    e.weight, e.contact_weight, e.copresence_weight, e.place_weight, e.hidden,
                    e.hidden_kind,
                    e.events, e.meetings)]
                + [start.strftime("%Y-%m-%d") if start else "",
                   start.strftime("%H:%M:%S") if start else "",
                   end.strftime("%Y-%m-%d") if end else "",
                   end.strftime("%H:%M:%S") if end else ""]
            )  # fmt: skip

    paths = (folder / I2_ENTITIES, folder / I2_LINKS)
    _replace_atomically([(paths[0], entities), (paths[1], links)])
    return paths


def _csv(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _link_id(edge: Edge) -> str:
    return f"{edge.a}|{edge.b}"


def ftm_id(*parts: str) -> str:
    """A stable FtM entity id: ``tessera-`` and the SHA-1 of the parts (FtM ids allow
    only letters, digits, dots and dashes, so the subject itself cannot be the id)."""
    digest = hashlib.sha1("\x1f".join(parts).encode("utf-8"), usedforsecurity=False)
    return f"tessera-{digest.hexdigest()}"


def ftm_entities(network: Network) -> list[dict[str, Any]]:
    """The FtM entities of a network (see the module docstring for the schemata).

    ``Person``: ``name`` (the label), ``alias`` (other registry spellings), ``phone``
    (E.164 numbers only), ``email``, ``idNumber``, ``description`` (the Tessera subject
    and its measures). ``LegalEntity``: ``name`` (the label), ``phone``, ``description``
    (subject, IMSI and IMEIs: FtM has no device schema). ``UnknownLink``: ``subject``
    and ``object`` (the two ends' ids), ``role`` (the evidence), ``startDate`` and
    ``endDate`` (UTC, second precision, no zone suffix as FtM dates carry none),
    ``summary`` (weights and counts) and ``recordId`` (``a|b``, the pair in Tessera)."""
    out: list[dict[str, Any]] = []
    for n in network.nodes:
        schema = "Person" if n.kind == "person" else "LegalEntity"
        props: dict[str, list[str]] = {"name": [n.label]}
        if schema == "Person":
            _put(props, "alias", [x for x in n.names if x != n.label])
            _put(props, "email", n.emails)
            _put(props, "idNumber", n.id_numbers)
        _put(props, "phone", [p for p in n.phones if _E164.match(p)])
        _put(props, "description", [_ftm_description(n)])
        out.append({"id": ftm_id(n.subject), "schema": schema, "properties": props})
    for e in network.edges:
        props = {
            "subject": [ftm_id(e.a)],
            "object": [ftm_id(e.b)],
            "role": [e.evidence],
            "recordId": [_link_id(e)],
        }
        if e.first_at:
            props["startDate"] = [_ftm_date(e.first_at)]
        if e.last_at:
            props["endDate"] = [_ftm_date(e.last_at)]
        summary = (
            f"{e.events} communication events, {e.meetings} meetings; weight {e.weight:g} "
            f"(contact {e.contact_weight:g}, co-presence {e.copresence_weight:g}, "
            f"shared place {e.place_weight:g})"
        )
        if e.hidden:
            summary += f"; hidden-tie hypothesis ({e.hidden_kind or 'hidden'})"
        props["summary"] = [summary]
        out.append({"id": ftm_id(e.a, e.b), "schema": "UnknownLink", "properties": props})
    return out


def _put(props: dict[str, list[str]], name: str, values: Iterable[str]) -> None:
    kept = [v for v in dict.fromkeys(values) if v]
    if kept:
        props[name] = kept


def _ftm_date(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _ftm_description(n: Node) -> str:
    parts = [f"Tessera subject {n.subject} ({n.kind})"]
    if n.community is not None:
        parts.append(f"community {n.community}")
    if n.degree is not None:
        parts.append(f"degree {n.degree}")
    if n.betweenness is not None:
        parts.append(f"betweenness {n.betweenness:.4g}")
    if n.kind != "person":
        if n.imsis:
            parts.append("IMSI " + ", ".join(n.imsis))
        if n.imeis:
            parts.append("IMEI " + ", ".join(n.imeis))
    return "; ".join(parts)


def write_ftm(network: Network, path: Path) -> dict[str, int]:
    """FollowTheMoney entities, one JSON object per line (nodes first, then links)."""
    entities = ftm_entities(network)

    def write(f: IO[str]) -> None:
        for entity in entities:
            f.write(json.dumps(entity, ensure_ascii=False, sort_keys=True) + "\n")

    _replace_atomically([(path, write)])
    return dict(Counter(f"entities.{e['schema']}" for e in entities))


__all__ = [
    "EDGE_ATTRIBUTES",
    "FORMATS",
    "I2_ENTITY_COLUMNS",
    "I2_LINK_COLUMNS",
    "NODE_ATTRIBUTES",
    "Edge",
    "ExportResult",
    "Network",
    "Node",
    "export_network",
    "ftm_entities",
    "ftm_id",
    "read_network",
    "write_ftm",
    "write_gexf",
    "write_graphml",
    "write_i2",
]
