"""The commands Airflow users type: db upgrade, info, roles, cheat-sheet, plugins, jobs,
tasks run/render/logs, dags next-execution/report, and what trigger/backfill say."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.integration.cli.dag_sources import BROKEN, SIMPLE, write_dag

TRADEWIND = [sys.executable, "-c", "from tradewind.cli.main import main; main()"]
RUN = "manual__2026-01-05T00:00:00+00:00"
TEMPLATED = """
from datetime import datetime, timezone

from tradewind import DAG
from tradewind.operators.bash import BashOperator

with DAG("templated", schedule="@daily", start_date=datetime(2026, 1, 1, tzinfo=timezone.utc)):
    BashOperator(task_id="say", bash_command="echo {{ ds }} {{ var.value.greeting }} {{ params.n }}",
                 params={"n": 7})
"""
PLUGIN = """
from tradewind.plugins_manager import TradewindPlugin

def shout(text):
    return text.upper()

class LoudPlugin(TradewindPlugin):
    name = "loud"
    macros = [shout]
"""


def _subprocess_env(home: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWIND")}
    return {**clean, "TRADEWIND_HOME": str(home)}


def _live_scheduler_row(env) -> None:
    """A SchedulerJob of this (live) test process with a fresh heartbeat."""
    from tradewind.services.queueing import register_job

    with env.db.session() as s:
        register_job(s, "SchedulerJob", datetime.now(UTC), exclusive=False, dead_after=30)


def test_db_upgrade_is_migrate(cli_runner) -> None:
    assert "is up to date" in cli_runner("db", "upgrade").stdout


def test_info_shows_paths_and_the_metastore(cli_runner, tw_home: Path) -> None:
    record = json.loads(cli_runner("info", "-o", "json").stdout)
    assert record["tradewind_home"] == str(tw_home)
    assert record["dags_folder"] == str(tw_home / "dags")
    assert record["sql_alchemy_conn"].startswith("sqlite:///")
    assert record["executor"] == "LocalExecutor"
    hidden = cli_runner(
        "info",
        "-o",
        "json",
        env={"TRADEWIND__DATABASE__SQL_ALCHEMY_CONN": "postgresql://u:s3cret@127.0.0.1/db"},
    )
    assert "s3cret" not in hidden.stdout and "***" in hidden.stdout


def test_roles_list_with_permissions(cli_runner) -> None:
    roles = json.loads(cli_runner("roles", "list", "-o", "json").stdout)
    assert [r["name"] for r in roles] == ["Admin", "Op", "User", "Viewer", "Public"]
    detailed = {
        r["name"]: r["permissions"]
        for r in json.loads(cli_runner("roles", "list", "-p", "-o", "json").stdout)
    }
    assert "edit on Variables" in detailed["Admin"]
    assert "read on DAGs" in detailed["Viewer"] and "edit on Variables" not in detailed["Viewer"]
    assert detailed["Public"] == []


def test_cheat_sheet_lists_every_command(cli_runner) -> None:
    sheet = cli_runner("cheat-sheet").stdout
    for line in ("tradewind db upgrade", "tradewind tasks run", "tradewind dags next-execution"):
        assert line in sheet
    assert "tradewind jobs check" in sheet and "Exit 0 if a job" in sheet


def test_plugins_lists_a_plugin_of_the_plugins_folder(cli_runner, tw_home: Path) -> None:
    assert "No plugins loaded" in cli_runner("plugins").stdout
    (tw_home / "plugins").mkdir()
    (tw_home / "plugins" / "loud.py").write_text(PLUGIN)
    from tradewind import plugins_manager

    plugins_manager._loaded = None  # the CLI runs in this process: scan the folder again
    try:
        rows = json.loads(cli_runner("plugins", "-o", "json").stdout)
    finally:
        plugins_manager._loaded = None
    assert rows == [
        {
            "name": "loud",
            "source": str(tw_home / "plugins" / "loud.py"),
            "operators": [],
            "hooks": [],
            "macros": ["shout"],
            "timetables": [],
        }
    ]


def test_jobs_check_fails_without_a_scheduler_and_passes_with_one(cli_runner, env) -> None:
    missing = cli_runner("jobs", "check", expect=1)
    assert "No alive SchedulerJob found" in missing.stderr
    _live_scheduler_row(env)
    assert "Found alive SchedulerJob" in cli_runner("jobs", "check").stdout
    assert "Found alive SchedulerJob" in cli_runner("jobs", "check", "--local").stdout
    elsewhere = cli_runner("jobs", "check", "--hostname", "other-host", expect=1)
    assert "on other-host" in elsewhere.stderr


def test_jobs_check_sees_a_running_triggerer_until_it_stops(cli_runner, env) -> None:
    """The triggerer heartbeats its own job row (``TriggererJob``), as the scheduler does."""
    import threading

    from tradewind.triggerer.runner import Triggerer

    assert "No alive TriggererJob" in cli_runner("jobs", "check", "--job-type", "TriggererJob",
                                                 expect=1).stderr  # fmt: skip
    triggerer = Triggerer(env, poll_interval=0.05)
    thread = threading.Thread(target=triggerer.run, daemon=True)
    thread.start()
    try:
        assert triggerer.started.wait(10)
        found = cli_runner("jobs", "check", "--job-type", "TriggererJob", "--local")
        assert f"Found alive TriggererJob {triggerer.job_id}" in found.stdout
    finally:
        triggerer.stop()
        thread.join(10)
    cli_runner("jobs", "check", "--job-type", "TriggererJob", expect=1)  # ended: not alive


def test_tasks_run_runs_one_task_instance_for_real_and_respects_trigger_rules(
    cli_runner, tw_home: Path
) -> None:
    write_dag(tw_home / "dags", "simple.py", SIMPLE)
    cli_runner("dags", "trigger", "simple", "-l", "2026-01-05")
    early = cli_runner("tasks", "run", "simple", "load", RUN, expect=1)
    assert "trigger rule all_success of 'load' does not hold (extract=none)" in early.stderr
    assert "ended success" in cli_runner("tasks", "run", "simple", "extract", "2026-01-05").stdout
    assert "(try 1) ended success" in cli_runner("tasks", "run", "simple", "load", RUN).stdout
    assert cli_runner("tasks", "state", "simple", "load", RUN).stdout.strip() == "success"
    again = cli_runner("tasks", "run", "simple", "load", RUN, expect=1)
    assert "already ended success; pass --force" in again.stderr
    log = cli_runner("tasks", "logs", "simple", "load", RUN).stdout
    assert "loaded 6" in log


def test_tasks_render_prints_rendered_fields_without_running(cli_runner, tw_home: Path) -> None:
    write_dag(tw_home / "dags", "templated.py", TEMPLATED)
    cli_runner("variables", "set", "greeting", "hello")
    out = cli_runner("tasks", "render", "templated", "say", "2026-01-05").stdout
    assert "# property: bash_command" in out
    assert "echo 2026-01-05 hello 7" in out
    cli_runner("dags", "list")  # parses the folder, so the DAG is known to list-runs
    runs = json.loads(cli_runner("dags", "list-runs", "templated", "-o", "json").stdout)
    assert runs == []  # nothing was created


def test_tasks_logs_takes_airflows_order_and_names_the_argument_not_found(
    cli_runner, tw_home: Path
) -> None:
    write_dag(tw_home / "dags", "simple.py", SIMPLE)
    cli_runner("dags", "test", "simple", "2026-01-05", "-q")
    assert "extracting rows" in cli_runner("tasks", "logs", "simple", "extract", RUN).stdout
    by_date = cli_runner("tasks", "logs", "simple", "extract", "2026-01-05", "--try-number", "1")
    assert "extracting rows" in by_date.stdout
    swapped = cli_runner("tasks", "logs", "simple", RUN, "extract", expect=2)
    assert "Invalid value for TASK_ID" in swapped.stderr
    assert "in Airflow's order" in swapped.stderr
    no_run = cli_runner("tasks", "logs", "simple", "extract", "2020-01-01", expect=2)
    assert "Invalid value for RUN_ID_OR_LOGICAL_DATE" in no_run.stderr
    no_dag = cli_runner("tasks", "logs", "nosuch", "extract", RUN, expect=2)
    assert "Invalid value for DAG_ID: no DAG 'nosuch'" in no_dag.stderr


def test_next_execution_and_dags_list_show_the_next_run_for_paused_dags_too(
    cli_runner, tw_home: Path
) -> None:
    write_dag(tw_home / "dags", "simple.py", SIMPLE)
    listed = json.loads(cli_runner("dags", "list", "-o", "json").stdout)[0]
    assert listed["is_paused"] is True
    assert listed["next_dagrun_run_after"] is not None and listed["timezone"] == "UTC"
    logical = datetime.fromisoformat(listed["next_dagrun_logical_date"])
    run_after = datetime.fromisoformat(listed["next_dagrun_run_after"])
    assert run_after - logical == (run_after - logical).__class__(days=1)  # @daily
    result = cli_runner("dags", "next-execution", "simple", "-n", "3")
    lines = result.stdout.splitlines()
    assert len(lines) == 3 and lines[0].startswith(logical.isoformat())
    assert "(runs after" in lines[0] and lines[0].endswith("UTC)")
    assert "is paused" in result.stderr
    rows = json.loads(cli_runner("dags", "next-execution", "simple", "-o", "json").stdout)
    assert rows[0]["run_after"] == listed["next_dagrun_run_after"]


def test_dags_report_parses_every_file(cli_runner, tw_home: Path) -> None:
    write_dag(tw_home / "dags", "simple.py", SIMPLE)
    write_dag(tw_home / "dags", "broken.py", BROKEN)
    rows = {
        Path(r["file"]).name: r
        for r in json.loads(cli_runner("dags", "report", "-o", "json").stdout)
    }
    assert rows["simple.py"]["dag_num"] == 1 and rows["simple.py"]["task_num"] == 2
    assert rows["simple.py"]["dags"] == "simple" and rows["simple.py"]["duration"] > 0
    assert rows["broken.py"]["dag_num"] == 0 and "broken on purpose" in rows["broken.py"]["error"]


def test_trigger_on_a_paused_dag_says_the_run_waits(cli_runner, tw_home: Path) -> None:
    write_dag(tw_home / "dags", "simple.py", SIMPLE)
    result = cli_runner("dags", "trigger", "simple", "-o", "json")
    assert json.loads(result.stdout)[0]["state"] == "queued"
    assert "is paused" in result.stderr and "until it is unpaused" in result.stderr
    cli_runner("dags", "unpause", "simple")
    assert "paused" not in cli_runner("dags", "trigger", "simple").stderr


def test_backfill_without_a_scheduler_says_so_and_local_runs_it(cli_runner, tw_home: Path) -> None:
    write_dag(tw_home / "dags", "simple.py", SIMPLE)
    refused = cli_runner(
        "dags", "backfill", "simple", "-s", "2026-01-01", "-e", "2026-01-02", expect=1
    )
    assert "no scheduler is running" in refused.stderr and "--local" in refused.stderr
    assert json.loads(cli_runner("dags", "list-runs", "simple", "-o", "json").stdout) == []
    done = subprocess.run(
        [
            *TRADEWIND,
            "dags",
            "backfill",
            "simple",
            "-s",
            "2026-01-01",
            "-e",
            "2026-01-02",
            "--local",
        ],
        env=_subprocess_env(tw_home),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 runs succeeded, 0 failed" in done.stdout
    runs = json.loads(cli_runner("dags", "list-runs", "simple", "-o", "json").stdout)
    assert sorted((r["run_type"], r["state"]) for r in runs) == [("backfill", "success")] * 2


def test_a_second_scheduler_on_sqlite_is_refused_before_it_starts(env, tw_home: Path) -> None:
    _live_scheduler_row(env)
    for command in ("scheduler", "standalone"):
        result = subprocess.run(
            [*TRADEWIND, command],
            env={**_subprocess_env(tw_home), "TRADEWIND__CORE__LOAD_EXAMPLES": "false"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 1, command
        assert "another scheduler (pid" in result.stderr and "SQLite supports one" in result.stderr
        assert "Tradewind is starting" not in result.stdout
    from sqlalchemy import text

    with env.db.session(readonly=True) as s:
        jobs = s.execute(text("SELECT job_type FROM job")).scalars().all()
    assert jobs == ["SchedulerJob"]  # no DAG processor, no second scheduler was started


@pytest.mark.slow
def test_webserver_on_a_busy_port_reports_the_bind_error_before_its_banner(tw_home: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [*TRADEWIND, "webserver", "-H", "127.0.0.1", "-p", str(port)],
            env=_subprocess_env(tw_home),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in result.stderr
    assert "web server on" not in result.stdout


def test_backfill_local_leaves_the_backfill_to_a_running_scheduler(
    cli_runner, env, tw_home: Path
) -> None:
    write_dag(tw_home / "dags", "simple.py", SIMPLE)
    _live_scheduler_row(env)
    result = cli_runner(
        "dags", "backfill", "simple", "-s", "2026-01-01", "-e", "2026-01-02", "--local", "--no-wait"
    )
    assert "A scheduler is running: it runs the backfill" in result.stderr
    runs = json.loads(cli_runner("dags", "list-runs", "simple", "-o", "json").stdout)
    assert sorted((r["run_type"], r["state"]) for r in runs) == [("backfill", "queued")] * 2
