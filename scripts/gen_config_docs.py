#!/usr/bin/env python3
"""Write docs/configuration.md from ``tradewind.settings._defaults`` and the notes below.

Every setting must have a note here (the script fails otherwise, so a new setting gets
documented). A setting that no module under src/ reads yet is marked "reserved".
Usage: python scripts/gen_config_docs.py [--check]
"""

from __future__ import annotations

import sys
from pathlib import Path

from tradewind.settings import ENV_PREFIX, _defaults

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "configuration.md"

# (section, key) -> (Airflow's name for it, or "" when it is the same; meaning)
NOTES: dict[tuple[str, str], tuple[str, str]] = {
    ("core", "dags_folder"): ("", "Folder scanned for DAG files."),
    ("core", "plugins_folder"): ("", "Folder of plugins (Python modules loaded at start)."),
    ("core", "executor"): (
        "",
        "Executor of the scheduler: `LocalExecutor` (warm forked workers on this machine) or `CeleryExecutor`.",
    ),
    ("core", "parallelism"): (
        "",
        "Most task instances running at once per scheduler; also the most worker processes of the LocalExecutor (it starts `[local_executor] idle_workers` and forks more on demand).",
    ),
    ("core", "max_active_tasks_per_dag"): (
        "",
        "Most running task instances of one DAG, over all its runs (a DAG's `max_active_tasks` overrides).",
    ),
    ("core", "max_active_runs_per_dag"): (
        "",
        "Most running DAG runs of one DAG (a DAG's `max_active_runs` overrides).",
    ),
    ("core", "dags_are_paused_at_creation"): (
        "",
        "New DAGs start paused (a DAG's `is_paused_upon_creation` overrides).",
    ),
    ("core", "load_examples"): ("", "Copy the example DAGs into the DAGs folder and load them."),
    ("core", "default_task_retries"): ("", "Retries of a task that sets none."),
    ("core", "dagbag_import_timeout"): (
        "",
        "Seconds one DAG file may take to import before the parser kills it and records an import error.",
    ),
    ("core", "fernet_key"): (
        "",
        "Key that encrypts connection passwords and variables at rest; generated into tradewind.toml on first start.",
    ),
    ("core", "execution_api_server_url"): (
        "",
        "Where remote (Celery) workers reach the execution API (`/execution/`).",
    ),
    ("core", "max_xcom_size"): (
        "none (a constant, MAX_XCOM_SIZE, in Airflow 1)",
        "Largest XCom value in bytes, as JSON; larger pushes fail the task.",
    ),
    ("core", "default_timezone"): ("", "Time zone of naive dates in DAG files."),
    ("core", "airflow_imports"): (
        "none (Tradewind only)",
        "Serve `import airflow...` in unmodified Airflow DAG files from Tradewind (an import hook in Tradewind's own processes; a real Airflow in the same environment wins). See docs/porting.md.",
    ),
    ("database", "sql_alchemy_conn"): (
        "",
        "SQLAlchemy URL of the metastore: `sqlite:///...` (one node), `postgresql+psycopg://...` or `mysql+pymysql://...`.",
    ),
    ("database", "sql_alchemy_pool_size"): (
        "",
        "Connections kept open per process (PostgreSQL/MySQL).",
    ),
    ("logging", "base_log_folder"): (
        "",
        "Folder of task logs: `dag_id=<d>/run_id=<r>/task_id=<t>/attempt=<n>.log`.",
    ),
    ("logging", "logging_level"): (
        "",
        "Level of the components' own logs (DEBUG, INFO, WARNING, ERROR).",
    ),
    ("scheduler", "task_instance_heartbeat_timeout"): (
        "(Airflow 2: scheduler_zombie_task_threshold)",
        "Seconds without a heartbeat after which a running task counts as lost and is failed or retried.",
    ),
    ("scheduler", "task_instance_heartbeat_sec"): (
        "",
        "Seconds between a running task's heartbeats.",
    ),
    ("scheduler", "task_queued_timeout"): (
        "",
        "Seconds a task may stay queued before it is failed or requeued.",
    ),
    ("scheduler", "scheduler_heartbeat_sec"): (
        "",
        "Seconds between the scheduler's own heartbeats (its job row).",
    ),
    ("scheduler", "scheduler_health_check_threshold"): (
        "",
        "Seconds without a heartbeat after which a scheduler counts as dead (health check, adoption of its tasks).",
    ),
    ("scheduler", "poll_interval"): (
        "closest: scheduler_idle_sleep_time",
        "Longest the scheduler sleeps between passes when nothing wakes it; wake-ups (trigger, task end, parse) are immediate.",
    ),
    ("scheduler", "idle_poll_interval"): (
        "none (Tradewind only)",
        "Longest the scheduler waits between full passes while its executor runs nothing and no scheduled run or retry is due sooner; wake-ups (trigger, unpause, clear, parse) are immediate, so this only bounds a lost wake-up.",
    ),
    ("scheduler", "dag_dir_list_interval"): (
        "[dag_processor] refresh_interval",
        "Seconds between full rescans of the DAGs folder (changes are also watched).",
    ),
    ("scheduler", "parsing_processes"): (
        "[dag_processor] parsing_processes",
        "DAG files parsed at once (one forked child per file).",
    ),
    ("scheduler", "standalone_dag_processor"): (
        "",
        "If true, `tradewind scheduler` does not start a DAG processor; run `tradewind dag-processor` apart.",
    ),
    ("scheduler", "shutdown_grace_seconds"): (
        "none (Tradewind only)",
        "Seconds the scheduler lets running tasks finish on SIGTERM before it kills them.",
    ),
    ("scheduler", "catchup_by_default"): ("", "Catchup of DAGs that do not set `catchup`."),
    ("scheduler", "allowed_run_id_pattern"): (
        "",
        "Run ids a user may give (API, UI, CLI, TriggerDagRunOperator); `/`, `\\` and `..` are refused whatever the pattern.",
    ),
    ("local_executor", "fork_per_try"): (
        "none (Tradewind only; Airflow always forks)",
        "Run every try of the LocalExecutor in a freshly forked child of its warm worker (a try cannot change what the next one sees; ~1.5 ms and ~2 ms of CPU more per try) instead of in the worker itself, which the scheduler stops with SIGTERM/SIGKILL on a timeout or clear. Either way a try that exits or crashes (segfault) fails; a worker killed from outside is lost.",
    ),
    ("local_executor", "idle_workers"): (
        "none (Tradewind only; Airflow's LocalExecutor starts `parallelism` workers)",
        "Warm worker processes the LocalExecutor keeps while nothing runs (at most `[core] parallelism`). More are forked when more tries run at once, up to `parallelism`; 0 saves one process but the first try after a quiet spell waits for a fork.",
    ),
    ("local_executor", "worker_idle_timeout"): (
        "none (Tradewind only)",
        "Seconds a warm worker above `idle_workers` may go without a try before it is stopped.",
    ),
    ("local_executor", "worker_max_tasks"): (
        "closest: [celery] worker_max_tasks_per_child",
        "Replace a warm worker after it ran this many tries (0: never); bounds what leaky task code can accumulate when tries run in the worker (`fork_per_try = false`).",
    ),
    ("celery", "broker_url"): (
        "",
        "Celery broker: `redis://127.0.0.1:6379/0` or `amqp://guest:guest@127.0.0.1:5672//`.",
    ),
    ("celery", "result_backend"): (
        "",
        "Celery result backend; empty: none (states go through the execution API).",
    ),
    ("celery", "worker_concurrency"): ("", "Task processes per Celery worker."),
    ("celery", "default_queue"): ("[operators] default_queue", "Queue of tasks that set none."),
    ("celery", "visibility_timeout"): (
        "[celery_broker_transport_options] visibility_timeout",
        "Seconds before Redis redelivers a task message no worker acknowledged (acks are late).",
    ),
    ("celery", "fork_per_try"): (
        "none (Tradewind only)",
        "Run every try in a freshly forked process of the worker's pool process (stronger isolation between tries, ~10 ms more CPU per try) instead of in the pool process itself, watched by a thread that heartbeats, enforces `execution_timeout` and stops the try when told to.",
    ),
    ("celery", "worker_max_tasks_per_child"): (
        "[celery] worker_max_tasks_per_child",
        "Replace a worker pool process after it ran this many tries (0: never); bounds what leaky task code can accumulate when tries run in the pool process.",
    ),
    ("celery", "key_prefix"): (
        "none (Tradewind only)",
        "Prefix of every Redis key of the broker, so several installations can share one Redis server.",
    ),
    ("api", "host"): ("", "Address the webserver (API + UI) binds; loopback by default."),
    ("api", "port"): ("", "Port of the webserver."),
    ("api", "workers"): ("", "Webserver worker processes."),
    ("api", "secret_key"): (
        "",
        "Key that signs sessions and tokens; generated into tradewind.toml on first start. Must be the same on every node.",
    ),
    ("api", "base_url"): ("", "Public URL of the webserver (links in e-mails and logs)."),
    ("api", "expose_config"): ("", "Whether `GET /api/v2/config` shows the configuration."),
    ("api", "access_token_expiration_time"): (
        "[api_auth] jwt_expiration_time",
        "Seconds an API access token (`POST /auth/token`) stays valid.",
    ),
    ("webserver", "session_lifetime_minutes"): ("", "Minutes a UI login session lasts."),
    ("webserver", "login_rate_limit"): (
        "[fab] auth_rate_limit",
        "Login attempts allowed per client, e.g. `5/minute`.",
    ),
    ("webserver", "page_size"): ("", "Rows per page in the UI's lists."),
    ("smtp", "smtp_host"): ("", "SMTP server for e-mail (EmailOperator, failure e-mails)."),
    ("smtp", "smtp_port"): ("", "SMTP port."),
    ("smtp", "smtp_starttls"): ("", "Use STARTTLS."),
    ("smtp", "smtp_ssl"): ("", "Use SMTP over SSL."),
    ("smtp", "smtp_user"): ("", "SMTP user name (empty: no login)."),
    ("smtp", "smtp_password"): ("", "SMTP password."),
    ("smtp", "smtp_mail_from"): ("", "Sender address."),
    ("smtp", "smtp_timeout"): ("", "Seconds before an SMTP connection times out."),
    ("triggerer", "capacity"): ("", "Most triggers one triggerer runs at once (deferred tasks)."),
}

HEADER = """\
# Configuration

<!-- Generated by scripts/gen_config_docs.py from src/tradewind/settings.py; do not edit. -->

Tradewind reads its settings once at process start, in this order (later wins):

1. the defaults below (paths are under `$TRADEWIND_HOME`, default `~/tradewind`);
2. `$TRADEWIND_HOME/tradewind.toml` (written on first start with a generated `fernet_key`
   and `[api] secret_key`), with Airflow's section and key names:

   ```toml
   [core]
   parallelism = 8
   [database]
   sql_alchemy_conn = "postgresql+psycopg://postgres@127.0.0.1:5432/tradewind"
   ```
3. environment variables `TRADEWIND__SECTION__KEY` (as Airflow's `AIRFLOW__SECTION__KEY`),
   converted to the type of the default (`true`/`false`, numbers).

`tradewind config list` shows every value and where it came from. An Airflow `airflow.cfg`
ports by renaming the sections below as the "Airflow name" column says (blank: the same
section and key). Settings marked *reserved* are accepted but not read by any component yet.
"""


def used_keys() -> set[str]:
    """Keys that some module other than settings.py mentions as a string."""
    text = "\n".join(
        p.read_text() for p in (ROOT / "src" / "tradewind").rglob("*.py") if p.name != "settings.py"
    )
    # Three settings are read through Settings properties (settings.dags_folder...).
    via_property = {"dags_folder": ".dags_folder", "base_log_folder": ".log_folder"}
    via_property["sql_alchemy_conn"] = ".sql_alchemy_conn"
    return {
        key
        for _, key in NOTES
        if f'"{key}"' in text or (key in via_property and via_property[key] in text)
    }


def render() -> str:
    """The whole document."""
    defaults = _defaults(Path("$TRADEWIND_HOME"))
    missing = [f"[{s}] {k}" for s, keys in defaults.items() for k in keys if (s, k) not in NOTES]
    if missing:
        raise SystemExit(f"document these settings in {__file__}: {', '.join(missing)}")
    used = used_keys()
    out = [HEADER]
    for section, keys in defaults.items():
        out += [
            f"\n## [{section}]\n",
            "| key | default | env var | Airflow name | meaning |",
            "|---|---|---|---|---|",
        ]
        for key, default in keys.items():
            airflow, meaning = NOTES[(section, key)]
            shown = (
                repr(default).replace("'", '"')
                if not isinstance(default, bool)
                else str(default).lower()
            )
            if key in ("fernet_key", "secret_key"):
                shown = '"" (generated)'
            env = f"`{ENV_PREFIX}{section.upper()}__{key.upper()}`"
            reserved = "" if key in used else " *Reserved.*"
            row = [f"`{key}`", f"`{shown}`", env, airflow or "same", meaning + reserved]
            out.append("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |")
    return "\n".join(out) + "\n"


def main() -> None:
    text = render()
    if "--check" in sys.argv:
        if not OUT.exists() or OUT.read_text() != text:
            raise SystemExit(f"{OUT} is out of date: run python scripts/gen_config_docs.py")
        return
    OUT.write_text(text)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
