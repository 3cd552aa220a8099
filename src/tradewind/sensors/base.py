"""BaseSensorOperator: wait until something is true, in poke, reschedule or deferred mode."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from tradewind.errors import (
    InvalidInput,
    SensorTimeoutNoRetry,
    TaskDeferred,
    TradewindRescheduleException,
    TradewindSkipException,
)
from tradewind.sdk.baseoperator import BaseOperator

FIRST_POKE_KEY = "__sensor_first_poke"
VALID_MODES = ("poke", "reschedule")


@dataclass
class PokeReturnValue:
    """What ``poke`` may return instead of a bool: done or not, and a value for XCom."""

    is_done: bool
    xcom_value: Any = None

    def __bool__(self) -> bool:
        return self.is_done


def _seconds(value: timedelta | float | int) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class BaseSensorOperator(BaseOperator):
    """Call :meth:`poke` until it returns True (or a done :class:`PokeReturnValue`).

    Args:
        poke_interval: seconds (or timedelta) between pokes.
        timeout: seconds after the first poke before the sensor fails (or skips with
            ``soft_fail``); in reschedule and deferred modes counted across slot releases.
        soft_fail: on timeout mark the task skipped instead of failed.
        mode: ``poke`` holds the worker slot while waiting; ``reschedule`` frees it between
            pokes (state ``up_for_reschedule``).
        exponential_backoff: double the wait after each unsuccessful poke (up to ``max_wait``).
        max_wait: the longest wait between pokes with ``exponential_backoff``.
        deferrable: hand the wait to the triggerer (state ``deferred``) between pokes.
    """

    ui_color = "#e6f1f2"
    is_sensor = True
    valid_modes = VALID_MODES

    def __init__(
        self,
        *,
        poke_interval: timedelta | float = 60,
        timeout: timedelta | float = 60 * 60 * 24 * 7,
        soft_fail: bool = False,
        mode: str = "poke",
        exponential_backoff: bool = False,
        max_wait: timedelta | float | None = None,
        deferrable: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if mode not in VALID_MODES:
            raise InvalidInput(
                f"task {self.task_id!r}: mode must be one of {', '.join(VALID_MODES)}, not {mode!r}"
            )
        self.poke_interval = _seconds(poke_interval)
        self.timeout = _seconds(timeout)
        if self.poke_interval < 0 or self.timeout < 0:
            raise InvalidInput(
                f"task {self.task_id!r}: poke_interval and timeout must not be negative"
            )
        self.soft_fail = soft_fail
        self.mode = mode
        self.exponential_backoff = exponential_backoff
        self.max_wait = _seconds(max_wait) if max_wait is not None else None
        self.deferrable = deferrable
        self.clock: Callable[[], datetime] = _utcnow
        self.sleep: Callable[[float], None] = time.sleep

    @property
    def reschedule(self) -> bool:
        return self.mode == "reschedule"

    def poke(self, context: dict[str, Any]) -> bool | PokeReturnValue:
        """Return True when the awaited condition holds (subclasses implement it)."""
        raise NotImplementedError(f"{type(self).__name__} must implement poke()")

    # -- the wait -------------------------------------------------------------------------
    def execute(self, context: dict[str, Any]) -> Any:
        if self.deferrable:
            started, pokes = self._progress(context)
            return self._defer_or_done(context, started, pokes)
        if self.reschedule:
            started, pokes = self._progress(context)
            return self._poke_once_or_reschedule(context, started, pokes)
        return self._poke_loop(context)

    def _poke_loop(self, context: dict[str, Any]) -> Any:
        started = self.clock()
        pokes = 0
        while True:
            done, value = self._poke(context)
            if done:
                return value
            pokes += 1
            self._check_timeout(started)
            self.log_waiting(pokes)
            self.sleep(self._next_interval(pokes, started))

    def _poke_once_or_reschedule(
        self, context: dict[str, Any], started: datetime, pokes: int
    ) -> Any:
        done, value = self._poke(context)
        if done:
            return value
        self._check_timeout(started)
        self._save_progress(context, started, pokes + 1)
        raise TradewindRescheduleException(
            self.clock() + timedelta(seconds=self._next_interval(pokes + 1, started))
        )

    def _defer_or_done(self, context: dict[str, Any], started: datetime, pokes: int) -> Any:
        done, value = self._poke(context)
        if done:
            return value
        self._check_timeout(started)
        self._save_progress(context, started, pokes + 1)
        from tradewind.sdk.triggers import TimeDeltaTrigger

        wait = timedelta(seconds=self._next_interval(pokes + 1, started))
        raise TaskDeferred(trigger=TimeDeltaTrigger(wait), method_name="resume_poke")

    def resume_poke(self, context: dict[str, Any], event: Any = None) -> Any:
        """Called on a worker after a deferred wait: poke again."""
        started, pokes = self._progress(context)
        return self._defer_or_done(context, started, pokes)

    def _poke(self, context: dict[str, Any]) -> tuple[bool, Any]:
        result = self.poke(context)
        if isinstance(result, PokeReturnValue):
            return result.is_done, result.xcom_value
        return bool(result), None

    def _next_interval(self, pokes: int, started: datetime) -> float:
        interval = self.poke_interval
        if self.exponential_backoff:
            interval = self.poke_interval * (2 ** max(pokes - 1, 0))
            if self.max_wait is not None:
                interval = min(interval, self.max_wait)
        # Never wait past the timeout: the last poke happens right when it expires.
        left = self.timeout - (self.clock() - started).total_seconds()
        return max(min(interval, left), 0.0)

    def _check_timeout(self, started: datetime) -> None:
        if (self.clock() - started).total_seconds() >= self.timeout:
            self.timed_out()

    def timed_out(self) -> None:
        """Fail without retry, or skip with ``soft_fail``."""
        message = f"Sensor {self.task_id} has timed out after {self.timeout:g} s"
        if self.soft_fail:
            raise TradewindSkipException(message)
        raise SensorTimeoutNoRetry(message)

    def log_waiting(self, pokes: int) -> None:
        import logging

        logging.getLogger("tradewind.task").info(
            "Poke %d of %s: not yet, waiting", pokes, self.task_id
        )

    # -- progress across slot releases (reschedule / deferred) ---------------------------
    def _progress(self, context: dict[str, Any]) -> tuple[datetime, int]:
        """Return (first poke time, pokes so far) of this try, kept in an XCom."""
        ti = context["ti"]
        saved = ti.xcom_pull(task_ids=ti.task_id, key=FIRST_POKE_KEY)
        if isinstance(saved, dict) and saved.get("try_number") == ti.try_number:
            return datetime.fromisoformat(saved["first_poke"]), int(saved.get("pokes", 0))
        now = self.clock()
        self._save_progress(context, now, 0)
        return now, 0

    def _save_progress(self, context: dict[str, Any], started: datetime, pokes: int) -> None:
        ti = context["ti"]
        ti.xcom_push(
            FIRST_POKE_KEY,
            {"try_number": ti.try_number, "first_poke": started.isoformat(), "pokes": pokes},
        )

    def remaining(self, context: dict[str, Any]) -> float:
        """Seconds left before the timeout (from the first poke of this try)."""
        started, _ = self._progress(context)
        return max(self.timeout - (self.clock() - started).total_seconds(), 0.0)


def poke_mode_only(cls: type) -> type:
    """Class decorator (Airflow's): the sensor refuses ``mode='reschedule'``."""
    original = cls.__init__  # type: ignore[misc]

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        if getattr(self, "mode", "poke") != "poke":
            raise InvalidInput(f"{cls.__name__} can only run in poke mode")

    cls.__init__ = __init__  # type: ignore[misc]
    return cls
