"""The service's settings: pool size, time limit, row caps, sessions and cookies.

Every value has a safe default; :class:`Settings` is validated on construction (a
zero pool or a negative time limit is an error, not a hang)."""

from __future__ import annotations

from dataclasses import dataclass

from tessera.errors import TesseraError


class ServiceError(TesseraError):
    """The service cannot start or serve as configured."""


@dataclass(frozen=True)
class Settings:
    """How the service runs.

    * ``pool_size``: threads that run engine calls (each with its own DuckDB cursor);
      requests beyond them wait in line, so the engine never sees more than this many
      concurrent statements.
    * ``call_timeout_s``: per-call time limit; a call that runs longer is interrupted
      and the request answered 504.
    * ``max_rows``: row cap for every list the API returns (search results, audit
      entries, graph nodes, evidence rows); a request asking for more gets at most this.
    * ``session_ttl_s``: lifetime of a login session.
    * ``secure_cookies``: set the cookie's ``Secure`` flag (on behind TLS; off on
      loopback HTTP, where browsers would otherwise drop the cookie).
    * ``static``: serve the web UI at ``/``.
    """

    pool_size: int = 8
    call_timeout_s: float = 10.0
    max_rows: int = 500
    session_ttl_s: int = 8 * 3600
    secure_cookies: bool = False
    static: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.pool_size <= 64:
            raise ServiceError(f"pool_size={self.pool_size} must be between 1 and 64")
        if not 0 < self.call_timeout_s <= 600:
            raise ServiceError(f"call_timeout_s={self.call_timeout_s} must be in (0, 600]")
        if not 1 <= self.max_rows <= 100_000:
            raise ServiceError(f"max_rows={self.max_rows} must be between 1 and 100,000")
        if not 60 <= self.session_ttl_s <= 7 * 86_400:
            raise ServiceError(
                f"session_ttl_s={self.session_ttl_s} must be between 60 s and 7 days"
            )
