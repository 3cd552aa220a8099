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


AIRFLOW_EXAMPLES_PER_OPERATION = 6
# Streams until a run finishes (generated runs never do) or leaves the API for the UI.
_SKIP_FUZZ = {"wait_dag_run_until_finished", "login", "logout"}


def test_airflow_spec_responses_match_it_on_a_running_server(api: Api, served: str) -> None:
    """Cases generated from Airflow 3.3's own spec, sent to a real server with a token: no
    5xx, and every answer's body matches what that spec documents for its status."""
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import response_schema_conformance
    from tests.integration.api.test_spec_coverage import SPEC, not_served_in_doc

    schema = schemathesis.openapi.from_path(SPEC)
    skipped = not_served_in_doc() | _SKIP_FUZZ
    headers = api.headers("admin")
    failures: list[str] = []
    operations = [
        op
        for op in (result.ok() for result in schema.get_all_operations())
        if op.definition.raw.get("operationId") not in skipped
    ]
    assert len(operations) > 90

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=AIRFLOW_EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def run(case) -> None:  # noqa: ANN001
            try:
                case.call_and_validate(
                    base_url=served,
                    headers=headers,
                    checks=[not_a_server_error, response_schema_conformance],
                    timeout=30,
                )
            except Exception as exc:  # noqa: BLE001 - collect every failure, report together
                failures.append(f"{case.method} {case.formatted_path}: {str(exc)[:600]}")

        run()
    assert not failures, "\n".join(failures[:15]) + f"\n({len(failures)} failures)"
