"""The final artefacts' model card and Hub push, through `audiogen_hf.hub` (the one path every writer uses)."""

from __future__ import annotations

from pathlib import Path

from audiogen_hf.hub.folder import upload_folder, write_card
from audiogen_hf.hub.model_card import META_LICENSE, CardFacts, render_model_card
from audiogen_hf.hub.releases import RELEASES


def card_facts(
    family: str,
    base_model: str,
    args_summary: dict,
    final_loss: float | None,
    dataset: str | None = None,
    license: str | None = None,
    license_name: str | None = None,
) -> CardFacts:
    """A model fine-tuned from one of Meta's releases stays CC-BY-NC 4.0 unless the user says otherwise; any
    other licence is the user's (`--hub_license`, with `--hub_license_name` for `other`)."""
    from_scratch = base_model == "tiny"
    if license is None:
        license = META_LICENSE if base_model in RELEASES else "other"
    if license == "other" and not license_name:
        license_name = "unspecified (set --hub_license / --hub_license_name)"
    rows = "\n".join(f"| `{k}` | `{v}` |" for k, v in sorted(args_summary.items()))
    loss = "n/a" if final_loss is None else f"{final_loss:.4f}"
    origin = "Trained from scratch" if from_scratch else f"Fine-tuned from `{base_model}`"
    return CardFacts(
        family=family,
        title=f"{'AudioGen' if family == 'audiogen' else 'MAGNeT'} trained with `audiogen-hf`",
        summary=f"{origin} with `accelerate launch training/train.py`.",
        license=license,
        license_name=license_name if license == "other" else None,
        base_model=None if from_scratch else base_model,
        base_model_relation=None if from_scratch else "finetune",
        datasets=[dataset] if dataset else [],
        measured=[f"Final training loss: {loss}."],
        sections={"Training arguments": f"| field | value |\n|---|---|\n{rows}"},
    )


def model_card(family: str, base_model: str, args_summary: dict, final_loss: float | None, **facts) -> str:
    return render_model_card(card_facts(family, base_model, args_summary, final_loss, **facts))


def write_training_card(folder: str | Path, *args, **facts) -> Path | None:
    """The card of a training run's output folder (replacing the generic one `save_pretrained` wrote)."""
    return write_card(folder, card_facts(*args, **facts), replace=True)


def push_folder(folder: str | Path, repo_id: str, private: bool) -> str:
    """Upload the model files of `folder` (weights, code, card; not checkpoints, caches or logs)."""
    return upload_folder(folder, repo_id, private=private, commit_message="audiogen-hf training")
