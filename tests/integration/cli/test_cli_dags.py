"""``tradewind dags ...`` on a real DAGs folder and SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from tests.integration.cli.dag_sources import BRANCHY, BROKEN, SIMPLE, write_dag


def _folder(home: Path) -> Path:
    return home / "dags"


def test_list_shows_dags_and_import_errors_name_file_and_line(cli_runner, tw_home: Path) -> None:
    write_dag(_folder(tw_home), "simple.py", SIMPLE)
    write_dag(_folder(tw_home), "branchy.py", BRANCHY)
    broken = write_dag(_folder(tw_home), "broken_dag.py", BROKEN)
    listed = json.loads(cli_runner("dags", "list", "-o", "json").stdout)
    assert [d["dag_id"] for d in listed] == ["branchy", "simple"]
    assert all(d["is_paused"] is True for d in listed)
    table = cli_runner("dags", "list").stdout
    assert "branchy" in table and "simple" in table
    errors = json.loads(cli_runner("dags", "list-import-errors", "-o", "json").stdout)
    assert len(errors) == 1
    assert errors[0]["filepath"] == str(broken)
    assert errors[0]["lineno"] == 4
    assert "broken on purpose" in errors[0]["error"]


def test_listings_parse_as_yaml_and_plain(cli_runner, tw_home: Path) -> None:
    write_dag(_folder(tw_home), "simple.py", SIMPLE)
    rows = yaml.safe_load(cli_runner("dags", "list", "-o", "yaml").stdout)
    assert rows[0]["dag_id"] == "simple"
    plain = cli_runner("dags", "list", "-o", "plain").stdout.splitlines()
    assert plain[0].split()[0] == "dag_id" and plain[1].split()[0] == "simple"
    assert "\x1b[" not in cli_runner("dags", "list", "-o", "json").stdout


def test_show_draws_tasks_and_edges_and_saves_dot(cli_runner, tw_home: Path) -> None:
    write_dag(_folder(tw_home), "branchy.py", BRANCHY)
    tree = cli_runner("dags", "show", "branchy").stdout
    for task_id in ("pick", "left", "right", "join", "flaky", "cleanup"):
        assert task_id in tree
    layers = cli_runner("dags", "show", "branchy", "--format", "layers").stdout
    assert "pick -> left" in layers and "0: pick" in layers
    dot_file = tw_home / "branchy.dot"
    cli_runner("dags", "show", "branchy", "--save", str(dot_file))
    dot = dot_file.read_text()
    assert dot.startswith('digraph "branchy"') and '"join" -> "flaky";' in dot


def test_show_of_an_unknown_dag_is_a_clean_error(cli_runner) -> None:
    result = cli_runner("dags", "show", "nope", expect=1)
    assert "Error: DAG 'nope' not found" in result.stderr


def test_pause_unpause_and_details(cli_runner, tw_home: Path) -> None:
    write_dag(_folder(tw_home), "simple.py", SIMPLE)
    cli_runner("dags", "unpause", "simple")
    details = json.loads(cli_runner("dags", "details", "simple", "-o", "json").stdout)
    assert details["is_paused"] is False and details["timetable_summary"] == "@daily"
    assert "unpaused" in cli_runner("dags", "unpause", "simple").stdout
    cli_runner("dags", "pause", "simple")
    listed = json.loads(cli_runner("dags", "list", "-o", "json").stdout)
    assert listed[0]["is_paused"] is True


def test_trigger_then_list_runs(cli_runner, tw_home: Path) -> None:
    write_dag(_folder(tw_home), "branchy.py", BRANCHY)
    cli_runner(
        "dags",
        "trigger",
        "branchy",
        "--conf",
        '{"n": 3}',
        "--run-id",
        "my_run",
        "--logical-date",
        "2026-02-01",
    )
    runs = json.loads(cli_runner("dags", "list-runs", "branchy", "-o", "json").stdout)
    assert len(runs) == 1
    run = runs[0]
    assert run["run_id"] == "my_run" and run["state"] == "queued" and run["run_type"] == "manual"
    assert run["logical_date"] == "2026-02-01T00:00:00+00:00"
    assert run["data_interval_end"] == "2026-02-01T00:00:00+00:00"
    for key in ("start_date", "end_date", "data_interval_start"):
        assert key in run
    assert (
        json.loads(
            cli_runner("dags", "list-runs", "branchy", "--state", "success", "-o", "json").stdout
        )
        == []
    )


def test_trigger_with_invalid_conf_says_why(cli_runner, tw_home: Path) -> None:
    write_dag(_folder(tw_home), "branchy.py", BRANCHY)
    bad_json = cli_runner("dags", "trigger", "branchy", "--conf", "{oops", expect=1)
    assert bad_json.stderr.startswith("Error: --conf is not valid JSON")
    bad_param = cli_runner("dags", "trigger", "branchy", "--conf", '{"n": -5}', expect=1)
    assert "invalid conf for DAG 'branchy'" in bad_param.stderr
    assert "Traceback" not in bad_param.stderr
    assert json.loads(cli_runner("dags", "list-runs", "branchy", "-o", "json").stdout) == []


def test_delete_removes_runs(cli_runner, tw_home: Path) -> None:
    write_dag(_folder(tw_home), "simple.py", SIMPLE)
    cli_runner("dags", "trigger", "simple")
    cli_runner("dags", "delete", "simple", input="n\n", expect=1)
    cli_runner("dags", "delete", "simple", "-y")
    result = cli_runner("dags", "list-runs", "simple", expect=1)
    assert "not found" in result.stderr
    # the file still defines it, so the next listing brings it back (as in Airflow)
    assert "simple" in cli_runner("dags", "list").stdout
