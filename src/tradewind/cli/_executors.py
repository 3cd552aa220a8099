"""Build the executor named by ``[core] executor``."""

from __future__ import annotations

from multiprocessing.connection import Connection

from tradewind.core.execution import Workload
from tradewind.core.log_files import log_path
from tradewind.errors import ConfigError
from tradewind.executors.base import BaseExecutor
from tradewind.services.env import Env
from tradewind.services.execution import ExecutionService
from tradewind.worker.logs import append_line


def make_executor(env: Env, execution: ExecutionService, name: str | None = None) -> BaseExecutor:
    """Return the configured executor (LocalExecutor, CeleryExecutor, SequentialExecutor)."""
    name = name or str(env.settings.get("core", "executor"))
    parallelism = int(env.settings.get("core", "parallelism"))
    dags_folder = str(env.settings.dags_folder)
    log_folder = str(env.settings.log_folder)
    if name in ("LocalExecutor", "SequentialExecutor"):
        from tradewind.executors.local import LocalExecutor
        from tradewind.worker._pipe import PipeClient
        from tradewind.worker.dag_cache import resolve_dag
        from tradewind.worker.runner import TaskRunner, warm_up

        warm_up()
        from tradewind.plugins_manager import load_plugins
        from tradewind.sdk import defaults

        defaults.configure(env.settings)
        load_plugins(env.settings)

        def run_child(workload: Workload, conn: Connection) -> None:
            TaskRunner(PipeClient(conn), lambda w: resolve_dag(w, dags_folder), log_folder).run(
                workload
            )

        def preload(workload: Workload) -> None:
            resolve_dag(workload, dags_folder)

        def lost(workload: Workload, message: str) -> None:
            append_line(
                log_path(
                    log_folder,
                    workload.dag_id,
                    workload.run_id,
                    workload.task_id,
                    workload.try_number,
                    workload.map_index,
                ),
                "error",
                message,
            )

        return LocalExecutor(
            execution,
            run_child,
            preload,
            parallelism=1 if name == "SequentialExecutor" else parallelism,
            on_lost_log=lost,
            fork_per_try=bool(env.settings.get("local_executor", "fork_per_try")),
            idle_workers=int(env.settings.get("local_executor", "idle_workers")),
            idle_timeout=float(env.settings.get("local_executor", "worker_idle_timeout")),
            max_tasks=int(env.settings.get("local_executor", "worker_max_tasks")),
        )
    if name == "CeleryExecutor":
        try:
            from tradewind.executors.celery_executor import CeleryExecutor
        except ImportError as exc:
            raise ConfigError(
                f"CeleryExecutor needs the celery extra: pip install 'tradewind[celery]' ({exc})"
            ) from None
        return CeleryExecutor(env)  # its workers report over HTTP, not through `execution`
    raise ConfigError(
        f"[core] executor {name!r} is not one of LocalExecutor, SequentialExecutor, CeleryExecutor"
    )
