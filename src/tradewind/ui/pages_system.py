"""The XCom browser, the configuration view (``[api] expose_config``) and plugins/providers."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from tradewind.core.masking import is_sensitive_key
from tradewind.core.permissions import Resource
from tradewind.services.xcom import XComService
from tradewind.settings import config_exposure
from tradewind.ui.auth import env_of, require
from tradewind.ui.pages_dags import xcom_value
from tradewind.ui.rendering import render

router = APIRouter(include_in_schema=False)
PAGE = 50
HIDDEN = "< hidden >"
#: The operator families Tradewind ships (what Airflow installs as providers).
BUILT_IN_PACKAGES = [
    "tradewind.operators",
    "tradewind.sensors",
    "tradewind.hooks",
    "tradewind.transfers",
]


def built_in_modules() -> list[dict[str, Any]]:
    """Each built-in family and its public modules (read from the package, not a list)."""
    import importlib
    import pkgutil

    out = []
    for name in BUILT_IN_PACKAGES:
        package = importlib.import_module(name)
        modules = sorted(
            m.name for m in pkgutil.iter_modules(package.__path__) if not m.name.startswith("_")
        )
        out.append({"package": name, "modules": [f"{name}.{m}" for m in modules]})
    return out


@router.get("/browse/xcoms", response_class=HTMLResponse)
def xcom_browser(
    request: Request,
    dag_id: str = "",
    run_id: str = "",
    task_id: str = "",
    key: str = "",
    page: int = Query(1, ge=1, le=100_000),
) -> HTMLResponse:
    """Every XCom, newest first, filtered by DAG, run, task and key (secrets masked)."""
    user = require(request, Resource.XCOM)
    items, more = XComService(env_of(request)).browse(
        dag_id=dag_id, run_id=run_id, task_id=task_id, key=key, limit=PAGE,
        offset=(page - 1) * PAGE,
    )  # fmt: skip
    rows = [{"x": x, "value": xcom_value(x)} for x in items]
    return render(
        request,
        "browse_xcoms.html",
        user,
        rows=rows,
        more=more,
        page=page,
        filters={"dag_id": dag_id, "run_id": run_id, "task_id": task_id, "key": key},
        title="XComs",
    )


def config_sections(settings: Any) -> list[dict[str, Any]]:
    """The settings by section; secrets and the metastore URL hidden (as the API does)."""
    out = []
    for name, keys in settings.as_dict().items():
        options = []
        for key, value in sorted(keys.items()):
            secret = is_sensitive_key(key) or key.endswith("_key") or key == "sql_alchemy_conn"
            options.append({"key": key, "value": HIDDEN if secret else value})
        out.append({"name": name, "options": options})
    return out


@router.get("/admin/config", response_class=HTMLResponse)
def config_view(request: Request) -> HTMLResponse:
    """The configuration, only when ``[api] expose_config`` allows it (as Airflow)."""
    user = require(request, Resource.CONFIG)
    env = env_of(request)
    exposed = config_exposure(env.settings.get("api", "expose_config")) is not None
    sections = config_sections(env.settings) if exposed else []
    return render(
        request,
        "admin_config.html",
        user,
        exposed=bool(exposed),
        sections=sections,
        config_file=str(env.settings.config_file),
        title="Configuration",
    )


def _installed_providers() -> list[dict[str, str]]:
    """Packages registering Tradewind plugins through the ``tradewind.plugins`` entry point."""
    seen: dict[str, dict[str, str]] = {}
    for ep in entry_points(group="tradewind.plugins"):
        dist = getattr(ep, "dist", None)
        name = getattr(dist, "name", None) or ep.module
        version = getattr(dist, "version", "") or ""
        seen.setdefault(name, {"package": name, "version": version, "description": ep.value})
    return sorted(seen.values(), key=lambda p: p["package"])


@router.get("/admin/plugins", response_class=HTMLResponse)
def plugins_view(request: Request) -> HTMLResponse:
    """The loaded plugins (and those that failed), the built-in operator families and providers."""
    from tradewind import __version__
    from tradewind.plugins_manager import load_plugins, plugin_summaries

    user = require(request, Resource.PLUGIN)
    env = env_of(request)
    loaded = load_plugins(env.settings)
    return render(
        request,
        "admin_plugins.html",
        user,
        plugins=plugin_summaries(loaded),
        errors=loaded.errors,
        built_in=built_in_modules(),
        providers=_installed_providers(),
        version=__version__,
        plugins_folder=str(env.settings.get("core", "plugins_folder")),
        title="Plugins and providers",
    )
