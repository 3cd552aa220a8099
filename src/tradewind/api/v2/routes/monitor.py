"""``/monitor/health`` and ``/version`` (no authentication), and ``/config``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from tradewind.api.deps import CurrentUser, EnvDep, permission
from tradewind.api.v2 import schemas as s
from tradewind.core.masking import is_sensitive_key
from tradewind.core.permissions import Action, Resource
from tradewind.errors import NotFound, PermissionDenied, TradewindError
from tradewind.services.jobs import JobService
from tradewind.settings import config_exposure

router = APIRouter()

ReadConfig = Annotated[CurrentUser, permission(Resource.CONFIG, Action.READ)]
_HIDDEN = "< hidden >"


_JOB_TYPES = ("SchedulerJob", "TriggererJob", "DagProcessorJob")


def _component(env: Any, beat: datetime | None, threshold: float) -> tuple[str | None, str | None]:
    if beat is None:
        return None, None
    healthy = env.now() - beat <= timedelta(seconds=threshold)
    return ("healthy" if healthy else "unhealthy"), beat.isoformat()


@router.get("/monitor/health", response_model=s.HealthInfoResponse, tags=["Monitor"])
def get_health(env: EnvDep) -> s.HealthInfoResponse:
    """Metastore and component health from their heartbeats in the job table (no auth)."""
    jobs = JobService(env)
    found = jobs.heartbeats(_JOB_TYPES)
    sched, trig, proc = (
        _component(env, found.latest[kind], jobs.health_threshold) for kind in _JOB_TYPES
    )
    db_ok = found.database_ok
    return s.HealthInfoResponse(
        metadatabase=s.BaseInfoResponse(status="healthy" if db_ok else "unhealthy"),
        scheduler=s.SchedulerInfoResponse(
            status=sched[0] or "unhealthy", latest_scheduler_heartbeat=sched[1]
        ),
        triggerer=s.TriggererInfoResponse(status=trig[0], latest_triggerer_heartbeat=trig[1]),
        dag_processor=s.DagProcessorInfoResponse(
            status=proc[0], latest_dag_processor_heartbeat=proc[1]
        ),
    )


@router.get("/version", response_model=s.VersionInfo, tags=["Version"])
def get_version() -> s.VersionInfo:
    """Tradewind's version (no auth)."""
    from tradewind import __version__

    return s.VersionInfo(version=__version__, git_version=None)


def _sections(env: Any, section: str | None) -> list[s.ConfigSection]:
    values = env.settings.as_dict()
    if section is not None and section not in values:
        raise NotFound(f"Section {section} not found.")
    out = []
    for name, keys in values.items():
        if section is not None and name != section:
            continue
        options = [
            s.ConfigOption(
                key=k,
                value=_HIDDEN
                if is_sensitive_key(k) or k.endswith("_key") or k == "sql_alchemy_conn"
                else str(v),
            )
            for k, v in keys.items()
        ]
        out.append(s.ConfigSection(name=name, options=options))
    return out


def _render(sections: list[s.ConfigSection], accept: str) -> Response:
    if "text/plain" in accept:
        lines = []
        for sec in sections:
            lines.append(f"[{sec.name}]")
            lines.extend(f"{o.key} = {o.value}" for o in sec.options)
            lines.append("")
        return PlainTextResponse("\n".join(lines))
    if accept and not any(t in accept for t in ("application/json", "*/*")):
        return JSONResponse(
            {"detail": "Only application/json or text/plain is supported"}, status_code=406
        )
    return JSONResponse(s.Config(sections=sections).model_dump(mode="json"))


def _check_exposed(env: Any) -> None:
    if config_exposure(env.settings.get("api", "expose_config")) is None:
        raise PermissionDenied(
            "Your Tradewind administrator chose not to expose the configuration, most likely "
            "for security reasons ([api] expose_config)."
        )


@router.get(
    "/config",
    response_model=s.Config,
    tags=["Config"],
    responses={200: {"content": {"text/plain": {}}}},
)
def get_config(
    env: EnvDep,
    _user: ReadConfig,
    section: str | None = None,
    accept: Annotated[str, Header()] = "*/*",
) -> Response:
    """The configuration (403 unless ``[api] expose_config``); secrets shown as ``< hidden >``."""
    _check_exposed(env)
    return _render(_sections(env, section), accept)


@router.get(
    "/config/section/{section}/option/{option}",
    response_model=s.Config,
    tags=["Config"],
    responses={200: {"content": {"text/plain": {}}}},
)
def get_config_value(
    section: str,
    option: str,
    env: EnvDep,
    _user: ReadConfig,
    accept: Annotated[str, Header()] = "*/*",
) -> Response:
    """One configuration option."""
    _check_exposed(env)
    try:
        sections = _sections(env, section)
    except TradewindError:
        raise NotFound(f"Option [{section}/{option}] not found.") from None
    found = [o for o in sections[0].options if o.key == option]
    if not found:
        raise NotFound(f"Option [{section}/{option}] not found.")
    return _render([s.ConfigSection(name=section, options=found)], accept)
