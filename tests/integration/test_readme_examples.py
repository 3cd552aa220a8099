"""The README's DAG examples work as printed (copied out of README.md, not retyped)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parents[2] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def _block_saved_as(name: str) -> str:
    """The README block whose first line says where it is saved (``# ~/tradewind/dags/x.py``)."""
    for block in _python_blocks():
        if block.splitlines()[0].strip().endswith(f"/dags/{name}"):
            return block
    text = README.read_text()
    match = re.search(
        rf"Save this as `~/tradewind/dags/{re.escape(name)}`:\n\n```python\n(.*?)```",
        text,
        flags=re.S,
    )
    assert match, f"README has no example saved as {name}"
    return match.group(1)


def test_first_dag_of_the_readme_runs(tw_home: Path, cli_runner: Any) -> None:
    (tw_home / "dags" / "daily_orders.py").write_text(_block_saved_as("daily_orders.py"))
    listed = json.loads(cli_runner("dags", "list", "-o", "json").stdout)
    assert [d["dag_id"] for d in listed] == ["daily_orders"]
    cli_runner("dags", "test", "daily_orders", "2026-01-01", "-q")
    runs = json.loads(cli_runner("dags", "list-runs", "daily_orders", "-o", "json").stdout)
    states = json.loads(
        cli_runner(
            "tasks", "states-for-dag-run", "daily_orders", runs[0]["run_id"], "-o", "json"
        ).stdout
    )
    assert {s["task_id"]: s["state"] for s in states} == {
        "download": "success",
        "total": "success",
        "store": "success",
    }
    log = (
        tw_home
        / "logs"
        / "dag_id=daily_orders"
        / f"run_id={runs[0]['run_id']}"
        / "task_id=store"
        / "attempt=1.log"
    ).read_text()
    assert "total for 2026-01-01: 19.5" in log


def test_custom_operator_of_the_readme_runs(tw_home: Path, cli_runner: Any) -> None:
    (tw_home / "dags" / "my_operators.py").write_text(_block_saved_as("my_operators.py"))
    (tw_home / "dags" / "greet.py").write_text(_block_saved_as("greet.py"))
    cli_runner("dags", "test", "greet", "2026-01-02", "-q")
    runs = json.loads(cli_runner("dags", "list-runs", "greet", "-o", "json").stdout)
    assert runs[0]["state"] == "success"
    log = (
        tw_home
        / "logs"
        / "dag_id=greet"
        / f"run_id={runs[0]['run_id']}"
        / "task_id=hello"
        / "attempt=1.log"
    ).read_text()
    assert "Hello world on 2026-01-02" in log
