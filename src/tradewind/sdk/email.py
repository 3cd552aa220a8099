"""E-mail: ``send_email`` over SMTP with the ``[smtp]`` settings, and failure alerts.

Settings are read when a mail is sent (``TRADEWIND__SMTP__SMTP_HOST`` etc. override the file),
never at import time.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
from collections.abc import Iterable
from email.message import EmailMessage
from typing import Any

log = logging.getLogger("tradewind.task")


def _addresses(value: str | Iterable[str] | None) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        return [a.strip() for a in value.replace(";", ",").split(",") if a.strip()]
    return [a for v in value for a in _addresses(v)]


def _smtp_settings() -> dict[str, Any]:
    from tradewind.settings import load_settings

    settings = load_settings()
    return {
        k: settings.get("smtp", k)
        for k in (
            "smtp_host",
            "smtp_port",
            "smtp_starttls",
            "smtp_ssl",
            "smtp_user",
            "smtp_password",
            "smtp_mail_from",
            "smtp_timeout",
        )
    }


def build_message(
    to: list[str],
    subject: str,
    html_content: str,
    *,
    mail_from: str,
    cc: list[str],
    files: list[str],
    mime_charset: str = "utf-8",
) -> EmailMessage:
    """Return the message: an HTML body with a plain-text part, and attached files."""
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = mail_from
    msg["To"] = ", ".join(to)
    if cc:
        msg["Cc"] = ", ".join(cc)
    msg.set_content(
        "This message is HTML; open it in a mail reader that shows HTML.", charset=mime_charset
    )
    msg.add_alternative(html_content, subtype="html", charset=mime_charset)
    for path in files:
        with open(path, "rb") as f:
            msg.add_attachment(
                f.read(),
                maintype="application",
                subtype="octet-stream",
                filename=os.path.basename(path),
            )
    return msg


def send_email(
    to: str | Iterable[str],
    subject: str,
    html_content: str,
    files: Iterable[str] | None = None,
    cc: str | Iterable[str] | None = None,
    bcc: str | Iterable[str] | None = None,
    mime_charset: str = "utf-8",
    from_email: str | None = None,
    smtp: dict[str, Any] | None = None,
    **_: Any,
) -> None:
    """Send an HTML e-mail through the configured SMTP server.

    Args:
        to / cc / bcc: addresses (a list, or a string separated by commas or semicolons).
        subject, html_content: the message.
        files: paths attached to the message.
        smtp: settings overriding ``[smtp]`` (same keys: smtp_host, smtp_port...).
    """
    conf = {**_smtp_settings(), **(smtp or {})}
    recipients = _addresses(to)
    if not recipients:
        raise ValueError("send_email needs at least one recipient")
    cc_list, bcc_list = _addresses(cc), _addresses(bcc)
    msg = build_message(
        recipients,
        subject,
        html_content,
        mail_from=from_email or conf["smtp_mail_from"],
        cc=cc_list,
        files=list(files or []),
        mime_charset=mime_charset,
    )
    if conf.get("smtp_password"):
        from tradewind.core.masking import add_secret

        add_secret(conf["smtp_password"])
    host, port, timeout = conf["smtp_host"], int(conf["smtp_port"]), float(conf["smtp_timeout"])
    client: smtplib.SMTP = (
        smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
        if conf.get("smtp_ssl")
        else smtplib.SMTP(host, port, timeout=timeout)
    )
    with client:
        if conf.get("smtp_starttls") and not conf.get("smtp_ssl"):
            client.starttls(context=ssl.create_default_context())
        if conf.get("smtp_user") and conf.get("smtp_password"):
            client.login(conf["smtp_user"], conf["smtp_password"])
        client.send_message(msg, to_addrs=recipients + cc_list + bcc_list)
    log.info("Sent an e-mail to %s", recipients + cc_list)


def send_failure_email(task: Any, state: str, context: dict[str, Any], error: str | None) -> None:
    """Tell ``task.email`` that a try failed (``email_on_failure`` / ``email_on_retry``)."""
    from html import escape

    from tradewind.core.masking import redact

    ti = context.get("ti")
    try_number = getattr(ti, "try_number", "?")
    title = "Retry" if state == "up_for_retry" else "Failure"
    subject = f"Tradewind alert: {title}: {getattr(ti, 'dag_id', '')}.{task.task_id} ({context.get('run_id')}) try {try_number}"
    body = (
        f"<p>Try {try_number} of task <b>{escape(task.task_id)}</b> in DAG <b>{escape(str(getattr(ti, 'dag_id', '')))}</b>, "
        f"run <code>{escape(str(context.get('run_id')))}</code>, ended <b>{escape(state)}</b>.</p>"
        f"<p>Host: {escape(str(getattr(ti, 'hostname', '')))}</p>"
        f"<pre>{escape(redact(error or '')[-5000:])}</pre>"
    )
    send_email(task.email, subject, body)
