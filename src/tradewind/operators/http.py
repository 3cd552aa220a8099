"""HttpOperator: call an HTTP endpoint; check, filter and return the answer."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from tradewind.errors import TradewindError
from tradewind.sdk.baseoperator import BaseOperator

log = logging.getLogger("tradewind.task")


class HttpOperator(BaseOperator):
    """Send ``method`` to ``endpoint`` of the ``http_conn_id`` connection.

    Args:
        endpoint: path under the connection's base URL (templated).
        method: GET, POST, PUT, PATCH, DELETE, HEAD.
        data: query parameters for GET, the body otherwise (dicts are sent as JSON).
        headers: extra request headers.
        response_check: ``fn(response, **context) -> bool``; False fails the task.
        response_filter: ``fn(response, **context)`` -> the value returned to XCom
            (default: the response text).
        log_response: log the response body.
        extra_options: ``timeout`` (seconds) and ``check_response`` (bool).
    """

    template_fields = ("endpoint", "data", "headers")
    template_fields_renderers = {"headers": "json", "data": "py"}
    template_ext = ()
    ui_color = "#f4a460"

    def __init__(
        self,
        *,
        endpoint: str | None = None,
        method: str = "POST",
        data: Any = None,
        headers: dict[str, str] | None = None,
        response_check: Callable[..., bool] | None = None,
        response_filter: Callable[..., Any] | None = None,
        extra_options: dict[str, Any] | None = None,
        http_conn_id: str = "http_default",
        log_response: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.endpoint = endpoint
        self.method = method.upper()
        self.data = data
        self.headers = headers or {}
        self.response_check = response_check
        self.response_filter = response_filter
        self.extra_options = extra_options or {}
        self.http_conn_id = http_conn_id
        self.log_response = log_response

    def execute(self, context: dict[str, Any]) -> Any:
        from tradewind.hooks.http import HttpHook
        from tradewind.operators.python import determine_kwargs

        hook = HttpHook(
            self.method, self.http_conn_id, timeout=float(self.extra_options.get("timeout", 60))
        )
        log.info("Calling HTTP method %s %s", self.method, self.endpoint or "/")
        response = hook.run(
            self.endpoint,
            self.data,
            self.headers,
            check_response=bool(self.extra_options.get("check_response", True)),
        )
        if self.log_response:
            log.info("%s", response.text)
        if self.response_check is not None:
            kwargs = determine_kwargs(self.response_check, [response], context)
            if not self.response_check(response, **kwargs):
                raise TradewindError("Response check returned False.")
        if self.response_filter is not None:
            kwargs = determine_kwargs(self.response_filter, [response], context)
            return self.response_filter(response, **kwargs)
        return response.text


SimpleHttpOperator = HttpOperator  # Airflow 2 name
