"""BashOperator.execute: output, exit codes, environment and working directory."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from tradewind import DAG
from tradewind.errors import TradewindError, TradewindSkipException
from tradewind.operators.bash import BashOperator

CTX: dict[str, Any] = {"logical_date": datetime(2026, 1, 1, tzinfo=timezone.utc), "run_id": "r"}


def bash(**kwargs: Any) -> BashOperator:
    with DAG("bash_unit"):
        return BashOperator(task_id="b", **kwargs)


def test_last_line_is_returned_and_all_lines_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="tradewind.task")
    assert bash(bash_command="echo one; echo two").execute(CTX) == "two"
    assert [r.getMessage() for r in caplog.records] == ["one", "two"]
    assert bash(bash_command="true").execute(CTX) is None


def test_exit_codes() -> None:
    with pytest.raises(TradewindSkipException, match="99"):
        bash(bash_command="exit 99").execute(CTX)
    with pytest.raises(TradewindError, match="exit code 2"):
        bash(bash_command="exit 2").execute(CTX)
    with pytest.raises(TradewindSkipException):
        bash(bash_command="exit 3", skip_on_exit_code=[3, 4]).execute(CTX)
    with pytest.raises(TradewindError, match="exit code 99"):
        bash(bash_command="exit 99", skip_on_exit_code=None).execute(CTX)


def test_env_replaces_or_appends_and_context_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FROM_WORKER", "w")
    only = bash(
        bash_command='echo "${FROM_WORKER:-unset} $MINE $AIRFLOW_CTX_DAG_RUN_ID"', env={"MINE": "m"}
    )
    assert only.execute(CTX) == "unset m r"
    appended = bash(bash_command='echo "$FROM_WORKER $MINE"', env={"MINE": "m"}, append_env=True)
    assert appended.execute(CTX) == "w m"
    inherit = bash(bash_command='echo "$FROM_WORKER $TRADEWIND_CTX_LOGICAL_DATE"')
    assert inherit.execute(CTX) == "w 2026-01-01T00:00:00+00:00"


def test_cwd_and_temporary_default(tmp_path: Path) -> None:
    assert bash(bash_command="pwd", cwd=str(tmp_path)).execute(CTX) == str(tmp_path)
    default = bash(bash_command="pwd").execute(CTX)
    assert default != os.getcwd() and not Path(default).exists()  # a temp dir, removed after
    with pytest.raises(TradewindError, match="not a directory"):
        bash(bash_command="pwd", cwd=str(tmp_path / "missing")).execute(CTX)


def test_stderr_goes_to_the_log_and_encoding(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="tradewind.task")
    assert bash(bash_command="echo oops >&2; printf 'caf\\xc3\\xa9\\n'").execute(CTX) == "café"
    assert "oops" in caplog.text


def test_template_fields() -> None:
    op = bash(bash_command="echo {{ run_id }}", env={"K": "{{ run_id }}"}, cwd="/{{ run_id }}")
    op.render_template_fields(CTX)
    assert (op.bash_command, op.env, op.cwd) == ("echo r", {"K": "r"}, "/r")
