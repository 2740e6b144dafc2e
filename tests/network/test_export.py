"""Network exports (GraphML, GEXF, i2 CSV, FollowTheMoney) of a hand-built network.

The network, written straight into the network tables of a fresh workspace:

- persons 1..4 and one device no one is attributed to (``imsi:262015555555555``);
- person 1 has three registry records (``NOVIKOV, Ivan`` twice, ``Ivan Novikov`` once)
  and a phone; person 2 a record with given and family names only and a phone with two
  IMEIs; person 3 one record and no phone; person 4 nothing (its label is its subject);
- edges: device-1 (contact), 1-2 (contact and co-presence), 2-3 (contact through second
  phones: hidden), 3-4 (co-presence only: hidden);
- communities {device, 1, 2} and {3, 4}.
"""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import igraph as ig
import networkx as nx
import pytest
from followthemoney import model
from followthemoney.types import registry
from typer.testing import CliRunner

from tessera.cli import app
from tessera.errors import NetworkError
from tessera.network import tables
from tessera.network.export import (
    EDGE_ATTRIBUTES,
    I2_ENTITY_COLUMNS,
    I2_LINK_COLUMNS,
    NODE_ATTRIBUTES,
    export_network,
    ftm_id,
)
from tessera.workspace import Workspace

DEVICE = "imsi:262015555555555"
P1, P2, P3, P4 = (f"person:{i}" for i in range(1, 5))


def _ts(text: str) -> str:
    return f"TIMESTAMPTZ '{text}+00'"


def _contact(a: str, a_kind: str, b: str, events: int, second: int, weight: float,
             first: str, last: str) -> str:  # fmt: skip
    return (
        f"('{a}', '{a_kind}', '{b}', 'person', {events}, {events}, 0, 60.0, {events}, 0, 0.0, "
        f"1, {_ts(first)}, {_ts(last)}, false, {second}, {weight}, 'test', [1])"
    )


def _met(a: str, b: str, meetings: int, weight: float, first: str, last: str) -> str:
    return (
        f"('{a}', 'person', '{b}', 'person', {meetings}, 0, {meetings}, 1, 3600.0, {weight}, "
        f"{_ts(first)}, {_ts(last)}, [7])"
    )


ROWS = {
    tables.CONTACT: [
        _contact(DEVICE, "device", P1, 3, 0, 1.0, "2026-10-05 08:00:00", "2026-10-06 09:00:00"),
        _contact(P1, "person", P2, 5, 0, 2.0, "2026-10-05 10:00:00", "2026-10-07 18:00:00"),
        _contact(P2, "person", P3, 2, 2, 0.5, "2026-10-06 11:00:00", "2026-10-06 12:00:00"),
    ],
    tables.COPRESENCE: [
        _met(P1, P2, 2, 1.0, "2026-10-04 12:00:00", "2026-10-06 13:00:00"),
        _met(P3, P4, 3, 1.5, "2026-10-05 19:00:00", "2026-10-08 21:30:00"),
    ],
    tables.HIDDEN_TIE: [
        f"('{P2}', 'person', '{P3}', 'person', 'second_phones_only', 0, 2, 2, 0.5, 'test')",
        f"('{P3}', 'person', '{P4}', 'person', 'meets_never_talks', 3, 0, 0, 1.5, 'test')",
    ],
    tables.EDGE: [
        f"('{DEVICE}', 'device', '{P1}', 'person', 1.0, 0.0, 0.0, 1.0, false)",
        f"('{P1}', 'person', '{P2}', 'person', 2.0, 1.0, 0.0, 2.5, false)",
        f"('{P2}', 'person', '{P3}', 'person', 0.5, 0.0, 0.25, 0.75, true)",
        f"('{P3}', 'person', '{P4}', 'person', 0.0, 1.5, 0.0, 0.75, true)",
    ],
    tables.COMMUNITY: [
        f"('{DEVICE}', 'device', 0, 3)",
        f"('{P1}', 'person', 0, 3)",
        f"('{P2}', 'person', 0, 3)",
        f"('{P3}', 'person', 1, 2)",
        f"('{P4}', 'person', 1, 2)",
    ],
    tables.CENTRALITY: [
        f"('{DEVICE}', 'device', 0, 1, 1.0, 0.0, true, 3)",
        f"('{P1}', 'person', 0, 2, 3.5, 3.0, true, 2)",
        f"('{P2}', 'person', 0, 2, 3.0, 4.0, true, 1)",
        f"('{P3}', 'person', 1, 2, 1.25, 3.0, true, 1)",
        f"('{P4}', 'person', 1, 1, 0.75, 0.0, true, 2)",
    ],
}


def _build(ws: Workspace) -> None:
    engine = ws.engine
    for name, rows in ROWS.items():
        engine.execute(f"CREATE TABLE {name} ({tables.COLUMNS[name]})")
        engine.execute(f"INSERT INTO {name} VALUES {', '.join(rows)}")
    engine.execute(
        "INSERT INTO reg_person (obs_id, source, record_id, full_name, given_name, family_name, "
        "phone, email, document_number, national_id) VALUES "
        "(11, 'reg', 'r11', 'NOVIKOV, Ivan', NULL, NULL, '+4915111111111', "
        "'ivan@example.org', 'X123', NULL), "
        "(12, 'reg', 'r12', 'NOVIKOV, Ivan', NULL, NULL, NULL, NULL, 'X123', NULL), "
        "(13, 'reg', 'r13', 'Ivan Novikov', NULL, NULL, NULL, NULL, NULL, 'N-77'), "
        "(21, 'reg', 'r21', NULL, 'Anna', 'Berg', NULL, NULL, NULL, NULL), "
        "(31, 'reg', 'r31', 'Chen Wei', NULL, NULL, NULL, NULL, NULL, NULL)"
    )
    engine.execute(
        "CREATE TABLE resolution_record (kind VARCHAR, obs_id BIGINT, source VARCHAR, "
        "record_id VARCHAR, entity_id VARCHAR, model_id VARCHAR)"
    )
    engine.execute(
        "INSERT INTO resolution_record VALUES "
        f"('person', 11, 'reg', 'r11', '{P1}', 'm'), ('person', 12, 'reg', 'r12', '{P1}', 'm'), "
        f"('person', 13, 'reg', 'r13', '{P1}', 'm'), ('person', 21, 'reg', 'r21', '{P2}', 'm'), "
        f"('person', 31, 'reg', 'r31', '{P3}', 'm')"
    )
    engine.execute(
        "CREATE TABLE link_device (device VARCHAR, imsi VARCHAR, msisdn VARCHAR, "
        "imeis VARCHAR[], sources VARCHAR[], events BIGINT, first_seen TIMESTAMPTZ, "
        "last_seen TIMESTAMPTZ)"
    )
    engine.execute(
        "INSERT INTO link_device VALUES "
        "('imsi:262011111111111', '262011111111111', '+4915111111111', ['354678100806806'], "
        "['op'], 10, NULL, NULL), "
        "('imsi:262012222222222', '262012222222222', '+4915122222222', "
        "['868912048693185', '868912048693186'], ['op'], 10, NULL, NULL), "
        f"('{DEVICE}', '262015555555555', '+4915155555555', ['490154203237518'], ['op'], 10, "
        "NULL, NULL)"
    )
    engine.execute(
        "CREATE TABLE link_device_person (device VARCHAR, person VARCHAR, confidence DOUBLE, "
        "runner_up DOUBLE, vias VARCHAR[], evidence VARCHAR)"
    )
    engine.execute(
        "INSERT INTO link_device_person VALUES "
        f"('imsi:262011111111111', '{P1}', 0.97, 0, ['subscriber_id'], 'test'), "
        f"('imsi:262012222222222', '{P2}', 0.97, 0, ['subscriber_id'], 'test')"
    )


@pytest.fixture
def built(ws: Workspace) -> Workspace:
    _build(ws)
    return ws


def test_graphml_round_trips_through_igraph_and_networkx(built: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "net.graphml"
    result = export_network(built.engine, "graphml", out)
    assert (result.nodes, result.edges, result.paths) == (5, 4, (out,))
    assert result.counts == {
        "edges.co-presence": 1,
        "edges.contact": 1,
        "edges.contact and shared place": 1,
        "edges.contact and co-presence": 1,
        "edges.hidden": 2,
        "nodes.device": 1,
        "nodes.person": 4,
    }
    root = ET.parse(out).getroot()
    keys = root.findall("{http://graphml.graphdrawing.org/xmlns}key")
    assert len(keys) == len(NODE_ATTRIBUTES) + len(EDGE_ATTRIBUTES)

    g = ig.Graph.Read_GraphML(str(out))
    assert (g.vcount(), g.ecount(), g.is_directed()) == (5, 4, False)
    v = {x["id"]: x.attributes() for x in g.vs}
    assert v[P1]["label"] == "NOVIKOV, Ivan"
    assert v[P1]["phones"] == "+4915111111111"
    assert v[P1]["id_numbers"] == "N-77; X123"
    assert v[P1]["emails"] == "ivan@example.org"
    assert v[P2]["label"] == "Anna Berg"
    assert v[P2]["imeis"] == "868912048693185; 868912048693186"
    assert v[P4]["label"] == P4
    assert v[DEVICE]["label"] == "+4915155555555"
    assert v[DEVICE]["kind"] == "device"
    assert (v[P2]["community"], v[P2]["degree"], v[P2]["betweenness"]) == (0, 2, 4.0)
    assert v[P3]["community_size"] == 2
    pairs = {tuple(sorted((g.vs[e.source]["id"], g.vs[e.target]["id"]))): e for e in g.es}
    e12 = pairs[(P1, P2)]
    assert (e12["weight"], e12["contact_weight"], e12["copresence_weight"]) == (2.5, 2.0, 1.0)
    assert e12["place_weight"] == 0.0
    e23 = pairs[(P2, P3)]  # contact and a shared home or workplace
    assert (e23["weight"], e23["contact_weight"], e23["place_weight"]) == (0.75, 0.5, 0.25)
    assert (e12["events"], e12["meetings"], e12["hidden"]) == (5, 2, False)
    # the earliest and latest evidence of either kind
    assert (e12["first_at"], e12["last_at"]) == ("2026-10-04T12:00:00Z", "2026-10-07T18:00:00Z")
    e34 = pairs[(P3, P4)]
    assert (e34["hidden"], e34["hidden_kind"], e34["events"], e34["meetings"]) == (
        True, "meets_never_talks", 0, 3,
    )  # fmt: skip

    h = nx.read_graphml(out)
    assert (h.number_of_nodes(), h.number_of_edges()) == (5, 4)
    assert h.nodes[P1]["label"] == "NOVIKOV, Ivan"
    assert h.nodes[P1]["degree"] == 2
    assert h.edges[P2, P3]["hidden"] is True
    assert h.edges[P2, P3]["hidden_kind"] == "second_phones_only"


def test_gexf_round_trips_with_declared_attributes(built: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "net.gexf"
    result = export_network(built.engine, "gexf", out)
    assert (result.nodes, result.edges) == (5, 4)
    ns = {"g": "http://gexf.net/1.3"}
    root = ET.parse(out).getroot()
    assert root.tag == "{http://gexf.net/1.3}gexf"
    assert root.get("version") == "1.3"
    graph = root.find("g:graph", ns)
    assert graph is not None
    assert graph.get("defaultedgetype") == "undirected"
    declared = {
        a.get("class"): {x.get("id"): x.get("title") for x in a.findall("g:attribute", ns)}
        for a in graph.findall("g:attributes", ns)
    }
    assert set(declared["edge"].values()) == {name for name, _ in EDGE_ATTRIBUTES}
    assert "label" not in declared["node"].values()
    # every value refers to a declared attribute
    for cls in ("node", "edge"):
        for el in graph.iter(f"{{http://gexf.net/1.3}}{cls}"):
            for att in el.iter("{http://gexf.net/1.3}attvalue"):
                assert att.get("for") in declared[cls]
    assert len(graph.findall("g:nodes/g:node", ns)) == 5
    assert len(graph.findall("g:edges/g:edge", ns)) == 4

    h = nx.read_gexf(out)
    assert (h.number_of_nodes(), h.number_of_edges()) == (5, 4)
    assert h.nodes[P1]["label"] == "NOVIKOV, Ivan"
    assert h.nodes[P1]["community"] == 0
    assert h.nodes[P3]["betweenness"] == 3.0
    assert not h.is_multigraph()
    edge = h.edges[P3, P4]
    assert edge["weight"] == 0.75
    assert edge["hidden"] is True
    assert edge["meetings"] == 3


def test_i2_csv_pair_has_documented_headers_and_rows(built: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "i2"
    result = export_network(built.engine, "i2", out)
    assert result.paths == (out / "entities.csv", out / "links.csv")
    with (out / "entities.csv").open(encoding="utf-8", newline="") as f:
        entities = list(csv.DictReader(f))
    with (out / "links.csv").open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        links = list(reader)
        assert tuple(reader.fieldnames or ()) == I2_LINK_COLUMNS
    assert tuple(entities[0]) == I2_ENTITY_COLUMNS
    by_id = {e["Entity ID"]: e for e in entities}
    assert set(by_id) == {DEVICE, P1, P2, P3, P4}
    assert by_id[DEVICE]["Entity Type"] == "Mobile Phone"
    assert by_id[DEVICE]["IMSIs"] == "262015555555555"
    assert by_id[P1]["Entity Type"] == "Person"
    assert by_id[P1]["Label"] == "NOVIKOV, Ivan"
    assert by_id[P4]["Phone Numbers"] == ""
    link = {(r["From Entity ID"], r["To Entity ID"]): r for r in links}
    assert len(link) == 4
    assert set(link) <= {(a, b) for a in by_id for b in by_id}
    r12 = link[(P1, P2)]
    assert (r12["Link Type"], r12["Strength"], r12["Weight"]) == (
        "Contact and co-presence", "Confirmed", "2.5",
    )  # fmt: skip
    assert (r12["Start Date"], r12["Start Time"]) == ("2026-10-04", "12:00:00")
    assert (r12["End Date"], r12["End Time"]) == ("2026-10-07", "18:00:00")
    assert link[(P3, P4)]["Strength"] == "Tentative"
    assert link[(P3, P4)]["Link Type"] == "Co-presence"
    assert link[(DEVICE, P1)]["Strength"] == "Confirmed"
    assert link[(P2, P3)]["Hidden Kind"] == "second_phones_only"


def test_ftm_entities_are_valid_followthemoney(built: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "net.ftm.json"
    result = export_network(built.engine, "ftm", out)
    lines = out.read_text("utf-8").splitlines()
    entities = [json.loads(line) for line in lines]
    assert result.counts["entities.Person"] == 4
    assert result.counts["entities.LegalEntity"] == 1
    assert result.counts["entities.UnknownLink"] == 4
    ids = {e["id"] for e in entities}
    assert len(ids) == len(entities) == 9
    for data in entities:
        schema = model.get(data["schema"])
        assert schema is not None
        assert not schema.abstract
        assert registry.entity.validate(data["id"])
        assert set(data["properties"]) <= set(schema.properties)
        schema.validate(data)  # raises InvalidData on a bad or missing value
        assert all(data["properties"].get(p) for p in schema.required)
        # FtM's own cleaning leaves every value as written
        proxy = model.get_proxy(data, cleaned=False)
        assert proxy.to_dict()["properties"] == data["properties"]
    by_id = {e["id"]: e for e in entities}
    ivan = by_id[ftm_id(P1)]
    assert ivan["schema"] == "Person"
    assert ivan["properties"]["name"] == ["NOVIKOV, Ivan"]
    assert ivan["properties"]["alias"] == ["Ivan Novikov"]
    assert ivan["properties"]["phone"] == ["+4915111111111"]
    assert ivan["properties"]["idNumber"] == ["N-77", "X123"]
    device = by_id[ftm_id(DEVICE)]
    assert device["schema"] == "LegalEntity"
    assert device["properties"]["phone"] == ["+4915155555555"]
    link = by_id[ftm_id(P1, P2)]
    assert link["properties"]["subject"] == [ftm_id(P1)]
    assert link["properties"]["object"] == [ftm_id(P2)]
    assert link["properties"]["role"] == ["contact and co-presence"]
    assert link["properties"]["startDate"] == ["2026-10-04T12:00:00"]
    # every link points at exported entities; ids are stable across exports
    for e in entities:
        if e["schema"] == "UnknownLink":
            assert e["properties"]["subject"][0] in ids
            assert e["properties"]["object"][0] in ids
    export_network(built.engine, "ftm", tmp_path / "again.json")
    assert (tmp_path / "again.json").read_text("utf-8") == out.read_text("utf-8")


def test_xml_formats_escape_names(built: Workspace, tmp_path: Path) -> None:
    """Markup characters survive; characters XML 1.0 forbids (a bell) are dropped."""
    built.engine.execute(
        "UPDATE reg_person SET full_name = 'O''Neil & \"Sons\" <Ltd>' || chr(7) WHERE obs_id = 31"
    )
    export_network(built.engine, "graphml", tmp_path / "n.graphml")
    export_network(built.engine, "gexf", tmp_path / "n.gexf")
    name = 'O\'Neil & "Sons" <Ltd>'
    assert nx.read_graphml(tmp_path / "n.graphml").nodes[P3]["label"] == name
    assert nx.read_gexf(tmp_path / "n.gexf").nodes[P3]["label"] == name


def test_subjects_restrict_to_their_mutual_edges(built: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "scoped.graphml"
    result = export_network(built.engine, "graphml", out, subjects=[P1, P2, P4])
    # 1-2 is the only edge among them; 4 stays, alone; the device and 3 do not leak
    g = ig.Graph.Read_GraphML(str(out))
    assert sorted(g.vs["id"]) == [P1, P2, P4]
    assert [tuple(sorted((g.vs[e.source]["id"], g.vs[e.target]["id"]))) for e in g.es] == [(P1, P2)]
    assert (result.nodes, result.edges) == (3, 1)
    text = out.read_text("utf-8")
    assert DEVICE not in text
    assert "+4915155555555" not in text
    assert "Chen Wei" not in text


def test_min_weight_drops_weak_edges_and_their_lone_ends(built: Workspace, tmp_path: Path) -> None:
    result = export_network(built.engine, "i2", tmp_path / "i2", min_weight=1.0)
    with (tmp_path / "i2" / "links.csv").open(encoding="utf-8", newline="") as f:
        links = {(r["From Entity ID"], r["To Entity ID"]) for r in csv.DictReader(f)}
    assert links == {(DEVICE, P1), (P1, P2)}
    with (tmp_path / "i2" / "entities.csv").open(encoding="utf-8", newline="") as f:
        assert {r["Entity ID"] for r in csv.DictReader(f)} == {DEVICE, P1, P2}
    assert (result.nodes, result.edges) == (3, 2)


def test_errors_are_clear(built: Workspace, tmp_path: Path) -> None:
    with pytest.raises(NetworkError, match="unknown export format 'pdf'"):
        export_network(built.engine, "pdf", tmp_path / "x")
    with pytest.raises(NetworkError, match=r"not in the network: person:99"):
        export_network(built.engine, "gexf", tmp_path / "x.gexf", subjects=[P1, "person:99"])
    with pytest.raises(NetworkError, match="no subjects given"):
        export_network(built.engine, "gexf", tmp_path / "x.gexf", subjects=[])
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(NetworkError, match="cannot write"):
        export_network(built.engine, "graphml", blocker / "net.graphml")
    with pytest.raises(NetworkError, match="it is a file"):
        export_network(built.engine, "i2", blocker)
    with pytest.raises(NetworkError, match="it is a folder"):
        export_network(built.engine, "ftm", tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "ws"]


def test_missing_network_tables_say_run_build(tmp_path: Path) -> None:
    with (
        Workspace.init(tmp_path / "empty") as empty,
        pytest.raises(NetworkError, match=r"net_edge.*run `tessera build`"),
    ):
        export_network(empty.engine, "graphml", tmp_path / "x.graphml")
    assert not (tmp_path / "x.graphml").exists()


def test_cli_export(built: Workspace, tmp_path: Path) -> None:
    built.close()
    runner = CliRunner(
        env={"TESSERA_USER": "ana", "TESSERA_CASE": "CASE-9", "TESSERA_LEGAL_BASIS": "research"}
    )
    out = tmp_path / "cli.gexf"
    r = runner.invoke(
        app,
        ["export", str(built.path), str(out), "--format", "gexf", "--subject", P3, "-s", P4],
    )
    assert r.exit_code == 0, r.output
    assert "Wrote 2 nodes and 1 edges as gexf" in r.output
    assert "edges.hidden: 1" in r.output
    assert len(nx.read_gexf(out).edges) == 1
    r = runner.invoke(app, ["export", str(built.path), str(tmp_path / "i2"), "-f", "i2",
                            "--min-weight", "2"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "Wrote 2 nodes and 1 edges as i2" in r.output
    assert (tmp_path / "i2" / "links.csv").exists()
    r = runner.invoke(app, ["export", str(built.path), str(tmp_path / "y"), "-f", "xls"])
    assert r.exit_code == 1
    assert "unknown export format 'xls'" in r.output
    assert "Traceback" not in r.output
