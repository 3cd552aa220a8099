"""``/dagStats``, ``/dagWarnings``, ``/providers`` and ``/plugins/importErrors``."""

from __future__ import annotations

from operator import attrgetter
from typing import Annotated

from fastapi import APIRouter, Query

from tradewind.api.deps import CurrentUser, EnvDep, permission
from tradewind.api.v2 import convert
from tradewind.api.v2 import schemas_catalog as sc
from tradewind.api.v2.params import Limit, Offset, OrderBy
from tradewind.api.v2.schemas import DagRunState
from tradewind.core.permissions import Action, Resource
from tradewind.errors import InvalidInput
from tradewind.services.dags import DagService
from tradewind.services.run_service import RunService

router = APIRouter()

ReadRun = Annotated[CurrentUser, permission(Resource.DAG_RUN, Action.READ)]
ReadWarning = Annotated[CurrentUser, permission(Resource.DAG_WARNING, Action.READ)]
ReadProvider = Annotated[CurrentUser, permission(Resource.PROVIDER, Action.READ)]
ReadPlugin = Annotated[CurrentUser, permission(Resource.PLUGIN, Action.READ)]

_PROVIDERS = [
    ("standard", "Bash, Python, empty and trigger-DAG-run operators; date, time, "
     "time-delta, external-task, file and Python sensors (tradewind.operators, tradewind.sensors)"),
    ("http", "HttpHook, HttpOperator and HttpSensor (tradewind.hooks.http)"),
    ("common.sql", "DbApiHook-style SQL hook, SQL operators and sensors for SQLite, "
     "PostgreSQL, MySQL and MariaDB (tradewind.hooks.sql)"),
    ("smtp", "EmailOperator and email notifications (tradewind.operators.email)"),
    ("filesystem", "FSHook, file transfers and FileSensor (tradewind.hooks.filesystem)"),
]  # fmt: skip
_WARNING_ORDER = {"dag_id", "warning_type", "message", "timestamp"}


@router.get("/dagStats", response_model=sc.DagStatsCollectionResponse, tags=["DagStats"])
def get_dag_stats(
    env: EnvDep, _user: ReadRun, dag_ids: Annotated[list[str] | None, Query()] = None
) -> sc.DagStatsCollectionResponse:
    """Per DAG with runs (or per DAG of ``dag_ids``), how many runs are in each state."""
    found = RunService(env).stats(dag_ids)
    states = [state.value for state in DagRunState]
    # One validation of the whole tree (in pydantic-core), not one model per DAG and state:
    # the list of every DAG is thousands of small objects.
    return sc.DagStatsCollectionResponse.model_validate(
        {
            "dags": [
                {
                    "dag_id": dag_id,
                    "dag_display_name": name,
                    "stats": [{"state": st, "count": counts.get(st, 0)} for st in states],
                }
                for dag_id, name, counts in found
            ],
            "total_entries": len(found),
        }
    )


@router.get("/dagWarnings", response_model=sc.DAGWarningCollectionResponse, tags=["DagWarning"])
def list_dag_warnings(
    env: EnvDep,
    _user: ReadWarning,
    dag_id: str | None = None,
    warning_type: sc.DagWarningType | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
    order_by: OrderBy = None,
) -> sc.DAGWarningCollectionResponse:
    """Warnings about the stored DAGs: today, tasks using a pool that does not exist."""
    found = DagService(env).warnings(dag_id)
    if warning_type is not None:
        found = [w for w in found if w.warning_type == warning_type.value]
    for name in reversed(order_by or ["dag_id"]):
        field = name.lstrip("-")
        if field not in _WARNING_ORDER:
            raise InvalidInput(
                f"Ordering with '{field}' is disallowed or the attribute does not exist on the model"
            )
        found.sort(key=attrgetter(field), reverse=name.startswith("-"))
    items = [
        sc.DAGWarningResponse(
            dag_id=w.dag_id,
            warning_type=sc.DagWarningType(w.warning_type),
            message=w.message,
            timestamp=convert.aware(w.timestamp),
            dag_display_name=w.dag_display_name,
        )
        for w in found[offset : offset + limit]
    ]
    return sc.DAGWarningCollectionResponse(dag_warnings=items, total_entries=len(found))


@router.get("/providers", response_model=sc.ProviderCollectionResponse, tags=["Provider"])
def get_providers(
    _user: ReadProvider, limit: Limit = 50, offset: Offset = 0
) -> sc.ProviderCollectionResponse:
    """The hook and operator families Tradewind ships, in Airflow's provider shape."""
    from tradewind import __version__

    items = [
        sc.ProviderResponse(
            package_name=f"tradewind-providers-{name.replace('.', '-')}",
            description=description,
            version=__version__,
            documentation_url=None,
        )
        for name, description in _PROVIDERS
    ]
    return sc.ProviderCollectionResponse(
        providers=items[offset : offset + limit], total_entries=len(items)
    )


@router.get(
    "/plugins/importErrors",
    response_model=sc.PluginImportErrorCollectionResponse,
    tags=["Plugin"],
)
def import_errors(env: EnvDep, _user: ReadPlugin) -> sc.PluginImportErrorCollectionResponse:
    """Plugins that failed to load (plugins folder or entry points), with the error."""
    from tradewind.plugins_manager import load_plugins

    errors = load_plugins(env.settings).errors
    items = [
        sc.PluginImportErrorResponse(source=source, error=error)
        for source, error in sorted(errors.items())
    ]
    return sc.PluginImportErrorCollectionResponse(import_errors=items, total_entries=len(items))
