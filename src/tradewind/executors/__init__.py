"""Executors: hand workloads to workers (inline, local process pool, Celery)."""
