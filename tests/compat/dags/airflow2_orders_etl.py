"""An Airflow 2 style DAG file, as teams write them: classic operators, XCom through ti, a branch.

Written for Tradewind's compatibility suite; it runs unmodified on Airflow 2.10.
"""

from __future__ import annotations

import pendulum
from airflow import DAG
from airflow.exceptions import AirflowSkipException
from airflow.operators.bash import BashOperator
from airflow.operators.empty import EmptyOperator
from airflow.operators.python import BranchPythonOperator, PythonOperator
from airflow.utils.edgemodifier import Label
from airflow.utils.trigger_rule import TriggerRule

default_args = {
    "owner": "data-eng",
    "retries": 1,
    "retry_delay": pendulum.duration(seconds=1),
}


def extract(**context):
    orders = [{"id": 1, "amount": 12.5}, {"id": 2, "amount": 7.5}, {"id": 3, "amount": 30.0}]
    context["ti"].xcom_push(key="orders", value=orders)
    return len(orders)


def transform(ti, ds, **_):
    orders = ti.xcom_pull(task_ids="extract", key="orders")
    total = sum(o["amount"] for o in orders)
    return {"day": ds, "total": total, "count": ti.xcom_pull(task_ids="extract")}


def choose(ti):
    summary = ti.xcom_pull(task_ids="transform")
    return "big_day" if summary["total"] > 40 else "small_day"


def skip_always():
    raise AirflowSkipException("nothing to archive today")


with DAG(
    dag_id="airflow2_orders_etl",
    default_args=default_args,
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["compat", "airflow2"],
    params={"region": "eu"},
) as dag:
    extract_task = PythonOperator(task_id="extract", python_callable=extract)
    transform_task = PythonOperator(task_id="transform", python_callable=transform)
    branch = BranchPythonOperator(task_id="choose", python_callable=choose)
    big = BashOperator(
        task_id="big_day",
        bash_command="echo big {{ params.region }} {{ ti.xcom_pull(task_ids='transform')['total'] }}",
    )
    small = EmptyOperator(task_id="small_day")
    archive = PythonOperator(task_id="archive", python_callable=skip_always)
    report = BashOperator(
        task_id="report",
        bash_command="echo {{ task_instance_key_str }}",
        trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS,
    )
    extract_task >> transform_task >> branch
    branch >> Label("more than 40") >> big >> report
    branch >> Label("quiet day") >> small >> report
    transform_task >> archive
