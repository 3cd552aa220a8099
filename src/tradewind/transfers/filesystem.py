"""FileTransferOperator: copy files between local paths and fsspec URLs, chunk by chunk."""

from __future__ import annotations

import logging
import os
from typing import Any

from tradewind.errors import TradewindError
from tradewind.sdk.baseoperator import BaseOperator

log = logging.getLogger("tradewind.task")


class FileTransferOperator(BaseOperator):
    """Copy ``src`` (a path, URL or glob pattern) to ``dst`` (a file, or a folder for patterns).

    Args:
        src / dst: local paths or fsspec URLs (``s3://...`` with s3fs installed), templated.
        overwrite: replace existing destination files (else fail).
        source_conn_id / dest_conn_id: optional ``fs`` connections (base path, storage options).
    """

    template_fields = ("src", "dst")

    def __init__(
        self,
        *,
        src: str,
        dst: str,
        overwrite: bool = True,
        source_conn_id: str | None = None,
        dest_conn_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.src = src
        self.dst = dst
        self.overwrite = overwrite
        self.source_conn_id = source_conn_id
        self.dest_conn_id = dest_conn_id

    def execute(self, context: dict[str, Any]) -> list[str]:
        from tradewind.hooks.filesystem import FSHook

        source, dest = FSHook(self.source_conn_id), FSHook(self.dest_conn_id)
        pattern = any(c in self.src for c in "*?[")
        files = source.glob(self.src) if pattern else [self.src]
        if not files:
            raise TradewindError(f"no file matches {self.src}")
        copied = []
        for path in files:
            target = (
                self.dst.rstrip("/") + "/" + os.path.basename(path)
                if pattern or self.dst.endswith("/")
                else self.dst
            )
            if not self.overwrite and dest.exists(target):
                raise TradewindError(f"{target} exists already (overwrite=False)")
            with source.open(path, "rb") as src, dest.open(target, "wb") as dst:
                while chunk := src.read(1024 * 1024):
                    dst.write(chunk)
            log.info("Copied %s to %s", path, target)
            copied.append(target)
        return copied


LocalFilesystemToFileOperator = FileTransferOperator
