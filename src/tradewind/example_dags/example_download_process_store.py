"""Daily: download exchange rates from an HTTP API, compute a summary, store it in SQLite.

Set the DAG param ``source_url`` (or trigger with ``--conf '{"source_url": "..."}'``) to read a
real JSON API answering ``{"rates": {"EUR": 0.92, ...}}``; left empty, the download step uses a
built-in sample so the example runs offline. Results go to ``$TRADEWIND_HOME/example_rates.db``.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import sqlite3
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tradewind import DAG, Param
from tradewind.operators.python import PythonOperator

SAMPLE = {"base": "USD", "rates": {"EUR": 0.92, "GBP": 0.79, "JPY": 151.2, "CHF": 0.88}}


def _database() -> Path:
    home = Path(os.environ.get("TRADEWIND_HOME") or Path.home() / "tradewind")
    return home / "example_rates.db"


def checked_url(url: str) -> str:
    """Refuse what is not a public http(s) URL: a conf value must not read local files
    (``file://``) or reach services of this network (SSRF)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"source_url must be an http(s) URL, got {url!r}")
    for info in socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM):
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise ValueError(f"source_url host {parts.hostname!r} is not a public address")
    return url


def download(params: dict, ds: str) -> dict:
    """Fetch the rates of the run's day (a sample when no URL is configured)."""
    url = params.get("source_url") or ""
    if not url:
        print(f"no source_url param: using the built-in sample for {ds}")
        return SAMPLE
    url = checked_url(url.replace("{ds}", ds))
    with urllib.request.urlopen(url, timeout=30) as resp:  # noqa: S310  (checked just above)
        return json.loads(resp.read())


def process(ti, ds: str) -> list[dict]:
    """Turn the API answer into one row per currency."""
    payload = ti.xcom_pull(task_ids="download")
    base = payload.get("base", "USD")
    return [
        {"day": ds, "base": base, "currency": c, "rate": float(r)}
        for c, r in sorted(payload["rates"].items())
    ]


def store(ti) -> int:
    """Upsert the rows into the example database; return how many were written."""
    rows = ti.xcom_pull(task_ids="process")
    with sqlite3.connect(_database()) as db:
        db.execute(
            "CREATE TABLE IF NOT EXISTS rates (day TEXT, base TEXT, currency TEXT, rate REAL, PRIMARY KEY (day, currency))"
        )
        db.executemany("INSERT OR REPLACE INTO rates VALUES (:day, :base, :currency, :rate)", rows)
    print(f"stored {len(rows)} rates in {_database()}")
    return len(rows)


with DAG(
    "example_download_process_store",
    schedule="@daily",
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    tags=["example"],
    params={"source_url": Param("", type="string", description="JSON API URL; {ds} is the day")},
    default_args={"retries": 2, "retry_delay": timedelta(minutes=1)},
    doc_md=__doc__,
) as dag:
    (
        PythonOperator(task_id="download", python_callable=download)
        >> PythonOperator(task_id="process", python_callable=process)
        >> PythonOperator(task_id="store", python_callable=store)
    )
