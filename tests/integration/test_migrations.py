"""The migration chain: one head, revision ids NNNN in file order, and a schema that matches
``metastore/tables.py`` on SQLite and PostgreSQL (several engineers add migrations at once:
this is where two heads or a forgotten column would show)."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from tests.integration.scheduler.conftest import BOTH_DATABASES, db_url  # noqa: F401

from tradewind.metastore.database import MIGRATIONS_DIR, Database
from tradewind.metastore.tables import Base


def test_one_head_and_ids_follow_the_file_names(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    script = ScriptDirectory.from_config(db._alembic_config())
    assert len(script.get_heads()) == 1, f"several migration heads: {script.get_heads()}"
    files = sorted(p.name for p in (MIGRATIONS_DIR / "versions").glob("[0-9]*_*.py"))
    chain = [r.revision for r in reversed(list(script.walk_revisions()))]
    assert chain == [f.split("_", 1)[0] for f in files]  # the fast up-to-date check needs this


@BOTH_DATABASES
def test_migrated_schema_matches_the_tables(db_url: str, tmp_path: Path) -> None:  # noqa: F811
    (tmp_path / "home").mkdir(exist_ok=True)
    db = Database(db_url)
    db.migrate()
    assert db.current_revision() == db.head_revision()
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    db.dispose()
    assert diff == [], f"the migrations and metastore/tables.py disagree: {diff}"


def test_migrate_is_a_no_op_when_current(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    db.migrate()
    assert db._is_current()


def test_check_refuses_an_old_schema_and_passes_a_current_one_without_alembic(
    tmp_path: Path,
) -> None:
    """``check`` (every component at start) says to migrate an old schema; on a current one
    it answers without importing Alembic, which would cost each process ~16 MiB (#17)."""
    import subprocess
    import sys

    import pytest
    from sqlalchemy import text

    from tradewind.errors import TradewindError

    url = f"sqlite:///{tmp_path / 'm.db'}"
    db = Database(url)
    db.migrate()
    code = (
        "import sys; from tradewind.metastore.database import Database; "
        f"Database({url!r}).check(); print('alembic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    with pytest.raises(TradewindError, match="run `tradewind db migrate`"):
        db.check()
    db.dispose()
