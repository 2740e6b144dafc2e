"""Dossiers as self-contained HTML (and PDF through WeasyPrint).

The page needs nothing from the internet: no scripts, no fonts, no map tiles. The map is
an SVG drawn from the workspace's own geometry (its sensors as the backdrop of the
district) with the person's places and stays on top; the routine is a 7 x 24 table
shaded by hours present. Every fact shows its citations.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tessera.errors import DossierError

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:2rem auto;
max-width:72rem;padding:0 1rem;color:#1d232a;line-height:1.4}
h1{margin-bottom:.2rem}h2{border-bottom:2px solid #d0d7de;padding-bottom:.2rem;margin-top:2rem}
.meta{color:#57606a;font-size:.9rem}
table{border-collapse:collapse;width:100%;font-size:.85rem;margin:.5rem 0}
th,td{border:1px solid #d0d7de;padding:.25rem .4rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}
.cite{font-family:ui-monospace,monospace;font-size:.72rem;color:#57606a}
.summary p{margin:.3rem 0}
.bar{display:inline-block;height:.7rem;background:#0969da;vertical-align:middle}
.bar.neg{background:#cf222e}.bar.base{background:#8c959f}
.heat td{width:1.6rem;height:1.1rem;padding:0;text-align:center;font-size:.6rem}
.pill{display:inline-block;border-radius:.6rem;padding:0 .45rem;background:#ddf4ff;font-size:.8rem}
svg{border:1px solid #d0d7de;background:#fbfbfc}
@media print{body{margin:0;max-width:none}h2{page-break-after:avoid}}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _num(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return _e(value)


def _cites(cites: Sequence[str] | None) -> str:
    if not cites:
        return ""
    return '<span class="cite">[' + ", ".join(_e(c) for c in cites) + "]</span>"


def _bar(value: float | None, scale: float = 1.0, cls: str = "") -> str:
    if value is None:
        return ""
    width = max(0.0, min(1.0, abs(value) / scale)) * 8
    neg = " neg" if value < 0 else ""
    return f'<span class="bar{neg} {cls}" style="width:{width:.2f}rem"></span>'


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    if not rows:
        return "<p class=meta>None in the data.</p>"
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _map(d: dict[str, Any], backdrop: Sequence[tuple[float, float]]) -> str:
    """An SVG of the district: the backdrop points grey, stays small blue dots, places
    orange, home and work labelled. Equirectangular, scaled to the points' extent."""
    places = d["places"]
    marks: list[tuple[float, float, str, str]] = []
    for e in d["timeline"]:
        if e["kind"] == "stay" and e["lat"] is not None:
            marks.append((e["lat"], e["lon"], "stay", ""))
    for p in places["significant"]:
        if p.get("lat") is not None:
            marks.append((p["lat"], p["lon"], "place", str(p.get("kind") or "")))
    for role in ("home", "work"):
        p = places.get(role)
        if p and p.get("lat") is not None:
            marks.append((p["lat"], p["lon"], role, role))
    pts = [(la, lo) for la, lo in backdrop] + [(m[0], m[1]) for m in marks]
    if not pts:
        return "<p class=meta>No located observations.</p>"
    lat0, lat1 = min(p[0] for p in pts), max(p[0] for p in pts)
    lon0, lon1 = min(p[1] for p in pts), max(p[1] for p in pts)
    k = math.cos(math.radians((lat0 + lat1) / 2))
    w_deg, h_deg = max((lon1 - lon0) * k, 1e-6), max(lat1 - lat0, 1e-6)
    width = 640.0
    height = max(200.0, min(640.0, width * h_deg / w_deg))

    def xy(lat: float, lon: float) -> tuple[float, float]:
        x = 10 + (lon - lon0) * k / w_deg * (width - 20)
        y = 10 + (lat1 - lat) / h_deg * (height - 20)
        return x, y

    out = [f'<svg width="{width:.0f}" height="{height:.0f}" role="img" aria-label="map">']
    for la, lo in backdrop:
        x, y = xy(la, lo)
        out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="1.2" fill="#c9d1d9"/>')
    style = {
        "stay": ("2.2", "#0969da", "0.45"),
        "place": ("4", "#bf8700", "0.9"),
        "home": ("6", "#1a7f37", "1"),
        "work": ("6", "#8250df", "1"),
    }
    for la, lo, kind, label in sorted(marks, key=lambda m: list(style).index(m[2])):
        x, y = xy(la, lo)
        r, colour, opacity = style[kind]
        out.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{colour}" '
            f'fill-opacity="{opacity}"><title>{_e(kind)} {la:.5f}, {lo:.5f}</title></circle>'
        )
        if kind in ("home", "work"):
            out.append(f'<text x="{x + 8:.1f}" y="{y + 4:.1f}" font-size="12">{_e(label)}</text>')
    out.append("</svg>")
    return "".join(out)


def _heatmap(grid: list[list[float]]) -> str:
    peak = max((v for row in grid for v in row), default=0.0) or 1.0
    head = "<tr><th></th>" + "".join(f"<th>{h}</th>" for h in range(24)) + "</tr>"
    rows = []
    for day, row in zip(DAYS, grid, strict=True):
        cells = "".join(
            f'<td style="background:rgba(9,105,218,{v / peak:.2f})" title="{v:.1f} h">'
            f"{'' if v == 0 else f'{v:.0f}'}</td>"
            for v in row
        )
        rows.append(f"<tr><th>{day}</th>{cells}</tr>")
    return f'<table class="heat">{head}{"".join(rows)}</table>'


def render_html(d: dict[str, Any], backdrop: Sequence[tuple[float, float]] = ()) -> str:
    """The dossier ``d`` as one self-contained HTML page."""
    name = d.get("name") or d["person"]
    ident = d["identities"]
    ids = d["identifiers"]
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        f"<title>Dossier: {_e(name)}</title><style>{CSS}</style></head><body>",
        f"<h1>{_e(name)}</h1>",
        f"<p class=meta>{_e(d['person'])} · schema {_e(d['schema'])} · built "
        f"{_e(d.get('built_at'))} · generated {_e(d['generated_at'])}</p>",
        "<h2>Summary</h2><div class=summary>",
        *_summary_html(d["summary"]),
        "</div>",
        "<h2>Identities</h2>",
        "<p>" + " ".join(f"<span class=pill>{_e(n)}</span>" for n in ident["names"]) + "</p>",
        _table(
            ["source", "record", "name", "born", "organisation", "role", "address", "cites"],
            [
                [
                    _e(r["source"]),
                    _e(r["record_id"]),
                    _e(r.get("full_name")),
                    _e(r.get("birth_date")),
                    _e(r.get("organisation")),
                    _e(r.get("role")),
                    _e(r.get("address")),
                    _cites(r["cites"]),
                ]
                for r in ident["records"]
            ],
        ),
        "<h3>Why these records are one person</h3>",
        _table(
            ["records", "match weight", "probability", "comparisons (weight)"],
            [
                [
                    f"{_e(m['record_a'])} ↔ {_e(m['record_b'])}",
                    _num(m["match_weight"]),
                    _num(m["match_probability"], 4),
                    "<br>".join(
                        f"{_e(k)} {_bar(v, 10)} {_num(v)}"
                        for k, v in (m.get("weights") or {}).items()
                    ),
                ]
                for m in ident["matches"]
            ],
        ),
        "<h2>Identifiers</h2>",
        _table(
            ["device", "number", "confidence", "chance baseline", "via", "evidence", "cites"],
            [
                [
                    _e(x["device"]),
                    _e(x.get("msisdn")),
                    f"{_bar(x['confidence'])} {_num(x['confidence'])}",
                    f"{_bar(x['chance_baseline']['value'], cls='base')} "
                    f"{_num(x['chance_baseline']['value'])}",
                    _e(", ".join(x.get("vias") or [])),
                    _e(x.get("evidence")),
                    _cites(x["cites"]),
                ]
                for x in ids["devices"]
            ],
        ),
        _table(
            ["vehicle", "role", "confidence", "co-observed", "expected by chance", "cites"],
            [
                [
                    _e(v["vehicle"]),
                    _e(v["role"]),
                    _num(v["confidence"]),
                    _e(v["chance_baseline"].get("observed")),
                    _num(v["chance_baseline"]["value"]),
                    _cites(v["cites"]),
                ]
                for v in ids["vehicles"]
            ],
        ),
        _table(
            ["second phone", "travels with", "confidence", "evidence", "cites"],
            [
                [
                    _e(p["second"]),
                    _e(p["primary_device"]),
                    _num(p["confidence"]),
                    _e(p.get("evidence")),
                    _cites(p["cites"]),
                ]
                for p in ids["second_phones"]
            ],
        ),
        "<h2>Places</h2>",
        _map(d, backdrop),
        _table(
            ["place", "kind", "where", "stays", "days", "hours", "cites"],
            [
                [
                    _e(p["place_id"]),
                    _e(
                        "home"
                        if d["places"]["home"] and p["place_id"] == d["places"]["home"]["place_id"]
                        else "work"
                        if d["places"]["work"] and p["place_id"] == d["places"]["work"]["place_id"]
                        else p.get("kind")
                    ),
                    f"{_num(p['lat'], 5)}, {_num(p['lon'], 5)}",
                    _e(p.get("stays")),
                    _e(p.get("days")),
                    _num((p.get("dwell_s") or 0) / 3600, 1),
                    _cites(p["cites"]),
                ]
                for p in d["places"]["significant"]
            ],
        ),
        "<h2>Routine</h2>",
        _heatmap(d["routine"]["heatmap_hours"]),
        _profile(d["routine"].get("profile")),
        "<h2>Contacts</h2>",
        _table(
            ["with", "weight", "calls", "messages", "days", "listed", "evidence", "cites"],
            [
                [
                    _e(c.get("other_name") or c["other"]),
                    _num(c.get("weight")),
                    _e(c.get("calls")),
                    _e(c.get("sms")),
                    _e(c.get("days")),
                    _e(c.get("listed")),
                    _e(c.get("evidence")),
                    _cites(c["cites"]),
                ]
                for c in d["contacts"]
            ],
        ),
        "<h2>Meetings</h2>",
        _table(
            ["from", "to", "with", "privacy", "score", "cites"],
            [
                [
                    _e(m["started_at"]),
                    _e(m["finished_at"]),
                    _e(", ".join(m.get("with_subjects") or [])),
                    _num(m.get("privacy")),
                    _num(m.get("score")),
                    _cites(m["cites"]),
                ]
                for m in d["meetings"]
            ],
        ),
        "<h3>Hidden-tie hypotheses</h3>",
        _table(
            ["with", "kind", "score", "evidence", "cites"],
            [
                [
                    _e(h.get("other_name") or h["other"]),
                    _e(h["kind"]),
                    _num(h.get("score")),
                    _e(h.get("evidence")),
                    _cites(h["cites"]),
                ]
                for h in d["hidden_ties"]
            ],
        ),
        "<h2>Network position</h2>",
        _network(d.get("network")),
        "<h2>Anomalies</h2>",
        _table(
            ["kind", "from", "to", "score", "own baseline", "cites"],
            [
                [
                    _e(a["kind"]),
                    _e(a.get("started_at")),
                    _e(a.get("finished_at")),
                    _num(a.get("score")),
                    _num(a.get("baseline")),
                    _cites(a["cites"]),
                ]
                for a in d["anomalies"]
            ],
        ),
        "<h2>Exposure</h2>",
        _exposure(d.get("exposure")),
        "<h2>Timeline</h2>",
        _table(
            ["kind", "from", "to", "detail", "cites"],
            [
                [
                    _e(e["kind"]),
                    _e(e["started_at"]),
                    _e(e["finished_at"]),
                    _e(e["detail"]),
                    _cites(e["cites"]),
                ]
                for e in d["timeline"]
            ],
        ),
        "</body></html>",
    ]
    return "\n".join(parts)


def _profile(p: dict[str, Any] | None) -> str:
    if not p:
        return "<p class=meta>No routine profile.</p>"
    return _table(
        ["days observed", "places", "radius of gyration (m)", "regularity", "predictability"],
        [
            [
                _e(p.get("days_observed")),
                _e(p.get("places")),
                _num(p.get("radius_of_gyration_m"), 0),
                _num(p.get("regularity")),
                _num(p.get("predictability_max")),
            ]
        ],
    )


def _network(n: dict[str, Any] | None) -> str:
    if not n:
        return "<p class=meta>Not in the network.</p>"
    top = ", ".join(_e(t.get("name") or t["subject"]) for t in n["community_top"])
    return (
        f"<p>Community {_e(n['community'])} ({_e(n['community_size'])} subjects), rank "
        f"{_e(n.get('rank_in_community'))} in it; degree {_e(n.get('degree'))}, "
        f"betweenness {_num(n.get('betweenness'), 5)}. Most central: {top}. "
        f"{_cites(n['cites'])}</p>"
    )


def _exposure(e: dict[str, Any] | None) -> str:
    if not e:
        return "<p class=meta>No exposure assessment.</p>"
    skip = {"cites", "links", "contacts", "whatif"}
    facts = _table(
        ["measure", "value"],
        [[_e(k), _num(v, 3)] for k, v in e.items() if k not in skip and not isinstance(v, list)],
    )
    whatif = _table(
        ["countermeasure", "before", "after", "drop"],
        [
            [
                _e(w.get("countermeasure")),
                _num(w.get("exposure_before")),
                _num(w.get("exposure_after")),
                f"{_bar(w.get('drop'))} {_num(w.get('drop'))}",
            ]
            for w in e.get("whatif") or []
        ],
    )
    links = _table(
        sorted({k for row in e.get("links") or [] for k in row}),
        [
            [_e(row.get(k)) for k in sorted({k for r in e["links"] for k in r})]
            for row in e.get("links") or []
        ],
    )
    return (
        f"{_cites(e['cites'])}{facts}<h3>What would reduce it</h3>{whatif}"
        f"<h3>What gives them away</h3>{links}"
    )


def write(
    d: dict[str, Any], path: Path, fmt: str, backdrop: Sequence[tuple[float, float]] = ()
) -> Path:
    """Write ``d`` as ``json``, ``html`` or ``pdf`` to ``path``."""
    import json

    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "json":
        path.write_text(json.dumps(d, ensure_ascii=False, indent=2), encoding="utf-8")
    elif fmt == "html":
        path.write_text(render_html(d, backdrop), encoding="utf-8")
    elif fmt == "pdf":
        import warnings

        try:
            with warnings.catch_warnings():
                # WeasyPrint warns about optional system libraries it can do without
                warnings.simplefilter("ignore", DeprecationWarning)
                from weasyprint import HTML
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise DossierError(
                "PDF dossiers need WeasyPrint: pip install 'tessera[pdf]' "
                f"(and the Pango library; {exc})"
            ) from exc
        HTML(string=render_html(d, backdrop)).write_pdf(str(path))
    else:
        raise DossierError(f"unknown dossier format {fmt!r}; use json, html or pdf")
    return path


def backdrop_points(engine: Any, limit: int = 4_000) -> list[tuple[float, float]]:
    """The district's own geometry for the map: sensor and camera positions."""
    rows = engine.fetch_rows(
        "SELECT DISTINCT round(lat, 4), round(lon, 4) FROM sensor "
        f"WHERE lat IS NOT NULL AND lon IS NOT NULL ORDER BY 1, 2 LIMIT {int(limit)}"
    )
    return [(float(a), float(b)) for a, b in rows]


def _summary_html(summary: dict[str, Any]) -> list[str]:
    """The summary's sentences with their citations; when a local model rephrased it,
    its sentences (each marked when the original was kept) and a note saying so."""
    rephrased = summary.get("rephrased")
    if not rephrased:
        return [f"<p>{_e(s['text'])} {_cites(s['cites'])}</p>" for s in summary["sentences"]]
    kept = sum(1 for s in rephrased["sentences"] if s["rephrased"])
    note = (
        f"<p class=note>Rephrased by the local model {_e(rephrased['model'])}: {kept} of "
        f"{len(rephrased['sentences'])} sentences (the others, whose numbers or identifiers "
        "did not match, are the original text)."
        + (f" Endpoint error: {_e(rephrased['error'])}." if rephrased.get("error") else "")
        + "</p>"
    )
    return [note] + [f"<p>{_e(s['text'])} {_cites(s['cites'])}</p>" for s in rephrased["sentences"]]
