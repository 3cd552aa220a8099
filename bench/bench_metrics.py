"""W1 fan-out (100) and W2 chain (20) with metrics off and on, side by side in one run.

"On" is StatsD (to a UDP listener in this process, which counts the datagrams so the figure
shows metrics really flowed) plus Prometheus (multiprocess files). Modes alternate
off, on, off, on... with a fresh home and scheduler each time, so drift of a shared machine
hits both alike. Prints the same figures as ``bench_scheduler.py`` with a ``metrics`` key,
then ``<workload>_metrics_overhead_pct``: (median on - median off) / median off, of the
chain's gap or the fan-out's trigger->success time, and ``<workload>_metrics_cpu_overhead_pct``
of the scheduler's CPU per task (its whole process group: workers and task children too),
which a busy shared machine disturbs much less than wall-clock times.

With ``--baseline-src DIR`` a third mode, ``on_baseline``, runs the scheduler with the
tradewind package of ``DIR`` (``git archive <commit> src | tar -x -C /tmp/old``, then
``--baseline-src /tmp/old/src``), interleaved with the others: before and after in one run.
Each overhead line carries the 1-minute load average over the run (min, median, max).

Usage: bench_metrics.py [--rounds 2] [--baseline-src DIR] [fanout100|chain20 ...]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench_scheduler import PARALLELISM, SCENARIOS, Workload, run_once
from measure import WORKLOADS, emit, make_home, parse_dags, start_scheduler, stop_scheduler

RUNS = 3
BACKENDS = {"statsd", "prometheus"}
BASELINE_SRC: list[str] = []  # --baseline-src: a third mode, "on" with older code


def _stat(pid: int) -> list[str]:
    """The fields of ``/proc/<pid>/stat`` after the command name (state, ppid, pgrp, ...);
    empty if the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except OSError:
        return []


def group_cpu(pgid: int) -> float:
    """CPU seconds (user + system, with reaped children) of every process in a group."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat(int(entry))
        if fields and int(fields[2]) == pgid:  # field 5 of stat: the process group
            total += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return total / tick


class Sink:
    """Counts StatsD datagrams on a loopback UDP port."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.count = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.sock.recv(65536)
                self.count += 1
            except OSError:
                continue

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) of one process, 0 if it is gone."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK") if fields else 0.0


def relay_pid(parent: int) -> int | None:
    """The metrics relay helper the scheduler ``parent`` started, if any."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat(int(entry))
        if not fields or int(fields[1]) != parent:
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if b"tradewind.observability.relay" in f.read():
                    return int(entry)
        except OSError:
            continue
    return None


# CPU microseconds per task of the scheduler process alone and of its relay helper, per mode.
SPLIT: dict[str, dict[str, list[float]]] = {}


def measure(
    w: Workload, on: bool, sink: Sink, mode: str = ""
) -> tuple[list[float], list[float], list[float]]:
    """Trigger->success seconds, chain gap medians (ms) and scheduler CPU ms per task of RUNS
    runs in one fresh home."""
    tmp = Path(tempfile.mkdtemp(prefix="twbench-metrics-"))
    proc = None
    settings: dict[str, object] = {"core__parallelism": PARALLELISM}
    if on and "statsd" in BACKENDS:
        settings.update(
            metrics__statsd_on="true",
            metrics__statsd_host="127.0.0.1",
            metrics__statsd_port=sink.port,
        )
    if on and "prometheus" in BACKENDS:
        settings.update(
            metrics__prometheus_on="true",
            metrics__prometheus_multiproc_dir=str(tmp / "prometheus"),
        )
    try:
        env_vars = make_home(tmp, **settings)
        env_vars[w.env_var] = str(w.n)
        shutil.copy(WORKLOADS / w.file, tmp / "dags" / w.file)
        parse_dags(env_vars)
        proc = start_scheduler(env_vars, tmp)
        from tradewind.services.env import Env
        from tradewind.settings import load_settings

        env = Env.from_settings(load_settings(tmp, environ=env_vars))
        totals, gaps, cpus = [], [], []
        split = SPLIT.setdefault(mode or ("on" if on else "off"), {"scheduler": [], "relay": []})
        for _ in range(RUNS):
            cpu = group_cpu(proc.pid)
            helper = relay_pid(proc.pid)
            own, theirs = proc_cpu(proc.pid), proc_cpu(helper) if helper else 0.0
            total, _first, run_gaps = run_once(env, w.dag_id, timeout=60 + w.n * 0.5)
            cpus.append((group_cpu(proc.pid) - cpu) / w.n * 1000)
            time.sleep(0.05)  # the relay records what the run's last hand-over sent
            split["scheduler"].append((proc_cpu(proc.pid) - own) / w.n * 1e6)
            if helper:
                split["relay"].append((proc_cpu(helper) - theirs) / w.n * 1e6)
            totals.append(total)
            if run_gaps and w.file == "chain.py":
                gaps.append(statistics.median(run_gaps) * 1000)
        env.db.engine.dispose()
        return totals, gaps, cpus
    except BaseException:
        print(f"kept {tmp} for inspection", file=sys.stderr)
        raise
    finally:
        if proc is not None:
            stop_scheduler(proc)
        shutil.rmtree(tmp, ignore_errors=True)


def _measure_mode(w: Workload, mode: str, sink: Sink) -> tuple[list[float], ...]:
    """``off``, ``on``, or ``on_baseline`` (on, with the tradewind of ``BASELINE_SRC``)."""
    saved = os.environ.get("PYTHONPATH")
    if mode == "on_baseline":
        os.environ["PYTHONPATH"] = BASELINE_SRC[0]  # the scheduler subprocess imports it
    try:
        return measure(w, mode != "off", sink, mode)
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved


def bench(w: Workload, rounds: int, sink: Sink) -> None:
    modes = ["off", "on", *(["on_baseline"] if BASELINE_SRC else [])]
    got: dict[str, tuple[list[float], ...]] = {m: ([], [], []) for m in modes}
    before = sink.count
    loads = []
    for _ in range(rounds):
        for mode in modes:
            for into, values in zip(got[mode], _measure_mode(w, mode, sink), strict=True):
                into.extend(values)
            loads.append(os.getloadavg()[0])
    extra = {"parallelism": PARALLELISM, "tasks": w.n, "executor": "LocalExecutor"}
    for mode in modes:  # the scheduler process alone, and its metrics relay helper
        for part, samples in SPLIT.pop(mode, {}).items():
            if samples:
                emit(f"{w.name}_{part}_process_cpu_per_task", samples, "us", metrics=mode, **extra)
    for mode in modes:
        emit(f"{w.name}_trigger_to_success", got[mode][0], "s", metrics=mode, **extra)
        if got[mode][1]:
            emit("w2_chain_gap_median", got[mode][1], "ms", metrics=mode, **extra)
        emit(f"{w.name}_scheduler_cpu_per_task", got[mode][2], "ms", metrics=mode, **extra)
    key = 1 if got["off"][1] else 0  # the chain's gap, the fan-out's total
    off, cpu_off = statistics.median(got["off"][key]), statistics.median(got["off"][2])
    for mode in modes[1:]:
        suffix = "" if mode == "on" else "_baseline"
        on_, cpu_on = statistics.median(got[mode][key]), statistics.median(got[mode][2])
        emit(
            f"{w.name}_metrics_overhead_pct{suffix}",
            [(on_ - off) / off * 100],
            "%",
            compared="w2_chain_gap_median" if key else f"{w.name}_trigger_to_success",
            statsd_datagrams=sink.count - before,
            load1=[round(min(loads), 2), round(statistics.median(loads), 2), round(max(loads), 2)],
            target="<= 5",
            **extra,
        )
        emit(
            f"{w.name}_metrics_cpu_overhead_pct{suffix}",
            [(cpu_on - cpu_off) / cpu_off * 100],
            "%",
            compared=f"{w.name}_scheduler_cpu_per_task",
            target="<= 5",
            **extra,
        )


def emission_cost(sink: Sink) -> None:
    """Microseconds of CPU the metrics of one task instance cost (StatsD + Prometheus), in
    this process: noise-free, unlike the end-to-end figures. ``call`` is what the emitting
    code pays (the hot path: appending to :class:`Buffered`), ``handover`` what the metrics
    thread pays later (names, lines, datagrams, Prometheus file writes), ``off`` the calls
    with metrics off."""

    from tradewind.core import metrics
    from tradewind.core.metrics import Buffered, Fanout
    from tradewind.observability.prometheus import PrometheusBackend, use_multiprocess_dir
    from tradewind.observability.statsd import StatsdBackend
    from tradewind.services import telemetry

    class Ti:
        dag_id, run_id, map_index, try_number = "bench", "r", -1, 1
        start_date = queued_dttm = None

    def one_task_instance(i: int) -> None:  # what the scheduler emits for one hop
        Ti.task_id = f"t{i % 100}"
        telemetry.try_started(Ti.dag_id, Ti.task_id)
        telemetry.try_finished(Ti, "success", 0.01, False, None)
        with metrics.timer("scheduler.scheduler_loop_duration"):
            pass
        metrics.timing(
            "ti.scheduling_latency", 0.002, {"dag_id": "bench", "stage": "queued_to_started"}
        )

    n = 2000
    tmp = Path(tempfile.mkdtemp(prefix="twbench-prom-"))
    use_multiprocess_dir(tmp)
    # The thread never wakes by itself here, so each part is timed alone.
    backend = Buffered(
        Fanout([StatsdBackend("127.0.0.1", sink.port), PrometheusBackend()]),
        interval=3600,
        most=10 * n * 10,
    )
    got: dict[str, list[float]] = {"off": [], "call": [], "handover": []}
    try:
        for _ in range(5):
            metrics.configure(None)
            start = time.process_time()
            for i in range(n):
                one_task_instance(i)
            got["off"].append((time.process_time() - start) / n * 1e6)
            metrics.configure(backend)
            start = time.process_time()
            for i in range(n):
                one_task_instance(i)
            got["call"].append((time.process_time() - start) / n * 1e6)
            start = time.process_time()
            backend.flush()
            got["handover"].append((time.process_time() - start) / n * 1e6)
    finally:
        metrics.configure(None)
        backend.close()
        shutil.rmtree(tmp, ignore_errors=True)
    for part, samples in got.items():
        emit(
            f"metrics_cost_per_task_instance_{part}",
            samples,
            "us",
            backends="statsd,prometheus",
            metrics_per_ti=6,
        )


def handover_stall(sink: Sink, rounds: int = 20) -> None:
    """Milliseconds a thread like the scheduler's (100 hops of ~50 us of Python and a 0.3 ms
    wait without the GIL, as its pipe and database calls are) takes while the metrics thread
    hands over the metrics of 100 new task series (StatsD + Prometheus: ~35 ms of CPU, most
    of it prometheus-client creating ~20 values a series), against no metrics at all:
    ``sliced`` is the metrics thread as it is (slices of ``SLICE_SECONDS``), ``one_block``
    the whole backlog at once (as before #13's last change). Each round starts a fresh
    back end so every series is new."""

    from tradewind.core import metrics as m
    from tradewind.core.metrics import Buffered, Fanout
    from tradewind.observability.prometheus import PrometheusBackend, use_multiprocess_dir
    from tradewind.observability.statsd import StatsdBackend

    def hops() -> float:
        start = time.perf_counter()
        for _ in range(100):
            sum(range(3000))
            time.sleep(0.0003)
        return (time.perf_counter() - start) * 1000

    def with_backlog(k: int, slice_seconds: float) -> float:
        tmp = Path(tempfile.mkdtemp(prefix="twbench-stall-"))
        use_multiprocess_dir(tmp)
        saved, m.SLICE_SECONDS = m.SLICE_SECONDS, slice_seconds
        backend = Buffered(
            Fanout([StatsdBackend("127.0.0.1", sink.port), PrometheusBackend()]),
            interval=0.001,
            most=10**6,
        )
        try:
            for i in range(100):
                tags = {"dag_id": "fanout", "task_id": f"r{k}_t{i}"}
                backend.counter("ti.start", 1, tags)
                backend.counter("ti.finish", 1, {**tags, "state": "success"})
                backend.counter("ti_successes", 1, tags)
                backend.timer("task.duration", 0.01, tags)
            time.sleep(0.002)  # the metrics thread has begun
            return hops()
        finally:
            backend.close()
            m.SLICE_SECONDS = saved
            shutil.rmtree(tmp, ignore_errors=True)

    got: dict[str, list[float]] = {"none": [], "sliced": [], "one_block": []}
    for k in range(rounds):
        got["none"].append(hops())
        got["sliced"].append(with_backlog(k, m.SLICE_SECONDS))
        got["one_block"].append(with_backlog(k, 1e9))
    load = round(os.getloadavg()[0], 2)
    for mode, samples in got.items():
        emit(f"metrics_handover_stall_{mode}", samples, "ms", series=100, load1=load)


def main() -> None:
    global RUNS
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--backends", default="statsd,prometheus", help="what 'on' turns on")
    parser.add_argument(
        "--baseline-src",
        default="",
        help="also run 'on' with the tradewind package of this src folder (say, an older "
        "commit exported with `git archive`), interleaved, to compare before and after",
    )
    parser.add_argument("--runs", type=int, default=RUNS, help="runs per fresh home")
    parser.add_argument("--no-emission-cost", action="store_true")
    parser.add_argument("names", nargs="*", default=["chain20", "fanout100"])
    args = parser.parse_args()
    BACKENDS.clear()
    BACKENDS.update(args.backends.split(","))
    RUNS = args.runs
    if args.baseline_src:
        BASELINE_SRC.append(str(Path(args.baseline_src).resolve()))
    sink = Sink()
    try:
        if not args.no_emission_cost:
            emission_cost(sink)
            handover_stall(sink)
        for name in args.names:
            bench(SCENARIOS[name], args.rounds, sink)
    finally:
        sink.close()


if __name__ == "__main__":
    main()
