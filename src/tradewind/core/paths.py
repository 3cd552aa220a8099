"""Paths built from user-controlled parts (run id, task id, map index, try number, file names).

Every such path goes through :func:`contained_path`, which resolves it and refuses it when it
would leave its base folder (``..``, an absolute part, a NUL byte, a symlink pointing out).
Validating the parts where they enter (run ids, task ids) is the first defence; this is the
second, so that one missed validation or a permissive ``allowed_run_id_pattern`` cannot write
or read outside the log folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from tradewind.errors import InvalidInput


class UnsafePath(InvalidInput):
    """A path built from user-controlled parts would leave its base folder."""


def contained_path(base: str | os.PathLike[str], *parts: str) -> Path:
    """``base / parts...``, refused with :class:`UnsafePath` if it resolves outside ``base``.

    Args:
        base: the folder the result must stay in (the log folder, the DAGs folder...).
        parts: path components, each possibly user-controlled.

    Returns:
        The joined path (not resolved, so log messages show the configured folder).
    """
    for part in parts:
        if "\x00" in part:
            raise UnsafePath(f"path component {part!r} contains a NUL byte")
        if os.path.isabs(part):
            raise UnsafePath(f"path component {part!r} is absolute")
    path = Path(base).joinpath(*parts)
    if not is_contained(base, path):
        raise UnsafePath(
            f"path {os.fspath(path)!r} leaves its folder {os.fspath(base)!r}: "
            "a run id, task id or file name contains '..' or a path separator"
        )
    return path


def is_contained(
    base: str | os.PathLike[str], path: str | os.PathLike[str], *, follow_symlinks: bool = True
) -> bool:
    """True if ``path`` lies inside ``base`` once ``..`` (and, by default, symlinks) are resolved.

    ``follow_symlinks=False`` keeps a symlink placed inside ``base`` inside (a DAGs folder
    that links to DAG files kept elsewhere).
    """
    root = _normal(base, follow_symlinks)
    real = _normal(path, follow_symlinks)
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def _normal(path: str | os.PathLike[str], follow_symlinks: bool) -> str:
    if follow_symlinks:
        return os.path.realpath(path)
    return os.path.normpath(os.path.abspath(path))
