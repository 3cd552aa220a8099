"""The ``/api/v2`` router: one module per resource, assembled here in matching order."""

from fastapi import APIRouter

from tradewind.api.v2.routes import (
    absent,
    asset_queue,
    assets,
    audit,
    backfills,
    batch,
    bulk_runs,
    catalog,
    connection_tests,
    connections,
    dag_runs,
    dags,
    favorites,
    hitl,
    mapped,
    monitor,
    parsing,
    pools,
    run_wait,
    state_store,
    system,
    task_instances,
    ti_extra,
    ti_logs,
    variables,
    xcom,
)

router = APIRouter()
# Specific paths before ``.../taskInstances/{task_id}/{map_index}`` (task_instances.mapped_router).
for module in (
    monitor,
    dags,
    favorites,
    batch,
    dag_runs,
    bulk_runs,
    run_wait,
    task_instances,
    mapped,
    ti_extra,
    state_store,
    ti_logs,
    xcom,
    variables,
    connection_tests,
    connections,
    pools,
    audit,
    backfills,
    asset_queue,
    assets,
    system,
    catalog,
    parsing,
    hitl,
    absent,
):
    router.include_router(module.router)
router.include_router(task_instances.mapped_router)
