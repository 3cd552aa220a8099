"""The one seam between ``DAG.test()`` and the code that runs a DAG: the SDK knows only this.

``DAG.test()`` calls the registered runner. Nothing registers one in a DAG file's process
until the file calls ``dag.test()``; then the runner's module (``tradewind.dag_test``, a
component above every layer) is loaded by name, registers itself, and runs the DAG with the
scheduler loop and the inline executor. The SDK thus keeps no import of the server side, and
`import tradewind` stays light.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

#: ``runner(dag, logical_date=..., conf=...)``: runs the DAG once, returns its result.
DagTestRunner = Callable[..., Any]

#: The module that registers the default runner when imported.
DEFAULT_RUNNER_MODULE = "tradewind.dag_test"

_runner: DagTestRunner | None = None


def register_runner(runner: DagTestRunner) -> None:
    """Make ``runner`` what ``DAG.test()`` calls."""
    global _runner
    _runner = runner


def run_dag_test(dag: Any, logical_date: datetime | None, conf: dict[str, Any] | None) -> Any:
    """Run ``dag`` once through the registered runner, loading the default one if none is."""
    if _runner is None:
        importlib.import_module(DEFAULT_RUNNER_MODULE)
    if _runner is None:
        raise RuntimeError(f"{DEFAULT_RUNNER_MODULE} did not register a DAG.test() runner")
    return _runner(dag, logical_date=logical_date, conf=conf)
