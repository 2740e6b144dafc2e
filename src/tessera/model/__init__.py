"""The declared data model: entity kinds and source kinds, loaded from ``schema.yaml``.

The YAML is validated on load with ``extra="forbid"`` so that a typo in a key
fails loudly, and cross-checked (every property's type exists, rules name
declared properties, one time column at most). Use :func:`get_model`.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tessera.errors import ModelError

SYSTEM_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("obs_id", "BIGINT", "Stable observation id: (batch_id << 40) | row_no."),
    ("batch_id", "INTEGER", "Ingest batch that first loaded this row."),
    ("row_no", "BIGINT", "1-based record number in that batch's file (header not counted)."),
    ("source", "VARCHAR", "Source name from the mapping."),
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Property(_Strict):
    """One typed property of an entity or source kind."""

    type: str
    description: str
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    values: tuple[str, ...] = ()
    time: bool = False

    @model_validator(mode="after")
    def _check(self) -> Property:
        if self.values and self.type != "enum":
            raise ValueError(f"'values' is only allowed on enum properties, not {self.type!r}")
        if self.type == "enum" and not self.values:
            raise ValueError("enum properties need 'values'")
        if (self.minimum is not None or self.maximum is not None) and self.type not in {
            "float",
            "integer",
        }:
            raise ValueError("'minimum'/'maximum' are only allowed on float and integer")
        if self.time and self.type != "timestamp":
            raise ValueError("'time: true' is only allowed on timestamp properties")
        return self


class Rule(_Strict):
    """A row-level rule. Exactly one of the fields is set."""

    require_any: tuple[str, ...] | None = None
    require_together: tuple[str, ...] | None = None
    require_one_of_groups: tuple[tuple[str, ...], ...] | None = None

    @model_validator(mode="after")
    def _one(self) -> Rule:
        set_fields = [k for k, v in self if v is not None]
        if len(set_fields) != 1:
            raise ValueError(f"a rule sets exactly one of {list(type(self).model_fields)}")
        return self

    @property
    def kind(self) -> Literal["require_any", "require_together", "require_one_of_groups"]:
        if self.require_any is not None:
            return "require_any"
        if self.require_together is not None:
            return "require_together"
        return "require_one_of_groups"

    def names(self) -> tuple[str, ...]:
        if self.require_any is not None:
            return self.require_any
        if self.require_together is not None:
            return self.require_together
        groups = self.require_one_of_groups or ()
        return tuple(n for g in groups for n in g)

    def describe(self) -> str:
        if self.require_any is not None:
            return f"at least one of {', '.join(self.require_any)}"
        if self.require_together is not None:
            return f"all or none of {', '.join(self.require_together)}"
        groups = self.require_one_of_groups or ()
        return "one of " + " or ".join("(" + ", ".join(g) + ")" for g in groups) + " in full"


class EntityKind(_Strict):
    """A kind of entity Tessera builds."""

    description: str
    properties: dict[str, Property]


class SourceKind(_Strict):
    """A kind of source an operator loads; one workspace table each."""

    table: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    entity: str
    description: str
    properties: dict[str, Property]
    rules: tuple[Rule, ...] = ()

    @property
    def time_property(self) -> str | None:
        for name, prop in self.properties.items():
            if prop.time:
                return name
        return None


class DataModel(_Strict):
    """The whole declared model."""

    version: int
    entities: dict[str, EntityKind]
    sources: dict[str, SourceKind]

    @model_validator(mode="after")
    def _cross_check(self) -> DataModel:
        from tessera.types import type_names

        known_types = set(type_names())
        reserved = {c[0] for c in SYSTEM_COLUMNS}
        tables: set[str] = set()
        for where, props in [(f"entity {k}", e.properties) for k, e in self.entities.items()] + [
            (f"source {k}", s.properties) for k, s in self.sources.items()
        ]:
            for pname, prop in props.items():
                if prop.type not in known_types:
                    raise ValueError(
                        f"{where}: property {pname!r} has unknown type {prop.type!r}; "
                        f"known: {', '.join(sorted(known_types))}"
                    )
                if pname in reserved:
                    raise ValueError(f"{where}: property name {pname!r} is reserved")
        for kname, kind in self.sources.items():
            if kind.entity not in self.entities:
                raise ValueError(f"source {kname}: unknown entity {kind.entity!r}")
            if kind.table in tables:
                raise ValueError(f"source {kname}: table {kind.table!r} used twice")
            tables.add(kind.table)
            if sum(p.time for p in kind.properties.values()) > 1:
                raise ValueError(f"source {kname}: more than one time property")
            for rule in kind.rules:
                missing = [n for n in rule.names() if n not in kind.properties]
                if missing:
                    raise ValueError(f"source {kname}: rule names unknown properties {missing}")
        return self

    def source(self, kind: str) -> SourceKind:
        """The source kind called ``kind``, or a :class:`ModelError` listing the known ones."""
        try:
            return self.sources[kind]
        except KeyError:
            raise ModelError(
                f"unknown source kind {kind!r}; known kinds: {', '.join(self.sources)}"
            ) from None


def parse_model(data: Any) -> DataModel:
    """Validate a model given as plain data (the parsed YAML)."""
    try:
        return DataModel.model_validate(data)
    except ValidationError as exc:
        raise ModelError(f"invalid data model:\n{exc}") from None


@functools.cache
def get_model() -> DataModel:
    """Tessera's data model (loaded once from the packaged ``schema.yaml``)."""
    import yaml

    text = resources.files("tessera.model").joinpath("schema.yaml").read_text("utf-8")
    return parse_model(yaml.safe_load(text))


def source_columns(kind: SourceKind) -> list[tuple[str, str]]:
    """Columns of a source kind's table, in order: system columns, properties, derived."""
    from tessera.types import get_type

    cols = [(name, sql_type) for name, sql_type, _ in SYSTEM_COLUMNS]
    for pname, prop in kind.properties.items():
        vtype = get_type(prop.type)
        cols.append((pname, vtype.sql_type))
        cols.extend((f"{pname}_{d.suffix}", d.sql_type) for d in vtype.derived)
    return cols


def to_markdown(model: DataModel | None = None) -> str:
    """Render the model as the Markdown of ``docs/data-model.md``."""
    from tessera.types import all_types, get_type

    model = model or get_model()
    out: list[str] = [
        "# Data model",
        "",
        "<!-- Generated by `python -m tessera.model --markdown > docs/data-model.md`;"
        " do not edit by hand. tests/test_docs.py checks it is current. -->",
        "",
        "Declared once in `src/tessera/model/schema.yaml` and validated on load"
        " (unknown keys fail). Sources are what an operator loads (one workspace table"
        " each); entities are what Tessera builds from them.",
        "",
        "Every source table also has the system columns:",
        "",
        "| column | type | meaning |",
        "|---|---|---|",
    ]
    out += [f"| `{n}` | {t} | {d} |" for n, t, d in SYSTEM_COLUMNS]
    out += [
        "",
        "An observation's identity is its source plus all its cleaned values: loading the same"
        " row twice, from the same file or an overlapping one, never adds it twice.",
        "",
        "## Source kinds",
        "",
    ]
    for kname, kind in model.sources.items():
        out += [f"### `{kname}` → table `{kind.table}`", "", kind.description, ""]
        out += [
            "| property | type | required | constraints | description |",
            "|---|---|---|---|---|",
        ]
        for pname, prop in kind.properties.items():
            cons = []
            if prop.minimum is not None:
                cons.append(f"≥ {prop.minimum:g}")
            if prop.maximum is not None:
                cons.append(f"≤ {prop.maximum:g}")
            if prop.values:
                cons.append(", ".join(prop.values))
            if prop.time:
                cons.append("time of the observation")
            derived = get_type(prop.type).derived
            if derived:
                cons.append("also " + ", ".join(f"`{pname}_{d.suffix}`" for d in derived))
            req = "yes" if prop.required else ""
            out.append(
                f"| `{pname}` | {prop.type} | {req} | {'; '.join(cons)} | {prop.description} |"
            )
        if kind.rules:
            out += ["", "Row rules: " + "; ".join(r.describe() for r in kind.rules) + "."]
        out.append("")
    out += ["## Entity kinds", ""]
    for ename, ent in model.entities.items():
        props = ", ".join(f"`{p}` ({q.type})" for p, q in ent.properties.items())
        out += [f"### `{ename}`", "", ent.description, "", f"Properties: {props}.", ""]
    out += [
        "## Value types",
        "",
        "Each type cleans raw values to a canonical form, validates and compares them."
        " *Vectorized* types clean in SQL; the others are cleaned once per distinct raw value."
        " *Pivot* values are indexed by the `identifiers` stage (what else shares this value).",
        "",
        "| type | stored as | matchable | pivot | vectorized | derived | description |",
        "|---|---|---|---|---|---|---|",
    ]
    for t in all_types():
        derived_s = ", ".join(f"`_{d.suffix}`" for d in t.derived)
        out.append(
            f"| `{t.name}` | {t.sql_type} | {'yes' if t.matchable else ''} | "
            f"{'yes' if t.pivot else ''} | {'yes' if t.vectorized else ''} | {derived_s} | "
            f"{t.description} |"
        )
    out.append("")
    return "\n".join(out)
