"""Issue 18.7: the shipped examples pass user-controlled values to the shell only through
``env=``, and the one that fetches a URL from conf refuses local files and local addresses."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tradewind.operators.bash import BashOperator
from tradewind.sdk.loader import load_file

EXAMPLES = Path(__file__).resolve().parents[2] / "src" / "tradewind" / "example_dags"
EVIL_RUN_ID = 'x"; touch pwned; echo "'


def _examples() -> list[Any]:
    dags = []
    for path in sorted(EXAMPLES.glob("example_*.py")):
        result = load_file(str(path), str(EXAMPLES))
        assert not result.error, result.error
        dags.extend(result.dags)
    return dags


def test_no_example_templates_into_a_bash_command() -> None:
    templated = [
        f"{dag.dag_id}.{task.task_id}"
        for dag in _examples()
        for task in dag.tasks
        if isinstance(task, BashOperator) and "{{" in task.bash_command
    ]
    assert templated == []


def test_a_hostile_run_id_is_printed_not_run(tmp_path: Path) -> None:
    """A deployment with a permissive run id pattern still runs no injected command."""
    (dag,) = [d for d in _examples() if d.dag_id == "example_bash_retries"]
    hello = dag.get_task("hello")
    hello.cwd = str(tmp_path)
    context = {"run_id": EVIL_RUN_ID, "ds": "2026-01-01", "ti": SimpleNamespace(try_number=1)}
    hello.render_template_fields(context)
    out = hello.execute(context)
    assert not (tmp_path / "pwned").exists()
    assert out == f"run {EVIL_RUN_ID} for 2026-01-01"


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "http://127.0.0.1:5432/", "http://localhost/x", "ftp://example.com/"],
)
def test_download_example_refuses_local_urls(url: str) -> None:
    (dag,) = [d for d in _examples() if d.dag_id == "example_download_process_store"]
    download = dag.get_task("download").python_callable
    with pytest.raises(ValueError, match="source_url"):
        download({"source_url": url}, "2026-01-01")
