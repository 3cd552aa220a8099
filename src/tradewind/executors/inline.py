"""InlineExecutor: run each workload at once in this process (``dags test``, tests)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tradewind.core.execution import ExecutionAPI, Workload
from tradewind.executors.base import BaseExecutor, ExecutorEvent
from tradewind.worker.runner import TaskRunner


class InlineExecutor(BaseExecutor):
    """Runs workloads synchronously through the TaskRunner and an in-process transport."""

    name = "InlineExecutor"

    def __init__(
        self,
        client: ExecutionAPI,
        resolve_dag: Callable[[Workload], Any],
        log_folder: str,
        *,
        echo: bool = False,
    ):
        super().__init__(parallelism=0)  # runs each workload at once: no slot limit of its own
        self.runner = TaskRunner(client, resolve_dag, log_folder, echo=echo)
        self.results: list[tuple[Workload, str | None]] = []

    def queue_workloads(self, workloads: list[Workload]) -> None:
        for w in workloads:
            self.results.append((w, self.runner.run(w)))

    def poll(self) -> list[ExecutorEvent]:
        return []
