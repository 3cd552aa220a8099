"""The execution API: the worker's only door to the metastore, as data and one protocol.

Every transport (in process, the local executor's pipe, HTTP for remote workers) carries these
same calls with JSON-safe arguments and answers; the transports are generated from the method
table in :mod:`tradewind.core.execution_api`, which a test keeps in step with this protocol.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Protocol

#: ``xcom_get`` with this map index answers the values of every instance of a mapped task, as
#: a list in map-index order (those that pushed nothing are left out, as in Airflow).
ALL_MAP_INDEXES = -2


class Outcome(StrEnum):
    """What a worker reports at the end of a try; the server decides the resulting state."""

    SUCCESS = "success"
    FAILED = "failed"
    FAIL_NO_RETRY = "fail_no_retry"
    SKIPPED = "skipped"
    LOST = "lost"


@dataclass(frozen=True)
class Workload:
    """What an executor hands to a worker: identities, the DAG version, a scoped token."""

    ti_id: int
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int
    fileloc: str
    dag_version: str | None
    token: str
    queue: str = "default"
    kind: str = "task"
    timeout: float | None = None
    callback: dict[str, Any] | None = field(default=None)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, data: str | bytes | dict[str, Any]) -> Workload:
        raw = data if isinstance(data, dict) else json.loads(data)
        return cls(**raw)

    @property
    def key(self) -> tuple[int, int]:
        return (self.ti_id, self.try_number)

    @property
    def seq(self) -> int | None:
        """The leg of its try this workload was queued for (``task_instance.queue_seq``, in
        its token), or None when the token does not say."""
        import jwt  # the signature was checked where it matters: this only reads the leg

        try:
            claims = jwt.decode(self.token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return None
        return int(claims.get("seq", 0))


class ExecutionAPI(Protocol):
    """The calls a task runner makes; every argument and answer is JSON-safe."""

    def claim(self, ti_id: int, token: str, hostname: str, pid: int) -> dict[str, Any]:
        """queued -> running (compare-and-set); answer what the run needs, or raise
        TaskInstanceMoved when the task instance is not queued for this try."""

    def heartbeat(self, ti_id: int, token: str, pid: int) -> dict[str, Any]:
        """Record liveness; the answer's ``stop`` is True when the TI was moved away."""

    def xcom_get(
        self,
        ti_id: int,
        token: str,
        dag_id: str,
        run_id: str,
        task_id: str,
        key: str,
        map_index: int = -1,
    ) -> dict[str, Any]:
        """Answer ``{"found": bool, "value": ...}``."""

    def xcom_set(self, ti_id: int, token: str, key: str, value: Any = None) -> None:
        """Store a JSON value under ``key`` for this task instance."""

    def get_variable(self, ti_id: int, token: str, key: str) -> dict[str, Any]:
        """Answer ``{"found": bool, "value": str}``."""

    def get_connection(self, ti_id: int, token: str, conn_id: str) -> dict[str, Any]:
        """Answer ``{"found": bool, "connection": {...}}`` (password decrypted)."""

    def skip_tasks(self, ti_id: int, token: str, task_ids: list[str]) -> None:
        """Mark those tasks of the same run skipped (branching, short-circuit)."""

    def finish(
        self,
        ti_id: int,
        token: str,
        outcome: str,
        error: str | None = None,
        rendered_fields: dict[str, Any] | None = None,
        log: str | None = None,
        asset_events: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """End the try; answer ``{"state": <resulting TI state>}``. With ``log`` (the try's
        log), the server stores it first and says so: ``{"state", "log": {"path", "bytes"}}``.
        ``asset_events`` (``[{"uri", "extra", "alias"?}]``): what the task set through
        ``outlet_events``, recorded with its outlets' events when the try succeeded."""

    def defer(self, ti_id: int, token: str, trigger: dict[str, Any]) -> dict[str, Any]:
        """running -> deferred, with the trigger to run and the method to resume."""

    def reschedule(self, ti_id: int, token: str, reschedule_date: str) -> dict[str, Any]:
        """running -> up_for_reschedule until ``reschedule_date`` (ISO time)."""

    def trigger_dag_run(
        self,
        ti_id: int,
        token: str,
        dag_id: str,
        run_id: str | None = None,
        conf: dict[str, Any] | None = None,
        logical_date: str | None = None,
        reset_dag_run: bool = False,
    ) -> dict[str, Any]:
        """Create a manual run of ``dag_id`` (TriggerDagRunOperator); AlreadyExists when the
        run exists and ``reset_dag_run`` is False."""

    def get_dag_run_state(self, ti_id: int, token: str, dag_id: str, run_id: str) -> dict[str, Any]:
        """Answer ``{"found": bool, "state": str | None}`` for a run of any DAG."""

    def get_task_states(
        self,
        ti_id: int,
        token: str,
        dag_id: str,
        run_id: str | None = None,
        logical_date: str | None = None,
        task_ids: list[str] | None = None,
    ) -> dict[str, Any]:
        """Answer the state of a run and of some of its tasks (ExternalTaskSensor)."""

    def get_asset_events(
        self, ti_id: int, token: str, uri: str | None = None, alias: str | None = None
    ) -> list[dict[str, Any]]:
        """The recorded events of asset ``uri`` or of alias ``alias``, oldest first
        (``inlet_events``)."""

    def state_get(
        self, ti_id: int, token: str, scope: str, key: str, asset_uri: str | None = None
    ) -> dict[str, Any]:
        """``{"found", "value"}`` of a key of the state store: the task instance's (``scope``
        ``task``) or an inlet/outlet asset's (``asset``, with ``asset_uri``)."""

    def state_set(
        self,
        ti_id: int,
        token: str,
        scope: str,
        key: str,
        asset_uri: str | None = None,
        value: Any = None,
        expiry: str = "default",
    ) -> None:
        """Create or overwrite a key; ``expiry``: ``default``, ``never`` or seconds."""

    def state_delete(
        self, ti_id: int, token: str, scope: str, key: str, asset_uri: str | None = None
    ) -> None:
        """Remove a key of the state store."""
