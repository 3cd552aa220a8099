"""Paged read queries behind the REST API's list endpoints.

Every list is one ``SELECT ... LIMIT/OFFSET`` on indexed columns plus one ``COUNT`` of the
same filter (``total_entries``), never a load of a whole table. Ordering follows Airflow's
``order_by`` parameter: field names, ``-`` for descending, unknown names refused (400).
"""

from tradewind.services.queries.admin import *  # noqa: F403
from tradewind.services.queries.audit import *  # noqa: F403
from tradewind.services.queries.cursor import *  # noqa: F403
from tradewind.services.queries.dags import *  # noqa: F403
from tradewind.services.queries.paging import *  # noqa: F403
from tradewind.services.queries.runs import *  # noqa: F403
from tradewind.services.queries.task_instances import *  # noqa: F403
