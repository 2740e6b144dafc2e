"""Streaming readers: CSV, Parquet and JSON Lines to Arrow batches with exact row numbers.

Each reader yields :class:`Chunk` objects: an Arrow table whose columns are the
file's columns (strings for text formats, native types for Parquet) plus
``__row_no`` (1-based record number, header not counted), and the malformed
records met on the way (ragged CSV lines, invalid JSON), which the loader puts
in quarantine. Problems with the file as a whole (unreadable, empty, truncated,
wrong encoding, not the declared format) raise :class:`SourceFileError` with
the file name and the fix.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from tessera.errors import SourceFileError

if TYPE_CHECKING:
    import pyarrow as pa

    from tessera.ingest.mapping import CsvOptions

ROW_NO = "__row_no"
BATCH_ROWS = 1_000_000
_CSV_BLOCK = 16 << 20
_SAMPLE = 64 << 10


@dataclass
class BadRecord:
    """A record that could not even be split into columns."""

    row_no: int
    reason: str
    text: str


@dataclass
class Chunk:
    table: pa.Table
    bad: list[BadRecord] = field(default_factory=list)
    bytes_read: int = 0


class _CountingReader(io.RawIOBase):
    """A binary file wrapper that counts bytes read (for progress)."""

    def __init__(self, fh: BinaryIO) -> None:
        self._fh = fh
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._fh.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.count += n
        return n


class SourceReader:
    """Common interface of the three readers."""

    path: Path
    columns: list[str]

    def chunks(self) -> Iterator[Chunk]:  # pragma: no cover - interface
        raise NotImplementedError

    def column_types(self) -> dict[str, str]:
        """Arrow type (as text) of each column, before any cleaning."""
        return dict.fromkeys(self.columns, "string")


def open_reader(path: Path, fmt: str, csv_options: CsvOptions, needed: list[str]) -> SourceReader:
    """Open ``path`` as ``fmt``; check it exists, is not empty, and has the ``needed`` columns."""
    if not path.exists():
        raise SourceFileError(f"{path}: file does not exist")
    if not path.is_file():
        raise SourceFileError(f"{path}: not a regular file")
    if path.stat().st_size == 0:
        raise SourceFileError(f"{path}: file is empty (0 bytes); nothing to load")
    reader: SourceReader
    if fmt == "csv":
        reader = CsvReader(path, csv_options)
    elif fmt == "parquet":
        reader = ParquetReader(path)
    elif fmt == "jsonl":
        reader = JsonLinesReader(path)
    else:  # pragma: no cover - mapping validation forbids it
        raise SourceFileError(f"{path}: unknown format {fmt!r}")
    missing = [c for c in needed if c not in reader.columns]
    if missing:
        raise SourceFileError(_missing_message(path, fmt, missing, reader.columns))
    return reader


def _missing_message(path: Path, fmt: str, missing: list[str], found: list[str]) -> str:
    shown = ", ".join(repr(c) for c in found[:30]) + (" ..." if len(found) > 30 else "")
    msg = (
        f"{path}: column{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))} "
        f"named in the mapping {'are' if len(missing) > 1 else 'is'} not in the file. "
        f"The file has: {shown}."
    )
    if fmt == "csv" and len(found) == 1:
        for delim in (";", "\t", "|", ","):
            if delim in found[0]:
                return msg + (
                    f" The header looks split by {delim!r}: set csv.delimiter: {delim!r} "
                    "in the mapping."
                )
    lowered = {c.lower(): c for c in found}
    hints = [f"{m!r} -> {lowered[m.lower()]!r}" for m in missing if m.lower() in lowered]
    if hints:
        return msg + " Column names are case-sensitive: " + "; ".join(hints) + "."
    return msg + " Fix the mapping's column names, or check this is the right file and kind."


# -- CSV ---------------------------------------------------------------------------
class CsvReader(SourceReader):
    def __init__(self, path: Path, options: CsvOptions) -> None:
        self.path = path
        self.options = options
        with open(path, "rb") as fh:
            sample = fh.read(_SAMPLE)
        if b"\x00" in sample:
            kind = "Parquet" if sample[:4] == b"PAR1" else "binary"
            raise SourceFileError(
                f"{path}: not a text file (looks {kind}); the mapping reads it as CSV. "
                "Set 'format:' in the mapping to the file's real format."
            )
        text = self._decode(sample, partial=len(sample) == _SAMPLE)
        if not text.strip():
            raise SourceFileError(f"{path}: file holds only whitespace; nothing to load")
        self.delimiter = options.delimiter or _sniff_delimiter(text)
        if options.header:
            first = next(
                csv.reader(io.StringIO(text), delimiter=self.delimiter, quotechar=options.quote), []
            )
            self.columns = [c.strip().lstrip("\ufeff") for c in first]
            if len(set(self.columns)) != len(self.columns):
                dup = sorted({c for c in self.columns if self.columns.count(c) > 1})
                raise SourceFileError(
                    f"{path}: the header repeats column names {dup}; rename them in the file "
                    "or read it with csv.header: false and csv.column_names"
                )
        else:
            self.columns = list(options.column_names)

    def _decode(self, data: bytes, *, partial: bool) -> str:
        enc = self.options.encoding
        try:
            return data.decode(enc)
        except UnicodeDecodeError as exc:
            if partial and exc.start >= len(data) - 4:
                return data[: exc.start].decode(enc)
            raise SourceFileError(
                f"{self.path}: not valid {enc} "
                f"(byte {exc.start}: {data[exc.start : exc.start + 1]!r});"
                " set csv.encoding in the mapping (for example latin-1 or cp1252)"
            ) from None

    def chunks(self) -> Iterator[Chunk]:
        import numpy as np
        import pyarrow as pa
        import pyarrow.csv as pacsv

        bad: list[BadRecord] = []
        header_rows = 1 if self.options.header else 0

        def on_invalid(row: Any) -> str:
            rec = (row.number or 0) - header_rows
            bad.append(
                BadRecord(
                    rec,
                    f"malformed record: expected {row.expected_columns} fields, "
                    f"found {row.actual_columns}",
                    row.text,
                )
            )
            return "skip"

        read_opts = pacsv.ReadOptions(
            use_threads=False,  # exact record numbers for malformed rows
            block_size=_CSV_BLOCK,
            encoding=self.options.encoding,
            column_names=self.columns,
            skip_rows=header_rows,
        )
        parse_opts = pacsv.ParseOptions(
            delimiter=self.delimiter,
            quote_char=self.options.quote,
            newlines_in_values=True,
            invalid_row_handler=on_invalid,
        )
        conv_opts = pacsv.ConvertOptions(
            column_types=dict.fromkeys(self.columns, pa.string()),
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        )
        next_rec = 1
        with open(self.path, "rb") as raw:
            counter = _CountingReader(raw)
            stream = io.BufferedReader(counter, buffer_size=1 << 20)
            try:
                reader = pacsv.open_csv(
                    stream,
                    read_options=read_opts,
                    parse_options=parse_opts,
                    convert_options=conv_opts,
                )
                while True:
                    try:
                        batch = reader.read_next_batch()
                    except StopIteration:
                        break
                    # The parser may run a block ahead of the batch it hands out, so a
                    # malformed record reported now can belong to a later batch: number
                    # the good rows by skipping every known malformed record, and hand
                    # out with this batch only the malformed ones it has passed.
                    n = batch.num_rows
                    numbers = np.arange(next_rec, next_rec + n + len(bad), dtype=np.int64)
                    if bad:
                        skipped = np.array([b.row_no for b in bad], dtype=np.int64)
                        numbers = numbers[~np.isin(numbers, skipped)]
                    numbers = numbers[:n]
                    last = int(numbers[-1]) if n else next_rec - 1
                    passed = [b for b in bad if b.row_no <= last]
                    bad[:] = [b for b in bad if b.row_no > last]
                    table = pa.Table.from_batches([batch]).append_column(ROW_NO, pa.array(numbers))
                    yield Chunk(table, passed, counter.count)
                    next_rec = last + 1
            except pa.ArrowInvalid as exc:
                raise SourceFileError(self._explain(exc, next_rec)) from None
        if bad:  # malformed rows after the last batch
            yield Chunk(
                pa.table(
                    {
                        **{c: pa.array([], pa.string()) for c in self.columns},
                        ROW_NO: pa.array([], pa.int64()),
                    }
                ),
                list(bad),
                counter.count,
            )
        self._check_truncated()

    def _explain(self, exc: Exception, near: int) -> str:
        text = str(exc)
        if "UTF8" in text or "utf-8" in text.lower() or "decode" in text.lower():
            return (
                f"{self.path}: not valid {self.options.encoding} text near record {near}; "
                "set csv.encoding in the mapping (for example latin-1 or cp1252)"
            )
        return f"{self.path}: cannot be read as CSV near record {near}: {text}"

    def _check_truncated(self) -> None:
        size = self.path.stat().st_size
        with open(self.path, "rb") as fh:
            fh.seek(max(0, size - _SAMPLE))
            tail = fh.read()
        if tail.endswith((b"\n", b"\r")):
            return
        last = tail.rsplit(b"\n", 1)[-1]
        try:
            line = last.decode(self.options.encoding, errors="replace")
            fields = next(
                csv.reader(
                    [line], delimiter=self.delimiter, quotechar=self.options.quote, strict=True
                ),
                [],
            )
        except csv.Error:
            fields = None
        if fields is None or (line.count(self.options.quote) % 2 == 1):
            raise SourceFileError(
                f"{self.path}: the file ends inside a quoted field with no newline; it looks "
                "truncated. Re-export or re-copy the complete file."
            )
        if len(fields) < len(self.columns):
            raise SourceFileError(
                f"{self.path}: the last record has {len(fields)} of {len(self.columns)} fields "
                "and no final newline; the file looks truncated. Re-export or re-copy it."
            )


def _sniff_delimiter(text: str) -> str:
    lines = [ln for ln in text.splitlines()[:50] if ln.strip()]
    if not lines:
        return ","
    best, best_score = ",", -1.0
    for cand in (",", ";", "\t", "|"):
        counts = [ln.count(cand) for ln in lines]
        if counts[0] == 0:
            continue
        consistent = sum(1 for c in counts if c == counts[0]) / len(counts)
        score = consistent * 1000 + counts[0]
        if score > best_score:
            best, best_score = cand, score
    return best


# -- Parquet -----------------------------------------------------------------------
class ParquetReader(SourceReader):
    def __init__(self, path: Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.path = path
        try:
            self._file = pq.ParquetFile(path)
        except (pa.ArrowInvalid, OSError) as exc:
            with open(path, "rb") as fh:
                head = fh.read(4)
            hint = (
                "it looks truncated (no Parquet footer); re-copy the complete file"
                if head == b"PAR1"
                else "it is not a Parquet file; set 'format:' in the mapping to its real format"
            )
            raise SourceFileError(f"{path}: cannot be read as Parquet ({exc}): {hint}") from None
        self.schema = self._file.schema_arrow
        self.columns = list(self.schema.names)
        self.num_rows = self._file.metadata.num_rows

    def column_types(self) -> dict[str, str]:
        return {f.name: str(f.type) for f in self.schema}

    def chunks(
        self, columns: list[str] | None = None, batch_rows: int = BATCH_ROWS
    ) -> Iterator[Chunk]:
        import numpy as np
        import pyarrow as pa

        size = self.path.stat().st_size
        rec = 1
        try:
            for batch in self._file.iter_batches(batch_size=batch_rows, columns=columns):
                n = batch.num_rows
                table = pa.Table.from_batches([batch]).append_column(
                    ROW_NO, pa.array(np.arange(rec, rec + n, dtype=np.int64))
                )
                rec += n
                yield Chunk(table, [], int(size * (rec - 1) / max(self.num_rows, 1)))
        except (pa.ArrowInvalid, OSError) as exc:
            raise SourceFileError(
                f"{self.path}: damaged Parquet data near record {rec} ({exc}); "
                "re-copy or re-export the file"
            ) from None


# -- JSON Lines --------------------------------------------------------------------
class JsonLinesReader(SourceReader):
    """One JSON object per line; values become text (non-strings as JSON)."""

    def __init__(self, path: Path, batch_rows: int = 200_000) -> None:
        self.path = path
        self.batch_rows = batch_rows
        keys: dict[str, None] = {}
        with open(path, "rb") as fh:
            for i, line in enumerate(fh):
                if i >= 1000:
                    break
                try:
                    obj = json.loads(line)
                except ValueError:
                    continue
                if isinstance(obj, dict):
                    keys.update(dict.fromkeys(obj))
        if not keys:
            raise SourceFileError(
                f"{path}: no JSON object found in the first lines; is it JSON Lines "
                "(one object per line)? Set 'format:' in the mapping to its real format."
            )
        self.columns = list(keys)

    def chunks(self) -> Iterator[Chunk]:
        import pyarrow as pa

        cols: dict[str, list[str | None]] = {c: [] for c in self.columns}
        numbers: list[int] = []
        bad: list[BadRecord] = []
        read = 0
        rec = 0
        last_line = b""
        with open(self.path, "rb") as fh:
            for line in fh:
                read += len(line)
                last_line = line
                if not line.strip():
                    continue
                rec += 1
                try:
                    obj = json.loads(line)
                    if not isinstance(obj, dict):
                        raise ValueError(f"a JSON {type(obj).__name__}, not an object")
                except (ValueError, UnicodeDecodeError) as exc:
                    bad.append(
                        BadRecord(
                            rec,
                            f"invalid JSON record: {exc}",
                            line.decode("utf-8", "replace").rstrip("\n"),
                        )
                    )
                    continue
                numbers.append(rec)
                for c in self.columns:
                    v = obj.get(c)
                    cols[c].append(
                        None
                        if v is None
                        else v
                        if isinstance(v, str)
                        else json.dumps(v, ensure_ascii=False)
                    )
                if len(numbers) >= self.batch_rows:
                    yield self._chunk(pa, cols, numbers, bad, read)
                    cols = {c: [] for c in self.columns}
                    numbers, bad = [], []
        if bad and bad[-1].row_no == rec and not last_line.endswith(b"\n"):
            raise SourceFileError(
                f"{self.path}: the last line is cut-off JSON with no final newline; the file "
                "looks truncated. Re-export or re-copy it."
            )
        if numbers or bad:
            yield self._chunk(pa, cols, numbers, bad, read)

    def _chunk(
        self,
        pa: Any,
        cols: dict[str, list[str | None]],
        numbers: list[int],
        bad: list[BadRecord],
        read: int,
    ) -> Chunk:
        data = {c: pa.array(v, pa.string()) for c, v in cols.items()}
        data[ROW_NO] = pa.array(numbers, pa.int64())
        return Chunk(pa.table(data), bad, read)
