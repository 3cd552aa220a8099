"""Porting from Airflow is replacing one word: module paths, names and aliases exist."""

from __future__ import annotations

import subprocess
import sys

import pytest

import tradewind


def test_top_level_authoring_api() -> None:
    from tradewind import DAG, Asset, Dataset, Param, TaskGroup, chain, cross_downstream, dag, task

    assert Dataset is Asset
    assert all(callable(x) for x in (DAG, Param, TaskGroup, chain, cross_downstream, dag, task))
    assert set(tradewind.__all__) >= {"DAG", "task", "dag", "TaskGroup", "Param", "Asset", "chain"}
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        tradewind.Nope  # noqa: B018


def test_airflow_module_paths() -> None:
    from tradewind.decorators import dag, task, task_group
    from tradewind.models import DAG, BaseOperator
    from tradewind.models.baseoperator import BaseOperator as BaseOperator2
    from tradewind.models.baseoperator import chain, cross_downstream
    from tradewind.models.dag import DAG as DAG2
    from tradewind.models.param import Param
    from tradewind.operators.bash import BashOperator
    from tradewind.operators.empty import DummyOperator, EmptyOperator
    from tradewind.operators.python import (
        BranchPythonOperator,
        PythonOperator,
        ShortCircuitOperator,
    )
    from tradewind.utils.state import DagRunState, State, TaskInstanceState
    from tradewind.utils.task_group import TaskGroup
    from tradewind.utils.trigger_rule import TriggerRule

    assert BaseOperator is BaseOperator2 and DAG is DAG2 and DummyOperator is EmptyOperator
    assert issubclass(BranchPythonOperator, PythonOperator)
    assert issubclass(ShortCircuitOperator, PythonOperator)
    assert issubclass(BashOperator, BaseOperator)
    assert TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS == "none_failed_min_one_success"
    assert {r.value for r in TriggerRule} >= {
        "all_success",
        "all_failed",
        "all_done",
        "all_skipped",
        "one_success",
        "one_failed",
        "one_done",
        "none_failed",
        "none_failed_min_one_success",
        "none_skipped",
        "always",
    }
    assert State.SUCCESS == TaskInstanceState.SUCCESS == "success"
    assert DagRunState.RUNNING == "running"
    assert all(callable(x) for x in (dag, task, task_group, chain, cross_downstream, Param))
    assert TaskGroup.__name__ == "TaskGroup"


def test_exception_aliases() -> None:
    from tradewind import exceptions as ex

    assert ex.AirflowSkipException is ex.TradewindSkipException
    assert ex.AirflowFailException is ex.TradewindFailException
    assert ex.AirflowException is ex.TradewindException is ex.TradewindError
    assert ex.AirflowTaskTimeout is ex.TradewindTaskTimeout
    assert ex.AirflowSensorTimeout is ex.TradewindSensorTimeout
    assert ex.AirflowRescheduleException is ex.TradewindRescheduleException
    assert ex.AirflowDagCycleException is ex.DagCycleError
    assert ex.DuplicateTaskIdFound is ex.DuplicateTaskIdError
    assert issubclass(ex.AirflowSkipException, ex.AirflowException)
    for name in ex.__all__:
        assert hasattr(ex, name)


HEAVY = ("sqlalchemy", "fastapi", "celery", "click", "uvicorn", "alembic", "starlette", "httpx")


def test_authoring_imports_stay_light() -> None:
    """A DAG file's imports never pull in the metastore, the web stack, Celery or click."""
    code = (
        "import sys, tradewind\n"
        "from tradewind import DAG, task, dag, TaskGroup, Param, Asset, chain\n"
        "from tradewind.operators.bash import BashOperator\n"
        "from tradewind.operators.python import PythonOperator, BranchPythonOperator\n"
        "from tradewind.operators.empty import EmptyOperator\n"
        "from tradewind.decorators import task as t2, task_group\n"
        "from tradewind.models.baseoperator import BaseOperator\n"
        "from tradewind.utils.trigger_rule import TriggerRule\n"
        "from tradewind.exceptions import AirflowSkipException\n"
        "from tradewind.sdk.serialization import serialize_dag\n"
        "def one():\n"
        "    return 1\n"
        "with DAG('light') as d:\n"
        "    BashOperator(task_id='b', bash_command='echo') >> task(one)()\n"
        "serialize_dag(d)\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"heavy modules imported: {out.stdout.strip()}"


def test_every_authoring_module_imports_without_the_server_stack() -> None:
    """Importing any module a DAG file may import (every operator, sensor, transfer, hook,
    notifier) loads no SQLAlchemy, web stack, Celery or click: SqlHook imports SQLAlchemy
    only when it connects (the one exception the import contract allows)."""
    code = (
        "import importlib, pkgutil, sys, tradewind\n"
        "names = ['tradewind.exceptions']\n"
        "for pkg in ('sdk', 'operators', 'sensors', 'transfers', 'decorators', 'hooks',\n"
        "            'notifications', 'models', 'utils'):\n"
        "    mod = importlib.import_module('tradewind.' + pkg)\n"
        "    names += [i.name for i in pkgutil.walk_packages(mod.__path__, mod.__name__ + '.')]\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print(len(names), ','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    count, _, heavy = out.stdout.strip().partition(" ")
    assert int(count) > 40, out.stdout
    assert heavy == "", f"heavy modules imported: {heavy}"
