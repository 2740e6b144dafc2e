"""The matchability curve: linking re-run on the first days of data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tessera.cli import app
from tessera.errors import EvaluationError
from tessera.evaluate.matchability import matchability
from tessera.evaluate.truth import Truth
from tessera.workspace import Workspace


def _events(path: Path) -> int:
    with Workspace.open(path, read_only=True) as ws:
        return ws.engine.row_count("obs_device_event")


def test_more_days_link_more_people(linked: tuple[Path, Path]) -> None:
    out, path = linked
    before = _events(path)
    points = matchability(path, Truth(out / "truth"), [5, 1, 3, 9])
    assert [p.days for p in points] == [1, 3, 5, 9]
    assert [p.covered_days for p in points] == [1, 3, 5, 5]  # the fixture has 5 days
    one, three, five, nine = points
    # more days: more car owners seen, and co-travel links more of them
    assert one.people < three.people <= five.people
    assert one.behavioural < five.behavioural
    assert five.behavioural >= 0.6
    # a horizon past the data is the whole data
    assert (nine.people, nine.behavioural) == (five.people, five.behavioural)
    assert 0.0 < one.device_person_recall <= five.device_person_recall + 0.02
    assert _events(path) == before  # the workspace itself is untouched


def test_bad_horizons_are_refused(linked: tuple[Path, Path]) -> None:
    out, path = linked
    with pytest.raises(EvaluationError, match="whole days"):
        matchability(path, Truth(out / "truth"), [0, 3])


def test_the_command_prints_the_curve(linked: tuple[Path, Path]) -> None:
    out, path = linked
    result = CliRunner().invoke(
        app, ["matchability", str(path), "--truth", str(out / "truth"), "--days", "2", "--json"]
    )
    assert result.exit_code == 0, result.output
    (point,) = json.loads(result.stdout)
    assert point["days"] == 2
    assert 0.0 <= point["behavioural"] <= 1.0
    bad = CliRunner().invoke(app, ["matchability", str(path), "-t", str(out), "--days", "x"])
    assert bad.exit_code == 1
    assert "whole numbers" in bad.output
