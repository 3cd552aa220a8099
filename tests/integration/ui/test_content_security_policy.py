"""Every UI page is served with a strict Content-Security-Policy, and none needs inline code."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
INLINE_STYLE = re.compile(r"<style\b|<[^>]+\sstyle\s*=", re.I)


def _routes(routes: list[Any]) -> list[APIRoute]:
    """The routes of a router, those of the routers it includes too (FastAPI keeps them lazily)."""
    found: list[APIRoute] = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            found += _routes(inner.routes)
        elif isinstance(route, APIRoute):
            found.append(route)
    return found


def _ui_paths(run_id: str) -> list[str]:
    """Every GET route of the UI, with a real DAG, run and task filled in."""
    from tradewind.ui.routes import router

    query = f"?run_id={quote(run_id)}&task_id=boom"
    paths = []
    for route in _routes(router.routes):
        if "GET" not in route.methods:
            continue
        path = route.path.replace("{dag_id}", "broken_dag").replace("{name}", "app.js")
        paths.append(path + (query if "broken_dag" in path else ""))
    return sorted(set(paths))


def test_every_ui_page_has_the_policy_and_no_inline_code(
    app: FastAPI, client_for: Callable[[str], TestClient]
) -> None:
    client = client_for("admin")
    grid = client.get("/dags/broken_dag/grid")
    run_id = grid.text.split('data-run-id="', 1)[1].split('"', 1)[0]
    paths = _ui_paths(run_id)
    assert len(paths) >= 20, paths
    for path in paths:
        resp = client.get(path, follow_redirects=False)
        assert resp.status_code in (200, 301, 303), (path, resp.status_code)
        policy = resp.headers.get("content-security-policy", "")
        assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy, path
        assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy, path
        if resp.headers.get("content-type", "").startswith("text/html"):
            assert not INLINE_SCRIPT.search(resp.text), path
            assert not INLINE_HANDLER.search(resp.text), path
            assert not INLINE_STYLE.search(resp.text), path


def test_login_and_error_pages_have_the_policy_too(app: FastAPI) -> None:
    anonymous = TestClient(app, base_url="http://127.0.0.1")
    for path in ("/login", "/dags", "/no/such/page", "/api/v2/dags"):
        resp = anonymous.get(path, follow_redirects=False)
        assert "script-src 'self'" in resp.headers.get("content-security-policy", ""), path
    # FastAPI's API explorer loads Swagger UI from a CDN with an inline script: left out.
    docs = anonymous.get("/docs")
    assert docs.status_code == 200 and "content-security-policy" not in docs.headers


def test_highlighted_code_styles_come_from_a_file(client_for: Callable[[str], TestClient]) -> None:
    client = client_for("viewer")
    page = client.get("/dags/broken_dag/code")
    assert '<link rel="stylesheet" href="/static/code.css">' in page.text
    css = client.get("/static/code.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert ".code" in css.text
