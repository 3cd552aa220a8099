"""Airflow-compatible ``utils`` import paths (trigger rules, task groups, dates)."""
