"""What `[celery]` settings become in the Celery worker's configuration."""

from __future__ import annotations

import pytest

pytest.importorskip("celery")

from tradewind.settings import load_settings  # noqa: E402
from tradewind.worker.celery_app import celery_config  # noqa: E402
from tradewind.worker.tries import WorkerConfig  # noqa: E402


def test_pool_recycling_and_fork_per_try_come_from_the_settings(tmp_path) -> None:
    env = {
        "TRADEWIND__CELERY__WORKER_MAX_TASKS_PER_CHILD": "50",
        "TRADEWIND__CELERY__FORK_PER_TRY": "true",
    }
    settings = load_settings(tmp_path, environ=env)
    assert celery_config(settings)["worker_max_tasks_per_child"] == 50
    assert WorkerConfig.from_settings(settings).fork_per_try is True


def test_by_default_pool_processes_live_on_and_tries_run_in_them(tmp_path) -> None:
    settings = load_settings(tmp_path, environ={})
    assert celery_config(settings)["worker_max_tasks_per_child"] is None
    assert WorkerConfig.from_settings(settings).fork_per_try is False
