"""Metrics of the product surface: what the stored dossiers say, against the truth.

The other providers score each stage's tables; these read the dossiers themselves
(the decoded ``dossier.body``), so a fault between the tables and what an analyst
sees (a lost section, a wrong join) shows here. A dossier stands for the true person
behind most of its entity's registry records (as in :mod:`tessera.evaluate.linking`).

- ``dossier.coverage``: the share of true people with a registry record in the
  workspace who have a dossier standing for them (``dossier.people`` counts them).
- ``dossier.devices.precision|recall|f1``: the devices a dossier lists under
  ``identifiers.devices`` against the true owners of the devices seen in the feeds
  (``imsi:X`` keys; the truth's ``devices.parquet``), over people with a dossier.
- ``dossier.home.accuracy_300m``: the share of dossiers that state a home and stand
  for a person with a true home whose stated home lies within 300 m of the true home
  building (``dossier.home.stated`` counts them; ``dossier.home.coverage`` is the
  share of those people whose dossier states a home at all).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tessera.evaluate.harness import Provider, SkipProvider, precision_recall_f1, share
from tessera.evaluate.linking import _entity_person

if TYPE_CHECKING:
    from tessera.evaluate.truth import Truth
    from tessera.workspace import Workspace

HOME_RADIUS_M = 300.0


def _dossiers(ws: Workspace, truth: Truth) -> dict[str, float]:
    from tessera.dossier.assemble import metres
    from tessera.dossier.store import decode

    _entity_person(ws, truth)
    person_of = {
        str(e): int(p)
        for e, p in ws.engine.fetch_rows("SELECT entity_id, person_id FROM _eval_entity_person")
        if p is not None and p >= 0
    }
    # people with a record in the workspace, and whether a dossier stands for them
    people = set(person_of.values())
    if not people:
        raise SkipProvider("no resolved person stands for a person of the truth")
    devices = truth.read("devices.parquet", ["person_id", "imsi"]).to_pylist()
    owner = {f"imsi:{d['imsi']}": int(d["person_id"]) for d in devices if d["imsi"]}
    seen = {r[0] for r in ws.engine.fetch_rows("SELECT device FROM link_device")}
    persons = truth.read("persons.parquet", ["person_id", "home_building"]).to_pylist()
    buildings = truth.read("buildings.parquet", ["building_id", "lat", "lon"]).to_pylist()
    where = {b["building_id"]: (b["lat"], b["lon"]) for b in buildings}
    home = {
        int(p["person_id"]): where[p["home_building"]]
        for p in persons
        if p["home_building"] is not None and p["home_building"] in where
    }

    covered: set[int] = set()
    predicted = correct = 0
    stated = near = with_home = 0
    for (body,) in ws.engine.fetch_rows("SELECT body FROM dossier"):
        d = decode(bytes(body))
        person = person_of.get(d["person"])
        listed = [x["device"] for x in d["identifiers"]["devices"]]
        predicted += len(listed)
        if person is None:
            continue
        covered.add(person)
        correct += sum(1 for x in listed if owner.get(x) == person)
        if person in home:
            with_home += 1
            h = d["places"]["home"]
            if h is not None and h.get("lat") is not None:
                stated += 1
                lat, lon = home[person]
                near += metres(h["lat"], h["lon"], lat, lon) <= HOME_RADIUS_M
    true = sum(1 for dev in seen if owner.get(dev) in covered)
    p, r, f = precision_recall_f1(correct, predicted, true)
    return {
        "dossier.coverage": share(len(covered & people), len(people)),
        "dossier.people": float(len(people)),
        "dossier.devices.precision": p,
        "dossier.devices.recall": r,
        "dossier.devices.f1": f,
        "dossier.home.accuracy_300m": share(near, stated),
        "dossier.home.stated": float(stated),
        "dossier.home.coverage": share(stated, with_home),
    }


PROVIDERS = (
    Provider(
        name="dossier",
        prefix="dossier",
        description="What the stored dossiers say: coverage, devices, home.",
        compute=_dossiers,
        tables=("dossier", "link_device", "resolution_record"),
        truth_files=("records.parquet", "devices.parquet", "persons.parquet", "buildings.parquet"),
    ),
)
