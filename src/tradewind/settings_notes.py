"""What each setting means: the notes docs/configuration.md is generated from.

Every key of ``settings._defaults`` needs a note here: ``scripts/gen_config_docs.py`` writes
docs/configuration.md from these, and tests/unit/test_configuration_doc.py fails, naming the
setting, when one has no note or the document is out of step. Data only: no component imports
this module at run time.
"""

from __future__ import annotations

#: (section, key) -> (Airflow's name for it, "" when it is the same; what it means).
NOTES: dict[tuple[str, str], tuple[str, str]] = {
    # [core]
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
    ("core", "max_map_length"): (
        "`[core] max_map_length`",
        "Most instances one mapped task may expand to; a longer upstream output fails that upstream (see docs/mapping.md).",
    ),
    ("core", "default_timezone"): ("", "Time zone of naive dates in DAG files."),
    ("core", "airflow_imports"): (
        "none (Tradewind only)",
        "Serve `import airflow...` in unmodified Airflow DAG files from Tradewind (an import hook in Tradewind's own processes; a real Airflow in the same environment wins). See docs/porting.md.",
    ),
    # [database]
    ("database", "sql_alchemy_conn"): (
        "",
        "SQLAlchemy URL of the metastore: `sqlite:///...` (one node), `postgresql+psycopg://...` or `mysql+pymysql://...`.",
    ),
    ("database", "sql_alchemy_pool_size"): (
        "",
        "Connections kept open per process (PostgreSQL/MySQL).",
    ),
    # [logging]
    ("logging", "base_log_folder"): (
        "",
        "Folder of task logs: `dag_id=<d>/run_id=<r>/task_id=<t>/attempt=<n>.log`.",
    ),
    ("logging", "logging_level"): (
        "",
        "Level of the components' own logs (DEBUG, INFO, WARNING, ERROR).",
    ),
    # [scheduler]
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
    ("scheduler", "max_lost_try_requeues"): (
        "Tradewind only",
        "How often a try lost because Tradewind's own process went away (scheduler, worker, node) is requeued without using one of the task's retries; the next lost try fails the task.",
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
        "DAG files parsed at once (in forked children).",
    ),
    ("scheduler", "parsing_files_per_process"): (
        "none (Tradewind only)",
        "Most DAG files one forked parsing child imports, one after another (each with its own `dagbag_import_timeout`; modules of the DAGs folder are imported afresh for each file). `1`: a fresh child per file, as before #17. A fork costs several times what parsing a small file does.",
    ),
    ("scheduler", "standalone_dag_processor"): (
        "",
        "If true, `tradewind scheduler` does not start a DAG processor; run `tradewind dag-processor` apart.",
    ),
    ("scheduler", "catchup_by_default"): ("", "Catchup of DAGs that do not set `catchup`."),
    ("scheduler", "shutdown_grace_seconds"): (
        "none (Tradewind only)",
        "Seconds the scheduler lets running tasks finish on SIGTERM before it kills them.",
    ),
    ("scheduler", "allowed_run_id_pattern"): (
        "",
        "Run ids a user may give (API, UI, CLI, TriggerDagRunOperator); `/`, `\\` and `..` are refused whatever the pattern.",
    ),
    # [local_executor]
    ("local_executor", "fork_per_try"): (
        "none (Tradewind only; Airflow always forks)",
        "Run every try of the LocalExecutor in a freshly forked child of its warm worker (a try cannot change what the next one sees: module globals, `os.environ`, the working directory; ~1.5 ms more per task start and ~2 ms more CPU per try) instead of in the warm worker itself. In the worker, the scheduler stops a try with SIGTERM (`on_kill` runs) and SIGKILL 2 s later, on a clear or past `execution_timeout` + 5 s. Either way a try that exits (`os._exit`) or crashes (segfault, abort) fails, and a worker killed from outside (kill -9, OOM killer) is lost (requeued). See [architecture.md](architecture.md#the-local-executor).",
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
    # [celery]
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
    ("celery", "key_prefix"): (
        "none (Tradewind only)",
        "Prefix of every Redis key of the broker, so several installations can share one Redis server.",
    ),
    ("celery", "fork_per_try"): (
        "none (Tradewind only)",
        "Run every try in a freshly forked process of the worker's pool process (stronger isolation between tries, ~10 ms more CPU per try) instead of in the pool process itself, watched by a thread that heartbeats, enforces `execution_timeout` and stops the try when told to.",
    ),
    ("celery", "worker_max_tasks_per_child"): (
        "[celery] worker_max_tasks_per_child",
        "Replace a worker pool process after it ran this many tries (0: never); bounds what leaky task code can accumulate when tries run in the pool process.",
    ),
    # [api]
    ("api", "host"): ("", "Address the webserver (API + UI) binds; loopback by default."),
    ("api", "port"): ("", "Port of the webserver."),
    ("api", "workers"): ("", "Webserver worker processes."),
    ("api", "secret_key"): (
        "",
        "Key that signs sessions and tokens; generated into tradewind.toml on first start. Must be the same on every node.",
    ),
    ("api", "base_url"): ("", "Public URL of the webserver (links in e-mails and logs)."),
    ("api", "expose_config"): (
        "",
        "Whether `GET /api/v2/config` (and the UI's configuration page) shows the configuration: `false`, `true` or Airflow's `non-sensitive-only`. Sensitive values (keys, passwords, the metastore URL) always show as `< hidden >`: Airflow's `true` would show them in clear, Tradewind's means `non-sensitive-only`.",
    ),
    ("api", "access_token_expiration_time"): (
        "[api_auth] jwt_expiration_time",
        "Seconds an API access token (`POST /auth/token`) stays valid.",
    ),
    # [webserver]
    ("webserver", "session_lifetime_minutes"): ("", "Minutes a UI login session lasts."),
    ("webserver", "login_rate_limit"): (
        "[fab] auth_rate_limit",
        "Login attempts allowed per client, e.g. `5/minute`.",
    ),
    ("webserver", "page_size"): ("", "Rows per page in the UI's lists."),
    # [smtp]
    ("smtp", "smtp_host"): ("", "SMTP server for e-mail (EmailOperator, failure e-mails)."),
    ("smtp", "smtp_port"): ("", "SMTP port."),
    ("smtp", "smtp_starttls"): ("", "Use STARTTLS."),
    ("smtp", "smtp_ssl"): ("", "Use SMTP over SSL."),
    ("smtp", "smtp_user"): ("", "SMTP user name (empty: no login)."),
    ("smtp", "smtp_password"): ("", "SMTP password."),
    ("smtp", "smtp_mail_from"): ("", "Sender address."),
    ("smtp", "smtp_timeout"): ("", "Seconds before an SMTP connection times out."),
    # [triggerer]
    ("triggerer", "capacity"): ("", "Most triggers one triggerer runs at once (deferred tasks)."),
    # [metrics]
    ("metrics", "statsd_on"): ("", "Send metrics to StatsD over UDP."),
    ("metrics", "statsd_host"): ("", "StatsD host."),
    ("metrics", "statsd_port"): ("", "StatsD port."),
    ("metrics", "statsd_prefix"): (
        "",
        "Prefix of every StatsD name (Airflow's default is `airflow`).",
    ),
    ("metrics", "statsd_datadog_enabled"): (
        "",
        "DogStatsD: base names with `|#tag:value` tags instead of names with the tags in them.",
    ),
    ("metrics", "metrics_allow_list"): (
        "",
        "Comma-separated name prefixes: only these metrics are sent.",
    ),
    ("metrics", "metrics_block_list"): ("", "Comma-separated name prefixes of metrics never sent."),
    ("metrics", "otel_on"): ("", "OpenTelemetry metrics over OTLP/HTTP (extra `otel`)."),
    ("metrics", "otel_host"): ("", "OTLP collector host."),
    ("metrics", "otel_port"): ("", "OTLP/HTTP port."),
    ("metrics", "otel_prefix"): ("", "Prefix of the OpenTelemetry instrument names."),
    ("metrics", "otel_interval_milliseconds"): ("", "Export interval."),
    ("metrics", "otel_ssl_active"): ("", "Use https to reach the collector."),
    ("metrics", "prometheus_on"): ("—", "Record metrics for the web server's `GET /metrics`."),
    ("metrics", "prometheus_prefix"): ("—", "Prefix of the Prometheus names."),
    ("metrics", "prometheus_multiproc_dir"): (
        "—",
        "Where each process writes its Prometheus values (the web server adds them up).",
    ),
    ("metrics", "prometheus_public"): ("—", "Serve `/metrics` without authentication."),
    ("metrics", "relay_on"): (
        "—",
        "The scheduler records StatsD and Prometheus metrics in a helper process, off its own "
        "interpreter; false records them in the scheduler itself (other components always do).",
    ),
    # [traces]
    ("traces", "otel_on"): (
        "",
        "OpenTelemetry traces over OTLP/HTTP (extra `otel`): a span per DAG run, a child per try.",
    ),
    ("traces", "otel_host"): ("", "OTLP collector host."),
    ("traces", "otel_port"): ("", "OTLP/HTTP port."),
    ("traces", "otel_ssl_active"): ("", "Use https to reach the collector."),
    ("traces", "otel_service"): ("", "`service.name` of the spans."),
}

#: A paragraph shown under a section's heading, above its table.
SECTION_INTROS: dict[str, str] = {
    "metrics": "Where metrics go; see [observability.md](observability.md).",
}
