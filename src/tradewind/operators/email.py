"""EmailOperator: send an e-mail through the ``[smtp]`` server."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tradewind.sdk.baseoperator import BaseOperator


class EmailOperator(BaseOperator):
    """Send an HTML e-mail.

    Args:
        to: recipients (list or comma-separated string, templated).
        subject / html_content: templated; ``html_content`` may be a ``.html`` file.
        files: paths of attachments.
        cc / bcc: more recipients.
        smtp: settings overriding ``[smtp]`` for this task (smtp_host, smtp_port...).
    """

    template_fields: Sequence[str] = ("to", "subject", "html_content", "files")
    template_fields_renderers = {"html_content": "html"}
    template_ext: Sequence[str] = (".html",)
    ui_color = "#e6faf9"

    def __init__(
        self,
        *,
        to: list[str] | str,
        subject: str,
        html_content: str,
        files: list[str] | None = None,
        cc: list[str] | str | None = None,
        bcc: list[str] | str | None = None,
        mime_charset: str = "utf-8",
        from_email: str | None = None,
        smtp: dict[str, Any] | None = None,
        conn_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.to = to
        self.subject = subject
        self.html_content = html_content
        self.files = files or []
        self.cc = cc
        self.bcc = bcc
        self.mime_charset = mime_charset
        self.from_email = from_email
        self.smtp = smtp
        self.conn_id = conn_id

    def _smtp_from_connection(self) -> dict[str, Any]:
        if not self.conn_id:
            return {}
        from tradewind.hooks.base import BaseHook

        c = BaseHook.get_connection(self.conn_id)
        extra = c.extra_dejson
        out: dict[str, Any] = {
            "smtp_host": c.host,
            "smtp_user": c.login or "",
            "smtp_password": c.password or "",
        }
        if c.port:
            out["smtp_port"] = c.port
        for key in ("smtp_starttls", "smtp_ssl", "smtp_mail_from"):
            if key in extra:
                out[key] = extra[key]
        return out

    def execute(self, context: dict[str, Any]) -> None:
        from tradewind.sdk.email import send_email

        send_email(
            self.to,
            self.subject,
            self.html_content,
            files=self.files,
            cc=self.cc,
            bcc=self.bcc,
            mime_charset=self.mime_charset,
            from_email=self.from_email,
            smtp={**self._smtp_from_connection(), **(self.smtp or {})},
        )
