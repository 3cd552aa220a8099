"""Fuzz every operation of our own OpenAPI document with schemathesis: never a 5xx.

One test walks all operations with a bounded number of generated requests each (the
pytest plugin's extra phases would take minutes); failures are collected, then reported
together with a curl line to reproduce each.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from tests.integration.api.conftest import Api

schemathesis = pytest.importorskip("schemathesis")

EXAMPLES_PER_OPERATION = 15


def test_no_operation_answers_a_server_error(api: Api) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.client.app)
    headers = api.headers("admin")
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def run(case) -> None:  # noqa: ANN001
            response = case.call(headers=headers)
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} -> {response.status_code}: "
                    f"{response.text[:300]}\n  {case.as_curl_command()}"
                )

        run()
    assert not failures, "\n".join(failures[:20])
