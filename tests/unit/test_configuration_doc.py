"""docs/configuration.md and the settings agree: every setting of ``settings._defaults`` has a
note in ``tradewind.settings_notes`` (the failure names the setting), no note is left of a
setting that is gone, and the document is what ``scripts/gen_config_docs.py`` writes."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_config_docs", ROOT / "scripts/gen_config_docs.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_setting_has_a_note(generator: ModuleType) -> None:
    missing = generator.missing_notes()
    assert not missing, (
        f"these settings have no note: {', '.join(missing)}; add one each to NOTES in "
        "src/tradewind/settings_notes.py, then run python scripts/gen_config_docs.py"
    )


def test_no_note_is_left_of_a_setting_that_is_gone(generator: ModuleType) -> None:
    stale = generator.stale_notes()
    assert not stale, f"src/tradewind/settings_notes.py has notes of unknown settings: {stale}"


def test_the_document_is_generated_from_the_settings(generator: ModuleType) -> None:
    if generator.missing_notes():
        pytest.skip("a setting has no note (test_every_setting_has_a_note says which)")
    expected = generator.render().splitlines()
    actual = (ROOT / "docs" / "configuration.md").read_text().splitlines()
    differ = [line for line in expected if line not in actual]
    differ += [line for line in actual if line not in expected]
    assert expected == actual, (
        "docs/configuration.md is out of step with the settings: run python "
        "scripts/gen_config_docs.py (edit the notes in src/tradewind/settings_notes.py, not the "
        "document). Lines that differ:\n" + "\n".join(differ[:10])
    )


def test_the_check_names_a_setting_without_a_note(
    generator: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = generator._defaults
    monkeypatch.setattr(
        generator,
        "_defaults",
        lambda home: {**real(home), "core": {**real(home)["core"], "new_one": 1}},
    )
    assert generator.missing_notes() == ["[core] new_one"]
    with pytest.raises(SystemExit, match=r"\[core\] new_one"):
        generator.render()
