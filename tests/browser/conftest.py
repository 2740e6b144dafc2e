"""The browser tests reuse the service tests' district, accounts, cases and live server
(tests/service/service_support.py)."""

from __future__ import annotations

from service.service_support import cheap_hashing, district, served

__all__ = ["cheap_hashing", "district", "served"]
