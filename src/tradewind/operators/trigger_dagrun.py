"""TriggerDagRunOperator: start a run of another DAG, optionally wait for it to end."""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime, timedelta, timezone
from typing import Any

from tradewind.errors import (
    AlreadyExists,
    ExecutionAPIError,
    TradewindError,
    TradewindRescheduleException,
    TradewindSkipException,
)
from tradewind.operators._ext_call import call_extension
from tradewind.sdk.baseoperator import BaseOperator

log = logging.getLogger("tradewind.task")
XCOM_RUN_ID = "trigger_run_id"
XCOM_LOGICAL_DATE = "trigger_logical_date"
XCOM_WAITING = "__trigger_waiting"


class DagRunAlreadyExists(TradewindError):
    """The run to trigger exists already (and ``reset_dag_run`` is False)."""


class TriggerDagRunOperator(BaseOperator):
    """Trigger a run of ``trigger_dag_id``.

    Args:
        trigger_dag_id: the DAG to run (templated).
        trigger_run_id: the new run's id (templated; default ``manual__<logical date>``).
        conf: the run's conf (templated).
        logical_date: the run's logical date (templated; ISO string or datetime; default now).
        reset_dag_run: clear the run if it exists already, instead of failing.
        skip_when_already_exists: skip this task when the run exists already.
        wait_for_completion: wait until the run reaches an allowed or failed state; the
            worker slot is freed between checks (state ``up_for_reschedule``).
        poke_interval: seconds between checks while waiting.
        allowed_states / failed_states: run states that end the wait with success / failure.
    """

    template_fields = ("trigger_dag_id", "trigger_run_id", "logical_date", "conf")
    template_fields_renderers = {"conf": "py"}
    ui_color = "#ffefeb"

    def __init__(
        self,
        *,
        trigger_dag_id: str,
        trigger_run_id: str | None = None,
        conf: dict[str, Any] | None = None,
        logical_date: str | datetime | None = None,
        reset_dag_run: bool = False,
        wait_for_completion: bool = False,
        poke_interval: float = 60,
        allowed_states: Collection[str] | None = None,
        failed_states: Collection[str] | None = None,
        skip_when_already_exists: bool = False,
        deferrable: bool = False,
        execution_date: str | datetime | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.trigger_dag_id = trigger_dag_id
        self.trigger_run_id = trigger_run_id
        self.conf = conf or {}
        value = logical_date if logical_date is not None else execution_date
        self.logical_date = value.isoformat() if isinstance(value, datetime) else value
        self.reset_dag_run = reset_dag_run
        self.wait_for_completion = wait_for_completion
        self.poke_interval = float(poke_interval)
        self.allowed_states = list(allowed_states or ["success"])
        self.failed_states = list(failed_states or ["failed"])
        self.skip_when_already_exists = skip_when_already_exists
        self.deferrable = deferrable  # the wait runs on the worker; kept for compatibility

    def execute(self, context: dict[str, Any]) -> str:
        ti = context["ti"]
        pending = ti.xcom_pull(task_ids=ti.task_id, key=XCOM_WAITING)
        if isinstance(pending, dict) and pending.get("try_number") == ti.try_number:
            return self._check(ti, pending["run_id"])  # back from a reschedule: keep waiting
        logical = self.logical_date or None
        try:
            run = call_extension(
                ti,
                "trigger_dag_run",
                self.trigger_dag_id,
                self.trigger_run_id,
                self.conf,
                logical,
                self.reset_dag_run,
            )
        except (AlreadyExists, ExecutionAPIError) as exc:
            if "already" not in str(exc):
                raise
            if self.skip_when_already_exists:
                raise TradewindSkipException(
                    f"the run of {self.trigger_dag_id} exists already"
                ) from None
            raise DagRunAlreadyExists(
                f"{exc}; pass reset_dag_run=True to clear and re-run it"
            ) from None
        log.info(
            "Triggered DAG %s: run %s (%s)",
            self.trigger_dag_id,
            run["run_id"],
            "new" if run["created"] else "cleared",
        )
        ti.xcom_push(XCOM_RUN_ID, run["run_id"])
        ti.xcom_push(XCOM_LOGICAL_DATE, run["logical_date"])
        if not self.wait_for_completion:
            return str(run["run_id"])
        ti.xcom_push(XCOM_WAITING, {"try_number": ti.try_number, "run_id": run["run_id"]})
        return self._check(ti, run["run_id"])

    def _check(self, ti: Any, run_id: str) -> str:
        """End the wait, or free the worker slot until the next check (reschedule)."""
        state = call_extension(ti, "get_dag_run_state", self.trigger_dag_id, run_id).get("state")
        log.info("Run %s of %s is %s", run_id, self.trigger_dag_id, state)
        if state in self.failed_states:
            raise TradewindError(f"{self.trigger_dag_id} run {run_id} ended {state}")
        if state in self.allowed_states:
            return run_id
        raise TradewindRescheduleException(
            datetime.now(timezone.utc) + timedelta(seconds=self.poke_interval)
        )
