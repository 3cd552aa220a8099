"""Exceptions a DAG file may raise or catch; Airflow's names are kept as aliases."""

from tradewind.errors import (
    DagCycleError,
    DagDefinitionError,
    DuplicateTaskIdError,
    ParamValidationError,
    TaskDeferred,
    TradewindError,
    TradewindFailException,
    TradewindRescheduleException,
    TradewindSensorTimeout,
    TradewindSkipException,
    TradewindTaskTimeout,
)

TradewindException = TradewindError
AirflowException = TradewindError
AirflowSkipException = TradewindSkipException
AirflowFailException = TradewindFailException
AirflowTaskTimeout = TradewindTaskTimeout
AirflowSensorTimeout = TradewindSensorTimeout
AirflowRescheduleException = TradewindRescheduleException
AirflowDagCycleException = DagCycleError
DuplicateTaskIdFound = DuplicateTaskIdError

__all__ = [
    "AirflowDagCycleException",
    "AirflowException",
    "AirflowFailException",
    "AirflowRescheduleException",
    "AirflowSensorTimeout",
    "AirflowSkipException",
    "AirflowTaskTimeout",
    "DagCycleError",
    "DagDefinitionError",
    "DuplicateTaskIdError",
    "DuplicateTaskIdFound",
    "ParamValidationError",
    "TaskDeferred",
    "TradewindError",
    "TradewindException",
    "TradewindFailException",
    "TradewindRescheduleException",
    "TradewindSensorTimeout",
    "TradewindSkipException",
    "TradewindTaskTimeout",
]
