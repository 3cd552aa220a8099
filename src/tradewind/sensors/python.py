"""PythonSensor and ``@task.sensor``: wait until a Python callable returns True."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from tradewind.sensors.base import BaseSensorOperator, PokeReturnValue


class PythonSensor(BaseSensorOperator):
    """Poke by calling ``python_callable(*op_args, **op_kwargs)`` (context values by name).

    The callable returns a bool, or a :class:`PokeReturnValue` to also push an XCom value.
    """

    template_fields = ("templates_dict", "op_args", "op_kwargs")

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        op_args: Collection[Any] | None = None,
        op_kwargs: Mapping[str, Any] | None = None,
        templates_dict: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.python_callable = python_callable
        self.op_args = list(op_args or [])
        self.op_kwargs = dict(op_kwargs or {})
        self.templates_dict = templates_dict

    def _call_args(self, context: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
        from tradewind.operators.python import determine_kwargs

        context["templates_dict"] = self.templates_dict
        kwargs = {**determine_kwargs(self.python_callable, self.op_args, context), **self.op_kwargs}
        return list(self.op_args), kwargs

    def poke(self, context: dict[str, Any]) -> bool | PokeReturnValue:
        args, kwargs = self._call_args(context)
        result = self.python_callable(*args, **kwargs)
        return result if isinstance(result, PokeReturnValue) else bool(result)


def _decorated_sensor_class() -> type:
    from tradewind.sdk.decorators import _DecoratedMixin

    class DecoratedSensorOperator(_DecoratedMixin, PythonSensor):
        """The operator behind ``@task.sensor``: XComArg arguments resolved at run time."""

        def __init__(self, **kwargs: Any) -> None:
            kwargs.pop("multiple_outputs", None)
            super().__init__(**kwargs)
            from tradewind.sdk.xcom_arg import find_xcom_args

            for arg in find_xcom_args([self.op_args, self.op_kwargs]):
                self.set_upstream(arg.operator)

        def _call_args(self, context: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
            return self._resolved_call_args(context)

    DecoratedSensorOperator.__module__ = __name__
    return DecoratedSensorOperator


_decorated: type | None = None


def __getattr__(name: str) -> Any:
    if name == "DecoratedSensorOperator":
        global _decorated
        if _decorated is None:
            _decorated = _decorated_sensor_class()
        return _decorated
    raise AttributeError(name)


def sensor_task(python_callable: Callable[..., Any] | None = None, **kwargs: Any) -> Any:
    """``@task.sensor(poke_interval=..., timeout=..., mode=...)``: the function is the poke."""
    from tradewind.sdk.decorators import _make

    return _make(__getattr__("DecoratedSensorOperator"))(python_callable, **kwargs)
