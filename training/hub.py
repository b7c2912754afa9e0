"""The final artefacts: a `save_pretrained` folder (model + processor + model card) and an optional Hub push."""

from __future__ import annotations

from pathlib import Path

MODEL_FILES = ["*.json", "*.safetensors", "*.model", "README.md", "*.txt"]


def model_card(family: str, base_model: str, args_summary: dict, final_loss: float | None) -> str:
    base = "" if base_model == "tiny" else f"base_model: {base_model}\n"
    rows = "\n".join(f"| `{k}` | `{v}` |" for k, v in sorted(args_summary.items()))
    loss = "n/a" if final_loss is None else f"{final_loss:.4f}"
    return f"""---
library_name: transformers
pipeline_tag: text-to-audio
tags: [audiogen-hf, {family}, text-to-audio]
{base}---

# {family} trained with `audiogen-hf`

{"Fine-tuned from `" + base_model + "`" if base_model != "tiny" else "Trained from scratch"} with
`accelerate launch training/train.py`. Final training loss: {loss}.

```python
import audiogen_hf  # registers the model classes
from transformers import AutoModelForTextToWaveform, AutoProcessor

model = AutoModelForTextToWaveform.from_pretrained("<this repo>")
processor = AutoProcessor.from_pretrained("<this repo>")
audio = model.generate(**processor(text=["dog barking"]))
```

## Training arguments

| field | value |
|---|---|
{rows}
"""


def push_folder(folder: str | Path, repo_id: str, private: bool) -> str:
    """Upload the model files of `folder` (not checkpoints, caches or logs) to `repo_id`."""
    from huggingface_hub import HfApi

    api = HfApi()
    api.create_repo(repo_id, private=private, exist_ok=True)
    info = api.upload_folder(
        repo_id=repo_id,
        folder_path=str(folder),
        allow_patterns=MODEL_FILES,
        commit_message="audiogen-hf training",
    )
    return str(info)
