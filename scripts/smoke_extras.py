"""Install each extra the README names into a fresh venv (without the test extra) and run it.

Usage: python scripts/smoke_extras.py [default] [celery] [mysql] [flower] [otel] [bench]   (all by default)

Each smoke is what a new user does after `pip install`: the default install runs
`tradewind standalone` and a 3-task DAG to success; `celery,postgres` runs a scheduler, a web
server and a Celery worker on PostgreSQL with Redis and then with RabbitMQ, the same DAG to
success; `mysql` tests a MariaDB connection through `tradewind connections test`; `flower`
starts Celery's monitor; `otel` sends a DAG run's metrics and traces to a local OTLP receiver; `bench` draws the
benchmarks' chart. Standard library only: it runs before anything is installed. Prints one
JSON line per smoke and exits 1 if any failed. A server that is not reachable fails the smoke
(CI=true) or skips it with a message.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CI = os.environ.get("CI") == "true"

DAG_SOURCE = textwrap.dedent(
    """
    from datetime import datetime, timezone

    from tradewind import DAG, task
    from tradewind.operators.bash import BashOperator

    with DAG("smoke", schedule=None, start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
             is_paused_upon_creation=False):

        @task
        def extract() -> list[int]:
            return [1, 2, 3]

        @task
        def total(xs: list[int]) -> int:
            return sum(xs)

        report = BashOperator(task_id="report", bash_command="echo total is $TOTAL",
                              env={"TOTAL": "{{ ti.xcom_pull(task_ids='total') }}"})
        total(extract()) >> report
    """
)


class SmokeFailed(Exception):
    """A smoke did not get the result a user expects."""


class Skipped(Exception):
    """A server the smoke needs is not on this machine."""


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def need_server(port: int, name: str) -> None:
    if not port_open(port):
        raise Skipped(f"{name} is not reachable at 127.0.0.1:{port}")


def make_venv(work: Path, spec: str) -> Path:
    """A fresh venv with ``pip install '<repo><spec>'`` (not editable: as a user installs)."""
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [
        str(venv / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "-q",
        "--disable-pip-version-check",
    ]
    done = subprocess.run([*pip, f"{ROOT}{spec}"], capture_output=True, text=True)
    if done.returncode != 0:
        raise SmokeFailed(f"pip install '.{spec}' failed:\n{done.stdout}\n{done.stderr[-3000:]}")
    return venv / "bin"


class Procs:
    """Processes started by one smoke, each in its own process group, stopped at the end."""

    def __init__(self, work: Path, env: dict[str, str]):
        self.work, self.env, self.procs = work, env, []

    def start(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        out = open(self.work / f"{name}.log", "wb")  # noqa: SIM115 (closed with the process)
        proc = subprocess.Popen(
            argv, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.procs.append((name, proc, out))
        return proc

    def check_alive(self) -> None:
        for name, proc, _ in self.procs:
            if proc.poll() is not None:
                raise SmokeFailed(f"{name} exited with {proc.returncode}:\n{self.tail(name)}")

    def tail(self, name: str, lines: int = 30) -> str:
        path = self.work / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def tails(self) -> str:
        return "\n".join(f"--- {n} ---\n{self.tail(n)}" for n, _, _ in self.procs)

    def stop(self) -> None:
        for _, proc, _ in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for _, proc, out in self.procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            out.close()


def wait_for(what: str, check: Callable[[], bool], procs: Procs, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        procs.check_alive()
        if time.monotonic() > deadline:
            raise SmokeFailed(f"{what} not reached after {timeout:g} s\n{procs.tails()}")
        time.sleep(0.3)


def cli(bin_dir: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(bin_dir / "tradewind"), *args], env=env, capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        raise SmokeFailed(f"tradewind {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def run_dag_to_success(bin_dir: Path, env: dict[str, str], procs: Procs) -> None:
    """Trigger the smoke DAG once it is parsed and wait for its run to succeed."""

    def parsed() -> bool:
        out = cli(bin_dir, env, "dags", "list", "-o", "json")
        return any(d.get("dag_id") == "smoke" for d in json.loads(out or "[]"))

    wait_for("the smoke DAG parsed", parsed, procs, 60)
    cli(bin_dir, env, "dags", "unpause", "smoke")
    cli(bin_dir, env, "dags", "trigger", "smoke", "--run-id", "smoke_1")

    def finished() -> bool:
        runs = json.loads(cli(bin_dir, env, "dags", "list-runs", "smoke", "-o", "json") or "[]")
        state = next((r.get("state") for r in runs if r.get("run_id") == "smoke_1"), None)
        if state == "failed":
            raise SmokeFailed(f"the smoke run failed\n{procs.tails()}")
        return state == "success"

    wait_for("the smoke run's success", finished, procs, 120)


def base_env(work: Path, bin_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWIND")}
    env.pop("PYTHONPATH", None)
    env.update(
        {
            "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
            "TRADEWIND_HOME": str(work / "home"),
            "TRADEWIND__CORE__DAGS_FOLDER": str(work / "dags"),
        }
    )
    (work / "dags").mkdir(parents=True, exist_ok=True)
    (work / "dags" / "smoke.py").write_text(DAG_SOURCE)
    return env


def smoke_default(work: Path) -> str:
    bin_dir = make_venv(work, "")
    env = base_env(work, bin_dir)
    port = free_port()
    procs = Procs(work, env)
    try:
        procs.start("standalone", [str(bin_dir / "tradewind"), "standalone", "-p", str(port)])

        def answers() -> bool:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/api/v2/monitor/health", timeout=2
                ):
                    return True
            except OSError:
                return False

        wait_for("the standalone web server", answers, procs, 60)
        if "password" not in procs.tail("standalone", 200).lower():
            raise SmokeFailed("standalone did not print the admin password")
        run_dag_to_success(bin_dir, env, procs)
    finally:
        procs.stop()
    return "standalone: web server up, admin password printed, 3-task DAG succeeded"


def _pg_database(bin_dir: Path) -> tuple[str, Callable[[], None]]:
    name = f"tw_smoke_{secrets.token_hex(4)}"
    py = str(bin_dir / "python")
    admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    code = "import psycopg,sys\nwith psycopg.connect(sys.argv[1], autocommit=True) as c: c.execute(sys.argv[2])"
    subprocess.run([py, "-c", code, admin, f'CREATE DATABASE "{name}"'], check=True)

    def drop() -> None:
        subprocess.run([py, "-c", code, admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'])

    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", drop


def _celery_cluster(work: Path, bin_dir: Path, broker: str) -> None:
    env = base_env(work, bin_dir)
    db_url, drop = _pg_database(bin_dir)
    port = free_port()
    env.update(
        {
            "TRADEWIND__DATABASE__SQL_ALCHEMY_CONN": db_url,
            "TRADEWIND__CORE__EXECUTOR": "CeleryExecutor",
            "TRADEWIND__CELERY__BROKER_URL": broker,
            "TRADEWIND__CELERY__KEY_PREFIX": f"tw_smoke_{secrets.token_hex(4)}:",
            "TRADEWIND__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        }
    )
    procs = Procs(work, env)
    try:
        cli(bin_dir, env, "db", "migrate")
        tw = str(bin_dir / "tradewind")
        procs.start("webserver", [tw, "webserver", "-p", str(port), "--host", "127.0.0.1"])
        procs.start("scheduler", [tw, "scheduler"])
        procs.start("worker", [tw, "celery", "worker", "--concurrency", "2"])
        run_dag_to_success(bin_dir, env, procs)
    finally:
        procs.stop()
        drop()


def smoke_celery(work: Path) -> str:
    need_server(5432, "PostgreSQL")
    bin_dir = make_venv(work, "[celery,postgres]")
    done = []
    for name, port, url in (
        ("Redis", 6379, "redis://127.0.0.1:6379/0"),
        ("RabbitMQ", 5672, "amqp://guest:guest@127.0.0.1:5672//"),
    ):
        need_server(port, name)
        sub = work / name.lower()
        sub.mkdir()
        _celery_cluster(sub, bin_dir, url)
        done.append(name)
    return f"celery,postgres: 3-task DAG succeeded through Celery on {' and '.join(done)}"


def smoke_mysql(work: Path) -> str:
    need_server(3306, "MariaDB/MySQL")
    bin_dir = make_venv(work, "[mysql]")
    env = base_env(work, bin_dir)
    cli(bin_dir, env, "db", "migrate")
    cli(
        bin_dir,
        env,
        "connections",
        "add",
        "maria",
        "--conn-uri",
        "mysql://root@127.0.0.1:3306/test",
    )
    out = cli(bin_dir, env, "connections", "test", "maria")
    if "success" not in out.lower() and "ok" not in out.lower():
        raise SmokeFailed(f"connections test did not report success:\n{out}")
    return "mysql: a MariaDB connection tested through its hook"


def smoke_flower(work: Path) -> str:
    bin_dir = make_venv(work, "[flower]")
    env = base_env(work, bin_dir)
    env["TRADEWIND__CELERY__BROKER_URL"] = "redis://127.0.0.1:6379/0"
    port = free_port()
    procs = Procs(work, env)
    try:
        procs.start("flower", [str(bin_dir / "tradewind"), "celery", "flower", "-p", str(port)])

        def answers() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2):
                    return True
            except urllib.error.HTTPError:
                return True  # it answers (with its own auth or redirect rules)
            except OSError:
                return False

        wait_for("flower's web page", answers, procs, 60)
    finally:
        procs.stop()
    return "flower: Celery's monitor answers"


def smoke_otel(work: Path) -> str:
    bin_dir = make_venv(work, "[otel]")
    env = base_env(work, bin_dir)
    done = subprocess.run(
        [str(bin_dir / "python"), str(ROOT / "scripts" / "smoke_otel.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise SmokeFailed(f"scripts/smoke_otel.py failed:\n{done.stdout}\n{done.stderr[-3000:]}")
    return "otel: metrics and traces of a DAG run reached a local OTLP receiver"


def smoke_bench(work: Path) -> str:
    """The benchmarks' chart: bench/chart.py draws a PNG from two executors' JSON lines."""
    bin_dir = make_venv(work, "[bench]")
    results = work / "scale.jsonl"
    lines = [
        {"metric": f"scale_{ex}_{n}_per_task", "value": v, "min": v * 0.9, "max": v * 1.1}
        for ex, base in (("local", 8.0), ("celery", 6.0))
        for n, v in ((10, base * 3), (100, base), (1000, base * 0.9))
    ]
    results.write_text("".join(json.dumps(line) + "\n" for line in lines))
    png = work / "chart.png"
    done = subprocess.run(
        [str(bin_dir / "python"), str(ROOT / "bench" / "chart.py"), str(results), "-o", str(png)],
        env=base_env(work, bin_dir),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0 or not png.exists():
        raise SmokeFailed(f"bench/chart.py failed:\n{done.stdout}\n{done.stderr[-3000:]}")
    if not png.read_bytes().startswith(b"\x89PNG"):
        raise SmokeFailed(f"bench/chart.py wrote {png}, which is not a PNG")
    return f"bench: bench/chart.py drew a {png.stat().st_size} byte PNG"


SMOKES: dict[str, Callable[[Path], str]] = {
    "default": smoke_default,
    "celery": smoke_celery,
    "mysql": smoke_mysql,
    "flower": smoke_flower,
    "otel": smoke_otel,
    "bench": smoke_bench,
}


def main(argv: list[str]) -> int:
    names = argv or list(SMOKES)
    unknown = [n for n in names if n not in SMOKES]
    if unknown:
        print(f"unknown smoke(s) {unknown}; choose from {list(SMOKES)}", file=sys.stderr)
        return 2
    failed = 0
    for name in names:
        work = Path(tempfile.mkdtemp(prefix=f"tw-smoke-{name}-"))
        start = time.monotonic()
        try:
            detail, status = SMOKES[name](work), "ok"
        except Skipped as exc:
            detail, status = str(exc), "failed" if CI else "skipped"
        except (SmokeFailed, subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            detail, status = str(exc), "failed"
        failed |= status == "failed"
        line = {"smoke": name, "status": status, "seconds": round(time.monotonic() - start, 1)}
        print(json.dumps({**line, "detail": detail[-4000:]}), flush=True)
        if status != "failed":
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"    (its files are kept in {work})", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
