"""Task log files' layout: ``logs/dag_id=D/run_id=R/task_id=T/attempt=N.log`` (Airflow's).

The worker writes these files (``worker/logs.py``) and the log store reads them
(``services/task_logs.py``); both build the path here, through :func:`contained_path`.
"""

from __future__ import annotations

from pathlib import Path

from tradewind.core.paths import contained_path


def log_path(
    base: str | Path, dag_id: str, run_id: str, task_id: str, try_number: int, map_index: int = -1
) -> Path:
    """Where the log of one try lives (Airflow's layout); refused if it would leave ``base``."""
    parts = [f"dag_id={dag_id}", f"run_id={run_id}", f"task_id={task_id}"]
    if map_index >= 0:
        parts.append(f"map_index={int(map_index)}")
    parts.append(f"attempt={int(try_number)}.log")
    return contained_path(base, *parts)


def callback_log_path(base: str | Path, dag_id: str, run_id: str) -> Path:
    """Where the log of a DAG's success/failure callbacks for one run lives."""
    return contained_path(base, "dag_callbacks", f"dag_id={dag_id}", f"{run_id}.log")
