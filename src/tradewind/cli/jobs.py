"""``tradewind jobs check``: is a scheduler (triggerer, DAG processor) alive? For probes."""

from __future__ import annotations

import socket

import click

from tradewind.cli._runtime import get_env
from tradewind.cli.main import CONTEXT_SETTINGS

JOB_TYPES = ("SchedulerJob", "TriggererJob", "DagProcessorJob")


@click.group("jobs", context_settings=CONTEXT_SETTINGS)
def jobs() -> None:
    """Inspect the running components' jobs."""


@jobs.command("check", context_settings=CONTEXT_SETTINGS)
@click.option("--job-type", type=click.Choice(JOB_TYPES), default="SchedulerJob", show_default=True)
@click.option("--hostname", help="Only jobs on this host.")
@click.option("--local", is_flag=True, help="Only jobs on this host (its hostname).")
@click.option("--limit", type=int, default=1, show_default=True, help="How many to look at.")
@click.option("--allow-multiple", is_flag=True, help="Succeed when more than one is alive.")
def check(
    job_type: str, hostname: str | None, local: bool, limit: int, allow_multiple: bool
) -> None:
    """Exit 0 if a job of this type is alive (heartbeat within the health threshold), else 1."""
    from tradewind.services.jobs import JobService

    jobs = JobService(get_env())
    threshold = jobs.health_threshold
    host = socket.gethostname() if local else hostname
    alive = jobs.alive(job_type, hostname=host)[: max(limit, 1)]
    found = [(j.id, j.hostname, j.pid) for j in alive]
    if not found:
        where = f" on {host}" if host else ""
        raise click.ClickException(
            f"No alive {job_type} found{where} (no heartbeat in the last {threshold:g} s)."
        )
    if len(found) > 1 and not allow_multiple:
        raise click.ClickException(
            f"Found {len(found)} alive {job_type}s; pass --allow-multiple if that is expected."
        )
    for job_id, job_host, pid in found:
        click.echo(f"Found alive {job_type} {job_id} (pid {pid} on {job_host}).")
