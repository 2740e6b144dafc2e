"""Who is asking: session cookies, API tokens and CSRF.

A request is authenticated by either

* the session cookie :data:`COOKIE` (``HttpOnly``, ``SameSite=Strict``), set by
  ``POST /api/login`` and looked up with :func:`tessera.accounts.session_user`, which
  also gives the session's CSRF secret; or
* ``Authorization: Bearer tsr_...``, an API token looked up with
  :func:`tessera.accounts.user_for_token`.

CSRF: a request that carries the session cookie and uses an unsafe method (POST, PUT,
PATCH, DELETE) must repeat the session's CSRF secret in the header
:data:`CSRF_HEADER`; it is compared in constant time. Token requests need no CSRF
token: a browser never adds an ``Authorization`` header on its own.

No account is kept here: every lookup goes to :mod:`tessera.accounts`.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tessera.service.settings import ServiceError

if TYPE_CHECKING:
    from tessera.accounts import User
    from tessera.workspace import Workspace

COOKIE = "tessera_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TOKEN_PREFIX = "tsr_"
MAX_CREDENTIAL_CHARS = 512


class NotAuthenticated(ServiceError):
    """No valid session or token came with the request."""


class CsrfRejected(ServiceError):
    """An unsafe request with a session cookie lacked the session's CSRF token."""


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: the user, how they authenticated, and (for sessions)
    the session's CSRF secret."""

    user: User
    via: str  # "session" or "token"
    csrf: str | None = None


def bearer(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer ...`` header, or None."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise NotAuthenticated("the Authorization header must be 'Bearer tsr_...'")
    return value.strip()


def resolve(ws: Workspace, session_id: str | None, token: str | None) -> Principal:
    """The principal of a session id or a token (the token wins when both are given)."""
    from tessera.accounts import session_user, user_for_token
    from tessera.errors import TesseraError

    try:
        if token is not None:
            if not token.startswith(TOKEN_PREFIX) or len(token) > MAX_CREDENTIAL_CHARS:
                raise NotAuthenticated("unknown or expired token")
            return Principal(user_for_token(ws, token), "token")
        if session_id:
            if len(session_id) > MAX_CREDENTIAL_CHARS:
                raise NotAuthenticated("unknown or expired session; log in again")
            user, csrf = session_user(ws, session_id)
            return Principal(user, "session", csrf)
    except NotAuthenticated:
        raise
    except TesseraError as exc:
        raise NotAuthenticated(str(exc)) from None
    raise NotAuthenticated("log in first (session cookie) or send 'Authorization: Bearer tsr_...'")


def check_csrf(principal: Principal, method: str, header: str | None) -> None:
    """Refuse an unsafe session request whose CSRF header does not match."""
    if principal.via != "session" or method.upper() in SAFE_METHODS:
        return
    expected = principal.csrf or ""
    if not header or not expected or not hmac.compare_digest(header, expected):
        raise CsrfRejected(f"missing or wrong {CSRF_HEADER} header: send the token /api/me returns")
