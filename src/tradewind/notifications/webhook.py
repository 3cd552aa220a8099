"""Notifiers that POST JSON to a URL kept in a connection: a generic webhook, and Slack's
incoming-webhook format (which Mattermost, Rocket.Chat and Teams' Slack-compatible hooks
accept too)."""

from __future__ import annotations

import json
from typing import Any

from tradewind.notifications.basenotifier import BaseNotifier


class WebhookNotifier(BaseNotifier):
    """POST ``payload`` (JSON, templated) to the connection's URL plus ``endpoint``.

    Args:
        http_conn_id: an ``http`` connection: host (or a full URL), login/password for basic
            auth, extra ``headers``.
        payload: a dict, rendered with the context (strings in it may use Jinja).
        endpoint: appended to the connection's base URL.
    """

    template_fields: tuple[str, ...] = ("payload", "endpoint")

    def __init__(
        self,
        http_conn_id: str = "http_default",
        payload: dict[str, Any] | None = None,
        endpoint: str = "",
        method: str = "POST",
        timeout: float = 30.0,
    ):
        self.http_conn_id = http_conn_id
        self.payload = payload or {"text": "{{ dag.dag_id if dag else '' }}: {{ reason or '' }}"}
        self.endpoint = endpoint
        self.method = method
        self.timeout = timeout

    def _body(self) -> dict[str, Any]:
        return dict(self.payload)

    def notify(self, context: dict[str, Any]) -> None:
        from tradewind.hooks.http import HttpHook

        hook = HttpHook(self.method, self.http_conn_id, timeout=self.timeout)
        with hook.get_conn(headers={"Content-Type": "application/json"}) as client:
            answer = client.request(
                self.method,
                hook.url_for(self.endpoint),
                content=json.dumps(self._body(), default=str),
            )
        answer.raise_for_status()


class SlackWebhookNotifier(WebhookNotifier):
    """Slack's incoming webhook: ``{"text", "channel", "username", "icon_emoji"}``.

    Args:
        slack_webhook_conn_id: the connection whose host (and password, as Slack's
            provider keeps the ``/services/...`` path there) makes the webhook URL.
        text: the message (templated).
    """

    template_fields = ("text", "channel", "username", "blocks")

    def __init__(
        self,
        slack_webhook_conn_id: str = "slack_default",
        text: str = "{{ dag.dag_id if dag else '' }} needs attention",
        channel: str | None = None,
        username: str | None = None,
        icon_emoji: str | None = None,
        blocks: list[Any] | None = None,
        timeout: float = 30.0,
    ):
        super().__init__(http_conn_id=slack_webhook_conn_id, timeout=timeout)
        self.text = text
        self.channel = channel
        self.username = username
        self.icon_emoji = icon_emoji
        self.blocks = blocks

    def _body(self) -> dict[str, Any]:
        body = {
            "text": self.text,
            "channel": self.channel,
            "username": self.username,
            "icon_emoji": self.icon_emoji,
            "blocks": self.blocks,
        }
        return {k: v for k, v in body.items() if v is not None}

    def notify(self, context: dict[str, Any]) -> None:
        import httpx

        from tradewind.hooks.http import HttpHook

        hook = HttpHook("POST", self.http_conn_id, timeout=self.timeout)
        conn = hook.connection
        url = hook.base_url()
        if conn.password:  # Slack's provider: the token path is the connection's password
            from tradewind.core.masking import add_secret

            add_secret(conn.password)
            url = f"{url}/{conn.password.lstrip('/')}"
        answer = httpx.post(url, json=self._body(), timeout=self.timeout)
        answer.raise_for_status()
