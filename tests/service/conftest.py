"""Fixtures of the service tests; they live in ``service_support`` (a module of this package,
so that ``from conftest import ...`` elsewhere never picks this file up)."""

from __future__ import annotations

from .service_support import base_url, cheap_hashing, client, district, served

__all__ = ["base_url", "cheap_hashing", "client", "district", "served"]
