"""Variables, connections, pools, XCom, import errors, backfills and config via the API."""

from __future__ import annotations

from pathlib import Path

from tests.integration.api.conftest import Api


def test_variables_crud_and_secret_masking(api: Api) -> None:
    assert api.post("/api/v2/variables", json={"key": "region", "value": "eu"}).status_code == 201
    as_json = api.post("/api/v2/variables", json={"key": "cfg", "value": {"a": [1, 2]}})
    assert as_json.json()["value"] == '{"a": [1, 2]}'
    secret = api.post("/api/v2/variables", json={"key": "api_token", "value": "hunter2"})
    assert secret.json()["value"] == "***"
    assert api.get("/api/v2/variables/api_token").json()["value"] == "***"
    listed = api.get("/api/v2/variables").json()
    assert listed["total_entries"] == 3
    assert "hunter2" not in api.get("/api/v2/variables").text
    dup = api.post("/api/v2/variables", json={"key": "region", "value": "us"})
    assert dup.status_code == 409
    mismatch = api.patch("/api/v2/variables/region", json={"key": "other", "value": "x"})
    assert mismatch.status_code == 400
    patched = api.patch("/api/v2/variables/region", json={"key": "region", "value": "us"})
    assert patched.json()["value"] == "us"
    assert api.delete("/api/v2/variables/region").status_code == 204
    assert api.get("/api/v2/variables/region").status_code == 404
    assert api.get("/api/v2/variables", "viewer").status_code == 403


def test_connection_password_never_comes_back(api: Api) -> None:
    body = {
        "connection_id": "pg",
        "conn_type": "postgres",
        "host": "db",
        "login": "me",
        "password": "s3cret",
        "port": 5432,
        "schema": "app",
        "extra": '{"sslmode": "require", "api_key": "k-123"}',
    }
    created = api.post("/api/v2/connections", json=body)
    assert created.status_code == 201
    for answer in (created, api.get("/api/v2/connections/pg"), api.get("/api/v2/connections")):
        assert "s3cret" not in answer.text and "k-123" not in answer.text
    one = api.get("/api/v2/connections/pg").json()
    assert one["password"] == "***" and one["schema"] == "app"
    assert api.post("/api/v2/connections", json=body).status_code == 409
    # Sending the masked password back keeps the real one.
    api.patch("/api/v2/connections/pg", json={**body, "password": "***", "host": "db2"})
    with api.env.db.session(readonly=True) as s:
        from tradewind.services.connections import get_connection

        stored = get_connection(api.env, s, "pg")
    assert stored["password"] == "s3cret" and stored["host"] == "db2"
    test = api.post("/api/v2/connections/test", json=body)
    assert test.status_code == 403 and "disabled" in test.json()["detail"]
    assert api.delete("/api/v2/connections/pg").status_code == 204


def test_pools(api: Api) -> None:
    created = api.post("/api/v2/pools", json={"name": "small", "slots": 2})
    assert created.status_code == 201 and created.json()["open_slots"] == 2
    assert api.post("/api/v2/pools", json={"name": "small", "slots": 2}).status_code == 409
    assert api.post("/api/v2/pools", json={"name": "x", "slots": -5}).status_code == 422
    patched = api.patch("/api/v2/pools/small", params={"update_mask": "slots"}, json={"slots": 5})
    assert patched.json()["slots"] == 5
    pools = api.get("/api/v2/pools").json()
    assert {p["name"] for p in pools["pools"]} == {"default_pool", "small"}
    assert api.delete("/api/v2/pools/default_pool").status_code == 400
    assert api.delete("/api/v2/pools/small", "user").status_code == 403
    assert api.delete("/api/v2/pools/small").status_code == 204


def test_xcom_entries(api: Api) -> None:
    api.post("/api/v2/dags/report/dagRuns", json={"logical_date": None, "dag_run_id": "r"})
    base = "/api/v2/dags/report/dagRuns/r/taskInstances/only/xcomEntries"
    created = api.post(base, json={"key": "k", "value": {"rows": 3}})
    assert created.status_code == 201 and created.json()["value"] == {"rows": 3}
    assert api.post(base, json={"key": "k", "value": 1}).status_code == 409
    assert api.get(f"{base}/k").json()["value"] == {"rows": 3}
    assert api.get(f"{base}/k", params={"stringify": "true"}).json()["value"] == '{"rows": 3}'
    listed = api.get("/api/v2/dags/~/dagRuns/~/taskInstances/~/xcomEntries").json()
    assert listed["total_entries"] == 1 and "value" not in listed["xcom_entries"][0]
    assert api.delete(f"{base}/k").status_code == 204
    assert api.get(f"{base}/k").status_code == 404


def test_xcom_create_and_patch_answer_the_entry_as_stored(api: Api) -> None:
    api.post("/api/v2/dags/report/dagRuns", json={"logical_date": None, "dag_run_id": "r"})
    base = "/api/v2/dags/report/dagRuns/r/taskInstances/only/xcomEntries"
    created = api.post(base, json={"key": "k", "value": [1, 2]}).json()
    assert created == api.get(f"{base}/k").json()
    patched = api.patch(f"{base}/k", json={"value": {"n": 2}})
    assert patched.status_code == 200 and patched.json()["value"] == {"n": 2}
    assert patched.json() == api.get(f"{base}/k").json()
    assert api.patch(f"{base}/nope", json={"value": 1}).status_code == 404


def test_config_is_hidden_unless_exposed(api: Api) -> None:
    assert api.get("/api/v2/config").status_code == 403
    api.env.settings.set("api", "expose_config", True)
    config = api.get("/api/v2/config", headers={"Accept": "application/json"}).json()
    options = {(s["name"], o["key"]): o["value"] for s in config["sections"] for o in s["options"]}
    assert options[("api", "secret_key")] == "< hidden >"
    assert options[("core", "fernet_key")] == "< hidden >"
    assert api.get("/api/v2/config", "viewer").status_code == 403
    assert api.get("/api/v2/config", params={"section": "nope"}).status_code == 404


def test_config_non_sensitive_only_shows_it_with_secrets_hidden(api: Api, tmp_path: Path) -> None:
    from tradewind.settings import config_exposure, load_settings

    # Airflow's word, from the environment or the file; "false" in either hides it all.
    env = {"TRADEWIND__API__EXPOSE_CONFIG": "non-sensitive-only"}
    assert config_exposure(load_settings(tmp_path, environ=env).get("api", "expose_config"))
    (tmp_path / "tradewind.toml").write_text('[api]\nexpose_config = "false"\n')
    assert config_exposure(load_settings(tmp_path, environ={}).get("api", "expose_config")) is None

    api.env.settings.set("api", "expose_config", "non-sensitive-only")
    config = api.get("/api/v2/config", headers={"Accept": "application/json"}).json()
    options = {(s["name"], o["key"]): o["value"] for s in config["sections"] for o in s["options"]}
    assert options[("api", "secret_key")] == "< hidden >"
    assert options[("api", "expose_config")] == "non-sensitive-only"
    one = api.get(
        "/api/v2/config/section/core/option/dags_folder", headers={"Accept": "text/plain"}
    )
    assert one.status_code == 200 and "dags_folder = " in one.text
    api.env.settings.set("api", "expose_config", "False")
    assert api.get("/api/v2/config").status_code == 403


def test_backfill_create_list_pause_cancel(api: Api) -> None:
    body = {"dag_id": "etl", "from_date": "2026-01-01T00:00:00Z", "to_date": "2026-01-03T00:00:00Z"}
    dry = api.post("/api/v2/backfills/dry_run", json=body).json()
    assert dry["total_entries"] == 3
    created = api.post("/api/v2/backfills", json=body)
    assert created.status_code == 200, created.text
    backfill_id = created.json()["id"]
    runs = api.get("/api/v2/dags/etl/dagRuns", params={"run_type": "backfill"}).json()
    assert runs["total_entries"] == 3
    assert api.post("/api/v2/backfills", json=body).status_code == 409
    assert api.put(f"/api/v2/backfills/{backfill_id}/pause").json()["is_paused"] is True
    listed = api.get("/api/v2/backfills", params={"dag_id": "etl"}).json()
    assert listed["total_entries"] == 1
    assert api.put(f"/api/v2/backfills/{backfill_id}/cancel").status_code == 200
    assert api.post("/api/v2/backfills", "viewer", json=body).status_code == 403


def test_import_errors_are_listed(api: Api) -> None:
    answer = api.get("/api/v2/importErrors")
    assert answer.status_code == 200 and answer.json() == {"import_errors": [], "total_entries": 0}
    assert api.get("/api/v2/importErrors/1").status_code == 404
