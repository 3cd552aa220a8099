"""The ``airflow.*`` import hook: Tradewind's objects under Airflow's names, real Airflow wins."""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tradewind.compat import (
    airflow_imports_installed,
    install_airflow_imports,
    uninstall_airflow_imports,
)
from tradewind.errors import AirflowNameNotSupported
from tradewind.settings import load_settings


@pytest.fixture
def hook() -> Iterator[None]:
    uninstall_airflow_imports()
    install_airflow_imports()
    yield
    uninstall_airflow_imports()
    install_airflow_imports()  # other tests of this process configured it on


def test_airflow_2_and_3_paths_give_tradewinds_objects(hook: None) -> None:
    from airflow.decorators import task
    from airflow.models.dag import DAG
    from airflow.operators.bash import BashOperator
    from airflow.providers.standard.operators.bash import BashOperator as StdBash
    from airflow.sdk import DAG as SdkDAG
    from airflow.sdk import TriggerRule
    from airflow.utils.trigger_rule import TriggerRule as UtilsRule

    from tradewind.operators.bash import BashOperator as TwBash
    from tradewind.sdk.dag import DAG as TwDAG
    from tradewind.sdk.decorators import task as tw_task

    assert BashOperator is StdBash is TwBash
    assert DAG is SdkDAG is TwDAG
    assert TriggerRule is UtilsRule
    assert task is tw_task
    import airflow.operators.empty

    assert airflow.operators.empty.EmptyOperator.__module__ == "tradewind.operators.empty"


def test_unknown_module_names_the_airflow_module(hook: None) -> None:
    with pytest.raises(AirflowNameNotSupported) as caught:
        importlib.import_module("airflow.providers.amazon.aws.operators.s3")
    assert (
        "airflow.providers.amazon is an Airflow module that Tradewind does not support yet"
        in str(caught.value)
    )
    assert isinstance(caught.value, ImportError)


def test_unknown_name_in_a_served_module_names_it(hook: None) -> None:
    with pytest.raises(
        ImportError, match=r"airflow\.operators\.bash\.NoSuchOperator is an Airflow name"
    ):
        exec("from airflow.operators.bash import NoSuchOperator", {})


def test_known_gap_says_why(hook: None) -> None:
    with pytest.raises(AirflowNameNotSupported, match="SubDAGs were removed in Airflow 3"):
        importlib.import_module("airflow.operators.subdag")


def test_a_real_airflow_on_the_path_is_never_shadowed(hook: None, tmp_path: Path) -> None:
    pkg = tmp_path / "airflow"
    (pkg / "operators").mkdir(parents=True)
    (pkg / "__init__.py").write_text("REAL = True\n")
    (pkg / "operators" / "__init__.py").write_text("")
    (pkg / "operators" / "bash.py").write_text("class BashOperator:\n    real = True\n")
    sys.path.insert(0, str(tmp_path))
    try:
        import airflow
        from airflow.operators.bash import BashOperator

        assert airflow.REAL is True
        assert BashOperator.real is True
        with pytest.raises(ModuleNotFoundError) as caught:
            importlib.import_module("airflow.sdk")  # the real one lacks it; we do not fill in
        assert not isinstance(caught.value, AirflowNameNotSupported)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n == "airflow" or n.startswith("airflow.")]:
            del sys.modules[name]


def test_the_setting_turns_it_off(hook: None, tmp_path: Path) -> None:
    (tmp_path / "tradewind.toml").write_text("[core]\nairflow_imports = false\n")
    from tradewind.sdk import defaults

    defaults.configure(load_settings(tmp_path))
    assert not airflow_imports_installed()
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("airflow")
    defaults.configure(load_settings(tmp_path / "none"))
    assert airflow_imports_installed()


def test_import_tradewind_does_not_install_the_hook_nor_load_it() -> None:
    code = textwrap.dedent(
        """
        import sys, tradewind
        try:
            import airflow
        except ModuleNotFoundError:
            pass
        else:
            raise SystemExit("airflow importable after import tradewind")
        assert "tradewind.compat" not in sys.modules
        assert "pendulum" not in sys.modules
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr + proc.stdout


def test_nothing_named_airflow_is_installed() -> None:
    import importlib.machinery

    assert importlib.machinery.PathFinder.find_spec("airflow") is None


def test_hasattr_and_getattr_with_default_still_work(hook: None) -> None:
    import airflow.sdk

    assert hasattr(airflow.sdk, "DAG")
    assert not hasattr(airflow.sdk, "NoSuchThing")
    assert getattr(airflow.sdk, "NoSuchThing", None) is None
    with pytest.raises(AttributeError, match=r"airflow\.sdk\.NoSuchThing is an Airflow name"):
        airflow.sdk.NoSuchThing  # noqa: B018
