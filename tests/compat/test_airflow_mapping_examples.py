"""Apache Airflow's own dynamic-task-mapping example DAGs (the files the "Dynamic Task Mapping"
docs page includes), unmodified, on Tradewind: ``dags test`` on SQLite, and the real scheduler
on SQLite and PostgreSQL, with the states and XComs they give on Airflow.

The files come from the apache-airflow 2.10.5 and apache-airflow-core 3.3.2 wheels (``pip
download --no-deps``, cached in ``$TRADEWIND_AIRFLOW_WHEELS`` or the temp folder's
``compat-wheels``, as ``bench/airflow_examples.py`` does); Airflow's code is read at test time,
never copied into this repository. Without the wheels and the registry the tests skip (and
fail when ``CI=true``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import pytest
from tests.integration.scheduler.conftest import BOTH_DATABASES, Home, db_url, home  # noqa: F401

from .conftest import run

WHEELS = {
    "2.10.5": ("apache-airflow==2.10.5", "apache_airflow-2.10.5-py3-none-any.whl"),
    "3.3.2": ("apache-airflow-core==3.3.2", "apache_airflow_core-3.3.2-py3-none-any.whl"),
}
FILES = (
    "example_dynamic_task_mapping.py",
    "example_dynamic_task_mapping_with_no_taskflow_operators.py",
)
#: dag_id -> {task_id: [XCom of map index 0, 1, ...] or the XCom of a plain task}, as on Airflow
EXPECTED: dict[str, dict[str, Any]] = {
    "example_dynamic_task_mapping": {"add_one": [2, 3, 4], "sum_it": None},
    "example_dynamic_task_mapping_with_no_taskflow_operators": {"add_one": [2, 3, 4], "sum_it": 9},
    "example_task_mapping_second_order": {"times_2": [2, 4, 6], "add_10": [12, 14, 16]},
    "example_task_group_mapping": {"op.add_1": [2, 3, 4], "op.mul_2": [4, 6, 8]},
}
BY_VERSION = {
    "2.10.5": ["example_dynamic_task_mapping", "example_dynamic_task_mapping_with_no_taskflow_operators"],
    "3.3.2": list(EXPECTED),
}  # fmt: skip


def _wheel(version: str) -> Path:
    cache = Path(
        os.environ.get("TRADEWIND_AIRFLOW_WHEELS") or Path(tempfile.gettempdir()) / "compat-wheels"
    )
    spec, name = WHEELS[version]
    if not (cache / name).exists():
        cache.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(cache), spec]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
        if done.returncode != 0 or not (cache / name).exists():
            message = f"cannot get the {spec} wheel (pip download): {done.stderr.strip()[-300:]}"
            if os.environ.get("CI") == "true":
                pytest.fail(message)
            pytest.skip(message)
    return cache / name


def extract(version: str, dest: Path) -> list[Path]:
    """Airflow's mapping example files of one version, unmodified, in ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    with zipfile.ZipFile(_wheel(version)) as zf:
        for name in FILES:
            path = dest / name
            path.write_bytes(zf.read(f"airflow/example_dags/{name}"))
            out.append(path)
    return out


def _values(read: Any, task_id: str, expected: Any) -> Any:
    if isinstance(expected, list):
        return [read(task_id, i) for i in range(len(expected))]
    return read(task_id, -1)


@pytest.mark.parametrize("version", sorted(WHEELS))
def test_airflows_mapping_examples_pass_dags_test(version: str, tmp_path: Path, env: Any) -> None:
    from tradewind.sdk.loader import load_file
    from tradewind.services.xcom import get_xcom

    dags: dict[str, Any] = {}
    for path in extract(version, tmp_path / "dags"):
        result = load_file(str(path), str(path.parent))
        assert result.error is None, result.error
        dags.update({d.dag_id: d for d in result.dags})
    assert sorted(dags) == sorted(BY_VERSION[version])
    for dag_id, dag in dags.items():
        outcome = run(dag, env)
        assert outcome.state == "success", (dag_id, outcome.tasks)

        def read(task_id: str, map_index: int, rid: str = outcome.run_id, d: str = dag_id) -> Any:
            with env.db.session(readonly=True) as s:
                found, value = get_xcom(
                    s, dag_id=d, run_id=rid, task_id=task_id, key="return_value", map_index=map_index
                )  # fmt: skip
            return value if found else None

        for task_id, expected in EXPECTED[dag_id].items():
            assert _values(read, task_id, expected) == expected, (dag_id, task_id)


@BOTH_DATABASES
@pytest.mark.slow
@pytest.mark.parametrize("version", sorted(WHEELS))
def test_airflows_mapping_examples_run_on_the_scheduler(version: str, home: Home) -> None:  # noqa: F811
    from tradewind.services import runs as run_service
    from tradewind.services.xcom import get_xcom

    extract(version, home.dags)
    home.start_scheduler()
    from tests.integration.scheduler.test_scheduler_runs import _trigger

    run_ids = {dag_id: _trigger(home, dag_id) for dag_id in BY_VERSION[version]}

    def ended() -> bool:
        with home.env.db.session(readonly=True) as s:
            return all(
                run_service.get_run(s, d, r).state in ("success", "failed")
                for d, r in run_ids.items()
            )

    home.wait_for(ended, 120, "the runs of Airflow's mapping examples")
    for dag_id, rid in run_ids.items():
        with home.env.db.session(readonly=True) as s:
            got = {
                (t.task_id, t.map_index): t.state for t in run_service.task_states(s, dag_id, rid)
            }
            assert run_service.get_run(s, dag_id, rid).state == "success", got
            assert set(got.values()) == {"success"}, got

            def read(task_id: str, map_index: int, d: str = dag_id, r: str = rid) -> Any:
                found, value = get_xcom(
                    s, dag_id=d, run_id=r, task_id=task_id, key="return_value", map_index=map_index
                )  # fmt: skip
                return value if found else None

            for task_id, expected in EXPECTED[dag_id].items():
                assert _values(read, task_id, expected) == expected, (dag_id, task_id)
