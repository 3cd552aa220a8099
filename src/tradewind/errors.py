"""The whole exception tree of Tradewind; every error we raise derives from TradewindError.

The Airflow names (``AirflowException``, ``AirflowSkipException``...) are kept as aliases in
:mod:`tradewind.exceptions` so DAG files port over by replacing one word.
"""

from __future__ import annotations


class TradewindError(Exception):
    """Root of every error Tradewind raises on purpose."""


class ConfigError(TradewindError):
    """A setting is missing or has a value Tradewind cannot use."""


class DagDefinitionError(TradewindError):
    """A DAG file defines something invalid (cycle, duplicate task id, bad cron...).

    The message names the DAG file and line, so the author can go straight to it.
    """

    def __init__(self, message: str, filename: str | None = None, lineno: int | None = None):
        self.filename = filename
        self.lineno = lineno
        where = (
            f"{filename}:{lineno}: "
            if filename and lineno
            else (f"{filename}: " if filename else "")
        )
        super().__init__(f"{where}{message}")
        self.bare_message = message


class DagCycleError(DagDefinitionError):
    """The tasks of a DAG form a cycle."""


class DuplicateTaskIdError(DagDefinitionError):
    """Two tasks of one DAG share a task id."""


class ParamValidationError(TradewindError):
    """A DAG run's conf does not satisfy the DAG's params."""


class NotFound(TradewindError):
    """A DAG, run, task or other named object does not exist."""


class AlreadyExists(TradewindError):
    """An object with that identity exists already (a run id, a user name...)."""


class Conflict(TradewindError):
    """The change conflicts with the current state (a transition the table forbids...)."""


class InvalidInput(TradewindError):
    """A value given by a user is malformed; the message says which and why."""


class XComTooLarge(InvalidInput):
    """An XCom value is over ``[core] max_xcom_size``; the message gives the size and the
    limit, and for a task's push the task (and the mapped tasks it reduced)."""


class PermissionDenied(TradewindError):
    """The caller is authenticated but its role lacks the permission."""


class AuthenticationFailed(TradewindError):
    """Credentials or token missing, wrong or expired."""


class TaskError(TradewindError):
    """Base of the signals a running task raises to change its own outcome."""


class TradewindSkipException(TaskError):
    """Raise inside a task to mark it skipped."""


class TradewindFailException(TaskError):
    """Raise inside a task to fail it without retrying."""


class TradewindTaskTimeout(TaskError):
    """The task ran longer than its ``execution_timeout``."""


class TradewindSensorTimeout(TaskError):
    """A sensor waited longer than its ``timeout``."""


class TradewindRescheduleException(TaskError):
    """Raised by a reschedule-mode sensor: free the slot and come back at ``reschedule_date``."""

    def __init__(self, reschedule_date: object):
        super().__init__(f"reschedule at {reschedule_date}")
        self.reschedule_date = reschedule_date


class TaskDeferred(TaskError):
    """Raised by a deferrable operator: hand the wait to the triggerer."""

    def __init__(
        self,
        *,
        trigger: object,
        method_name: str,
        kwargs: dict[str, object] | None = None,
        timeout: object | None = None,
    ):
        super().__init__(f"deferred to {type(trigger).__name__}")
        self.trigger = trigger
        self.method_name = method_name
        self.kwargs = kwargs or {}
        self.timeout = timeout


class ExecutionAPIError(TradewindError):
    """The execution API refused a worker's call (bad token, task moved away...)."""


class TaskInstanceMoved(ExecutionAPIError):
    """The task instance is no longer in the state the worker expected (claimed elsewhere...)."""


class TryLost(ExecutionAPIError):
    """A try could not reach the execution API (claim, outcome): its supervisor reports it
    lost, so it runs again without using one of the task's retries."""


class SensorTimeoutNoRetry(TradewindSensorTimeout, TradewindFailException):
    """A sensor's ``timeout`` passed: fail at once, without retries (as Airflow does)."""


class UnmappableXComTypePushed(TaskError):
    """A task whose output a mapped task expands over returned something that is not a list or
    dict (Airflow's name)."""


class UnmappableXComLengthPushed(TaskError):
    """A task whose output a mapped task expands over returned more items than
    ``[core] max_map_length`` allows (Airflow's name)."""


class XComForMappingNotPushed(TaskError):
    """A task whose output a mapped task expands over returned nothing (Airflow's name)."""


class AirflowNameNotSupported(TradewindError, ModuleNotFoundError):
    """A DAG file imports an Airflow module or name that Tradewind does not provide (yet).

    An :class:`ImportError`, so ``try: import airflow.x`` / ``except ImportError`` keeps working.
    """
