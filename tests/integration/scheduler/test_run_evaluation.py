"""Deciding the task instances of running runs and ending runs, one scheduling pass at a time.

The scheduler's readiness pass (``evaluate_dirty_runs``) is called directly with a frozen
clock; task outcomes are written as a worker's report would leave them.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import insert, select, update

from tradewind.core.clock import FrozenClock
from tradewind.metastore.tables import Backfill, DagRun, TaskInstance
from tradewind.operators.empty import EmptyOperator
from tradewind.sdk.dag import DAG
from tradewind.services import run_creation, scheduling
from tradewind.services.backfills import create_backfill
from tradewind.services.env import Env
from tradewind.services.install import write_config_file
from tradewind.services.runs import trigger_run
from tradewind.services.testing import store_dag_object
from tradewind.services.ti_state import touch_runs
from tradewind.settings import load_settings

from .conftest import BOTH_DATABASES

UTC = timezone.utc
T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
def env(tmp_path: Path, db_url: str, clock: FrozenClock) -> Env:
    environ = {
        "TRADEWIND__CORE__DAGS_ARE_PAUSED_AT_CREATION": "false",
        "TRADEWIND__DATABASE__SQL_ALCHEMY_CONN": db_url,
    }
    write_config_file(load_settings(tmp_path / "home", environ=environ))
    env = Env.from_settings(load_settings(tmp_path / "home", environ=environ), clock=clock)
    env.db.migrate()
    return env


def _store(env: Env, dag: DAG) -> None:
    dag.fileloc = __file__
    store_dag_object(env, dag)


def _trigger(env: Env, dag_id: str, when: datetime = T0) -> str:
    with env.db.session() as s:
        run_id = trigger_run(s, dag_id, now=env.now(), logical_date=when).run_id
    with env.db.session() as s:
        run_creation.start_queued_runs(s, env.now())
    return run_id


def _pass(env: Env, only: set[tuple[str, str]] | None = None) -> scheduling.PassResult:
    with env.db.session() as s:
        return scheduling.evaluate_dirty_runs(s, scheduling.DagCache(), env.now(), only)


def _set(env: Env, dag_id: str, run_id: str, **states: str | None) -> None:
    """Write task states as finished tries leave them, and mark the run changed."""
    tic = TaskInstance.__table__.c
    with env.db.session() as s:
        for task_id, state in states.items():
            s.execute(
                update(TaskInstance.__table__)
                .where(tic.dag_id == dag_id, tic.run_id == run_id, tic.task_id == task_id)
                .values(state=state)
            )
        touch_runs(s, [(dag_id, run_id)])


def _states(env: Env, dag_id: str, run_id: str) -> dict[str, str | None]:
    with env.db.session(readonly=True) as s:
        rows = s.execute(
            select(TaskInstance.task_id, TaskInstance.state).where(
                TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id
            )
        ).all()
    return dict(rows)


def _run_state(env: Env, dag_id: str, run_id: str) -> str:
    with env.db.session(readonly=True) as s:
        return s.execute(
            select(DagRun.state).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id)
        ).scalar_one()


def _chain(dag_id: str, n: int = 3, **kw: object) -> DAG:
    kw.setdefault("schedule", None)
    with DAG(dag_id, start_date=datetime(2026, 1, 1, tzinfo=UTC), **kw) as dag:  # type: ignore[arg-type]
        prev = None
        for i in range(n):
            t = EmptyOperator(task_id=f"t{i}")
            if prev is not None:
                prev >> t
            prev = t
    return dag


@BOTH_DATABASES
def test_a_chain_runs_step_by_step_and_the_run_succeeds(env: Env) -> None:
    _store(env, _chain("chain"))
    run_id = _trigger(env, "chain")
    _pass(env)
    assert _states(env, "chain", run_id) == {"t0": "scheduled", "t1": None, "t2": None}
    _set(env, "chain", run_id, t0="success")
    _pass(env)
    assert _states(env, "chain", run_id)["t1"] == "scheduled"
    _set(env, "chain", run_id, t1="success")
    _pass(env)
    _set(env, "chain", run_id, t2="success")
    result = _pass(env)
    assert [(o.run_id, o.state, o.reason) for o in result.finished_runs] == [
        (run_id, "success", "success")
    ]
    assert _run_state(env, "chain", run_id) == "success"
    with env.db.session(readonly=True) as s:
        tries = s.execute(
            select(TaskInstance.try_number).where(TaskInstance.dag_id == "chain")
        ).scalars()
        assert set(tries) == {1}


@BOTH_DATABASES
def test_a_run_is_not_looked_at_again_until_something_changes_in_it(env: Env) -> None:
    _store(env, _chain("quiet"))
    run_id = _trigger(env, "quiet")
    assert _pass(env).tis_changed == 1
    assert _pass(env).tis_changed == 0
    with env.db.session(readonly=True) as s:
        run = s.execute(select(DagRun).where(DagRun.run_id == run_id)).scalar_one()
        assert run.seen_seq == run.change_seq
        assert run.last_scheduling_decision == T0


@BOTH_DATABASES
def test_a_failure_cascades_as_upstream_failed_in_one_pass_and_all_done_still_runs(
    env: Env,
) -> None:
    with DAG("cascade", start_date=datetime(2026, 1, 1, tzinfo=UTC), schedule=None) as dag:
        a = EmptyOperator(task_id="a")
        b = EmptyOperator(task_id="b")
        c = EmptyOperator(task_id="c")
        cleanup = EmptyOperator(task_id="cleanup", trigger_rule="all_done")
        a >> b >> c
        b >> cleanup
    _store(env, dag)
    run_id = _trigger(env, "cascade")
    _pass(env)
    _set(env, "cascade", run_id, a="failed")
    _pass(env)
    assert _states(env, "cascade", run_id) == {
        "a": "failed",
        "b": "upstream_failed",
        "c": "upstream_failed",
        "cleanup": "scheduled",
    }
    assert _run_state(env, "cascade", run_id) == "running"
    _set(env, "cascade", run_id, cleanup="success")
    result = _pass(env)
    assert [(o.state, o.reason) for o in result.finished_runs] == [("failed", "task_failure")]
    assert _run_state(env, "cascade", run_id) == "failed"


@BOTH_DATABASES
def test_a_failed_task_that_is_not_a_leaf_with_a_successful_leaf_gives_success(
    env: Env,
) -> None:
    with DAG("soft", start_date=datetime(2026, 1, 1, tzinfo=UTC), schedule=None) as dag:
        a = EmptyOperator(task_id="a")
        end = EmptyOperator(task_id="end", trigger_rule="all_done")
        a >> end
    _store(env, dag)
    run_id = _trigger(env, "soft")
    _pass(env)
    _set(env, "soft", run_id, a="failed")
    _pass(env)
    _set(env, "soft", run_id, end="success")
    assert [o.state for o in _pass(env).finished_runs] == ["success"]


@BOTH_DATABASES
def test_skips_cascade_and_a_skipped_run_succeeds(env: Env) -> None:
    _store(env, _chain("skips"))
    run_id = _trigger(env, "skips")
    _pass(env)
    _set(env, "skips", run_id, t0="skipped")
    result = _pass(env)
    assert _states(env, "skips", run_id) == {"t0": "skipped", "t1": "skipped", "t2": "skipped"}
    assert [o.state for o in result.finished_runs] == ["success"]


@BOTH_DATABASES
def test_a_task_gone_from_the_dag_version_is_removed_and_does_not_block_the_run(
    env: Env,
) -> None:
    _store(env, _chain("ghosts", n=1))
    run_id = _trigger(env, "ghosts")
    with env.db.session() as s:
        s.execute(
            insert(TaskInstance),
            [
                {
                    "dag_id": "ghosts",
                    "run_id": run_id,
                    "task_id": "ghost",
                    "map_index": -1,
                    "state": None,
                    "try_number": 0,
                    "hostname": "",
                    "unixname": "",
                    "updated_at": T0,
                }
            ],
        )
    _pass(env)
    assert _states(env, "ghosts", run_id) == {"t0": "scheduled", "ghost": "removed"}
    _set(env, "ghosts", run_id, t0="success")
    assert [o.state for o in _pass(env).finished_runs] == ["success"]


@BOTH_DATABASES
def test_depends_on_past_waits_for_the_previous_run(env: Env) -> None:
    with DAG("past", start_date=datetime(2026, 1, 1, tzinfo=UTC), schedule=None) as dag:
        EmptyOperator(task_id="t", depends_on_past=True)
        EmptyOperator(task_id="free")
    _store(env, dag)
    first = _trigger(env, "past", T0 - timedelta(days=1))
    second = _trigger(env, "past", T0)
    _pass(env)
    assert _states(env, "past", first) == {"t": "scheduled", "free": "scheduled"}
    assert _states(env, "past", second) == {"t": None, "free": "scheduled"}
    _set(env, "past", first, t="failed")
    _set(env, "past", second)
    _pass(env)
    assert _states(env, "past", second)["t"] is None
    _set(env, "past", first, t="success")
    _set(env, "past", second)
    _pass(env)
    assert _states(env, "past", second)["t"] == "scheduled"


@BOTH_DATABASES
def test_fail_fast_stops_what_has_not_run_and_fails_the_run(env: Env) -> None:
    with DAG(
        "fast", start_date=datetime(2026, 1, 1, tzinfo=UTC), schedule=None, fail_fast=True
    ) as dag:
        EmptyOperator(task_id="a")
        b = EmptyOperator(task_id="b")
        c = EmptyOperator(task_id="c")
        b >> c
    _store(env, dag)
    run_id = _trigger(env, "fast")
    _pass(env)
    _set(env, "fast", run_id, a="failed", b="running")
    result = _pass(env)
    assert _states(env, "fast", run_id) == {"a": "failed", "b": "failed", "c": "skipped"}
    assert [(o.state, o.reason) for o in result.finished_runs] == [("failed", "task_failure")]


@BOTH_DATABASES
def test_dagrun_timeout_fails_the_run_and_skips_what_is_left(env: Env, clock: FrozenClock) -> None:
    _store(env, _chain("slow", n=2, dagrun_timeout=timedelta(minutes=5)))
    run_id = _trigger(env, "slow")
    _pass(env)
    clock.advance(minutes=2)
    _set(env, "slow", run_id)
    assert _pass(env).finished_runs == []
    clock.advance(minutes=10)
    _set(env, "slow", run_id)
    result = _pass(env)
    assert [(o.state, o.reason) for o in result.finished_runs] == [("failed", "timed_out")]
    assert _states(env, "slow", run_id) == {"t0": "skipped", "t1": "skipped"}
    assert _run_state(env, "slow", run_id) == "failed"


@BOTH_DATABASES
def test_a_backfill_completes_when_its_last_runs_end_in_the_same_pass(env: Env) -> None:
    _store(env, _chain("bf", n=1, schedule="@daily"))
    with env.db.session() as s:
        bf, _ = create_backfill(
            s, "bf", datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC), now=T0
        )
        assert bf is not None
        bf_id = bf.id
    with env.db.session() as s:
        run_creation.start_queued_runs(s, env.now())
        run_ids = list(
            s.execute(select(DagRun.run_id).where(DagRun.backfill_id == bf_id)).scalars()
        )
    assert len(run_ids) >= 2
    _pass(env)
    for run_id in run_ids:
        _set(env, "bf", run_id, t0="success")
    assert len(_pass(env).finished_runs) == len(run_ids)
    with env.db.session(readonly=True) as s:
        assert s.get(Backfill, bf_id).completed_at == T0


@BOTH_DATABASES
def test_only_the_given_runs_are_evaluated_and_the_others_stay_dirty(env: Env) -> None:
    _store(env, _chain("one"))
    _store(env, _chain("two"))
    one = _trigger(env, "one")
    two = _trigger(env, "two")
    _pass(env, only={("one", one)})
    assert _states(env, "one", one)["t0"] == "scheduled"
    assert _states(env, "two", two)["t0"] is None
    _pass(env)
    assert _states(env, "two", two)["t0"] == "scheduled"


@BOTH_DATABASES
def test_many_runs_are_decided_in_one_pass(env: Env) -> None:
    for i in range(5):
        _store(env, _chain(f"many{i}", n=4))
    runs = [(f"many{i}", _trigger(env, f"many{i}")) for i in range(5)]
    _pass(env)
    for k, (dag_id, run_id) in enumerate(runs):
        _set(env, dag_id, run_id, **{f"t{j}": "success" for j in range(k)})
    result = _pass(env)
    assert [o.dag_id for o in result.finished_runs] == ["many4"]
    for k, (dag_id, run_id) in enumerate(runs[:4]):
        assert _states(env, dag_id, run_id)[f"t{k}"] == "scheduled"


def _wide(dag_id: str, n: int, **kw: object) -> DAG:
    """``n`` independent tasks, then one that waits for them all."""
    kw.setdefault("schedule", None)
    with DAG(dag_id, start_date=datetime(2026, 1, 1, tzinfo=UTC), **kw) as dag:  # type: ignore[arg-type]
        last = EmptyOperator(task_id="last")
        for i in range(n):
            EmptyOperator(task_id=f"w{i:03d}") >> last
    return dag


@BOTH_DATABASES
def test_a_wide_run_counted_in_the_database_still_decides_and_ends(env: Env) -> None:
    """Runs of 64+ tasks are first counted in SQL (services/run_progress.py): a pass with
    nothing waiting and tasks still running changes nothing, the last success still
    schedules the join and ends the run."""
    _store(env, _wide("wide", 80))
    run_id = _trigger(env, "wide")
    _pass(env)
    states = _states(env, "wide", run_id)
    assert states.pop("last") is None and set(states.values()) == {"scheduled"}
    _set(env, "wide", run_id, **{f"w{i:03d}": "success" for i in range(79)})
    assert _pass(env).finished_runs == []
    assert _states(env, "wide", run_id)["last"] is None  # w079 is still scheduled
    _set(env, "wide", run_id, w079="success")
    _pass(env)
    assert _states(env, "wide", run_id)["last"] == "scheduled"
    _set(env, "wide", run_id, last="success")
    result = _pass(env)
    assert [(o.state, o.reason) for o in result.finished_runs] == [("success", "success")]


@BOTH_DATABASES
def test_a_wide_run_still_fails_fast_and_times_out(env: Env, clock: FrozenClock) -> None:
    _store(env, _wide("wide_fast", 70, fail_fast=True))
    _store(env, _wide("wide_slow", 70, dagrun_timeout=timedelta(minutes=5)))
    fast, slow = _trigger(env, "wide_fast"), _trigger(env, "wide_slow")
    _pass(env)
    # Nothing waits (no state) in either run: only the counts can tell they must end.
    _set(env, "wide_fast", fast, w000="failed", w001="running", last="scheduled")
    clock.advance(minutes=10)
    _set(env, "wide_slow", slow, w000="running", last="scheduled")
    result = _pass(env)
    assert sorted((o.dag_id, o.state, o.reason) for o in result.finished_runs) == [
        ("wide_fast", "failed", "task_failure"),
        ("wide_slow", "failed", "timed_out"),
    ]
    assert _run_state(env, "wide_fast", fast) == _run_state(env, "wide_slow", slow) == "failed"
