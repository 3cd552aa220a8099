"""TaskFlow ETL: return values travel between @task functions as XCom."""

from __future__ import annotations

from datetime import datetime, timezone

from tradewind import dag, task


@dag(schedule=None, start_date=datetime(2026, 1, 1, tzinfo=timezone.utc), tags=["example"])
def example_taskflow_etl():
    @task
    def extract() -> dict:
        return {"1001": 301.27, "1002": 433.21, "1003": 502.22}

    @task(multiple_outputs=True)
    def transform(orders: dict) -> dict:
        total = sum(orders.values())
        return {"total": round(total, 2), "count": len(orders)}

    @task
    def load(total: float, count: int) -> None:
        print(f"{count} orders, total value {total:.2f}")

    summary = transform(extract())
    load(summary["total"], summary["count"])


example_taskflow_etl()
