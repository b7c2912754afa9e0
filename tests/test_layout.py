"""The package's folder tree shows its architecture (issue 29): no import cycles, commands on top, few
top-level modules, the LM trainer alone at the top of `training/`."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import audiogen_hf

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(audiogen_hf.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Every package module `name` imports, at the top or inside a function (a lazy import still ties the
    two modules together)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            targets = [
                f"{stem}.{alias.name}" if f"{stem}.{alias.name}" in modules else stem for alias in node.names
            ]
        else:
            continue
        found.update(t for t in targets if t in modules and t != name)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_inside_the_package():
    graph = _graph()
    assert "audiogen_hf.models.audiogen.modeling_audiogen" in graph["audiogen_hf"]  # the graph is real
    assert _find_cycle(graph) is None, " -> ".join(_find_cycle(graph))


def test_library_never_imports_command_code():
    offenders = {
        name: sorted(t for t in targets if t.startswith("audiogen_hf.commands"))
        for name, targets in _graph().items()
        if not name.startswith("audiogen_hf.commands")
    }
    assert {k: v for k, v in offenders.items() if v and k != "audiogen_hf.__main__"} == {}


def test_few_modules_at_the_top_and_one_concern_per_subpackage():
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= 12, top
    for folder in (
        "models/audiogen",
        "models/magnet",
        "core",
        "generation",
        "commands",
        "evaluation",
        "conversion",
    ):
        assert (PACKAGE / folder / "__init__.py").is_file(), folder


def test_training_top_level_holds_the_lm_trainer_only():
    top = {p.stem for p in (ROOT / "training").glob("*.py")}
    assert "train" in top
    assert not top & {
        "train_codec",
        "sound_world",
        "codec_vq",
        "codec_losses",
        "codec_metrics",
        "codec_augment",
    }
    assert (ROOT / "training" / "embedded" / "train_codec.py").is_file()


def test_python_dash_m_runs_the_cli():
    result = subprocess.run(
        [sys.executable, "-m", "audiogen_hf", "--help"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "generate" in result.stdout


def test_every_public_name_still_importable_from_the_top():
    for name in audiogen_hf.__all__:
        assert getattr(audiogen_hf, name) is not None
