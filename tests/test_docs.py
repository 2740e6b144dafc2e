"""Generated docs are current, and the docs' examples run."""

from __future__ import annotations

from conftest import ROOT
from tessera.cli.reference import cli_reference
from tessera.model import to_markdown


def test_data_model_doc_is_current() -> None:
    text = (ROOT / "docs" / "data-model.md").read_text("utf-8")
    assert text == to_markdown(), "run: python -m tessera.model --markdown > docs/data-model.md"


def test_cli_reference_is_current() -> None:
    text = (ROOT / "docs" / "cli.md").read_text("utf-8")
    assert text == cli_reference(), "run: python -m tessera.cli.reference > docs/cli.md"


def test_readme_has_exactly_two_setup_commands() -> None:
    text = (ROOT / "README.md").read_text("utf-8")
    block = text.split("## Two commands", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    lines = [ln for ln in block.splitlines() if ln.strip()]
    assert len(lines) == 2
    assert "tessera demo" in lines[0]
    assert "pytest" in lines[1]
    ci = (ROOT / ".ci" / "run").read_text("utf-8")
    assert "python3 -m uv run pytest" in ci
    assert "python3 -m uv run pytest" in lines[1]
