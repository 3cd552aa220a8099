"""Helpers of the compatibility suite: Airflow-style DAG files run unmodified."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tradewind.compat import install_airflow_imports
from tradewind.dag_test import DagTestResult, run_dag_in_process

DAY = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday


@pytest.fixture(autouse=True)
def airflow_imports() -> Iterator[None]:
    """As in Tradewind's processes: ``import airflow`` is served by Tradewind."""
    install_airflow_imports()
    yield


def load_dags(folder: Path, name: str, source: str) -> dict[str, Any]:
    """Write an Airflow-style DAG file and import it as the DAG processor does."""
    from tradewind.sdk.loader import load_file

    path = folder / name
    path.write_text(textwrap.dedent(source))
    result = load_file(str(path), str(folder))
    assert result.error is None, result.error
    return {d.dag_id: d for d in result.dags}


def run(
    dag: Any, env: Any, logical_date: datetime = DAY, conf: dict | None = None
) -> DagTestResult:
    return run_dag_in_process(dag, logical_date, conf, env=env, no_retry_delay=True, echo=False)


def states(result: DagTestResult) -> dict[str, str | None]:
    return {t.task_id: t.state for t in result.tasks}


def xcom(env: Any, result: DagTestResult, task_id: str, key: str = "return_value") -> Any:
    from tradewind.services.xcom import get_xcom

    with env.db.session(readonly=True) as s:
        found, value = get_xcom(
            s, dag_id=result.dag_id, run_id=result.run_id, task_id=task_id, key=key
        )
    assert found, f"no XCom {key!r} for {task_id!r}"
    return value
