"""Engines behind the stage framework. ``open_engine`` picks one by name.

Only the DuckDB engine exists today; a Spark engine will implement the same
:class:`~tessera.engines.base.Engine` port. Importing this package imports no
engine library.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tessera.engines.base import CAPABILITIES, Engine, literal, quote
from tessera.errors import EngineError

ENGINES = ("duckdb",)

__all__ = ["CAPABILITIES", "ENGINES", "Engine", "literal", "open_engine", "quote"]


def open_engine(name: str, **options: Any) -> Engine:
    """Open an engine by name (``"duckdb"``), passing engine options through."""
    if name == "duckdb":
        from tessera.engines.duckdb.engine import DuckDBEngine

        path = options.pop("path", None)
        return DuckDBEngine(Path(path) if path is not None else None, **options)
    raise EngineError(f"unknown engine {name!r}; available: {', '.join(ENGINES)}")
