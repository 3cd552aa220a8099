"""SmtpNotifier: an e-mail through ``[smtp]`` (the same support as ``email_on_failure``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tradewind.notifications.basenotifier import BaseNotifier

_DEFAULT_SUBJECT = "Tradewind: {{ dag.dag_id if dag else '' }} {{ ti.task_id if ti else '' }}"
_DEFAULT_BODY = (
    "DAG {{ dag.dag_id if dag else '' }}, run {{ run_id or '' }}"
    "{% if ti %}, task {{ ti.task_id }}, try {{ ti.try_number }}{% endif %}"
    "{% if exception %}<br>Error: {{ exception }}{% endif %}"
)


class SmtpNotifier(BaseNotifier):
    """Send an HTML e-mail (Airflow's ``SmtpNotifier`` arguments).

    Args:
        to: recipients (list, or a string separated by commas).
        subject / html_content: templated with the context.
        from_email, cc, bcc, files: as ``send_email``.
    """

    template_fields = ("to", "subject", "html_content", "from_email", "cc", "bcc")

    def __init__(
        self,
        to: str | Iterable[str],
        subject: str | None = None,
        html_content: str | None = None,
        from_email: str | None = None,
        cc: str | Iterable[str] | None = None,
        bcc: str | Iterable[str] | None = None,
        files: Iterable[str] | None = None,
        smtp_conn_id: str | None = None,
    ):
        self.to = to
        self.subject = subject or _DEFAULT_SUBJECT
        self.html_content = html_content or _DEFAULT_BODY
        self.from_email = from_email
        self.cc = cc
        self.bcc = bcc
        self.files = list(files or [])
        self.smtp_conn_id = smtp_conn_id

    def notify(self, context: dict[str, Any]) -> None:
        from tradewind.sdk.email import send_email

        send_email(
            self.to,
            str(self.subject),
            str(self.html_content),
            files=self.files,
            cc=self.cc,
            bcc=self.bcc,
            from_email=self.from_email,
        )
