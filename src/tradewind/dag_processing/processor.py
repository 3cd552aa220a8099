"""The DAG processor: keep the metastore in step with the DAG files of a folder.

``run_once`` scans the folder, parses only the files that changed since they were stored, and
stores the outcome. ``run_forever`` does that on every change the file system reports (within
about a second) and at least every ``scheduler.dag_dir_list_interval``; between changes it
blocks in the file watcher, so an idle processor costs no CPU.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from tradewind.dag_processing.parser import FileParser, fingerprint, warm_up
from tradewind.metastore.database import Database
from tradewind.sdk.finder import IGNORE_FILE_NAMES, find_dag_files
from tradewind.services import dag_store, telemetry
from tradewind.settings import Settings

log = logging.getLogger(__name__)
#: The watcher sleeps this long between looks at its queue of changes (and at the stop
#: event): it wakes 2 times a second, not 5 (#17: idle CPU). A change is reported once a
#: step passed without another one, so a dropped file is parsed within ~0.5-1 s.
WATCH_STEP_MS = 500
#: Changes that keep coming are reported together after at most this long.
WATCH_DEBOUNCE_MS = 1000

Clock = Callable[[], datetime]


class StopEvent(Protocol):
    """What ``run_forever`` needs of its stop signal (``threading.Event`` fits)."""

    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...


def utc_now() -> datetime:
    """Return the current time, timezone-aware UTC."""
    return datetime.now(UTC)


@dataclass
class ProcessorSummary:
    """What one pass over the DAGs folder did."""

    files_found: int = 0
    files_parsed: list[str] = field(default_factory=list)
    new_dags: list[str] = field(default_factory=list)
    new_versions: list[str] = field(default_factory=list)
    import_errors: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)
    duration: float = 0.0

    @property
    def changed(self) -> bool:
        """True if anything was stored."""
        return bool(self.files_parsed or self.deactivated)


class DagProcessor:
    """Parse the DAG files of ``settings.dags_folder`` and store them in ``db``.

    Args:
        settings: reads ``core.dags_folder``, ``core.dagbag_import_timeout``,
            ``core.dags_are_paused_at_creation``, ``scheduler.parsing_processes``,
            ``scheduler.parsing_files_per_process`` and
            ``scheduler.dag_dir_list_interval``.
        db: the metastore.
        clock: returns "now" (UTC); injected so tests control recorded times.
        on_change: called after a pass stored anything (the scheduler passes its wake-up).
    """

    def __init__(
        self,
        settings: Settings,
        db: Database,
        clock: Clock = utc_now,
        on_change: Callable[[], None] | None = None,
    ):
        self.settings = settings
        self.db = db
        self.clock = clock
        self.on_change = on_change
        self.dags_folder = os.path.abspath(settings.dags_folder)
        from tradewind.plugins_manager import load_plugins
        from tradewind.sdk import defaults

        defaults.configure(settings)
        load_plugins(settings)  # plugin operators/macros/timetables, before forking parsers
        self.parser = FileParser(
            self.dags_folder,
            timeout=float(settings.get("core", "dagbag_import_timeout")),
            processes=int(settings.get("scheduler", "parsing_processes")),
            batch_size=int(settings.get("scheduler", "parsing_files_per_process")),
        )
        self.rescan_interval = float(settings.get("scheduler", "dag_dir_list_interval"))
        warm_up()

    def run_once(self, force: bool = False) -> ProcessorSummary:
        """Scan the folder, parse what changed (everything if ``force``), store, and report."""
        started = time.monotonic()
        paths = find_dag_files(self.dags_folder)
        with self.db.session(readonly=True) as session:
            known = dag_store.file_fingerprints(session)
        touched: dict[str, float] = {}  # same content under a new mtime: remember the mtime
        todo = paths if force else [p for p in paths if self._changed(p, known.get(p), touched)]
        results = self.parser.parse(todo)  # no session is open while children run user code
        now = self.clock()
        with self.db.session() as session:
            gone = dag_store.deactivate_missing_files(session, set(paths), now)
            dag_store.record_mtimes(session, touched)
            stored = dag_store.store_parse_results(
                session,
                results,
                dags_folder=self.dags_folder,
                paused_at_creation=bool(self.settings.get("core", "dags_are_paused_at_creation")),
                now=now,
            )
            telemetry.parse_pass(session, results, time.monotonic() - started)
        summary = ProcessorSummary(
            files_found=len(paths),
            files_parsed=[r.path for r in results],
            new_dags=stored.new_dags,
            new_versions=stored.new_versions,
            import_errors=stored.import_errors,
            deactivated=sorted(set(gone) | set(stored.deactivated)),
            duration=time.monotonic() - started,
        )
        if summary.changed:
            log.info(
                "parsed %d of %d files in %.2f s: %d new versions, %d import errors",
                len(results),
                len(paths),
                summary.duration,
                len(stored.new_versions),
                len(stored.import_errors),
            )
            if self.on_change is not None:
                self.on_change()
        return summary

    @staticmethod
    def _changed(path: str, known: tuple[float, str] | None, touched: dict[str, float]) -> bool:
        """True unless the file has the stored mtime, or the stored content under a new mtime
        (then its new mtime goes into ``touched``, so the next pass need not hash it)."""
        if known is None:
            return True
        mtime, content_hash = known
        try:
            if os.stat(path).st_mtime == mtime:
                return False
        except OSError:
            return True
        now_mtime, now_hash, _ = fingerprint(path)
        if now_hash != content_hash:
            return True
        touched[path] = now_mtime
        return False

    def run_forever(self, stop_event: StopEvent) -> None:
        """Keep the metastore in step with the folder until ``stop_event`` is set."""
        from watchfiles._rust_notify import RustNotify

        os.makedirs(self.dags_folder, exist_ok=True)
        job_id = self._register_job()
        beat = float(self.settings.get("scheduler", "scheduler_heartbeat_sec"))
        # The watcher starts before the first scan, so no change can slip in between.
        try:
            with RustNotify([self.dags_folder], False, False, 300, True, True) as notify:
                self._safe_run_once()
                last_scan = time.monotonic()
                while not stop_event.is_set():
                    until_scan = last_scan + self.rescan_interval - time.monotonic()
                    wait_ms = max(1, int(min(until_scan, beat) * 1000))
                    outcome = notify.watch(WATCH_DEBOUNCE_MS, WATCH_STEP_MS, wait_ms, stop_event)
                    if outcome in ("stop", "signal"):
                        break
                    self._heartbeat(job_id)
                    rescan = (
                        outcome == "timeout"
                        and time.monotonic() - last_scan >= self.rescan_interval
                    )
                    if rescan or _relevant(outcome):
                        self._safe_run_once()
                        last_scan = time.monotonic()
        finally:
            self._end_job(job_id)

    def _register_job(self) -> int | None:
        """Record this processor in the job table (``monitor/health`` reports it)."""
        from tradewind.services import queueing

        try:
            with self.db.session() as s:
                return queueing.register_job(
                    s, "DagProcessorJob", self.clock(), exclusive=False, dead_after=0
                )
        except Exception:  # noqa: BLE001 - health reporting must not stop parsing
            log.exception("could not register the DAG processor job")
            return None

    def _heartbeat(self, job_id: int | None) -> None:
        from tradewind.services import queueing

        if job_id is not None:
            try:
                with self.db.session() as s:
                    queueing.heartbeat_job(s, job_id, self.clock())
            except Exception:  # noqa: BLE001
                log.warning("DAG processor heartbeat failed", exc_info=True)

    def _end_job(self, job_id: int | None) -> None:
        from tradewind.services import queueing

        if job_id is not None:
            try:
                with self.db.session() as s:
                    queueing.end_job(s, job_id, self.clock())
            except Exception:  # noqa: BLE001
                log.warning("could not record the DAG processor's end", exc_info=True)

    def _safe_run_once(self) -> None:
        """Run one pass; a failure (database down...) is logged and retried on the next one."""
        try:
            self.run_once()
        except Exception:  # noqa: BLE001 - the processor must outlive one bad pass
            log.exception("DAG processing pass failed; retrying on the next change or rescan")


def _relevant(changes: object) -> bool:
    """True if a change touches a Python file, an ignore file, or a directory."""
    if not isinstance(changes, set):
        return False
    for _, path in changes:
        name = os.path.basename(path)
        if "__pycache__" in path or name.startswith(".#"):
            continue
        if name.endswith(".py") or name in IGNORE_FILE_NAMES or "." not in name:
            return True
    return False


def run_dag_processor(
    settings: Settings,
    stop_event: threading.Event | None = None,
    on_change: Callable[[], None] | None = None,
) -> None:
    """Run the DAG processor until ``stop_event`` is set (or SIGTERM/SIGINT in the main thread).

    The entry point of ``tradewind dag-processor``.

    Args:
        settings: the process's settings.
        stop_event: set it to stop; a new one (set by SIGTERM/SIGINT) if None.
        on_change: called after each pass that stored something (e.g. wake the schedulers).
    """
    stop = stop_event or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    from tradewind.observability.setup import setup_observability

    setup_observability(settings)
    db = Database(settings.sql_alchemy_conn)
    db.check()
    try:
        DagProcessor(settings, db, on_change=on_change).run_forever(stop)
    finally:
        db.engine.dispose()


def main(settings: Settings) -> None:
    """Entry point for the CLI: run the DAG processor in the foreground."""
    run_dag_processor(settings)
