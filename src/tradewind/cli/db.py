"""``tradewind db``: create, upgrade, reset and check the metastore."""

from __future__ import annotations

import click

from tradewind.cli._runtime import get_env, get_settings
from tradewind.cli.main import CONTEXT_SETTINGS


@click.group(context_settings=CONTEXT_SETTINGS)
def db() -> None:
    """Manage the metastore database."""


def initialise() -> list[str]:
    """Write the config file if missing, migrate, create the default pool; return what was done."""
    from tradewind.services.install import write_config_file
    from tradewind.services.pools import PoolService

    settings = get_settings()
    done: list[str] = []
    written = write_config_file(settings)
    if written is not None:
        done.append(f"Wrote the config file {written}")
    else:
        done.append(f"Using the config file {settings.config_file}")
    env = get_env(settings)
    env.db.migrate()
    PoolService(env).ensure_default()
    settings.dags_folder.mkdir(parents=True, exist_ok=True)
    done.append(f"Initialised the metastore at {env.db.safe_url}")
    done.append(f"DAGs folder: {settings.dags_folder}")
    return done


@db.command("init", context_settings=CONTEXT_SETTINGS)
def init() -> None:
    """Create the config file (if missing) and the metastore schema, and the default pool."""
    for line in initialise():
        click.echo(line)


@db.command("migrate", context_settings=CONTEXT_SETTINGS)
def migrate() -> None:
    """Upgrade the metastore schema to the newest version (writes the config file if missing)."""
    from tradewind.services.install import write_config_file
    from tradewind.services.pools import PoolService

    settings = get_settings()
    # As Airflow's first command writes airflow.cfg: without it the web server and the
    # scheduler of this home would have no secret key to share.
    written = write_config_file(settings)
    if written is not None:
        click.echo(f"Wrote the config file {written}")
    env = get_env(settings)
    before = env.db.current_revision()
    env.db.migrate()
    PoolService(env).ensure_default()
    after = env.db.current_revision()
    if before == after:
        click.echo(f"The metastore at {env.db.safe_url} is up to date ({after}).")
    else:
        click.echo(f"Migrated {env.db.safe_url} from {before or 'nothing'} to {after}.")


db.add_command(migrate, "upgrade")  # Airflow 2's name, kept working as in Airflow 2.10


@db.command("reset", context_settings=CONTEXT_SETTINGS)
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
def reset(yes: bool) -> None:
    """Drop every table and recreate the schema (all data is lost)."""
    from tradewind.services.pools import PoolService

    env = get_env()
    if not yes:
        click.confirm(
            f"This drops every table of {env.db.safe_url} and all its data. Proceed?", abort=True
        )
    env.db.reset()
    PoolService(env).ensure_default()
    click.echo(f"Reset the metastore at {env.db.safe_url}.")


@db.command("check", context_settings=CONTEXT_SETTINGS)
def check() -> None:
    """Check that the metastore answers and its schema is current (exit 1 if not)."""
    env = get_env()
    env.db.check()
    click.echo(f"The metastore at {env.db.safe_url} is reachable and current.")
