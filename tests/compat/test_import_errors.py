"""Airflow names Tradewind lacks show up in ``dags list-import-errors`` with file and line."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

GOOD = """\
import pendulum
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator

with DAG("ported", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):
    EmptyOperator(task_id="noop")
"""

BAD = """\
from airflow import DAG

from airflow.providers.amazon.aws.operators.s3 import S3CreateBucketOperator

with DAG("uses_s3", schedule=None):
    S3CreateBucketOperator(task_id="make", bucket_name="b")
"""


def test_unsupported_airflow_module_is_an_import_error_with_its_line(
    tw_home: Path, cli_runner: Callable[..., Any]
) -> None:
    dags = tw_home / "dags"
    (dags / "ported.py").write_text(GOOD)
    (dags / "uses_s3.py").write_text(textwrap.dedent(BAD))
    listed = json.loads(cli_runner("dags", "list", "-o", "json").stdout)
    assert [d["dag_id"] for d in listed] == ["ported"]
    errors = json.loads(cli_runner("dags", "list-import-errors", "-o", "json").stdout)
    assert len(errors) == 1
    (error,) = errors
    assert error["filepath"] == str(dags / "uses_s3.py")
    assert error["lineno"] == 3
    assert (
        "airflow.providers.amazon is an Airflow module that Tradewind does not support yet"
        in error["error"]
    )
