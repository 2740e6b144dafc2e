"""Validated ingest of operator files through YAML mappings."""

from tessera.ingest.loader import BatchResult, Progress, ingest_file, ingest_files
from tessera.ingest.mapping import Mapping, load_mapping, parse_mapping

__all__ = [
    "BatchResult",
    "Mapping",
    "Progress",
    "ingest_file",
    "ingest_files",
    "load_mapping",
    "parse_mapping",
]
