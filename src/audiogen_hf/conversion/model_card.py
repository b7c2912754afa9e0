"""The README.md written next to a converted checkpoint."""

from __future__ import annotations

from pathlib import Path

from ..output_files import write_text

_KNOWN = {
    "facebook/audiogen-medium": "AudioGen medium (1.5B), 16 kHz, 10 s window, T5-large",
    "facebook/magnet-small-10secs": "MAGNeT small (300M), music, 32 kHz, 10 s, T5-base",
    "facebook/magnet-medium-10secs": "MAGNeT medium (1.5B), music, 32 kHz, 10 s, T5-base",
    "facebook/magnet-small-30secs": "MAGNeT small (300M), music, 32 kHz, 30 s, T5-base",
    "facebook/magnet-medium-30secs": "MAGNeT medium (1.5B), music, 32 kHz, 30 s, T5-base",
    "facebook/audio-magnet-small": "Audio-MAGNeT small (300M), sound, 16 kHz, 10 s, T5-large",
    "facebook/audio-magnet-medium": "Audio-MAGNeT medium (1.5B), sound, 16 kHz, 10 s, T5-large",
}


def write_model_card(output: Path, info: dict) -> Path:
    source = info["source"]
    meta = source.startswith("facebook/")
    license_id = "cc-by-nc-4.0" if meta else "other"
    family = "AudioGen" if info["family"] == "audiogen" else "MAGNeT"
    text = f"""---
license: {license_id}
library_name: transformers
pipeline_tag: text-to-audio
tags: [audiogen-hf, {info["family"]}, audiocraft, text-to-audio]
---

# {family} converted from audiocraft: `{source}`

{_KNOWN.get(source, "An audiocraft " + family + " export")}, converted with
[audiogen-hf](https://pypi.org/project/audiogen-hf/) (`conversion/convert_audiocraft.py`) from
audiocraft {info.get("audiocraft_version")} files. Text encoder: `{info["text_encoder"]}`
(`{info["text_encoder_name"]}` in the checkpoint's xp.cfg). Weights stored as {info["dtype"]}
(the source LM is fp16; fp32 is its exact upcast). Codec padding mode: `{info["pad_mode"]}`.

Licence of the weights: {"CC-BY-NC 4.0 (Meta's release terms)" if meta else "that of the source checkpoint"}.

## Usage

```python
import audiogen_hf
from transformers import AutoModelForTextToWaveform, AutoProcessor

model = AutoModelForTextToWaveform.from_pretrained("<this folder or repo>")
processor = AutoProcessor.from_pretrained("<this folder or repo>")
audio = model.generate(**processor(text=["a dog barks in the rain"]), max_new_tokens=250)
```

## Verified

The converter reads every architecture field from `xp.cfg` and checks it against the tensors.
audiogen-hf's parity suite checks, on tiny random checkpoints in this exact file format and with
audiocraft 1.3.0 as reference: identical greedy tokens (AudioGen: batches of prompts of different
lengths, continuation, sliding window; MAGNeT: nonoverlap and stride1), identical codec codes,
decoded audio within 1e-4 and decoder logits within 1e-4.
"""
    return write_text(output / "README.md", text, overwrite=True)  # the output folder was checked first
