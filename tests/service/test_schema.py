"""Schemathesis: requests generated from the OpenAPI schema never get a server error.

Every operation is called with generated parameters and bodies (valid and invalid,
as the schema allows) by an analyst's API token, so requests pass authentication and
reach the case, scope and domain checks; each answer must be below 500. (The
operations are driven with Hypothesis directly: schemathesis' pytest plugin does not
run under this pytest version.)
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings

from tessera.accounts import issue_token

from .service_support import Served


def test_no_server_errors(served: Served) -> None:
    token = issue_token(served.ws, "ann", label="schemathesis", expires_at=None, by="local.test")
    headers = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_dict(served.app.openapi())
    seen = []
    for result in schema.get_all_operations():
        operation = result.ok()
        seen.append(f"{operation.method.upper()} {operation.path}")

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case) -> None:
            response = case.call(base_url=served.url, headers=headers)
            assert response.status_code < 500, (
                case.method,
                case.formatted_path,
                case.query,
                case.body,
                response.text[:300],
            )

        check()
    assert "GET /api/dossiers/{person}" in seen
    assert "POST /api/hypotheses/{hypothesis_id}/judgement" in seen
