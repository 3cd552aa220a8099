"""Child processes of ``scheduler`` and ``standalone``: start them forked, stop them all."""

from __future__ import annotations

import contextlib
import gc
import logging
import multiprocessing
import os
import shutil
import signal
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

log = logging.getLogger("tradewind.cli")
EXAMPLES_SUBFOLDER = "tradewind_examples"
_EXAMPLES_MARKER = ".tradewind_examples"


def _child_main(target: Callable[..., None], args: tuple[Any, ...], name: str = "") -> None:
    from tradewind.worker.processes import die_with_parent

    die_with_parent(signal.SIGTERM)  # stopped cleanly if the parent dies
    # What the parent imported stays shared: the collector never walks (and copies) it here.
    gc.freeze()
    if name:  # what ps -o comm and top show: tw-webserver, tw-triggerer, tw-dag-processo
        with contextlib.suppress(OSError):
            Path("/proc/self/comm").write_text(name.replace("tradewind-", "tw-")[:15])
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    target(*args)


def start_child(name: str, target: Callable[..., None], *args: Any) -> BaseProcess:
    """Fork a child running ``target(*args)``; it dies if this process dies.

    This process's heap is frozen out of the cyclic collector first: a later collection here
    would write to every object it walks, and so turn the pages the child shares with this
    process into copies of its own (#17: PSS of the idle set).
    """
    gc.collect()
    gc.freeze()
    ctx = multiprocessing.get_context("fork")
    proc = ctx.Process(target=_child_main, args=(target, args, name), name=name, daemon=False)
    proc.start()
    log.info("started %s (pid %s)", name, proc.pid)
    return proc


def stop_children(children: list[BaseProcess], grace: float = 10.0) -> None:
    """SIGTERM every live child, wait up to ``grace`` seconds, then SIGKILL what is left."""
    for proc in children:
        if proc.is_alive() and proc.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGTERM)
    for proc in children:
        proc.join(grace)
        if proc.is_alive():
            log.warning("%s did not stop in %.0f s; killing it", proc.name, grace)
            proc.kill()
            proc.join(5)


def example_dags_source() -> Path:
    """The folder of the example DAGs shipped with the package."""
    return Path(__file__).resolve().parent.parent / "example_dags"


def sync_examples(dags_folder: Path, load_examples: bool) -> Path | None:
    """Copy the example DAGs into ``<dags_folder>/tradewind_examples`` (or remove them).

    The DAG processor watches one folder, so the examples live in a sub-folder of it; a
    marker file tells our copy apart from a user's folder of the same name.
    """
    target = dags_folder / EXAMPLES_SUBFOLDER
    ours = (target / _EXAMPLES_MARKER).exists()
    if not load_examples:
        if ours:
            shutil.rmtree(target)
        return None
    if target.exists() and not ours:
        return None
    target.mkdir(parents=True, exist_ok=True)
    (target / _EXAMPLES_MARKER).write_text(
        "copied by tradewind; removed when load_examples=false\n"
    )
    for src in sorted(example_dags_source().glob("*.py")):
        if src.name == "__init__.py":
            continue
        dst = target / src.name
        if not dst.exists() or dst.read_bytes() != src.read_bytes():
            shutil.copyfile(src, dst)
    return target
