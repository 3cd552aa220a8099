"""Templates (autoescaped Jinja2), Markdown without raw HTML, highlighted code, formatting."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader
from markdown_it import MarkdownIt
from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

from tradewind.api.web_session import csrf_token
from tradewind.core.masking import is_sensitive_key, redact
from tradewind.core.permissions import Action, Resource
from tradewind.core.states import DagRunState
from tradewind.ui.auth import can, env_of

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

STATES = [
    "success",
    "running",
    "failed",
    "upstream_failed",
    "up_for_retry",
    "up_for_reschedule",
    "queued",
    "scheduled",
    "deferred",
    "skipped",
    "restarting",
    "removed",
    "none",
]

#: A DAG run's states, for run filters: not the task-instance ones.
RUN_STATES = [s.value for s in DagRunState]

# Raw HTML off: a doc_md containing <script> comes out as text, never as markup.
_markdown = MarkdownIt("commonmark", {"html": False})
_formatter = HtmlFormatter(linenos="table", cssclass="code")


def render_markdown(text: str | None) -> Markup:
    """Markdown to HTML with raw HTML disabled (so it is safe to embed)."""
    return Markup(_markdown.render(text or ""))  # noqa: S704 - html is off in the parser


def highlight_python(source: str) -> Markup:
    """Python source as Pygments HTML (Pygments escapes the source)."""
    return Markup(highlight(source, PythonLexer(), _formatter))  # noqa: S704


def code_css() -> str:
    """The Pygments stylesheet for highlighted code."""
    return str(_formatter.get_style_defs(".code"))


def fmt_dt(value: datetime | None) -> str:
    """A UTC time as ``2026-03-01 12:00:05``."""
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def fmt_duration(seconds: float | None) -> str:
    """Seconds as ``1h02m03s``, ``2m05s`` or ``0.42s``."""
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.2f}s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def exception_line(traceback_text: str | None) -> str:
    """The line of a traceback that names the exception (its last non-blank line)."""
    lines = [line for line in (traceback_text or "").splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def mask_mapping(value: Any) -> Any:
    """A copy of a JSON value with values under secret-looking keys replaced by ``***``."""
    if isinstance(value, dict):
        return {k: "***" if is_sensitive_key(str(k)) else mask_mapping(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_mapping(v) for v in value]
    if isinstance(value, str):
        return redact(value)
    return value


def asset_condition(expr: dict[str, Any] | None, top: bool = True) -> str:
    """A DAG's asset schedule as text: ``s3://a & (s3://b | s3://c)``."""
    if not expr:
        return ""
    if expr.get("__type") == "asset":
        return str(expr.get("uri", ""))
    joiner = " & " if expr.get("__type") == "asset_all" else " | "
    text = joiner.join(asset_condition(o, False) for o in expr.get("objects", []))
    return text if top or len(expr.get("objects", [])) < 2 else f"({text})"


def pretty_json(value: Any) -> str:
    """Indented JSON with secrets masked (autoescaping makes it safe in the page)."""
    return json.dumps(mask_mapping(value), indent=2, sort_keys=True, default=str)


def _make_env() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES_DIR)), autoescape=True)
    env.filters.update(
        dt=fmt_dt,
        duration=fmt_duration,
        pretty_json=pretty_json,
        markdown=render_markdown,
        asset_condition=asset_condition,
        exception_line=exception_line,
    )
    env.globals.update(STATES=STATES, RUN_STATES=RUN_STATES, Resource=Resource, Action=Action)
    return env


_jinja = _make_env()


def render(
    request: Request, template: str, user: Any, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """Render a page with the user, its permissions and the CSRF token in the context."""
    env = env_of(request)
    context.update(
        request=request,
        user=user,
        csrf_token=csrf_token(request, env),
        can=lambda resource, action="read": can(user, Resource(resource), Action(action)),
    )
    html = _jinja.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status_code)
