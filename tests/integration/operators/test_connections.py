"""Connections and variables: CRUD, URIs, encryption at rest, key rotation, CLI, masking."""

from __future__ import annotations

import json
import sqlite3

import pytest
from cryptography.fernet import Fernet

from tradewind.errors import AlreadyExists, NotFound
from tradewind.hooks.base import BaseHook, Connection
from tradewind.services import connections as conns
from tradewind.services import variables as vars_


def raw_rows(home, sql):
    with sqlite3.connect(home / "tradewind.db") as db:
        return db.execute(sql).fetchall()


def test_uri_round_trip_keeps_every_field():
    uri = "postgresql://us%40er:p%3Ass@db.example.com:5433/warehouse?sslmode=require"
    c = Connection.from_uri("pg", uri)
    assert (c.conn_type, c.host, c.port, c.schema, c.login, c.password) == (
        "postgres",
        "db.example.com",
        5433,
        "warehouse",
        "us@er",
        "p:ss",
    )
    assert c.extra_dejson == {"sslmode": "require"}
    again = Connection.from_uri("pg", c.get_uri())
    assert again == c
    assert Connection.from_uri("lite", "sqlite:////tmp/a.db").host == "/tmp/a.db"
    nested = Connection(
        conn_id="x", conn_type="http", host="h", extra=json.dumps({"headers": {"A": "b"}})
    )
    assert Connection.from_uri("x", nested.get_uri()).extra_dejson == {"headers": {"A": "b"}}
    assert "p:ss" not in repr(c)


def test_crud_encrypts_password_and_extra_at_rest(env, tw_home):
    with env.db.session() as s:
        conns.add_connection(
            env,
            s,
            {
                "conn_id": "pg",
                "conn_type": "postgres",
                "host": "h",
                "login": "u",
                "password": "hunter22",
                "extra": {"token": "tok-123"},
            },
        )
    with env.db.session() as s, pytest.raises(AlreadyExists):
        conns.add_connection(env, s, {"conn_id": "pg", "conn_type": "postgres"})
    ((password, extra),) = raw_rows(tw_home, "select password, extra from connection")
    assert "hunter22" not in password and "tok-123" not in extra
    with env.db.session() as s:
        got = conns.get_connection(env, s, "pg")
        assert got["password"] == "hunter22" and json.loads(got["extra"]) == {"token": "tok-123"}
        shown = conns.masked(got)
        assert shown["password"] == "***" and json.loads(shown["extra"]) == {"token": "***"}
        conns.update_connection(env, s, "pg", {"host": "other"})
    with env.db.session() as s:
        assert conns.get_connection(env, s, "pg")["host"] == "other"
        conns.delete_connection(s, "pg")
    with env.db.session() as s, pytest.raises(NotFound):
        conns.get_connection(env, s, "pg")


def test_environment_overrides_and_variables(env, monkeypatch, tw_home):
    monkeypatch.setenv("TRADEWIND_CONN_FROM_ENV", "mysql://root:pw@127.0.0.1:3306/test")
    monkeypatch.setenv("TRADEWIND_VAR_REGION", "eu")
    with env.db.session() as s:
        assert conns.get_connection_dict(env, s, "from_env")["conn_type"] == "mysql"
        assert vars_.get_variable_value(env, s, "region") == "eu"
        vars_.set_variable(env, s, "cfg", {"a": [1, 2]})
        vars_.set_variable(env, s, "db_password", "s3cret-var")
    assert "s3cret-var" not in str(raw_rows(tw_home, "select val from variable"))
    assert BaseHook.get_connection("from_env").password == "pw"
    with env.db.session() as s:
        assert vars_.get_variable(env, s, "cfg", deserialize_json=True) == {"a": [1, 2]}
        assert vars_.export_variables(env, s) == {"cfg": {"a": [1, 2]}, "db_password": "s3cret-var"}


def test_rotate_fernet_key_re_encrypts_with_the_new_key(env):
    with env.db.session() as s:
        conns.add_connection(env, s, {"conn_id": "c", "conn_type": "http", "password": "pw-before"})
        vars_.set_variable(env, s, "v", "value-before")
    old = env.settings.get("core", "fernet_key")
    new = Fernet.generate_key().decode()
    env.settings.set("core", "fernet_key", f"{new},{old}")
    with env.db.session() as s:
        assert conns.rotate_fernet_key(s, env) == {"connections": 1, "variables": 1}
    env.settings.set("core", "fernet_key", new)  # the old key is gone: everything still reads
    with env.db.session() as s:
        assert conns.get_connection(env, s, "c")["password"] == "pw-before"
        assert vars_.get_variable(env, s, "v") == "value-before"


def test_cli_connections_and_variables(cli_runner, tw_home, tmp_path):
    cli_runner(
        "connections", "add", "pg", "--conn-uri", "postgresql://me:topsecret@127.0.0.1:5432/test"
    )
    cli_runner(
        "connections",
        "add",
        "web",
        "--conn-type",
        "http",
        "--conn-host",
        "example.com",
        "--conn-password",
        "alsosecret",
    )
    cli_runner("connections", "add", "pg", "--conn-type", "postgres", expect=1)
    listed = cli_runner("connections", "list", "-o", "json").stdout
    assert "topsecret" not in listed and "alsosecret" not in listed
    assert {c["conn_id"] for c in json.loads(listed)} == {"pg", "web"}
    got = json.loads(cli_runner("connections", "get", "pg", "-o", "json").stdout)
    assert got["password"] == "***" and got["login"] == "me"
    out = tmp_path / "conns.json"
    cli_runner("connections", "export", str(out))
    cli_runner("connections", "delete", "pg")
    cli_runner("connections", "get", "pg", expect=1)
    cli_runner("connections", "import", str(out))
    assert json.loads(out.read_text())["pg"]["password"] == "topsecret"
    assert (
        json.loads(cli_runner("connections", "get", "pg", "-o", "json").stdout)["host"]
        == "127.0.0.1"
    )
    cli_runner("variables", "set", "api_key", "k-999")
    cli_runner("variables", "set", "cfg", '{"x": 1}', "-j")
    assert cli_runner("variables", "get", "api_key").stdout.strip() == "k-999"
    assert "k-999" not in cli_runner("variables", "list", "-o", "json").stdout
    vfile = tmp_path / "vars.json"
    cli_runner("variables", "export", str(vfile))
    cli_runner("variables", "delete", "cfg")
    cli_runner("variables", "get", "cfg", expect=1)
    cli_runner("variables", "import", str(vfile))
    assert json.loads(cli_runner("variables", "get", "cfg", "-j").stdout) == {"x": 1}


def test_cli_test_command_reaches_sqlite(cli_runner, tmp_path):
    cli_runner("connections", "add", "lite", "--conn-uri", f"sqlite:///{tmp_path}/x.db")
    assert "success" in cli_runner("connections", "test", "lite").stdout
    cli_runner("connections", "add", "bad", "--conn-uri", "postgresql://nobody:pw@127.0.0.1:1/none")
    assert "failed" in cli_runner("connections", "test", "bad", expect=1).stdout
