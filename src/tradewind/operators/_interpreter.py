"""Run a Python function in another interpreter: a cached virtualenv or a given python.

The function's source (not a pickle) is written into a script with its arguments and result
as JSON files, so the other interpreter needs neither Tradewind nor the DAG file. Virtualenvs
are made with ``uv`` when it is on the PATH, else with ``python -m venv``, and cached under
one folder per hash of (python, requirements, options).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import inspect
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from tradewind.errors import TradewindError, TradewindSkipException

log = logging.getLogger("tradewind.task")

_SCRIPT = """
import json, sys
{source}
with open(sys.argv[1]) as _f:
    _call = json.load(_f)
_result = {name}(*_call["args"], **_call["kwargs"])
with open(sys.argv[2], "w") as _f:
    json.dump(_result, _f)
"""


def is_venv_installed() -> bool:
    """Whether virtualenvs can be made here (``uv``, or the standard ``venv`` module)."""
    import importlib.util

    return bool(shutil.which("uv")) or importlib.util.find_spec("venv") is not None


def function_source(fn: Callable[..., Any]) -> str:
    """The source of ``fn`` without its decorators (``@task.virtualenv(...)``)."""
    try:
        source = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError) as exc:
        raise TradewindError(
            f"cannot read the source of {getattr(fn, '__name__', fn)!r} to run it in another "
            f"interpreter: {exc}"
        ) from None
    lines = source.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.lstrip().startswith(("def ", "async def")))
    return "\n".join(lines[start:])


def run_function(
    python: str,
    fn: Callable[..., Any],
    args: Sequence[Any],
    kwargs: dict[str, Any],
    *,
    skip_on_exit_code: Sequence[int] = (),
) -> Any:
    """Call ``fn(*args, **kwargs)`` in ``python``; its output goes to the task log."""
    if not os.path.isfile(python) or not os.access(python, os.X_OK):
        raise TradewindError(f"Python interpreter {python!r} does not exist or is not executable")
    try:
        call = json.dumps({"args": list(args), "kwargs": kwargs})
    except TypeError as exc:
        raise TradewindError(
            f"the arguments of {fn.__name__} must be JSON to cross to another interpreter: {exc}"
        ) from None
    with tempfile.TemporaryDirectory(prefix="tradewind_py_") as tmp:
        script, inp, out = Path(tmp, "script.py"), Path(tmp, "in.json"), Path(tmp, "out.json")
        script.write_text(_SCRIPT.format(source=function_source(fn), name=fn.__name__))
        inp.write_text(call)
        code = _stream([python, str(script), str(inp), str(out)], cwd=tmp)
        if code in skip_on_exit_code:
            raise TradewindSkipException(f"the function exited with code {code}: task skipped")
        if code != 0:
            raise TradewindError(f"{fn.__name__} failed in {python} (exit code {code})")
        return json.loads(out.read_text()) if out.exists() else None


def _stream(cmd: list[str], cwd: str | None = None) -> int:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=cwd)
    assert proc.stdout is not None
    for raw in iter(proc.stdout.readline, b""):
        log.info("%s", raw.decode(errors="replace").rstrip("\n"))
    return proc.wait()


def virtualenv_python(
    requirements: Sequence[str],
    *,
    python_version: str | None = None,
    system_site_packages: bool = False,
    pip_install_options: Sequence[str] = (),
    cache_path: str | os.PathLike[str] | None = None,
) -> str:
    """The interpreter of a virtualenv with ``requirements``, made once and then reused."""
    base = _base_python(python_version)
    key = json.dumps(
        [base, sorted(requirements), system_site_packages, list(pip_install_options)]
    ).encode()
    root = Path(cache_path or Path(tempfile.gettempdir()) / "tradewind-venvs")
    venv = root / f"venv-{hashlib.sha256(key).hexdigest()[:16]}"
    python = venv / "bin" / "python"
    root.mkdir(parents=True, exist_ok=True)
    with _locked(root / f"{venv.name}.lock"):
        if (venv / ".tradewind-ready").exists():
            log.info("Reusing the virtualenv %s", venv)
            return str(python)
        shutil.rmtree(venv, ignore_errors=True)
        _create(base, venv, system_site_packages)
        if requirements:
            _install(python, requirements, pip_install_options)
        (venv / ".tradewind-ready").write_text(key.decode())
    return str(python)


def _base_python(version: str | None) -> str:
    if not version:
        return sys.executable
    found = shutil.which(f"python{version}")
    if found is None:
        raise TradewindError(f"python_version {version!r}: no python{version} on the PATH")
    return found


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One process makes a given virtualenv; the others wait for it."""
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _create(base: str, venv: Path, system_site_packages: bool) -> None:
    uv = shutil.which("uv")
    site = ["--system-site-packages"] if system_site_packages else []
    if uv:
        cmd = [uv, "venv", "--seed", "--python", base, *site, str(venv)]
    else:
        cmd = [base, "-m", "venv", *site, str(venv)]
    log.info("Creating the virtualenv %s", venv)
    if _stream(cmd) != 0:
        raise TradewindError(f"could not create a virtualenv with: {' '.join(cmd)}")


def _install(python: Path, requirements: Sequence[str], options: Sequence[str]) -> None:
    uv = shutil.which("uv")
    if uv:
        cmd = [uv, "pip", "install", "--python", str(python), *options, *requirements]
    else:
        cmd = [str(python), "-m", "pip", "install", "-q", *options, *requirements]
    log.info("Installing %s", " ".join(requirements))
    if _stream(cmd) != 0:
        raise TradewindError(
            f"could not install the requirements {list(requirements)} into the virtualenv "
            "(see the lines above for pip's reason)"
        )
