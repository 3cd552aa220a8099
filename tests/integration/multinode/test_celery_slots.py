"""The Celery executor frees a slot when the execution API notifies that its try ended (#17).

Real PostgreSQL (LISTEN/NOTIFY) and Redis. The executor's own metastore checks are pushed an
hour away, so only the notification can free a slot here: a try's end is seen at once, a
notification of another try number frees nothing, and one that names no try makes the
executor ask the metastore (where neither try is queued or running).
"""

from __future__ import annotations

import select
from collections.abc import Callable
from typing import Any

from mn_cluster import Cluster

from conftest import need
from tradewind.core.execution import Workload
from tradewind.executors.celery_executor import CeleryExecutor
from tradewind.services.wakeup import OTHER, notify_statement, notify_try_ended


def workload(ti_id: int, try_number: int) -> Workload:
    return Workload(ti_id, "d", "r", f"t{ti_id}", -1, try_number, "d.py", None, "token")


def commit(cluster: Cluster, statement: Any, params: dict[str, Any] | None = None) -> None:
    with cluster.env.db.engine.begin() as conn:
        conn.execute(statement, params or {})


def poll_when_readable(executor: CeleryExecutor, timeout: float = 5.0) -> None:
    ready, _, _ = select.select(executor.filenos(), [], [], timeout)
    assert ready, "the executor's file descriptor did not wake the scheduler"
    executor.poll()


def test_a_notified_try_end_frees_its_slot_without_asking_the_metastore(
    make_cluster: Callable[..., Cluster],
) -> None:
    need("redis")
    cluster = make_cluster()
    executor = CeleryExecutor(cluster.env, check_interval=3600, reconcile_interval=3600)
    try:
        executor.parallelism = 2
        executor.queue_workloads([workload(101, 1), workload(102, 3)])
        assert executor.free_slots() == 0

        commit(cluster, *notify_try_ended(101, 1))
        commit(cluster, *notify_try_ended(102, 2))  # an older try of 102: not the one running
        poll_when_readable(executor)

        assert sorted(executor.in_flight) == [102] and executor.free_slots() == 1

        commit(cluster, notify_statement(OTHER))  # names no try: ask the metastore
        poll_when_readable(executor)

        assert executor.in_flight == {} and executor.free_slots() == 2
    finally:
        with executor.app.connection_for_write() as conn:
            conn.default_channel.queue_purge("default")
        executor.terminate()
