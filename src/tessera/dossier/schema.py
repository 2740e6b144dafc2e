"""The dossier's versioned JSON schema, as pydantic models.

``SCHEMA_ID`` names the version every dossier carries in its ``schema`` field; a change
that removes or renames a field bumps it. ``docs/dossier.schema.json`` is generated from
these models (``python -m tessera.dossier.schema``) and a test keeps it current.

The top level and the sections are closed (an unknown field is an error); the rows inside
a section carry their stage table's columns and are open (new columns may appear within
a version), but the fields listed here are always present.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_ID = "tessera.dossier/1"

Cites = list[str]


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Row(BaseModel):
    model_config = ConfigDict(extra="allow")


class Sentence(_Closed):
    text: str
    cites: Cites = Field(description="Citations of the facts the sentence restates.")


class RephrasedSentence(_Closed):
    text: str
    cites: Cites
    rephrased: bool = Field(description="The model's sentence was kept (its facts matched).")
    kept_original: str | None = Field(description="Why the original sentence was kept.")


class Rephrased(_Closed):
    endpoint: str = Field(description="The local (loopback) chat-completions endpoint.")
    model: str
    text: str
    sentences: list[RephrasedSentence]
    error: str | None


class Summary(_Closed):
    text: str = Field(description="Deterministic text built from the dossier's facts.")
    sentences: list[Sentence]
    rephrased: Rephrased | None = Field(
        default=None,
        description="Optional: the summary rephrased by a local language model, sentence by "
        "sentence, each kept only when its numbers and identifiers match the original "
        "(tessera.dossier.rephrase). Absent unless asked for.",
    )


class Record(_Row):
    obs_id: int
    source: str
    record_id: str | None
    full_name: str | None
    cites: Cites


class Match(_Row):
    record_a: str
    record_b: str
    match_weight: float | None
    match_probability: float | None
    weights: dict[str, float | None] | None = Field(
        description="Each comparison's match weight (log2 Bayes factor) behind the pair."
    )
    cites: Cites


class Identities(_Closed):
    names: list[str]
    organisations: list[str]
    roles: list[str]
    records: list[Record]
    matches: list[Match]


class Baseline(_Row):
    kind: str
    value: float | None
    meaning: str


class Device(_Row):
    device: str
    confidence: float
    chance_baseline: Baseline
    vias: list[str] | None
    evidence: str | None
    cites: Cites


class SecondPhone(_Row):
    primary_device: str
    second: str
    confidence: float | None
    evidence: str | None
    cites: Cites


class Swap(_Row):
    old: str
    new: str
    kind: str
    confidence: float | None
    cites: Cites


class Vehicle(_Row):
    vehicle: str
    role: str
    confidence: float | None
    chance_baseline: Baseline
    cites: Cites


class Identifiers(_Closed):
    devices: list[Device]
    second_phones: list[SecondPhone]
    swaps: list[Swap]
    vehicles: list[Vehicle]


class Place(_Row):
    place_id: int | None
    lat: float | None
    lon: float | None
    cites: Cites


class Places(_Closed):
    home: Place | None
    work: Place | None
    significant: list[Place]


class Routine(_Closed):
    heatmap_hours: list[list[float]] = Field(
        description="Hours observed present per weekday (Monday first) and local hour."
    )
    profile: dict[str, Any] | None
    cites: Cites


class Event(_Closed):
    kind: str = Field(description="stay, trip, meeting or anomaly")
    started_at: str | None
    finished_at: str | None
    place_id: int | None
    lat: float | None
    lon: float | None
    detail: str
    cites: Cites


class Contact(_Row):
    other: str
    other_name: str | None
    weight: float | None
    evidence: str | None
    cites: Cites


class Meeting(_Row):
    meeting_id: int
    started_at: str
    finished_at: str
    with_subjects: list[str] | None
    score: float | None
    cites: Cites


class HiddenTie(_Row):
    other: str
    kind: str
    score: float | None
    cites: Cites


class Network(_Row):
    community: int
    community_size: int
    rank_in_community: int | None
    betweenness: float | None
    community_top: list[dict[str, Any]]
    cites: Cites


class Anomaly(_Row):
    kind: str
    score: float | None
    baseline: float | None
    cites: Cites


class Exposure(_Row):
    exposure: float | None
    cites: Cites
    links: list[dict[str, Any]]
    contacts: list[dict[str, Any]]
    whatif: list[dict[str, Any]]


class Dossier(_Closed):
    schema_: str = Field(alias="schema", description=f"Always {SCHEMA_ID!r} in this version.")
    person: str
    name: str | None
    generated_at: str
    built_at: str | None
    summary: Summary
    identities: Identities
    identifiers: Identifiers
    places: Places
    routine: Routine
    timeline: list[Event]
    contacts: list[Contact]
    meetings: list[Meeting]
    hidden_ties: list[HiddenTie]
    network: Network | None
    anomalies: list[Anomaly]
    exposure: Exposure | None


def validate(dossier: dict[str, Any]) -> Dossier:
    """Check a dossier against the schema (raises pydantic's ValidationError)."""
    return Dossier.model_validate(dossier)


def json_schema() -> dict[str, Any]:
    schema = Dossier.model_json_schema(by_alias=True)
    schema["$id"] = SCHEMA_ID
    schema["title"] = "Tessera dossier"
    return schema


def main() -> None:
    print(json.dumps(json_schema(), indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
