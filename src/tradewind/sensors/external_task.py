"""ExternalTaskSensor and ExternalTaskMarker: dependencies between DAGs."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from typing import Any

from tradewind.errors import DagDefinitionError, TradewindFailException, TradewindSkipException
from tradewind.operators._ext_call import call_extension
from tradewind.sdk.baseoperator import BaseOperator
from tradewind.sensors.base import BaseSensorOperator

log = logging.getLogger("tradewind.task")


class ExternalTaskSensor(BaseSensorOperator):
    """Wait for tasks (or a whole run) of another DAG, for the matching logical date.

    Args:
        external_dag_id: the DAG to watch.
        external_task_id / external_task_ids: the tasks; neither means the whole run.
        allowed_states: states that count as done (default ``success``).
        failed_states: states that fail this sensor at once.
        skipped_states: states that skip this sensor.
        execution_delta: watch the run at ``logical_date - execution_delta``.
        execution_date_fn: ``fn(logical_date, **context) -> datetime`` instead.
        check_existence: fail at once when the external DAG has no such run yet... is not
            checked here (runs may come later); kept for Airflow compatibility.
    """

    template_fields = ("external_dag_id", "external_task_id", "external_task_ids")
    ui_color = "#4db7db"

    def __init__(
        self,
        *,
        external_dag_id: str,
        external_task_id: str | None = None,
        external_task_ids: Collection[str] | None = None,
        external_task_group_id: str | None = None,
        allowed_states: Collection[str] | None = None,
        failed_states: Collection[str] | None = None,
        skipped_states: Collection[str] | None = None,
        execution_delta: timedelta | None = None,
        execution_date_fn: Callable[..., datetime] | None = None,
        check_existence: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        given = [external_task_id, external_task_ids, external_task_group_id]
        if sum(x is not None for x in given) > 1:
            raise DagDefinitionError(
                f"task {self.task_id!r}: give one of external_task_id, external_task_ids and "
                "external_task_group_id",
                self.filename,
                self.lineno,
            )
        if execution_delta is not None and execution_date_fn is not None:
            raise DagDefinitionError(
                f"task {self.task_id!r}: give execution_delta or execution_date_fn, not both",
                self.filename,
                self.lineno,
            )
        self.external_dag_id = external_dag_id
        self.external_task_id = external_task_id
        self.external_task_ids = (
            list(external_task_ids)
            if external_task_ids is not None
            else ([external_task_id] if external_task_id else None)
        )
        self.external_task_group_id = external_task_group_id
        self.allowed_states = list(allowed_states or ["success"])
        self.failed_states = list(failed_states or [])
        self.skipped_states = list(skipped_states or [])
        overlap = set(self.allowed_states) & set(self.failed_states)
        if overlap:
            raise DagDefinitionError(
                f"task {self.task_id!r}: states {sorted(overlap)} are both allowed and failed",
                self.filename,
                self.lineno,
            )
        self.execution_delta = execution_delta
        self.execution_date_fn = execution_date_fn
        self.check_existence = check_existence

    def _logical_date(self, context: dict[str, Any]) -> datetime:
        logical = context["logical_date"]
        if self.execution_delta is not None:
            return logical - self.execution_delta  # type: ignore[no-any-return]
        if self.execution_date_fn is not None:
            from tradewind.operators.python import determine_kwargs

            kwargs = determine_kwargs(self.execution_date_fn, [logical], context)
            return self.execution_date_fn(logical, **kwargs)
        return logical  # type: ignore[no-any-return]

    def poke(self, context: dict[str, Any]) -> bool:
        when = self._logical_date(context)
        log.info(
            "Poking for %s.%s at %s",
            self.external_dag_id,
            self.external_task_ids or "(whole run)",
            when.isoformat(),
        )
        answer = call_extension(
            context["ti"],
            "get_task_states",
            self.external_dag_id,
            None,
            when.isoformat(),
            self.external_task_ids,
        )
        if not answer["run_found"]:
            return False
        if self.external_task_group_id is not None:
            prefix = f"{self.external_task_group_id}."
            states = [st for tid, st in answer["states"].items() if tid.startswith(prefix)]
            if not states:
                return False  # no task of that group (yet) in the external run
        elif self.external_task_ids is None:
            states = [answer["run_state"]]
        else:
            states = [answer["states"].get(t) for t in self.external_task_ids]
        if self.failed_states and any(s in self.failed_states for s in states):
            raise TradewindFailException(
                f"the external {self._what()} reached a failed state: {states}"
            )
        if self.skipped_states and any(s in self.skipped_states for s in states):
            raise TradewindSkipException(f"the external {self._what()} was skipped: {states}")
        return all(s in self.allowed_states for s in states)

    def _what(self) -> str:
        if self.external_task_group_id is not None:
            return f"task group {self.external_task_group_id} of {self.external_dag_id}"
        return (
            f"tasks {self.external_task_ids} of {self.external_dag_id}"
            if self.external_task_ids
            else f"DAG {self.external_dag_id}"
        )


class ExternalTaskMarker(BaseOperator):
    """Marks a task of another DAG that depends on this one: clearing this clears that.

    Args:
        external_dag_id / external_task_id: the dependent task.
        logical_date: its run's logical date (templated; default this run's).
        recursion_depth: how far markers in the dependent DAG are followed.
    """

    template_fields = ("external_dag_id", "external_task_id", "logical_date")
    ui_color = "#4db7db"

    def __init__(
        self,
        *,
        external_dag_id: str,
        external_task_id: str,
        logical_date: str | datetime | None = "{{ logical_date.isoformat() }}",
        recursion_depth: int = 10,
        execution_date: str | datetime | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.external_dag_id = external_dag_id
        self.external_task_id = external_task_id
        value = execution_date if execution_date is not None else logical_date
        self.logical_date = value.isoformat() if isinstance(value, datetime) else value
        if recursion_depth <= 0:
            raise DagDefinitionError(
                f"task {self.task_id!r}: recursion_depth must be positive",
                self.filename,
                self.lineno,
            )
        self.recursion_depth = recursion_depth

    def execute(self, context: dict[str, Any]) -> None:
        return None
