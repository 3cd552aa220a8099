"""CeleryExecutor: hand workloads to a Celery broker (Redis or RabbitMQ) for remote workers.

The scheduler sends each workload as one JSON message to the queue named by the task's
``queue=``. Workers heartbeat and report through the execution API themselves, so this
executor only counts what is in flight: a slot frees when its try ends. On PostgreSQL the
execution API's ``finish`` notifies which try ended (``NOTIFY``, sent at its commit); the
executor listens, so its file descriptor wakes the scheduler and the slot frees without a
query. A notification that names no try, a broken listening connection, and every
``reconcile_interval`` (missed notifications, a user's mark) make it ask the metastore which
tries are still queued or running; elsewhere (SQLite) it asks at most every
``check_interval``. A message the broker refused is kept and sent again on the next poll.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections import deque
from typing import Any

from tradewind.core.execution import Workload
from tradewind.executors.base import BaseExecutor, ExecutorEvent
from tradewind.services.celery_tracking import still_active
from tradewind.services.env import Env
from tradewind.services.tokens import issue_ti_token
from tradewind.services.wakeup import TryEndListener
from tradewind.worker.celery_app import TASK_NAME, make_celery_app, queue_prefix

log = logging.getLogger("tradewind.executor.celery")
_SEND_RETRY = {"max_retries": 2, "interval_start": 0.1, "interval_step": 0.2, "interval_max": 0.5}
_CALLBACK_TOKEN_TTL = 3600.0


class CeleryExecutor(BaseExecutor):
    """Runs tasks on Celery workers (``tradewind celery worker``) anywhere on the network.

    Args:
        env: reads ``[celery]`` and ``[core] parallelism``; the metastore for slot tracking.
        check_interval: without notifications (not PostgreSQL), ask the metastore which
            tries ended at most this often (seconds).
        reconcile_interval: with notifications, ask it anyway this often.
    """

    name = "CeleryExecutor"
    supervises_heartbeats = False

    def __init__(
        self,
        env: Env,
        *,
        check_interval: float = 0.02,
        reconcile_interval: float = 5.0,
    ):
        super().__init__(parallelism=int(env.settings.get("core", "parallelism")))
        self.env = env
        self.check_interval = check_interval
        self.reconcile_interval = reconcile_interval
        self.listener = TryEndListener(env.db)
        self._unsure = False
        self.app = make_celery_app(env.settings)
        self.prefix = queue_prefix(env.settings)
        self.default_queue = str(env.settings.get("celery", "default_queue"))
        self.unsent: deque[Workload] = deque()
        self._next_check = time.monotonic() + (
            reconcile_interval if self.listener.available else check_interval
        )
        self._next_resend = 0.0

    def start(self) -> None:
        """Check the broker answers (a clear error at start beats silent queued tasks)."""
        with self.app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=3, interval_start=0.2, interval_step=0.5)
        log.info("Celery executor connected to %s", self.app.conf.broker_url.split("@")[-1])

    def queue_workloads(self, workloads: list[Workload]) -> None:
        batch = []
        for w in workloads:
            if w.kind == "callback":
                # The scheduler leaves callbacks unsigned; workers verify this token first.
                w = dataclasses.replace(
                    w, token=issue_ti_token(self.env.secret_key, w.ti_id, 0, _CALLBACK_TOKEN_TTL)
                )
            else:
                self.in_flight[w.ti_id] = w
            batch.append(w)
        self._send_all(batch)

    def _send_all(self, workloads: list[Workload]) -> None:
        """Send through one producer (acquiring one per message costs more than sending) and,
        where the transport can (Redis), in one pipeline: one round trip for the whole pass
        instead of one per message. From the first message the broker refuses, keep the rest
        for the next poll; when the pipeline itself fails, whether its messages arrived is
        unknown, so all are sent again (a second copy of a message is refused at its claim)."""
        if not workloads:
            return
        sent = 0
        try:
            with self.app.producer_or_acquire() as producer, _batch(producer):
                for w in workloads:
                    if not self._send(w, producer):
                        break
                    sent += 1
        except Exception as exc:  # noqa: BLE001 - a broker outage must not stop the scheduler
            log.warning("could not reach the broker (will retry): %s", exc)
            self._next_resend = time.monotonic() + 1.0
            sent = 0
        self.unsent.extend(workloads[sent:])

    def _send(self, w: Workload, producer: Any = None) -> bool:
        """Publish one workload (or buffer it in the producer's batch); False if refused."""
        try:
            self.app.send_task(
                TASK_NAME,
                args=[w.to_json()],
                queue=self.prefix + (w.queue or self.default_queue),
                retry=True,
                retry_policy=_SEND_RETRY,
                producer=producer,
                # What logs and monitors show instead of the whole workload (which carries
                # the try's token); also spares a repr of it per message.
                argsrepr=f"({w.dag_id}.{w.task_id} try {w.try_number})",
                kwargsrepr="{}",
            )
        except Exception as exc:  # noqa: BLE001 - a broker outage must not stop the scheduler
            log.warning(
                "could not send %s.%s to the broker (will retry): %s", w.dag_id, w.task_id, exc
            )
            self._next_resend = time.monotonic() + 1.0
            return False
        return True

    def filenos(self) -> list[int]:
        """The listening connection: readable when a try ended (the scheduler waits on it)."""
        return self.listener.filenos()

    def poll(self) -> list[ExecutorEvent]:
        """Resend what the broker refused; free the slots of tries that ended."""
        mono = time.monotonic()
        if self.unsent and mono >= self._next_resend:
            pending, self.unsent = list(self.unsent), deque()
            # Skip what ended or was re-queued meanwhile.
            self._send_all([w for w in pending if w.ti_id < 0 or w.ti_id in self.in_flight])
        if self.listener.available:
            ended, unsure = self.listener.drain()
            for ti_id, try_number in ended:
                w = self.in_flight.get(ti_id)
                if w is not None and w.try_number == try_number:
                    del self.in_flight[ti_id]
            self._unsure = self._unsure or unsure
        if self.in_flight and (self._unsure or mono >= self._next_check):
            interval = self.reconcile_interval if self.listener.reconnect() else self.check_interval
            self._next_check = mono + interval
            self._unsure = False
            self._forget_ended()
        return []

    def _forget_ended(self) -> None:
        keys = [(w.ti_id, w.try_number) for w in self.in_flight.values()]
        with self.env.db.session(readonly=True) as s:
            active = still_active(s, keys)
        for ti_id in [t for t, _ in keys if t not in active]:
            self.in_flight.pop(ti_id, None)

    def end(self, timeout: float = 30.0) -> None:
        """Stop sending; running tries carry on on their workers and report by HTTP."""
        self.terminate()

    def terminate(self) -> None:
        self.unsent.clear()
        self.listener.close()
        self.app.close()


def _batch(producer: Any) -> Any:
    """The producer's publish batch (kombu >= 5.7: one Redis pipeline flushed at the end),
    else nothing: each message goes out as it is published."""
    batch = getattr(producer, "batch", None)
    return batch() if batch is not None else contextlib.nullcontext()
