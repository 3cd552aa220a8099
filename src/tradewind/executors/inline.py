"""InlineExecutor: run each workload at once in this process (``dags test``, tests)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tradewind.core.execution import Workload
from tradewind.core.execution_api import InProcessClient
from tradewind.executors.base import BaseExecutor, ExecutorEvent
from tradewind.worker.runner import TaskRunner


class InlineExecutor(BaseExecutor):
    """Runs workloads synchronously through the TaskRunner and the in-process transport
    to ``service`` (an ``ExecutionService``)."""

    name = "InlineExecutor"

    def __init__(
        self,
        service: Any,
        resolve_dag: Callable[[Workload], Any],
        log_folder: str,
        *,
        echo: bool = False,
    ):
        super().__init__(parallelism=0)  # runs each workload at once: no slot limit of its own
        # The in-process transport: the service's calls as over the wire (JSON, same errors).
        self.runner = TaskRunner(InProcessClient(service), resolve_dag, log_folder, echo=echo)
        self.results: list[tuple[Workload, str | None]] = []

    def queue_workloads(self, workloads: list[Workload]) -> None:
        for w in workloads:
            self.results.append((w, self.runner.run(w)))

    def poll(self) -> list[ExecutorEvent]:
        return []
