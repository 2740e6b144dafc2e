"""Commands that read about people: ``dossier``, ``find`` and ``exposure``.

Each needs an access context (who reads, for which case, on which legal basis), given
as options or the TESSERA_USER / TESSERA_CASE / TESSERA_LEGAL_BASIS environment
variables, and each read is written to the workspace's audit log before anything is
shown.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tessera.cli import _console, _fail, app
from tessera.cli.access import (
    BasisOption,
    CaseOption,
    UserOption,
    access_from,
    enforce,
    in_scope,
)
from tessera.cli_options import WorkspaceArg

if TYPE_CHECKING:
    from tessera.audit import Access


def _time(text: str | None, label: str) -> dt.datetime | None:
    from tessera.errors import DossierError

    if text is None:
        return None
    try:
        t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise DossierError(
            f"{label} {text!r} is not an ISO time (e.g. 2026-10-05T08:00Z)"
        ) from None
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)


@app.command()
def dossier(
    workspace: WorkspaceArg,
    person: Annotated[
        str | None,
        typer.Argument(help="The person (person:<n>); omit with --all.", show_default=False),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="json, html or pdf.")] = "json",
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="File to write (a folder with --all); JSON goes to standard output when omitted.",
        ),
    ] = None,
    every: Annotated[
        bool, typer.Option("--all", help="Write every dossier into --out, with an index.html.")
    ] = False,
    rephrase_endpoint: Annotated[
        str | None,
        typer.Option(
            "--rephrase-endpoint",
            envvar="TESSERA_REPHRASE_ENDPOINT",
            help="Optional: a local (loopback) OpenAI-compatible chat-completions URL that "
            "rephrases the summary, each sentence kept only if its facts match (off by "
            "default; one dossier only).",
            show_default=False,
        ),
    ] = None,
    rephrase_model: Annotated[
        str,
        typer.Option(
            "--rephrase-model", envvar="TESSERA_REPHRASE_MODEL", help="Model name to ask for."
        ),
    ] = "local",
    user: UserOption = None,
    case: CaseOption = None,
    basis: BasisOption = None,
) -> None:
    """A person's dossier: identities, identifiers, places, routine, timeline, contacts,
    meetings, network, anomalies and exposure, every statement with its citations."""
    from tessera.dossier import render, store
    from tessera.errors import DossierError, TesseraError
    from tessera.workspace import Workspace

    try:
        access = access_from(user, case, basis)
        if fmt not in ("json", "html", "pdf"):
            raise DossierError(f"--format {fmt!r}: use json, html or pdf")
        if every and person is not None:
            raise DossierError("name one PERSON, or give --all (not both)")
        if rephrase_endpoint is not None:
            from tessera.dossier.rephrase import check_endpoint

            check_endpoint(rephrase_endpoint)
            if every:
                raise DossierError("--rephrase-endpoint works on one dossier, not with --all")
        with Workspace.open(workspace) as ws:
            if every:
                if out is None:
                    raise DossierError("--all needs --out FOLDER")
                case_file = enforce(ws, access, "export")
                visible = in_scope(ws, case_file, lambda: _everyone(ws))
                written = write_all(ws, access, out, fmt, visible)
                _console().print(f"{written:,} dossiers written to {out}/ (open {out}/index.html)")
                return
            if person is None:
                raise DossierError("name one PERSON (person:<n>), or give --all")
            enforce(ws, access, "read", [person])
            d = store.read(ws, person, access)
            if rephrase_endpoint is not None:
                from tessera.dossier.rephrase import rephrase

                d = rephrase(d, rephrase_endpoint, rephrase_model)
            if out is None:
                if fmt != "json":
                    raise DossierError(f"--format {fmt} needs --out FILE")
                typer.echo(json.dumps(d, ensure_ascii=False, indent=2))
                return
            render.write(d, out, fmt, render.backdrop_points(ws.engine) if fmt != "json" else ())
            _console().print(f"wrote {out}")
    except TesseraError as exc:
        _fail(exc)


def _everyone(ws: Any) -> list[str]:
    """Every person with a dossier."""
    return [r[0] for r in ws.engine.fetch_rows("SELECT person FROM dossier")]


def write_all(
    ws: Any, access: Access, folder: Path, fmt: str = "html", persons: set[str] | None = None
) -> int:
    """Every dossier (or those of ``persons``) into ``folder`` (one file each, plus JSON
    when the format is not JSON, and an ``index.html`` ranked by exposure); the whole
    export is one audit entry."""
    import html

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from tessera.dossier import render, store

    folder.mkdir(parents=True, exist_ok=True)
    backdrop = render.backdrop_points(ws.engine) if fmt != "json" else []
    total = ws.engine.row_count("dossier") if persons is None else len(persons)
    index: list[tuple[float, str, str, str]] = []
    with Progress(
        TextColumn("[bold]dossiers"), BarColumn(), MofNCompleteColumn(), console=_console()
    ) as bar:
        task = bar.add_task("dossiers", total=total)
        for d in store.read_all(ws, access, persons):
            stem = d["person"].replace(":", "_")
            render.write(d, folder / f"{stem}.{fmt}", fmt, backdrop)
            if fmt != "json":
                render.write(d, folder / f"{stem}.json", "json")
            score = (d.get("exposure") or {}).get("exposure")
            index.append((-(score or 0.0), d["person"], d.get("name") or "", f"{stem}.{fmt}"))
            bar.advance(task)
    rows = "".join(
        f"<tr><td><a href='{html.escape(f)}'>{html.escape(p)}</a></td><td>{html.escape(n)}</td>"
        f"<td>{-s:.3f}</td></tr>"
        for s, p, n, f in sorted(index)
    )
    (folder / "index.html").write_text(
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>Dossiers</title>"
        f"<style>{render.CSS}</style></head><body><h1>Dossiers</h1>"
        f"<p class=meta>{len(index):,} people, most exposed first.</p>"
        "<table><thead><tr><th>person</th><th>name</th><th>exposure</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></body></html>",
        encoding="utf-8",
    )
    return len(index)


@app.command()
def find(
    workspace: WorkspaceArg,
    name: Annotated[str | None, typer.Option(help="Part of a name.")] = None,
    organisation: Annotated[
        str | None, typer.Option(help="Part of an organisation's name.")
    ] = None,
    role: Annotated[str | None, typer.Option(help="Part of a registered role.")] = None,
    visited: Annotated[
        str | None, typer.Option(help="Stayed within RADIUS_M of a point: LAT,LON,RADIUS_M.")
    ] = None,
    met_organisation: Annotated[
        str | None, typer.Option(help="Met someone registered with this organisation.")
    ] = None,
    since: Annotated[str | None, typer.Option(help="Visits and meetings from (ISO time).")] = None,
    until: Annotated[str | None, typer.Option(help="Visits and meetings until (ISO time).")] = None,
    exposure_above: Annotated[
        float | None, typer.Option(help="Exposure score above this (0 to 1).")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many people.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
    user: UserOption = None,
    case: CaseOption = None,
    basis: BasisOption = None,
) -> None:
    """Find people by organisation, role, place visited, time window, meetings with an
    organisation's members, or exposure; ranked by exposure."""
    from rich.table import Table

    from tessera.dossier.find import Filters, parse_visited
    from tessera.dossier.find import find as run_find
    from tessera.errors import TesseraError
    from tessera.workspace import Workspace

    try:
        access = access_from(user, case, basis)
        filters = Filters(
            name=name,
            organisation=organisation,
            role=role,
            visited=parse_visited(visited) if visited else None,
            met_organisation=met_organisation,
            since=_time(since, "--since"),
            until=_time(until, "--until"),
            exposure_above=exposure_above,
            limit=limit,
        )
        with Workspace.open(workspace) as ws:
            visible = in_scope(ws, enforce(ws, access, "read"), lambda: _everyone(ws))
            if visible is not None:  # a case's scope: only the people it covers
                filters = dataclasses.replace(filters, persons=frozenset(visible))
            found = run_find(ws, filters, access)
    except TesseraError as exc:
        _fail(exc)
    if as_json:
        typer.echo(json.dumps(found, ensure_ascii=False, indent=2))
        return
    table = Table("person", "name", "organisations", "roles", "exposure", "visits", "meetings")
    for r in found:
        table.add_row(
            r["person"],
            r["name"] or "",
            "; ".join(r["organisations"]),
            "; ".join(r["roles"]),
            "-" if r["exposure"] is None else f"{r['exposure']:.3f}",
            str(r["visits"]),
            str(r["meetings_matched"]),
        )
    console = _console()
    console.print(table)
    console.print(f"{len(found)} people")


@app.command()
def exposure(
    workspace: WorkspaceArg,
    organisation: Annotated[
        str | None,
        typer.Option(help="List this organisation's most exposed members (exact name)."),
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many members.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
    user: UserOption = None,
    case: CaseOption = None,
    basis: BasisOption = None,
) -> None:
    """Surveillance exposure: an organisation's most exposed members (with --organisation),
    else population figures (unicity, as in de Montjoye et al. 2013)."""
    from rich.table import Table

    from tessera.audit import audited
    from tessera.errors import TesseraError
    from tessera.exposure import most_exposed, population_summary
    from tessera.workspace import Workspace

    try:
        with Workspace.open(workspace) as ws:
            if organisation is None:
                summary = population_summary(ws.engine)  # no person is read: not audited
            else:
                access = access_from(user, case, basis)
                case_file = enforce(ws, access, "read")
                members = audited(
                    ws,
                    access,
                    "find",
                    f"organisation:{organisation}",
                    lambda: most_exposed(ws.engine, organisation, limit),
                    len,
                )
                visible = in_scope(ws, case_file, lambda: [m["subject"] for m in members])
                if visible is not None:  # a case's scope: only the people it covers
                    members = [m for m in members if m["subject"] in visible]
    except TesseraError as exc:
        _fail(exc)
    console = _console()
    if organisation is None:
        if as_json:
            typer.echo(json.dumps(summary, indent=2))
            return
        table = Table("measure", "value")
        for k, v in summary.items():
            table.add_row(k, "-" if v is None else f"{v:,.3f}" if isinstance(v, float) else str(v))
        console.print(table)
        return
    if as_json:
        typer.echo(json.dumps(members, indent=2, default=str))
        return
    table = Table("person", "name", "roles", "exposure", "linkability", "unicity_4", "points")
    for m in members:
        table.add_row(
            m["subject"],
            m["name"] or "",
            "; ".join(m.get("roles") or []),
            f"{m['exposure']:.3f}",
            f"{m['linkability']:.3f}",
            "-" if m["unicity_4"] is None else f"{m['unicity_4']:.2f}",
            str(m["points"]),
        )
    console.print(table)
    console.print(f"{len(members)} members of {organisation}")
