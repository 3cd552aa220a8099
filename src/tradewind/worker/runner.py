"""TaskRunner: one try of one task, the same code in ``dags test``, local and Celery workers.

claim -> render templates -> execute (with timeout) -> push XCom -> report the outcome ->
run the callback that matches the resulting state.
"""

from __future__ import annotations

import copy
import logging
import os
import signal
import socket
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from tradewind.core.execution import ExecutionAPI, Outcome, Workload
from tradewind.core.log_files import callback_log_path, log_path
from tradewind.errors import (
    AuthenticationFailed,
    NotFound,
    TaskDeferred,
    TaskInstanceMoved,
    TradewindError,
    TradewindFailException,
    TradewindRescheduleException,
    TradewindSkipException,
    TradewindTaskTimeout,
    TryLost,
)
from tradewind.observability import tracing
from tradewind.sdk import execution_context
from tradewind.sdk import mapping_runtime as mapping
from tradewind.sdk.asset_events import OutletEventAccessors, drain_generator
from tradewind.sdk.context import build_context
from tradewind.sdk.xcom_sequences import plain
from tradewind.worker.logs import task_log
from tradewind.worker.runtime import RuntimeTaskInstance

log = logging.getLogger("tradewind.task")
_NATURAL_STATE = {
    Outcome.SUCCESS: "success",
    Outcome.SKIPPED: "skipped",
    Outcome.FAIL_NO_RETRY: "failed",
}
DagResolver = Callable[[Workload], Any]


@contextmanager
def _timeout(seconds: float | None) -> Iterator[None]:
    """Raise TradewindTaskTimeout in the main thread after ``seconds`` (SIGALRM)."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum: int, frame: Any) -> None:
        raise TradewindTaskTimeout(f"task exceeded its execution_timeout of {seconds:g} s")

    old = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


class TaskRunner:
    """Runs workloads through an execution API transport.

    Args:
        client: the transport (in process, pipe to the local executor, or HTTP).
        resolve_dag: returns the DAG object for a workload (imports its file, cached).
        log_folder: where task logs go.
        echo: also print the task log to stderr (``tasks test``/``dags test``).
    """

    def __init__(
        self,
        client: ExecutionAPI,
        resolve_dag: DagResolver,
        log_folder: str | Path,
        *,
        echo: bool = False,
        ship_log: bool = False,
    ):
        self.client = client
        self.resolve_dag = resolve_dag
        self.log_folder = Path(log_folder)
        self.echo = echo
        self.ship_log = ship_log
        self.hostname = socket.gethostname()
        # With ship_log: how many bytes of the log the server stored with the outcome.
        self.log_shipped: int | None = None

    def run(self, workload: Workload) -> str | None:
        """Run one try; return the resulting state, or None if the try was not ours to run."""
        if workload.kind == "callback":
            return self._run_dag_callback(workload)
        try:
            claim = self.client.claim(workload.ti_id, workload.token, self.hostname, os.getpid())
        except (TaskInstanceMoved, AuthenticationFailed, NotFound) as exc:
            # Not ours to run: already claimed, done, unknown, or a forged/expired token.
            logging.getLogger("tradewind.worker").warning(
                "not running %s: %s", workload.task_id, exc
            )
            return None
        except TradewindError as exc:  # the API answered with an error, or is unreachable
            raise _lost(workload, "claim", exc) from None
        if not isinstance(claim, dict) or not {"ti", "dag_run"} <= claim.keys():
            raise _lost(workload, "claim", f"a malformed answer: {str(claim)[:200]}")
        path = log_path(
            self.log_folder,
            workload.dag_id,
            workload.run_id,
            workload.task_id,
            workload.try_number,
            workload.map_index,
        )
        with task_log(path, echo=self.echo):
            return self._run_claimed(workload, claim, path)

    def _finish(
        self,
        workload: Workload,
        outcome: Outcome,
        error: str | None,
        rendered: dict[str, Any] | None,
        path: Path,
        events: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Report the outcome; with ``ship_log``, the log so far travels with it; with
        ``events``, what the task set through ``outlet_events``."""
        more: dict[str, Any] = {"asset_events": events} if events else {}
        if not self.ship_log:
            return self.client.finish(
                workload.ti_id, workload.token, outcome.value, error, rendered, **more
            )
        for handler in logging.getLogger().handlers:
            handler.flush()
        try:
            data = path.read_bytes()
        except OSError:
            data = b""
        answer = self.client.finish(
            workload.ti_id,
            workload.token,
            outcome.value,
            error,
            rendered,
            log=data.decode("utf-8", errors="replace"),
            **more,
        )
        stored = answer.get("log") if isinstance(answer, dict) else None
        if isinstance(stored, dict) and "path" in stored:  # an older server ignores ``log``
            self.log_shipped = len(data)
        return answer

    def _run_claimed(self, workload: Workload, claim: dict[str, Any], path: Path) -> str | None:
        token = workload.token
        outcome, error, rendered = Outcome.FAILED, None, None
        context: dict[str, Any] | None = None
        task = None
        try:
            dag = self.resolve_dag(workload)
            task = copy.copy(dag.get_task(workload.task_id))
            ti = RuntimeTaskInstance(self.client, token, claim, task)
            log.info("Running %s try %s on %s", ti, ti.try_number, self.hostname)
            params = dag.params.resolve(claim["dag_run"].get("conf") or {})
            params.update(
                {
                    k: v
                    for k, v in task.params.items()
                    if k not in (claim["dag_run"].get("conf") or {})
                }
            )
            context = build_context(
                task=task,
                ti=ti,
                dag_run=ti.dag_run,
                params=params,
                get_variable=ti.get_variable,
                get_connection=ti.get_connection,
                prev_success={k: _dt(v) for k, v in (claim.get("prev_success") or {}).items()},
                extra_macros={**_plugin_macros(), **(dag.user_defined_macros or {})},
            )
            execution_context.set_current_ti(ti, context)
            if getattr(task, "is_mapped", False):
                task = context["task"] = ti.task = mapping.unmap(task, context, ti.map_index)
            rendered = _jsonable(task.render_template_fields(context) or _rendered_of(task))
            timeout = task.execution_timeout.total_seconds() if task.execution_timeout else None
            trace_key = (ti.dag_id, ti.run_id, ti.task_id, ti.map_index, ti.try_number)
            with _timeout(timeout), tracing.task_context(*trace_key):
                if task.on_execute_callback:
                    task.on_execute_callback(context)
                task.pre_execute(context)
                method = (
                    getattr(task, claim["ti"]["next_method"])
                    if claim["ti"].get("next_method")
                    else None
                )
                if method is not None:
                    result = method(context, (claim["ti"].get("next_kwargs") or {}).get("event"))
                else:
                    result = task.execute(context)
                result = drain_generator(result, context.get("outlet_events"))
                task.post_execute(context, result)
            mapping.check_output_for_mapping(task, result, ti.pushed)
            if result is not None and task.do_xcom_push:
                ti.xcom_push("return_value", plain(result))
            outcome = Outcome.SUCCESS
            log.info("Task %s succeeded", task.task_id)
        except TradewindSkipException as exc:
            outcome = Outcome.SKIPPED
            log.info("Task skipped: %s", exc)
        except TaskDeferred as exc:
            return self._defer(workload, exc)
        except TradewindRescheduleException as exc:
            when = exc.reschedule_date.isoformat()  # type: ignore[attr-defined]
            answer = self._report(workload, "reschedule", self.client.reschedule, when)
            log.info("Rescheduled until %s", exc.reschedule_date)
            return _state_of(answer)
        except TradewindFailException as exc:
            outcome, error = Outcome.FAIL_NO_RETRY, _format(exc)
            log.error("Task failed without retry: %s", exc, exc_info=True)
        except TradewindTaskTimeout as exc:
            outcome, error = Outcome.FAILED, str(exc)
            log.error("%s", exc)
            if task is not None:
                _safe(task.on_kill)
        except BaseException as exc:  # noqa: BLE001 - any error of user code fails the try
            if isinstance(exc, KeyboardInterrupt | SystemExit) and not isinstance(exc, SystemExit):
                raise
            if isinstance(exc, SystemExit) and task is not None:
                _safe(task.on_kill)  # stopped from outside (SIGTERM): let it clean up
            outcome, error = Outcome.FAILED, _format(exc)
            log.error("Task failed with exception", exc_info=True)
        finally:
            execution_context.set_current_ti(None)
        if context is not None and getattr(task, "map_index_template", None):
            name = mapping.render_map_index(task, context)
            rendered = {**(rendered or {}), mapping.RENDERED_MAP_INDEX: name}
        events = _asset_events(context) if outcome is Outcome.SUCCESS else None
        try:
            answer = self._finish(workload, outcome, error, rendered, path, events)
        except TaskInstanceMoved as exc:
            log.warning("Outcome not recorded: %s", exc)
            return None
        except TradewindError as exc:
            log.error("The outcome %s of this try could not be reported: %s", outcome.value, exc)
            raise _lost(workload, "finish", exc) from None
        state = _state_of(answer)
        if state != _NATURAL_STATE.get(outcome):  # e.g. failed -> up_for_retry
            log.info("Marked %s as %s", workload.task_id, state or "none (cleared while running)")
        if task is not None and context is not None:
            callback_token = answer.get("callback_token")
            if callback_token and isinstance(context.get("ti"), RuntimeTaskInstance):
                # The task token ended with the try: callbacks read with the token for them.
                context["ti"]._token = callback_token
            # Callbacks (notifiers) may read connections and variables as the task did.
            execution_context.set_current_ti(context.get("ti"))
            try:
                self._callback(task, state, context, error)
            finally:
                execution_context.set_current_ti(None)
        return state

    def _defer(self, workload: Workload, exc: TaskDeferred) -> str:
        trig = exc.trigger
        classpath, kwargs = trig.serialize()  # type: ignore[attr-defined]
        timeout = (
            exc.timeout.total_seconds() if hasattr(exc.timeout, "total_seconds") else exc.timeout
        )
        trigger = {
            "classpath": classpath,
            "kwargs": kwargs,
            "method_name": exc.method_name,
            "next_kwargs": exc.kwargs,
            "timeout": timeout,
        }
        answer = self._report(workload, "defer", self.client.defer, trigger)
        log.info("Deferred to %s", classpath)
        return _state_of(answer)  # type: ignore[return-value]

    def _report(self, workload: Workload, name: str, call: Callable[..., Any], arg: Any) -> Any:
        """A deferral or reschedule; an error answer makes the try lost, said in its log."""
        try:
            return call(workload.ti_id, workload.token, arg)
        except TaskInstanceMoved as exc:
            log.warning("%s not recorded: %s", name, exc)
            return None
        except TradewindError as exc:
            log.error("The %s of this try could not be reported: %s", name, exc)
            raise _lost(workload, name, exc) from None

    def _callback(
        self, task: Any, state: str | None, context: dict[str, Any], error: str | None
    ) -> None:
        """Run on_success/on_failure/on_retry after the state is committed; errors only logged."""
        fn = {
            "success": task.on_success_callback,
            "failed": task.on_failure_callback,
            "up_for_retry": task.on_retry_callback,
            "skipped": getattr(task, "on_skipped_callback", None),
        }.get(state or "")
        if state in ("failed", "up_for_retry"):
            context["exception"] = error
            self._maybe_email(task, state, context, error)
        if fn is None:
            return
        for f in fn if isinstance(fn, list) else [fn]:
            try:
                f(context)
            except Exception:  # noqa: BLE001 - a broken callback must not change the outcome
                log.error("The %s callback of %s raised", state, task.task_id, exc_info=True)

    def _maybe_email(
        self, task: Any, state: str, context: dict[str, Any], error: str | None
    ) -> None:
        wanted = task.email_on_failure if state == "failed" else task.email_on_retry
        if not (task.email and wanted):
            return
        try:
            from tradewind.sdk.email import send_failure_email

            send_failure_email(task, state, context, error)
        except ImportError:
            return
        except Exception:  # noqa: BLE001
            log.error("Could not send the failure e-mail", exc_info=True)

    def _run_dag_callback(self, workload: Workload) -> str | None:
        """Run a DAG-level on_success/on_failure callback (sent by the scheduler)."""
        info = workload.callback or {}
        dag = self.resolve_dag(workload)
        if info.get("type") == "deadline":
            return run_deadline_callback(dag, info, self.log_folder, self.echo)
        fn = (
            dag.on_success_callback if info.get("type") == "on_success" else dag.on_failure_callback
        )
        if fn is None:
            return None
        context = {
            "dag": dag,
            "run_id": info.get("run_id"),
            "reason": info.get("reason"),
            "dag_run": info,
        }
        path = callback_log_path(self.log_folder, dag.dag_id, str(info.get("run_id")))
        with task_log(path, echo=self.echo):
            for f in fn if isinstance(fn, list) else [fn]:
                try:
                    f(context)
                except Exception:  # noqa: BLE001
                    log.error("DAG %s callback raised", info.get("type"), exc_info=True)
        return "callback_done"


def _lost(workload: Workload, call: str, problem: object) -> TryLost:
    """The error that ends a try whose ``call`` of the execution API failed."""
    message = f"the execution API refused or did not answer {call} ({problem})"
    logging.getLogger("tradewind.worker").error(
        "try %s of %s.%s is lost: %s",
        workload.try_number,
        workload.dag_id,
        workload.task_id,
        message,
    )
    return TryLost(message)


def _asset_events(context: dict[str, Any] | None) -> list[dict[str, Any]] | None:
    """What the task set through ``outlet_events`` (None when nothing)."""
    accessors = (context or {}).get("outlet_events")
    report = accessors.report() if isinstance(accessors, OutletEventAccessors) else []
    return report or None


def _state_of(answer: Any) -> str | None:
    """The resulting state in an answer (None when the answer has none)."""
    state = answer.get("state") if isinstance(answer, dict) else None
    return str(state) if state is not None else None


def run_deadline_callback(dag: Any, info: dict[str, Any], log_folder: Path, echo: bool) -> str:
    """Call the callback of the deadline alert a run missed (sent once by the scheduler)."""
    index = int(info.get("alert_index", 0))
    alerts = getattr(dag, "deadline", [])
    path = callback_log_path(str(log_folder), dag.dag_id, str(info.get("run_id")))
    with task_log(path, echo=echo):
        if index >= len(alerts):
            log.error("DAG %s has no deadline alert %s any more", dag.dag_id, index)
            return "callback_done"
        context = {
            "dag": dag,
            "run_id": info.get("run_id"),
            "dag_run": info,
            "deadline": {**info, "deadline_time": _dt(info.get("deadline_time"))},
            "reason": "deadline_missed",
        }
        try:
            alerts[index].as_callback.run(context)
        except Exception:  # noqa: BLE001 - a broken callback must not kill the worker
            log.error("The deadline callback of %s raised", dag.dag_id, exc_info=True)
    return "callback_done"


def _plugin_macros() -> dict[str, Any]:
    from tradewind.plugins_manager import plugin_macros

    return dict(plugin_macros())


def _format(exc: BaseException) -> str:
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))[-20000:]


def _dt(value: Any) -> Any:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _safe(fn: Callable[[], Any]) -> None:
    try:
        fn()
    except Exception:  # noqa: BLE001
        log.warning("on_kill raised", exc_info=True)


def _rendered_of(task: Any) -> dict[str, Any]:
    return {f: getattr(task, f, None) for f in task.template_fields}


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    import json

    from tradewind.core.masking import redact, redact_value

    out: dict[str, Any] = {}
    for k, v in values.items():
        try:
            json.dumps(v)
            out[k] = redact_value(v, k)
        except (TypeError, ValueError):
            out[k] = redact(repr(v))
    return out


def warm_up() -> None:
    """Import what every try needs (Jinja, templating, operators), once, before forking.

    Forked workers then start tasks without paying imports (tens of ms each otherwise).
    """
    import jinja2  # noqa: F401
    import jinja2.ext  # noqa: F401
    import jinja2.nativetypes  # noqa: F401

    import tradewind.operators.bash  # noqa: F401
    import tradewind.operators.empty  # noqa: F401
    import tradewind.operators.python  # noqa: F401
    import tradewind.sdk.decorators  # noqa: F401
    import tradewind.sdk.templating  # noqa: F401
    from tradewind.sdk.templating import environment_for

    environment_for(None).from_string("{{ x }}").render(x=1)
