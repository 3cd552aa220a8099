"""Features Tradewind does not have answer as Airflow does without them: HITL details,
external log URLs, and the auth manager's login/logout redirects."""

from __future__ import annotations

import pytest
from tests.integration.api.conftest import Api

client = pytest.importorskip("airflow_client.client")
from airflow_client.client.api import TaskInstanceApi  # noqa: E402
from airflow_client.client.exceptions import BadRequestException, NotFoundException  # noqa: E402


def _run(api: Api) -> None:
    api.post("/api/v2/dags/report/dagRuns", json={"logical_date": None, "dag_run_id": "r"})


def test_hitl_details_are_empty_and_each_is_404(api: Api, airflow_client: object) -> None:
    _run(api)
    tis = TaskInstanceApi(airflow_client)
    listed = tis.get_hitl_details("report", "r")
    assert listed.hitl_details == [] and listed.total_entries == 0
    with pytest.raises(NotFoundException):
        tis.get_hitl_detail("report", "r", "only", -1)
    with pytest.raises(NotFoundException):
        tis.get_hitl_detail_try_detail("report", "r", "only", -1, 1)
    answer = api.patch(
        "/api/v2/dags/report/dagRuns/r/taskInstances/only/-1/hitlDetails",
        json={"chosen_options": ["approve"]},
    )
    assert answer.status_code == 404
    assert api.get("/api/v2/dags/report/dagRuns/r/hitlDetails", user="public").status_code == 403


def test_external_log_url_is_400_as_with_a_local_log_handler(
    api: Api, airflow_client: object
) -> None:
    _run(api)
    with pytest.raises(BadRequestException, match="does not support external logs"):
        TaskInstanceApi(airflow_client).get_external_log_url("report", "r", "only", 1)
    missing = api.get("/api/v2/dags/report/dagRuns/r/taskInstances/nope/externalLogUrl/1")
    assert missing.status_code == 404


def test_login_and_logout_redirect_to_the_ui(api: Api) -> None:
    login = api.client.get("/api/v2/auth/login", params={"next": "/dags"}, follow_redirects=False)
    assert login.status_code == 307 and login.headers["location"] == "/login?next=/dags"
    evil = api.client.get("/api/v2/auth/login", params={"next": "https://evil.example"})
    assert evil.status_code == 400
    logout = api.client.get("/api/v2/auth/logout", follow_redirects=False)
    assert logout.status_code == 307 and logout.headers["location"] == "/login"
    assert "tradewind_session" in logout.headers.get("set-cookie", "")
