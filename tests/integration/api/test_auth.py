"""Authentication and roles on the REST API: tokens, 401, 403 per role, lock-out."""

from __future__ import annotations

import pytest
from tests.integration.api.conftest import PASSWORD, Api


def test_token_with_json_and_form_bodies(api: Api) -> None:
    by_json = api.client.post("/auth/token", json={"username": "viewer", "password": PASSWORD})
    by_form = api.client.post("/auth/token", data={"username": "viewer", "password": PASSWORD})
    assert by_json.status_code == 201 and by_form.status_code == 201
    token = by_json.json()["access_token"]
    dags = api.client.get("/api/v2/dags", headers={"Authorization": f"Bearer {token}"})
    assert dags.status_code == 200


def test_wrong_password_is_401_and_missing_field_422(api: Api) -> None:
    wrong = api.client.post("/auth/token", json={"username": "admin", "password": "nope"})
    assert wrong.status_code == 401
    assert wrong.json() == {"detail": "Invalid credentials"}
    unknown = api.client.post("/auth/token", json={"username": "ghost", "password": "x"})
    assert unknown.status_code == 401
    missing = api.client.post("/auth/token", json={"username": "admin"})
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["loc"][-1] == "password"


def test_five_failures_lock_the_user_out_for_a_minute(api: Api) -> None:
    for _ in range(5):
        api.client.post("/auth/token", json={"username": "op", "password": "bad"})
    right = api.client.post("/auth/token", json={"username": "op", "password": PASSWORD})
    assert right.status_code == 401
    assert "Too many failed logins" in right.json()["detail"]
    api.clock.advance(seconds=61)
    assert (
        api.client.post("/auth/token", json={"username": "op", "password": PASSWORD}).status_code
        == 201
    )


@pytest.mark.parametrize(
    "header",
    [None, "Bearer not-a-jwt", "Basic YWRtaW46YWRtaW4="],
)
def test_requests_without_a_valid_token_are_401(api: Api, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    answer = api.client.get("/api/v2/dags", headers=headers)
    assert answer.status_code in (401, 403) if header and header.startswith("Basic") else True
    assert answer.status_code == 401
    assert "detail" in answer.json()


def test_expired_token_is_401(api: Api) -> None:
    token = api.token("admin")
    api.clock.advance(hours=2)
    answer = api.client.get("/api/v2/dags", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401
    assert "expired" in answer.json()["detail"]


def test_deleted_user_token_stops_working(api: Api) -> None:
    from tradewind.services.users import delete_user

    headers = api.headers("user")
    with api.env.db.session() as s:
        delete_user(s, "user", api.clock())
    assert api.client.get("/api/v2/dags", headers=headers).status_code == 401


def test_health_and_version_need_no_token(api: Api) -> None:
    assert api.client.get("/api/v2/monitor/health").status_code == 200
    assert api.client.get("/api/v2/version").json()["version"]
    assert api.client.get("/openapi.json").status_code == 200


@pytest.mark.parametrize(
    ("user", "can_read", "can_trigger", "can_edit_variables"),
    [
        ("admin", True, True, True),
        ("op", True, True, True),
        ("user", True, True, False),
        ("viewer", True, False, False),
        ("public", False, False, False),
    ],
)
def test_each_role_gets_what_airflow_grants(
    api: Api, user: str, can_read: bool, can_trigger: bool, can_edit_variables: bool
) -> None:
    read = api.get("/api/v2/dags", user)
    assert read.status_code == (200 if can_read else 403)
    trigger = api.post("/api/v2/dags/report/dagRuns", user, json={"logical_date": None})
    assert trigger.status_code == (200 if can_trigger else 403)
    var = api.post("/api/v2/variables", user, json={"key": f"k_{user}", "value": "v"})
    assert var.status_code == (201 if can_edit_variables else 403)
    if not can_trigger:
        assert "Forbidden" in trigger.json()["detail"]


def test_event_log_is_admin_only_and_records_who_triggered(api: Api) -> None:
    api.post("/api/v2/dags/report/dagRuns", "user", json={"logical_date": None})
    assert api.get("/api/v2/eventLogs", "op").status_code == 403
    logs = api.get("/api/v2/eventLogs", params={"event": "trigger"}).json()
    assert logs["total_entries"] == 1
    assert logs["event_logs"][0]["owner"] == "user"
    assert logs["event_logs"][0]["dag_id"] == "report"
