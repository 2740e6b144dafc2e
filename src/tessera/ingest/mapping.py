"""Mapping files: how the columns of one operator's export become typed properties.

A mapping is YAML (followthemoney-mapping in spirit)::

    source: moi_residents            # name of this source (required)
    kind: registry.person            # source kind (or pass --kind)
    files: [residents.csv]           # optional, relative to the mapping file
    format: csv                      # csv | parquet | jsonl; default from extension
    csv: {delimiter: ";", encoding: latin-1}
    timezone: Europe/Berlin          # for timestamps without an offset
    phone_region: DE                 # default region for national phone numbers
    properties:
      full_name: NAME                           # short form: a column name
      birth_date: {column: DOB, formats: ["%d.%m.%Y", "%Y-%m-%d"]}
      nationality: {constant: DE}
      address: {columns: [STREET, CITY], join: ", "}
      event_type: {column: TYPE, values: {LU: location_update}}
      email: {column: MAIL, on_error: "null"}   # a bad value is dropped, the row kept

Unknown keys fail, and so does a property the source kind does not declare.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tessera.errors import MappingError

FORMATS = ("csv", "parquet", "jsonl")
_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CsvOptions(_Strict):
    """How to read a delimited text file."""

    delimiter: str | None = Field(default=None, description="Field delimiter; sniffed if unset.")
    encoding: str = "utf-8"
    quote: str = '"'
    header: bool = True
    column_names: tuple[str, ...] = ()

    @field_validator("delimiter", "quote")
    @classmethod
    def _one_char(cls, v: str | None) -> str | None:
        if v is not None and len(v) != 1:
            raise ValueError("must be a single character")
        return v

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, v: str) -> str:
        import codecs

        try:
            codecs.lookup(v)
        except LookupError:
            raise ValueError(f"unknown encoding {v!r}") from None
        return v

    @model_validator(mode="after")
    def _names(self) -> CsvOptions:
        if not self.header and not self.column_names:
            raise ValueError("header: false needs column_names")
        return self


class PropertyMapping(_Strict):
    """Where one property's value comes from, and how to read it."""

    column: str | None = None
    columns: tuple[str, ...] = ()
    join: str = " "
    constant: str | int | float | None = None
    formats: tuple[str, ...] = ()
    timezone: str | None = None
    phone_region: str | None = None
    values: dict[str, str] = Field(default_factory=dict)
    on_error: Literal["quarantine", "null"] = Field(
        default="quarantine",
        description="What an invalid value does: 'quarantine' the whole row (default), or "
        "set just this value to null and keep the row; the quarantine table records the "
        "dropped value either way.",
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"column": data}
        if isinstance(data, dict) and "format" in data:
            data = dict(data)
            fmt = data.pop("format")
            data["formats"] = [fmt] if isinstance(fmt, str) else fmt
        return data

    @model_validator(mode="after")
    def _one_origin(self) -> PropertyMapping:
        origins = [self.column is not None, bool(self.columns), self.constant is not None]
        if sum(origins) != 1:
            raise ValueError("set exactly one of 'column', 'columns' or 'constant'")
        return self

    @field_validator("on_error", mode="before")
    @classmethod
    def _yaml_null(cls, v: Any) -> Any:
        # ``on_error: null`` unquoted is YAML's null literal
        return "null" if v is None else v

    @property
    def source_columns(self) -> tuple[str, ...]:
        if self.column is not None:
            return (self.column,)
        return self.columns


class Mapping(_Strict):
    """A validated mapping file."""

    source: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    kind: str | None = None
    files: tuple[str, ...] = ()
    format: Literal["csv", "parquet", "jsonl"] | None = None
    csv: CsvOptions = Field(default_factory=CsvOptions)
    timezone: str | None = None
    phone_region: str | None = None
    description: str | None = None
    properties: dict[str, PropertyMapping]
    # where the mapping was read from (files are relative to it); not a YAML key
    base_dir: Path | None = Field(default=None, exclude=True)
    digest: str = Field(default="", exclude=True)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        if v is not None:
            _check_timezone(v)
        return v

    @field_validator("phone_region")
    @classmethod
    def _region(cls, v: str | None) -> str | None:
        if v is not None:
            _check_region(v)
        return v.upper() if v else v

    @model_validator(mode="after")
    def _check_properties(self) -> Mapping:
        if not self.properties:
            raise ValueError("'properties' maps no property")
        for name, pm in self.properties.items():
            if pm.timezone is not None:
                _check_timezone(pm.timezone, where=f"properties.{name}.timezone")
            if pm.phone_region is not None:
                _check_region(pm.phone_region, where=f"properties.{name}.phone_region")
        return self

    def resolved_kind(self, kind: str | None) -> str:
        """The source kind, from the mapping or ``kind``; they must agree if both are set."""
        if kind and self.kind and kind != self.kind:
            raise MappingError(
                f"mapping for source {self.source!r} declares kind {self.kind!r} but "
                f"--kind {kind!r} was given; drop --kind or fix the mapping"
            )
        chosen = kind or self.kind
        if not chosen:
            raise MappingError(
                f"mapping for source {self.source!r} names no kind; add 'kind:' to it or "
                f"pass --kind"
            )
        return chosen

    def resolved_files(self) -> list[Path]:
        """The mapping's own ``files``, relative to the mapping file."""
        base = self.base_dir or Path.cwd()
        return [(base / f) for f in self.files]

    def file_format(self, path: Path) -> str:
        """The format of ``path``: the mapping's ``format`` or the file extension."""
        if self.format:
            return self.format
        fmt = _EXTENSIONS.get(path.suffix.lower())
        if fmt is None:
            raise MappingError(
                f"{path}: cannot tell the format from the extension {path.suffix!r}; "
                f"set 'format:' ({', '.join(FORMATS)}) in the mapping"
            )
        return fmt

    def check_against(self, kind_name: str) -> None:
        """Check that every mapped property exists on the source kind and fits its type."""
        from tessera.model import get_model

        kind = get_model().source(kind_name)
        unknown = [p for p in self.properties if p not in kind.properties]
        if unknown:
            raise MappingError(
                f"mapping for source {self.source!r}: {kind_name} has no propert"
                f"{'y' if len(unknown) == 1 else 'ies'} {', '.join(map(repr, unknown))}; "
                f"declared: {', '.join(kind.properties)}"
            )
        for name, pm in self.properties.items():
            ptype = kind.properties[name].type
            if pm.on_error == "null" and kind.properties[name].required:
                raise MappingError(
                    f"mapping for source {self.source!r}: on_error: null on {name!r}, which "
                    f"{kind_name} requires; a row without it cannot be kept"
                )
            if pm.formats and ptype not in {"timestamp", "date"}:
                raise MappingError(
                    f"mapping for source {self.source!r}: 'formats' on {name!r} "
                    f"({ptype}); only timestamp and date properties take formats"
                )
            if pm.values and ptype != "enum":
                raise MappingError(
                    f"mapping for source {self.source!r}: 'values' on {name!r} ({ptype}); "
                    "only enum properties take value aliases"
                )
            if pm.values:
                allowed = set(kind.properties[name].values)
                bad = sorted(v for v in pm.values.values() if v not in allowed)
                if bad:
                    raise MappingError(
                        f"mapping for source {self.source!r}: {name!r} aliases map to "
                        f"{bad}, which are not allowed values ({', '.join(sorted(allowed))})"
                    )


def _check_timezone(tz: str, where: str = "timezone") -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{where}: unknown IANA time zone {tz!r} (e.g. 'Europe/Berlin')") from None


def _check_region(region: str, where: str = "phone_region") -> None:
    import phonenumbers

    if region.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"{where}: unknown phone region {region!r} (ISO 3166 alpha-2, e.g. 'DE')")


def parse_mapping(data: Any, *, origin: str = "<mapping>", base_dir: Path | None = None) -> Mapping:
    """Validate mapping data (parsed YAML); errors name ``origin`` and each bad key."""
    if not isinstance(data, dict):
        raise MappingError(f"{origin}: a mapping must be a YAML mapping of keys, got {type(data)}")
    try:
        mapping = Mapping.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                msg = "unknown key"
            lines.append(f"  {loc}: {msg}")
        raise MappingError(f"{origin}: invalid mapping\n" + "\n".join(lines)) from None
    digest = hashlib.sha256(mapping.model_dump_json().encode()).hexdigest()
    return mapping.model_copy(update={"base_dir": base_dir, "digest": digest})


def load_mapping(path: str | Path) -> Mapping:
    """Read and validate a mapping YAML file."""
    import yaml

    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise MappingError(f"mapping file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingError(f"mapping file {path} cannot be read: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise MappingError(f"{path}: not valid YAML: {exc}") from None
    return parse_mapping(data, origin=str(path), base_dir=path.resolve().parent)
