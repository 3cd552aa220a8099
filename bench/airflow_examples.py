"""Run Apache Airflow's own example DAG files, unmodified, through Tradewind.

Downloads the apache-airflow 2.10.5 and apache-airflow-core 3.3.2 wheels (``pip download
--no-deps``), extracts ``airflow/example_dags/`` of each into a scratch folder outside the
repository (Airflow's code is never copied into this project), points a fresh
``TRADEWIND_HOME`` at it, and as a new user would:

1. ``tradewind dags list`` / ``dags list-import-errors``: which files parse;
2. ``tradewind dags test DAG_ID`` for every DAG found: which runs end ``success``.

Prints one JSON line per file and per DAG, then the summary lines
``{"metric": "airflow_examples_parse", "value": <percent>, ...}`` and
``{"metric": "airflow_examples_success", ...}`` per version and overall.

Files needing Kubernetes, a cloud account or the internet are left out (``EXCLUDED``).

    python bench/airflow_examples.py [--version 2.10.5] [--only example_xcom] [--timeout 120]
                                     [--parse-only]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

WHEELS = {
    "2.10.5": ("apache-airflow==2.10.5", "apache_airflow-2.10.5-py3-none-any.whl"),
    "3.3.2": ("apache-airflow-core==3.3.2", "apache_airflow_core-3.3.2-py3-none-any.whl"),
}

#: file stem -> why it is not measured
EXCLUDED = {
    "example_kubernetes_executor": "needs Kubernetes",
    "example_local_kubernetes_executor": "needs Kubernetes",
    "tutorial_objectstorage": "needs the internet (an HTTP API) and S3",
    "example_dag_decorator": "needs the internet (GET httpbin.org, 3.3.2: httpbingo.org)",
    "example_retry_policy": "needs the internet (GET https://api.example.com/data)",
}

#: (version, dag_id) -> why its run does not end ``success`` on Airflow either
EXPECTED_NOT_SUCCESS = {
    ("3.3.2", "example_failed_dag"): "fails on purpose",
    ("2.10.5", "tutorial_taskflow_templates"): "its sql/test.sql is not in the wheel",
    ("2.10.5", "example_params_ui_tutorial"): "a required param without default: needs --conf",
    ("3.3.2", "example_params_ui_tutorial"): "a required param without default: needs --conf",
    ("2.10.5", "example_passing_params_via_test_command"): "renders params.foo: needs -c foo=...",
    ("3.3.2", "example_passing_params_via_test_command"): "renders params.foo: needs -c foo=...",
    ("2.10.5", "example_external_task_marker_child"): "waits for a task group the parent lacks",
    ("2.10.5", "example_sensors"): "a TimeSensorAsync waits until an hour from parse time",
    ("2.10.5", "read_dataset_event_from_classic"): "its template calls Dataset(...), which "
    "Airflow's template context does not define either",
    ("3.3.2", "read_asset_event_from_classic"): "renders the last event of s3://output/1.txt, "
    "which has none yet: its producers (example_outlet_event_extra) run after it",
}


def download(cache: Path) -> None:
    """Fetch the two wheels into ``cache`` unless they are already there."""
    cache.mkdir(parents=True, exist_ok=True)
    missing = [spec for spec, name in WHEELS.values() if not (cache / name).exists()]
    if missing:
        cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(cache)]
        subprocess.run([*cmd, *missing], check=True)


def extract(cache: Path, version: str, dest: Path) -> Path:
    """Unpack ``airflow/example_dags/`` of one wheel; return that folder."""
    wheel = cache / WHEELS[version][1]
    with zipfile.ZipFile(wheel) as zf:
        for member in zf.namelist():
            if member.startswith("airflow/example_dags/"):
                zf.extract(member, dest)
    folder = dest / "airflow" / "example_dags"
    for stem in EXCLUDED:
        (folder / f"{stem}.py").unlink(missing_ok=True)
    return folder


def example_files(folder: Path, only: list[str]) -> list[Path]:
    """The DAG files measured: the top-level example_*.py and tutorial*.py."""
    files = sorted(p for p in folder.glob("*.py") if p.stem != "__init__")
    return [p for p in files if not only or any(o in p.stem for o in only)]


#: settings whose default changed between the versions: each file runs with its version's
CONFIG = {"2.10.5": {"TRADEWIND__SCHEDULER__CATCHUP_BY_DEFAULT": "true"}, "3.3.2": {}}


def tradewind(home: Path, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("tradewind")
    folder = home.parent / "src" / "airflow" / "example_dags"
    env = {
        **os.environ,
        "TRADEWIND_HOME": str(home),
        "TRADEWIND__CORE__DAGS_FOLDER": str(folder),
        "TRADEWIND__CORE__PLUGINS_FOLDER": str(folder / "plugins"),
        "TRADEWIND__CORE__LOAD_EXAMPLES": "false",
        **CONFIG.get(home.parent.name, {}),
    }
    # From the folder holding airflow/example_dags, as Airflow's own test runs (one example
    # globs "airflow/example_dags/*.py" relative to the working directory).
    return subprocess.run(
        [str(exe), *args],
        env=env,
        cwd=home.parent / "src",
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def make_home(root: Path) -> Path:
    home = root / "home"
    home.mkdir(parents=True, exist_ok=True)
    tradewind(home, "db", "init", timeout=120)
    return home


def parse(home: Path, files: list[Path]) -> tuple[dict[str, str | None], dict[str, list[str]]]:
    """Error (or None) per file, and the DAG ids each file defines."""
    listed = tradewind(home, "dags", "list", "-o", "json", timeout=600)
    dags = json.loads(listed.stdout or "[]") if listed.returncode == 0 else []
    errors_out = tradewind(
        home, "dags", "list-import-errors", "--no-refresh", "-o", "json", timeout=120
    )
    errors = json.loads(errors_out.stdout or "[]") if errors_out.returncode == 0 else []
    by_file: dict[str, list[str]] = {str(p): [] for p in files}
    for d in dags:
        by_file.setdefault(d["fileloc"], []).append(d["dag_id"])
    err = {str(p): None for p in files}
    for e in errors:
        if e["filepath"] in err:
            last = [ln for ln in str(e["error"]).strip().splitlines() if ln.strip()]
            err[e["filepath"]] = f"line {e['lineno']}: {last[-1] if last else e['error']}"
    return err, by_file


def test_dag(home: Path, dag_id: str, timeout: float) -> dict[str, object]:
    start = time.monotonic()
    try:
        proc = tradewind(home, "dags", "test", dag_id, "-q", "-o", "json", timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"state": "timeout", "seconds": timeout}
    tasks = {}
    try:
        tasks = {t["task_id"]: t["state"] for t in json.loads(proc.stdout)}
    except (ValueError, TypeError, KeyError):
        pass
    state = "success" if proc.returncode == 0 else "failed"
    out: dict[str, object] = {"state": state, "seconds": round(time.monotonic() - start, 1)}
    if state != "success":
        out["tasks"] = {k: v for k, v in tasks.items() if v != "success"}
        tail = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()][-3:]
        out["error"] = " | ".join(tail) or task_errors(home, dag_id)
    return out


def task_errors(home: Path, dag_id: str) -> str:
    """The last exception line of each failed task's log in ``dag_id``'s newest run."""
    runs = sorted((home / "logs" / f"dag_id={dag_id}").glob("run_id=*"), key=os.path.getmtime)
    found: list[str] = []
    for log in sorted(runs[-1].rglob("*.log")) if runs else []:
        detail = ""
        for line in log.read_text(errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("error_detail"):
                detail = record["error_detail"].strip().splitlines()[-1]
            elif record.get("level") == "error" and not detail:
                detail = str(record.get("event", ""))
        if detail:
            found.append(f"{log.parent.name[len('task_id=') :]}: {detail[:240]}")
    return " | ".join(found[:3])


def measure(version: str, cache: Path, scratch: Path, args: argparse.Namespace) -> dict:
    root = scratch / version
    shutil.rmtree(root, ignore_errors=True)
    folder = extract(cache, version, root / "src")
    files = example_files(folder, args.only)
    home = make_home(root)
    errors, by_file = parse(home, files)
    parsed = 0
    runs: list[tuple[str, str]] = []
    for path in files:
        error = errors[str(path)]
        parsed += error is None
        ids = sorted(by_file.get(str(path), []))
        print(
            json.dumps(
                {
                    "version": version,
                    "file": path.name,
                    "parsed": error is None,
                    "error": error,
                    "dags": ids,
                }
            ),
            flush=True,
        )
        runs += [(path.stem, d) for d in ids]
    if args.parse_only:
        runs = []
    ok = 0
    for stem, dag_id in runs:
        result = test_dag(home, dag_id, args.timeout)
        ok += result["state"] == "success"
        expected = EXPECTED_NOT_SUCCESS.get((version, dag_id))
        print(
            json.dumps(
                {
                    "version": version,
                    "file": stem,
                    "dag_id": dag_id,
                    **result,
                    **({"expected": expected} if expected else {}),
                }
            ),
            flush=True,
        )
    return {
        "version": version,
        "files": len(files),
        "parsed": parsed,
        "dags": len(runs),
        "succeeded": ok,
    }


def summary(rows: list[dict]) -> None:
    for scope, part in [*((r["version"], [r]) for r in rows), ("all", rows)]:
        files = sum(r["files"] for r in part)
        parsed = sum(r["parsed"] for r in part)
        dags = sum(r["dags"] for r in part)
        good = sum(r["succeeded"] for r in part)
        for metric, num, den in (("parse", parsed, files), ("success", good, dags)):
            value = round(100.0 * num / den, 1) if den else None
            print(
                json.dumps(
                    {
                        "metric": f"airflow_examples_{metric}",
                        "version": scope,
                        "value": value,
                        "unit": "%",
                        "count": num,
                        "of": den,
                    }
                )
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="append", choices=sorted(WHEELS))
    parser.add_argument("--only", action="append", default=[], help="file stem substring")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds per dags test")
    parser.add_argument("--parse-only", action="store_true", help="skip the dags test runs")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "compat-wheels")
    parser.add_argument(
        "--scratch", type=Path, default=Path(tempfile.gettempdir()) / "tradewind-airflow-examples"
    )
    args = parser.parse_args()
    download(args.cache)
    rows = [measure(v, args.cache, args.scratch, args) for v in (args.version or sorted(WHEELS))]
    summary(rows)


if __name__ == "__main__":
    main()
