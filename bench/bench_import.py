"""Import time of ``tradewind`` and wall time of ``tradewind version`` (median of 5 each).

``python -X importtime`` prints one line per module to stderr; the last line is the top-level
``tradewind`` import and its second column is the cumulative time in microseconds. Also
reports whether the import pulled in SQLAlchemy (it must not).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

from measure import emit, skip

RUNS = 5


def import_time_us() -> tuple[int, bool]:
    """Return (cumulative µs of ``import tradewind``, whether sqlalchemy was imported)."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import tradewind"],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    lines = [ln for ln in out.splitlines() if ln.startswith("import time:")]
    last = lines[-1].split("|")
    if last[2].strip() != "tradewind":
        raise SystemExit(f"unexpected last importtime line: {lines[-1]}")
    pulled_sqlalchemy = any(ln.split("|")[2].strip() == "sqlalchemy" for ln in lines)
    return int(last[1].strip()), pulled_sqlalchemy


def dag_file_import_us() -> int:
    """Return µs of the imports a DAG file does (DAG and PythonOperator), from importtime.

    ``import tradewind`` is lazy, so this sums the top-level imports that follow it.
    """
    code = "import tradewind; from tradewind import DAG; from tradewind.operators.python import PythonOperator"
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True
    ).stderr
    total, seen = 0, False
    for line in out.splitlines():
        parts = line.split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name = parts[2]
        top_level = len(name) - len(name.lstrip()) == 1
        seen = seen or name.strip() == "tradewind"
        if seen and top_level:
            total += int(parts[1])
    return total


def version_wall() -> float:
    """Wall seconds of one ``tradewind version`` through the installed console script."""
    start = time.perf_counter()
    subprocess.run(["tradewind", "version"], capture_output=True, check=True)
    return time.perf_counter() - start


def main() -> None:
    results = [import_time_us() for _ in range(RUNS)]
    emit(
        "import_tradewind",
        [us / 1000 for us, _ in results],
        "ms",
        digits=1,
        imports_sqlalchemy=any(sa for _, sa in results),
        target_ms=100,
    )
    emit(
        "import_dag_authoring_api",
        [dag_file_import_us() / 1000 for _ in range(RUNS)],
        "ms",
        digits=1,
        what="from tradewind import DAG; from tradewind.operators.python import PythonOperator",
    )
    exe = shutil.which("tradewind")
    if exe is None:
        skip("tradewind_version_wall", "no `tradewind` on PATH (pip install -e .)")
        return
    subprocess.run(["tradewind", "version"], capture_output=True, check=True)  # warm the page cache
    emit(
        "tradewind_version_wall",
        [version_wall() * 1000 for _ in range(RUNS)],
        "ms",
        digits=1,
        executable=exe,
        via_pyenv_shim="/.pyenv/shims/" in exe,
        target_ms=300,
    )
    if "/.pyenv/shims/" in exe:
        # pyenv's shim is a bash script that costs tens of ms before Python starts.
        direct = os.path.join(os.path.dirname(sys.executable), "tradewind")
        if os.path.exists(direct):
            runs = []
            for _ in range(RUNS):
                start = time.perf_counter()
                subprocess.run([direct, "version"], capture_output=True, check=True)
                runs.append((time.perf_counter() - start) * 1000)
            emit("tradewind_version_wall_direct", runs, "ms", digits=1, executable=direct)


if __name__ == "__main__":
    main()
