"""The exporter walks the import graph (no file list): on a small package written by the test, a module added
to the graph is exported, imports are rewritten to one flat folder that runs, and what cannot be exported flat
is refused with a message naming the import."""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path

import pytest

from audiogen_hf.hub import code_export
from audiogen_hf.hub.code_export import GENERATED_MARK, CodeExportError, exported_sources


def write_package(root: Path, files: dict[str, str]) -> None:
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))


BASE = {
    "fakepkg/__init__.py": "",
    "fakepkg/models/__init__.py": "",
    "fakepkg/models/modeling_x.py": """
        from ..core.helper import value as base_value

        class Model:
            def answer(self):
                from ..core import lazy_helper  # a lazy import is followed too

                return base_value + lazy_helper.X
        """,
    "fakepkg/core/__init__.py": "",
    "fakepkg/core/helper.py": "from fakepkg.core.constants import ONE\n\nvalue = ONE\n",
    "fakepkg/core/constants.py": "ONE = 1\n",
    "fakepkg/core/lazy_helper.py": "X = 2\n",
    "fakepkg/commands/__init__.py": "",
    "fakepkg/commands/cli.py": "import gradio\n",
}


@pytest.fixture
def fake_package(tmp_path, monkeypatch):
    def make(**changes):
        write_package(tmp_path / "src", {**BASE, **changes})
        monkeypatch.syspath_prepend(str(tmp_path / "src"))
        monkeypatch.setattr(code_export, "PACKAGE", "fakepkg")
        for name in [m for m in sys.modules if m.startswith("fakepkg")]:
            monkeypatch.delitem(sys.modules, name)
        importlib.invalidate_caches()
        return importlib.import_module("fakepkg.models.modeling_x").Model

    yield make
    for name in [m for m in sys.modules if m.startswith(("fakepkg", "flat_export"))]:
        del sys.modules[name]


def test_the_graph_is_walked_and_the_flat_copy_runs(fake_package, tmp_path, monkeypatch):
    sources = exported_sources([fake_package()])
    assert set(sources) == {"modeling_x.py", "helper.py", "constants.py", "lazy_helper.py"}
    assert all(source.startswith(GENERATED_MARK) for source in sources.values())
    assert "from .helper import value as base_value" in sources["modeling_x.py"]
    assert "from .constants import ONE" in sources["helper.py"]  # absolute package imports too
    assert "from .lazy_helper import __name__" in sources["modeling_x.py"]  # so transformers copies the file
    flat = tmp_path / "flat" / "flat_export"
    flat.mkdir(parents=True)
    (flat / "__init__.py").write_text("")
    for name, source in sources.items():
        (flat / name).write_text(source)
    monkeypatch.syspath_prepend(str(flat.parent))
    flat_model = importlib.import_module("flat_export.modeling_x").Model
    assert flat_model().answer() == 3
    # exporting the exported copy again (a model loaded with trust_remote_code, saved again) gives the same code
    monkeypatch.setattr(code_export, "PACKAGE", "audiogen_hf")
    again = exported_sources([flat_model])
    assert set(again) == set(sources)
    assert (
        again["modeling_x.py"].count("__name__ as") == 1 and again["modeling_x.py"].count(GENERATED_MARK) == 1
    )


def test_a_new_module_in_the_graph_is_exported(fake_package):
    Model = fake_package(
        **{"fakepkg/core/lazy_helper.py": "from .added import X\n", "fakepkg/core/added.py": "X = 5\n"}
    )
    assert "added.py" in exported_sources([Model])


def test_command_code_is_refused(fake_package):
    Model = fake_package(**{"fakepkg/core/lazy_helper.py": "from ..commands.cli import run\nX = 2\n"})
    with pytest.raises(
        CodeExportError, match="imports fakepkg.commands.cli, which a saved model folder cannot"
    ):
        exported_sources([Model])


def test_two_modules_with_one_flat_name_are_refused(fake_package):
    Model = fake_package(
        **{
            "fakepkg/core/lazy_helper.py": "from ..models.helper import Y\nX = 2\n",
            "fakepkg/models/helper.py": "Y = 1\n",
        }
    )
    with pytest.raises(CodeExportError, match="would both be exported as helper.py"):
        exported_sources([Model])


def test_plain_package_imports_and_init_names_are_refused(fake_package):
    Model = fake_package(**{"fakepkg/core/lazy_helper.py": "import fakepkg.core.constants\nX = 2\n"})
    with pytest.raises(CodeExportError, match="write it as a relative"):
        exported_sources([Model])
    Model = fake_package(
        **{"fakepkg/core/__init__.py": "Z = 1\n", "fakepkg/core/lazy_helper.py": "from . import Z\nX = 2\n"}
    )
    with pytest.raises(CodeExportError, match="its __init__"):
        exported_sources([Model])
