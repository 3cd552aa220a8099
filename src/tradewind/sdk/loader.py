"""Import a DAG file as a module and collect the DAGs it defines."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import traceback
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tradewind.errors import DagDefinitionError

if TYPE_CHECKING:
    from tradewind.sdk.dag import DAG


@dataclass
class FileResult:
    """What importing one file gave: its DAGs, or an error with file, line and traceback."""

    path: str
    dags: list[DAG] = field(default_factory=list)
    error: str | None = None
    error_line: int | None = None


def might_contain_dag(path: str) -> bool:
    """Airflow's safe mode: skip files that mention neither ``dag`` nor ``DAG``."""
    try:
        with open(path, "rb") as f:
            content = f.read()
    except OSError:
        return False
    return b"dag" in content.lower()


def module_name_for(path: str) -> str:
    digest = hashlib.sha1(os.path.abspath(path).encode()).hexdigest()[:12]
    stem = os.path.splitext(os.path.basename(path))[0]
    return f"unusual_prefix_{digest}_{stem}"


def load_file(path: str, dags_folder: str | None = None) -> FileResult:
    """Import ``path`` and return every DAG it defines (also those never assigned)."""
    from tradewind.sdk.dag import DagContext

    result = FileResult(path=path)
    folder = dags_folder or os.path.dirname(os.path.abspath(path))
    if folder not in sys.path:
        sys.path.insert(0, folder)
    name = module_name_for(path)
    registry: list[DAG] = []
    previous = DagContext.registry
    DagContext.registry = registry
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            result.error = f"{path}: not an importable Python file"
            return result
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        for value in list(vars(module).values()):
            if value.__class__.__name__ == "DAG" and value not in registry:
                registry.append(value)
        seen: set[str] = set()
        for dag in registry:
            if dag.dag_id in seen:
                raise DagDefinitionError(
                    f"DAG id {dag.dag_id!r} is defined twice in this file", dag.filename, dag.lineno
                )
            seen.add(dag.dag_id)
            dag.fileloc = os.path.abspath(path)
            dag.validate()
        result.dags = registry
    except DagDefinitionError as exc:
        sys.modules.pop(name, None)
        result.error = f"{exc}\n{_user_traceback(exc, path)}"
        result.error_line = exc.lineno
    except BaseException as exc:  # noqa: BLE001 - any failure of user code is an import error
        if isinstance(exc, KeyboardInterrupt):
            raise
        sys.modules.pop(name, None)
        result.error = _user_traceback(exc, path)
        result.error_line = _line_in(exc, path)
    finally:
        DagContext.registry = previous
        DagContext._stack.clear()
    return result


def _line_in(exc: BaseException, path: str) -> int | None:
    line = None
    tb = exc.__traceback__
    target = os.path.abspath(path)
    while tb is not None:
        if os.path.abspath(tb.tb_frame.f_code.co_filename) == target:
            line = tb.tb_lineno
        tb = tb.tb_next
    if line is None and isinstance(exc, SyntaxError) and exc.lineno:
        line = exc.lineno
    return line


def _user_traceback(exc: BaseException, path: str) -> str:
    """Format the traceback, dropping the frames of our own loader."""
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    keep = [
        ln
        for ln in lines
        if "tradewind/sdk/loader.py" not in ln and "importlib._bootstrap" not in ln
    ]
    return "".join(keep).rstrip()
