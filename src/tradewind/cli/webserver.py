"""``tradewind webserver`` (alias ``api-server``, as Airflow 3): the REST API and the UI."""

from __future__ import annotations

from typing import Any

import click


@click.command("webserver", help="Serve the web UI and the REST API (/api/v2) with uvicorn.")
@click.option("-p", "--port", type=int, default=None, help="Port (default [api] port, 8080).")
@click.option("-H", "--host", default=None, help="Address to bind (default [api] host).")
@click.option("-w", "--workers", type=int, default=None, help="Worker processes ([api] workers).")
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
)
@click.option("--proxy-headers", is_flag=True, help="Trust X-Forwarded-* from a proxy.")
def webserver(
    port: int | None, host: str | None, workers: int | None, log_level: str, proxy_headers: bool
) -> None:
    """Run uvicorn on ``tradewind.api.app:app_from_settings`` (one app per worker process)."""
    import uvicorn

    from tradewind.cli._runtime import get_settings
    from tradewind.cli._uvicorn import serve
    from tradewind.services.install import secret_key

    settings = get_settings()
    secret_key(settings)  # fail now, with the fix in the message, rather than on a request
    host = host or str(settings.get("api", "host"))
    port = port if port is not None else int(settings.get("api", "port"))
    workers = workers if workers is not None else int(settings.get("api", "workers"))
    _check_port(host, port)
    click.echo(f"Tradewind web server on http://{host}:{port} (API docs: /docs)")
    options: dict[str, Any] = {
        "factory": True,
        "host": host,
        "port": port,
        "log_level": log_level,
        "proxy_headers": proxy_headers,
        "server_header": False,
    }
    if workers > 1:
        uvicorn.run("tradewind.api.app:app_from_settings", workers=workers, **options)
    else:  # one process: the server whose idle loop wakes once a second
        serve("tradewind.api.app:app_from_settings", **options)


def _check_port(host: str, port: int) -> None:
    """Bind the address once, as uvicorn will, so a busy port is reported before the banner."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise click.ClickException(f"cannot resolve the address {host!r}: {exc}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            raise click.ClickException(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}. Another process uses "
                "the port? Stop it, or pass --port (or set [api] port)."
            ) from None


api_server = webserver
