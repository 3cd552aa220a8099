"""The Celery side of multi-node Tradewind: the app, its one task, and what runs a message.

A message carries only a :class:`~tradewind.core.execution.Workload` as JSON (never pickle).
Celery's prefork pool processes are already separate from the worker's main process; by
default a try runs in the pool process itself (``TaskRunner`` over
:class:`HttpExecutionClient`) while a watchdog thread heartbeats through the execution API,
enforces ``execution_timeout`` and stops the try when the answer says stop
(:class:`InProcessTry`). With ``[celery] fork_per_try`` every try runs in a freshly forked
child of the pool process instead (:class:`TrySupervisor`): stronger isolation, ~10 ms more
CPU per try. The worker has no database URL: the token in the workload is its only
credential, so a forged or replayed message fails its claim and runs nothing. How a try is
run and watched is in :mod:`tradewind.worker.tries`.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

from billiard.exceptions import WorkerLostError
from celery import Celery
from celery.worker.request import Request

from tradewind.core.execution import Workload
from tradewind.errors import (
    AuthenticationFailed,
    NotFound,
)
from tradewind.settings import Settings
from tradewind.worker.http_client import shared_ssl_context
from tradewind.worker.tries import (
    InProcessTry,
    TrySupervisor,
    WorkerConfig,
    _client,
    report_worker_lost,
    setting_or,
)

log = logging.getLogger("tradewind.worker.celery")
TASK_NAME = "tradewind.execute_workload"


def celery_config(settings: Settings) -> dict[str, Any]:
    """Celery settings from ``[celery]``: JSON only, late acks, one message prefetched."""
    transport: dict[str, Any] = {
        "visibility_timeout": int(setting_or(settings, "celery", "visibility_timeout", 21600))
    }
    prefix = setting_or(settings, "celery", "key_prefix", "")
    if prefix:
        transport["global_keyprefix"] = str(prefix)  # Redis: several installs on one server
    return {
        "broker_url": settings.get("celery", "broker_url"),
        "result_backend": settings.get("celery", "result_backend") or None,
        "task_ignore_result": True,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_default_queue": settings.get("celery", "default_queue"),
        "task_create_missing_queues": True,
        "broker_transport_options": transport,
        "broker_connection_retry_on_startup": True,
        "worker_concurrency": int(settings.get("celery", "worker_concurrency")),
        "worker_hijack_root_logger": False,
        "worker_max_tasks_per_child": int(
            setting_or(settings, "celery", "worker_max_tasks_per_child", 0)
        )
        or None,
    }


def queue_prefix(settings: Settings) -> str:
    """What to put before queue names: ``[celery] key_prefix`` on brokers that cannot prefix
    keys themselves (AMQP), so several installs can share one RabbitMQ virtual host.
    Redis needs none: the prefix is applied to all its keys (``global_keyprefix``)."""
    url = str(settings.get("celery", "broker_url"))
    if url.startswith(("redis://", "rediss://", "redis+socket://", "sentinel://")):
        return ""
    return str(setting_or(settings, "celery", "key_prefix", ""))


def make_celery_app(settings: Settings) -> Celery:
    """Return a Celery app configured from ``settings`` with ``tradewind.execute_workload``."""
    app = Celery("tradewind", set_as_current=False)
    app.conf.update(celery_config(settings))
    config = WorkerConfig.from_settings(settings)
    global _main_config
    _main_config = config
    shared_ssl_context()  # loaded once here, inherited by the pool and every forked try
    from tradewind.plugins_manager import load_plugins
    from tradewind.sdk import defaults
    from tradewind.worker.runner import warm_up

    defaults.configure(settings)
    load_plugins(settings)
    warm_up()  # Jinja and the operators, imported once before the pool forks
    from tradewind.observability.tracing import setup_tracing

    setup_tracing(settings)  # [traces] otel_on: the tasks' own spans join their run's trace

    @app.task(name=TASK_NAME, acks_late=True, ignore_result=True, Request=_TryRequest)
    def execute_workload(workload_json: str) -> str:
        return run_message(workload_json, config)

    return app


class _TryRequest(Request):
    """Celery's request, in the worker's main process: when the pool process running a try
    dies (kill -9, out of memory, a crash in C code), report the try lost at once (instead of
    after the heartbeat timeout) and upload what its log holds; the message is then requeued
    as usual and its redelivery refused at claim."""

    def on_failure(
        self, exc_info: Any, send_failed_event: bool = True, return_ok: bool = False
    ) -> Any:
        exc = getattr(exc_info, "exception", None)
        exc = getattr(exc, "exc", exc)  # ExceptionWithTraceback
        # Billiard reports a dead pool process as WorkerLostError, or first as the child's
        # exit (SystemExit) that Celery then treats as a lost worker.
        lost = isinstance(exc, WorkerLostError) or (
            isinstance(exc, SystemExit | KeyboardInterrupt)
            and not (self._already_cancelled or self._already_revoked)
        )
        if lost and _main_config is not None:
            with contextlib.suppress(Exception):
                report_worker_lost(self.args, str(exc), _main_config)
        return super().on_failure(
            exc_info, send_failed_event=send_failed_event, return_ok=return_ok
        )


_main_config: WorkerConfig | None = None


def preload_dag_files(settings: Settings, budget: float = 60.0) -> int:
    """Import the DAG files of the worker's own DAG folder before the pool forks; return how many.

    Every pool process and every forked try then starts with the DAGs in memory instead of
    importing its file (twice: in the try and again in the pool process). Files are the
    operator's own, as for the DAG processor; a file that fails is skipped (the try reports
    the error). Stops after ``budget`` seconds: the rest is imported on first use.
    """
    from tradewind.sdk.finder import find_dag_files
    from tradewind.worker.dag_cache import preload

    folder = str(settings.dags_folder)
    deadline = time.monotonic() + budget
    count = 0
    for path in find_dag_files(folder):
        if time.monotonic() > deadline:
            break
        preload(path, folder)
        count += 1
    return count


def run_message(workload_json: Any, config: WorkerConfig) -> str:
    """Run one delivered message; return what happened (``ran``, ``refused``, ``lost``...)."""
    try:
        workload = Workload.from_json(workload_json)
    except (TypeError, ValueError) as exc:
        log.error("refused a malformed workload message: %s", exc)
        return "refused"
    if workload.kind == "callback":
        try:
            _client(config.api_url).verify_callback(workload.ti_id, workload.token)
        except (AuthenticationFailed, NotFound) as exc:
            log.error("refused DAG callback %s of %s: %s", workload.callback, workload.dag_id, exc)
            return "refused"
    if config.fork_per_try:
        return TrySupervisor(workload, config).run()
    return InProcessTry(workload, config).run()
