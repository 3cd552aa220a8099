"""Set up a Tradewind home: the config file with generated keys, the schema, the default pool."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet

from tradewind.errors import ConfigError
from tradewind.settings import Settings

_TEMPLATE = """\
# Tradewind settings. Sections and keys are Airflow's; TRADEWIND__SECTION__KEY overrides.
[core]
dags_folder = "{dags_folder}"
executor = "LocalExecutor"
parallelism = 32
load_examples = false
fernet_key = "{fernet_key}"

[database]
sql_alchemy_conn = "{conn}"

[logging]
base_log_folder = "{log_folder}"

[api]
secret_key = "{secret_key}"
"""


def write_config_file(settings: Settings) -> Path | None:
    """Write ``tradewind.toml`` with fresh secret and fernet keys, unless it exists."""
    path = settings.config_file
    if path.exists():
        return None
    settings.home.mkdir(parents=True, exist_ok=True)
    fernet = settings.get("core", "fernet_key") or Fernet.generate_key().decode()
    secret = settings.get("api", "secret_key") or secrets.token_urlsafe(32)
    text = _TEMPLATE.format(
        dags_folder=settings.dags_folder,
        fernet_key=fernet,
        conn=settings.sql_alchemy_conn,
        log_folder=settings.log_folder,
        secret_key=secret,
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    if not settings.get("core", "fernet_key"):
        settings.values["core"]["fernet_key"] = fernet
    if not settings.get("api", "secret_key"):
        settings.values["api"]["secret_key"] = secret
    return path


def secret_key(settings: Settings) -> str:
    """Return the key that signs tokens and sessions; never a built-in default."""
    key = settings.get("api", "secret_key")
    if not key:
        raise ConfigError(
            "no [api] secret_key is set: run `tradewind db init` (it writes one into "
            f"{settings.config_file}) or set TRADEWIND__API__SECRET_KEY"
        )
    return str(key)


def fernet_key(settings: Settings) -> str:
    """Return the Fernet key(s) that encrypt secrets at rest (comma-separated for rotation)."""
    key = settings.get("core", "fernet_key")
    if not key:
        raise ConfigError(
            "no [core] fernet_key is set: run `tradewind db init` (it writes one into "
            f"{settings.config_file}) or set TRADEWIND__CORE__FERNET_KEY"
        )
    return str(key)
