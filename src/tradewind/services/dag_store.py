"""Store what the DAG processor parsed: DAG rows, versions, files, import errors, assets.

The only writer of the ``dag``, ``serialized_dag``, ``dag_file`` and ``import_error`` tables.
Callers pass a session (a unit of work); nothing here commits.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from tradewind.core.timetable_types import airflow_timetable_type
from tradewind.errors import NotFound
from tradewind.metastore.tables import (
    AssetModel,
    DagFile,
    DagModel,
    DagScheduleAssetReference,
    ImportError_,
    SerializedDagModel,
)
from tradewind.sdk.serialization import SerializedDag, version_hash

T = TypeVar("T")
_CHUNK = 500  # stay far below the bound-parameter limits of SQLite and PostgreSQL


@dataclass
class ParsedFile:
    """What parsing one file gave: its serialized DAGs, or an import error."""

    path: str
    mtime: float
    content_hash: str
    dags: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    error_line: int | None = None
    duration: float = 0.0
    #: the file's text as parsed, stored for the code view (None if it could not be read)
    source: str | None = None


@dataclass
class StoreSummary:
    """What one call to :func:`store_parse_results` changed."""

    files: int = 0
    dags: int = 0
    new_versions: list[str] = field(default_factory=list)
    new_dags: list[str] = field(default_factory=list)
    import_errors: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """True if a reader (the scheduler, a page) would see something different."""
        return bool(self.new_versions or self.import_errors or self.deactivated or self.files)


@dataclass(frozen=True)
class ImportErrorRecord:
    """One DAG file that failed to import."""

    id: int
    filename: str
    lineno: int | None
    stacktrace: str
    timestamp: datetime
    bundle_name: str


def _chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


def _load_dags(
    session: Session, dag_ids: Iterable[str], paths: Iterable[str]
) -> dict[str, DagModel]:
    """Return the DAG rows with one of ``dag_ids`` or whose file is one of ``paths``."""
    out: dict[str, DagModel] = {}
    for part in _chunks(sorted(set(dag_ids))):
        out.update(
            (d.dag_id, d)
            for d in session.scalars(select(DagModel).where(DagModel.dag_id.in_(part)))
        )
    for part in _chunks(sorted(set(paths))):
        out.update(
            (d.dag_id, d)
            for d in session.scalars(select(DagModel).where(DagModel.fileloc.in_(part)))
        )
    return out


def _owners(results: Sequence[ParsedFile], dags: dict[str, DagModel]) -> dict[str, str]:
    """Decide which file owns each DAG id claimed in this batch.

    A file that already owned the id keeps it if it still claims it, was not re-parsed, or
    failed to import (its last good version stays active); otherwise the first claimant by
    path wins. The others get a duplicate-id import error.
    """
    claims: dict[str, list[str]] = {}
    for r in results:
        for d in r.dags:
            claims.setdefault(d["dag_id"], []).append(r.path)
    parsed = {r.path for r in results if r.error is None}
    owners: dict[str, str] = {}
    for dag_id, claimants in claims.items():
        row = dags.get(dag_id)
        holder = row.fileloc if row is not None and row.is_active else None
        if holder and (holder in claimants or holder not in parsed):
            owners[dag_id] = holder
        else:
            owners[dag_id] = claimants[0]
    return owners


def store_parse_results(
    session: Session,
    results: Sequence[ParsedFile],
    *,
    dags_folder: str,
    paused_at_creation: bool,
    now: datetime,
) -> StoreSummary:
    """Store the outcome of parsing some files.

    Args:
        session: the unit of work to write in (the caller commits).
        results: one entry per parsed file, as the parser returns them.
        dags_folder: the DAGs folder, for each DAG's ``relative_fileloc``.
        paused_at_creation: ``is_paused`` of new DAGs that do not say ``is_paused_upon_creation``.
        now: the time to record as the parse time.

    Returns:
        What changed: new DAGs, new versions, files with import errors, deactivated DAG ids.
    """
    results = sorted(results, key=lambda r: r.path)
    paths = [r.path for r in results]
    files = {
        f.fileloc: f
        for part in _chunks(paths)
        for f in session.scalars(select(DagFile).where(DagFile.fileloc.in_(part)))
    }
    dags = _load_dags(session, (d["dag_id"] for r in results for d in r.dags), paths)
    writer = _BatchWriter(
        session,
        dags,
        _owners(results, dags),
        _stored_versions(session, {*dags, *(d["dag_id"] for r in results for d in r.dags)}),
        dags_folder,
        paused_at_creation,
        now,
    )
    writer.summary.files = len(results)
    for part in _chunks(paths):
        session.execute(delete(ImportError_).where(ImportError_.filename.in_(part)))
    by_file: dict[str, list[DagModel]] = {}
    for row in dags.values():
        by_file.setdefault(row.fileloc, []).append(row)
    for result in results:
        writer.store_file(result, list(by_file.get(result.path, [])))
        _upsert_file_row(session, files.get(result.path), result, writer.owners, now)
    return writer.summary


@dataclass
class _BatchWriter:
    """Writes one batch of parse results; holds what every file of the batch shares."""

    session: Session
    dags: dict[str, DagModel]
    owners: dict[str, str]
    versions: dict[str, dict[str, int]]  # {dag_id: {version_hash: version_number}}, kept current
    dags_folder: str
    paused_at_creation: bool
    now: datetime
    summary: StoreSummary = field(default_factory=StoreSummary)

    def store_file(self, result: ParsedFile, rows: list[DagModel]) -> None:
        """Store one file's DAGs and its import errors; ``rows``: its DAG rows so far."""
        errors: list[tuple[str, int | None]] = []
        if result.error is not None:
            errors.append((result.error, result.error_line))
        else:
            kept: set[str] = set()
            for data in result.dags:
                owner = self.owners[data["dag_id"]]
                if owner != result.path:
                    message = f"{result.path}: DAG id {data['dag_id']!r} already defined in {owner}"
                    errors.append((message, data.get("lineno")))
                    continue
                kept.add(data["dag_id"])
                before = self.dags.get(data["dag_id"])
                had_refs = before is not None and before.asset_expression is not None
                rows.append(self.upsert_dag(data, result))
                _register_assets(self.session, data, self.now, had_refs=had_refs)
            for row in rows:
                if row.fileloc == result.path and row.dag_id not in kept and row.is_active:
                    row.is_active = False
                    self.summary.deactivated.append(row.dag_id)
        for message, line in errors:
            self.session.add(
                ImportError_(
                    filename=result.path, lineno=line, stacktrace=message, timestamp=self.now
                )
            )
        if errors:
            self.summary.import_errors.append(result.path)
        for row in rows:
            if row.fileloc == result.path:
                row.has_import_errors = bool(errors)

    def upsert_dag(self, data: dict[str, Any], result: ParsedFile) -> DagModel:
        """Create or update the ``dag`` row of one serialized DAG, and its version."""
        dag_id = data["dag_id"]
        row = self.dags.get(dag_id)
        if row is None:
            paused = data.get("is_paused_upon_creation")
            row = DagModel(
                dag_id=dag_id, is_paused=self.paused_at_creation if paused is None else bool(paused)
            )
            self.session.add(row)
            self.dags[dag_id] = row
            self.summary.new_dags.append(dag_id)
        row.fileloc = result.path
        row.relative_fileloc = os.path.relpath(result.path, self.dags_folder)
        row.owners = data.get("owner") or ""
        row.description = data.get("description")
        row.display_name = data.get("display_name") or dag_id
        # An asset-scheduled DAG has the null timetable; Airflow shows "Asset" for it.
        row.timetable_summary = "Asset" if data.get("asset_condition") else data.get("schedule")
        row.timetable_description = row.timetable_summary
        row.timetable_type = airflow_timetable_type(
            data.get("timetable"), data.get("asset_condition")
        )
        row.tags = list(data.get("tags") or [])
        row.max_active_runs = data.get("max_active_runs", 16)
        row.max_active_tasks = data.get("max_active_tasks", 16)
        row.max_consecutive_failed_dag_runs = data.get("max_consecutive_failed_dag_runs") or 0
        row.has_task_concurrency_limits = any(
            t.get("max_active_tis_per_dag") for t in data["tasks"]
        )
        row.is_active = True
        row.last_parsed_time = self.now
        row.last_parse_duration = result.duration
        row.asset_expression = data.get("asset_condition")
        if self.store_version(row, data):
            self.summary.new_versions.append(dag_id)
        return row

    def store_version(self, row: DagModel, data: dict[str, Any]) -> bool:
        """Point the DAG at its current version, inserting it if new; True if it changed.

        The batch's stored versions were read up front (``versions``): a query per DAG here
        would also flush the session each time, one row at a time."""
        digest = version_hash(data)
        if digest == row.latest_version:
            return False
        known = self.versions.setdefault(row.dag_id, {})
        previous = row.latest_version
        # A revert to an older definition points at that version's row again.
        if digest not in known:
            known[digest] = max(known.values(), default=0) + 1
            self.session.add(
                SerializedDagModel(
                    dag_id=row.dag_id,
                    version_hash=digest,
                    version_number=known[digest],
                    data=data,
                    fileloc=data.get("fileloc") or row.fileloc,
                    created_at=self.now,
                )
            )
        row.latest_version = digest
        if previous is not None and self._timing_changed(row.dag_id, previous, data):
            # The scheduler recomputes the next run only when these are empty.
            row.next_dagrun = None
            row.next_dagrun_data_interval_start = None
            row.next_dagrun_data_interval_end = None
            row.next_dagrun_create_after = None
        return True

    def _timing_changed(self, dag_id: str, previous: str, new: dict[str, Any]) -> bool:
        """True if the schedule or start date differ from those of stored version ``previous``."""
        with self.session.no_autoflush:
            old = self.session.scalar(
                select(SerializedDagModel.data).where(
                    SerializedDagModel.dag_id == dag_id, SerializedDagModel.version_hash == previous
                )
            )
        return old is not None and any(
            old.get(k) != new.get(k) for k in ("timetable", "start_date")
        )


def _stored_versions(session: Session, dag_ids: Iterable[str]) -> dict[str, dict[str, int]]:
    """Return ``{dag_id: {version_hash: version_number}}`` of the stored versions of ``dag_ids``."""
    out: dict[str, dict[str, int]] = {}
    for part in _chunks(sorted(set(dag_ids))):
        query = select(
            SerializedDagModel.dag_id,
            SerializedDagModel.version_hash,
            SerializedDagModel.version_number,
        ).where(SerializedDagModel.dag_id.in_(part))
        for dag_id, digest, number in session.execute(query):
            out.setdefault(dag_id, {})[digest] = number
    return out


def _asset_uris(data: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], set[str]]:
    """Return ({uri: asset json} of every asset the DAG names, the URIs it is scheduled on)."""
    found: dict[str, dict[str, Any]] = {}
    scheduled: set[str] = set()

    def walk(node: dict[str, Any]) -> None:
        if node.get("__type") == "asset":
            found[node["uri"]] = node
            scheduled.add(node["uri"])
        for child in node.get("objects", []):
            walk(child)

    if data.get("asset_condition"):
        walk(data["asset_condition"])
    for task in data["tasks"]:
        for uri in task.get("outlets", []):
            found.setdefault(uri, {"uri": uri})
    return found, scheduled


def _register_assets(
    session: Session, data: dict[str, Any], now: datetime, *, had_refs: bool
) -> None:
    """Upsert the DAG's assets and its schedule references (dropping stale references).

    ``had_refs``: the DAG was scheduled on assets before, so stale references may exist.
    """
    dag_id = data["dag_id"]
    found, scheduled = _asset_uris(data)
    ids: dict[str, int] = {}
    if found:
        rows = session.scalars(select(AssetModel).where(AssetModel.uri.in_(list(found))))
        ids = {a.uri: a.id for a in rows}
        for uri, spec in found.items():
            if uri not in ids:
                asset = AssetModel(
                    uri=uri,
                    name=spec.get("name") or uri,
                    group=spec.get("group") or "asset",
                    extra=spec.get("extra") or {},
                    created_at=now,
                    updated_at=now,
                )
                session.add(asset)
                session.flush()
                ids[uri] = asset.id
    if not scheduled and not had_refs:
        return
    wanted = {ids[u] for u in scheduled}
    refs = session.scalars(
        select(DagScheduleAssetReference).where(DagScheduleAssetReference.dag_id == dag_id)
    ).all()
    for ref in refs:
        if ref.asset_id not in wanted:
            session.delete(ref)
    for asset_id in wanted - {r.asset_id for r in refs}:
        session.add(DagScheduleAssetReference(asset_id=asset_id, dag_id=dag_id, created_at=now))


def _upsert_file_row(
    session: Session, row: DagFile | None, result: ParsedFile, owners: dict[str, str], now: datetime
) -> None:
    """Record the file's fingerprint so it is re-parsed only when it changes."""
    if row is None:
        row = DagFile(fileloc=result.path)
        session.add(row)
    row.mtime = result.mtime
    row.content_hash = result.content_hash
    if result.error is None:  # a broken file keeps the DAG ids of its last good parse
        row.dag_ids = sorted(d["dag_id"] for d in result.dags if owners[d["dag_id"]] == result.path)
    row.last_parsed = now
    row.parse_duration = result.duration
    row.source = result.source


def file_fingerprints(session: Session) -> dict[str, tuple[float, str]]:
    """Return ``{path: (mtime, content_hash)}`` of every file parsed so far."""
    return {
        f: (m, h)
        for f, m, h in session.execute(select(DagFile.fileloc, DagFile.mtime, DagFile.content_hash))
    }


def record_mtimes(session: Session, mtimes: dict[str, float]) -> None:
    """Record new mtimes of files whose content did not change (touched, checked out again)."""
    for path, mtime in mtimes.items():
        session.execute(update(DagFile).where(DagFile.fileloc == path).values(mtime=mtime))


def deactivate_missing_files(
    session: Session, existing_paths: set[str], now: datetime
) -> list[str]:
    """Deactivate the DAGs whose file is gone, and forget those files and their errors.

    Returns:
        The DAG ids that were deactivated.
    """
    active = session.execute(
        select(DagModel.dag_id, DagModel.fileloc).where(DagModel.is_active.is_(True))
    )
    gone = [dag_id for dag_id, fileloc in active if fileloc not in existing_paths]
    for part in _chunks(gone):  # columns only: loading every active DAG's row costs ~20 ms/1,000
        session.execute(
            update(DagModel)
            .where(DagModel.dag_id.in_(part))
            .values(is_active=False, last_parsed_time=now)
        )
    stale_files = [f for f in session.scalars(select(DagFile.fileloc)) if f not in existing_paths]
    stale_errors = [
        f
        for f in session.scalars(select(ImportError_.filename).distinct())
        if f not in existing_paths
    ]
    for part in _chunks(stale_files):
        session.execute(delete(DagFile).where(DagFile.fileloc.in_(part)))
    for part in _chunks(stale_errors):
        session.execute(delete(ImportError_).where(ImportError_.filename.in_(part)))
    return gone


def get_serialized_dag(session: Session, dag_id: str, version: str | None = None) -> SerializedDag:
    """Return a DAG's stored JSON as a :class:`SerializedDag` with ``.version`` set.

    Args:
        session: a session to read in.
        dag_id: the DAG.
        version: a version hash (as runs record it) or number; None for the latest version.

    Raises:
        NotFound: the DAG, or that version of it, was never stored.
    """
    wanted = version
    if wanted is None:
        wanted = session.scalar(select(DagModel.latest_version).where(DagModel.dag_id == dag_id))
        if wanted is None:
            raise NotFound(f"DAG {dag_id!r} not found: no DAG file defining it has been parsed")
    query = select(SerializedDagModel).where(SerializedDagModel.dag_id == dag_id)
    row = session.scalar(query.where(SerializedDagModel.version_hash == wanted))
    if row is None and wanted.isdigit():
        row = session.scalar(query.where(SerializedDagModel.version_number == int(wanted)))
    if row is None:
        raise NotFound(f"DAG {dag_id!r} has no stored version {wanted!r}")
    return SerializedDag(row.data, version=row.version_hash)


def list_import_errors(session: Session) -> list[ImportErrorRecord]:
    """Return every current import error, by file name."""
    rows = session.scalars(select(ImportError_).order_by(ImportError_.filename, ImportError_.id))
    return [
        ImportErrorRecord(r.id, r.filename, r.lineno, r.stacktrace, r.timestamp, r.bundle_name)
        for r in rows
    ]
