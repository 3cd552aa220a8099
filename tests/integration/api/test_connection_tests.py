"""``/connections/enqueue-test``: 403 when connection tests are disabled (Airflow's default),
else the test runs and its outcome is read back with the token, through the official client."""

from __future__ import annotations

import pytest
from tests.integration.api.conftest import Api

client = pytest.importorskip("airflow_client.client")
from airflow_client.client.api import ConnectionApi  # noqa: E402
from airflow_client.client.exceptions import ForbiddenException, NotFoundException  # noqa: E402
from airflow_client.client.models import ConnectionTestRequestBody  # noqa: E402


def _sqlite_body(path: str, commit: bool) -> ConnectionTestRequestBody:
    return ConnectionTestRequestBody(
        connection_id="lite", conn_type="sqlite", host=path, commit_on_success=commit
    )


def test_disabled_by_default(api: Api, airflow_client: object) -> None:
    with pytest.raises(ForbiddenException):
        ConnectionApi(airflow_client).enqueue_connection_test(_sqlite_body("/tmp/x.db", False))


def test_enabled_runs_the_test_and_keeps_the_outcome(
    api: Api, airflow_client: object, tmp_path: object
) -> None:
    api.env.settings.values.setdefault("core", {})["test_connection"] = "Enabled"
    conns = ConnectionApi(airflow_client)
    queued = conns.enqueue_connection_test(_sqlite_body(f"{tmp_path}/ok.db", True))
    assert queued.state == "success" and queued.connection_id == "lite"
    polled = conns.get_connection_test(queued.token)
    assert polled.state == "success" and polled.result_message and polled.created_at
    assert conns.get_connection("lite").conn_type == "sqlite"  # commit_on_success
    failed = conns.enqueue_connection_test(
        ConnectionTestRequestBody(connection_id="bad", conn_type="sqlite", host="/no/such/dir/x.db")
    )
    assert failed.state == "failed"
    with pytest.raises(NotFoundException):
        conns.get_connection("bad")
    with pytest.raises(NotFoundException):
        conns.get_connection_test("not-a-token")
    import json
    from datetime import timedelta

    from tradewind.metastore.tables import KeyValue

    old = {"connection_id": "x", "state": "success", "result_message": "",
           "created_at": (api.env.now() - timedelta(days=2)).isoformat()}  # fmt: skip
    with api.env.db.session() as session:
        session.add(KeyValue(key="connection_test:old", value=json.dumps(old)))
    conns.enqueue_connection_test(_sqlite_body(f"{tmp_path}/ok.db", False))
    with pytest.raises(NotFoundException):  # outcomes are kept for a day
        conns.get_connection_test("old")
    assert conns.get_connection_test(queued.token).state == "success"
