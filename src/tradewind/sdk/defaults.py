"""Authoring defaults that come from settings (``[core] default_task_retries``...).

DAG files never read settings themselves: each process that imports DAG files (the DAG
processor, workers, ``dags test``) calls :func:`configure` once at start with its settings,
and DAGs and operators created afterwards use these values where the file sets none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timezone, tzinfo
from typing import Any


@dataclass
class AuthoringDefaults:
    """Values a DAG or task gets when its file does not say."""

    catchup: bool = False
    max_active_runs: int = 16
    max_active_tasks: int = 16
    retries: int = 0
    timezone: tzinfo = timezone.utc


current = AuthoringDefaults()


def configure(settings: Any) -> AuthoringDefaults:
    """Set the defaults from a process's settings (call once at process entry)."""
    from zoneinfo import ZoneInfo

    name = str(settings.get("core", "default_timezone") or "utc")
    tz: tzinfo = timezone.utc if name.lower() in ("utc", "z") else ZoneInfo(name)
    current.catchup = bool(settings.get("scheduler", "catchup_by_default"))
    current.max_active_runs = int(settings.get("core", "max_active_runs_per_dag"))
    current.max_active_tasks = int(settings.get("core", "max_active_tasks_per_dag"))
    current.retries = int(settings.get("core", "default_task_retries"))
    current.timezone = tz
    from tradewind.compat import install_airflow_imports

    install_airflow_imports(settings)  # unmodified Airflow DAG files: ``import airflow...``
    return current
