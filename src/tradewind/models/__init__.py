"""Airflow-compatible import paths: ``tradewind.models.DAG``, ``tradewind.models.BaseOperator``."""

from tradewind.sdk.baseoperator import BaseOperator
from tradewind.sdk.dag import DAG
from tradewind.sdk.param import Param

__all__ = ["DAG", "BaseOperator", "Param"]
