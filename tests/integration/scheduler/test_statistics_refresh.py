"""The scheduler keeps SQLite's planner statistics in step with a growing metastore: its
sweep re-analyzes a table that has doubled since ``sqlite_stat1`` was written (the web
server takes them only at start), and leaves unchanged tables alone."""

from __future__ import annotations

from sqlalchemy import text

from tradewind.executors.inline import InlineExecutor
from tradewind.metastore.tables import EventLog
from tradewind.scheduler.loop import Scheduler, SchedulerOptions
from tradewind.services.execution import ExecutionService

from .conftest import Home


def _analyzed_logs(home: Home) -> int:
    with home.env.db.engine.connect() as conn:
        stats = conn.execute(text("SELECT stat FROM sqlite_stat1 WHERE tbl = 'log'")).all()
    return max((int(stat.split()[0]) for (stat,) in stats), default=0)


def test_the_sweep_re_analyzes_a_table_that_grew(home: Home) -> None:
    env = home.env
    with env.db.session() as s:
        s.execute(EventLog.__table__.insert(), [{"event": "cli", "dttm": env.now()}] * 10)
    env.db.refresh_statistics()
    assert _analyzed_logs(home) == 10
    with env.db.session() as s:
        s.execute(EventLog.__table__.insert(), [{"event": "cli", "dttm": env.now()}] * 5000)

    service = ExecutionService(env)
    executor = InlineExecutor(service, lambda _: None, str(env.settings.log_folder))
    scheduler = Scheduler(env, executor, service, options=SchedulerOptions(exclusive=False))
    assert scheduler.periodic()
    assert 4000 < _analyzed_logs(home) < 6500  # sampled (analysis_limit)
