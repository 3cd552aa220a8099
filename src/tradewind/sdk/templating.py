"""Jinja rendering of operators' ``template_fields`` with Airflow's context and macros."""

from __future__ import annotations

import os
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import jinja2
import jinja2.nativetypes

from tradewind.sdk.xcom_arg import DagParamArg, XComArg

if TYPE_CHECKING:
    from tradewind.sdk.baseoperator import BaseOperator
    from tradewind.sdk.dag import DAG

# Weak keys: a worker that loads many DAG versions must not keep every old DAG alive.
_env_cache: weakref.WeakKeyDictionary[Any, jinja2.Environment] = weakref.WeakKeyDictionary()
_no_dag_env: list[jinja2.Environment] = []


def environment_for(dag: DAG | None) -> jinja2.Environment:
    """Return the Jinja environment of ``dag``: its folder and template_searchpath, strict undefined."""
    env = _no_dag_env[0] if dag is None and _no_dag_env else _env_cache.get(dag) if dag else None
    if env is not None:
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
        undefined=(
            dag.template_undefined if dag and dag.template_undefined else jinja2.StrictUndefined
        ),
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
        _env_cache[dag] = env
    else:
        _no_dag_env.append(env)
    return env


def render_value(
    value: Any,
    context: Mapping[str, Any],
    env: jinja2.Environment,
    template_ext: tuple[str, ...] = (),
) -> Any:
    """Render strings (or template files named by them) inside ``value``, recursively."""
    if isinstance(value, XComArg | DagParamArg):
        return value.resolve(dict(context))
    if isinstance(value, str):
        # As Airflow: no strip(), so a trailing space ("run.sh ") opts out of the file lookup.
        if template_ext and value.endswith(template_ext):
            template = _template_file(env, value)
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


def _template_file(env: jinja2.Environment, name: str) -> jinja2.Template:
    """Load the template file ``name`` from the DAG's folder or ``template_searchpath``."""
    try:
        return env.get_template(name)
    except jinja2.TemplateNotFound:
        if os.path.isabs(name) and os.path.isfile(name):
            with open(name, encoding="utf-8") as f:
                return env.from_string(f.read())
        searched = getattr(env.loader, "searchpath", [])
        raise jinja2.TemplateNotFound(
            f"template file {name!r} not found in {searched} (the DAG's folder and "
            "template_searchpath); end the value with a space to use it as a literal string"
        ) from None


def render_fields(
    task: BaseOperator, context: Mapping[str, Any], env: jinja2.Environment | None = None
) -> dict[str, Any]:
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
