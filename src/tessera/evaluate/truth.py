"""The hidden truth a simulator writes next to its feeds (see docs/simulation.md)::

    OUT/
      manifest.json     parameters, and "files": {"sources/x.csv": {"rows": n, "sha256": ...}}
      truth/            Parquet files: persons, devices, vehicles, planted_errors, ...

:class:`Truth` accepts ``OUT/truth`` or ``OUT`` itself, opens Parquet files only when a
metric provider asks for them, and raises :class:`~tessera.errors.TruthError` naming
the missing file (or column) and the folder.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tessera.errors import TruthError

if TYPE_CHECKING:
    import pyarrow as pa

TRUTH_DIR = "truth"
MANIFEST = "manifest.json"


class Truth:
    """A simulator's truth folder, read lazily."""

    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        if not path.exists():
            raise TruthError(
                f"truth folder {path} does not exist; pass OUT/truth or OUT as written by "
                "`tessera simulate`"
            )
        if not path.is_dir():
            raise TruthError(f"{path} is not a folder; pass OUT/truth or OUT")
        if (path / TRUTH_DIR).is_dir():
            path = path / TRUTH_DIR
        elif path.name != TRUTH_DIR and not any(path.glob("*.parquet")):
            raise TruthError(
                f"{path} is not a truth folder: it has no {TRUTH_DIR}/ and no Parquet files"
            )
        self.folder = path
        self._tables: dict[tuple[str, tuple[str, ...] | None], pa.Table] = {}
        self._manifest: dict[str, Any] | None = None
        self._manifest_read = False

    def __repr__(self) -> str:
        return f"<Truth {self.folder}>"

    @property
    def manifest_path(self) -> Path:
        """Where the manifest would be: next to the truth folder."""
        return self.folder.parent / MANIFEST

    def has(self, name: str) -> bool:
        """Whether the truth folder holds file ``name`` (e.g. ``"devices.parquet"``)."""
        return (self.folder / name).is_file()

    def files(self) -> list[str]:
        """Names of the files in the truth folder, sorted."""
        return sorted(p.name for p in self.folder.iterdir() if p.is_file())

    def read(self, name: str, columns: Sequence[str] | None = None) -> pa.Table:
        """The Parquet file ``name`` (or just ``columns`` of it) as an Arrow table."""
        key = (name, tuple(columns) if columns is not None else None)
        if key not in self._tables:
            self._tables[key] = self._read(name, columns)
        return self._tables[key]

    def _read(self, name: str, columns: Sequence[str] | None) -> pa.Table:
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = self.folder / name
        if not path.is_file():
            raise TruthError(f"truth file {name} is missing from {self.folder}")
        try:
            parquet = pq.ParquetFile(path)
            schema = parquet.schema_arrow
            missing = [c for c in columns or () if c not in schema.names]
            if missing:
                raise TruthError(
                    f"truth file {path} has no column {', '.join(missing)}; "
                    f"it has {', '.join(schema.names)}"
                )
            return parquet.read(columns=list(columns) if columns is not None else None)
        except (pa.ArrowException, OSError) as exc:
            raise TruthError(f"truth file {path} is not readable Parquet: {exc}") from None

    @property
    def manifest(self) -> dict[str, Any] | None:
        """``OUT/manifest.json`` as a dict, or None when there is none."""
        if not self._manifest_read:
            self._manifest = self._read_manifest()
            self._manifest_read = True
        return self._manifest

    def _read_manifest(self) -> dict[str, Any] | None:
        path = self.manifest_path
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise TruthError(f"{path} is not readable JSON: {exc}") from None
        if not isinstance(data, dict):
            raise TruthError(f"{path} must hold a JSON object")
        return data

    def manifest_rows(self) -> dict[str, int]:
        """Rows per feed file listed in the manifest, keyed by file name (not path);
        the truth's own files are left out. Empty without a manifest."""
        files = (self.manifest or {}).get("files", {})
        if not isinstance(files, dict):
            raise TruthError(f"{self.manifest_path}: 'files' must map file paths to objects")
        rows: dict[str, int] = {}
        for file, entry in files.items():
            if Path(file).parts[:1] == (TRUTH_DIR,):
                continue
            n = entry.get("rows") if isinstance(entry, dict) else None
            if isinstance(n, int) and not isinstance(n, bool):
                rows[Path(file).name] = n
            elif n is not None or not isinstance(entry, dict):
                raise TruthError(
                    f"{self.manifest_path}: files[{file!r}] needs a whole number of 'rows'"
                )
        return rows
