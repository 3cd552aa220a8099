"""The mapped runs of the local-executor suite again (a plain one and one mapped inside a mapped
group), with the Celery executor on PostgreSQL (Redis and RabbitMQ brokers): workers reach the
metastore only through the HTTP execution API, so expansion, the reduce (one call for all
instances' values), per-group-instance pulls and instance names cross it."""

from __future__ import annotations

import pytest

from . import test_mapping_scheduler as suite
from .test_celery_suite import CeleryHome, home  # noqa: F401 - the fixture

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_mapped_run_retries_one_instance_and_reduces(home: CeleryHome) -> None:  # noqa: F811
    suite.test_mapped_run_retries_one_instance_and_reduces(home)


def test_nested_mapping_runs_per_group_instance_on_celery(home: CeleryHome) -> None:  # noqa: F811
    from . import test_mapping_nested_scheduler as nested

    nested.test_nested_mapping_runs_per_group_instance_on_the_scheduler(home)
