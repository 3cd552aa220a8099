"""Parse DAG files in forked child processes, each with a time limit.

The parent has already imported Tradewind (and the operators DAG files use), so a child
forked from it starts warm: a fork costs about a millisecond, where a fresh interpreter would
cost a hundred. A child imports one file, serializes its DAGs and writes one JSON document to a
pipe; user code that hangs, crashes or calls ``os._exit`` only loses its own file.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import importlib
import json
import logging
import os
import selectors
import signal
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tradewind.sdk.loader import load_file
from tradewind.sdk.serialization import serialize_dag
from tradewind.services.dag_store import ParsedFile

log = logging.getLogger(__name__)

#: Modules imported once in the parent so that children inherit them instead of importing.
WARM_MODULES = (
    "tradewind",
    "tradewind.sdk.dag",
    "tradewind.sdk.decorators",
    "tradewind.sdk.serialization",
    "tradewind.sdk.timetables",
    "tradewind.operators.bash",
    "tradewind.operators.empty",
    "tradewind.operators.python",
    "tradewind.models",
    "tradewind.utils.trigger_rule",
)


_warmed = False


def warm_up(modules: Iterable[str] = WARM_MODULES) -> None:
    """Import what DAG files commonly import, and fill the SDK's caches, once per process.

    Children inherit all of it: building one sample DAG here fills lazy caches (operator
    signatures, compiled regexes) that would otherwise cost every child ~8 ms.
    """
    global _warmed
    if _warmed:
        return
    _warmed = True
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - a missing optional module must not stop parsing
            log.debug("could not pre-import %s: %s", name, exc)
    try:
        _build_sample_dag()
    except Exception as exc:  # noqa: BLE001 - warming is an optimisation only
        log.debug("could not warm the SDK: %s", exc)


def _build_sample_dag() -> None:
    """Define and serialize a DAG using the common operators (SDK code only, no user code)."""
    from datetime import datetime, timezone

    from tradewind import DAG, task
    from tradewind.operators.bash import BashOperator
    from tradewind.operators.empty import EmptyOperator
    from tradewind.operators.python import BranchPythonOperator, PythonOperator

    with DAG(
        "tradewind_warm_up",
        schedule="@daily",
        start_date=datetime(2024, 1, 1, tzinfo=timezone.utc),
        default_args={"retries": 1},
    ) as dag:
        produce = task(python_callable=lambda: 1, task_id="produce")
        first = EmptyOperator(task_id="first")
        py = PythonOperator(task_id="py", python_callable=print)
        branch = BranchPythonOperator(task_id="branch", python_callable=lambda: "bash")
        bash = BashOperator(task_id="bash", bash_command="true")
        first >> py >> branch >> bash >> produce()
    serialize_dag(dag)


def fingerprint(path: str) -> tuple[float, str, str | None]:
    """Return (mtime, sha256 of the content, text) of ``path``; empty hash if unreadable."""
    try:
        mtime = os.stat(path).st_mtime
        with open(path, "rb") as f:
            content = f.read()
    except OSError:
        return 0.0, "", None
    return mtime, hashlib.sha256(content).hexdigest(), content.decode("utf-8", errors="replace")


def _child_document(path: str, dags_folder: str) -> dict[str, Any]:
    """Import ``path`` and serialize its DAGs (runs in the child)."""
    result = load_file(path, dags_folder)
    if result.error is not None:
        return {"dags": [], "error": result.error, "error_line": result.error_line}
    try:
        dags = [serialize_dag(d) for d in result.dags]
        blob = {"dags": dags, "error": None, "error_line": None}
        json.dumps(blob, default=str)  # fail here, with a message, rather than in the parent
        return blob
    except Exception as exc:  # noqa: BLE001 - a DAG that cannot be serialized is an import error
        line = getattr(exc, "lineno", None)
        return {"dags": [], "error": f"{path}: cannot serialize DAG: {exc}", "error_line": line}


def _run_child(path: str, dags_folder: str, write_fd: int) -> None:
    """Body of the forked child: never returns."""
    code = 0
    try:
        os.setpgid(0, 0)  # its own group, so a timeout also kills what user code spawned
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        # Keep the collector off the inherited heap: fewer copy-on-write page faults.
        gc.freeze()
        data = json.dumps(_child_document(path, dags_folder), default=str).encode()
        view = memoryview(data)
        while view:
            view = view[os.write(write_fd, view) :]
        sys.stdout.flush()  # what the DAG file printed; os._exit would drop it
        sys.stderr.flush()
    except BaseException:  # noqa: BLE001 - nothing may escape a forked child
        code = 70
    finally:
        os._exit(code)


@dataclass
class _Child:
    path: str
    pid: int
    fd: int
    started: float
    mtime: float
    content_hash: str
    source: str | None
    chunks: list[bytes] = field(default_factory=list)


class FileParser:
    """Parse files in at most ``processes`` forked children at once, each within ``timeout``."""

    def __init__(self, dags_folder: str, *, timeout: float = 30.0, processes: int = 2):
        self.dags_folder = os.path.abspath(dags_folder)
        self.timeout = float(timeout)
        self.processes = max(1, int(processes))

    def parse(self, paths: Iterable[str]) -> list[ParsedFile]:
        """Parse every file of ``paths``; results come back in the order of ``paths``."""
        pending = list(paths)
        order = {p: i for i, p in enumerate(pending)}
        pending.reverse()
        done: list[ParsedFile] = []
        running: dict[int, _Child] = {}
        sel = selectors.DefaultSelector()
        try:
            while pending or running:
                while pending and len(running) < self.processes:
                    child = self._start(pending.pop())
                    running[child.fd] = child
                    sel.register(child.fd, selectors.EVENT_READ)
                self._pump(sel, running, done)
        finally:
            for child in running.values():
                self._kill(child)
            sel.close()
        done.sort(key=lambda r: order[r.path])
        return done

    def _start(self, path: str) -> _Child:
        mtime, content_hash, source = fingerprint(path)
        read_fd, write_fd = os.pipe()
        sys.stdout.flush()  # else the child would print the parent's buffered output again
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            _run_child(path, self.dags_folder, write_fd)
        os.close(write_fd)
        with contextlib.suppress(OSError):  # also here: no race with the child's own call
            os.setpgid(pid, pid)
        os.set_blocking(read_fd, False)
        return _Child(path, pid, read_fd, time.monotonic(), mtime, content_hash, source)

    def _pump(
        self, sel: selectors.BaseSelector, running: dict[int, _Child], done: list[ParsedFile]
    ) -> None:
        """Read what children wrote; finish those at EOF and kill those past the deadline."""
        deadline = min(c.started for c in running.values()) + self.timeout
        for key, _ in sel.select(timeout=max(0.0, deadline - time.monotonic())):
            child = running[key.fd]
            chunk = os.read(child.fd, 1 << 20)
            if chunk:
                child.chunks.append(chunk)
                continue
            sel.unregister(child.fd)
            del running[child.fd]
            done.append(self._finish(child))
        now = time.monotonic()
        for child in [c for c in running.values() if now - c.started >= self.timeout]:
            sel.unregister(child.fd)
            del running[child.fd]
            self._kill(child)
            done.append(self._result(child, error=self._timeout_message(child)))

    def _finish(self, child: _Child) -> ParsedFile:
        os.close(child.fd)
        _, status = os.waitpid(child.pid, 0)
        try:
            doc = json.loads(b"".join(child.chunks))
        except ValueError:
            code = os.waitstatus_to_exitcode(status)
            how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
            return self._result(
                child, error=f"{child.path}: the parsing process {how} without a result"
            )
        return self._result(
            child, dags=doc["dags"], error=doc["error"], error_line=doc["error_line"]
        )

    def _kill(self, child: _Child) -> None:
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except OSError:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, signal.SIGKILL)
        os.waitpid(child.pid, 0)
        os.close(child.fd)

    def _timeout_message(self, child: _Child) -> str:
        return (
            f"{child.path}: DAG file import timed out after {self.timeout:g} s "
            "(core.dagbag_import_timeout); the parsing process was killed. "
            "Move slow work (network, large files) out of the module level into tasks."
        )

    def _result(
        self,
        child: _Child,
        *,
        dags: list[dict[str, Any]] | None = None,
        error: str | None = None,
        error_line: int | None = None,
    ) -> ParsedFile:
        return ParsedFile(
            path=child.path,
            mtime=child.mtime,
            content_hash=child.content_hash,
            dags=dags or [],
            error=error,
            error_line=error_line,
            duration=time.monotonic() - child.started,
            source=child.source,
        )


def parse_files(
    paths: Iterable[str], *, dags_folder: str, timeout: float = 30.0, processes: int = 2
) -> list[ParsedFile]:
    """Parse ``paths`` in forked children; see :class:`FileParser`."""
    warm_up()
    return FileParser(dags_folder, timeout=timeout, processes=processes).parse(paths)
