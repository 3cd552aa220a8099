"""A try's log holds its own thread's lines only: in a process that runs other work beside the
try (``dags test`` with its triggerer, the in-process executor), the other threads' log records
and prints keep going to the process's output."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import pytest

from tradewind.worker.logs import TASK_LOGGER, task_log


def _events(path: Path) -> list[str]:
    return [json.loads(line)["event"] for line in path.read_text().splitlines()]


def test_another_threads_lines_stay_out_of_the_try_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    triggerer = logging.getLogger("tradewind.triggerer")

    def elsewhere() -> None:
        triggerer.warning("trigger 7 fired")
        print("printed by the triggerer")

    path = tmp_path / "attempt=1.log"
    with task_log(path):
        logging.getLogger(TASK_LOGGER).info("the task starts")
        thread = threading.Thread(target=elsewhere)
        thread.start()
        thread.join()
        print("printed by the task")
        logging.getLogger("airflow.hooks").warning("a hook speaks")
    assert _events(path) == ["the task starts", "printed by the task", "a hook speaks"]
    assert "trigger 7 fired" in caplog.text  # still in the process's own log
    assert "printed by the triggerer" in capsys.readouterr().out
    assert "the task starts" not in caplog.text  # the try's lines go to its file only


def test_the_process_handlers_are_as_before_after_the_try(tmp_path: Path) -> None:
    root = logging.getLogger()
    before = [(h, list(h.filters)) for h in root.handlers]
    with task_log(tmp_path / "attempt=1.log"):
        pass
    assert [(h, list(h.filters)) for h in root.handlers] == before
