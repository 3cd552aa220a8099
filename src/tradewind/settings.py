"""Settings: loaded once at process entry from ``$TRADEWIND_HOME/tradewind.toml`` and the
environment, then passed down. Nothing reads them at import time.

Section and key names are Airflow's (``core.dags_folder``, ``database.sql_alchemy_conn``...),
and ``TRADEWIND__SECTION__KEY`` environment variables override the file, as
``AIRFLOW__SECTION__KEY`` does for Airflow.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tradewind.errors import ConfigError

ENV_PREFIX = "TRADEWIND__"
CONFIG_FILE_NAME = "tradewind.toml"


def default_home() -> Path:
    """Return ``$TRADEWIND_HOME``, or ``~/tradewind`` when unset."""
    return Path(os.environ.get("TRADEWIND_HOME") or Path.home() / "tradewind").expanduser()


def _defaults(home: Path) -> dict[str, dict[str, Any]]:
    """Every known setting with its default; the keys of this table are the valid keys."""
    return {
        "core": {
            "dags_folder": str(home / "dags"),
            "plugins_folder": str(home / "plugins"),
            "executor": "LocalExecutor",
            "parallelism": 32,
            "max_active_tasks_per_dag": 16,
            "max_active_runs_per_dag": 16,
            "dags_are_paused_at_creation": True,
            "load_examples": False,
            "default_task_retries": 0,
            "dagbag_import_timeout": 30.0,
            "fernet_key": "",
            "execution_api_server_url": "http://127.0.0.1:8080/execution/",
            "max_xcom_size": 49344,
            "max_map_length": 1024,
            "default_timezone": "utc",
            "airflow_imports": True,
        },
        "database": {
            "sql_alchemy_conn": f"sqlite:///{home / 'tradewind.db'}",
            "sql_alchemy_pool_size": 5,
        },
        "logging": {
            "base_log_folder": str(home / "logs"),
            "logging_level": "INFO",
        },
        "scheduler": {
            "task_instance_heartbeat_timeout": 30.0,
            "task_instance_heartbeat_sec": 5.0,
            "task_queued_timeout": 600.0,
            "max_lost_try_requeues": 2,
            "scheduler_heartbeat_sec": 5.0,
            "scheduler_health_check_threshold": 30.0,
            "poll_interval": 1.0,
            "idle_poll_interval": 10.0,
            "dag_dir_list_interval": 300.0,
            "parsing_processes": 2,
            "parsing_files_per_process": 50,
            "standalone_dag_processor": False,
            "catchup_by_default": False,
            "shutdown_grace_seconds": 5.0,
            "allowed_run_id_pattern": r"^[A-Za-z0-9_.~:+-]+$",
        },
        "local_executor": {
            "fork_per_try": False,
            "idle_workers": 1,
            "worker_idle_timeout": 60.0,
            "worker_max_tasks": 0,
        },
        "celery": {
            "broker_url": "redis://127.0.0.1:6379/0",
            "result_backend": "",
            "worker_concurrency": 16,
            "default_queue": "default",
            "visibility_timeout": 21600,
            "key_prefix": "",
            "fork_per_try": False,
            "worker_max_tasks_per_child": 0,
        },
        "api": {
            "host": "127.0.0.1",
            "port": 8080,
            "workers": 1,
            "secret_key": "",
            "base_url": "http://127.0.0.1:8080",
            "expose_config": False,
            "access_token_expiration_time": 86400,
        },
        "webserver": {
            "session_lifetime_minutes": 43200,
            "login_rate_limit": "5/minute",
            "page_size": 50,
        },
        "smtp": {
            "smtp_host": "localhost",
            "smtp_port": 25,
            "smtp_starttls": False,
            "smtp_ssl": False,
            "smtp_user": "",
            "smtp_password": "",
            "smtp_mail_from": "tradewind@example.com",
            "smtp_timeout": 30,
        },
        "triggerer": {"capacity": 1000},
        "metrics": {
            "statsd_on": False,
            "statsd_host": "localhost",
            "statsd_port": 8125,
            "statsd_prefix": "tradewind",
            "statsd_datadog_enabled": False,
            "metrics_allow_list": "",
            "metrics_block_list": "",
            "otel_on": False,
            "otel_host": "localhost",
            "otel_port": 4318,
            "otel_prefix": "tradewind",
            "otel_interval_milliseconds": 60000,
            "otel_ssl_active": False,
            "prometheus_on": False,
            "prometheus_prefix": "tradewind",
            "prometheus_multiproc_dir": str(home / "prometheus"),
            "prometheus_public": False,
            "relay_on": True,
        },
        "traces": {
            "otel_on": False,
            "otel_host": "localhost",
            "otel_port": 4318,
            "otel_ssl_active": False,
            "otel_service": "tradewind",
        },
    }


#: Settings that are true/false or one of these words (Airflow's values).
_WORDS = {"expose_config": {"non-sensitive-only"}}


def config_exposure(value: Any) -> str | None:
    """What ``[api] expose_config`` allows: None (nothing), or ``"non-sensitive-only"``.

    Airflow's ``true`` also shows sensitive values in clear; Tradewind hides them for every
    value (a secret leaves the metastore only where a task needs it), so ``true`` and
    ``non-sensitive-only`` mean the same here.
    """
    if isinstance(value, str):
        low = value.strip().lower()
        value = low == "non-sensitive-only" or low in ("1", "true", "yes", "on")
    return "non-sensitive-only" if value is True else None


def _coerce(value: str, like: Any, where: str) -> Any:
    """Turn an environment string into the type of the default it overrides."""
    key = where.rsplit("__", 1)[-1].lower()
    if value.strip().lower() in _WORDS.get(key, ()):
        return value.strip().lower()
    if isinstance(like, bool):
        low = value.strip().lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off", ""):
            return False
        raise ConfigError(f"{where}: expected true/false, got {value!r}")
    try:
        if isinstance(like, int):
            return int(value)
        if isinstance(like, float):
            return float(value)
    except ValueError:
        raise ConfigError(f"{where}: expected a number, got {value!r}") from None
    return value


@dataclass
class Settings:
    """All settings of one process, as ``settings.get("core", "dags_folder")``."""

    home: Path
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    sources: dict[tuple[str, str], str] = field(default_factory=dict)

    def get(self, section: str, key: str) -> Any:
        """Return a setting's value, or raise ConfigError naming the unknown key."""
        try:
            return self.values[section][key]
        except KeyError:
            raise ConfigError(f"unknown setting [{section}] {key}") from None

    def set(self, section: str, key: str, value: Any) -> None:
        """Override one value in this process (tests, CLI flags)."""
        self.values.setdefault(section, {})[key] = value
        self.sources[(section, key)] = "override"

    @property
    def config_file(self) -> Path:
        return self.home / CONFIG_FILE_NAME

    @property
    def dags_folder(self) -> Path:
        return Path(self.get("core", "dags_folder")).expanduser()

    @property
    def log_folder(self) -> Path:
        return Path(self.get("logging", "base_log_folder")).expanduser()

    @property
    def sql_alchemy_conn(self) -> str:
        return str(self.get("database", "sql_alchemy_conn"))

    @property
    def is_sqlite(self) -> bool:
        return self.sql_alchemy_conn.startswith("sqlite")

    def as_dict(self) -> dict[str, dict[str, Any]]:
        """Return a deep copy of every section and key."""
        return {sec: dict(keys) for sec, keys in self.values.items()}


def load_settings(
    home: Path | str | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Load defaults, then the TOML file, then ``TRADEWIND__SECTION__KEY`` overrides."""
    env = os.environ if environ is None else environ
    home_path = Path(home).expanduser() if home else default_home()
    if home is None and env.get("TRADEWIND_HOME"):
        home_path = Path(env["TRADEWIND_HOME"]).expanduser()
    values = _defaults(home_path)
    sources = {(s, k): "default" for s, keys in values.items() for k in keys}
    path = home_path / CONFIG_FILE_NAME
    if path.exists():
        try:
            data = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML: {exc}") from None
        for section, keys in data.items():
            if not isinstance(keys, dict):
                raise ConfigError(f"{path}: [{section}] must be a table of keys")
            for key, value in keys.items():
                values.setdefault(section, {})[key] = value
                sources[(section, key)] = str(path)
    for name, raw in env.items():
        if not name.startswith(ENV_PREFIX):
            continue
        parts = name[len(ENV_PREFIX) :].lower().split("__", 1)
        if len(parts) != 2:
            continue
        section, key = parts
        like = values.get(section, {}).get(key, "")
        values.setdefault(section, {})[key] = _coerce(raw, like, name)
        sources[(section, key)] = f"env {name}"
    return Settings(home=home_path, values=values, sources=sources)
