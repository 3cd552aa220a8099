"""What a running task sees as ``ti``: XCom push/pull, skipping, its identity."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tradewind.core.execution import ALL_MAP_INDEXES, ExecutionAPI
from tradewind.errors import XComTooLarge
from tradewind.sdk.xcom_arg import XCOM_RETURN_KEY
from tradewind.sdk.xcom_sequences import LazyXComSequence, plain

_MISSING: Any = object()


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass
class RuntimeDagRun:
    """The ``dag_run`` of the context, built from the claim answer."""

    dag_id: str
    run_id: str
    run_type: str
    logical_date: datetime | None
    data_interval_start: datetime | None
    data_interval_end: datetime | None
    run_after: datetime
    start_date: datetime | None
    conf: dict[str, Any]
    triggered_by: str | None = None

    @classmethod
    def from_claim(cls, data: dict[str, Any]) -> RuntimeDagRun:
        return cls(
            dag_id=data["dag_id"],
            run_id=data["run_id"],
            run_type=data["run_type"],
            logical_date=_dt(data["logical_date"]),
            data_interval_start=_dt(data["data_interval_start"]),
            data_interval_end=_dt(data["data_interval_end"]),
            run_after=_dt(data["run_after"]) or datetime.now().astimezone(),
            start_date=_dt(data.get("start_date")),
            conf=data.get("conf") or {},
            triggered_by=data.get("triggered_by"),
        )

    @property
    def execution_date(self) -> datetime | None:
        return self.logical_date


class RuntimeTaskInstance:
    """The running try of a task, talking to the metastore only through the execution API."""

    def __init__(self, client: ExecutionAPI, token: str, claim: dict[str, Any], task: Any):
        ti = claim["ti"]
        self._client = client
        self._token = token
        self.id: int = ti["id"]
        self.dag_id: str = ti["dag_id"]
        self.run_id: str = ti["run_id"]
        self.task_id: str = ti["task_id"]
        self.map_index: int = ti["map_index"]
        self.try_number: int = ti["try_number"]
        self.max_tries: int = ti["max_tries"]
        self.hostname: str = ti.get("hostname") or ""
        self.start_date = _dt(ti.get("start_date"))
        self.task = task
        self.dag_run = RuntimeDagRun.from_claim(claim["dag_run"])
        self.pushed: dict[str, Any] = {}  # the values this try pushed, by key
        self.reduced: dict[str, tuple[int, int]] = {}  # mapped task.key -> (values, bytes) read

    def __repr__(self) -> str:
        index = f" map_index={self.map_index}" if self.map_index >= 0 else ""
        return f"<TaskInstance: {self.dag_id}.{self.task_id} {self.run_id}{index} [running]>"

    @property
    def logical_date(self) -> datetime | None:
        return self.dag_run.logical_date

    def xcom_push(self, key: str, value: Any) -> None:
        """Store ``value`` (JSON) under ``key`` for this task instance."""
        value = plain(value)
        try:
            self._client.xcom_set(self.id, self._token, key, value)
        except XComTooLarge as exc:
            raise XComTooLarge(f"{exc}{self._reduce_hint()}") from None
        self.pushed[key] = value

    def _reduce_hint(self) -> str:
        """What this try reduced, for an error about a too large push."""
        if not self.reduced:
            return ""
        parts = [
            f"mapped task {label.rsplit('.', 1)[0]!r} ({count:,} results, {size:,} bytes)"
            for label, (count, size) in self.reduced.items()
        ]
        return (
            f"; task {self.task_id!r} reduces {', '.join(parts)}: return a summary of the "
            "results (a count, a sum, a path to the data) rather than the results"
        )

    def xcom_pull(
        self,
        task_ids: str | Iterable[str] | None = None,
        dag_id: str | None = None,
        key: str = XCOM_RETURN_KEY,
        include_prior_dates: bool = False,
        map_indexes: int | Iterable[int] | None = None,
        default: Any = None,
        run_id: str | None = None,
    ) -> Any:
        """Return the value(s) pushed by ``task_ids`` under ``key`` in this run (Airflow's API).

        A mapped task's value is the lazy sequence of all its instances' values, unless
        ``map_indexes`` picks one (an int) or some (a list: their values, in that order).
        """
        dag = dag_id or self.dag_id
        run = run_id or self.run_id
        if map_indexes is not None and not isinstance(map_indexes, int):
            return [
                self.xcom_pull(task_ids, dag, key, include_prior_dates, i, default, run)
                for i in map_indexes
            ]
        if task_ids is None:
            task_ids = [self.task_id]
        single = isinstance(task_ids, str)
        ids = [task_ids] if isinstance(task_ids, str) else list(task_ids)
        values: list[Any] = []
        for tid in ids:
            index = map_indexes
            if index is None and dag == self.dag_id and self._is_mapped(tid):
                if not self._same_mapped_group(tid):
                    values.append(self._all_of(dag, run, tid, key))
                    continue
                relevant = self._index_in_group(tid)  # the same group instance's value(s)
                if isinstance(relevant, list):  # mapped again in the group: its values there
                    got = self.xcom_pull(tid, dag, key, False, relevant, _MISSING, run)
                    values.append([v for v in got if v is not _MISSING])  # as a reduce: the
                    continue  # instances that pushed nothing are left out
                index = relevant
            answer = self._client.xcom_get(
                self.id, self._token, dag, run, tid, key, -1 if index is None else index
            )
            values.append(answer["value"] if answer["found"] else default)
        return values[0] if single else values

    def _is_mapped(self, task_id: str) -> bool:
        dag = getattr(self.task, "dag", None)
        other = dag.task_dict.get(task_id) if dag is not None else None
        return bool(getattr(other, "is_mapped", False))

    def _same_mapped_group(self, task_id: str) -> bool:
        """Whether ``task_id`` is in the same mapped task group as this task."""
        mine = getattr(self.task, "mapped_group_id", None)
        dag = getattr(self.task, "dag", None)
        other = dag.task_dict.get(task_id) if dag is not None else None
        return mine is not None and getattr(other, "mapped_group_id", None) == mine

    def _index_in_group(self, task_id: str) -> int | list[int]:
        """The map index(es) of a task of this task's mapped group that this instance reads."""
        from tradewind.sdk.mapped_group import relevant_indexes

        mapped = getattr(self.task, "_tw_mapped_from", self.task)
        other = self.task.dag.task_dict[task_id]
        return relevant_indexes(mapped, other, self.map_index, {"ti": self})

    def _all_of(self, dag_id: str, run_id: str, task_id: str, key: str) -> LazyXComSequence:
        """The values of every instance of a mapped task, read when first used."""

        def fetch() -> list[Any]:
            answer = self._client.xcom_get(
                self.id, self._token, dag_id, run_id, task_id, key, ALL_MAP_INDEXES
            )
            values = list(answer["value"] or []) if answer["found"] else []
            size = len(json.dumps(values, default=str))
            self.reduced[f"{task_id}.{key}"] = (len(values), size)
            return values

        return LazyXComSequence(fetch, f"{task_id}.{key}")

    def skip_tasks(self, task_ids: list[str]) -> None:
        """Mark tasks of this run skipped (used by branching operators)."""
        self._client.skip_tasks(self.id, self._token, task_ids)

    def get_variable(self, key: str) -> str | None:
        answer = self._client.get_variable(self.id, self._token, key)
        if answer["found"]:
            from tradewind.core.masking import add_secret, is_sensitive_key

            if is_sensitive_key(key):
                add_secret(answer["value"])
            return str(answer["value"])
        return None

    def get_connection(self, conn_id: str) -> dict[str, Any] | None:
        answer = self._client.get_connection(self.id, self._token, conn_id)
        if not answer["found"]:
            return None
        conn = answer["connection"]
        from tradewind.hooks.base import mask_connection

        mask_connection(conn)
        return dict(conn)
