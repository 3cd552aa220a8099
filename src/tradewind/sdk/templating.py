"""Jinja rendering of operators' ``template_fields`` with Airflow's context and macros."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import jinja2
import jinja2.nativetypes

from tradewind.sdk.xcom_arg import DagParamArg, XComArg

if TYPE_CHECKING:
    from tradewind.sdk.baseoperator import BaseOperator
    from tradewind.sdk.dag import DAG

_env_cache: dict[int, jinja2.Environment] = {}


def environment_for(dag: DAG | None) -> jinja2.Environment:
    """Return the Jinja environment of ``dag``: its folder and template_searchpath, strict undefined."""
    key = id(dag)
    env = _env_cache.get(key)
    if env is not None and getattr(env, "_tw_dag", None) is dag:
        return env
    paths: list[str] = []
    if dag is not None:
        if dag.fileloc:
            paths.append(os.path.dirname(os.path.abspath(dag.fileloc)))
        paths.extend(dag.template_searchpath)
    cls: type[jinja2.Environment] = (
        jinja2.nativetypes.NativeEnvironment
        if dag is not None and dag.render_template_as_native_obj
        else jinja2.Environment
    )
    env = cls(
        loader=jinja2.FileSystemLoader(paths or ["."]),
        undefined=(dag.template_undefined if dag and dag.template_undefined else jinja2.StrictUndefined),
        extensions=["jinja2.ext.do"],
        cache_size=0,
        keep_trailing_newline=True,
    )
    env.filters.update(
        {
            "ds": lambda d: d.strftime("%Y-%m-%d"),
            "ds_nodash": lambda d: d.strftime("%Y%m%d"),
            "ts": lambda d: d.isoformat(),
            "ts_nodash": lambda d: d.strftime("%Y%m%dT%H%M%S"),
        }
    )
    if dag is not None:
        env.filters.update(dag.user_defined_filters)
    env._tw_dag = dag  # type: ignore[attr-defined]
    _env_cache[key] = env
    return env


def render_value(
    value: Any, context: Mapping[str, Any], env: jinja2.Environment, template_ext: tuple[str, ...] = ()
) -> Any:
    """Render strings (or template files named by them) inside ``value``, recursively."""
    if isinstance(value, XComArg | DagParamArg):
        return value.resolve(dict(context))
    if isinstance(value, str):
        if template_ext and value.strip().endswith(template_ext):
            try:
                template = env.get_template(value.strip())
            except jinja2.TemplateNotFound:
                template = env.from_string(value)
        else:
            if "{{" not in value and "{%" not in value:
                return value
            template = env.from_string(value)
        return template.render(**context)
    if isinstance(value, list):
        return [render_value(v, context, env, template_ext) for v in value]
    if isinstance(value, tuple):
        return tuple(render_value(v, context, env, template_ext) for v in value)
    if isinstance(value, dict):
        return {k: render_value(v, context, env, template_ext) for k, v in value.items()}
    return value


def render_fields(task: BaseOperator, context: Mapping[str, Any], env: jinja2.Environment | None = None) -> dict[str, Any]:
    """Render ``task.template_fields`` in place; return {field: rendered value} for display."""
    env = env or environment_for(task.dag)
    full_context = dict(context)
    if task.dag is not None:
        for k, v in task.dag.user_defined_macros.items():
            full_context.setdefault(k, v)
    rendered: dict[str, Any] = {}
    for field in task.template_fields:
        value = getattr(task, field, None)
        if value is None:
            continue
        new = render_value(value, full_context, env, tuple(task.template_ext))
        setattr(task, field, new)
        rendered[field] = new
    return rendered
