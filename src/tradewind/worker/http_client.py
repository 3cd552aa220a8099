"""The execution API over HTTP: what a Celery worker on another node uses to report.

Each call is ``POST {base_url}task-instances/{ti_id}/{method}`` with a JSON body of the other
arguments and the task-scoped token as a bearer token. Connection errors and 5xx answers are
retried with backoff for up to ``retry_for`` seconds, so a network blip or a webserver restart
delays a task but loses nothing; the server's compare-and-set makes a replayed call harmless.
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import ssl
import time
import urllib.parse
from typing import Any

from tradewind import errors
from tradewind.core.execution_api import (
    ERROR_HEADER,
    GeneratedClient,
    Method,
    decode_error,
    error_of_status,
    generated_client,
)

log = logging.getLogger("tradewind.worker.http")

_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
_ssl_context: ssl.SSLContext | None = None


def shared_ssl_context() -> ssl.SSLContext:
    """One TLS context per process tree: loading the CA bundle takes ~0.1 s, too much per try.

    Call it before forking so children inherit it.
    """
    global _ssl_context
    if _ssl_context is None:
        _ssl_context = ssl.create_default_context()
    return _ssl_context


@generated_client()
class HttpExecutionClient(GeneratedClient):
    """Implements :class:`tradewind.core.execution.ExecutionAPI` over HTTP (keep-alive); its
    methods are generated from the method table (``core/execution_api.py``), each one a
    ``POST .../task-instances/{ti_id}/<method>`` with the call's fields as the JSON body.

    Uses the standard library's ``http.client`` on one persistent connection: a call costs a
    fraction of a millisecond of CPU here, several times less than a general HTTP client.

    Args:
        base_url: the execution API root, e.g. ``http://node-a:8080/execution/``.
        timeout: seconds for one request.
        retry_for: keep retrying connection errors and 5xx answers this long (seconds).
    """

    def __init__(self, base_url: str, *, timeout: float = 30.0, retry_for: float = 300.0):
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.retry_for = retry_for
        self.timeout = timeout
        parts = urllib.parse.urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise errors.ConfigError(f"execution API URL {base_url!r} is not an http(s) URL")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._https else 80)
        self._path = parts.path
        self._conn: http.client.HTTPConnection | None = None

    def close(self) -> None:
        """Close the persistent connection."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            if self._https:
                self._conn = http.client.HTTPSConnection(
                    self._host, self._port, timeout=self.timeout, context=shared_ssl_context()
                )
            else:
                self._conn = http.client.HTTPConnection(
                    self._host, self._port, timeout=self.timeout
                )
        return self._conn

    def _post(self, path: str, body: bytes, token: str) -> tuple[int, bytes, str | None]:
        """One request on the persistent connection (reopened once if the server closed it)."""
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Connection": "keep-alive",
        }
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request("POST", path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()  # an idle keep-alive connection the server dropped: reopen once
                if attempt == 2:
                    raise
                continue
            except BaseException:
                self.close()
                raise
            if resp.will_close:
                self.close()
            return resp.status, data, resp.getheader(ERROR_HEADER)
        raise AssertionError("unreachable")

    # -- transport -------------------------------------------------------------------------
    def call(self, ti_id: int, method: str, token: str, body: dict[str, Any]) -> Any:
        """POST one call; return the decoded answer or raise the mapped error."""
        path = f"{self._path}task-instances/{int(ti_id)}/{method}"
        payload = json.dumps(body, separators=(",", ":"), default=str).encode()
        deadline = time.monotonic() + self.retry_for
        delay = 0.1
        while True:
            try:
                status, data, class_name = self._post(path, payload, token)
            except (OSError, http.client.HTTPException) as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                if status < 400:
                    return json.loads(data) if data else None
                if class_name or status not in _RETRY_STATUS:  # an error of ours is no blip
                    raise _error_for(status, data, class_name)
                problem = f"HTTP {status}"
            if time.monotonic() + delay > deadline:
                raise errors.ExecutionAPIError(
                    f"execution API at {self.base_url} unreachable for {self.retry_for:g} s "
                    f"({method} of task instance {ti_id}): {problem}"
                )
            log.warning("execution API %s failed (%s); retrying in %.1f s", method, problem, delay)
            time.sleep(delay)
            delay = min(delay * 2, 5.0) * (0.8 + 0.4 * random.random())

    def _invoke(self, spec: Method, ti_id: int, token: str, values: list[Any]) -> Any:
        return self.call(ti_id, spec.name, token, spec.to_body(values))

    def verify_callback(self, callback_id: int, token: str) -> None:
        """Raise AuthenticationFailed unless ``token`` was issued for this DAG callback."""
        self.verify(callback_id, token)


def _error_for(status: int, data: bytes, class_name: str | None) -> errors.TradewindError:
    text = data.decode("utf-8", errors="replace")
    try:
        detail = json.loads(text).get("detail", text)
    except (ValueError, AttributeError):
        detail = text
    if class_name:
        return decode_error({"type": class_name, "message": str(detail)})
    return error_of_status(status, str(detail))
