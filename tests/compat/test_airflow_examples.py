"""Airflow's own example DAG files, unmodified, from the apache-airflow 2.10.5 and
apache-airflow-core 3.3.2 wheels: each parses and its DAGs end with the task states they end
with on Airflow (``dags test``, one run each, in the order written here).

The wheels are fetched with ``pip download --no-deps`` (from the package registry or pip's
cache) into ``$TRADEWIND_AIRFLOW_WHEELS`` (default: the folder ``bench/airflow_examples.py``
uses) and their ``airflow/example_dags/`` is extracted per test session: nothing of Airflow is
copied into this repository. Without the registry the tests skip (and fail under ``CI=true``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.compat.conftest import DAY, run, states, xcom

WHEELS = {
    "2.10.5": ("apache-airflow==2.10.5", "apache_airflow-2.10.5-py3-none-any.whl"),
    "3.3.2": ("apache-airflow-core==3.3.2", "apache_airflow_core-3.3.2-py3-none-any.whl"),
}
OK = "success"

#: (version, file) -> [(dag_id, {task_id: state on Airflow}), ...], run in this order
CASES: dict[tuple[str, str], list[tuple[str, dict[str, str]]]] = {
    ("2.10.5", "example_dataset_alias"): [
        ("dataset_s3_bucket_producer", {"produce_dataset_events": OK}),
        (
            "dataset_alias_example_alias_producer",
            {"produce_dataset_events_through_dataset_alias": OK},
        ),
        ("dataset_alias_example_alias_consumer", {"consume_dataset_event_from_dataset_alias": OK}),
        ("dataset_s3_bucket_consumer", {"consume_dataset_event": OK}),
    ],
    ("2.10.5", "example_dataset_alias_with_no_taskflow"): [
        (
            "dataset_alias_example_alias_producer_with_no_taskflow",
            {"produce_dataset_events_through_dataset_alias_with_no_taskflow": OK},
        ),
        (
            "dataset_alias_example_alias_consumer_with_no_taskflow",
            {"consume_dataset_event_from_dataset_alias": OK},
        ),
    ],
    ("3.3.2", "example_asset_alias"): [
        ("asset_s3_bucket_producer", {"produce_asset_events": OK}),
        ("asset_alias_example_alias_producer", {"produce_asset_events_through_asset_alias": OK}),
        ("asset_alias_example_alias_consumer", {"consume_asset_event_from_asset_alias": OK}),
        ("asset_s3_bucket_consumer", {"consume_asset_event": OK}),
    ],
    ("3.3.2", "example_asset_alias_with_no_taskflow"): [
        (
            "asset_alias_example_alias_producer_with_no_taskflow",
            {"produce_asset_events_through_asset_alias_with_no_taskflow": OK},
        ),
        (
            "asset_alias_example_alias_consumer_with_no_taskflow",
            {"consume_asset_event_from_asset_alias": OK},
        ),
    ],
    ("2.10.5", "example_outlet_event_extra"): [
        ("dataset_with_extra_by_yield", {"dataset_with_extra_by_yield": OK}),
        ("dataset_with_extra_by_context", {"dataset_with_extra_by_context": OK}),
        (
            "dataset_with_extra_from_classic_operator",
            {"dataset_with_extra_from_classic_operator": OK},
        ),
    ],
    ("3.3.2", "example_outlet_event_extra"): [
        ("asset_with_extra_by_yield", {"asset_with_extra_by_yield": OK}),
        ("asset_with_extra_by_context", {"asset_with_extra_by_context": OK}),
        ("asset_with_extra_from_classic_operator", {"asset_with_extra_from_classic_operator": OK}),
    ],
    ("2.10.5", "example_workday_timetable"): [("example_workday_timetable", {"run_this": OK})],
    ("3.3.2", "example_workday_timetable"): [("example_workday_timetable", {"run_this": OK})],
    ("3.3.2", "example_asset_allow_teams"): [
        ("team_analytics_producer", {"produce_shared_data": OK}),
        ("team_ml_consumer", {"consume_shared_data": OK}),
    ],
    ("3.3.2", "example_task_state_store"): [("example_task_state_store", {"run_job": OK})],
    ("3.3.2", "example_task_state_store_async"): [
        ("example_task_state_store_async", {"ingest_pages": OK})
    ],
    ("3.3.2", "example_task_state_store_mapped"): [
        ("example_task_state_store_mapped", {"get_tables": OK, "process_table": OK})
    ],
    ("3.3.2", "example_asset_decorator"): [
        ("asset1_producer", {"asset1_producer": OK}),
        ("asset2_producer", {"asset2_producer": OK}),
        ("consumes_asset_decorator", {"process_nothing": OK}),
    ],
    ("3.3.2", "example_asset_state_store"): [
        ("example_asset_state_store_producer", {"load": OK}),
        ("example_asset_state_store_consumer", {"consume": OK}),
    ],
}


def _fail_or_skip(message: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def examples(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """version -> the ``airflow/example_dags`` folder extracted from that version's wheel."""
    cache = Path(
        os.environ.get("TRADEWIND_AIRFLOW_WHEELS") or Path(tempfile.gettempdir()) / "compat-wheels"
    )
    cache.mkdir(parents=True, exist_ok=True)
    missing = [spec for spec, name in WHEELS.values() if not (cache / name).exists()]
    if missing:
        cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(cache)]
        done = subprocess.run([*cmd, *missing], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            _fail_or_skip(f"cannot download the Airflow wheels: {done.stderr.strip()[-300:]}")
    root = tmp_path_factory.mktemp("airflow-examples")
    out: dict[str, Path] = {}
    for version, (_, name) in WHEELS.items():
        with zipfile.ZipFile(cache / name) as zf:
            for member in zf.namelist():
                if member.startswith("airflow/example_dags/"):
                    zf.extract(member, root / version)
        out[version] = root / version / "airflow" / "example_dags"
    yield out


def _load(folder: Path, stem: str) -> dict[str, Any]:
    from tradewind.sdk.loader import load_file

    result = load_file(str(folder / f"{stem}.py"), str(folder))
    assert result.error is None, result.error  # parses unmodified
    return {d.dag_id: d for d in result.dags}


@pytest.mark.parametrize(("version", "stem"), sorted(CASES), ids="-".join)
def test_example_parses_and_ends_as_on_airflow(
    examples: dict[str, Path], env: Any, version: str, stem: str
) -> None:
    dags = _load(examples[version], stem)
    for dag_id, expected in CASES[(version, stem)]:
        result = run(dags[dag_id], env)
        assert states(result) == expected, dag_id
        assert result.state == "success", dag_id


def _events(env: Any) -> list[tuple[str, dict[str, Any], str | None]]:
    from sqlalchemy import select

    from tradewind.metastore.tables import AssetEvent, AssetModel

    with env.db.session(readonly=True) as s:
        q = select(AssetModel.uri, AssetEvent.extra, AssetEvent.source_alias_name).join(
            AssetModel, AssetModel.id == AssetEvent.asset_id
        )
        return [tuple(r) for r in s.execute(q.order_by(AssetEvent.id)).all()]  # type: ignore[misc]


@pytest.mark.parametrize("version", sorted(WHEELS))
def test_outlet_extras_reach_the_events_and_the_inlet_readers(
    examples: dict[str, Path], env: Any, version: str
) -> None:
    for dag in _load(examples[version], "example_outlet_event_extra").values():
        assert run(dag, env).state == "success", dag.dag_id
    assert _events(env) == [("s3://output/1.txt", {"hi": "bye"}, None)] * 3
    readers = _load(examples[version], "example_inlet_event_extra")
    first = "read_dataset_event" if version == "2.10.5" else "read_asset_event"
    assert states(run(readers[first], env)) == {first: "success"}
    classic = run(readers[f"{first}_from_classic"], env)
    if version == "2.10.5":  # its template calls Dataset(...), undefined on Airflow as well
        assert states(classic) == {f"{first}_from_classic": "failed"}
    else:
        assert states(classic) == {f"{first}_from_classic": "success"}
        assert xcom(env, classic, f"{first}_from_classic") == '{"hi": "bye"}'


@pytest.mark.parametrize("version", sorted(WHEELS))
def test_alias_producer_records_the_asset_added_through_the_alias(
    examples: dict[str, Path], env: Any, version: str
) -> None:
    stem = "example_dataset_alias" if version == "2.10.5" else "example_asset_alias"
    kind = "dataset" if version == "2.10.5" else "asset"
    dags = _load(examples[version], stem)
    assert run(dags[f"{kind}_alias_example_alias_producer"], env).state == "success"
    assert _events(env) == [("s3://bucket/my-task", {}, "example-alias")]


@pytest.mark.parametrize("version", sorted(WHEELS))
def test_workday_timetable_plans_the_next_workday(
    examples: dict[str, Path], env: Any, version: str
) -> None:
    from tradewind.sdk.serialization import SerializedDag, serialize_dag
    from tradewind.sdk.timetables import TimeRestriction

    dag = _load(examples[version], "example_workday_timetable")["example_workday_timetable"]
    stored = SerializedDag(serialize_dag(dag))
    saturday = DAY.replace(day=10)  # 2026-01-10
    last = stored.timetable.infer_manual_data_interval(run_after=saturday)
    assert last.start.date().isoformat() == "2026-01-09"  # Friday's interval
    info = stored.timetable.next_dagrun_info(
        last_automated_data_interval=last,
        restriction=TimeRestriction(earliest=DAY, latest=None, catchup=True),
    )
    assert info is not None
    assert info.data_interval.start.date().isoformat() == "2026-01-12"  # over the weekend


def test_asset_decorator_defines_a_producing_dag_per_function(
    examples: dict[str, Path], env: Any
) -> None:
    from tradewind.sdk.serialization import serialize_dag

    dags = _load(examples["3.3.2"], "example_asset_decorator")
    second = serialize_dag(dags["asset2_producer"])["tasks"][0]
    assert (second["task_id"], second["outlets"], second["inlets"]) == (
        "asset2_producer",
        ["s3://bucket/object"],
        ["s3://bucket/asset1_producer"],  # its parameter, the asset defined above it
    )
    for dag_id in ("asset1_producer", "asset2_producer"):
        assert run(dags[dag_id], env).state == "success"
    assert [u for u, _, _ in _events(env)] == ["s3://bucket/asset1_producer", "s3://bucket/object"]


def test_a_plugins_folder_timetable_is_found_by_the_path_the_dag_file_used(
    examples: dict[str, Path],
) -> None:
    # The scheduler does not import DAG files: the DAG stored the timetable as
    # airflow.example_dags.plugins.workday.AfterWorkdayTimetable, the plugins folder loaded
    # plugins/workday.py under a name of its own, and the two must meet.
    from tradewind import plugins_manager
    from tradewind.sdk.timetable_json import custom_class

    folder = examples["3.3.2"] / "plugins"
    loaded = plugins_manager.load_plugins(folder=str(folder), reload=True)
    try:
        found = custom_class("airflow.example_dags.plugins.workday.AfterWorkdayTimetable")
        assert found.__module__.startswith("tradewind_plugin_")
        assert found in [t for p in loaded.plugins for t in p.timetables]
        assert loaded.timetable("elsewhere.workday.NoSuchTimetable") is None
    finally:
        plugins_manager.load_plugins(folder=str(folder.parent / "none"), reload=True)
        sys.path.remove(str(folder))
