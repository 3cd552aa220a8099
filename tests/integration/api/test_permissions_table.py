"""Route x role -> allowed or denied, for the five roles (Admin, Op, User, Viewer, Public) as
``tradewind.core.permissions`` grants them (Airflow's default roles; docs/api-compat.md,
"Roles"). Denied is exactly a 403; allowed is anything but 401/403. Roles are tried from the
weakest up, so the first allowed call may change what the later ones find (404 is fine)."""

from __future__ import annotations

import pytest
from tests.integration.api.conftest import Api

ORDER = ["public", "viewer", "user", "op", "admin"]
VIEW, USE, OPS, ADM, ANYONE = "viewer", "user", "op", "admin", "public"
RUN = "/api/v2/dags/etl/dagRuns/r"
TI = f"{RUN}/taskInstances/extract"
BULK_DELETE = {"actions": [{"action": "delete", "entities": ["nope"]}]}

# (method, path, JSON body or None, weakest role allowed)
TABLE: list[tuple[str, str, object, str]] = [
    ("GET", "/api/v2/monitor/health", None, ANYONE),
    ("GET", "/api/v2/version", None, ANYONE),
    ("GET", "/api/v2/dags", None, VIEW),
    ("GET", "/api/v2/dags/etl", None, VIEW),
    ("GET", "/api/v2/dags/etl/details", None, VIEW),
    ("PATCH", "/api/v2/dags/etl", {"is_paused": False}, USE),
    ("GET", "/api/v2/dagTags", None, VIEW),
    ("GET", "/api/v2/dagSources/etl", None, VIEW),
    ("GET", "/api/v2/dagStats", None, VIEW),
    ("GET", "/api/v2/dagWarnings", None, VIEW),
    ("GET", "/api/v2/dags/etl/tasks", None, VIEW),
    ("GET", "/api/v2/dags/etl/dagVersions", None, VIEW),
    ("GET", "/api/v2/dags/etl/dagRuns", None, VIEW),
    ("GET", RUN, None, VIEW),
    ("POST", "/api/v2/dags/etl/dagRuns", {"logical_date": None}, USE),
    ("PATCH", RUN, {"note": "n"}, USE),
    ("POST", f"{RUN}/clear", {"dry_run": True}, USE),
    ("POST", "/api/v2/dags/~/dagRuns/list", {}, VIEW),
    ("GET", f"{RUN}/upstreamAssetEvents", None, VIEW),
    ("GET", f"{RUN}/taskInstances", None, VIEW),
    ("GET", TI, None, VIEW),
    ("PATCH", f"{TI}/dry_run", {"new_state": "success"}, USE),
    ("POST", "/api/v2/dags/etl/clearTaskInstances", {"dry_run": True}, USE),
    ("POST", "/api/v2/dags/~/dagRuns/~/taskInstances/list", {}, VIEW),
    ("GET", f"{TI}/dependencies", None, VIEW),
    ("GET", f"{TI}/links", None, VIEW),
    ("GET", f"{TI}/tries", None, VIEW),
    ("GET", f"{TI}/logs/1", None, VIEW),
    ("GET", f"{TI}/xcomEntries", None, VIEW),
    ("POST", f"{TI}/xcomEntries", {"key": "k", "value": 1}, ADM),
    ("DELETE", f"{TI}/xcomEntries/k", None, OPS),
    ("GET", "/api/v2/variables", None, OPS),
    ("POST", "/api/v2/variables", {"key": "v", "value": "1"}, OPS),
    ("PATCH", "/api/v2/variables", BULK_DELETE, OPS),
    ("GET", "/api/v2/connections", None, OPS),
    ("POST", "/api/v2/connections/defaults", None, OPS),
    ("PATCH", "/api/v2/connections", BULK_DELETE, OPS),
    ("GET", "/api/v2/pools", None, VIEW),
    ("POST", "/api/v2/pools", {"name": "p", "slots": 1}, OPS),
    ("PATCH", "/api/v2/pools", BULK_DELETE, OPS),
    ("GET", "/api/v2/importErrors", None, VIEW),
    ("GET", "/api/v2/eventLogs", None, ADM),
    ("GET", "/api/v2/backfills?dag_id=etl", None, VIEW),
    ("GET", "/api/v2/assets", None, VIEW),
    ("GET", "/api/v2/assets/events", None, VIEW),
    ("GET", "/api/v2/assets/aliases", None, VIEW),
    ("DELETE", "/api/v2/dags/etl/assets/queuedEvents", None, OPS),
    ("GET", "/api/v2/jobs", None, VIEW),
    ("GET", "/api/v2/plugins", None, OPS),
    ("GET", "/api/v2/plugins/importErrors", None, OPS),
    ("GET", "/api/v2/providers", None, OPS),
    ("GET", f"{RUN}/hitlDetails", None, VIEW),
    ("DELETE", "/api/v2/dags/report", None, USE),
]


def _call(api: Api, method: str, path: str, body: object, user: str) -> int:
    kwargs = {} if body is None else {"json": body}
    if user == "public" and path in ("/api/v2/monitor/health", "/api/v2/version"):
        return api.client.request(method, path).status_code  # no token at all
    return api._call(method.lower(), path, user, kwargs).status_code


@pytest.fixture
def run_api(api: Api) -> Api:
    answer = api.post(
        "/api/v2/dags/etl/dagRuns", json={"logical_date": "2026-02-01T00:00:00Z", "dag_run_id": "r"}
    )
    assert answer.status_code == 200
    return api


def test_every_route_allows_exactly_the_roles_of_the_table(run_api: Api) -> None:
    wrong = []
    for method, path, body, weakest in TABLE:
        for user in ORDER:
            status = _call(run_api, method, path, body, user)
            allowed = ORDER.index(user) >= ORDER.index(weakest)
            if allowed and status in (401, 403) or not allowed and status != 403:
                expected = "allowed" if allowed else "403"
                wrong.append(f"{method} {path} as {user}: {status}, expected {expected}")
    assert not wrong, "\n".join(wrong)


def test_no_token_is_401_everywhere_but_health_and_version(api: Api) -> None:
    for method, path, body, weakest in TABLE:
        status = api.client.request(method, path, json=body).status_code
        assert (status == 401) == (weakest != ANYONE), f"{method} {path}: {status}"
