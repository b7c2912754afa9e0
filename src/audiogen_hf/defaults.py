"""The embedded default models: small AudioGen and MAGNeT demos shipped inside the package (issue 6).

Why: they load by name with no network, so a fresh install can generate a recognisable sound offline. They
are trained by `training/embedded/embedded_default.sh` on the procedural sound world only; they are not
general sound generators.
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_MODELS_DIR = Path(__file__).resolve().parent / "default_models"
DEFAULT_MODEL = str(DEFAULT_MODELS_DIR / "audiogen")
DEFAULT_MAGNET_MODEL = str(DEFAULT_MODELS_DIR / "magnet")

MODEL_ALIASES: dict[str, str] = {
    "default": DEFAULT_MODEL,
    "default-audiogen": DEFAULT_MODEL,
    "default-magnet": DEFAULT_MAGNET_MODEL,
}


def resolve_model_name(name: str) -> str:
    """The folder of a short alias ("default", "default-audiogen", "default-magnet"); any other name (a
    folder or Hub id) is returned unchanged. An alias whose folder is missing (an install without the package
    data) is an error that says so, rather than a confusing Hub lookup."""
    path = MODEL_ALIASES.get(name)
    if path is None:
        return name
    if not (Path(path) / "config.json").is_file():
        raise FileNotFoundError(
            f"the embedded model '{name}' is missing from this install ({path}); reinstall audiogen-hf with "
            "its package data, or rebuild it with training/embedded/embedded_default.sh."
        )
    return path
