"""FSHook: files on local paths, and fsspec URLs (s3://, gcs://, memory://) when installed."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from tradewind.errors import ConfigError
from tradewind.hooks.base import BaseHook, Connection

CHUNK = 1024 * 1024


def is_url(path: str) -> bool:
    """True for ``scheme://...`` paths other than ``file://``."""
    return "://" in path and not path.startswith("file://")


def _fsspec() -> Any:
    try:
        import fsspec
    except ImportError:
        raise ConfigError(
            "paths with a scheme (s3://, gcs://...) need fsspec: pip install fsspec s3fs"
        ) from None
    return fsspec


class FSHook(BaseHook):
    """Open, list and copy files; the ``fs`` connection's ``extra.path`` is the base folder.

    Args:
        fs_conn_id: connection of type ``fs`` (``extra: {"path": "/data"}``), optional.
        connection: a Connection object instead of an id.
        storage_options: fsspec options (credentials...) for URL paths; a connection's extra
            ``storage_options`` is merged in.
    """

    conn_name_attr = "fs_conn_id"
    default_conn_name = "fs_default"
    conn_type = "fs"

    def __init__(
        self,
        fs_conn_id: str | None = None,
        *,
        connection: Connection | None = None,
        storage_options: dict[str, Any] | None = None,
    ):
        self.fs_conn_id = fs_conn_id
        self._connection = connection
        self.storage_options = dict(storage_options or {})

    @property
    def connection(self) -> Connection | None:
        if self._connection is None and self.fs_conn_id:
            self._connection = self.get_connection(self.fs_conn_id)
        return self._connection

    def get_path(self) -> str:
        """The base folder of the connection ('' without a connection)."""
        c = self.connection
        if c is None:
            return ""
        return str(c.extra_dejson.get("path") or c.host or "")

    def resolve(self, path: str) -> str:
        """Join a relative path to the connection's base folder."""
        path = path.removeprefix("file://")
        base = self.get_path()
        if base and not is_url(path) and not os.path.isabs(path):
            return base.rstrip("/") + "/" + path
        return path

    def _options(self) -> dict[str, Any]:
        c = self.connection
        extra = c.extra_dejson.get("storage_options", {}) if c is not None else {}
        return {**extra, **self.storage_options}

    @contextmanager
    def open(self, path: str, mode: str = "rb") -> Iterator[IO[Any]]:
        """Open a local path or an fsspec URL."""
        path = self.resolve(path)
        if is_url(path):
            with _fsspec().open(path, mode, **self._options()) as f:
                yield f
            return
        if "w" in mode or "a" in mode:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        with open(path, mode) as f:
            yield f

    def exists(self, path: str) -> bool:
        path = self.resolve(path)
        if is_url(path):
            fs, _, paths = _fsspec().get_fs_token_paths(path, storage_options=self._options())
            return bool(fs.exists(paths[0]))
        return os.path.exists(path)

    def glob(self, pattern: str) -> list[str]:
        """Paths matching a glob pattern (``*``, ``**``)."""
        pattern = self.resolve(pattern)
        if is_url(pattern):
            fs, _, _ = _fsspec().get_fs_token_paths(pattern, storage_options=self._options())
            protocol = pattern.split("://", 1)[0]
            return [f"{protocol}://{p}" for p in fs.glob(pattern)]
        import glob

        return sorted(glob.glob(pattern, recursive=True))

    def copy(self, source: str, destination: str, *, chunk_size: int = CHUNK) -> int:
        """Copy one file chunk by chunk (any mix of local paths and URLs); return bytes copied."""
        copied = 0
        with self.open(source, "rb") as src, self.open(destination, "wb") as dst:
            while True:
                chunk = src.read(chunk_size)
                if not chunk:
                    break
                dst.write(chunk)
                copied += len(chunk)
        return copied

    def delete(self, path: str) -> None:
        path = self.resolve(path)
        if is_url(path):
            fs, _, paths = _fsspec().get_fs_token_paths(path, storage_options=self._options())
            fs.rm(paths[0])
        elif os.path.isdir(path):
            shutil.rmtree(path)
        else:
            os.remove(path)
