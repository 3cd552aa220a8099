"""Every metric Tradewind emits: its kind, tags, and legacy StatsD name.

Names and legacy forms are Airflow's (its metrics reference), so existing dashboards and
alerts keep working. Plain StatsD has no tags, so, as Airflow does, the variable parts go into
the name: ``legacy`` is that name with ``{tag}`` placeholders. Back ends with tags
(DogStatsD, Prometheus, OpenTelemetry) use ``name`` and the tags instead.
``docs/observability.md`` documents the same table (a test keeps them in agreement).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MetricSpec:
    """One metric: ``kind`` is counter, gauge or timer (seconds; StatsD gets ms)."""

    name: str
    kind: str
    tags: tuple[str, ...]
    legacy: str
    help: str


def _m(name: str, kind: str, tags: str, legacy: str, help: str) -> MetricSpec:
    return MetricSpec(name, kind, tuple(tags.split()), legacy or name, help)


CATALOG: dict[str, MetricSpec] = {
    m.name: m
    for m in [
        # scheduler
        _m("scheduler_heartbeat", "counter", "", "", "Scheduler heartbeats"),
        _m(
            "scheduler.scheduler_loop_duration",
            "timer",
            "",
            "",
            "Time of one scheduling pass",
        ),
        _m("executor.open_slots", "gauge", "", "", "Free slots of the executor"),
        _m("executor.queued_tasks", "gauge", "", "", "Task instances queued"),
        _m("executor.running_tasks", "gauge", "", "", "Task instances running"),
        _m(
            "pool.open_slots",
            "gauge",
            "pool_name",
            "pool.open_slots.{pool_name}",
            "Free slots of a pool",
        ),
        _m(
            "pool.queued_slots",
            "gauge",
            "pool_name",
            "pool.queued_slots.{pool_name}",
            "Slots used by queued task instances",
        ),
        _m(
            "pool.running_slots",
            "gauge",
            "pool_name",
            "pool.running_slots.{pool_name}",
            "Slots used by running task instances",
        ),
        _m(
            "pool.scheduled_slots",
            "gauge",
            "pool_name",
            "pool.scheduled_slots.{pool_name}",
            "Slots wanted by scheduled task instances",
        ),
        _m(
            "pool.starving_tasks",
            "gauge",
            "pool_name",
            "pool.starving_tasks.{pool_name}",
            "Scheduled task instances the pool has no free slot for",
        ),
        # triggerer
        _m("triggerer_heartbeat", "counter", "", "", "Triggerer syncs with the metastore"),
        _m("triggers.running", "gauge", "", "", "Triggers this triggerer runs"),
        _m("triggers.succeeded", "counter", "", "", "Triggers that fired"),
        _m("triggers.failed", "counter", "", "", "Triggers that failed"),
        # runs
        _m(
            "dagrun.duration.success",
            "timer",
            "dag_id",
            "dagrun.duration.success.{dag_id}",
            "Duration of a successful DAG run",
        ),
        _m(
            "dagrun.duration.failed",
            "timer",
            "dag_id",
            "dagrun.duration.failed.{dag_id}",
            "Duration of a failed DAG run",
        ),
        _m(
            "dagrun.schedule_delay",
            "timer",
            "dag_id",
            "dagrun.schedule_delay.{dag_id}",
            "Delay between a scheduled run's due time and its start",
        ),
        _m(
            "dagrun.deadline_missed",
            "counter",
            "dag_id deadline",
            "dagrun.deadline_missed.{dag_id}",
            "Deadline alerts fired (a run missed its deadline)",
        ),
        # task instances
        _m(
            "ti.start",
            "counter",
            "dag_id task_id",
            "ti.start.{dag_id}.{task_id}",
            "Tries started (claimed by a worker)",
        ),
        _m(
            "ti.finish",
            "counter",
            "dag_id task_id state",
            "ti.finish.{dag_id}.{task_id}.{state}",
            "Tries finished, by resulting state",
        ),
        _m("ti_successes", "counter", "dag_id task_id", "", "Tries that succeeded"),
        _m("ti_failures", "counter", "dag_id task_id", "", "Tries that failed"),
        _m(
            "zombies_killed",
            "counter",
            "dag_id task_id",
            "",
            "Tries lost (worker gone or heartbeat timed out)",
        ),
        _m(
            "task.duration",
            "timer",
            "dag_id task_id",
            "dag.{dag_id}.{task_id}.duration",
            "Duration of a try",
        ),
        _m(
            "ti.scheduling_latency",
            "timer",
            "dag_id stage",
            "ti.scheduling_latency.{stage}",
            "Per task instance: upstream done -> queued, queued -> started, upstream done -> "
            "started (stage)",
        ),
        # DAG processing
        _m("dagbag_size", "gauge", "", "", "DAGs found in the DAGs folder"),
        _m("dag_processing.import_errors", "gauge", "", "", "DAG files that failed to import"),
        _m(
            "dag_processing.total_parse_time",
            "gauge",
            "",
            "",
            "Seconds the last pass over the DAGs folder took",
        ),
        _m(
            "dag_processing.last_duration",
            "timer",
            "file",
            "dag_processing.last_duration.{file}",
            "Time to parse one DAG file",
        ),
    ]
}
