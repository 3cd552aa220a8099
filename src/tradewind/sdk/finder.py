"""Find the DAG files of a folder: ``*.py`` files, minus what ignore files exclude.

Ignore files (``.tradewindignore``, and ``.airflowignore`` for ported projects) hold
gitignore-style glob patterns, as Airflow's ``dag_ignore_file_syntax = glob``: one pattern a
line, ``#`` comments, ``!`` re-includes, a trailing ``/`` matches directories only, a pattern
with a ``/`` inside is anchored at the ignore file's folder, one without matches at any depth
below it. Patterns apply to the folder of their ignore file and everything below it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from tradewind.sdk.loader import might_contain_dag

IGNORE_FILE_NAMES = (".tradewindignore", ".airflowignore")
SKIPPED_DIR_NAMES = frozenset({"__pycache__", "node_modules"})


@dataclass(frozen=True)
class IgnoreRule:
    """One compiled pattern of an ignore file, relative to the folder holding that file."""

    base: str
    regex: re.Pattern[str]
    negated: bool
    dir_only: bool

    def matches(self, path: str, is_dir: bool) -> bool:
        """Return True if ``path`` (absolute) is matched by this rule."""
        if self.dir_only and not is_dir:
            return False
        rel = os.path.relpath(path, self.base)
        if rel.startswith(".."):
            return False
        return self.regex.fullmatch(rel.replace(os.sep, "/")) is not None


def _glob_to_regex(pattern: str) -> str:
    """Translate one gitignore glob (without anchoring) to a regex over ``/``-separated paths."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 2)
            if end == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def parse_ignore_line(line: str, base: str) -> IgnoreRule | None:
    """Compile one line of an ignore file found in folder ``base``; None for blanks/comments."""
    line = line.rstrip("\n").rstrip()
    if not line or line.startswith("#"):
        return None
    negated = line.startswith("!")
    if negated:
        line = line[1:]
    dir_only = line.endswith("/")
    line = line.rstrip("/")
    if not line:
        return None
    anchored = "/" in line
    line = line.lstrip("/")
    body = _glob_to_regex(line)
    # An unanchored pattern matches a name at any depth; a matched directory hides its content,
    # which the walk handles by pruning it.
    regex = body if anchored else f"(?:.*/)?{body}"
    return IgnoreRule(base=base, regex=re.compile(regex), negated=negated, dir_only=dir_only)


def read_ignore_rules(folder: str) -> list[IgnoreRule]:
    """Return the rules of the ignore files directly in ``folder`` (none if there are none)."""
    rules: list[IgnoreRule] = []
    for name in IGNORE_FILE_NAMES:
        path = os.path.join(folder, name)
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                lines = f.readlines()
        except OSError:
            continue
        rules.extend(r for r in (parse_ignore_line(ln, folder) for ln in lines) if r)
    return rules


def is_ignored(path: str, is_dir: bool, rules: list[IgnoreRule]) -> bool:
    """Apply ``rules`` in order; as in git, the last matching rule decides."""
    ignored = False
    for rule in rules:
        if rule.matches(path, is_dir):
            ignored = not rule.negated
    return ignored


def _hidden(name: str) -> bool:
    return name.startswith(".")


def find_dag_files(dags_folder: str | Path, *, safe_mode: bool = True) -> list[str]:
    """Return the absolute paths of the DAG files under ``dags_folder``, sorted.

    Args:
        dags_folder: the folder to search recursively; a missing folder yields no files.
        safe_mode: skip files that mention neither ``dag`` nor ``DAG`` (Airflow's default).
    """
    root = os.path.abspath(dags_folder)
    if not os.path.isdir(root):
        return []
    rules_by_dir: dict[str, list[IgnoreRule]] = {}
    found: list[str] = []
    visited: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in visited:  # a symlink loop, or two links to one folder: walk it once
            dirnames[:] = []
            continue
        visited.add(real)
        parent_rules = rules_by_dir.get(os.path.dirname(dirpath), [])
        rules = parent_rules + read_ignore_rules(dirpath)
        rules_by_dir[dirpath] = rules
        dirnames[:] = sorted(
            d
            for d in dirnames
            if not _hidden(d)
            and d not in SKIPPED_DIR_NAMES
            and not is_ignored(os.path.join(dirpath, d), True, rules)
        )
        for name in filenames:
            if not name.endswith(".py") or _hidden(name):
                continue
            path = os.path.join(dirpath, name)
            if is_ignored(path, False, rules):
                continue
            if safe_mode and not might_contain_dag(path):
                continue
            found.append(path)
    found.sort()
    return found
