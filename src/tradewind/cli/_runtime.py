"""What the commands share: the services environment, dates, DAG files and the user name."""

from __future__ import annotations

import getpass
import json
import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from tradewind.errors import InvalidInput, NotFound, TradewindError

if TYPE_CHECKING:
    from tradewind.sdk.dag import DAG
    from tradewind.services.env import Env
    from tradewind.settings import Settings


def get_settings() -> Settings:
    """Settings of this process (``$TRADEWIND_HOME``, the TOML file, the environment)."""
    from tradewind.sdk import defaults
    from tradewind.settings import load_settings

    settings = load_settings()
    defaults.configure(settings)  # DAG files loaded by this command use the configured defaults
    return settings


def get_env(settings: Settings | None = None) -> Env:
    """The services' environment for this command, built once per invocation."""
    ctx = click.get_current_context(silent=True)
    root = ctx.find_root() if ctx else None
    cache = root.obj if root is not None and isinstance(root.obj, dict) else {}
    if "env" not in cache:
        from tradewind.services.env import Env

        env = Env.from_settings(settings or get_settings())
        cache["env"] = env
        if root is not None:
            root.call_on_close(env.close)
    env_obj: Env = cache["env"]
    return env_obj


def cli_user() -> str:
    """The name recorded in the event log for CLI actions (the OS user, as Airflow)."""
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry in some containers
        return "cli"


def parse_date(value: str, what: str = "date") -> datetime:
    """Parse an ISO date or date-time; naive values are UTC."""
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"{what} {value!r} is not an ISO 8601 date such as 2026-01-01 or 2026-01-01T10:00:00+00:00"
        ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


class DateParam(click.ParamType):  # type: ignore[type-arg]
    """A click type for ISO dates (UTC when no offset is given)."""

    name = "DATE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, datetime) or value is None:
            return value
        try:
            return parse_date(str(value), param.human_readable_name if param else "date")
        except InvalidInput as exc:
            self.fail(str(exc), param, ctx)


DATE = DateParam()


def parse_conf(value: str | None) -> dict[str, Any] | None:
    """Parse ``--conf`` JSON; raise InvalidInput with the position of the mistake."""
    if value is None:
        return None
    try:
        conf = json.loads(value)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"--conf is not valid JSON: {exc}") from None
    if not isinstance(conf, dict):
        raise InvalidInput(f"--conf must be a JSON object, got {type(conf).__name__}")
    return conf


def refresh_dags(env: Env) -> None:
    """Parse the DAG files that changed since the last pass, so listings match the folder."""
    from tradewind.dag_processing.processor import DagProcessor

    DagProcessor(env.settings, env.db).run_once()


def load_dag_object(env: Env, dag_id: str) -> DAG:
    """Import the file defining ``dag_id`` in this process and return the DAG object.

    The file comes from the ``dag`` table (where the DAG processor saw it); otherwise every
    file of the DAGs folder that mentions the id is tried.
    """
    from tradewind.sdk.finder import find_dag_files
    from tradewind.services.dags import DagService

    folder = str(env.settings.dags_folder)
    candidates: list[str] = []
    try:
        candidates.append(DagService(env).get(dag_id).fileloc)
    except (NotFound, TradewindError):
        pass
    except Exception:  # noqa: BLE001 - an uninitialised metastore: fall back to scanning
        pass
    needle = dag_id.encode()
    for path in find_dag_files(folder) if os.path.isdir(folder) else []:
        if path not in candidates and _mentions(path, needle):
            candidates.append(path)
    errors: list[str] = []
    for path in candidates:
        found = _dag_in_file(path, folder, dag_id, errors)
        if found is not None:
            return found
    detail = f"\n{errors[0]}" if errors else ""
    raise NotFound(f"DAG {dag_id!r} not found in {folder}{detail}")


def _mentions(path: str, needle: bytes) -> bool:
    try:
        with open(path, "rb") as f:
            return needle in f.read()
    except OSError:
        return False


def _dag_in_file(path: str, folder: str, dag_id: str, errors: list[str]) -> DAG | None:
    from tradewind.sdk.loader import load_file

    if not os.path.exists(path):
        return None
    result = load_file(path, folder)
    if result.error:
        errors.append(f"{path} failed to import:\n{result.error}")
        return None
    return next((d for d in result.dags if d.dag_id == dag_id), None)
