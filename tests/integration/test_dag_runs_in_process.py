"""Whole DAG runs in process (``dags test``) on a real SQLite home: states, XComs, logs."""

from __future__ import annotations

import json
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tradewind import DAG, task
from tradewind.dag_test import DagTestResult, run_dag_in_process
from tradewind.exceptions import AirflowSkipException
from tradewind.operators.bash import BashOperator
from tradewind.operators.empty import EmptyOperator
from tradewind.operators.python import (
    BranchPythonOperator,
    PythonOperator,
    ShortCircuitOperator,
)
from tradewind.utils.trigger_rule import TriggerRule

DAY = datetime(2026, 1, 1, tzinfo=timezone.utc)


def run(
    dag: DAG, env: Any, logical_date: datetime = DAY, conf: dict[str, Any] | None = None
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


def log_text(env: Any, result: DagTestResult, task_id: str, attempt: int = 1) -> str:
    path = (
        Path(env.settings.log_folder)
        / f"dag_id={result.dag_id}"
        / f"run_id={result.run_id}"
        / f"task_id={task_id}"
        / f"attempt={attempt}.log"
    )
    assert path.is_file(), f"no log at {path}"
    return path.read_text()


def _ok() -> str:
    return "ok"


def _fail() -> None:
    raise ValueError("boom")


def _skip() -> None:
    raise AirflowSkipException("not today")


# -- trigger rules ---------------------------------------------------------------------------

# rule, upstream kinds, expected state
RULE_CASES = [
    ("all_success", "ok ok", "success"),
    ("all_success", "ok bad", "upstream_failed"),
    ("all_failed", "bad bad", "success"),
    ("all_failed", "ok bad", "skipped"),
    ("all_done", "ok bad skip", "success"),
    ("all_skipped", "skip skip", "success"),
    ("all_skipped", "ok skip", "skipped"),
    ("one_success", "ok bad", "success"),
    ("one_failed", "ok bad", "success"),
    ("one_failed", "ok ok", "skipped"),
    ("one_done", "bad skip", "success"),
    ("none_failed", "ok skip", "success"),
    ("none_failed", "ok bad", "upstream_failed"),
    ("none_failed_min_one_success", "ok skip", "success"),
    ("none_failed_min_one_success", "skip skip", "skipped"),
    ("none_skipped", "ok bad", "success"),
    ("none_skipped", "ok skip", "skipped"),
    ("always", "bad", "success"),
]


def test_every_trigger_rule_end_to_end(env: Any) -> None:
    """One run holds every case: each rule task sits behind its own succeeding/failing/skipped tasks."""
    callables = {"ok": _ok, "bad": _fail, "skip": _skip}
    with DAG("trigger_rules", start_date=DAY) as dag:
        for i, (rule, kinds, _) in enumerate(RULE_CASES):
            ups = [
                PythonOperator(task_id=f"c{i}_{kind}{j}", python_callable=callables[kind])
                for j, kind in enumerate(kinds.split())
            ]
            ups >> EmptyOperator(task_id=f"c{i}_{rule}", trigger_rule=rule)
    result = run(dag, env)
    got = states(result)
    for i, (rule, kinds, expected) in enumerate(RULE_CASES):
        assert got[f"c{i}_{rule}"] == expected, f"{rule} after {kinds}"
    assert result.state == "failed"


# -- branching and short-circuit -------------------------------------------------------------


def test_branch_python_operator_skips_other_branch_and_join_runs(env: Any) -> None:
    with DAG("branching", start_date=DAY) as dag:
        pick = BranchPythonOperator(task_id="pick", python_callable=lambda: "left")
        left = EmptyOperator(task_id="left")
        right = EmptyOperator(task_id="right")
        after_right = EmptyOperator(task_id="after_right")
        join = EmptyOperator(task_id="join", trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS)
        pick >> [left, right]
        right >> after_right
        [left, after_right] >> join
    result = run(dag, env)
    assert states(result) == {
        "pick": "success",
        "left": "success",
        "right": "skipped",
        "after_right": "skipped",
        "join": "success",
    }
    assert result.state == "success"
    assert xcom(env, result, "pick") == "left"


def test_task_branch_decorator_follows_returned_task_ids(env: Any) -> None:
    @task.branch
    def choose(params: dict[str, Any]) -> list[str]:
        return [params["way"]]

    with DAG("tf_branching", start_date=DAY, params={"way": "b"}) as dag:
        a, b = EmptyOperator(task_id="a"), EmptyOperator(task_id="b")
        join = EmptyOperator(task_id="join", trigger_rule="none_failed_min_one_success")
        choose() >> [a, b] >> join
    result = run(dag, env)
    assert states(result) == {
        "choose": "success",
        "a": "skipped",
        "b": "success",
        "join": "success",
    }
    result = run(dag, env, DAY + timedelta(days=1), conf={"way": "a"})
    assert states(result)["b"] == "skipped" and states(result)["a"] == "success"


def test_short_circuit_skips_everything_downstream(env: Any) -> None:
    @task.short_circuit
    def has_data() -> bool:
        return False

    with DAG("short_circuit", start_date=DAY) as dag:
        gate = ShortCircuitOperator(task_id="gate", python_callable=lambda: 0)
        gate >> EmptyOperator(task_id="next") >> EmptyOperator(task_id="last")
        open_gate = ShortCircuitOperator(task_id="open_gate", python_callable=lambda: True)
        open_gate >> EmptyOperator(task_id="runs")
        has_data() >> EmptyOperator(task_id="tf_next")
    got = states(run(dag, env))
    assert got["next"] == got["last"] == got["tf_next"] == "skipped"
    assert got["gate"] == got["has_data"] == "success"
    assert got["runs"] == "success"


# -- BashOperator ----------------------------------------------------------------------------


def test_bash_operator_env_cwd_exit_codes_and_xcom(env: Any, tmp_path: Path) -> None:
    with DAG("bash", start_date=DAY) as dag:
        BashOperator(
            task_id="echo",
            bash_command="echo first; echo $GREETING-{{ ds }}",
            env={"GREETING": "hi"},
        )
        BashOperator(task_id="cwd", bash_command="pwd", cwd=str(tmp_path))
        BashOperator(
            task_id="append",
            bash_command='echo "$GREETING:${HOME:+home}"',
            env={"GREETING": "yo"},
            append_env=True,
        )
        BashOperator(task_id="skip99", bash_command="exit 99")
        BashOperator(task_id="fail", bash_command="echo about to fail; exit 3")
        BashOperator(task_id="ctx", bash_command="echo $AIRFLOW_CTX_DAG_ID/$AIRFLOW_CTX_TASK_ID")
    result = run(dag, env)
    assert states(result) == {
        "echo": "success",
        "cwd": "success",
        "append": "success",
        "skip99": "skipped",
        "fail": "failed",
        "ctx": "success",
    }
    assert xcom(env, result, "echo") == "hi-2026-01-01"
    assert xcom(env, result, "cwd") == str(tmp_path)
    assert xcom(env, result, "append") == "yo:home"
    assert xcom(env, result, "ctx") == "bash/ctx"
    assert "about to fail" in log_text(env, result, "fail")
    assert "exit code 3" in log_text(env, result, "fail")


def test_template_files_next_to_the_dag_file(env: Any, tmp_path: Path) -> None:
    """`.sh` and `.sql` files beside the DAG file are read and rendered; so is template_searchpath."""
    from tradewind.sdk.loader import load_file

    folder = tmp_path / "dags"
    (folder / "sql").mkdir(parents=True)
    (folder / "hello.sh").write_text('echo "hello {{ params.who }} on {{ ds_nodash }}"\n')
    (folder / "sql" / "query.sql").write_text("SELECT * FROM t WHERE d = '{{ ds }}'")
    (folder / "files.py").write_text(
        textwrap.dedent(
            f"""
            from datetime import datetime, timezone
            from tradewind import DAG
            from tradewind.models.baseoperator import BaseOperator
            from tradewind.operators.bash import BashOperator

            class Sql(BaseOperator):
                template_fields = ("sql",)
                template_ext = (".sql",)
                def __init__(self, *, sql, **kwargs):
                    super().__init__(**kwargs)
                    self.sql = sql
                def execute(self, context):
                    return self.sql

            with DAG("files", start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
                     params={{"who": "world"}}, template_searchpath={str(folder / "sql")!r}):
                BashOperator(task_id="script", bash_command="hello.sh")
                Sql(task_id="query", sql="query.sql")
            """
        )
    )
    loaded = load_file(str(folder / "files.py"))
    assert loaded.error is None, loaded.error
    result = run(loaded.dags[0], env)
    assert states(result) == {"script": "success", "query": "success"}
    assert xcom(env, result, "script") == "hello world on 20260101"
    assert xcom(env, result, "query") == "SELECT * FROM t WHERE d = '2026-01-01'"


# -- PythonOperator, TaskFlow and XCom -------------------------------------------------------


def test_python_operator_context_injection_and_templated_args(env: Any, tmp_path: Path) -> None:
    seen: dict[str, Any] = {}

    def work(
        prefix: str,
        ds: str,
        ti: Any,
        dag_run: Any,
        run_id: str,
        suffix: str = "",
        params: Any = None,
    ) -> str:
        seen.update(
            ds=ds, try_number=ti.try_number, conf=dag_run.conf, run_id=run_id, params=params
        )
        return f"{prefix}{ds}{suffix}"

    with DAG("py", start_date=DAY, params={"n": 1}) as dag:
        PythonOperator(
            task_id="work",
            python_callable=work,
            op_args=["{{ ds_nodash }}-"],
            op_kwargs={"suffix": "-{{ params.n }}-{{ dag_run.conf.get('extra', 'none') }}"},
        )
    result = run(dag, env, conf={"n": 5, "extra": "x"})
    assert states(result) == {"work": "success"}
    assert xcom(env, result, "work") == "20260101-2026-01-01-5-x"
    assert seen == {
        "ds": "2026-01-01",
        "try_number": 1,
        "conf": {"n": 5, "extra": "x"},
        "run_id": result.run_id,
        "params": {"n": 5, "extra": "x"},
    }


def test_xcom_between_classic_and_taskflow_tasks(env: Any) -> None:
    def push(ti: Any) -> int:
        ti.xcom_push(key="extra", value={"rows": 3})
        return 7

    @task
    def double(x: int) -> int:
        return x * 2

    @task
    def split() -> dict[str, int]:
        return {"a": 1, "b": 2}

    @task
    def collect(doubled: int, a: int, ti: Any = None) -> dict[str, Any]:
        return {"doubled": doubled, "a": a, "extra": ti.xcom_pull(task_ids="push", key="extra")}

    with DAG("xcoms", start_date=DAY) as dag:
        classic = PythonOperator(task_id="push", python_callable=push)
        parts = split()
        out = collect(double(classic.output), parts["a"])
        (
            BashOperator(
                task_id="echo",
                bash_command="echo {{ ti.xcom_pull(task_ids='collect')['doubled'] }}",
            )
            << out
        )
        PythonOperator(task_id="pull", python_callable=lambda v: v, op_args=[out["doubled"]])
    result = run(dag, env)
    assert set(states(result).values()) == {"success"}
    assert xcom(env, result, "collect") == {"doubled": 14, "a": 1, "extra": {"rows": 3}}
    assert xcom(env, result, "split", "b") == 2
    assert xcom(env, result, "echo") == "14"
    assert xcom(env, result, "pull") == 14


# -- retries, timeouts, callbacks, logs ------------------------------------------------------


def test_retries_increment_try_number_then_succeed(env: Any, tmp_path: Path) -> None:
    counter = tmp_path / "count"
    retried: list[int] = []

    def flaky(ti: Any) -> int:
        n = int(counter.read_text()) if counter.exists() else 0
        counter.write_text(str(n + 1))
        if n < 2:
            raise RuntimeError(f"attempt {ti.try_number} fails")
        return ti.try_number

    with DAG("retries", start_date=DAY) as dag:
        PythonOperator(
            task_id="flaky",
            python_callable=flaky,
            retries=2,
            retry_delay=timedelta(hours=1),
            on_retry_callback=lambda ctx: retried.append(ctx["ti"].try_number),
        )
    result = run(dag, env)
    [t] = result.tasks
    assert (t.state, t.try_number) == ("success", 3)
    assert xcom(env, result, "flaky") == 3
    assert retried == [1, 2]
    assert "attempt 1 fails" in log_text(env, result, "flaky", 1)
    assert "attempt 2 fails" in log_text(env, result, "flaky", 2)


def test_retries_exhausted_fail(env: Any) -> None:
    with DAG("retries_out", start_date=DAY, default_args={"retries": 1}) as dag:
        PythonOperator(task_id="never", python_callable=_fail)
    [t] = run(dag, env).tasks
    assert (t.state, t.try_number) == ("failed", 2)


def test_execution_timeout_fails_with_message_in_log(env: Any) -> None:
    import time

    with DAG("timeouts", start_date=DAY) as dag:
        PythonOperator(
            task_id="slow",
            python_callable=lambda: time.sleep(30),
            execution_timeout=timedelta(seconds=0.3),
        )
    result = run(dag, env)
    assert states(result) == {"slow": "failed"}
    assert "execution_timeout" in log_text(env, result, "slow")


def test_callbacks_run_after_the_state_is_committed(env: Any) -> None:
    from tradewind.services.runs import task_states

    observed: list[tuple[str, str | None]] = []

    def committed(ctx: dict[str, Any]) -> None:
        ti = ctx["ti"]
        with env.db.session(readonly=True) as s:
            stored = {t.task_id: t.state for t in task_states(s, ti.dag_id, ti.run_id)}
        observed.append((ti.task_id, stored[ti.task_id]))

    with DAG("callbacks", start_date=DAY) as dag:
        PythonOperator(task_id="good", python_callable=_ok, on_success_callback=committed)
        PythonOperator(task_id="bad", python_callable=_fail, on_failure_callback=[committed])
        PythonOperator(
            task_id="broken_cb",
            python_callable=_ok,
            on_success_callback=lambda ctx: 1 / 0,  # a failing callback does not fail the task
        )
    result = run(dag, env)
    assert states(result) == {"good": "success", "bad": "failed", "broken_cb": "success"}
    assert sorted(observed) == [("bad", "failed"), ("good", "success")]


def test_task_log_location_and_content(env: Any) -> None:
    def talk() -> None:
        print("printed to stdout")
        import logging

        logging.getLogger("my.module").warning("logged by user code")

    with DAG("logs", start_date=DAY) as dag:
        PythonOperator(task_id="talk", python_callable=talk)
    result = run(dag, env)
    text = log_text(env, result, "talk")
    assert "printed to stdout" in text
    assert "logged by user code" in text
    assert str(env.settings.log_folder).startswith(str(env.settings.home))


def test_strict_undefined_fails_the_task(env: Any) -> None:
    with DAG("undefined", start_date=DAY) as dag:
        BashOperator(task_id="typo", bash_command="echo {{ no_such_key }}")
    result = run(dag, env)
    assert states(result) == {"typo": "failed"}
    assert "no_such_key" in log_text(env, result, "typo")


def test_context_keys_in_templates(env: Any) -> None:
    """Variables, macros and the interval keys as Airflow renders them."""
    from tradewind.services.variables import set_variable

    with env.db.session() as s:
        set_variable(env, s, "plain", "v1")
        set_variable(env, s, "cfg", json.dumps({"bucket": "b1"}))
    template = (
        "{{ ds }}|{{ ds_nodash }}|{{ ts }}|{{ logical_date.year }}|"
        "{{ data_interval_start.isoformat() }}|{{ data_interval_end.isoformat() }}|{{ run_id }}|"
        "{{ var.value.plain }}|{{ var.json.cfg.bucket }}|{{ macros.ds_add(ds, 5) }}|"
        "{{ dag.dag_id }}|{{ task.task_id }}|{{ params.p }}"
    )
    with DAG("ctx_keys", start_date=DAY, schedule="@daily", params={"p": "x"}) as dag:
        BashOperator(task_id="show", bash_command=f"echo '{template}'")
    result = run(dag, env)
    assert states(result) == {"show": "success"}
    parts = xcom(env, result, "show").split("|")
    assert parts == [
        "2026-01-01",
        "20260101",
        "2026-01-01T00:00:00+00:00",
        "2026",
        parts[4],
        parts[5],
        result.run_id,
        "v1",
        "b1",
        "2026-01-06",
        "ctx_keys",
        "show",
        "x",
    ]
    start, end = datetime.fromisoformat(parts[4]), datetime.fromisoformat(parts[5])
    assert end - start == timedelta(days=1)


def test_prev_data_interval_start_success(env: Any) -> None:
    with DAG("prev", start_date=DAY, schedule="@daily") as dag:
        BashOperator(
            task_id="show",
            bash_command="echo {{ data_interval_start }}/{{ prev_data_interval_start_success }}",
        )
    first_start, first_prev = xcom(env, run(dag, env, DAY), "show").split("/")
    assert first_prev == "None"
    second_start, second_prev = xcom(env, run(dag, env, DAY + timedelta(days=1)), "show").split("/")
    assert second_prev == first_start != second_start


@pytest.mark.parametrize("native, expected", [(True, [1, 2]), (False, "[1, 2]")])
def test_render_template_as_native_obj(env: Any, native: bool, expected: Any) -> None:
    with DAG(f"native_{native}", start_date=DAY, render_template_as_native_obj=native) as dag:
        PythonOperator(task_id="show", python_callable=lambda v: v, op_args=["{{ [1, 2] }}"])
    assert xcom(env, run(dag, env), "show") == expected


def test_dag_decorator_params_reach_tasks_and_conf_overrides(env: Any) -> None:
    from tradewind import dag
    from tradewind.decorators import task_group

    @task
    def scale(value: int, factor: int) -> int:
        return value * factor

    @task.bash
    def shout(word: str) -> str:
        return f"echo {word.upper()}"

    @dag(start_date=DAY, schedule=None)
    def params_dag(factor: int = 2, word: str = "hey") -> None:
        @task_group
        def section() -> Any:
            return scale(21, factor)

        section()
        shout(word)
        BashOperator(task_id="fstring", bash_command=f"echo {word}-{factor}")

    d = params_dag()
    result = run(d, env)
    assert set(states(result).values()) == {"success"}
    assert xcom(env, result, "section.scale") == 42
    assert xcom(env, result, "shout") == "HEY"
    assert xcom(env, result, "fstring") == "hey-2"
    result = run(d, env, DAY + timedelta(days=1), conf={"factor": 3, "word": "yo"})
    assert xcom(env, result, "section.scale") == 63
    assert xcom(env, result, "shout") == "YO"
    assert xcom(env, result, "fstring") == "yo-3"


def test_dag_test_method_uses_tradewind_home(env: Any, capsys: pytest.CaptureFixture[str]) -> None:
    with DAG("method", start_date=DAY) as dag:
        BashOperator(task_id="hello", bash_command="echo from-dag-test")
    result = dag.test(DAY)
    assert (result.state, states(result)) == ("success", {"hello": "success"})
    assert xcom(env, result, "hello") == "from-dag-test"


def test_a_task_needing_more_slots_than_its_pool_has_fails_with_the_reason(env: Any) -> None:
    from tradewind.services.task_instances import tries

    with DAG("too_wide", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
        EmptyOperator(task_id="wide", pool_slots=500)
        EmptyOperator(task_id="narrow")
    result = run(dag, env)
    assert states(result) == {"wide": "failed", "narrow": "success"}
    with env.db.session(readonly=True) as s:
        history = tries(s, "too_wide", result.run_id, "wide")
    assert [h.state for h in history] == ["failed"]
    assert "needs 500 slots" in history[0].error and "default_pool" in history[0].error
