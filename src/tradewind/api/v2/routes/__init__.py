"""The ``/api/v2`` router: one module per resource, assembled here in matching order."""

from fastapi import APIRouter

from tradewind.api.v2.routes import (
    assets,
    audit,
    backfills,
    batch,
    connections,
    dag_runs,
    dags,
    mapped,
    monitor,
    pools,
    system,
    task_instances,
    ti_logs,
    variables,
    xcom,
)

router = APIRouter()
# Specific paths before ``.../taskInstances/{task_id}/{map_index}`` (task_instances.mapped_router).
for module in (
    monitor,
    dags,
    batch,
    dag_runs,
    task_instances,
    mapped,
    ti_logs,
    xcom,
    variables,
    connections,
    pools,
    audit,
    backfills,
    assets,
    system,
):
    router.include_router(module.router)
router.include_router(task_instances.mapped_router)
