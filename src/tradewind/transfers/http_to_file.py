"""HttpToFileOperator: download an HTTP answer into a file, chunk by chunk."""

from __future__ import annotations

import logging
from typing import Any

from tradewind.sdk.baseoperator import BaseOperator

log = logging.getLogger("tradewind.task")


class HttpToFileOperator(BaseOperator):
    """GET ``endpoint`` of ``http_conn_id`` and stream the body into ``path``.

    Args:
        endpoint: path under the connection's base URL (templated).
        path: local path or fsspec URL to write (templated).
        data: query parameters; headers: request headers.
        chunk_size: bytes read and written at a time.
    """

    template_fields = ("endpoint", "path", "data", "headers")

    def __init__(
        self,
        *,
        endpoint: str,
        path: str,
        http_conn_id: str = "http_default",
        method: str = "GET",
        data: Any = None,
        headers: dict[str, str] | None = None,
        chunk_size: int = 1024 * 1024,
        fs_conn_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.endpoint = endpoint
        self.path = path
        self.http_conn_id = http_conn_id
        self.method = method
        self.data = data
        self.headers = headers or {}
        self.chunk_size = int(chunk_size)
        self.fs_conn_id = fs_conn_id

    def execute(self, context: dict[str, Any]) -> dict[str, Any]:
        from tradewind.hooks.filesystem import FSHook
        from tradewind.hooks.http import HttpHook

        hook = HttpHook(self.method, self.http_conn_id)
        written = 0
        with (
            hook.stream(self.endpoint, self.data, self.headers) as response,
            FSHook(self.fs_conn_id).open(self.path, "wb") as f,
        ):
            for chunk in response.iter_bytes(self.chunk_size):
                f.write(chunk)
                written += len(chunk)
        log.info("Downloaded %d bytes to %s", written, self.path)
        return {"path": self.path, "bytes": written}
