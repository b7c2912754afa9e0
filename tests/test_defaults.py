"""Model aliases: the embedded defaults resolve by short name, and a missing folder is a clear error."""

import pytest

from audiogen_hf import defaults


def test_other_names_pass_through():
    assert defaults.resolve_model_name("facebook/audiogen-medium") == "facebook/audiogen-medium"
    assert defaults.resolve_model_name("/some/folder") == "/some/folder"


def test_alias_resolves_to_its_folder(tmp_path, monkeypatch):
    (tmp_path / "config.json").write_text("{}")
    monkeypatch.setitem(defaults.MODEL_ALIASES, "default", str(tmp_path))
    assert defaults.resolve_model_name("default") == str(tmp_path)


def test_missing_embedded_model_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(defaults.MODEL_ALIASES, "default-magnet", str(tmp_path / "absent"))
    with pytest.raises(FileNotFoundError, match="embedded model 'default-magnet' is missing"):
        defaults.resolve_model_name("default-magnet")
