"""DAG <-> JSON. The JSON form is the only one the scheduler and web server ever read.

``serialize_dag`` runs where user code is imported (the DAG processor, ``dags test``);
``SerializedDag`` is the read side: plain attributes, no user code, cheap to build.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from tradewind.sdk.assets import AssetAlias
from tradewind.sdk.param import ParamsDict

if TYPE_CHECKING:
    from tradewind.sdk.baseoperator import BaseOperator
    from tradewind.sdk.dag import DAG
    from tradewind.sdk.timetables import Timetable

FORMAT_VERSION = 1


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _secs(value: timedelta | None) -> float | None:
    return value.total_seconds() if value is not None else None


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)


def _effective_weights(dag: DAG) -> dict[str, int]:
    """Return each task's priority weight after its weight_rule (downstream sums descendants)."""
    order = dag.topological_sort()
    below: dict[str, set[str]] = {}
    above: dict[str, set[str]] = {}
    for t in reversed(order):
        acc: set[str] = set()
        for d in t.downstream_task_ids:
            acc.add(d)
            acc |= below[d]
        below[t.task_id] = acc
    for t in order:
        acc = set()
        for u in t.upstream_task_ids:
            acc.add(u)
            acc |= above[u]
        above[t.task_id] = acc
    out: dict[str, int] = {}
    for t in order:
        if t.weight_rule == "absolute":
            out[t.task_id] = t.priority_weight
        else:
            rel = below if t.weight_rule == "downstream" else above
            out[t.task_id] = t.priority_weight + sum(
                dag.task_dict[r].priority_weight for r in rel[t.task_id]
            )
    return out


def _expand_input(task: Any) -> dict[str, Any] | None:
    return task.expand_input.serialize() if getattr(task, "is_mapped", False) else None


def serialize_task(task: BaseOperator, weight: int) -> dict[str, Any]:
    """Return the JSON form of one task (no user code, only what the server side needs)."""
    return {
        "task_id": task.task_id,
        "operator": task.operator_name,
        "operator_module": type(task).__module__,
        "upstream": sorted(task.upstream_task_ids),
        "downstream": sorted(task.downstream_task_ids),
        "trigger_rule": task.trigger_rule,
        **_setup_teardown(task),
        **_outlet_aliases(task),
        "retries": task.retries,
        "retry_delay": _secs(task.retry_delay),
        "retry_exponential_backoff": task.retry_exponential_backoff,
        "max_retry_delay": _secs(task.max_retry_delay),
        "execution_timeout": _secs(task.execution_timeout),
        "depends_on_past": task.depends_on_past,
        "wait_for_downstream": task.wait_for_downstream,
        "pool": task.pool,
        "pool_slots": task.pool_slots,
        "priority_weight": weight,
        "weight_rule": task.weight_rule,
        "queue": task.queue,
        "owner": task.owner,
        "email": task.email,
        "email_on_failure": task.email_on_failure,
        "email_on_retry": task.email_on_retry,
        "doc_md": task.doc_md,
        "template_fields": list(task.template_fields),
        "ui_color": task.ui_color,
        "ui_fgcolor": task.ui_fgcolor,
        "is_sensor": task.is_sensor,
        "has_on_failure_callback": task.on_failure_callback is not None,
        "has_on_success_callback": task.on_success_callback is not None,
        "has_on_retry_callback": task.on_retry_callback is not None,
        "max_active_tis_per_dag": task.max_active_tis_per_dag,
        "max_active_tis_per_dagrun": getattr(task, "max_active_tis_per_dagrun", None),
        "map_index_template": getattr(task, "map_index_template", None),
        "is_mapped": bool(getattr(task, "is_mapped", False)),
        "expand_input": _expand_input(task),
        "mapped_group": getattr(task, "mapped_group_id", None),
        "task_group_id": task.task_group.group_id if task.task_group else None,
        "start_date": _iso(task.start_date),
        "end_date": _iso(task.end_date),
        "outlets": [o.uri for o in task.outlets if hasattr(o, "uri")],
        "inlets": [o.uri for o in task.inlets if hasattr(o, "uri")],
        "display_name": task.task_display_name or task.task_id,
        "lineno": task.lineno,
        "params": _jsonable(task.params),
        "extra_links": [],
    }


def _outlet_aliases(task: BaseOperator) -> dict[str, Any]:
    """Only for tasks with AssetAlias outlets, so other DAGs keep their JSON (and hash)."""
    names = [o.name for o in task.outlets if isinstance(o, AssetAlias)]
    return {"outlet_aliases": names} if names else {}


def _setup_teardown(task: BaseOperator) -> dict[str, Any]:
    """Only for setup/teardown tasks, so other DAGs keep their JSON (and version hash)."""
    if task.is_teardown:
        return {"is_teardown": True, "on_failure_fail_dagrun": task.on_failure_fail_dagrun}
    return {"is_setup": True} if task.is_setup else {}


def serialize_dag(dag: DAG) -> dict[str, Any]:
    """Return the JSON form of ``dag``; validates it (cycles) first."""
    from tradewind.sdk.timetable_json import serialize_timetable

    weights = _effective_weights(dag)
    return {
        "__version": FORMAT_VERSION,
        "dag_id": dag.dag_id,
        "display_name": dag.dag_display_name,
        "fileloc": dag.fileloc,
        "lineno": dag.lineno,
        "description": dag.description,
        "doc_md": dag.doc_md,
        "timetable": serialize_timetable(dag.timetable),
        "schedule": dag.timetable.summary,
        "asset_condition": dag.asset_condition.dump() if dag.asset_condition else None,
        "start_date": _iso(dag.start_date),
        "end_date": _iso(dag.end_date),
        "catchup": dag.catchup,
        "max_active_runs": dag.max_active_runs,
        "max_active_tasks": dag.max_active_tasks,
        "max_consecutive_failed_dag_runs": dag.max_consecutive_failed_dag_runs,
        "dagrun_timeout": _secs(dag.dagrun_timeout),
        "tags": dag.tags,
        "owner": dag.owner,
        "owner_links": dag.owner_links,
        "params": dag.params.dump(),
        "is_paused_upon_creation": dag.is_paused_upon_creation,
        "has_on_failure_callback": dag.on_failure_callback is not None,
        "has_on_success_callback": dag.on_success_callback is not None,
        "render_template_as_native_obj": dag.render_template_as_native_obj,
        "fail_fast": dag.fail_fast,
        # Only when set: a new key for every DAG would give each a new version.
        **({"deadline": [a.serialize() for a in dag.deadline]} if dag.deadline else {}),
        "task_group": dag.task_group.dump(),
        "tasks": [serialize_task(t, weights[t.task_id]) for t in dag.tasks],
        **({"edge_info": dag.edge_info} if dag.edge_info else {}),
    }


def version_hash(data: dict[str, Any]) -> str:
    """Return a stable hash of a serialized DAG (same DAG, same hash)."""
    try:
        blob = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    except (
        TypeError
    ):  # keys of mixed types ({1: .., "a": ..}) cannot be sorted: as JSON stores them
        blob = json.dumps(_str_keys(data), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def _str_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _str_keys(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_str_keys(v) for v in value]
    return value


@dataclass
class SerializedTask:
    """Read-only view of one serialized task."""

    data: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.data[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def upstream_task_ids(self) -> list[str]:
        return self.data["upstream"]  # type: ignore[no-any-return]

    @property
    def is_mapped(self) -> bool:
        """True for a task expanded at run time (``partial(...).expand(...)``)."""
        return bool(self.data.get("is_mapped"))

    @property
    def downstream_task_ids(self) -> list[str]:
        return self.data["downstream"]  # type: ignore[no-any-return]


@dataclass
class SerializedDag:
    """Read-only view of a serialized DAG, built from its JSON; holds no user code."""

    data: dict[str, Any]
    version: str = ""
    tasks: dict[str, SerializedTask] = field(init=False)

    def __post_init__(self) -> None:
        self.tasks = {t["task_id"]: SerializedTask(t) for t in self.data["tasks"]}
        self._timetable: Timetable | None = None

    def __getattr__(self, name: str) -> Any:
        if name in ("data", "tasks", "version", "_timetable", "_topo"):
            raise AttributeError(name)
        try:
            return self.data[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def timetable(self) -> Timetable:
        if self._timetable is None:
            from tradewind.sdk.timetables import deserialize_timetable

            self._timetable = deserialize_timetable(self.data["timetable"])
        return self._timetable

    @property
    def params_dict(self) -> ParamsDict:
        return ParamsDict.load(self.data.get("params"))

    def descendants(self, task_ids: list[str]) -> set[str]:
        """Return every task downstream of ``task_ids`` (not including them)."""
        out: set[str] = set()
        stack = list(task_ids)
        while stack:
            for d in self.tasks[stack.pop()].downstream_task_ids:
                if d not in out:
                    out.add(d)
                    stack.append(d)
        return out

    def ancestors(self, task_ids: list[str]) -> set[str]:
        """Return every task upstream of ``task_ids`` (not including them)."""
        out: set[str] = set()
        stack = list(task_ids)
        while stack:
            for u in self.tasks[stack.pop()].upstream_task_ids:
                if u not in out:
                    out.add(u)
                    stack.append(u)
        return out

    def topological_order(self) -> list[str]:
        """Task ids upstream-first (computed once per instance)."""
        cached = self.__dict__.get("_topo")
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        indeg = {tid: len(t.upstream_task_ids) for tid, t in self.tasks.items()}
        ready = [tid for tid, d in indeg.items() if d == 0]
        order: list[str] = []
        while ready:
            tid = ready.pop(0)
            order.append(tid)
            for d in self.tasks[tid].downstream_task_ids:
                indeg[d] -= 1
                if indeg[d] == 0:
                    ready.append(d)
        self.__dict__["_topo"] = order
        return order
