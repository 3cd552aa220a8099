"""Time the slot planner on 10,000 ready candidates; prints JSON lines (median of 7 runs)."""

from __future__ import annotations

import json
import statistics
import time
from datetime import UTC, datetime, timedelta

from tradewind.core.planning import Candidate, Limits, Running, plan

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def workload(n: int) -> tuple[list[Candidate], list[Running], Limits]:
    """Build n candidates over 20 pools and 50 DAGs, with pools mostly full (backfill path)."""
    pools = {f"pool{i}": 16 for i in range(20)}
    cands = [
        Candidate(i, f"dag{i % 50}", f"pool{i % 20}", 1 + i % 4, i % 10, 1.0 + i % 30, float(i))
        for i in range(n)
    ]
    running = [
        Running(f"r{i}", f"dag{i % 50}", f"pool{i % 20}", 1, NOW + timedelta(seconds=i % 60))
        for i in range(200)
    ]
    limits = Limits(
        parallelism=512, pools=pools, max_active_tasks={f"dag{i}": 16 for i in range(50)}
    )
    return cands, running, limits


def main() -> None:
    for n in (1_000, 10_000):
        cands, running, limits = workload(n)
        times = []
        for _ in range(7):
            start = time.perf_counter()
            started = plan(cands, running, limits, NOW)
            times.append(time.perf_counter() - start)
        print(
            json.dumps(
                {
                    "metric": f"planner_{n // 1000}k_candidates",
                    "value": round(statistics.median(times), 6),
                    "unit": "s",
                    "min": round(min(times), 6),
                    "max": round(max(times), 6),
                    "started": len(started),
                }
            )
        )


if __name__ == "__main__":
    main()
