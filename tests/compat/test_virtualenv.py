"""PythonVirtualenvOperator, ExternalPythonOperator and their TaskFlow forms, as Airflow's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.compat.conftest import load_dags, run, states, xcom

VENV = """
import sys
import pendulum
from airflow.decorators import dag, task
from airflow.operators.python import ExternalPythonOperator, PythonVirtualenvOperator

CACHE = {cache!r}

@dag(schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"))
def venvs():
    @task
    def numbers():
        return [1, 2, 3]

    @task.virtualenv(requirements=[], system_site_packages=False, venv_cache_path=CACHE)
    def in_venv(values, ds=None):
        import sys
        return {{"sum": sum(values), "ds": ds, "prefix": sys.prefix}}

    def where():
        import sys
        return sys.executable

    @task.external_python(python="/no/such/python")
    def nowhere():
        return 1

    in_venv(numbers()) >> ExternalPythonOperator(
        task_id="external", python=sys.executable, python_callable=where
    )
    nowhere()
    PythonVirtualenvOperator(
        task_id="bad_requirement",
        python_callable=where,
        requirements=["--no-index", "surely-not-a-package-tradewind"],
        venv_cache_path=CACHE,
    )

venvs()
"""


def test_callables_run_in_a_cached_virtualenv_or_a_given_python(env: Any, tmp_path: Path) -> None:
    import sys

    cache = tmp_path / "venvs"
    dag = load_dags(tmp_path, "venvs.py", VENV.format(cache=str(cache)))["venvs"]
    result = run(dag, env)
    got = states(result)
    assert got["in_venv"] == "success" and got["external"] == "success"
    value = xcom(env, result, "in_venv")
    assert value["sum"] == 6 and value["ds"] == "2026-01-05"
    assert value["prefix"].startswith(str(cache))  # ran inside the cached virtualenv
    assert xcom(env, result, "external") == sys.executable
    assert got["nowhere"] == "failed" and got["bad_requirement"] == "failed"
    venvs = [p for p in cache.iterdir() if p.is_dir()]
    assert len([p for p in venvs if (p / ".tradewind-ready").exists()]) == 1
