"""Linking end to end on a small simulated district: ingest every feed, build, score
vehicles and devices against the truth, and check the hypotheses carry evidence."""

from __future__ import annotations

from pathlib import Path

from tessera.evaluate import evaluate
from tessera.evaluate.linking import PROVIDERS
from tessera.workspace import Workspace


def test_devices_and_vehicles_go_to_the_right_people(linked: tuple[Path, Path]) -> None:
    out, path = linked
    m = evaluate(path, out, providers=list(PROVIDERS)).metrics
    assert m["linking.device_person.devices"] > 400
    # floors that catch breakage, not tuning (measured figures: docs/evaluation.md)
    assert m["linking.device_person.precision"] >= 0.9
    assert m["linking.device_person.recall"] >= 0.6
    assert m["linking.vehicle_person.precision"] >= 0.8
    assert m["linking.vehicle_person.recall"] >= 0.7
    assert m["linking.vehicle.shared_recall"] == 1.0


def test_every_link_cites_its_evidence(linked: tuple[Path, Path]) -> None:
    _, path = linked
    with Workspace.open(path, read_only=True) as ws:
        e = ws.engine
        [(links, cited)] = e.fetch_rows(
            "SELECT count(*), count(*) FILTER (WHERE evidence <> '' AND confidence > 0 "
            "AND confidence < 1) FROM link_device_person"
        )
        assert links > 0
        assert cited == links
        # every vehicle-device link is a co-travel pair whose units are all in the evidence
        [(pairs, missing)] = e.fetch_rows(
            "SELECT count(*), count(*) FILTER (WHERE p.units <> (SELECT count(*) FROM "
            "cotravel_evidence x WHERE x.kind = p.kind AND x.a = p.a AND x.b = p.b)) "
            "FROM cotravel_pair p JOIN link_vehicle_device v ON v.vehicle = p.a "
            "AND v.device = p.b WHERE p.kind = 'vehicle_device'"
        )
        assert pairs > 0
        assert missing == 0
        # a hypothesis beats chance: support above the expected count
        [(worse,)] = e.fetch_rows(
            "SELECT count(*) FROM cotravel_pair WHERE units <= expected OR bits <= 0"
        )
        assert worse == 0
