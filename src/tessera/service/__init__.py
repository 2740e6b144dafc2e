"""The web service: an audited HTTP API and an offline web UI over one workspace.

:func:`create_app` builds the FastAPI application (routes in
:mod:`tessera.service.app`); ``tessera serve WS`` runs it with uvicorn. Blocking engine
calls run in a bounded pool of threads with per-thread cursors, a time limit per call
and row caps (:mod:`tessera.service.pool`, :class:`Settings`). See ``docs/service.md``.
Importing this package imports nothing heavy; FastAPI loads with :func:`create_app`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tessera.service.settings import ServiceError, Settings

if TYPE_CHECKING:
    from pathlib import Path

    from fastapi import FastAPI


def create_app(ws_path: str | Path, *, settings: Settings | None = None) -> FastAPI:
    """The service over the workspace at ``ws_path``; see :mod:`tessera.service.app`."""
    from tessera.service.app import create_app as _create

    return _create(ws_path, settings=settings)


__all__ = ["ServiceError", "Settings", "create_app"]
