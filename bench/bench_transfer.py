"""Benchmark: GenericTransfer of 1,000,000 rows PostgreSQL -> SQLite in bounded memory.

Prints JSON lines: rows, seconds, rows/s, peak RSS of this process (MB) and the RSS growth
during the transfer. Needs PostgreSQL at 127.0.0.1:5432 (user postgres, db test); creates and
drops its own database. Usage: ``python bench/bench_transfer.py [--rows N] [--page-size N]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
import uuid


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--page-size", type=int, default=10_000)
    args = parser.parse_args()
    import psycopg

    from tradewind.hooks.base import Connection
    from tradewind.hooks.sql import SqlHook

    name = f"tw_bench_{uuid.uuid4().hex[:8]}"
    admin = "host=127.0.0.1 port=5432 user=postgres dbname=test"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        src = SqlHook(
            connection=Connection.from_uri("src", f"postgresql://postgres@127.0.0.1:5432/{name}")
        )
        src.run(
            [
                "CREATE TABLE orders (id BIGINT PRIMARY KEY, customer TEXT, amount NUMERIC(12,2), created TIMESTAMPTZ)",
                f"INSERT INTO orders SELECT i, 'customer-' || (i % 5000), (i % 1000) / 7.0, now() - i * interval '1 second' "
                f"FROM generate_series(1, {args.rows}) AS i",
            ]
        )
        with tempfile.TemporaryDirectory() as tmp:
            dst = SqlHook(connection=Connection.from_uri("dst", f"sqlite:///{tmp}/dest.db"))
            dst.run("CREATE TABLE orders (id INTEGER, customer TEXT, amount REAL, created TEXT)")
            before, t0, total = rss_mb(), time.perf_counter(), 0
            top = before
            for batch in src.stream(
                "SELECT id, customer, amount, created FROM orders ORDER BY id", args.page_size
            ):
                total += dst.insert_rows(
                    "orders",
                    batch,
                    ["id", "customer", "amount", "created"],
                    commit_every=args.page_size,
                )
                top = max(top, rss_mb())
            seconds = time.perf_counter() - t0
            check = dst.get_first("SELECT COUNT(*) FROM orders")
            print(
                json.dumps(
                    {
                        "bench": "transfer_pg_to_sqlite",
                        "rows": total,
                        "rows_in_destination": check[0] if check else None,
                        "page_size": args.page_size,
                        "seconds": round(seconds, 2),
                        "rows_per_s": round(total / seconds),
                        "rss_before_mb": round(before, 1),
                        "rss_during_max_mb": round(top, 1),
                        "rss_growth_mb": round(top - before, 1),
                        "peak_rss_mb": round(peak_mb(), 1),
                    }
                )
            )
            dst.dispose()
        src.dispose()
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
