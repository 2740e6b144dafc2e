"""The browser tests reuse the service tests' district, accounts, cases and live server
(tests/service/conftest.py, loaded here under its own module name)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_path = Path(__file__).resolve().parents[1] / "service" / "service_support.py"
_spec = importlib.util.spec_from_file_location("service_support", _path)
assert _spec is not None
assert _spec.loader is not None
if _spec.name in sys.modules:  # already imported by the service tests
    service = sys.modules[_spec.name]
else:
    service = importlib.util.module_from_spec(_spec)
    sys.modules[_spec.name] = service
    _spec.loader.exec_module(service)

cheap_hashing = service.cheap_hashing
district = service.district
served = service.served
