"""``tradewind triggerer``: run the asyncio process that waits for deferred tasks."""

from __future__ import annotations

import click

from tradewind.cli._runtime import get_env


@click.command("triggerer", context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--capacity",
    type=int,
    default=None,
    help="Most triggers run at once (default [triggerer] capacity)",
)
def triggerer(capacity: int | None) -> None:
    """Run the triggerer until stopped (Ctrl-C / SIGTERM)."""
    import logging

    from tradewind.triggerer.runner import run_triggerer

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    run_triggerer(get_env(), capacity=capacity)
