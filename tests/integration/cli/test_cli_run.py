"""Runs from the CLI: ``dags test``, ``tasks test``, states, clear, logs; pools."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.cli.dag_sources import BRANCHY, SIMPLE, write_dag

RUN = "manual__2026-01-05T00:00:00+00:00"


def _states(cli_runner, dag_id: str, run_id: str) -> dict[str, tuple[str, int]]:
    rows = json.loads(
        cli_runner("tasks", "states-for-dag-run", dag_id, run_id, "-o", "json").stdout
    )
    return {r["task_id"]: (r["state"], r["try_number"]) for r in rows}


def test_dags_test_respects_branching_trigger_rules_and_retries(cli_runner, tw_home: Path) -> None:
    write_dag(tw_home / "dags", "branchy.py", BRANCHY)
    result = cli_runner("dags", "test", "branchy", "2026-01-05", "--no-retry-delay", "-q", expect=1)
    assert "ended failed" in result.stdout
    for column in ("task_id", "state", "try_number", "duration"):
        assert column in result.stdout
    assert _states(cli_runner, "branchy", RUN) == {
        "pick": ("success", 1),
        "left": ("success", 1),
        "right": ("skipped", 0),
        "join": ("success", 1),
        "flaky": ("success", 2),
        "broken": ("failed", 1),
        "after_broken": ("upstream_failed", 0),
        "cleanup": ("success", 1),
    }
    runs = json.loads(cli_runner("dags", "list-runs", "branchy", "-o", "json").stdout)
    assert [(r["run_id"], r["state"]) for r in runs] == [(RUN, "failed")]
    assert runs[0]["start_date"] and runs[0]["end_date"]


def test_dags_test_json_summary_and_success_exit(cli_runner, tw_home: Path) -> None:
    write_dag(tw_home / "dags", "simple.py", SIMPLE)
    result = cli_runner("dags", "test", "simple", "2026-01-05", "-o", "json")
    rows = json.loads(result.stdout)
    assert [(r["task_id"], r["state"]) for r in rows] == [
        ("extract", "success"),
        ("load", "success"),
    ]


def test_tasks_test_runs_one_task_and_records_nothing(cli_runner, tw_home: Path, capfd) -> None:
    write_dag(tw_home / "dags", "simple.py", SIMPLE)
    cli_runner("dags", "unpause", "simple")
    result = cli_runner("tasks", "test", "simple", "extract", "2026-01-05")
    assert "ended success" in result.stdout
    assert "extracting rows" in "".join(capfd.readouterr())  # its log, on the terminal
    # As Airflow's tasks test: no run, no try, nothing a scheduler would pick up.
    assert json.loads(cli_runner("dags", "list-runs", "simple", "-o", "json").stdout) == []
    missing = cli_runner("tasks", "states-for-dag-run", "simple", RUN, expect=1)
    assert "not found" in missing.stderr


def test_tasks_test_of_a_date_with_a_run_reads_its_xcoms_and_changes_nothing(
    cli_runner, tw_home: Path, capfd
) -> None:
    write_dag(tw_home / "dags", "simple.py", SIMPLE)
    cli_runner("dags", "test", "simple", "2026-01-05", "-q")
    before = _states(cli_runner, "simple", RUN)
    log_before = cli_runner("tasks", "logs", "simple", "load", RUN).stdout
    result = cli_runner("tasks", "test", "simple", "load", "2026-01-05")
    assert "ended success" in result.stdout
    assert "loaded 6" in "".join(capfd.readouterr())  # the upstream's real XCom was pulled
    assert (
        _states(cli_runner, "simple", RUN)
        == before
        == {
            "extract": ("success", 1),
            "load": ("success", 1),
        }
    )
    assert cli_runner("tasks", "logs", "simple", "load", RUN).stdout == log_before
    runs = json.loads(cli_runner("dags", "list-runs", "simple", "-o", "json").stdout)
    assert [r["run_id"] for r in runs] == [RUN]


def test_tasks_logs_per_try(cli_runner, tw_home: Path) -> None:
    write_dag(tw_home / "dags", "branchy.py", BRANCHY)
    cli_runner("dags", "test", "branchy", "2026-01-05", "--no-retry-delay", "-q", expect=1)
    first = cli_runner("tasks", "logs", "branchy", "flaky", RUN, "--try", "1").stdout
    second = cli_runner("tasks", "logs", "branchy", "flaky", RUN).stdout
    assert "recovered" not in first and "recovered" in second
    lines = json.loads(cli_runner("tasks", "logs", "branchy", "flaky", RUN, "-o", "json").stdout)
    assert any("recovered" in line["event"] for line in lines)
    missing = cli_runner("tasks", "logs", "branchy", "flaky", RUN, "--try-number", "9", expect=2)
    assert "try 9 does not exist" in missing.stderr


def test_clear_lists_asks_and_resets(cli_runner, tw_home: Path) -> None:
    write_dag(tw_home / "dags", "branchy.py", BRANCHY)
    cli_runner("dags", "test", "branchy", "2026-01-05", "--no-retry-delay", "-q", expect=1)
    aborted = cli_runner("tasks", "clear", "branchy", "-t", "^broken$", "-d", input="n\n", expect=1)
    assert "broken" in aborted.stdout and "after_broken" in aborted.stdout
    assert _states(cli_runner, "branchy", RUN)["broken"] == ("failed", 1)
    cleared = cli_runner(
        "tasks",
        "clear",
        "branchy",
        "-t",
        "^broken$",
        "--downstream",
        "-s",
        "2026-01-01",
        "-e",
        "2026-01-31",
        "-y",
    )
    assert "Cleared 3 task instances" in cleared.stdout
    states = _states(cli_runner, "branchy", RUN)
    assert {t: states[t][0] for t in ("broken", "after_broken", "cleanup")} == {
        "broken": None,
        "after_broken": None,
        "cleanup": None,
    }
    assert states["join"] == ("success", 1)
    runs = json.loads(cli_runner("dags", "list-runs", "branchy", "-o", "json").stdout)
    assert runs[0]["state"] == "queued"
    none_left = cli_runner("tasks", "clear", "branchy", "-t", "^nothing$", "-y")
    assert "No task instances to clear" in none_left.stdout


def test_tasks_list(cli_runner, tw_home: Path) -> None:
    write_dag(tw_home / "dags", "branchy.py", BRANCHY)
    plain = cli_runner("tasks", "list", "branchy", "-o", "plain").stdout.split()
    assert plain[0] == "pick" and set(plain) >= {"left", "join", "cleanup"}
    assert "join" in cli_runner("tasks", "list", "branchy", "--tree").stdout


def test_pools_round_trip(cli_runner, tw_home: Path) -> None:
    cli_runner("pools", "set", "etl", "4", "ETL jobs")
    got = json.loads(cli_runner("pools", "get", "etl", "-o", "json").stdout)
    assert got[0]["slots"] == 4 and got[0]["description"] == "ETL jobs"
    exported = tw_home / "pools.json"
    cli_runner("pools", "export", str(exported))
    data = json.loads(exported.read_text())
    assert data["etl"]["slots"] == 4 and "default_pool" in data
    cli_runner("pools", "delete", "etl")
    assert cli_runner("pools", "get", "etl", expect=1).stderr.startswith(
        "Error: pool 'etl' not found"
    )
    data["etl"]["slots"] = 6
    data["reports"] = {"slots": 1, "description": "one at a time"}
    exported.write_text(json.dumps(data))
    cli_runner("pools", "import", str(exported))
    names = {
        p["pool"]: p["slots"] for p in json.loads(cli_runner("pools", "list", "-o", "json").stdout)
    }
    assert names == {"default_pool": 128, "etl": 6, "reports": 1}
    refused = cli_runner("pools", "delete", "default_pool", expect=1)
    assert "cannot be deleted" in refused.stderr
    bad = tw_home / "bad.json"
    bad.write_text('{"x": {"slots": "many"}}')
    assert "slots must be an integer" in cli_runner("pools", "import", str(bad), expect=1).stderr


def test_every_example_dag_runs_to_success(cli_runner, tw_home: Path) -> None:
    import shutil
    import sqlite3

    from tradewind.cli._processes import example_dags_source

    for src in example_dags_source().glob("example_*.py"):
        shutil.copy(src, tw_home / "dags" / src.name)
    dag_ids = [d["dag_id"] for d in json.loads(cli_runner("dags", "list", "-o", "json").stdout)]
    assert "example_download_process_store" in dag_ids and len(dag_ids) == 4
    assert json.loads(cli_runner("dags", "list-import-errors", "-o", "json").stdout) == []
    for dag_id in dag_ids:
        result = cli_runner("dags", "test", dag_id, "2026-01-03", "--no-retry-delay", "-q")
        assert "ended success" in result.stdout, dag_id
    with sqlite3.connect(tw_home / "example_rates.db") as db:
        assert db.execute("SELECT count(*) FROM rates WHERE day = '2026-01-03'").fetchone()[0] == 4
