"""The DAG processor end to end: real files, forked parsers, a real SQLite metastore."""

from __future__ import annotations

import os
import textwrap
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from tradewind.dag_processing.processor import DagProcessor
from tradewind.errors import NotFound
from tradewind.metastore.database import Database
from tradewind.metastore.tables import (
    AssetModel,
    DagFile,
    DagModel,
    DagScheduleAssetReference,
    SerializedDagModel,
)
from tradewind.sdk.finder import find_dag_files
from tradewind.services.dag_store import get_serialized_dag, list_import_errors
from tradewind.settings import Settings, load_settings

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HANG_TIMEOUT = 3.0  # core.dagbag_import_timeout where a file hangs: short, yet a good file fits


def dag_source(dag_id: str, *, tasks: int = 2, schedule: str | None = None, extra: str = "") -> str:
    """Return a DAG file defining ``dag_id`` with a chain of ``tasks`` empty tasks."""
    sched = repr(schedule)
    return textwrap.dedent(
        f"""\
        import datetime
        from tradewind import DAG
        from tradewind.operators.empty import EmptyOperator

        with DAG(
            {dag_id!r},
            schedule={sched},
            start_date=datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc),
            tags=["t"],
            {extra}
        ) as dag:
            prev = None
            for i in range({tasks}):
                t = EmptyOperator(task_id=f"t{{i}}")
                if prev is not None:
                    prev >> t
                prev = t
        """
    )


def write(folder: Path, name: str, text: str) -> Path:
    """Write a file, making sure its mtime differs from any earlier version of it."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text)
    if path.stat().st_mtime_ns == before:  # coarse file-system clocks
        os.utime(path, ns=(before + 1_000_000, before + 1_000_000))
    return path


@pytest.fixture
def dags(tmp_path: Path) -> Path:
    folder = tmp_path / "dags"
    folder.mkdir()
    return folder


@pytest.fixture
def settings(tmp_path: Path, dags: Path) -> Settings:
    s = load_settings(tmp_path, environ={})
    s.set("core", "dags_folder", str(dags))
    # Far above what a file takes even on a loaded machine; the tests of a hanging file
    # shorten it (HANG_TIMEOUT) so that they do not wait this long.
    s.set("core", "dagbag_import_timeout", 30.0)
    s.set("scheduler", "parsing_processes", 2)
    return s


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path}/tw.db")
    database.migrate()
    yield database
    database.engine.dispose()


@pytest.fixture
def processor(settings: Settings, db: Database) -> DagProcessor:
    return DagProcessor(settings, db, clock=lambda: NOW)


def dag_row(db: Database, dag_id: str) -> DagModel:
    with db.session(readonly=True) as s:
        row = s.get(DagModel, dag_id)
        assert row is not None, f"no dag row for {dag_id}"
        return row


def errors_by_file(db: Database) -> dict[str, tuple[int | None, str]]:
    with db.session(readonly=True) as s:
        return {Path(e.filename).name: (e.lineno, e.stacktrace) for e in list_import_errors(s)}


def test_first_pass_stores_good_dags_and_records_each_failure(
    dags: Path, settings: Settings, db: Database
) -> None:
    settings.set("core", "dagbag_import_timeout", HANG_TIMEOUT)
    processor = DagProcessor(settings, db, clock=lambda: NOW)
    write(dags, "good.py", dag_source("good", tasks=3, schedule="@daily"))
    write(dags, "sub/unpaused.py", dag_source("unpaused", extra="is_paused_upon_creation=False,"))
    write(dags, "raises.py", "from tradewind import DAG\nx = 1\nraise ValueError('boom')\n")
    write(dags, "syntax.py", "from tradewind import DAG\ndef f(:\n    pass\n")
    cycle = dag_source("cyclic").replace("prev = t\n", "prev = t\n    t >> dag.tasks[0]\n")
    write(dags, "cycle.py", cycle)
    write(dags, "loops.py", "from tradewind import DAG\nwhile True:\n    pass\n")

    summary = processor.run_once()

    assert len(summary.files_parsed) == 6
    assert sorted(summary.new_dags) == ["good", "unpaused"]
    good = dag_row(db, "good")
    assert good.is_active and good.is_paused and not good.has_import_errors
    assert good.relative_fileloc == "good.py" and good.timetable_summary == "@daily"
    assert good.tags == ["t"] and good.last_parsed_time == NOW
    assert dag_row(db, "unpaused").is_paused is False
    assert dag_row(db, "unpaused").relative_fileloc == os.path.join("sub", "unpaused.py")
    errors = errors_by_file(db)
    assert set(errors) == {"raises.py", "syntax.py", "cycle.py", "loops.py"}
    assert errors["raises.py"][0] == 3 and "ValueError: boom" in errors["raises.py"][1]
    assert errors["syntax.py"][0] == 2 and "SyntaxError" in errors["syntax.py"][1]
    assert "cycle" in errors["cycle.py"][1] and errors["cycle.py"][0] is not None
    assert f"timed out after {HANG_TIMEOUT:g} s" in errors["loops.py"][1]
    assert str(dags / "raises.py") in errors["raises.py"][1]
    with db.session(readonly=True) as s:
        stored = get_serialized_dag(s, "good")
        source = s.get(DagFile, str(dags / "good.py"))
    assert list(stored.tasks) == ["t0", "t1", "t2"] and stored.version == good.latest_version
    assert source is not None and source.source == (dags / "good.py").read_text()


def test_a_second_pass_over_an_unchanged_folder_parses_nothing(
    dags: Path, processor: DagProcessor
) -> None:
    write(dags, "a.py", dag_source("a"))
    write(dags, "broken.py", "from tradewind import DAG\nraise RuntimeError('x')\n")
    assert len(processor.run_once().files_parsed) == 2

    again = processor.run_once()

    assert again.files_parsed == [] and not again.changed
    assert len(processor.run_once(force=True).files_parsed) == 2


def test_an_edit_stores_a_new_version_and_resets_the_next_run_only_on_timing_change(
    dags: Path, db: Database, processor: DagProcessor
) -> None:
    path = write(dags, "a.py", dag_source("a", tasks=2, schedule="@daily"))
    processor.run_once()
    first = dag_row(db, "a").latest_version
    with db.session() as s:
        s.get(DagModel, "a").next_dagrun_create_after = NOW  # as the scheduler would set it

    write(dags, "a.py", dag_source("a", tasks=3, schedule="@daily"))
    assert processor.run_once().new_versions == ["a"]
    row = dag_row(db, "a")
    assert row.latest_version != first and row.next_dagrun_create_after == NOW

    write(dags, "a.py", dag_source("a", tasks=3, schedule="@hourly"))
    processor.run_once()
    row = dag_row(db, "a")
    assert row.next_dagrun_create_after is None and row.timetable_summary == "@hourly"
    with db.session(readonly=True) as s:
        numbers = s.scalars(select(SerializedDagModel.version_number).order_by("version_number"))
        assert list(numbers) == [1, 2, 3]
        assert len(get_serialized_dag(s, "a", first).tasks) == 2
        assert len(get_serialized_dag(s, "a", "2").tasks) == 3
    assert path.exists()


def test_a_broken_edit_keeps_the_last_good_version_until_the_file_is_fixed(
    dags: Path, db: Database, processor: DagProcessor
) -> None:
    write(dags, "a.py", dag_source("a"))
    processor.run_once()
    good = dag_row(db, "a").latest_version

    write(dags, "a.py", dag_source("a") + "\nraise KeyError('oops')\n")
    processor.run_once()
    row = dag_row(db, "a")
    assert row.is_active and row.has_import_errors and row.latest_version == good
    assert "KeyError" in errors_by_file(db)["a.py"][1]

    write(dags, "a.py", dag_source("a"))
    processor.run_once()
    assert errors_by_file(db) == {}
    assert not dag_row(db, "a").has_import_errors


def test_deleting_a_file_or_a_dag_deactivates_its_dags(
    dags: Path, db: Database, processor: DagProcessor
) -> None:
    write(dags, "two.py", dag_source("one") + dag_source("two").replace("as dag", "as dag2"))
    write(dags, "gone.py", dag_source("gone"))
    write(dags, "broken.py", "from tradewind import DAG\nraise RuntimeError('x')\n")
    processor.run_once()
    assert dag_row(db, "two").is_active

    write(dags, "two.py", dag_source("one"))
    (dags / "gone.py").unlink()
    (dags / "broken.py").unlink()
    summary = processor.run_once()

    assert summary.deactivated == ["gone", "two"]
    assert dag_row(db, "one").is_active
    assert not dag_row(db, "two").is_active and not dag_row(db, "gone").is_active
    assert errors_by_file(db) == {}


def test_a_dag_id_defined_in_two_files_is_an_error_on_the_second(
    dags: Path, db: Database, processor: DagProcessor
) -> None:
    write(dags, "b_first.py", dag_source("same"))
    processor.run_once()
    write(
        dags,
        "a_second.py",
        dag_source("same", tasks=4) + dag_source("other").replace("as dag", "as d2"),
    )

    processor.run_once()

    assert dag_row(db, "same").fileloc == str(dags / "b_first.py")
    assert dag_row(db, "other").is_active
    message = errors_by_file(db)["a_second.py"][1]
    assert f"DAG id 'same' already defined in {dags / 'b_first.py'}" in message
    with db.session(readonly=True) as s:
        assert len(get_serialized_dag(s, "same").tasks) == 2


def test_assets_of_outlets_and_schedules_are_registered(
    dags: Path, db: Database, processor: DagProcessor
) -> None:
    producer = dag_source("producer").replace(
        'EmptyOperator(task_id=f"t{i}")',
        'EmptyOperator(task_id=f"t{i}", outlets=[Asset("s3://b/orders")])',
    )
    write(dags, "producer.py", "from tradewind import Asset\n" + producer)
    consumer = dag_source("consumer").replace(
        "schedule=None", 'schedule=[Asset("s3://b/orders"), Asset("s3://b/users")]'
    )
    write(dags, "consumer.py", "from tradewind import Asset\n" + consumer)

    processor.run_once()

    with db.session(readonly=True) as s:
        uris = set(s.scalars(select(AssetModel.uri)))
        refs = s.execute(
            select(AssetModel.uri, DagScheduleAssetReference.dag_id).join(
                AssetModel, AssetModel.id == DagScheduleAssetReference.asset_id
            )
        ).all()
    assert uris == {"s3://b/orders", "s3://b/users"}
    assert sorted(refs) == [("s3://b/orders", "consumer"), ("s3://b/users", "consumer")]
    row = dag_row(db, "consumer")
    assert row.timetable_summary == "Asset" and row.asset_expression["__type"] == "asset_all"

    write(dags, "consumer.py", dag_source("consumer"))
    processor.run_once()
    with db.session(readonly=True) as s:
        assert s.scalars(select(DagScheduleAssetReference)).all() == []


def test_ignore_files_and_files_without_dag_are_skipped(dags: Path) -> None:
    write(dags, "keep.py", dag_source("keep"))
    write(dags, "helpers_lib.py", "def add(a, b):\n    return a + b\n")
    write(dags, ".tradewindignore", "# comment\nscratch_*\nvendor/\n")
    write(dags, "scratch_1.py", dag_source("s1"))
    write(dags, "vendor/x.py", dag_source("v"))
    write(dags, "team/.airflowignore", "old/**\n*_wip.py\n")
    write(dags, "team/new.py", dag_source("new"))
    write(dags, "team/old/legacy.py", dag_source("legacy"))
    write(dags, "team/thing_wip.py", dag_source("wip"))
    write(dags, "other/thing_wip.py", dag_source("wip2"))  # the team rule does not reach here
    write(dags, ".hidden/h.py", dag_source("h"))
    write(dags, "__pycache__/c.py", dag_source("c"))

    found = [os.path.relpath(p, dags) for p in find_dag_files(dags)]

    assert found == [
        "keep.py",
        os.path.join("other", "thing_wip.py"),
        os.path.join("team", "new.py"),
    ]


def test_the_change_hook_runs_only_when_something_was_stored(
    dags: Path, settings: Settings, db: Database
) -> None:
    calls: list[int] = []
    processor = DagProcessor(settings, db, clock=lambda: NOW, on_change=lambda: calls.append(1))
    write(dags, "a.py", dag_source("a"))
    processor.run_once()
    processor.run_once()
    assert calls == [1]


def test_reading_an_unknown_dag_or_version_says_what_is_missing(
    dags: Path, db: Database, processor: DagProcessor
) -> None:
    write(dags, "a.py", dag_source("a"))
    processor.run_once()
    with db.session(readonly=True) as s, pytest.raises(NotFound, match="'nope' not found"):
        get_serialized_dag(s, "nope")
    with db.session(readonly=True) as s, pytest.raises(NotFound, match="no stored version 'abc'"):
        get_serialized_dag(s, "a", "abc")


def test_the_watcher_parses_a_new_file_within_seconds(
    dags: Path, settings: Settings, db: Database
) -> None:
    write(dags, "first.py", dag_source("first"))
    processor = DagProcessor(settings, db, clock=lambda: NOW)
    stop = threading.Event()
    thread = threading.Thread(target=processor.run_forever, args=(stop,), daemon=True)
    thread.start()
    try:
        assert wait_for_dag(db, "first", timeout=10)
        written = time.monotonic()
        write(dags, "second.py", dag_source("second"))
        assert wait_for_dag(db, "second", timeout=10)
        assert time.monotonic() - written < 5
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


def wait_for_dag(db: Database, dag_id: str, timeout: float) -> bool:
    """Poll the metastore until ``dag_id`` is stored, for at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.session(readonly=True) as s:
            if s.get(DagModel, dag_id) is not None:
                return True
        threading.Event().wait(0.05)
    return False
