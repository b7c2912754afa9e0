"""The facts a converted checkpoint's model card states (written through `audiogen_hf.hub`, like every card)."""

from __future__ import annotations

import re
from pathlib import Path

from ..hub.folder import write_card
from ..hub.model_card import META_LICENSE, CardFacts
from ..hub.releases import RELEASES

PARITY = (
    "The converter reads every architecture field from `xp.cfg` and checks it against the tensors. audiogen-hf's "
    "parity suite checks, on tiny random checkpoints in this exact file format and with audiocraft 1.3.0 as "
    "reference: identical greedy tokens (AudioGen: batches of prompts of different lengths, continuation, "
    "sliding window; MAGNeT: nonoverlap and stride1), identical codec codes, decoded audio within 1e-4 and "
    "decoder logits within 1e-4."
)


def conversion_card_facts(
    info: dict, license: str | None = None, license_name: str | None = None
) -> CardFacts:
    """Meta's seven releases are CC-BY-NC 4.0; another source keeps the licence the user names (by default
    `other`, named after the source, which the user must check)."""
    source = info["source"]
    release = RELEASES.get(source)
    is_hub_id = re.fullmatch(r"[\w.-]+/[\w.-]+", source) is not None and not Path(source).exists()
    if license is None:
        license = META_LICENSE if release else "other"
    if license == "other" and not license_name:
        license_name = f"same as {source}" if is_hub_id else "same as the source checkpoint"
    family = "AudioGen" if info["family"] == "audiogen" else "MAGNeT"
    summary = (
        f"{release.description if release else 'An audiocraft ' + family + ' export'}, converted with "
        f"[audiogen-hf](https://pypi.org/project/audiogen-hf/) (`conversion/convert_audiocraft.py`) from "
        f"audiocraft {info.get('audiocraft_version')} files. Text encoder: `{info['text_encoder']}` "
        f"(`{info['text_encoder_name']}` in the checkpoint's xp.cfg). Weights stored as {info['dtype']} (the "
        f"source LM is fp16; fp32 is its exact upcast). Codec padding mode: `{info['pad_mode']}`."
    )
    return CardFacts(
        family=info["family"],
        title=f"{family} converted from audiocraft: `{source}`",
        summary=summary,
        license=license,
        license_name=license_name if license == "other" else None,
        base_model=source if is_hub_id else None,
        base_model_relation="quantized" if is_hub_id and info["dtype"] != "float32" else None,
        tags=["audiocraft"],
        sections={"Verified": PARITY},
    )


def write_model_card(output: Path, info: dict, **license_kwargs) -> Path | None:
    return write_card(output, conversion_card_facts(info, **license_kwargs), replace=True)
