"""The audit package's public names are pinned, it imports nothing heavy, and the docs
state what the code does."""

from __future__ import annotations

import json
import subprocess
import sys

import tessera.audit
from conftest import ROOT
from tessera.audit import ENV_CASE, ENV_LEGAL_BASIS, ENV_USER, LEGAL_BASES
from tessera.audit.log import ACTIONS, AUDIT_COLUMNS, GENESIS_HASH

EXPORTED = {
    "ACTIONS",
    "AUDIT_COLUMNS",
    "AUDIT_TABLE",
    "ENV_CASE",
    "ENV_LEGAL_BASIS",
    "ENV_NOTE",
    "ENV_USER",
    "GENESIS_HASH",
    "HEAD_NAME",
    "LEGAL_BASES",
    "Access",
    "AuditEntry",
    "AuditLog",
    "Head",
    "LegalBasis",
    "Problem",
    "VerifyResult",
    "audited",
    "entries",
    "record",
    "verify",
}


def test_exported_names_are_pinned() -> None:
    assert set(tessera.audit.__all__) == EXPORTED
    for name in EXPORTED:
        assert getattr(tessera.audit, name) is not None


def test_import_is_light() -> None:
    code = (
        "import sys, json, tessera.audit, tessera.audit.cli; print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout))
    for heavy in ("duckdb", "pyarrow", "pydantic", "numpy", "igraph", "rich"):
        assert heavy not in loaded, f"importing tessera.audit imported {heavy}"


def test_docs_name_every_legal_basis_action_and_variable() -> None:
    text = (ROOT / "docs" / "audit.md").read_text("utf-8")
    for word in (*LEGAL_BASES, *ACTIONS, ENV_USER, ENV_CASE, ENV_LEGAL_BASIS, "audit.head"):
        assert f"`{word}`" in text, word
    assert GENESIS_HASH in text


def test_docs_worked_example_hash_is_the_code_s() -> None:
    """docs/audit.md shows one entry's canonical text and hash; they are what the code makes."""
    import hashlib

    text = (ROOT / "docs" / "audit.md").read_text("utf-8")
    block = text.split("<!-- canonical -->", 1)[1].split("```", 2)[1]
    canonical = block.strip().splitlines()[-1]
    digest = text.split("<!-- hash -->", 1)[1].split("`", 2)[1]
    assert hashlib.sha256(canonical.encode()).hexdigest() == digest
    from tessera.audit.log import canonical as make_canonical

    fields = json.loads(canonical)
    assert make_canonical(fields).decode() == canonical


def test_docs_show_the_table_layout() -> None:
    text = (ROOT / "docs" / "audit.md").read_text("utf-8")
    assert AUDIT_COLUMNS in text
