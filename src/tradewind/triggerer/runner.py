"""The triggerer: one asyncio loop running the waits of deferred tasks, thousands at once.

Every ``poll_interval`` (and right after a trigger fires) it syncs with the metastore in a
worker thread: heartbeat, report fired and failed triggers, fail timed-out deferrals, claim
new triggers, and cancel the ones that vanished (task cleared or marked meanwhile). While it
holds no trigger it syncs every ``idle_interval`` instead (5 s by default: an idle triggerer
cost ~0.3 % of a core at one sync a second, #17); a deferral on this host wakes it at once
through a loopback port (``services/wakeup.py``), one elsewhere is claimed within
``idle_interval``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from typing import Any

from tradewind.sdk.triggers import BaseTrigger
from tradewind.services import telemetry
from tradewind.services import triggers as trigger_service
from tradewind.services.env import Env
from tradewind.services.wakeup import TriggererWakeSocket
from tradewind.triggerer.triggers import TriggerPolicy, load_trigger

log = logging.getLogger("tradewind.triggerer")


class Triggerer:
    """Runs triggers for deferred task instances.

    Args:
        env: services environment.
        capacity: most triggers run at once (``[triggerer] capacity``).
        poll_interval: seconds between syncs with the metastore.
        dead_after: a triggerer silent this long loses its triggers to the others.
        idle_interval: seconds between syncs while it holds no trigger (default: 5, at most
            a third of ``dead_after``, at least ``poll_interval``).
    """

    def __init__(
        self,
        env: Env,
        *,
        capacity: int | None = None,
        poll_interval: float = 1.0,
        dead_after: float = 30.0,
        idle_interval: float | None = None,
    ):
        self.env = env
        self.capacity = int(capacity or env.settings.get("triggerer", "capacity"))
        self.poll_interval = poll_interval
        self.dead_after = dead_after
        if idle_interval is None:
            idle_interval = min(5.0, dead_after / 3)
        self.idle_interval = max(idle_interval, poll_interval)
        self._busy = True  # until the first sync says otherwise
        self.job_id: int | None = None
        self.tasks: dict[int, asyncio.Task[None]] = {}
        self._events: dict[int, Any] = {}
        self._failures: dict[int, str] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._nudge: asyncio.Event | None = None
        self.started = threading.Event()
        self.fired = 0
        self.policy = TriggerPolicy.from_settings(env.settings)

    # -- lifecycle ----------------------------------------------------------------------
    def run(self, *, install_signals: bool = False) -> None:
        """Run until :meth:`stop` (blocking)."""
        asyncio.run(self.arun(install_signals=install_signals))

    def stop(self) -> None:
        """Ask the loop to end (safe from other threads and signal handlers)."""
        if self._loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop.set)

    async def arun(self, *, install_signals: bool = False) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop, self._nudge = asyncio.Event(), asyncio.Event()
        if install_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._loop.add_signal_handler(sig, self._stop.set)
        self.job_id = await asyncio.to_thread(self._register)
        wake = self._open_wake_socket()
        log.info("triggerer started (job %s, capacity %d)", self.job_id, self.capacity)
        self.started.set()
        try:
            while not self._stop.is_set():
                await self._sync()
                await self._sleep()
        finally:
            if wake is not None:
                self._loop.remove_reader(wake.fileno())
                wake.close()
            for task in self.tasks.values():
                task.cancel()
            await asyncio.gather(*self.tasks.values(), return_exceptions=True)
            await asyncio.to_thread(self._shutdown)
            log.info("triggerer stopped")

    async def _sleep(self) -> None:
        assert self._stop is not None and self._nudge is not None
        waiters = [
            asyncio.ensure_future(self._stop.wait()),
            asyncio.ensure_future(self._nudge.wait()),
        ]
        timeout = self.poll_interval if self._busy else self.idle_interval
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        for w in waiters:
            w.cancel()
        if self._nudge.is_set():
            self._nudge.clear()
            await asyncio.sleep(0.02)  # gather events that fire together into one write

    def _open_wake_socket(self) -> TriggererWakeSocket | None:
        """Listen for this host's deferrals; None if the run folder is not writable."""
        assert self._loop is not None
        try:
            wake = TriggererWakeSocket(self.env.settings)
        except OSError as exc:
            log.warning(
                "no wake-up port (deferrals are seen every %g s): %s", self.idle_interval, exc
            )
            return None

        def woken() -> None:
            wake.drain()
            self._poke_loop()

        self._loop.add_reader(wake.fileno(), woken)
        return wake

    # -- metastore side (in a thread) ---------------------------------------------------
    def _register(self) -> int:
        from tradewind.services.queueing import register_job

        with self.env.db.session() as s:
            return register_job(
                s,
                trigger_service.JOB_TYPE,
                self.env.now(),
                exclusive=False,
                dead_after=self.dead_after,
            )

    def _shutdown(self) -> None:
        from tradewind.services.queueing import end_job

        with self.env.db.session() as s:
            if self.job_id is not None:
                trigger_service.release_triggers(s, self.job_id)
                end_job(s, self.job_id, self.env.now())

    def _sync_db(
        self, events: dict[int, Any], failures: dict[int, str]
    ) -> tuple[list[dict[str, Any]], set[int]]:
        from tradewind.services.queueing import heartbeat_job

        assert self.job_id is not None
        now = self.env.now()
        with self.env.db.session() as s:
            heartbeat_job(s, self.job_id, now)
            moved = trigger_service.fire_triggers(s, events, now) if events else 0
            moved += trigger_service.fail_triggers(s, failures, now) if failures else 0
            moved += trigger_service.fail_timed_out(s, now)
            trigger_service.delete_unused_triggers(s)
            claimed = trigger_service.claim_triggers(
                s, self.job_id, self.capacity, now, dead_after=self.dead_after
            )
            owned = trigger_service.assigned_trigger_ids(s, self.job_id)
        if moved:
            self.env.wake()
        return claimed, owned

    async def _sync(self) -> None:
        events, self._events = self._events, {}
        failures, self._failures = self._failures, {}
        try:
            claimed, owned = await asyncio.to_thread(self._sync_db, events, failures)
        except Exception:  # noqa: BLE001 - a database hiccup must not kill the loop
            log.exception("triggerer sync failed; retrying")
            self._events.update(events)
            self._failures.update(failures)
            return
        self.fired += len(events)
        self._busy = bool(self.tasks or claimed or events or failures)
        for trigger_id in [t for t in self.tasks if t not in owned]:
            self.tasks.pop(trigger_id).cancel()
        for row in claimed:
            if row["id"] not in self.tasks:
                self._start(row)
        telemetry.triggerer_beat(len(self.tasks), len(events), len(failures))

    # -- the triggers ---------------------------------------------------------------------
    def _start(self, row: dict[str, Any]) -> None:
        trigger_id = row["id"]
        try:
            trigger = load_trigger(row["classpath"], row["kwargs"], self.policy)
        except Exception as exc:  # noqa: BLE001
            log.error("cannot load trigger %s (%s): %s", trigger_id, row["classpath"], exc)
            self._failures[trigger_id] = f"cannot load {row['classpath']}: {exc}"
            self._poke_loop()
            return
        self.tasks[trigger_id] = asyncio.get_running_loop().create_task(
            self._watch(trigger_id, trigger)
        )

    async def _watch(self, trigger_id: int, trigger: BaseTrigger) -> None:
        try:
            async for event in trigger.run():
                self._events[trigger_id] = event.payload
                break
            else:
                self._failures[trigger_id] = "the trigger ended without an event"
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a broken trigger fails only its task
            log.exception("trigger %s raised", trigger_id)
            self._failures[trigger_id] = f"{type(exc).__name__}: {exc}"
        finally:
            with contextlib.suppress(Exception):
                await trigger.cleanup()
            self.tasks.pop(trigger_id, None)
        self._poke_loop()

    def _poke_loop(self) -> None:
        if self._nudge is not None:
            self._nudge.set()


def run_triggerer(env: Env, *, capacity: int | None = None, install_signals: bool = True) -> None:
    """Entry point for ``tradewind triggerer`` and ``standalone`` (blocks until stopped)."""
    from tradewind.observability.setup import setup_observability

    setup_observability(env.settings)
    Triggerer(env, capacity=capacity).run(install_signals=install_signals)
