"""HttpHook: HTTP calls (httpx) to the base URL of an ``http`` connection."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tradewind.errors import TradewindError
from tradewind.hooks.base import BaseHook, Connection


class HttpHook(BaseHook):
    """Send requests to ``<schema>://<host>:<port>/<endpoint>`` with the connection's auth.

    Args:
        method: HTTP method (GET, POST, ...).
        http_conn_id: the connection (host may hold a full base URL); extra JSON keys
            ``headers`` and ``verify`` are honoured, other keys become headers (Airflow).
        connection: a Connection object instead of an id.
        timeout: seconds per request.
    """

    conn_name_attr = "http_conn_id"
    default_conn_name = "http_default"
    conn_type = "http"

    def __init__(
        self,
        method: str = "POST",
        http_conn_id: str = "http_default",
        *,
        connection: Connection | None = None,
        timeout: float = 60.0,
    ):
        self.method = method.upper()
        self.http_conn_id = http_conn_id
        self._connection = connection
        self.timeout = timeout

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            self._connection = self.get_connection(self.http_conn_id)
        return self._connection

    def base_url(self) -> str:
        c = self.connection
        host = c.host or ""
        if "://" in host:
            url = host
        else:
            scheme = c.schema or ("https" if c.conn_type == "https" else "http")
            url = f"{scheme}://{host}"
        if c.port and "://" not in host:
            url += f":{c.port}"
        return url.rstrip("/")

    def _client_args(self, headers: dict[str, str] | None) -> dict[str, Any]:
        c = self.connection
        extra = dict(c.extra_dejson)
        verify = extra.pop("verify", True)
        merged = dict(extra.pop("headers", {}) or {})
        merged.update({k: str(v) for k, v in extra.items() if isinstance(v, str | int | float)})
        merged.update(headers or {})
        args: dict[str, Any] = {"headers": merged, "timeout": self.timeout, "verify": verify}
        if c.login:
            args["auth"] = (c.login, c.password or "")
        return args

    def get_conn(self, headers: dict[str, str] | None = None) -> Any:
        """Return an ``httpx.Client`` for the connection's base URL (the caller closes it)."""
        import httpx

        return httpx.Client(base_url=self.base_url(), **self._client_args(headers))

    def url_for(self, endpoint: str | None) -> str:
        endpoint = endpoint or ""
        if endpoint.startswith(("http://", "https://")):
            return endpoint
        return self.base_url() + ("/" + endpoint.lstrip("/") if endpoint else "")

    def run(
        self,
        endpoint: str | None = None,
        data: Any = None,
        headers: dict[str, str] | None = None,
        *,
        json: Any = None,
        check_response: bool = True,
        **request_kwargs: Any,
    ) -> Any:
        """Send one request and return the ``httpx.Response``.

        ``data`` goes as query parameters for GET/HEAD and as the body otherwise (Airflow).
        A 4xx/5xx answer raises TradewindError unless ``check_response`` is False.
        """
        with self.get_conn(headers) as client:
            kwargs = dict(request_kwargs)
            if self.method in ("GET", "HEAD", "DELETE"):
                if data is not None:
                    kwargs["params"] = data
            elif isinstance(data, dict | list) and json is None:
                kwargs["json"] = data
            elif data is not None:
                kwargs["content"] = data if isinstance(data, bytes | str) else str(data)
            if json is not None:
                kwargs["json"] = json
            response = client.request(self.method, self.url_for(endpoint), **kwargs)
        if check_response and response.status_code >= 400:
            raise TradewindError(
                f"HTTP {response.status_code} from {self.method} {response.request.url}: {response.text[:500]}"
            )
        return response

    @contextmanager
    def stream(
        self, endpoint: str | None = None, data: Any = None, headers: dict[str, str] | None = None
    ) -> Iterator[Any]:
        """Open a streamed response (``iter_bytes``) for large downloads in bounded memory."""
        with self.get_conn(headers) as client:
            params = data if self.method in ("GET", "HEAD") else None
            with client.stream(self.method, self.url_for(endpoint), params=params) as response:
                if response.status_code >= 400:
                    response.read()
                    raise TradewindError(
                        f"HTTP {response.status_code} from {self.method} {response.request.url}"
                    )
                yield response
