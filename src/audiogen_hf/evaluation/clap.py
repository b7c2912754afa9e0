"""CLAP score: the cosine similarity between a clip's CLAP audio embedding and its prompt's text embedding.

Why a local path only: evaluation must run offline and reproducibly, so the CLAP weights (e.g. a saved
`laion/clap-htsat-unfused`) are loaded from a folder with `local_files_only=True`; nothing is downloaded.
A `ClapScorer` is also an embedder (its audio embeddings), so Fréchet distance can be computed on CLAP
embeddings with the same code as on the built-in ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .audio import resample
from .embedders import Embeddings


def _features(output) -> np.ndarray:
    """transformers 5 returns a model output whose pooler_output is the projected, normalised embedding;
    older versions returned that tensor directly."""
    tensor = getattr(output, "pooler_output", output)
    tensor = tensor / tensor.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    return tensor.float().cpu().numpy()


class ClapScorer:
    """A CLAP model and processor loaded from a local folder (saved with `save_pretrained`)."""

    def __init__(self, path: str | Path, device: str = "cpu", batch_size: int = 16):
        from transformers import ClapModel, ClapProcessor

        folder = Path(path)
        if not (folder / "config.json").is_file():
            raise FileNotFoundError(
                f"no CLAP model at '{path}' (no config.json); pass --clap a local folder holding a CLAP model "
                "and its processor saved with ClapModel/ClapProcessor.save_pretrained (for example a copy of "
                "laion/clap-htsat-unfused); nothing is downloaded at run time"
            )
        try:
            self.model = ClapModel.from_pretrained(folder, local_files_only=True).to(device).eval()
            self.processor = ClapProcessor.from_pretrained(folder, local_files_only=True)
        except (OSError, ValueError) as error:
            raise ValueError(
                f"'{path}' is not a complete CLAP folder ({error}); it needs the model weights and the "
                "processor files (tokenizer and feature extractor) saved with save_pretrained"
            ) from error
        self.device = device
        self.batch_size = batch_size
        self.sampling_rate = int(self.processor.feature_extractor.sampling_rate)

    def _batches(self, items: Sequence):
        for start in range(0, len(items), self.batch_size):
            yield items[start : start + self.batch_size]

    def text_embeddings(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        rows = []
        for batch in self._batches(list(texts)):
            inputs = self.processor(text=list(batch), padding=True, return_tensors="pt").to(self.device)
            with torch.no_grad():
                rows.append(_features(self.model.get_text_features(**inputs)))
        return np.concatenate(rows)

    def audio_embeddings(self, clips: Sequence[np.ndarray], sampling_rate: int) -> np.ndarray:
        """Clips are resampled to the CLAP feature extractor's rate (48 kHz for LAION's models)."""
        import torch

        clips = [resample(np.asarray(c, dtype=np.float32), sampling_rate, self.sampling_rate) for c in clips]
        rows = []
        for batch in self._batches(clips):
            inputs = self.processor(
                audio=list(batch), sampling_rate=self.sampling_rate, return_tensors="pt"
            ).to(self.device)
            with torch.no_grad():
                rows.append(_features(self.model.get_audio_features(**inputs)))
        return np.concatenate(rows)

    def scores(self, clips: Sequence[np.ndarray], sampling_rate: int, texts: Sequence[str]) -> np.ndarray:
        """Per-clip cosine similarity of clip i with text i (in [-1, 1]; higher: closer to the prompt)."""
        if len(clips) != len(texts):
            raise ValueError(f"CLAP score pairs clips with texts: got {len(clips)} clips, {len(texts)} texts")
        audio = self.audio_embeddings(clips, sampling_rate)
        return np.sum(audio * self.text_embeddings(texts), axis=1)

    def __call__(self, clips: Sequence[np.ndarray], sampling_rate: int) -> Embeddings:
        return Embeddings(self.audio_embeddings(clips, sampling_rate))
