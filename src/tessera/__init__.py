"""Tessera: multi-source data fusion and pattern-of-life analysis.

The public API is small and pinned by ``tests/test_public_api.py``::

    import tessera
    ws = tessera.Workspace.init("ws")
    ws.ingest("mappings/plate_reads.yaml")
    ws.build()
    ws.status()

Importing ``tessera`` loads no heavy library (DuckDB, Arrow, pydantic load on use;
Spark, Splink and igraph only in the stages that need them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tessera._version import __version__
from tessera.errors import (
    EngineError,
    IngestError,
    MappingError,
    ModelError,
    SourceFileError,
    StageError,
    TesseraError,
    UnsupportedOperation,
    WorkspaceError,
)

if TYPE_CHECKING:
    from tessera.ingest import BatchResult, Mapping, load_mapping
    from tessera.model import get_model
    from tessera.workspace import Workspace

__all__ = [
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
]

_LAZY = {
    "Workspace": ("tessera.workspace", "Workspace"),
    "BatchResult": ("tessera.ingest", "BatchResult"),
    "Mapping": ("tessera.ingest", "Mapping"),
    "load_mapping": ("tessera.ingest", "load_mapping"),
    "get_model": ("tessera.model", "get_model"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'tessera' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
