"""Parse DAG files in forked child processes, each file with a time limit.

The parent has already imported Tradewind (and the operators DAG files use), so a child
forked from it starts warm: a fork costs about a millisecond, where a fresh interpreter would
cost a hundred. Still, forking and tearing down a child cost ~5 ms of CPU against ~0.6 ms to
parse a small file (#17), so a child parses a batch of files one after another and writes one
JSON line per file to a pipe. User code that hangs, crashes or calls ``os._exit`` loses only
its own file: the parent kills or reaps that child and parses the rest of the batch in a new
one. Between two files a child drops the modules of the DAGs folder, so each file imports
its helpers afresh, as in a process of its own.
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


def _forget_file_state(
    dags_folder: str, baseline: set[str], saved_path: list[str], saved_cwd: str
) -> None:
    """Undo what importing one DAG file left behind that could change how the next imports.

    The DAG module itself and the modules it imported from the DAGs folder (shared helpers)
    are dropped, so the next file imports them afresh as it would in a process of its own.
    Kept: what the child started with (``baseline``: Tradewind, even when the DAGs folder
    holds the virtualenv), and installed packages (re-importing a C extension is not always
    possible, and costs what batching saves).
    """
    folder = dags_folder.rstrip(os.sep) + os.sep
    for name, module in list(sys.modules.items()):
        if name in baseline:
            continue
        try:
            origin = str(getattr(module, "__file__", None) or "")
        except Exception:  # noqa: BLE001 - a module object with a strange __getattr__
            origin = ""
        installed = "site-packages" in origin or "dist-packages" in origin
        if name.startswith("unusual_prefix_") or (origin.startswith(folder) and not installed):
            sys.modules.pop(name, None)
    sys.path[:] = saved_path
    with contextlib.suppress(OSError):
        os.chdir(saved_cwd)


def _run_child(paths: list[str], dags_folder: str, write_fd: int) -> None:
    """Body of the forked child: parse ``paths`` in order, one JSON line each; never returns."""
    code = 0
    try:
        os.setpgid(0, 0)  # its own group, so a timeout also kills what user code spawned
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        # Keep the collector off the inherited heap: fewer copy-on-write page faults.
        gc.freeze()
        baseline, saved_path, saved_cwd = set(sys.modules), list(sys.path), os.getcwd()
        for path in paths:
            data = json.dumps(_child_document(path, dags_folder), default=str).encode() + b"\n"
            view = memoryview(data)
            while view:
                view = view[os.write(write_fd, view) :]
            sys.stdout.flush()  # what the DAG file printed; os._exit would drop it
            sys.stderr.flush()
            _forget_file_state(dags_folder, baseline, saved_path, saved_cwd)
    except BaseException:  # noqa: BLE001 - nothing may escape a forked child
        code = 70
    finally:
        os._exit(code)


@dataclass
class _Pending:
    """A file waiting for its child: its fingerprint, taken before the child starts."""

    path: str
    mtime: float
    content_hash: str
    source: str | None


@dataclass
class _Child:
    """One forked child parsing a batch of files; ``files[done]`` is the one it is on."""

    pid: int
    fd: int
    files: list[_Pending]
    started: float  # when the current file started (the child's start, then each result)
    done: int = 0
    buffer: bytearray = field(default_factory=bytearray)

    @property
    def current(self) -> _Pending:
        return self.files[self.done]


class FileParser:
    """Parse files in at most ``processes`` forked children at once, each file within ``timeout``.

    A child parses a batch of up to ``batch_size`` files one after another (a fork costs
    several times what parsing a small file does), writing one result line per file. The
    time limit is per file: a file past it has its child killed, and the rest of the batch
    goes on in a new child; so does the rest of a batch whose child died.
    """

    def __init__(
        self, dags_folder: str, *, timeout: float = 30.0, processes: int = 2, batch_size: int = 50
    ):
        self.dags_folder = os.path.abspath(dags_folder)
        self.timeout = float(timeout)
        self.processes = max(1, int(processes))
        self.batch_size = max(1, int(batch_size))

    def _batches(self, paths: list[str]) -> list[list[str]]:
        """Split ``paths`` so every process gets work, in batches of at most ``batch_size``."""
        size = min(self.batch_size, max(1, -(-len(paths) // self.processes)))
        return [paths[i : i + size] for i in range(0, len(paths), size)]

    def parse(self, paths: Iterable[str]) -> list[ParsedFile]:
        """Parse every file of ``paths``; results come back in the order of ``paths``."""
        todo = list(paths)
        order = {p: i for i, p in enumerate(todo)}
        pending: list[list[str] | list[_Pending]] = [*self._batches(todo)]
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
                for rest in self._pump(sel, running, done):
                    pending.append(rest)
        finally:
            for child in running.values():
                self._kill(child)
            sel.close()
        done.sort(key=lambda r: order[r.path])
        return done

    def _start(self, batch: list[str] | list[_Pending]) -> _Child:
        files = [f if isinstance(f, _Pending) else _Pending(f, *fingerprint(f)) for f in batch]
        read_fd, write_fd = os.pipe()
        sys.stdout.flush()  # else the child would print the parent's buffered output again
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            _run_child([f.path for f in files], self.dags_folder, write_fd)
        os.close(write_fd)
        with contextlib.suppress(OSError):  # also here: no race with the child's own call
            os.setpgid(pid, pid)
        os.set_blocking(read_fd, False)
        return _Child(pid, read_fd, files, time.monotonic())

    def _pump(
        self, sel: selectors.BaseSelector, running: dict[int, _Child], done: list[ParsedFile]
    ) -> list[list[_Pending]]:
        """Read what children wrote; end those at EOF or past the deadline.

        Returns the unparsed rest of each batch whose child ended early."""
        rest: list[list[_Pending]] = []
        deadline = min(c.started for c in running.values()) + self.timeout
        for key, _ in sel.select(timeout=max(0.0, deadline - time.monotonic())):
            child = running[key.fd]
            chunk = os.read(child.fd, 1 << 20)
            if chunk:
                child.buffer += chunk
                done.extend(self._take_lines(child))
                continue
            sel.unregister(child.fd)
            del running[child.fd]
            rest.extend(self._finish(child, done))
        now = time.monotonic()
        for child in [c for c in running.values() if now - c.started >= self.timeout]:
            sel.unregister(child.fd)
            del running[child.fd]
            self._kill(child)
            done.append(self._result(child, error=self._timeout_message(child)))
            child.done += 1
            if child.done < len(child.files):
                rest.append(child.files[child.done :])
        return rest

    def _take_lines(self, child: _Child) -> list[ParsedFile]:
        """Turn each complete line the child wrote into the result of its current file."""
        out: list[ParsedFile] = []
        while (end := child.buffer.find(b"\n")) >= 0 and child.done < len(child.files):
            line = bytes(child.buffer[:end])
            del child.buffer[: end + 1]
            try:
                doc = json.loads(line)
                out.append(
                    self._result(
                        child, dags=doc["dags"], error=doc["error"], error_line=doc["error_line"]
                    )
                )
            except (ValueError, KeyError, TypeError):
                out.append(self._result(child, error=f"{child.current.path}: unreadable result"))
            child.done += 1
            child.started = time.monotonic()
        return out

    def _finish(self, child: _Child, done: list[ParsedFile]) -> list[list[_Pending]]:
        """Reap a child at EOF; a batch it did not finish loses only its current file."""
        os.close(child.fd)
        _, status = os.waitpid(child.pid, 0)
        if child.done >= len(child.files):
            return []
        code = os.waitstatus_to_exitcode(status)
        how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
        path = child.current.path
        done.append(
            self._result(child, error=f"{path}: the parsing process {how} without a result")
        )
        child.done += 1
        return [child.files[child.done :]] if child.done < len(child.files) else []

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
            f"{child.current.path}: DAG file import timed out after {self.timeout:g} s "
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
        f = child.current
        return ParsedFile(
            path=f.path,
            mtime=f.mtime,
            content_hash=f.content_hash,
            dags=dags or [],
            error=error,
            error_line=error_line,
            duration=time.monotonic() - child.started,
            source=f.source,
        )


def parse_files(
    paths: Iterable[str],
    *,
    dags_folder: str,
    timeout: float = 30.0,
    processes: int = 2,
    batch_size: int = 50,
) -> list[ParsedFile]:
    """Parse ``paths`` in forked children; see :class:`FileParser`."""
    warm_up()
    parser = FileParser(dags_folder, timeout=timeout, processes=processes, batch_size=batch_size)
    return parser.parse(paths)
