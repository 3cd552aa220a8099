"""Run creation from timetables with an injected clock: no sleeping, exact intervals."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from tradewind.core.clock import FrozenClock
from tradewind.operators.empty import EmptyOperator
from tradewind.sdk.dag import DAG
from tradewind.services import run_creation, scheduling
from tradewind.services import runs as run_service
from tradewind.services.dags import set_paused
from tradewind.services.env import Env
from tradewind.services.install import write_config_file
from tradewind.services.testing import store_dag_object
from tradewind.settings import load_settings

UTC = timezone.utc


def _env(tmp_path: Path, clock: FrozenClock) -> Env:
    settings = load_settings(
        tmp_path, environ={"TRADEWIND__CORE__DAGS_ARE_PAUSED_AT_CREATION": "false"}
    )
    write_config_file(settings)
    env = Env.from_settings(
        load_settings(tmp_path, environ={"TRADEWIND__CORE__DAGS_ARE_PAUSED_AT_CREATION": "false"}),
        clock=clock,
    )
    env.db.migrate()
    return env


def _dag(dag_id: str, **kw: object) -> DAG:
    with DAG(dag_id, **kw) as dag:  # type: ignore[arg-type]
        EmptyOperator(task_id="t")
    dag.fileloc = __file__
    return dag


def _pass(env: Env) -> list:
    cache = scheduling.DagCache()
    with env.db.session() as s:
        run_creation.refresh_changed_dags(s, cache, env.now())
        run_creation.create_due_runs(s, cache, env.now())
    with env.db.session(readonly=True) as s:
        return run_service.list_runs(s, None, limit=1000, newest_first=False)


def test_catchup_creates_each_missed_interval_up_to_max_active_runs(tmp_path: Path) -> None:
    clock = FrozenClock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))
    env = _env(tmp_path, clock)
    store_dag_object(
        env,
        _dag(
            "hourly",
            schedule="0 */6 * * *",
            start_date=datetime(2026, 3, 9, tzinfo=UTC),
            catchup=True,
            max_active_runs=3,
        ),
    )
    runs = _pass(env)
    assert [r.data_interval_start for r in runs] == [
        datetime(2026, 3, 9, h, tzinfo=UTC) for h in (0, 6, 12)
    ]
    assert all(r.data_interval_end - r.data_interval_start == timedelta(hours=6) for r in runs)
    # max_active_runs=3 holds the rest back until runs finish.
    with env.db.session() as s:
        for r in run_service.list_runs(s, "hourly"):
            r.state = "success"
    runs = _pass(env)
    assert len(runs) == 6
    assert runs[-1].data_interval_start == datetime(2026, 3, 10, 6, tzinfo=UTC)


def test_without_catchup_only_the_latest_interval_then_one_per_tick(tmp_path: Path) -> None:
    clock = FrozenClock(datetime(2026, 3, 10, 11, 0, tzinfo=UTC))
    env = _env(tmp_path, clock)
    store_dag_object(
        env,
        _dag(
            "daily10",
            schedule="0 10 * * *",
            start_date=datetime(2026, 1, 1, tzinfo=UTC),
            catchup=False,
        ),
    )
    runs = _pass(env)
    assert [(r.data_interval_start, r.data_interval_end) for r in runs] == [
        (datetime(2026, 3, 9, 10, tzinfo=UTC), datetime(2026, 3, 10, 10, tzinfo=UTC))
    ]
    clock.advance(hours=12)
    assert len(_pass(env)) == 1, "nothing new before the next 10:00"
    clock.advance(hours=11, minutes=1)
    runs = _pass(env)
    assert len(runs) == 2 and runs[-1].data_interval_end == datetime(2026, 3, 11, 10, tzinfo=UTC)


def test_paused_dags_get_no_runs_and_unpausing_resumes(tmp_path: Path) -> None:
    clock = FrozenClock(datetime(2026, 3, 10, 11, 0, tzinfo=UTC))
    env = _env(tmp_path, clock)
    store_dag_object(
        env,
        _dag(
            "p",
            schedule="@daily",
            start_date=datetime(2026, 3, 1, tzinfo=UTC),
            catchup=False,
            is_paused_upon_creation=True,
        ),
    )
    assert _pass(env) == []
    with env.db.session() as s:
        set_paused(s, "p", False, now=clock())
    assert len(_pass(env)) == 1


def test_end_date_stops_runs(tmp_path: Path) -> None:
    clock = FrozenClock(datetime(2026, 3, 10, 11, 0, tzinfo=UTC))
    env = _env(tmp_path, clock)
    store_dag_object(
        env,
        _dag(
            "ended",
            schedule="@daily",
            start_date=datetime(2026, 3, 1, tzinfo=UTC),
            end_date=datetime(2026, 3, 3, tzinfo=UTC),
            catchup=True,
            max_active_runs=50,
        ),
    )
    runs = _pass(env)
    assert [r.logical_date.day for r in runs] == [1, 2, 3]


def test_unpausing_after_a_long_pause_without_catchup_runs_only_the_latest(tmp_path: Path) -> None:
    clock = FrozenClock(datetime(2026, 3, 10, 11, 0, tzinfo=UTC))
    env = _env(tmp_path, clock)
    store_dag_object(
        env,
        _dag("q", schedule="@daily", start_date=datetime(2026, 3, 1, tzinfo=UTC), catchup=False),
    )
    assert len(_pass(env)) == 1
    with env.db.session() as s:
        set_paused(s, "q", True, now=clock())
    clock.advance(days=5)
    assert len(_pass(env)) == 1
    with env.db.session() as s:
        set_paused(s, "q", False, now=clock())
    runs = _pass(env)
    assert len(runs) == 2 and runs[-1].data_interval_start == datetime(2026, 3, 14, tzinfo=UTC)
