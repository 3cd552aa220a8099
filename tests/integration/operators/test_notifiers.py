"""Notifiers as callbacks: a webhook (generic and Slack-compatible) against a real HTTP
server on 127.0.0.1, and e-mail through a real SMTP server, in real runs."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest

from tradewind import DAG
from tradewind.notifications import BaseNotifier
from tradewind.notifications.smtp import SmtpNotifier
from tradewind.notifications.webhook import SlackWebhookNotifier, WebhookNotifier
from tradewind.operators.python import PythonOperator

from .conftest import add_connection, run_dag

DAY = datetime(2026, 1, 1, tzinfo=timezone.utc)


class _Hook(http.server.BaseHTTPRequestHandler):
    server: Any

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.posts.append(
            (self.path, self.headers.get("Authorization"), json.loads(body or b"null"))
        )
        self.send_response(500 if self.path.startswith("/down") else 200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


@pytest.fixture
def hook_server() -> Iterator[Any]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    server.posts = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _boom() -> None:
    raise RuntimeError("disk full")


def test_a_failed_task_posts_its_webhook_through_a_stored_connection(
    env: Any, hook_server: Any
) -> None:
    port = hook_server.server_address[1]
    add_connection(env, "alerts", f"http://bot:s3cret@127.0.0.1:{port}")
    notifier = WebhookNotifier(
        http_conn_id="alerts",
        endpoint="/hooks/tw",
        payload={"text": "{{ ti.task_id }} of {{ dag.dag_id }} failed: {{ exception }}"},
    )
    with DAG("notify_fail", schedule=None, start_date=DAY) as dag:
        PythonOperator(task_id="load", python_callable=_boom, on_failure_callback=notifier)
    result = run_dag(env, dag)
    assert result.states == {"load": "failed"}
    ((path, auth, body),) = hook_server.posts
    assert path == "/hooks/tw" and auth and auth.startswith("Basic ")
    assert body["text"].startswith("load of notify_fail failed: ")
    assert "disk full" in body["text"]
    assert notifier.payload["text"].startswith("{{ ti.task_id }}")  # rendered on a copy


def test_slack_compatible_notifier_on_dag_success(
    env: Any, hook_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = hook_server.server_address[1]
    monkeypatch.setenv("TRADEWIND_CONN_SLACK", f"http://:T000%2FB000%2FXXX@127.0.0.1:{port}")
    with DAG(
        "notify_ok",
        schedule=None,
        start_date=DAY,
        on_success_callback=[
            SlackWebhookNotifier(
                slack_webhook_conn_id="slack", text="{{ run_id }} is done", channel="#data"
            )
        ],
    ) as dag:
        PythonOperator(task_id="t", python_callable=lambda: 1)
    result = run_dag(env, dag)
    assert result.state == "success"
    ((path, auth, body),) = hook_server.posts
    assert path == "/T000/B000/XXX" and auth is None  # the token is the path, not a login
    assert body == {"text": f"{result.run_id} is done", "channel": "#data"}


def test_email_notifier_sends_through_smtp(
    env: Any, smtp_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRADEWIND__SMTP__SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("TRADEWIND__SMTP__SMTP_PORT", str(smtp_server.port))
    with DAG("notify_mail", schedule=None, start_date=DAY) as dag:
        PythonOperator(
            task_id="load",
            python_callable=_boom,
            on_failure_callback=SmtpNotifier(
                to="oncall@example.com", subject="{{ ti.task_id }} failed (try {{ ti.try_number }})"
            ),
        )
    assert run_dag(env, dag).states == {"load": "failed"}
    (mail,) = smtp_server.messages
    assert mail.rcpt_tos == ["oncall@example.com"]
    text = mail.content.decode()
    assert "Subject: load failed (try 1)" in text and "disk full" in text


def test_a_notifier_must_implement_notify() -> None:
    class Half(BaseNotifier):
        pass

    with pytest.raises(NotImplementedError, match="Half must implement notify"):
        Half()({})
