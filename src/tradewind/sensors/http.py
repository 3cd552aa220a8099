"""HttpSensor: wait until an HTTP endpoint answers as expected."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tradewind.sensors.base import BaseSensorOperator


class HttpSensor(BaseSensorOperator):
    """Poke ``endpoint`` until it answers 2xx/3xx (and ``response_check`` says True).

    A 404 means "not yet"; other 4xx/5xx answers fail the poke only if
    ``response_error_codes_allowlist`` does not list them.
    """

    template_fields = ("endpoint", "request_params", "headers")

    def __init__(
        self,
        *,
        endpoint: str,
        http_conn_id: str = "http_default",
        method: str = "GET",
        request_params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        response_check: Callable[..., bool] | None = None,
        response_error_codes_allowlist: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.endpoint = endpoint
        self.http_conn_id = http_conn_id
        self.method = method
        self.request_params = request_params or {}
        self.headers = headers or {}
        self.response_check = response_check
        self.allowlist = set(response_error_codes_allowlist or ["404"])

    def poke(self, context: dict[str, Any]) -> bool:
        from tradewind.hooks.http import HttpHook
        from tradewind.operators.python import determine_kwargs

        hook = HttpHook(method=self.method, http_conn_id=self.http_conn_id)
        response = hook.run(
            self.endpoint, data=self.request_params, headers=self.headers, check_response=False
        )
        if response.status_code >= 400:
            if str(response.status_code) in self.allowlist:
                return False
            from tradewind.errors import TradewindError

            raise TradewindError(f"HTTP {response.status_code} from {self.endpoint}")
        if self.response_check is not None:
            kwargs = determine_kwargs(self.response_check, [response], context)
            return bool(self.response_check(response, **kwargs))
        return True
