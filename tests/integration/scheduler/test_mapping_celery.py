"""The mapped run of the local-executor suite again, with the Celery executor on PostgreSQL
(Redis and RabbitMQ brokers): workers reach the metastore only through the HTTP execution API,
so expansion, the reduce (one call for all instances' values) and instance names cross it."""

from __future__ import annotations

import pytest

from . import test_mapping_scheduler as suite
from .test_celery_suite import CeleryHome, home  # noqa: F401 - the fixture

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_mapped_run_retries_one_instance_and_reduces(home: CeleryHome) -> None:  # noqa: F811
    suite.test_mapped_run_retries_one_instance_and_reduces(home)
