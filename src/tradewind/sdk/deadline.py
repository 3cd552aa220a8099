"""Deadline alerts (Airflow 3.1's shape): a DAG run must finish within ``interval`` of a
reference time, or ``callback`` is called once.

    DAG(..., deadline=DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(minutes=15),
        callback=AsyncCallback(SlackWebhookNotifier, kwargs={"text": "late: {{ dag_run.run_id }}"}),
    ))

The scheduler records each run's deadline when the run is created and notices a miss
without importing the DAG file; the callback runs on a worker, which has the DAG object.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, cast


@dataclass(frozen=True)
class _Reference:
    """When a deadline starts counting (one of :class:`DeadlineReference`)."""

    name: str
    fixed: datetime | None = None

    def serialize(self) -> dict[str, Any]:
        return {"reference": self.name, "fixed": self.fixed.isoformat() if self.fixed else None}


class DeadlineReference:
    """The reference points a deadline may count from."""

    DAGRUN_QUEUED_AT = _Reference("DAGRUN_QUEUED_AT")
    DAGRUN_LOGICAL_DATE = _Reference("DAGRUN_LOGICAL_DATE")
    #: Tradewind's: the end of the run's data interval (when the data is complete).
    DAGRUN_DATA_INTERVAL_END = _Reference("DAGRUN_DATA_INTERVAL_END")

    @staticmethod
    def FIXED_DATETIME(when: datetime) -> _Reference:  # noqa: N802 - Airflow's name
        """A fixed moment (timezone-aware; naive values are UTC)."""
        return _Reference(
            "FIXED_DATETIME", when if when.tzinfo else when.replace(tzinfo=timezone.utc)
        )


@dataclass(frozen=True)
class Callback:
    """What to call when a deadline is missed: a callable (or a notifier class) and kwargs.

    A notifier class is instantiated with ``kwargs`` and called with the context; a function
    is called as ``callback(**kwargs, context=context)``, as Airflow does.
    """

    callback_callable: Callable[..., Any]
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> str:
        c = self.callback_callable
        return f"{getattr(c, '__module__', '?')}.{getattr(c, '__qualname__', repr(c))}"

    def run(self, context: dict[str, Any]) -> Any:
        """Call the callback for ``context`` (a notifier gets its kwargs as arguments)."""
        from tradewind.notifications.basenotifier import BaseNotifier

        c = self.callback_callable
        if isinstance(c, type) and issubclass(c, BaseNotifier):
            return c(**dict(self.kwargs))(context)
        if isinstance(c, BaseNotifier):
            return c(context)
        return cast(Callable[..., Any], c)(**dict(self.kwargs), context=context)


class AsyncCallback(Callback):
    """Airflow runs these in the triggerer; Tradewind runs both kinds on a worker."""


class SyncCallback(Callback):
    """Airflow runs these on an executor; so does Tradewind."""


@dataclass(frozen=True)
class DeadlineAlert:
    """A run must end within ``interval`` of ``reference``, else ``callback`` is called."""

    reference: _Reference
    interval: timedelta
    callback: Callback | Callable[..., Any]

    def __post_init__(self) -> None:
        if not isinstance(self.reference, _Reference):
            raise TypeError("DeadlineAlert reference must be a DeadlineReference")
        if not isinstance(self.interval, timedelta):
            raise TypeError("DeadlineAlert interval must be a timedelta")
        if not callable(self.callback) and not isinstance(self.callback, Callback):
            raise TypeError("DeadlineAlert callback must be an AsyncCallback/SyncCallback")

    @property
    def as_callback(self) -> Callback:
        cb = self.callback
        return cb if isinstance(cb, Callback) else SyncCallback(cb)

    def serialize(self) -> dict[str, Any]:
        return {
            **self.reference.serialize(),
            "interval": self.interval.total_seconds(),
            "callback": self.as_callback.path,
        }


def as_alerts(value: Any) -> list[DeadlineAlert]:
    """A DAG's ``deadline=`` argument (one alert, a list, or None) as a list."""
    if value is None:
        return []
    alerts = list(value) if isinstance(value, list | tuple) else [value]
    for a in alerts:
        if not isinstance(a, DeadlineAlert):
            raise TypeError(f"deadline= takes DeadlineAlert objects, not {type(a).__name__}")
    return alerts


def deadline_time(alert: Mapping[str, Any], run: Any) -> datetime | None:
    """When a run with these dates misses a serialized alert (None: the reference is unset)."""
    name = alert["reference"]
    if name == "FIXED_DATETIME":
        base: datetime | None = datetime.fromisoformat(alert["fixed"])
    elif name == "DAGRUN_QUEUED_AT":
        base = run.queued_at
    elif name == "DAGRUN_LOGICAL_DATE":
        base = run.logical_date
    elif name == "DAGRUN_DATA_INTERVAL_END":
        base = run.data_interval_end
    else:
        return None
    if base is None:
        return None
    return base + timedelta(seconds=float(alert["interval"]))
