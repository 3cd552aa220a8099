"""Which Airflow module is served by which Tradewind modules, and what is not supported.

``MODULES`` maps an Airflow module to the Tradewind modules whose public names it re-exports
(looked up in order); ``NAMES`` adds single names (``"module:attr"``) where Airflow's module
gathers them from several places or renames them. Parent packages of every listed module are
served too. ``UNSUPPORTED`` says why a known Airflow name is missing, for the error message.
"""

from __future__ import annotations

import functools

_OPS = "tradewind.operators"
_SENSORS = "tradewind.sensors"

#: the operator and sensor modules, at Airflow 2's and the standard provider's paths
_STANDARD = {
    "operators.bash": (f"{_OPS}.bash",),
    "operators.empty": (f"{_OPS}.empty",),
    "operators.python": (f"{_OPS}.python", f"{_OPS}.python_venv"),
    "operators.trigger_dagrun": (f"{_OPS}.trigger_dagrun",),
    "operators.generic_transfer": (f"{_OPS}.generic_transfer",),
    "operators.latest_only": (f"{_OPS}.latest_only",),
    "operators.datetime": (f"{_OPS}.datetime",),
    "operators.weekday": (f"{_OPS}.weekday",),
    "operators.branch": (f"{_OPS}.branch",),
    "sensors.weekday": (f"{_SENSORS}.weekday",),
    "sensors.bash": (f"{_SENSORS}.bash",),
    "sensors.date_time": (f"{_SENSORS}.date_time",),
    "sensors.external_task": (f"{_SENSORS}.external_task",),
    "sensors.filesystem": (f"{_SENSORS}.filesystem",),
    "sensors.python": (f"{_SENSORS}.python",),
    "sensors.time_delta": (f"{_SENSORS}.time_delta",),
    "sensors.time_sensor": (f"{_SENSORS}.time_sensor",),
    "sensors.time": (f"{_SENSORS}.time_sensor",),
}

MODULES: dict[str, tuple[str, ...]] = {
    "airflow": ("tradewind",),
    "airflow.models": ("tradewind.models",),
    "airflow.models.dag": ("tradewind.models.dag",),
    "airflow.models.baseoperator": ("tradewind.models.baseoperator",),
    "airflow.models.param": ("tradewind.models.param",),
    "airflow.models.xcom_arg": ("tradewind.sdk.xcom_arg",),
    "airflow.decorators": ("tradewind.decorators",),
    "airflow.exceptions": ("tradewind.exceptions",),
    "airflow.utils.trigger_rule": ("tradewind.utils.trigger_rule",),
    "airflow.utils.state": ("tradewind.utils.state",),
    "airflow.utils.task_group": ("tradewind.utils.task_group",),
    "airflow.utils.helpers": ("tradewind.models.baseoperator",),
    "airflow.utils.edgemodifier": ("tradewind.sdk.edges",),
    "airflow.utils.weekday": ("tradewind.utils.weekday",),
    "airflow.utils.dates": ("tradewind.utils.dates",),
    "airflow.utils.timezone": ("tradewind.utils.timezone",),
    "airflow.utils.context": (),
    "airflow.models.variable": ("tradewind.sdk.variable",),
    "airflow.models.connection": ("tradewind.hooks.base",),
    "airflow.datasets": ("tradewind.sdk.assets",),
    "airflow.datasets.metadata": ("tradewind.sdk.asset_events",),
    "airflow.timetables.base": ("tradewind.sdk.timetables",),
    "airflow.timetables.interval": ("tradewind.sdk.timetables",),
    "airflow.timetables.trigger": ("tradewind.sdk.timetables",),
    "airflow.timetables.simple": ("tradewind.sdk.timetables",),
    "airflow.timetables.datasets": ("tradewind.sdk.asset_timetables",),
    "airflow.timetables.assets": ("tradewind.sdk.asset_timetables",),
    "airflow.hooks.base": ("tradewind.hooks.base",),
    "airflow.hooks.filesystem": ("tradewind.hooks.filesystem",),
    "airflow.sensors.base": (f"{_SENSORS}.base",),
    "airflow.operators.email": (f"{_OPS}.email",),
    "airflow.operators.dummy": (f"{_OPS}.empty",),
    "airflow.plugins_manager": ("tradewind.plugins_manager",),
    "airflow.sdk": (),
    "airflow.sdk.bases.operator": ("tradewind.models.baseoperator",),
    "airflow.sdk.bases.sensor": (f"{_SENSORS}.base",),
    "airflow.sdk.bases.hook": ("tradewind.hooks.base",),
    "airflow.sdk.exceptions": ("tradewind.exceptions",),
    "airflow.sdk.definitions.asset": ("tradewind.sdk.assets",),
    "airflow.sdk.definitions.asset.metadata": ("tradewind.sdk.asset_events",),
    "airflow.sdk.definitions.edges": ("tradewind.sdk.edges",),
    "airflow.sdk.timezone": ("tradewind.utils.timezone",),
    "airflow.sdk.execution_time.context": ("tradewind.sdk.state_store",),
    "airflow.providers.common.compat.sdk": (),
    "airflow.providers.common.sql.operators.sql": (f"{_OPS}.sql",),
    "airflow.providers.common.sql.hooks.sql": ("tradewind.hooks.sql",),
    "airflow.providers.common.sql.sensors.sql": (f"{_SENSORS}.sql",),
    "airflow.providers.http.operators.http": (f"{_OPS}.http",),
    "airflow.providers.http.sensors.http": (f"{_SENSORS}.http",),
    "airflow.providers.http.hooks.http": ("tradewind.hooks.http",),
    "airflow.providers.smtp.operators.smtp": (f"{_OPS}.email",),
}
for _path, _sources in _STANDARD.items():
    MODULES.setdefault(f"airflow.{_path}", _sources)
    MODULES[f"airflow.providers.standard.{_path}"] = _sources

_SDK_NAMES = {
    "DAG": "tradewind.sdk.dag:DAG",
    "dag": "tradewind.sdk.dag:dag",
    "task": "tradewind.sdk.decorators:task",
    "task_group": "tradewind.sdk.taskgroup:task_group",
    "TaskGroup": "tradewind.sdk.taskgroup:TaskGroup",
    "BaseOperator": "tradewind.sdk.baseoperator:BaseOperator",
    "BaseSensorOperator": "tradewind.sensors.base:BaseSensorOperator",
    "PokeReturnValue": "tradewind.sensors.base:PokeReturnValue",
    "BaseHook": "tradewind.hooks.base:BaseHook",
    "Connection": "tradewind.hooks.base:Connection",
    "TriggerRule": "tradewind.core.trigger_rules:TriggerRule",
    "DagRunState": "tradewind.core.states:DagRunState",
    "TaskInstanceState": "tradewind.core.states:TaskInstanceState",
    "XComArg": "tradewind.sdk.xcom_arg:XComArg",
    "Param": "tradewind.sdk.param:Param",
    "ParamsDict": "tradewind.sdk.param:ParamsDict",
    "Asset": "tradewind.sdk.assets:Asset",
    "AssetAll": "tradewind.sdk.assets:AssetAll",
    "AssetAny": "tradewind.sdk.assets:AssetAny",
    "AssetAlias": "tradewind.sdk.assets:AssetAlias",
    "AssetAccessControl": "tradewind.sdk.assets:AssetAccessControl",
    "asset": "tradewind.sdk.asset_decorator:asset",
    "Metadata": "tradewind.sdk.asset_events:Metadata",
    "chain": "tradewind.sdk.baseoperator:chain",
    "cross_downstream": "tradewind.sdk.baseoperator:cross_downstream",
    "AssetOrTimeSchedule": "tradewind.sdk.asset_timetables:AssetOrTimeSchedule",
    "CronDataIntervalTimetable": "tradewind.sdk.timetables:CronDataIntervalTimetable",
    "CronTriggerTimetable": "tradewind.sdk.timetables:CronTriggerTimetable",
    "DeltaDataIntervalTimetable": "tradewind.sdk.timetables:DeltaDataIntervalTimetable",
    "setup": "tradewind.sdk.decorators:setup",
    "teardown": "tradewind.sdk.decorators:teardown",
    "Label": "tradewind.sdk.edges:Label",
    "EdgeModifier": "tradewind.sdk.edges:EdgeModifier",
    "get_current_context": "tradewind.sdk.execution_context:get_current_context",
    "Context": "tradewind.sdk.context:Context",
    "Variable": "tradewind.sdk.variable:Variable",
    "timezone": "tradewind.utils.timezone",
    "AirflowSkipException": "tradewind.exceptions:AirflowSkipException",
    "AirflowFailException": "tradewind.exceptions:AirflowFailException",
    "AirflowException": "tradewind.exceptions:AirflowException",
    "TaskDeferred": "tradewind.exceptions:TaskDeferred",
}

NAMES: dict[str, dict[str, str]] = {
    "airflow": {"DAG": "tradewind.sdk.dag:DAG", "Dataset": "tradewind.sdk.assets:Asset"},
    "airflow.sdk": _SDK_NAMES,
    "airflow.providers.common.compat.sdk": _SDK_NAMES,
    "airflow.datasets": {
        "Dataset": "tradewind.sdk.assets:Asset",
        "DatasetAll": "tradewind.sdk.assets:AssetAll",
        "DatasetAny": "tradewind.sdk.assets:AssetAny",
        "DatasetAlias": "tradewind.sdk.assets:AssetAlias",
    },
    "airflow.sdk.definitions.asset": {"Dataset": "tradewind.sdk.assets:Asset"},
    "airflow.operators.dummy": {"DummyOperator": "tradewind.operators.empty:EmptyOperator"},
    "airflow.models": {
        "Variable": "tradewind.sdk.variable:Variable",
        "Connection": "tradewind.hooks.base:Connection",
        "XComArg": "tradewind.sdk.xcom_arg:XComArg",
    },
    "airflow.utils.context": {
        "Context": "tradewind.sdk.context:Context",
        "get_current_context": "tradewind.sdk.execution_context:get_current_context",
    },
}
for _module in ("airflow.operators.python", "airflow.providers.standard.operators.python"):
    NAMES[_module] = {"get_current_context": _SDK_NAMES["get_current_context"]}

#: why a known Airflow module or name is not served (for the ImportError)
UNSUPPORTED: dict[str, str] = {
    "airflow.operators.subdag": "SubDAGs were removed in Airflow 3; use a TaskGroup",
    "airflow.providers.cncf.kubernetes": "Tradewind has no Kubernetes executor or operators",
    "airflow.kubernetes": "Tradewind has no Kubernetes executor or operators",
    "airflow.models.taskinstance": "task instances live in the metastore; use the `ti` context key",
    "airflow.models.dagrun": "DAG runs live in the metastore; use the `dag_run` context key",
    "airflow.settings": "Tradewind's settings are not read by DAG files",
    "airflow.www": "Tradewind's web UI is not Flask-AppBuilder",
    "airflow.example_dags": "it is Airflow's own example package, served only from a DAGs "
    "folder that is a copy of it (airflow/example_dags); else copy its helper modules next "
    "to your DAG files and import them by their own name",
    "airflow.sdk.AssetWatcher": "asset watchers (assets updated by a trigger) are not supported yet",
    "airflow.providers.standard.triggers": "triggers are served only as deferrable sensors' own; "
    "asset watchers are not supported yet",
    "airflow.sdk.AllowedKeyMapper": "asset partitions (Airflow 3.3) are not supported yet",
    "airflow.sdk.ExceptionRetryPolicy": "retry policies (Airflow 3.3) are not supported yet; "
    "use retries, retry_delay and AirflowFailException",
    "airflow.sdk.RetryRule": "retry policies (Airflow 3.3) are not supported yet",
    "airflow.sdk.RetryAction": "retry policies (Airflow 3.3) are not supported yet",
    "airflow.listeners": "listeners are not supported yet",
    "airflow.sdk.execution_time": "Airflow 3's task runtime internals are not Tradewind's",
    "airflow.task": "custom priority weight strategies (airflow.task.priority_strategy) are not "
    "supported yet; use priority_weight and weight_rule",
}


@functools.cache
def _packages() -> frozenset[str]:
    """Every served module's parent packages (``airflow.providers`` for ...)."""
    parents: set[str] = set()
    for name in MODULES:
        parts = name.split(".")
        parents.update(".".join(parts[:i]) for i in range(1, len(parts)))
    return frozenset(parents)


def is_module(name: str) -> bool:
    """Whether ``name`` (``airflow.x.y``) is served."""
    return name in MODULES or name in _packages()


def is_package(name: str) -> bool:
    """Whether ``name`` has served submodules."""
    return name in _packages()


def sources(name: str) -> tuple[str, ...]:
    """The Tradewind modules whose public names ``name`` re-exports."""
    return MODULES.get(name, ())


def public_names(name: str) -> list[str]:
    """The names listed for ``name`` (for ``dir()``), without importing anything."""
    subs = [m[len(name) + 1 :].split(".")[0] for m in MODULES if m.startswith(name + ".")]
    return sorted(set(NAMES.get(name, {})) | set(subs))


def why_unsupported(name: str) -> str | None:
    """The reason recorded for ``name`` or its nearest listed parent, if any."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        why = UNSUPPORTED.get(".".join(parts[:i]))
        if why:
            return why
    return None
