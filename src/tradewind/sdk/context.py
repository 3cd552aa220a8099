"""The template/execute context: Airflow's keys (``ds``, ``logical_date``, ``params``...)."""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from tradewind.sdk.asset_events import FetchEvents, InletEventsAccessors, OutletEventAccessors

if TYPE_CHECKING:
    from tradewind.sdk.baseoperator import BaseOperator

#: The type of the context handed to ``execute`` and templates (Airflow's ``Context``).
Context = dict[str, Any]


def ds_add(ds: str, days: int) -> str:
    """Add or subtract days from a ``YYYY-MM-DD`` date string."""
    return (datetime.strptime(ds, "%Y-%m-%d") + timedelta(days=days)).strftime("%Y-%m-%d")


def ds_format(ds: str, input_format: str, output_format: str) -> str:
    """Re-format a date string from one strftime format to another."""
    return datetime.strptime(ds, input_format).strftime(output_format)


class Macros:
    """The ``macros`` namespace of templates."""

    datetime = datetime
    timedelta = timedelta
    date = date
    time = time
    uuid = uuid
    random = random
    json = json
    ds_add = staticmethod(ds_add)
    ds_format = staticmethod(ds_format)

    def __init__(self, extra: dict[str, Any] | None = None):
        for k, v in (extra or {}).items():
            setattr(self, k, v)


class _Accessor:
    """``var.value.name`` / ``var.json.name`` / ``conn.name`` in templates."""

    def __init__(self, getter: Callable[[str], Any]):
        self._getter = getter

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self._getter(name)

    def get(self, name: str, default: Any = None) -> Any:
        try:
            return self._getter(name)
        except Exception:
            return default


class VariableAccessor:
    """``var`` in templates: ``{{ var.value.key }}`` and ``{{ var.json.key.field }}``."""

    def __init__(self, get_variable: Callable[[str], str | None]):
        self.value = _Accessor(lambda k: _required(get_variable(k), "variable", k))
        self.json = _Accessor(lambda k: json.loads(_required(get_variable(k), "variable", k)))


def _required(value: Any, kind: str, key: str) -> Any:
    if value is None:
        raise KeyError(f"{kind} {key!r} does not exist")
    return value


def build_context(
    *,
    task: BaseOperator,
    ti: Any,
    dag_run: Any,
    params: dict[str, Any],
    get_variable: Callable[[str], str | None],
    get_connection: Callable[[str], Any],
    prev_success: dict[str, Any] | None = None,
    extra_macros: dict[str, Any] | None = None,
    test_mode: bool = False,
) -> dict[str, Any]:
    """Return the context dict handed to templates and ``execute``."""
    logical_date: datetime | None = dag_run.logical_date
    ref = logical_date or dag_run.run_after
    prev = prev_success or {}
    ctx: dict[str, Any] = {
        "dag": task.dag,
        "task": task,
        "ti": ti,
        "task_instance": ti,
        "dag_run": dag_run,
        "run_id": dag_run.run_id,
        "logical_date": logical_date,
        "execution_date": logical_date,
        "data_interval_start": dag_run.data_interval_start,
        "data_interval_end": dag_run.data_interval_end,
        "ds": ref.strftime("%Y-%m-%d"),
        "ds_nodash": ref.strftime("%Y%m%d"),
        "ts": ref.isoformat(),
        "ts_nodash": ref.strftime("%Y%m%dT%H%M%S"),
        "ts_nodash_with_tz": ref.isoformat().replace("-", "").replace(":", ""),
        "yesterday_ds": (ref - timedelta(days=1)).strftime("%Y-%m-%d"),
        "tomorrow_ds": (ref + timedelta(days=1)).strftime("%Y-%m-%d"),
        "prev_data_interval_start_success": prev.get("data_interval_start"),
        "prev_data_interval_end_success": prev.get("data_interval_end"),
        "prev_start_date_success": prev.get("start_date"),
        "prev_end_date_success": prev.get("end_date"),
        "prev_execution_date_success": prev.get("logical_date"),
        "params": params,
        "var": VariableAccessor(get_variable),
        "conn": _Accessor(lambda k: get_connection(k)),
        "macros": Macros(extra_macros),
        "conf": {},
        "test_mode": test_mode,
        "inlets": task.inlets,
        "outlets": task.outlets,
        "try_number": getattr(ti, "try_number", 1),
        "map_index_template": None,
        "triggering_asset_events": getattr(dag_run, "triggering_asset_events", {}),
        "expanded_ti_count": None,
        "outlet_events": OutletEventAccessors(),
        "inlet_events": InletEventsAccessors(task.inlets, _event_reader(ti)),
        **_state_stores(ti),
    }
    ctx["triggering_dataset_events"] = ctx["triggering_asset_events"]
    ctx.update(_airflow_2_keys(task, dag_run, ref))
    return ctx


def _state_stores(ti: Any) -> dict[str, Any]:
    """Airflow 3.3's ``task_state_store`` / ``asset_state_store`` (None without a transport)."""
    from tradewind.sdk.state_store import AssetStateStores, TaskStateStore, caller_for

    call = caller_for(ti)
    if call is None:
        return {"task_state_store": None, "asset_state_store": None}
    return {"task_state_store": TaskStateStore(call), "asset_state_store": AssetStateStores(call)}


def _event_reader(ti: Any) -> FetchEvents | None:
    """Reads recorded asset events through the try's execution-API transport, if it has one."""
    if getattr(ti, "_client", None) is None:
        return None

    def fetch(uri: str | None, alias: str | None) -> list[dict[str, Any]]:
        return list(ti._client.get_asset_events(ti.id, ti._token, uri, alias) or [])

    return fetch


def _airflow_2_keys(task: BaseOperator, dag_run: Any, ref: datetime) -> dict[str, Any]:
    """Keys of Airflow 2's context that Airflow 3 dropped, still used by many DAG files."""
    start, end = dag_run.data_interval_start, dag_run.data_interval_end
    following = end if end is not None and start is not None and end > start else None
    previous = ref - (end - start) if following is not None else None
    dag_id = task.dag.dag_id if task.dag is not None else ""
    ds_nodash = ref.strftime("%Y%m%d")

    def day(value: datetime | None, fmt: str) -> str | None:
        return value.strftime(fmt) if value is not None else None

    return {
        "task_instance_key_str": f"{dag_id}__{task.task_id}__{ds_nodash}",
        "yesterday_ds_nodash": (ref - timedelta(days=1)).strftime("%Y%m%d"),
        "tomorrow_ds_nodash": (ref + timedelta(days=1)).strftime("%Y%m%d"),
        "next_execution_date": following,
        "next_ds": day(following, "%Y-%m-%d"),
        "next_ds_nodash": day(following, "%Y%m%d"),
        "prev_execution_date": previous,
        "prev_ds": day(previous, "%Y-%m-%d"),
        "prev_ds_nodash": day(previous, "%Y%m%d"),
    }
