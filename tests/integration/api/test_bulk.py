"""Bulk PATCH of variables, connections and pools with Airflow's body, through the
official client: per-action results, ``action_on_existence`` / ``action_on_non_existence``."""

from __future__ import annotations

import pytest
from tests.integration.api.conftest import Api

client = pytest.importorskip("airflow_client.client")
from airflow_client.client.api import ConnectionApi, PoolApi, VariableApi  # noqa: E402
from airflow_client.client.models import (  # noqa: E402
    BulkBodyConnectionBody,
    BulkBodyPoolBody,
    BulkBodyVariableBody,
    ConnectionBody,
    PoolBody,
    VariableBody,
)


def _body(model: type, *actions: dict) -> object:
    return model.from_dict({"actions": list(actions)})


def test_bulk_variables_create_update_delete(api: Api, airflow_client: object) -> None:
    variables = VariableApi(airflow_client)
    variables.post_variable(VariableBody(key="old", value="1"))
    answer = variables.bulk_variables(
        _body(
            BulkBodyVariableBody,
            {"action": "create", "entities": [{"key": "a", "value": "x"}, {"key": "b", "value": 2}]},
            {"action": "update", "entities": [{"key": "a", "value": "y", "description": "d"}],
             "update_mask": ["value"]},
            {"action": "delete", "entities": ["old"]},
        )
    )  # fmt: skip
    assert answer.create.success == ["a", "b"] and answer.create.errors == []
    assert answer.update.success == ["a"] and answer.delete.success == ["old"]
    assert variables.get_variable("a").value == "y"
    assert variables.get_variable("a").description is None  # not in the update mask
    assert variables.get_variable("b").value == "2"
    assert {v.key for v in variables.get_variables().variables} == {"a", "b"}


def test_create_fails_whole_on_existing_unless_skip_or_overwrite(
    api: Api, airflow_client: object
) -> None:
    variables = VariableApi(airflow_client)
    variables.post_variable(VariableBody(key="a", value="first"))
    entities = [{"key": "a", "value": "second"}, {"key": "new", "value": "n"}]
    failed = variables.bulk_variables(
        _body(BulkBodyVariableBody, {"action": "create", "entities": entities})
    )
    assert failed.create.success == []
    assert failed.create.errors[0]["status_code"] == 409
    assert "'a'" in failed.create.errors[0]["error"]
    assert variables.get_variables().total_entries == 1  # nothing half done

    skipped = variables.bulk_variables(
        _body(
            BulkBodyVariableBody,
            {"action": "create", "entities": entities, "action_on_existence": "skip"},
        )
    )
    assert skipped.create.success == ["new"] and variables.get_variable("a").value == "first"
    overwritten = variables.bulk_variables(
        _body(
            BulkBodyVariableBody,
            {"action": "create", "entities": entities[:1], "action_on_existence": "overwrite"},
        )
    )
    assert overwritten.create.success == ["a"] and variables.get_variable("a").value == "second"


def test_update_and_delete_of_missing_fail_unless_skip(api: Api, airflow_client: object) -> None:
    variables = VariableApi(airflow_client)
    variables.post_variable(VariableBody(key="here", value="1"))
    answer = variables.bulk_variables(
        _body(
            BulkBodyVariableBody,
            {"action": "update", "entities": [{"key": "here", "value": "2"},
                                              {"key": "gone", "value": "3"}]},
            {"action": "delete", "entities": ["gone", "here"], "action_on_non_existence": "skip"},
        )
    )  # fmt: skip
    assert answer.update.success == [] and answer.update.errors[0]["status_code"] == 404
    assert "'gone'" in answer.update.errors[0]["error"]
    assert answer.delete.success == ["here"]
    assert answer.create is None
    assert variables.get_variables().total_entries == 0


def test_bulk_connections(api: Api, airflow_client: object) -> None:
    conns = ConnectionApi(airflow_client)
    conns.post_connection(ConnectionBody(connection_id="pg", conn_type="postgres", host="h"))
    answer = conns.bulk_connections(
        _body(
            BulkBodyConnectionBody,
            {"action": "create", "entities": [{"connection_id": "web", "conn_type": "http",
                                               "host": "example.com", "password": "pw"}]},
            {"action": "update", "entities": [{"connection_id": "pg", "conn_type": "postgres",
                                               "host": "db.internal"}],
             "update_mask": ["host"]},
            {"action": "delete", "entities": [{"connection_id": "nope", "conn_type": "x"}]},
        )
    )  # fmt: skip
    assert answer.create.success == ["web"] and answer.update.success == ["pg"]
    assert answer.delete.errors[0]["status_code"] == 404
    assert conns.get_connection("pg").host == "db.internal"
    assert conns.get_connection("web").password == "***"


def test_bulk_pools(api: Api, airflow_client: object) -> None:
    pools = PoolApi(airflow_client)
    pools.post_pool(PoolBody(name="small", slots=2))
    answer = pools.bulk_pools(
        _body(
            BulkBodyPoolBody,
            {"action": "create", "entities": [{"name": "big", "slots": 64}]},
            {"action": "update", "entities": [{"name": "small", "slots": 5}]},
            {"action": "delete", "entities": ["default_pool"]},
        )
    )
    assert answer.create.success == ["big"] and answer.update.success == ["small"]
    assert answer.delete.success == [] and answer.delete.errors[0]["status_code"] == 400
    assert pools.get_pool("small").slots == 5 and pools.get_pool("big").open_slots == 64
    assert pools.get_pool("default_pool").slots == 128


def test_bulk_needs_the_permission_of_each_action(api: Api) -> None:
    body = {"actions": [{"action": "delete", "entities": ["x"]}]}
    assert api.patch("/api/v2/variables", user="viewer", json=body).status_code == 403
    assert api.patch("/api/v2/pools", user="user", json=body).status_code == 403
    answer = api.patch("/api/v2/variables", user="op", json=body)
    assert answer.status_code == 200 and answer.json()["delete"]["errors"][0]["status_code"] == 404


def test_a_bad_bulk_body_is_a_422(api: Api) -> None:
    body = {"actions": [{"action": "merge", "entities": []}]}
    assert api.patch("/api/v2/variables", json=body).status_code == 422
    body = {
        "actions": [{"action": "create", "entities": [{"key": "k"}], "action_on_existence": "x"}]
    }
    assert api.patch("/api/v2/variables", json=body).status_code == 422


def test_create_default_connections_adds_only_missing_ones(
    api: Api, airflow_client: object
) -> None:
    conns = ConnectionApi(airflow_client)
    conns.post_connection(
        ConnectionBody(connection_id="http_default", conn_type="http", host="mine")
    )
    assert conns.create_default_connections() is None  # 204
    ids = {c.connection_id for c in conns.get_connections(limit=100).connections}
    assert {"fs_default", "postgres_default", "sqlite_default", "http_default"} <= ids
    assert conns.get_connection("http_default").host == "mine"  # kept, not overwritten
    assert api.post("/api/v2/connections/defaults", user="user").status_code == 403
    conns.create_default_connections()  # again: nothing to add, still fine
    assert conns.get_connections(limit=100).total_entries == len(ids)
