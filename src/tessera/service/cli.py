"""``tessera serve WS``: the web service and its UI, with uvicorn.

Registered on the main app by importing this module in :mod:`tessera.cli` (like
:mod:`tessera.cli.reads`); FastAPI and uvicorn load only when the command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tessera.cli import _console, _fail, app
from tessera.cli_options import WorkspaceArg


@app.command()
def serve(
    workspace: WorkspaceArg,
    host: Annotated[str, typer.Option(help="Address to listen on (loopback by default).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8765,
    pool: Annotated[
        int, typer.Option(help="Threads running engine calls (each with its own cursor).")
    ] = 8,
    timeout: Annotated[float, typer.Option(help="Time limit per engine call, seconds.")] = 10.0,
    max_rows: Annotated[int, typer.Option("--max-rows", help="Row cap of every list.")] = 500,
    secure_cookies: Annotated[
        bool, typer.Option(help="Mark the session cookie Secure (serve behind TLS).")
    ] = False,
) -> None:
    """Serve the audited API and the offline web UI for a workspace (see docs/service.md)."""
    import uvicorn

    from tessera.errors import TesseraError
    from tessera.service import Settings, create_app

    try:
        settings = Settings(
            pool_size=pool,
            call_timeout_s=timeout,
            max_rows=max_rows,
            secure_cookies=secure_cookies,
        )
        if not (Path(workspace) / "tessera.yaml").exists():
            from tessera.workspace import Workspace

            Workspace.open(workspace).close()  # raises the workspace's own clear error
        application = create_app(workspace, settings=settings)
    except TesseraError as exc:
        _fail(exc)
    if host not in ("127.0.0.1", "localhost", "::1") and not secure_cookies:
        _console(stderr=True).print(
            f"warning: listening on {host} without --secure-cookies; put TLS in front",
            soft_wrap=True,
        )
    _console().print(f"Tessera on http://{host}:{port}/ (Ctrl-C stops)", soft_wrap=True)
    uvicorn.run(application, host=host, port=port, log_level="warning", access_log=False)
