"""The written summary at the top of a dossier: deterministic sentences from its facts.

Every sentence is built from fields of the dossier itself and carries the citations of
those fields, so the summary can say nothing the sections below it do not show. The
same dossier always gives the same text. No language model is involved.
"""

from __future__ import annotations

from typing import Any

MAX_SUMMARY_CITES = 5  # citations a sentence about many rows carries (the first ones)


def _pct(x: float | None) -> str:
    return "unknown" if x is None else f"{100 * x:.0f}%"


def _fmt(x: float | None, digits: int = 2) -> str:
    return "unknown" if x is None else f"{x:.{digits}f}"


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def summarise(d: dict[str, Any]) -> dict[str, Any]:
    """``{"text": ..., "sentences": [{"text", "cites"}]}`` for the dossier ``d``."""
    out: list[dict[str, Any]] = []

    def say(text: str, cites: list[str]) -> None:
        out.append({"text": text, "cites": sorted(dict.fromkeys(cites))})

    ident = d["identities"]
    name = d.get("name") or d["person"]
    records = ident["records"]
    if records:
        sources = sorted({r["source"] for r in records})
        variants = [n for n in ident["names"] if n != name]
        text = (
            f"{name} is known from {len(records)} registry record(s) in "
            f"{len(sources)} source(s) ({_join(sources)})"
        )
        if variants:
            text += f", also written {_join(variants[:3])}"
        say(text + ".", [c for r in records for c in r["cites"][:1]])
    if ident["organisations"]:
        cites = [r["cites"][0] for r in records if r.get("organisation")]
        role = f" as {_join(ident['roles'])}" if ident["roles"] else ""
        say(f"Registered with {_join(ident['organisations'])}{role}.", cites)

    ids = d["identifiers"]
    for dev in ids["devices"][:3]:
        base = dev["chance_baseline"]["value"]
        say(
            f"Uses device {dev['device']} (number {dev.get('msisdn') or 'unknown'}), "
            f"confidence {_fmt(dev['confidence'])} against {_fmt(base)} for the next "
            f"most likely person, through {_join(list(dev.get('vias') or []))}.",
            dev["cites"],
        )
    for p in ids["second_phones"][:2]:
        say(
            f"Device {p['second']} travels with {p['primary_device']} as a second phone "
            f"(confidence {_fmt(p['confidence'])}).",
            p["cites"],
        )
    for v in ids["vehicles"][:2]:
        base = v["chance_baseline"]
        extra = ""
        if base.get("observed") is not None and base.get("value") is not None:
            extra = (
                f"; seen with its primary phone {base['observed']} times against "
                f"{_fmt(base['value'], 1)} expected by chance"
            )
        say(
            f"Linked to vehicle {v['vehicle']} as {str(v['role']).replace('_', ' ')} "
            f"(confidence {_fmt(v['confidence'])}{extra}).",
            v["cites"],
        )

    places = d["places"]
    for role in ("home", "work"):
        p = places.get(role)
        if p:
            where = p.get("building") or f"{_fmt(p['lat'], 4)}, {_fmt(p['lon'], 4)}"
            say(
                f"{role.capitalize()} is most likely at {where} (confidence "
                f"{_fmt(p['confidence'])}, {p['days']} day(s) of evidence).",
                p["cites"],
            )
    profile = d["routine"].get("profile")
    if profile and profile.get("predictability_max") is not None:
        say(
            f"Movements are {_pct(profile['predictability_max'])} predictable at most "
            f"(Fano bound on real entropy) over {profile['days_observed']} day(s), "
            f"across {profile['places']} place(s).",
            d["routine"]["cites"],
        )

    contacts = d["contacts"]
    if contacts:
        top = [c.get("other_name") or c["other"] for c in contacts[:3]]
        say(
            f"Has {len(contacts)} communication partner(s) in the dossier; the strongest "
            f"are {_join(top)}.",
            [c["cites"][0] for c in contacts[:3]],
        )
    meetings = d["meetings"]
    if meetings:
        others = sorted({o for m in meetings for o in (m.get("with_subjects") or [])})
        discreet = sum(1 for m in meetings if m.get("discreet"))
        say(
            f"Met {len(others)} other subject(s) in {len(meetings)} meeting(s) away from "
            f"home and work" + (f", {discreet} of them discreet" if discreet else "") + ".",
            [m["cites"][0] for m in meetings[:MAX_SUMMARY_CITES]],
        )
    for h in d["hidden_ties"][:2]:
        say(
            f"Possible hidden tie with {h.get('other_name') or h['other']}: "
            f"{str(h['kind']).replace('_', ' ')} (score {_fmt(h['score'])}).",
            h["cites"],
        )
    net = d.get("network")
    if net:
        say(
            f"Belongs to network community {net['community']} of {net['community_size']} "
            f"subjects, ranked {net['rank_in_community']} by centrality in it.",
            net["cites"],
        )
    if d["anomalies"]:
        kinds = sorted({a["kind"] for a in d["anomalies"]})
        say(
            f"{len(d['anomalies'])} break(s) from routine: {_join(kinds)}.",
            [a["cites"][0] for a in d["anomalies"][:MAX_SUMMARY_CITES]],
        )
    exposure = d.get("exposure")
    if exposure:
        say(_exposure_sentence(exposure), exposure["cites"])
    return {"text": " ".join(s["text"] for s in out), "sentences": out}


def _exposure_sentence(e: dict[str, Any]) -> str:
    score = e.get("exposure")
    points = e.get("points_to_single_out")
    text = f"Exposure score {_fmt(score)}"
    if points is not None:
        text += f"; {points} observation(s) single them out among everyone in the data"
    best = None
    for w in e.get("whatif") or []:
        drop = w.get("drop")
        if drop is not None and (best is None or drop > best.get("drop", 0)):
            best = w
    if best is not None and (best.get("drop") or 0) > 0:
        text += (
            "; the most effective countermeasure is "
            f"{str(best['countermeasure']).replace('_', ' ')} "
            f"(exposure {_fmt(best.get('exposure_before'))} to "
            f"{_fmt(best.get('exposure_after'))})"
        )
    return text + "."
