"""Parsing many DAG files per forked child (#17): what one file does stays with that file.

A child parses a batch of files one after another; these tests put every file of a folder in
one batch (one parsing process, a batch larger than the folder) and check that a file that
hangs, exits or leaves state behind costs only its own result, and that stored fingerprints
spare unchanged files a parse, also in a new processor (a restart).
"""

from __future__ import annotations

import os
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from tradewind.dag_processing.parser import FileParser
from tradewind.dag_processing.processor import DagProcessor
from tradewind.metastore.database import Database
from tradewind.metastore.tables import DagFile
from tradewind.services.dag_store import get_serialized_dag, list_import_errors
from tradewind.settings import Settings, load_settings

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HANG_TIMEOUT = 3.0  # core.dagbag_import_timeout where a file hangs: short, yet a good file fits


def dag_file(dag_id: str, body: str = "", *, tasks: str = "['t0']") -> str:
    """A DAG file defining ``dag_id`` with one EmptyOperator per id of ``tasks``; ``body``
    runs first at module level."""
    return textwrap.dedent(
        """\
        import datetime
        from tradewind import DAG
        from tradewind.operators.empty import EmptyOperator
        {body}
        with DAG({dag_id!r}, schedule=None,
                 start_date=datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)) as dag:
            for name in {tasks}:
                EmptyOperator(task_id=name)
        """
    ).format(body=textwrap.dedent(body), dag_id=dag_id, tasks=tasks)


@pytest.fixture
def dags(tmp_path: Path) -> Path:
    folder = tmp_path / "dags"
    folder.mkdir()
    return folder


@pytest.fixture
def settings(tmp_path: Path, dags: Path) -> Settings:
    s = load_settings(tmp_path, environ={})
    s.set("core", "dags_folder", str(dags))
    # Far above what a file takes even on a loaded machine; the test of a hanging file
    # shortens it (HANG_TIMEOUT) so that it does not wait this long.
    s.set("core", "dagbag_import_timeout", 30.0)
    s.set("scheduler", "parsing_processes", 1)
    s.set("scheduler", "parsing_files_per_process", 100)
    return s


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path}/tw.db")
    database.migrate()
    yield database
    database.engine.dispose()


def task_ids(db: Database, dag_id: str) -> list[str]:
    with db.session(readonly=True) as s:
        return list(get_serialized_dag(s, dag_id).tasks)


def test_a_file_that_hangs_or_exits_loses_only_its_own_result(
    dags: Path, settings: Settings, db: Database
) -> None:
    (dags / "a_first.py").write_text(dag_file("first"))
    (dags / "b_hangs.py").write_text(dag_file("hangs", "while True:\n    pass\n"))
    (dags / "c_middle.py").write_text(dag_file("middle"))
    (dags / "d_exits.py").write_text(dag_file("exits", "import os\nos._exit(3)\n"))
    (dags / "e_last.py").write_text(dag_file("last"))
    settings.set("core", "dagbag_import_timeout", HANG_TIMEOUT)

    summary = DagProcessor(settings, db, clock=lambda: NOW).run_once()

    assert len(summary.files_parsed) == 5
    assert sorted(summary.new_dags) == ["first", "last", "middle"]
    with db.session(readonly=True) as s:
        errors = {Path(e.filename).name: e.stacktrace for e in list_import_errors(s)}
    assert set(errors) == {"b_hangs.py", "d_exits.py"}
    assert f"timed out after {HANG_TIMEOUT:g} s" in errors["b_hangs.py"]
    assert "exited with code 3 without a result" in errors["d_exits.py"]


def test_each_file_imports_the_helpers_of_the_dags_folder_afresh(
    dags: Path, settings: Settings, db: Database
) -> None:
    # A helper with module-level state, as teams write them: each DAG file registers its
    # tasks in it. Parsed in one process, state must not carry from one file to the next.
    (dags / "registry.py").write_text("TASKS = []\n")
    body = "import registry\nregistry.TASKS.append('{name}')\n"
    for name in ("one", "two", "three"):
        text = dag_file(name, body.format(name=name), tasks="registry.TASKS")
        (dags / f"{name}.py").write_text(text.replace("import datetime", "import datetime  # dag"))

    DagProcessor(settings, db, clock=lambda: NOW).run_once()

    assert [task_ids(db, n) for n in ("one", "two", "three")] == [["one"], ["two"], ["three"]]


def test_results_keep_the_order_and_fingerprints_of_their_files(dags: Path) -> None:
    paths = []
    for i in range(7):
        path = dags / f"f{i}.py"
        path.write_text(dag_file(f"d{i}", tasks=repr([f"t{j}" for j in range(i + 1)])))
        paths.append(str(path))

    results = FileParser(str(dags), timeout=30, processes=2, batch_size=3).parse(reversed(paths))

    assert [r.path for r in results] == list(reversed(paths))
    for r in results:
        assert r.error is None and r.source == Path(r.path).read_text()
        assert r.mtime == os.stat(r.path).st_mtime
        i = int(Path(r.path).stem[1:])
        assert [d["dag_id"] for d in r.dags] == [f"d{i}"] and len(r.dags[0]["tasks"]) == i + 1


def test_a_restarted_processor_parses_only_what_changed(
    dags: Path, settings: Settings, db: Database
) -> None:
    for name in ("a", "b", "c"):
        (dags / f"{name}.py").write_text(dag_file(name))
    assert len(DagProcessor(settings, db, clock=lambda: NOW).run_once().files_parsed) == 3
    touched = dags / "b.py"
    os.utime(touched, (touched.stat().st_atime, touched.stat().st_mtime + 10))  # same content
    (dags / "c.py").write_text(dag_file("c", tasks="['t0', 't1']"))

    again = DagProcessor(settings, db, clock=lambda: NOW)  # a new process's view: only the DB
    summary = again.run_once()

    assert summary.files_parsed == [str(dags / "c.py")]
    assert task_ids(db, "c") == ["t0", "t1"]
    with db.session(readonly=True) as s:
        stored = s.scalar(select(DagFile.mtime).where(DagFile.fileloc == str(touched)))
    assert stored == touched.stat().st_mtime  # the touch is recorded: no hashing next time
    assert again.run_once().files_parsed == []
