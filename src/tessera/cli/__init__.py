"""The ``tessera`` command line. Heavy libraries are imported inside commands only,
so ``tessera --help`` stays fast."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from tessera.cli.access import BasisOption, CaseOption, UserOption, access_from, enforce
from tessera.cli_options import WorkspaceArg, command_app

if TYPE_CHECKING:
    from rich.console import Console

    from tessera.ingest.loader import BatchResult

app = command_app(
    "tessera", "Multi-source data fusion and pattern-of-life analysis over lawfully held data."
)

DEMO_MARKER = "DEMO"  # `tessera demo` replaces only folders holding this file
TruthOption = Annotated[
    Path, typer.Option("--truth", "-t", help="The simulator's truth folder (OUT/truth), or OUT.")
]


def _console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def _fail(exc: Exception) -> NoReturn:
    _console(stderr=True).print(f"[bold red]error:[/] {exc}", markup=True, soft_wrap=True)
    raise typer.Exit(1)


def _version_callback(value: bool) -> None:
    if value:
        from tessera._version import __version__

        typer.echo(f"tessera {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool | None,
        typer.Option("--version", callback=_version_callback, is_eager=True, help="Show version."),
    ] = None,
) -> None:
    """Tessera: evidence-backed dossiers from registries, plate reads, phone events and calls."""


@app.command()
def init(
    workspace: WorkspaceArg,
    timezone: Annotated[
        str | None,
        typer.Option(
            help="IANA zone routines are read in (default: the first zone a mapping names)."
        ),
    ] = None,
) -> None:
    """Create a workspace folder with an empty DuckDB database."""
    from tessera.errors import TesseraError
    from tessera.workspace import Workspace

    try:
        with Workspace.init(workspace, timezone=timezone):
            pass
    except TesseraError as exc:
        _fail(exc)
    _console().print(f"Created workspace [bold]{workspace}[/]")


@app.command()
def status(
    workspace: WorkspaceArg,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Show tables and row counts, ingest batches and quarantine counts."""
    from tessera.errors import TesseraError
    from tessera.workspace import Workspace

    try:
        with Workspace.open(workspace, read_only=True) as ws:
            info = ws.status()
    except TesseraError as exc:
        _fail(exc)
    if as_json:
        typer.echo(json.dumps(info, indent=2, default=str))
        return
    _print_status(info)


def _print_status(info: dict[str, Any]) -> None:
    from rich.table import Table

    console = _console()
    tables = Table(title="Tables", title_justify="left")
    tables.add_column("table")
    tables.add_column("rows", justify="right")
    for name, rows in info["tables"].items():
        tables.add_row(name, f"{rows:,}")
    console.print(tables)
    batches = Table(title="Ingest batches", title_justify="left")
    for col in ("#", "source", "kind", "file", "read", "loaded", "added", "quarantined"):
        batches.add_column(
            col,
            justify="right" if col in {"#", "read", "loaded", "added", "quarantined"} else "left",
        )
    for b in info["batches"]:
        batches.add_row(
            str(b["batch_id"]),
            b["source"],
            b["kind"],
            Path(b["file"]).name,
            f"{b['read']:,}",
            f"{b['loaded']:,}",
            f"{b['added']:,}",
            f"{b['quarantined']:,}",
        )
    console.print(batches)
    console.print(f"Quarantined rows in total: [bold]{info['quarantined']:,}[/]")


@app.command()
def ingest(
    workspace: WorkspaceArg,
    mapping: Annotated[Path, typer.Option("--mapping", "-m", help="Mapping YAML file.")],
    files: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Files to load; default: the mapping's own 'files'.", show_default=False
        ),
    ] = None,
    kind: Annotated[
        str | None, typer.Option("--kind", "-k", help="Source kind (if the mapping names none).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print results as JSON.")] = False,
) -> None:
    """Load CSV, Parquet or JSON Lines files through a mapping; one atomic batch per file."""
    from tessera.errors import TesseraError
    from tessera.workspace import Workspace

    console = _console(stderr=as_json)
    try:
        with Workspace.open(workspace) as ws, _RichProgress(console) as progress:
            results = ws.ingest(mapping, files or [], kind=kind, progress=progress)
    except TesseraError as exc:
        _fail(exc)
    if as_json:
        typer.echo(json.dumps([r.as_dict() for r in results], indent=2))
    else:
        _print_results(console, results)


def _print_results(console: Console, results: list[BatchResult]) -> None:
    from rich.table import Table

    table = Table(title="Ingested", title_justify="left")
    for col in ("file", "read", "loaded", "added", "quarantined", "rows/s"):
        table.add_column(col, justify="left" if col == "file" else "right")
    for r in results:
        rate = r.read / r.duration_s if r.duration_s > 0 else 0.0
        table.add_row(
            Path(r.file).name,
            f"{r.read:,}",
            f"{r.loaded:,}",
            f"{r.added:,}",
            f"{r.quarantined:,}",
            f"{rate:,.0f}",
        )
    console.print(table)
    for r in results:
        console.print(
            f"{Path(r.file).name}: read {r.read:,} = loaded {r.loaded:,} + quarantined "
            f"{r.quarantined:,}" + (f" ({r.duplicates:,} already present)" if r.duplicates else "")
        )


class _RichProgress:
    """A Rich progress bar (bytes, rows, rows/s) fed by the loader."""

    def __init__(self, console: Console) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TextColumn("{task.fields[rows]:>12,} rows"),
            TextColumn("{task.fields[rate]:>10,.0f} rows/s"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._task: Any = None
        self._t0 = 0.0

    def __enter__(self) -> _RichProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def start(self, path: Path, total_bytes: int) -> None:
        import time

        self._t0 = time.perf_counter()
        self._task = self._progress.add_task(path.name, total=total_bytes, rows=0, rate=0.0)

    def update(self, rows: int, bytes_done: int) -> None:
        import time

        elapsed = max(time.perf_counter() - self._t0, 1e-9)
        self._progress.update(self._task, completed=bytes_done, rows=rows, rate=rows / elapsed)

    def finishing(self) -> None:
        task = self._progress.tasks[-1]
        self._progress.update(self._task, description=f"{task.description} (committing)")

    def done(self, result: BatchResult) -> None:
        self._progress.update(
            self._task,
            completed=self._progress.tasks[-1].total,
            description=Path(result.file).name,
            rows=result.read,
            rate=result.read / max(result.duration_s, 1e-9),
        )


@app.command()
def build(
    workspace: WorkspaceArg,
    retrain: Annotated[
        bool,
        typer.Option(
            "--retrain",
            help="Estimate new entity-resolution models instead of reusing the stored ones "
            "(then every pair is scored again).",
        ),
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Run every stage, even those whose inputs and code are unchanged."
        ),
    ] = False,
    engine: Annotated[
        str,
        typer.Option(
            "--engine",
            help="duckdb (the workspace itself) or spark (the stage inputs copied to "
            "Parquet under WORKSPACE/spark, the stages run by Spark; needs pyspark and Java).",
        ),
    ] = "duckdb",
    master: Annotated[
        str | None,
        typer.Option(
            "--master",
            help="Spark master URL, e.g. local[2] or spark://host:7077 (--engine spark).",
        ),
    ] = None,
    remote: Annotated[
        str | None,
        typer.Option("--remote", help="Spark Connect URL, e.g. sc://host:15002 (--engine spark)."),
    ] = None,
) -> None:
    """Run every pipeline stage in dependency order; stages whose inputs, code and
    settings are unchanged since their last run are skipped, so an interrupted build
    resumes where it stopped."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from tessera.errors import TesseraError
    from tessera.workspace import Workspace

    console = _console()
    try:
        with (
            Workspace.open(workspace) as ws,
            Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                console=console,
            ) as bar,
        ):
            task = bar.add_task("build", total=None)

            def report(stage: str, done: int, total: int) -> None:
                bar.update(task, total=total, completed=done, description=stage or "build done")

            if retrain:
                from tessera.resolve.stage import forget_models

                with ws.engine.transaction():
                    forget_models(ws.engine)
            if engine == "spark":
                from tessera.engines.spark.build import spark_build

                results = spark_build(
                    ws,
                    progress=report,
                    force=force,
                    master=master or ("local[2]" if remote is None else None),
                    remote=remote,
                )
            elif engine == "duckdb":
                if master or remote:
                    raise typer.BadParameter("--master and --remote need --engine spark")
                results = ws.build(progress=report, force=force)
            else:
                raise typer.BadParameter(f"unknown engine {engine!r}; use duckdb or spark")
    except TesseraError as exc:
        _fail(exc)
    for r in results:
        outs = ", ".join(f"{k} ({v:,} rows)" for k, v in r.outputs.items())
        if r.skipped:
            console.print(f"{r.stage}: up to date, skipped ({outs})")
        else:
            console.print(f"{r.stage}: {outs} in {r.duration_s:.2f}s ({r.reason})")


@app.command()
def explain(
    workspace: WorkspaceArg,
    record_a: Annotated[str, typer.Argument(help="A record: SOURCE:RECORD_ID or its obs_id.")],
    record_b: Annotated[str, typer.Argument(help="Another record of the same kind.")],
    as_json: Annotated[bool, typer.Option("--json", help="The waterfall as JSON.")] = False,
) -> None:
    """Why two registry records are (or are not) one entity: the match-weight waterfall."""
    from tessera.errors import TesseraError
    from tessera.resolve.explain import explain as run_explain
    from tessera.workspace import Workspace

    try:
        with Workspace.open(workspace) as ws:
            result = run_explain(ws, record_a, record_b)
    except TesseraError as exc:
        _fail(exc)
    if as_json:
        import dataclasses

        typer.echo(json.dumps(dataclasses.asdict(result), indent=2, default=str))
        return
    _print_waterfall(result)


def _print_waterfall(result: Any) -> None:
    from rich.table import Table

    console = _console()
    table = Table(
        title=f"{result.kind}: {result.left.label}  vs  {result.right.label}", title_justify="left"
    )
    for col, justify in (("comparison", "left"), ("level", "left"), ("left", "left"),
                         ("right", "left"), ("weight", "right"), ("tf adj.", "right"),
                         ("total", "right"), ("", "left")):  # fmt: skip
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for step in result.steps:
        bar_len = min(int(abs(step.weight + step.tf_adjustment)), 24)
        colour = "green" if step.weight + step.tf_adjustment >= 0 else "red"
        bar = f"[{colour}]{'█' * bar_len}[/]"
        table.add_row(
            step.comparison,
            step.level,
            _cell(step.left),
            _cell(step.right),
            f"{step.weight:+.2f}",
            f"{step.tf_adjustment:+.2f}" if step.tf_adjustment else "",
            f"{step.cumulative:+.2f}",
            bar,
        )
    console.print(table)
    console.print(
        f"match weight [bold]{result.match_weight:+.2f}[/] bits, "
        f"probability [bold]{result.match_probability:.4f}[/]"
    )
    if result.same_entity is not None:
        console.print(
            "the build put them in " + ("one entity" if result.same_entity else "two entities")
        )
    if result.judgement:
        j = result.judgement
        console.print(
            f"analyst judgement: [bold]{j['verdict']}[/] by {j['user']} "
            f"({j['reason']}), {j['created_at']}"
        )


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        return "; ".join(f"{k}={_cell(v)}" for k, v in value.items())
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return str(value)


@app.command()
def judge(
    workspace: WorkspaceArg,
    record_a: Annotated[str, typer.Argument(help="A record: SOURCE:RECORD_ID or its obs_id.")],
    record_b: Annotated[str, typer.Argument(help="Another record of the same kind.")],
    same: Annotated[
        bool,
        typer.Option("--same/--not-same", help="The analyst's verdict on the two records."),
    ],
    user: Annotated[str, typer.Option("--user", "-u", help="Who makes the judgement.")],
    reason: Annotated[str, typer.Option("--reason", "-r", help="What the analyst saw.")],
) -> None:
    """Record that two records are (not) the same entity; it overrides the model in every build."""
    from tessera.errors import TesseraError
    from tessera.resolve.explain import judge as run_judge
    from tessera.workspace import Workspace

    try:
        with Workspace.open(workspace) as ws:
            counts = run_judge(
                ws, record_a, record_b, "same" if same else "not_same", user=user, reason=reason
            )
    except TesseraError as exc:
        _fail(exc)
    verdict = "the same entity" if same else "different entities"
    _console().print(f"recorded: {record_a} and {record_b} are {verdict} (by {user})")
    if counts:
        _console().print(
            f"re-clustered: {counts.get('resolution_entity', 0):,} entities from "
            f"{counts.get('resolution_record', 0):,} records"
        )
    else:
        _console().print("it takes effect at the next `tessera build`")


@app.command()
def model(
    as_json: Annotated[bool, typer.Option("--json", help="The model as JSON.")] = False,
) -> None:
    """Show the data model: source kinds, their properties and types."""
    from rich.table import Table

    from tessera.model import get_model

    m = get_model()
    if as_json:
        typer.echo(m.model_dump_json(indent=2))
        return
    console = _console()
    for name, kind in m.sources.items():
        table = Table(title=f"{name}  (table {kind.table})", title_justify="left")
        table.add_column("property")
        table.add_column("type")
        table.add_column("required")
        table.add_column("description")
        for pname, prop in kind.properties.items():
            table.add_row(pname, prop.type, "yes" if prop.required else "", prop.description)
        console.print(table)


@app.command()
def simulate(
    out: Annotated[Path, typer.Argument(help="Output folder (new or empty).", show_default=False)],
    tier: Annotated[
        str | None,
        typer.Option(
            help="small (2,000 people, 14 days), district (20,000, 30), city (200,000, 30)."
        ),
    ] = None,
    persons: Annotated[int | None, typer.Option(help="People, instead of a tier.")] = None,
    days: Annotated[int | None, typer.Option(help="Days, instead of a tier.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same files.")] = 1,
) -> None:
    """Write a synthetic district: source feeds, their mappings, the hidden truth and a manifest."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from tessera.errors import TesseraError
    from tessera.simulate.output import TIERS
    from tessera.simulate.output import simulate as run_simulation

    if tier is not None and (persons is not None or days is not None):
        _fail(ValueError("give either --tier or --persons/--days, not both"))
    if (persons is None) != (days is None):
        _fail(ValueError("--persons and --days go together"))
    if persons is None or days is None:
        tier = tier or "small"
        if tier not in TIERS:
            _fail(ValueError(f"unknown tier {tier!r}; choose one of {', '.join(TIERS)}"))
        persons, days = TIERS[tier]
    console = _console()
    try:
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as bar:
            task = bar.add_task("simulating", total=None)

            def report(stage: str, done: int, total: int) -> None:
                bar.update(task, total=total, completed=done, description=stage)

            manifest = run_simulation(
                out, persons=persons, days=days, seed=seed, tier=tier, progress=report
            )
    except TesseraError as exc:
        _fail(exc)
    sources = {k: v for k, v in manifest["files"].items() if k.startswith("sources/")}
    rows = sum(v["rows"] or 0 for v in sources.values())
    console.print(
        f"Wrote {len(sources)} source files ({rows:,} rows) with their mappings and the truth "
        f"to [bold]{out}[/]. Load one with:\n"
        f"  tessera ingest WS --mapping {out}/mappings/<source>.yaml"
    )


@app.command()
def demo(
    workspace: Annotated[
        Path, typer.Option("--workspace", "-w", help="Where to build the demo workspace.")
    ] = Path("demo-workspace"),
    seed: Annotated[int, typer.Option(help="Random seed of the synthetic district.")] = 7,
    persons: Annotated[int, typer.Option(help="People in the synthetic district.")] = 1_000,
    days: Annotated[int, typer.Option(help="Days simulated.")] = 7,
    serve: Annotated[
        bool,
        typer.Option(
            "--serve/--no-serve",
            help="Start the web service at the end (until Ctrl-C), with demo accounts.",
        ),
    ] = True,
    port: Annotated[int, typer.Option(help="Port of the web service.", min=1, max=65535)] = 8765,
) -> None:
    """Simulate a district, load every feed, build, score the result against the truth,
    write every dossier, and serve the web interface with demo accounts."""
    import shutil

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from tessera.audit import Access
    from tessera.cli.demo_access import CREDENTIALS_FILE
    from tessera.cli.demo_access import set_up as set_up_demo_access
    from tessera.cli.reads import write_all as write_dossiers
    from tessera.errors import TesseraError
    from tessera.evaluate import evaluate as run_evaluation
    from tessera.simulate.output import simulate as run_simulation
    from tessera.workspace import Workspace

    console = _console()
    data_dir = workspace.with_name(workspace.name + "-data")
    # only folders the demo marked as its own are replaced: never a real workspace
    for folder in (workspace, data_dir):
        if folder.exists():
            if not (folder / DEMO_MARKER).exists():
                _fail(
                    ValueError(
                        f"{folder} exists and was not made by `tessera demo` (no "
                        f"{DEMO_MARKER} file in it); choose another --workspace or remove it"
                    )
                )
            shutil.rmtree(folder)
    console.rule("Tessera demo")
    console.print(
        f"Simulating {persons:,} people over {days} days into [bold]{data_dir}[/] (seed {seed})"
    )
    try:
        with Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            console=console,
        ) as bar:  # fmt: skip
            task = bar.add_task("simulating", total=None)

            def report(stage: str, done: int, total: int) -> None:
                bar.update(task, total=total, completed=done, description=stage)

            run_simulation(data_dir, persons=persons, days=days, seed=seed, progress=report)
        (data_dir / DEMO_MARKER).write_text("made by `tessera demo`; safe to delete\n")
        mappings = sorted((data_dir / "mappings").glob("*.yaml"))
        with Workspace.init(workspace) as ws:
            (workspace / DEMO_MARKER).write_text("made by `tessera demo`; safe to delete\n")
            with _RichProgress(console) as progress:
                results = [r for m in mappings for r in ws.ingest(m, progress=progress)]
            _print_results(console, results)
            for r in ws.build():
                outs = ", ".join(f"{k} ({v:,} rows)" for k, v in r.outputs.items())
                console.print(f"stage {r.stage}: {outs} in {r.duration_s:.2f}s")
            _print_status(ws.status())
            _print_metrics(run_evaluation(ws, data_dir).metrics)
            # the demo reads every dossier under a demo case: audited like any read
            access = Access(user="demo", case="DEMO-1", legal_basis="synthetic_demo")
            folder = workspace / "dossiers"
            written = write_dossiers(ws, access, folder, "html")
            top = ws.engine.fetch_rows(
                "SELECT person FROM dossier ORDER BY exposure DESC NULLS LAST, person LIMIT 1"
            )
            made = set_up_demo_access(ws)
    except TesseraError as exc:
        _fail(exc)
    person = top[0][0] if top else "person:1"
    env = "TESSERA_USER=demo TESSERA_CASE=DEMO-1 TESSERA_LEGAL_BASIS=synthetic_demo"
    console.print(
        f"\nWorkspace ready at [bold]{workspace}[/]; the hidden truth is in {data_dir}/truth.\n"
        f"{written:,} dossiers (HTML and JSON) are in [bold]{folder}[/]: open "
        f"{folder / 'index.html'} in a browser (it works offline), most exposed first.\n"
        f"Every read is audited (user, case, legal basis); try:\n"
        f"  {env} tessera dossier {workspace} {person}\n"
        f"  {env} tessera find {workspace} --exposure-above 0.5\n"
        f"  tessera audit list {workspace}\n"
        f"  tessera evaluate {workspace} --truth {data_dir}/truth"
    )
    logins = "\n".join(
        f"  {name:<16} {role:<11} password {password}"
        for name, (role, password) in made.accounts.items()
    )
    console.print(
        f"\nWeb interface accounts (also in {workspace / CREDENTIALS_FILE}), case "
        f"{made.case} (approved, the whole district):\n{logins}",
        soft_wrap=True,
    )
    if not serve:
        console.print(f"Start the web interface with: tessera serve {workspace} --port {port}")
        return
    from tessera.service.cli import serve as serve_command

    serve_command(workspace, port=port)


@app.command()
def evaluate(
    workspace: WorkspaceArg,
    truth: TruthOption,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object: metric name -> number.")
    ] = False,
) -> None:
    """Score a built workspace against a simulator's truth (see docs/evaluation.md)."""
    from tessera.errors import TesseraError
    from tessera.evaluate import evaluate as run_evaluation

    try:
        result = run_evaluation(workspace, truth)
    except TesseraError as exc:
        _fail(exc)
    errors = _console(stderr=True)
    for name, reason in result.skipped.items():
        errors.print(f"skipped {name}: {reason}", markup=False, soft_wrap=True)
    if as_json:
        typer.echo(json.dumps(result.metrics, indent=2))
        return
    _print_metrics(result.metrics)


@app.command()
def matchability(
    workspace: WorkspaceArg,
    truth: TruthOption,
    days: Annotated[
        str, typer.Option("--days", help="Horizons in days, comma-separated.")
    ] = "1,3,7,14,30",
    as_json: Annotated[bool, typer.Option("--json", help="Print the curve as JSON.")] = False,
) -> None:
    """How many people linking finds after the first 1, 3, 7, 14 and 30 days of data."""
    import dataclasses

    from rich.progress import Progress
    from rich.table import Table

    from tessera.errors import TesseraError
    from tessera.evaluate.matchability import matchability as curve
    from tessera.evaluate.truth import Truth

    try:
        horizons = [int(d) for d in days.split(",") if d.strip()]
    except ValueError:
        _fail(ValueError(f"--days must be whole numbers separated by commas, not {days!r}"))
    try:
        with Progress(console=_console(stderr=True), transient=True) as bar:
            task = bar.add_task("matchability", total=len(horizons))
            points = curve(
                workspace, Truth(truth), horizons,
                progress=lambda k, n: bar.update(task, completed=k, total=n),
            )  # fmt: skip
    except TesseraError as exc:
        _fail(exc)
    if as_json:
        typer.echo(json.dumps([dataclasses.asdict(p) for p in points], indent=2))
        return
    table = Table(title="Matchability (docs/evaluation.md)", title_justify="left")
    for column in ("days", "of data", "car owners", "car and phone linked", "device P", "device R"):
        table.add_column(column, justify="right")
    for p in points:
        table.add_row(
            str(p.days), str(p.covered_days), f"{p.people:,}", f"{p.behavioural:.3f}",
            f"{p.device_person_precision:.3f}", f"{p.device_person_recall:.3f}",
        )  # fmt: skip
    _console().print(table)


def _print_metrics(metrics: dict[str, float]) -> None:
    from rich.table import Table

    table = Table(title="Evaluation", title_justify="left")
    table.add_column("stage")
    table.add_column("metric")
    table.add_column("value", justify="right")
    previous = None
    for name, value in metrics.items():
        group, _, rest = name.partition(".")
        if previous is not None and group != previous:
            table.add_section()
        shown = f"{value:,.0f}" if value.is_integer() and abs(value) >= 1 else f"{value:.4f}"
        table.add_row(group if group != previous else "", rest, shown)
        previous = group
    if not metrics:
        table.add_row("", "(no metrics: every provider was skipped)", "")
    _console().print(table)


@app.command()
def export(
    workspace: WorkspaceArg,
    out: Annotated[
        Path,
        typer.Argument(
            help="Output file; for --format i2 a folder that receives entities.csv and links.csv.",
            show_default=False,
        ),
    ],
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="graphml (Gephi, yEd, Cytoscape), gexf (Gephi), i2 (Analyst's Notebook "
            "CSV pair) or ftm (FollowTheMoney entities for Aleph, JSON lines).",
        ),
    ],
    min_weight: Annotated[
        float, typer.Option("--min-weight", help="Leave out edges of lower combined weight.")
    ] = 0.0,
    subject: Annotated[
        list[str] | None,
        typer.Option(
            "--subject",
            "-s",
            help="Export only these subjects and the edges among them (repeatable).",
        ),
    ] = None,
    user: UserOption = None,
    case: CaseOption = None,
    basis: BasisOption = None,
) -> None:
    """Export the network (see docs/network.md) for Gephi, i2 Analyst's Notebook or Aleph."""
    from tessera.audit import audited
    from tessera.errors import TesseraError
    from tessera.network.export import export_network
    from tessera.workspace import Workspace

    try:
        access = access_from(user, case, basis)
        with Workspace.open(workspace) as ws:
            enforce(ws, access, "export", subject or None)
            result = audited(
                ws,
                access,
                "export",
                "network:" + (",".join(subject) if subject else "*"),
                lambda: export_network(
                    ws.engine, fmt, out, subjects=subject, min_weight=min_weight
                ),
                lambda r: r.nodes,
            )
    except TesseraError as exc:
        _fail(exc)
    console = _console()
    console.print(
        f"Wrote {result.nodes:,} nodes and {result.edges:,} edges as {result.format} to "
        + ", ".join(f"[bold]{p}[/]" for p in result.paths),
        soft_wrap=True,
    )
    for name, count in result.counts.items():
        console.print(f"  {name}: {count:,}")


@app.command()
def path(
    workspace: WorkspaceArg,
    a: Annotated[str, typer.Argument(help="A subject: 'person:123', 'imsi:262...'.")],
    b: Annotated[str, typer.Argument(help="The other subject.")],
    max_hops: Annotated[int, typer.Option("--max-hops", help="Longest path searched.")] = 6,
    user: UserOption = None,
    case: CaseOption = None,
    basis: BasisOption = None,
) -> None:
    """The strongest connection between two subjects, with the evidence on every edge."""
    from rich.table import Table

    from tessera.audit import audited
    from tessera.errors import TesseraError
    from tessera.network.graph import shortest_path
    from tessera.workspace import Workspace

    try:
        access = access_from(user, case, basis)
        with Workspace.open(workspace) as ws:
            enforce(ws, access, "read", [a, b])
            found = audited(
                ws,
                access,
                "path",
                f"{a} {b}",
                lambda: shortest_path(ws.engine, a, b, max_hops=max_hops),
                lambda p: 0 if p is None else len(p.hops),
            )
    except TesseraError as exc:
        _fail(exc)
    console = _console()
    if found is None:
        console.print(f"No path from {a} to {b} within {max_hops} hops.")
        raise typer.Exit(1)
    table = Table(title=f"{a} to {b}: {len(found.hops)} hop(s), distance {found.distance:.3g}")
    for column in ("from", "to", "weight", "contact", "co-presence"):
        table.add_column(column)
    for hop in found.hops:
        contact = hop.contact["evidence"] if hop.contact else ""
        met = (
            f"met {hop.copresence['meetings']} time(s) on {hop.copresence['days']} day(s)"
            if hop.copresence
            else ""
        )
        if hop.hidden:
            met = f"{met} (hidden tie)".strip()
        table.add_row(hop.a, hop.b, f"{hop.weight:.3g}", contact, met)
    console.print(table)


@app.command()
def ego(
    workspace: WorkspaceArg,
    subject: Annotated[str, typer.Argument(help="A subject: 'person:123', 'imsi:262...'.")],
    depth: Annotated[int, typer.Option("--depth", help="Hops from the subject.")] = 2,
    user: UserOption = None,
    case: CaseOption = None,
    basis: BasisOption = None,
) -> None:
    """A subject's ego network: everyone within DEPTH hops, by distance and community."""
    from rich.table import Table

    from tessera.audit import audited
    from tessera.errors import TesseraError
    from tessera.network.graph import ego_network
    from tessera.workspace import Workspace

    try:
        access = access_from(user, case, basis)
        with Workspace.open(workspace) as ws:
            enforce(ws, access, "read", [subject])
            found = audited(
                ws,
                access,
                "ego",
                subject,
                lambda: ego_network(ws.engine, subject, depth=depth),
                lambda e: e.nodes.num_rows,
            )
    except TesseraError as exc:
        _fail(exc)
    nodes = found.nodes.sort_by([("hops", "ascending"), ("subject", "ascending")])
    table = Table(
        title=f"{subject}: {nodes.num_rows - 1} subject(s) within {depth} hop(s), "
        f"{found.edges.num_rows} edge(s)"
    )
    for column in ("subject", "kind", "hops", "community"):
        table.add_column(column)
    for row in nodes.to_pylist():
        community = "" if row["community"] is None else str(row["community"])
        table.add_row(row["subject"], row["subject_kind"], str(row["hops"]), community)
    _console().print(table)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted; the batch in progress was rolled back\n")
        raise SystemExit(130) from None


# commands defined in their own modules register themselves on ``app``
from tessera.audit.cli import audit_app  # noqa: E402
from tessera.cli import reads as _reads  # noqa: E402, F401
from tessera.service import cli as _serve  # noqa: E402, F401

app.add_typer(audit_app, name="audit")

# accounts, cases, retention and the access watch (docs/access.md)
from tessera.accounts.cli import user_app  # noqa: E402
from tessera.audit import watch_cli as _watch  # noqa: E402, F401
from tessera.cases.cli import case_app  # noqa: E402
from tessera.retention.cli import purge_cmd  # noqa: E402

app.add_typer(user_app, name="user")
app.add_typer(case_app, name="case")
app.command("purge")(purge_cmd)
