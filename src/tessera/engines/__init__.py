"""Engines behind the stage framework. ``open_engine`` picks one by name.

DuckDB (the embedded workspace) and Spark (``tessera.engines.spark``: Parquet tables,
a local, cluster or Spark Connect session) implement the same
:class:`~tessera.engines.base.Engine` port. Importing this package imports no engine
library.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tessera.engines.base import CAPABILITIES, Engine, literal, quote
from tessera.errors import EngineError

ENGINES = ("duckdb", "spark")

__all__ = ["CAPABILITIES", "ENGINES", "Engine", "literal", "open_engine", "quote"]


def open_engine(name: str, **options: Any) -> Engine:
    """Open an engine by name (``"duckdb"``, ``"spark"``), passing engine options through
    (``path``: the database file, or the Spark catalog folder)."""
    if name == "duckdb":
        from tessera.engines.duckdb.engine import DuckDBEngine

        path = options.pop("path", None)
        return DuckDBEngine(Path(path) if path is not None else None, **options)
    if name == "spark":
        from tessera.engines.spark.engine import SparkEngine

        return SparkEngine(Path(options.pop("path")), **options)
    raise EngineError(f"unknown engine {name!r}; available: {', '.join(ENGINES)}")
