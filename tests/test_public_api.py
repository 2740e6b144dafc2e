"""The public surface is small and pinned; importing tessera stays light."""

from __future__ import annotations

import json
import subprocess
import sys

import tessera

EXPECTED = {
    "BatchResult",
    "EngineError",
    "IngestError",
    "Mapping",
    "MappingError",
    "ModelError",
    "SourceFileError",
    "StageError",
    "TesseraError",
    "UnsupportedOperation",
    "Workspace",
    "WorkspaceError",
    "__version__",
    "get_model",
    "load_mapping",
}


def test_exported_names_are_pinned() -> None:
    assert set(tessera.__all__) == EXPECTED
    for name in tessera.__all__:
        assert getattr(tessera, name) is not None


def test_import_is_light() -> None:
    code = (
        "import sys, json, tessera, tessera.cli; print(json.dumps(sorted(m for m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout))
    for heavy in (
        "pyspark",
        "splink",
        "igraph",
        "leidenalg",
        "duckdb",
        "pyarrow",
        "polars",
        "pydantic",
        "phonenumbers",
        "pypinyin",
        "numpy",
    ):
        assert heavy not in loaded, f"`import tessera` imported {heavy}"


def test_errors_form_a_tree() -> None:
    for name in EXPECTED:
        obj = getattr(tessera, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, tessera.TesseraError)
    assert issubclass(tessera.SourceFileError, tessera.IngestError)
    assert issubclass(tessera.UnsupportedOperation, tessera.EngineError)
