"""DAG params: named values with defaults, a JSON-schema-like description, and validation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tradewind.errors import ParamValidationError

_NOTSET = object()
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list, tuple),
    "object": (dict,),
    "null": (type(None),),
}


class Param:
    """A DAG or task parameter, as Airflow's ``Param(default, type=..., description=...)``."""

    def __init__(self, default: Any = _NOTSET, description: str | None = None, **schema: Any):
        self.value = default
        self.description = description
        self.schema = schema

    def __repr__(self) -> str:
        value = "<required>" if self.value is _NOTSET else repr(self.value)
        return f"Param({value}, schema={self.schema!r})"

    @property
    def has_value(self) -> bool:
        return self.value is not _NOTSET

    def resolve(self, value: Any = _NOTSET, name: str = "param") -> Any:
        """Return the value (given or default) after checking it against the schema."""
        final = self.value if value is _NOTSET else value
        if final is _NOTSET:
            raise ParamValidationError(f"param {name!r} is required and has no default")
        _check(name, final, self.schema)
        return final

    def dump(self) -> dict[str, Any]:
        """Return the JSON form stored with the serialized DAG."""
        return {
            "value": None if self.value is _NOTSET else self.value,
            "has_default": self.value is not _NOTSET,
            "description": self.description,
            "schema": self.schema,
        }

    @classmethod
    def load(cls, data: Mapping[str, Any]) -> Param:
        """Build a Param from its stored JSON form."""
        default = data.get("value") if data.get("has_default", True) else _NOTSET
        return cls(default, description=data.get("description"), **(data.get("schema") or {}))


def _check(name: str, value: Any, schema: Mapping[str, Any]) -> None:
    """Validate the JSON-schema keywords users most often write (type, enum, bounds, length)."""
    types = schema.get("type")
    if types is not None:
        allowed = [types] if isinstance(types, str) else list(types)
        py: tuple[type, ...] = ()
        for t in allowed:
            py += _JSON_TYPES.get(t, (object,))
        ok = isinstance(value, py) and not (isinstance(value, bool) and "boolean" not in allowed)
        if not ok:
            raise ParamValidationError(
                f"param {name!r}: {value!r} is not of type {' or '.join(allowed)}"
            )
    if "enum" in schema and value not in schema["enum"]:
        raise ParamValidationError(f"param {name!r}: {value!r} is not one of {schema['enum']}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            raise ParamValidationError(f"param {name!r}: {value} < minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            raise ParamValidationError(f"param {name!r}: {value} > maximum {schema['maximum']}")
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            raise ParamValidationError(f"param {name!r}: shorter than {schema['minLength']}")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            raise ParamValidationError(f"param {name!r}: longer than {schema['maxLength']}")


class ParamsDict(dict[str, Any]):
    """The ``params`` of a DAG: plain values or Param objects, keyed by name."""

    def __init__(self, data: Mapping[str, Any] | None = None):
        super().__init__()
        for key, value in (data or {}).items():
            self[key] = value if isinstance(value, Param) else Param(value)

    def resolve(self, conf: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Return the final param values: conf overrides defaults, each validated."""
        conf = conf or {}
        out: dict[str, Any] = {}
        for key, param in self.items():
            out[key] = param.resolve(conf.get(key, _NOTSET), key)
        for key, value in conf.items():
            if key not in out:
                out[key] = value
        return out

    def dump(self) -> dict[str, Any]:
        return {k: p.dump() for k, p in self.items()}

    @classmethod
    def load(cls, data: Mapping[str, Any] | None) -> ParamsDict:
        out = cls()
        for key, value in (data or {}).items():
            dict.__setitem__(out, key, Param.load(value))
        return out
