"""The FastAPI application: :func:`create_app`.

Routes (all under ``/api``; every one but ``health`` and ``login`` needs a session or
a token, see :mod:`tessera.service.auth`; every data route takes ``case=``)::

    GET  /api/health                         liveness (no data)
    POST /api/login, /api/logout             session cookie + CSRF token
    GET  /api/me                             the user, their permissions, the CSRF token
    GET  /api/cases                          cases the user may see
    POST /api/cases                          open a case (OPEN_CASE)
    POST /api/cases/{ref}/approve            approve it (APPROVE_CASE, not the opener)
    GET  /api/search                         tessera.dossier.find Filters, within scope
    GET  /api/dossiers/{person}              one dossier
    GET  /api/evidence/{kind}/{id}           the rows behind a citation of a dossier
    GET  /api/graph/{person}?depth=          ego network
    GET  /api/map                            sensors, sites, district outline
    GET  /api/hypotheses?person=             link hypotheses and their judgements
    POST /api/hypotheses/{id}/judgement      confirm or reject (JUDGE)
    GET  /api/exports?person=&format=        a dossier as JSON or HTML (EXPORT)
    GET  /api/audit, /api/audit/flags        the audit log and unusual access (READ_AUDIT)
    GET  /api/openapi.json                   this API's schema

Errors are JSON ``{"error": kind, "detail": text}`` with 400 (invalid), 401 (not
logged in), 403 (not allowed, outside the case scope, CSRF), 404, 422 (malformed
parameters), 503 (feature unavailable) or 504 (time limit). The web UI (``static/``)
is served at ``/``.

The hot path, ``GET /api/dossiers/{person}``, is answered by :class:`DossierRoute` (a
pure ASGI layer in front of the routes) when well formed: the same checks, in one pool
call instead of two and without FastAPI's per-request dependency machinery; anything
else goes on to the declared route. Security headers are set by :class:`SecurityHeaders`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

from fastapi import Depends, FastAPI, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.types import ASGIApp, Message, Receive, Send
from starlette.types import Scope as ASGIScope

from tessera.audit.access import CASE_PATTERN, LEGAL_BASES, USER_PATTERN
from tessera.errors import TesseraError
from tessera.service import auth, reads
from tessera.service.pool import EnginePool
from tessera.service.settings import Settings

if TYPE_CHECKING:
    from tessera.workspace import Workspace

STATIC = Path(__file__).parent / "static"
T = TypeVar("T")

# status per error class name (names, so optional packages need not be imported)
STATUS: dict[str, int] = {
    "NotAuthenticated": 401,
    "AuthError": 401,
    "CsrfRejected": 403,
    "PermissionDenied": 403,
    "NotFound": 404,
    "CallTimeout": 504,
    "HypothesesUnavailable": 503,
}

CaseRef = Annotated[
    str,
    Query(
        description="The case reference the read belongs to.",
        min_length=3,
        max_length=100,
        pattern="^" + CASE_PATTERN.pattern + "$",
    ),
]
SUBJECT = r"^[A-Za-z0-9][A-Za-z0-9_.:+@-]{0,199}$"
PersonPath = Annotated[
    str, PathParam(description="A person id such as person:123.", pattern=SUBJECT, max_length=200)
]
PersonQuery = Annotated[
    str, Query(description="A person id such as person:123.", pattern=SUBJECT, max_length=200)
]


async def principal(request: Request) -> auth.Principal:
    """The authenticated caller (session cookie or bearer token), CSRF checked."""
    pool: EnginePool = request.app.state.service["pool"]
    token = auth.bearer(request.headers.get("authorization"))
    session_id = request.cookies.get(auth.COOKIE)
    found = await pool.run(auth.resolve, session_id, token)
    auth.check_csrf(found, request.method, request.headers.get(auth.CSRF_HEADER))
    return found


Who = Annotated[auth.Principal, Depends(principal)]


# -- bodies ----------------------------------------------------------------------------
class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Login(_Body):
    name: str = Field(min_length=1, max_length=64, pattern="^" + USER_PATTERN.pattern + "$")
    password: str = Field(min_length=1, max_length=1024)


class ScopeBody(_Body):
    subjects: list[Annotated[str, Field(pattern=SUBJECT, max_length=200)]] = Field(
        default_factory=list, max_length=1000
    )
    area: (
        tuple[
            Annotated[float, Field(ge=-90, le=90)],
            Annotated[float, Field(ge=-180, le=180)],
            Annotated[float, Field(gt=0, le=100_000)],
        ]
        | None
    ) = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


class CaseBody(_Body):
    ref: str = Field(min_length=3, max_length=100, pattern="^" + CASE_PATTERN.pattern + "$")
    title: str = Field(min_length=1, max_length=200)
    legal_basis: Literal[LEGAL_BASES] = Field(  # type: ignore[valid-type]
        description="One of the recognised legal bases."
    )
    scope: ScopeBody
    expires_at: dt.datetime
    members: list[Annotated[str, Field(pattern="^" + USER_PATTERN.pattern + "$")]] = Field(
        default_factory=list, max_length=100
    )


class JudgementBody(_Body):
    person: str = Field(pattern=SUBJECT, max_length=200)
    verdict: Literal["confirm", "reject"]
    reason: str = Field(min_length=1, max_length=64, pattern=r"^[a-z_]+$")
    note: str | None = Field(default=None, max_length=1000)


# -- the app ---------------------------------------------------------------------------
def create_app(ws_path: str | Path, *, settings: Settings | None = None) -> FastAPI:
    """The service over the workspace at ``ws_path``. The workspace is opened (for
    writing: reads are audited) when the app starts and closed when it stops."""
    settings = settings or Settings()
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from tessera.workspace import Workspace

        ws = Workspace.open(ws_path)
        pool = EnginePool(ws, settings.pool_size, settings.call_timeout_s)
        state["ws"], state["pool"] = ws, pool
        try:
            yield
        finally:
            pool.close()
            ws.close()
            state.clear()

    app = FastAPI(
        title="Tessera",
        summary="Audited search, dossiers, evidence, networks and maps over one workspace.",
        version=_version(),
        lifespan=lifespan,
        docs_url=None,  # the interactive docs load scripts from a CDN: not offered
        redoc_url=None,
        openapi_url=None,  # served below, to logged-in users only
    )

    async def run(fn: Callable[..., T], *args: Any) -> T:
        pool: EnginePool = state["pool"]
        return await pool.run(fn, *args)

    @app.exception_handler(TesseraError)
    async def _tessera_error(request: Request, exc: TesseraError) -> JSONResponse:
        return error_response(exc)

    # the last added is the outermost: the lean dossier route first (it sets the
    # security headers on its own answers), then the headers on every other answer
    app.add_middleware(SecurityHeaders)
    app.add_middleware(DossierRoute, state=state)

    # -- session ---------------------------------------------------------------------
    @app.get("/api/health", tags=["session"])
    async def health() -> dict[str, str]:
        """Liveness; no data."""
        return {"status": "ok"}

    @app.post("/api/login", tags=["session"])
    async def login(body: Login, response: Response) -> dict[str, Any]:
        """Check the password and open a session: sets the HttpOnly, SameSite=Strict
        session cookie and returns the CSRF token to send with unsafe requests."""

        def go(ws: Workspace) -> tuple[Any, str, str]:
            from tessera.accounts import authenticate, open_session, session_user

            user = authenticate(ws, body.name, body.password)
            sid = open_session(ws, user.name, ttl=dt.timedelta(seconds=settings.session_ttl_s))
            _, csrf = session_user(ws, sid)
            return user, sid, csrf

        user, sid, csrf = await run(go)
        response.set_cookie(
            auth.COOKIE,
            sid,
            max_age=settings.session_ttl_s,
            httponly=True,
            samesite="strict",
            secure=settings.secure_cookies,
            path="/",
        )
        return {"user": _user_json(user), "csrf": csrf}

    @app.post("/api/logout", tags=["session"])
    async def logout(request: Request, response: Response, who: Who) -> dict[str, bool]:
        """Close the session and clear the cookie."""
        sid = request.cookies.get(auth.COOKIE)
        if sid:

            def go(ws: Workspace) -> None:
                from tessera.accounts import close_session

                close_session(ws, sid)

            await run(go)
        response.delete_cookie(auth.COOKIE, path="/")
        return {"ok": True}

    @app.get("/api/me", tags=["session"])
    async def me(who: Who) -> dict[str, Any]:
        """The logged-in user, their permissions and (sessions) the CSRF token."""
        return {"user": _user_json(who.user), "via": who.via, "csrf": who.csrf}

    @app.get("/api/openapi.json", tags=["session"], include_in_schema=False)
    async def openapi(who: Who) -> dict[str, Any]:
        return app.openapi()

    # -- cases ---------------------------------------------------------------------------
    @app.get("/api/cases", tags=["cases"])
    async def cases(who: Who) -> dict[str, Any]:
        """The cases the user opened, approves or is a member of."""

        def go(ws: Workspace) -> list[dict[str, Any]]:
            from tessera.cases import list_cases

            return [_case_json(c) for c in list_cases(ws, user=who.user.name)]

        return {"cases": await run(go)}

    @app.post("/api/cases", tags=["cases"], status_code=201)
    async def open_case(body: CaseBody, who: Who) -> dict[str, Any]:
        """Open a case (pending until a supervisor other than the opener approves it)."""

        def go(ws: Workspace) -> dict[str, Any]:
            from tessera.cases import Scope
            from tessera.cases import open_case as case_open

            scope = Scope(
                subjects=tuple(body.scope.subjects),
                area=body.scope.area,
                since=_aware(body.scope.since),
                until=_aware(body.scope.until),
            )
            case = case_open(
                ws,
                body.ref,
                title=body.title,
                legal_basis=body.legal_basis,
                scope=scope,
                expires_at=_utc(body.expires_at),
                opened_by=who.user.name,
                members=tuple(body.members),
            )
            return _case_json(case)

        return await run(go)

    @app.post("/api/cases/{ref:path}/approve", tags=["cases"])
    async def approve_case(
        ref: Annotated[str, PathParam(max_length=100)], who: Who
    ) -> dict[str, Any]:
        """Approve a pending case (APPROVE_CASE; not its opener)."""
        if CASE_PATTERN.fullmatch(ref) is None:
            raise reads.BadRequest(f"{ref!r} is not a case reference")

        def go(ws: Workspace) -> dict[str, Any]:
            from tessera.cases import approve_case as case_approve

            return _case_json(case_approve(ws, ref, by=who.user.name))

        return await run(go)

    # -- reads ---------------------------------------------------------------------------
    @app.get("/api/search", tags=["reads"])
    async def search(
        who: Who,
        case: CaseRef,
        name: Annotated[str | None, Query(max_length=200)] = None,
        organisation: Annotated[str | None, Query(max_length=200)] = None,
        role: Annotated[str | None, Query(max_length=200)] = None,
        visited: Annotated[
            str | None, Query(description="LAT,LON,RADIUS_M", max_length=100)
        ] = None,
        met_organisation: Annotated[str | None, Query(max_length=200)] = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        exposure_above: Annotated[float | None, Query(ge=0, le=1)] = None,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 50,
    ) -> dict[str, Any]:
        """People matching the filters, within the case's scope (audited ``find``)."""
        from tessera.dossier.find import Filters, parse_visited

        filters = Filters(
            name=name or None,
            organisation=organisation or None,
            role=role or None,
            visited=parse_visited(visited) if visited else None,
            met_organisation=met_organisation or None,
            since=_aware(since),
            until=_aware(until),
            exposure_above=exposure_above,
            limit=limit,
        )
        return await run(reads.search, who.user, case, filters, settings.max_rows)

    @app.get("/api/dossiers/{person}", tags=["reads"], response_model=dict[str, Any])
    async def dossier(person: PersonPath, who: Who, case: CaseRef) -> Response:
        """One person's dossier (audited ``dossier.read``)."""
        # the stored JSON text as is: parsing it and writing it again costs more than
        # the rest of the request
        body = await run(reads.dossier_json, who.user, case, person)
        return Response(body, media_type="application/json")

    @app.get("/api/evidence/{kind}/{ident}", tags=["reads"])
    async def evidence(
        kind: Annotated[str, PathParam(pattern=r"^[a-z_]{1,40}$")],
        ident: Annotated[str, PathParam(max_length=400)],
        who: Who,
        case: CaseRef,
        person: PersonQuery,
    ) -> dict[str, Any]:
        """The rows behind citation ``kind:ident`` of the person's dossier."""
        return await run(reads.evidence, who.user, case, person, kind, ident, settings.max_rows)

    @app.get("/api/graph/{person}", tags=["reads"])
    async def graph(
        person: PersonPath,
        who: Who,
        case: CaseRef,
        depth: Annotated[int, Query(ge=1, le=3)] = 1,
    ) -> dict[str, Any]:
        """The person's ego network (audited ``ego``)."""
        return await run(reads.graph, who.user, case, person, depth, settings.max_rows)

    @app.get("/api/map", tags=["reads"])
    async def district_map(who: Who, case: CaseRef) -> dict[str, Any]:
        """The district's own geometry: sensors, sites and an outline (no tiles)."""
        return await run(reads.map_read, who.user, case, settings.max_rows)

    @app.get("/api/hypotheses", tags=["hypotheses"])
    async def hypotheses(who: Who, case: CaseRef, person: PersonQuery) -> dict[str, Any]:
        """The person's link hypotheses with score, chance baseline and judgement."""
        return await run(reads.hypotheses, who.user, case, person)

    @app.post("/api/hypotheses/{hypothesis_id}/judgement", tags=["hypotheses"])
    async def judgement(
        hypothesis_id: Annotated[str, PathParam(max_length=400)],
        body: JudgementBody,
        who: Who,
        case: CaseRef,
    ) -> dict[str, Any]:
        """Confirm or reject a hypothesis with a reason code (JUDGE)."""
        return await run(
            reads.judge,
            who.user,
            case,
            body.person,
            hypothesis_id,
            body.verdict,
            body.reason,
            body.note,
        )

    @app.get("/api/exports", tags=["exports"])
    async def exports(
        who: Who,
        case: CaseRef,
        person: PersonQuery,
        format: Literal["json", "html"] = "json",
    ) -> Response:
        """A dossier as a file to keep (EXPORT; audited ``export``)."""
        content, media = await run(reads.export, who.user, case, person, format)
        safe = person.replace(":", "_")
        return Response(
            content,
            media_type=media,
            headers={"Content-Disposition": f'attachment; filename="{safe}.{format}"'},
        )

    # -- audit ---------------------------------------------------------------------------
    @app.get("/api/audit", tags=["audit"])
    async def audit(
        who: Who,
        user: Annotated[str | None, Query(max_length=64)] = None,
        case: Annotated[str | None, Query(max_length=100)] = None,
        action: Annotated[str | None, Query(max_length=64)] = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 200,
    ) -> dict[str, Any]:
        """Audit entries, newest last (READ_AUDIT), and whether the chain verifies."""
        _require(who, "read_audit")

        def go(ws: Workspace) -> dict[str, Any]:
            from tessera.audit import entries, verify

            found = entries(
                ws,
                user=user or None,
                case=case or None,
                action=action or None,
                since=_aware(since),
                until=_aware(until),
                limit=min(limit, settings.max_rows),
            )
            asked = {"user": user, "case": case, "action": action, "since": since, "until": until}
            _audit_read(ws, who, "audit.read", asked, len(found))
            return {
                "entries": [e.as_dict() for e in found],
                "verified": verify(ws).ok,
            }

        return await run(go)

    @app.get("/api/audit/flags", tags=["audit"])
    async def audit_flags(who: Who, since: dt.datetime | None = None) -> dict[str, Any]:
        """Unusual access: many unrelated people in a short window, out-of-hours reads."""
        _require(who, "read_audit")

        def go(ws: Workspace) -> list[dict[str, Any]]:
            from tessera.audit.watch import flags

            found = [_flag_json(f) for f in flags(ws, since=_aware(since))][: settings.max_rows]
            _audit_read(ws, who, "audit.flags", {"since": since}, len(found))
            return found

        return {"flags": await run(go)}

    # -- the web UI ------------------------------------------------------------------------
    if settings.static:
        app.mount("/static", StaticFiles(directory=STATIC), name="static")

        @app.get("/", include_in_schema=False)
        async def index() -> FileResponse:
            return FileResponse(STATIC / "index.html", media_type="text/html")

    app.state.settings = settings
    app.state.service = state
    return app


# -- middleware ------------------------------------------------------------------------
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
_HEADERS: list[tuple[bytes, bytes]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", CSP.encode("latin-1")),
]
_API_HEADERS = [*_HEADERS, (b"cache-control", b"no-store")]
_NAMES = frozenset(name for name, _ in _HEADERS)
_API_NAMES = frozenset(name for name, _ in _API_HEADERS)


class SecurityHeaders:
    """Pure ASGI middleware setting the security headers on every HTTP answer (and
    ``Cache-Control: no-store`` under ``/api/``), replacing any the app set. Pure ASGI
    rather than ``@app.middleware("http")``, whose task group and memory streams per
    request cost more CPU than the rest of a dossier request's routing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: ASGIScope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = scope["path"].startswith("/api/")
        extra, names = (_API_HEADERS, _API_NAMES) if api else (_HEADERS, _NAMES)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", ()) if k.lower() not in names]
                message = {**message, "headers": kept + extra}
            await send(message)

        await self.app(scope, receive, send_with_headers)


DOSSIER_PREFIX = "/api/dossiers/"
# fullmatch, not ^...$: Python's $ also matches before a final newline, the declared
# route's validation does not
_SUBJECT = re.compile(SUBJECT.removeprefix("^").removesuffix("$"))


class DossierRoute:
    """The lean route for ``GET /api/dossiers/{person}?case=``, the service's hot path.

    A well-formed request (a person and a case matching the declared route's patterns
    and lengths) is answered here: the credentials are taken from the request as
    :func:`principal` takes them, and authentication, the case authorisation, the scope
    check, the read and its audit entry run in *one* pool call
    (:func:`tessera.service.reads.dossier_request`), where the declared route makes two
    (the dependency, then the read) and goes through FastAPI's routing and dependency
    machinery. Errors are answered as the app's exception handler answers them; every
    answer carries the headers :class:`SecurityHeaders` sets (this layer is outside it). Any
    other request, a malformed one included, goes on to the app, so the declared route
    (in the OpenAPI schema) still answers and validates exactly as before."""

    def __init__(self, app: ASGIApp, state: dict[str, Any]) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: ASGIScope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "GET"
            and scope["path"].startswith(DOSSIER_PREFIX)
        ):
            args = _dossier_args(scope)
            if args is not None:
                await self._answer(scope, receive, send, *args)
                return
        await self.app(scope, receive, send)

    async def _answer(
        self,
        scope: ASGIScope,
        receive: Receive,
        send: Send,
        person: str,
        case: str,
        authorization: str | None,
        cookie: str | None,
    ) -> None:
        from starlette.requests import cookie_parser

        try:
            token = auth.bearer(authorization)
            session_id = cookie_parser(cookie).get(auth.COOKIE) if cookie else None
            pool: EnginePool = self.state["pool"]
            body = await pool.run(reads.dossier_request, session_id, token, case, person)
        except TesseraError as exc:
            await SecurityHeaders(error_response(exc))(scope, receive, send)
            return
        # the answer as two ASGI messages, as Response(body, media_type=...) sends it
        headers = [
            (b"content-length", str(len(body)).encode("latin-1")),
            (b"content-type", b"application/json"),
            *_API_HEADERS,
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _dossier_args(scope: ASGIScope) -> tuple[str, str, str | None, str | None] | None:
    """``(person, case, Authorization, Cookie)`` of a well-formed dossier request, or
    None (the declared route then answers, with its own validation errors)."""
    from urllib.parse import parse_qsl

    person = scope["path"][len(DOSSIER_PREFIX) :]
    if len(person) > 200 or _SUBJECT.fullmatch(person) is None:
        return None
    query = scope.get("query_string", b"").decode("latin-1")
    cases = [v for k, v in parse_qsl(query, keep_blank_values=True) if k == "case"]
    if not cases:
        return None
    case = cases[-1]  # as FastAPI reads a repeated query parameter
    if not 3 <= len(case) <= 100 or CASE_PATTERN.fullmatch(case) is None:
        return None
    authorization = cookie = None
    for name, value in scope["headers"]:  # the first of each, as Starlette's Headers.get
        if name == b"authorization" and authorization is None:
            authorization = value.decode("latin-1")
        elif name == b"cookie" and cookie is None:
            cookie = value.decode("latin-1")
    return person, case, authorization, cookie


def error_response(exc: TesseraError) -> JSONResponse:
    """A refusal as JSON ``{"error": kind, "detail": text}`` with its status code."""
    status = _status(exc)
    return JSONResponse(
        {"error": type(exc).__name__, "detail": str(exc).splitlines()[0][:500]},
        status_code=status,
        headers={"WWW-Authenticate": "Bearer"} if status == 401 else None,
    )


# -- helpers ---------------------------------------------------------------------------
def _version() -> str:
    from tessera._version import __version__

    return __version__


def _status(exc: BaseException) -> int:
    from tessera.errors import DossierError, NetworkError

    for cls in type(exc).__mro__:
        if cls.__name__ in STATUS:
            return STATUS[cls.__name__]
    text = str(exc)
    if isinstance(exc, DossierError) and text.startswith("no dossier"):
        return 404
    if isinstance(exc, NetworkError) and text.startswith("unknown subject"):
        return 404
    return 400


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """A request's time as tz-aware UTC (a time without a zone is read as UTC)."""
    return None if value is None else _utc(value)


def _utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def _require(who: auth.Principal, permission: str) -> None:
    from tessera.accounts import Permission, require

    require(who.user, Permission(permission))


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value


def _user_json(user: Any) -> dict[str, Any]:
    data: dict[str, Any] = user.as_dict()
    return data


def _case_json(case: Any) -> dict[str, Any]:
    data: dict[str, Any] = case.as_dict()
    return data


def _flag_json(flag: Any) -> dict[str, Any]:
    data: dict[str, Any] = flag.as_dict()
    return data


__all__ = ["create_app"]


def _audit_read(
    ws: Workspace, who: auth.Principal, action: str, asked: dict[str, Any], size: int
) -> None:
    """An auditor's read of the audit log is itself recorded, under the administrative
    case (there is no case to read the log for)."""
    import json

    from tessera.accounts import SYSTEM_CASE
    from tessera.accounts.store import SYSTEM_BASIS
    from tessera.audit import Access, record

    target = json.dumps({k: v for k, v in asked.items() if v is not None}, default=str)
    access = Access(user=who.user.name, case=SYSTEM_CASE, legal_basis=SYSTEM_BASIS)
    record(ws, access, action, target if target != "{}" else "audit_log:*", size)
