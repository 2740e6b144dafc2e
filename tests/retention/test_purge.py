"""Retention: periods, purge of expired observations, audit, and the rebuild that
removes what was derived from them."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
import yaml

from tessera.audit import entries, verify
from tessera.errors import PermissionDenied, RetentionError
from tessera.retention import parse_period, periods, purge, timed_kinds
from tessera.stages import registered_stages
from tessera.workspace import Workspace


def test_periods() -> None:
    assert parse_period("90d") == dt.timedelta(days=90)
    assert parse_period("36h") == dt.timedelta(hours=36)
    assert parse_period("2w") == dt.timedelta(weeks=2)
    for bad in ("90", "d", "1.5d", "-3d", "3 months", "0h"):
        with pytest.raises(RetentionError):
            parse_period(bad)
    assert timed_kinds() == {
        "plate_read": ("obs_plate_read", "time"),
        "device_event": ("obs_device_event", "time"),
        "communication": ("obs_communication", "time"),
    }
    with pytest.raises(RetentionError, match="observation time"):
        periods({"contact_list": "30d"})
    with pytest.raises(RetentionError, match="device_event"):
        periods({"registry.person": "30d"})


def test_retention_is_a_workspace_setting(tmp_path: Path) -> None:
    path = tmp_path / "ws"
    Workspace.init(path).close()
    cfg = path / "tessera.yaml"
    data = yaml.safe_load(cfg.read_text())
    data["retention"] = {"device_event": "90d", "plate_read": "30d"}
    cfg.write_text(yaml.safe_dump(data))
    with Workspace.open(path) as ws:
        assert ws.config.retention == {"device_event": "90d", "plate_read": "30d"}
        report = purge(ws, by="local.test", dry_run=True)
        assert [(k.kind, k.rows) for k in report.kinds] == [("device_event", 0), ("plate_read", 0)]
        with pytest.raises(PermissionDenied):
            purge(ws, by="nobody")


def _ids(ws: Workspace, sql: str, params: list[object]) -> set[int]:
    return {int(r[0]) for r in ws.engine.fetch_rows(sql, params) if r[0] is not None}


def test_purge_removes_observations_and_what_was_derived(
    linked: tuple[Path, Path], tmp_path: Path
) -> None:
    """Keep the last three days of a five-day district: the first two days of device
    events, plate reads and communications go, the audit says how many, and after the
    rebuild no stay, co-travel evidence, plate attribution, contact or meeting refers to
    a purged observation or to a time before the cutoff."""
    path = tmp_path / "ws"
    shutil.copytree(linked[1], path)
    cfg = path / "tessera.yaml"
    data = yaml.safe_load(cfg.read_text())
    data["retention"] = {"device_event": "3d", "plate_read": "3d", "communication": "3d"}
    cfg.write_text(yaml.safe_dump(data))
    with Workspace.open(path) as ws:
        e = ws.engine
        t0 = e.fetch_rows("SELECT min(time) FROM obs_device_event")[0][0]
        now = t0 + dt.timedelta(days=5)
        cutoff = now - dt.timedelta(days=3)
        purged: set[int] = set()
        counts = {}
        for kind, table in (
            ("communication", "obs_communication"),
            ("device_event", "obs_device_event"),
            ("plate_read", "obs_plate_read"),
        ):
            ids = _ids(ws, f"SELECT obs_id FROM {table} WHERE time < ?", [cutoff])
            counts[kind] = (len(ids), e.row_count(table))
            purged |= ids
        assert all(n > 1000 for n, _ in counts.values()), counts
        stays_before = e.fetch_rows(
            "SELECT count(*) FROM life_stay WHERE started_at < ?", [cutoff]
        )[0][0]
        assert stays_before > 100
        evidence_before = _ids(
            ws, "SELECT obs_a FROM cotravel_evidence UNION SELECT obs_b FROM cotravel_evidence", []
        )
        assert evidence_before & purged

        dry = purge(ws, now=now, by="local.test", dry_run=True)
        assert {k.kind: k.rows for k in dry.kinds} == {k: n for k, (n, _) in counts.items()}
        assert e.row_count("obs_device_event") == counts["device_event"][1]
        assert entries(ws, action="purge") == []

        report = purge(ws, now=now, by="local.test")
        assert {k.kind: k.rows for k in report.kinds} == {k: n for k, (n, _) in counts.items()}
        for kind, table in (
            ("communication", "obs_communication"),
            ("device_event", "obs_device_event"),
            ("plate_read", "obs_plate_read"),
        ):
            n, before = counts[kind]
            assert e.row_count(table) == before - n
            assert e.fetch_rows(f"SELECT count(*) FROM {table} WHERE time < ?", [cutoff]) == [(0,)]
        (entry,) = entries(ws, action="purge")
        assert (entry.user, entry.case, entry.result_size) == (
            "local.test",
            "SYSTEM",
            report.total,
        )
        detail = {k["kind"]: k["rows"] for k in entry.detail_json()["kinds"]}
        assert detail == {k: n for k, (n, _) in counts.items()}
        assert entry.seq == report.audit_seq
        assert verify(ws).ok
        # every stage reads observations, directly or through another, except resolution
        stages = {st.name for st in registered_stages()}
        assert set(report.rebuilt) == stages - {"resolution"}

        # nothing derived refers to a purged observation ...
        refs = {
            "life_stay": "SELECT unnest(obs_ids) FROM life_stay",
            "cotravel_evidence": (
                "SELECT obs_a FROM cotravel_evidence UNION SELECT obs_b FROM cotravel_evidence"
            ),
            "link_plate_read": "SELECT obs_id FROM link_plate_read",
            "net_contact": "SELECT unnest(obs_ids) FROM net_contact",
        }
        for table, sql in refs.items():
            left = _ids(ws, sql, [])
            assert left, f"{table} is empty after the rebuild"
            assert not left & purged, f"{table} still refers to purged observations"
        # ... or to a time before the cutoff
        times = {
            "life_stay": "SELECT min(started_at) FROM life_stay",
            "cotravel_evidence": "SELECT min(least(t_a, t_b)) FROM cotravel_evidence",
            "net_contact": "SELECT min(first_at) FROM net_contact",
            "net_meeting": "SELECT min(started_at) FROM net_meeting",
            "link_device": "SELECT min(first_seen) FROM link_device",
            "life_place": "SELECT min(first_seen) FROM life_place",
        }
        for table, sql in times.items():
            (first,) = e.fetch_rows(sql)[0]
            assert first is not None, table
            assert first >= cutoff, (table, first, cutoff)

        # a second purge at the same time finds nothing, and the build has nothing to redo
        again = purge(ws, now=now, by="local.test")
        assert again.total == 0
        assert again.rebuilt == []
        assert len(entries(ws, action="purge")) == 2
