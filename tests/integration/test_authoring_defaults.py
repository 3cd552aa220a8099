"""Settings that give DAGs and tasks their defaults reach the stored DAG (processor side)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from tradewind.dag_processing.processor import DagProcessor
from tradewind.sdk import defaults
from tradewind.services.dag_store import get_serialized_dag
from tradewind.services.env import Env
from tradewind.services.install import write_config_file
from tradewind.settings import load_settings


def test_configured_defaults_apply_where_the_dag_file_is_silent(tmp_path: Path) -> None:
    environ = {
        "TRADEWIND__CORE__DEFAULT_TASK_RETRIES": "2",
        "TRADEWIND__CORE__MAX_ACTIVE_RUNS_PER_DAG": "3",
        "TRADEWIND__SCHEDULER__CATCHUP_BY_DEFAULT": "true",
        "TRADEWIND__CORE__DEFAULT_TIMEZONE": "Europe/Berlin",
    }
    settings = load_settings(tmp_path, environ=environ)
    write_config_file(settings)
    settings = load_settings(tmp_path, environ=environ)
    env = Env.from_settings(settings)
    env.db.migrate()
    settings.dags_folder.mkdir(parents=True, exist_ok=True)
    (settings.dags_folder / "d.py").write_text(
        textwrap.dedent("""
        from datetime import datetime
        from tradewind import DAG
        from tradewind.operators.empty import EmptyOperator
        with DAG("silent", schedule="@daily", start_date=datetime(2026, 1, 1)):
            EmptyOperator(task_id="a")
            EmptyOperator(task_id="b", retries=0)
        with DAG("explicit", schedule="@daily", start_date=datetime(2026, 1, 1), catchup=False, max_active_runs=7):
            EmptyOperator(task_id="a")
    """)
    )
    try:
        DagProcessor(settings, env.db).run_once()
        with env.db.session(readonly=True) as s:
            silent = get_serialized_dag(s, "silent")
            explicit = get_serialized_dag(s, "explicit")
    finally:
        defaults.current.__init__()  # type: ignore[misc]  # back to built-in defaults
    assert silent.tasks["a"].retries == 2 and silent.tasks["b"].retries == 0
    assert silent.max_active_runs == 3 and silent.catchup is True
    assert silent.start_date.startswith("2026-01-01T00:00:00+01:00")
    assert explicit.max_active_runs == 7 and explicit.catchup is False
