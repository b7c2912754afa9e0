"""The metrics of this package as `evaluate` metric modules: `evaluate.load(metric_path("frechet_distance"))`
works offline from the installed package, and `write_metric_space` lays one out as a Hub metric Space."""

from __future__ import annotations

from pathlib import Path

from ..output_files import write_text

METRICS_DIR = Path(__file__).with_name("evaluate_metrics")
METRIC_NAMES = ("frechet_distance", "kl_divergence", "clap_score")


def metric_info(description: str, inputs_description: str, inputs: str = "paired_rows"):
    """The `evaluate.MetricInfo` of our modules: `paired_rows` (one float vector per clip on each side) or
    `clips_and_texts` (a mono clip and its prompt)."""
    import datasets
    import evaluate

    if inputs == "paired_rows":
        row = datasets.Sequence(datasets.Value("float64"))
        features = {"predictions": row, "references": row}
    elif inputs == "clips_and_texts":
        features = {
            "predictions": datasets.Sequence(datasets.Value("float32")),
            "references": datasets.Value("string"),
        }
    else:
        raise ValueError(f"inputs must be 'paired_rows' or 'clips_and_texts', got {inputs!r}.")
    return evaluate.MetricInfo(
        description=description,
        citation="",
        inputs_description=inputs_description,
        features=datasets.Features(features),
    )


def metric_path(name: str) -> str:
    """The local folder of metric `name`, for `evaluate.load(...)` (no network needed)."""
    if name not in METRIC_NAMES:
        raise ValueError(f"unknown metric '{name}'; choose one of {list(METRIC_NAMES)}.")
    return str(METRICS_DIR / name)


SPACE_CARD = """---
title: {title}
tags: [evaluate, metric, audiogen-hf]
sdk: gradio
app_file: app.py
pinned: false
---

# {title}

{description}

```python
import evaluate

metric = evaluate.load("<this space>")  # or evaluate.load(audiogen_hf.evaluation.metric_path("{name}"))
```

The maths is `audiogen_hf.evaluation` (installed from `requirements.txt`), so the numbers equal the package's.
"""
APP = """import evaluate
from evaluate.utils import launch_gradio_widget

launch_gradio_widget(evaluate.load("{name}"))
"""


def write_metric_space(name: str, folder: str | Path, *, overwrite: bool = False) -> Path:
    """Lay metric `name` out as a Hub metric Space in `folder` (script named after the folder, as evaluate
    expects; card; app.py; requirements.txt); push it with `HfApi().upload_folder(repo_type="space", ...)`
    to a Space of the folder's name."""
    source = Path(metric_path(name)) / f"{name}.py"
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    description = source.read_text(encoding="utf-8").split('"""')[1].strip()
    title = name.replace("_", " ").title()
    write_text(
        folder / "README.md",
        SPACE_CARD.format(title=title, description=description, name=name),
        overwrite=overwrite,
    )
    write_text(folder / "app.py", APP.format(name=name), overwrite=overwrite)
    write_text(folder / "requirements.txt", "audiogen-hf\nevaluate\ndatasets\n", overwrite=overwrite)
    # evaluate loads `<folder>/<folder name>.py` (a Space: `<repo name>.py`)
    write_text(folder / f"{folder.name}.py", source.read_text(encoding="utf-8"), overwrite=overwrite)
    return folder
