"""Issue 18.1: a run id (or task id, map index, try number, DAG file) cannot reach outside
its folder. Run ids are refused where runs are created (Airflow's ``allowed_run_id_pattern``),
and independently every log path is resolved and refused if it leaves the log folder."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tradewind.core.paths import UnsafePath, contained_path
from tradewind.errors import InvalidInput, TradewindError

EVIL = "../../../../../../tmp/tw-sec-trav"
SRC = Path(__file__).resolve().parents[2] / "src" / "tradewind"


def test_api_refuses_a_run_id_outside_the_pattern(site: Any) -> None:
    resp = site.client.post(
        "/api/v2/dags/sec_dag/dagRuns",
        json={"dag_run_id": EVIL, "logical_date": None},
        headers=site.headers("user"),
    )
    assert resp.status_code == 400, resp.text
    assert "run_id" in resp.text and "'/'" in resp.text
    # One a shell would act on is refused by the pattern itself.
    resp = site.client.post(
        "/api/v2/dags/sec_dag/dagRuns",
        json={"dag_run_id": 'x"; touch pwned; echo "', "logical_date": None},
        headers=site.headers("user"),
    )
    assert resp.status_code == 400, resp.text
    assert "allowed_run_id_pattern" in resp.text


def test_ui_trigger_form_refuses_a_traversing_run_id(site: Any) -> None:
    from tests.security.conftest import csrf_of

    browser = site.browser("user")
    page = browser.get("/dags/sec_dag/trigger")
    resp = browser.post(
        "/dags/sec_dag/trigger",
        data={"csrf_token": csrf_of(page.text), "run_id": "../../uitrav", "conf": "{}"},
        follow_redirects=False,
    )
    assert resp.status_code == 422
    assert "is not allowed" in resp.text
    assert not list(site.env.settings.log_folder.parent.glob("**/uitrav*"))


def test_cli_refuses_a_traversing_run_id(cli: Any) -> None:
    result = cli("dags", "trigger", "sec_dag", "-r", "../../clitrav")
    assert result.exit_code != 0
    assert "run_id '../../clitrav' is not allowed" in result.output


def test_services_refuse_a_bad_run_id_whatever_the_pattern(env: Any) -> None:
    """A permissive deployment pattern does not let path separators through."""
    from tradewind.services.runs import trigger_run

    with env.db.session() as s, pytest.raises(InvalidInput, match="is not allowed"):
        trigger_run(s, "sec_dag", now=env.now(), run_id="a/../../b", run_id_pattern=".*")
    with env.db.session() as s, pytest.raises(InvalidInput, match="allowed_run_id_pattern"):
        trigger_run(s, "sec_dag", now=env.now(), run_id="has space", run_id_pattern=r"^\w+$")
    with env.db.session() as s:  # what the default pattern allows still works
        run = trigger_run(s, "sec_dag", now=env.now(), run_id="manual__ok-1.2~x:y+z")
        assert run.run_id == "manual__ok-1.2~x:y+z"


@pytest.mark.parametrize(
    "parts",
    [("run_id=../../../x",), ("a", "..", "..", "x"), ("/etc/passwd",), ("a\x00b",)],
)
def test_contained_path_refuses_what_leaves_the_base(tmp_path: Path, parts: tuple[str]) -> None:
    with pytest.raises(UnsafePath):
        contained_path(tmp_path / "logs", *parts)


def test_contained_path_refuses_a_symlink_out(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "out").symlink_to(tmp_path)
    with pytest.raises(UnsafePath):
        contained_path(tmp_path / "logs", "out", "x.log")
    assert contained_path(tmp_path / "logs", "dag_id=a", "run_id=..x") == (
        tmp_path / "logs" / "dag_id=a" / "run_id=..x"
    )


# -- every place that builds a log path, driven with a run id already in the metastore ----------


@pytest.fixture
def evil_run(env: Any) -> str:
    """A run whose id traverses (as one stored before the rule, or written by hand)."""
    from tradewind.services.runs import trigger_run

    with env.db.session() as s:
        trigger_run(s, "sec_dag", now=env.now(), run_id="plain")
    with env.db.session() as s:
        for table in ("task_instance", "dag_run"):
            s.execute(text(f"UPDATE {table} SET run_id = :e WHERE run_id = 'plain'"), {"e": EVIL})
        s.execute(text("UPDATE task_instance SET try_number = 1"))
    target = Path("/tmp/tw-sec-trav/task_id=echo/attempt=1.log")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text('{"event": "PLANTED-SECRET", "level": "info"}\n')
    yield EVIL
    target.unlink(missing_ok=True)


def test_ui_task_panel_does_not_read_outside(site: Any, evil_run: str) -> None:
    browser = site.browser("admin")
    resp = browser.get("/dags/sec_dag/ti", params={"run_id": evil_run, "task_id": "echo"})
    assert "PLANTED-SECRET" not in resp.text
    assert resp.status_code == 400


def test_cli_task_logs_does_not_read_outside(cli: Any, evil_run: str) -> None:
    result = cli("tasks", "logs", "sec_dag", "echo", evil_run)
    assert "PLANTED-SECRET" not in result.output
    assert result.exit_code != 0
    assert "leaves its folder" in result.output


def test_execution_api_log_upload_does_not_write_outside(site: Any, evil_run: str) -> None:
    from tradewind.services import execution_logs
    from tradewind.services.tokens import issue_ti_token

    execution_logs._KEYS.clear()  # its cache of task-instance keys outlives each metastore
    with site.env.db.session(readonly=True) as s:
        ti_id = s.execute(text("SELECT id FROM task_instance")).scalar_one()
    token = issue_ti_token(site.env.secret_key, ti_id, 1)
    resp = site.client.post(
        f"/execution/task-instances/{ti_id}/logs",
        json={"text": "OVERWRITTEN"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert resp.status_code >= 400
    assert "OVERWRITTEN" not in Path("/tmp/tw-sec-trav/task_id=echo/attempt=1.log").read_text()


def test_a_finish_with_its_log_does_not_write_outside(site: Any, evil_run: str) -> None:
    """The log sent with ``finish`` is stored inside the finish's transaction (#17): a run id
    that leaves its folder is refused there too, and the planted file is left alone."""
    from tradewind.services import execution_logs
    from tradewind.services.testing import queue_single_task

    execution_logs._KEYS.clear()
    site.env.wake = lambda *_: None
    with site.env.db.session() as s:
        s.execute(text("UPDATE task_instance SET state = NULL, try_number = 0"))
    w = queue_single_task(site.env, "sec_dag", evil_run, "echo")
    headers = {"Authorization": f"Bearer {w.token}"}
    url = f"/execution/task-instances/{w.ti_id}"
    claim = site.client.post(f"{url}/claim", json={"hostname": "h", "pid": 1}, headers=headers)
    assert claim.status_code == 200, claim.text
    body = {"outcome": "success", "error": None, "log": "OVERWRITTEN"}
    done = site.client.post(f"{url}/finish", json=body, headers=headers)
    assert done.status_code == 400 and "leaves its folder" in done.json()["detail"]
    assert "OVERWRITTEN" not in Path("/tmp/tw-sec-trav/task_id=echo/attempt=1.log").read_text()


def test_task_runner_does_not_write_outside(tmp_path: Path) -> None:
    from tradewind.core.execution import Workload
    from tradewind.core.log_files import callback_log_path, log_path

    w = Workload(1, "d", EVIL, "t", -1, 1, str(tmp_path / "d.py"), None, "")
    with pytest.raises(UnsafePath):
        log_path(tmp_path / "logs", w.dag_id, w.run_id, w.task_id, w.try_number, w.map_index)
    with pytest.raises(UnsafePath):
        log_path(tmp_path / "logs", "d", "r", "../../../../../t", 1)
    with pytest.raises(UnsafePath):
        log_path(tmp_path / "logs", "../../../d", "r", "t", 1)
    with pytest.raises(UnsafePath):
        callback_log_path(tmp_path / "logs", "d", EVIL)


def test_worker_refuses_a_dag_file_outside_its_dags_folder(tmp_path: Path) -> None:
    from tradewind.core.execution import Workload
    from tradewind.worker.dag_cache import resolve_dag

    outside = tmp_path / "elsewhere.py"
    outside.write_text("raise SystemExit('imported!')\n")
    (tmp_path / "dags").mkdir()
    w = Workload(1, "d", "r", "t", -1, 1, str(tmp_path / "dags" / ".." / "elsewhere.py"), None, "")
    with pytest.raises(TradewindError, match="outside the DAGs folder"):
        resolve_dag(w, str(tmp_path / "dags"))


# Every function in src that builds a log path, and the test above that drives it. A new call
# site fails this walk until it is listed (and driven) here.
CALL_SITES = {
    ("api/execution.py", "_store_log"): test_execution_api_log_upload_does_not_write_outside,
    # the one log store behind every transport's log upload (HTTP, pipe, in process)
    (
        "services/execution_logs.py",
        "store_log",
    ): test_execution_api_log_upload_does_not_write_outside,
    # the log sent with finish, stored in the finish's transaction
    (
        "services/execution_logs.py",
        "write_try_log",
    ): test_a_finish_with_its_log_does_not_write_outside,
    ("api/v2/routes/ti_logs.py", "get_log"): test_api_refuses_a_run_id_outside_the_pattern,
    ("services/task_instances.py", "ti_log_path"): test_cli_task_logs_does_not_read_outside,
    ("ui/pages_dags.py", "ti_context"): test_ui_task_panel_does_not_read_outside,
    ("cli/tasks_run.py", "logs"): test_cli_task_logs_does_not_read_outside,
    ("worker/runner.py", "run"): test_task_runner_does_not_write_outside,
    ("worker/runner.py", "_run_dag_callback"): test_task_runner_does_not_write_outside,
    # the same helper (callback_log_path) as the DAG callbacks' log above
    ("worker/runner.py", "run_deadline_callback"): test_task_runner_does_not_write_outside,
    ("worker/tries.py", "_try_log_path"): test_task_runner_does_not_write_outside,
    ("cli/_executors.py", "make_executor"): test_task_runner_does_not_write_outside,
    ("cli/_executors.py", "lost"): test_task_runner_does_not_write_outside,
}
HELPERS = {"log_path", "ti_log_path", "callback_log_path"}


def _sites() -> set[tuple[str, str]]:
    found = set()
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        tree = ast.parse(path.read_text(), str(path))
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(func):
                name = getattr(getattr(node, "func", None), "id", None) or getattr(
                    getattr(node, "func", None), "attr", None
                )
                if isinstance(node, ast.Call) and name in HELPERS and func.name not in HELPERS:
                    found.add((rel, func.name))
    return found


def test_every_log_path_call_site_is_driven_above() -> None:
    assert _sites() - set(CALL_SITES) == set(), "a new log-path call site: list and test it"


def test_no_log_path_is_built_by_hand() -> None:
    """Outside core/log_files.py, nothing joins onto the log folder with ``/`` or ``Path()``."""
    offenders = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        if rel == "core/log_files.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            joins = isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div)
            if joins and "log_folder" in ast.unparse(node.left):  # type: ignore[attr-defined]
                offenders.append(f"{rel}:{node.lineno}")  # type: ignore[attr-defined]
            calls = isinstance(node, ast.Call) and ast.unparse(node.func) in (
                "os.path.join",
                "Path",
            )
            if calls and len(node.args) > 1 and "log_folder" in ast.unparse(node.args[0]):  # type: ignore[attr-defined]
                offenders.append(f"{rel}:{node.lineno}")  # type: ignore[attr-defined]
    assert offenders == []
