"""The task runner on every error answer of the execution API: a clear log line and the try
reported lost (TryLost), never a KeyError, whatever call failed."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from tradewind import DAG
from tradewind.core.execution_api import InProcessClient
from tradewind.core.log_files import log_path
from tradewind.errors import ExecutionAPIError, InvalidInput, TryLost
from tradewind.operators.python import PythonOperator
from tradewind.services.execution import ExecutionService
from tradewind.services.testing import make_test_run, queue_single_task, store_dag_object
from tradewind.worker.runner import TaskRunner

START = datetime(2026, 1, 1, tzinfo=timezone.utc)


class Failing(InProcessClient):
    """The in-process transport to a real service, except that one call answers ``error``
    (or a malformed answer, with ``answer``)."""

    def __init__(self, service: Any, call: str, error: Exception | None, answer: Any = None):
        super().__init__(service)
        self.call, self.error, self.answer = call, error, answer

    def _invoke(self, spec: Any, ti_id: int, token: str, values: list[Any]) -> Any:
        if spec.call_name == self.call:
            if self.error is not None:
                raise self.error
            return self.answer
        return super()._invoke(spec, ti_id, token, values)


def _setup(env: Any, fn: Any) -> tuple[ExecutionService, Any, Any]:
    with DAG("errs", schedule=None, start_date=START) as dag:
        PythonOperator(task_id="t", python_callable=fn)
    store_dag_object(env, dag)
    run_id = make_test_run(env, "errs", START, None)
    w = queue_single_task(env, "errs", run_id, "t")
    service = ExecutionService(env)
    service.wake_on_change = False
    return service, w, dag


def _state(env: Any, ti_id: int) -> str | None:
    from tradewind.metastore.tables import TaskInstance

    with env.db.session(readonly=True) as s:
        return s.get(TaskInstance, ti_id).state


@pytest.mark.parametrize(
    "error",
    [ExecutionAPIError("pipe closed during finish"), InvalidInput("bad rendered fields")],
    ids=["unreachable", "refused"],
)
def test_an_error_answer_to_finish_makes_the_try_lost_with_a_log_line(
    env: Any, error: Exception
) -> None:
    service, w, dag = _setup(env, lambda: "done")
    runner = TaskRunner(Failing(service, "finish", error), lambda _: dag, env.settings.log_folder)
    with pytest.raises(TryLost, match="refused or did not answer finish"):
        runner.run(w)
    assert _state(env, w.ti_id) == "running"  # the supervisor now reports it lost
    text = log_path(env.settings.log_folder, "errs", w.run_id, "t", 1, -1).read_text()
    assert "could not be reported" in text and str(error) in text


def test_a_malformed_claim_answer_is_a_lost_try_not_a_key_error(env: Any) -> None:
    service, w, dag = _setup(env, lambda: "done")
    client = Failing(service, "claim", None, answer={"detail": "something else"})
    runner = TaskRunner(client, lambda _: dag, env.settings.log_folder)
    with pytest.raises(TryLost, match="malformed answer"):
        runner.run(w)


def test_a_finish_answer_without_a_state_is_no_key_error(env: Any) -> None:
    service, w, dag = _setup(env, lambda: "done")
    runner = TaskRunner(
        Failing(service, "finish", None, {}), lambda _: dag, env.settings.log_folder
    )
    assert runner.run(w) is None


def test_a_deferral_the_api_refuses_makes_the_try_lost(env: Any) -> None:
    from tradewind.errors import TaskDeferred
    from tradewind.sdk.triggers import TimeDeltaTrigger

    def defer() -> None:
        from datetime import timedelta

        raise TaskDeferred(trigger=TimeDeltaTrigger(timedelta(seconds=5)), method_name="x")

    service, w, dag = _setup(env, defer)
    client = Failing(service, "defer", ExecutionAPIError("HTTP 503 for 300 s"))
    with pytest.raises(TryLost, match="defer"):
        TaskRunner(client, lambda _: dag, env.settings.log_folder).run(w)
