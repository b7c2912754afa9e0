"""One processor for AudioGen and MAGNeT: the T5 tokenizer for text, EnCodec's feature extractor for audio."""

from __future__ import annotations

from collections.abc import Sequence

import julius
import numpy as np
import torch
from transformers import BatchFeature, ProcessorMixin

from .loading_checks import check_processor_folder


def _as_text_list(text) -> list[str] | None:
    if text is None:
        return None
    texts = [text] if isinstance(text, str) else text
    if not isinstance(texts, (list, tuple)):
        raise TypeError(f"text must be a string or a list of strings, got {type(text).__name__}.")
    if len(texts) == 0:
        raise ValueError("text is an empty list; pass at least one prompt (use '' for an unconditional one).")
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        raise TypeError(
            f"text items must be strings; items {bad} are {[type(texts[i]).__name__ for i in bad]}."
        )
    return list(texts)


def _as_waveforms(audio) -> list[torch.Tensor]:
    """Accept one clip (`[samples]` or `[channels, samples]`) or a list/batch of clips; return 2-D float tensors."""
    if isinstance(audio, (np.ndarray, torch.Tensor)) and audio.ndim == 3:
        clips = list(audio)
    elif isinstance(audio, (np.ndarray, torch.Tensor)):
        clips = [audio]
    elif isinstance(audio, Sequence) and len(audio) > 0 and not isinstance(audio[0], (float, int)):
        clips = list(audio)
    elif isinstance(audio, Sequence) and len(audio) > 0:
        clips = [np.asarray(audio, dtype=np.float32)]
    else:
        raise ValueError("audio must be a waveform array or a non-empty list of waveforms.")
    out = []
    for i, clip in enumerate(clips):
        wav = torch.as_tensor(np.asarray(clip, dtype=np.float32))
        if wav.ndim == 1:
            wav = wav[None]
        if wav.ndim != 2:
            raise ValueError(
                f"audio clip {i} must be [samples] or [channels, samples], got shape {tuple(wav.shape)}."
            )
        if wav.shape[-1] == 0:
            raise ValueError(f"audio clip {i} is empty (0 samples); pass a non-empty prompt.")
        if not torch.isfinite(wav).all():
            raise ValueError(f"audio clip {i} contains NaN or inf samples; clean or clip it first.")
        out.append(wav)
    return out


class AudioGenProcessor(ProcessorMixin):
    """`processor(text=..., audio=..., sampling_rate=...)` -> `input_ids`, `attention_mask` and, for audio
    prompts, `input_values` `[batch, channels, samples]` and `padding_mask`.

    Text follows audiocraft's T5 conditioner: right padding to the longest prompt, no truncation, `</s>`
    appended, and the mask of empty prompts zeroed (an empty text is the unconditional description).
    Audio is resampled with julius to the codec's rate and downmixed to its channel count.
    `negative_text=` (one text, or one per prompt) is tokenized the same way but on its own, so it never
    changes the prompts' padding, into `negative_input_ids` / `negative_attention_mask` for `generate()`.
    """

    def __init__(self, feature_extractor, tokenizer):
        super().__init__(feature_extractor, tokenizer)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *args, **kwargs):
        """Refuse a missing folder or one without tokenizer files before transformers' loader."""
        check_processor_folder(pretrained_model_name_or_path)
        return super().from_pretrained(pretrained_model_name_or_path, *args, **kwargs)

    def __call__(
        self, text=None, audio=None, sampling_rate: int | None = None, negative_text=None, **kwargs
    ) -> BatchFeature:
        texts = _as_text_list(text)
        if texts is None and audio is None:
            raise ValueError("pass text=..., audio=... (with sampling_rate=...), or both.")
        return_tensors = kwargs.pop("return_tensors", "pt")
        kwargs.setdefault("padding", True)
        data: dict = {}
        if texts is not None:
            data["input_ids"], data["attention_mask"] = self._tokenize(texts, **kwargs)
        if negative_text is not None:
            negatives = _as_text_list(negative_text)
            if texts is None or len(negatives) not in (1, len(texts)):
                raise ValueError(
                    f"negative_text needs text prompts and gives one negative for all or one per prompt; got "
                    f"{len(negatives)} negatives for {0 if texts is None else len(texts)} prompts."
                )
            data["negative_input_ids"], data["negative_attention_mask"] = self._tokenize(negatives, **kwargs)
        if audio is not None:
            if sampling_rate is None:
                raise ValueError(
                    "an audio prompt needs its sampling_rate=...; the processor resamples it to "
                    f"{self.feature_extractor.sampling_rate} Hz."
                )
            clips = [self._to_codec_format(w, int(sampling_rate)) for w in _as_waveforms(audio)]
            if texts is not None and len(clips) != len(texts):
                raise ValueError(
                    f"{len(texts)} texts but {len(clips)} audio prompts; give one audio per text."
                )
            features = self.feature_extractor(
                [c.numpy() for c in clips],
                sampling_rate=self.feature_extractor.sampling_rate,
                padding=True,
                return_tensors="pt",
            )
            data["input_values"] = features["input_values"]
            data["padding_mask"] = features["padding_mask"]
        return BatchFeature(data=data, tensor_type=return_tensors)

    def _tokenize(self, texts: list[str], **kwargs) -> tuple[torch.Tensor, torch.Tensor]:
        """Token ids and mask, the mask of empty texts zeroed (audiocraft's empty description)."""
        encoded = self.tokenizer(texts, return_tensors="pt", **kwargs)
        mask = encoded["attention_mask"].clone()
        for i, t in enumerate(texts):
            if t == "":
                mask[i] = 0
        return encoded["input_ids"], mask

    def _to_codec_format(self, wav: torch.Tensor, sampling_rate: int) -> torch.Tensor:
        """audiocraft's `convert_audio`: resample (julius) then average channels down to the codec's."""
        target = self.feature_extractor.sampling_rate
        if sampling_rate <= 0:
            raise ValueError(f"sampling_rate must be a positive number of Hz, got {sampling_rate}.")
        if sampling_rate != target:
            wav = julius.resample_frac(wav, sampling_rate, target)
        channels = self.feature_extractor.feature_size
        if wav.shape[0] != channels:
            if channels != 1:
                raise ValueError(f"cannot map {wav.shape[0]} channels to the codec's {channels}.")
            wav = wav.mean(dim=0, keepdim=True)
        return wav if channels > 1 else wav[0]

    def batch_decode(self, audio=None, padding_mask=None, **kwargs):
        """Waveforms `[batch, channels, samples]` to a list of numpy arrays, trimming padded samples when a
        `padding_mask` is given. Token ids are decoded with the tokenizer."""
        if audio is None:
            return self.tokenizer.batch_decode(**kwargs)
        if not isinstance(audio, torch.Tensor) or audio.dim() != 3:
            return self.tokenizer.batch_decode(audio, **kwargs)
        out = []
        for i, clip in enumerate(audio.detach().float().cpu()):
            if padding_mask is not None:
                mask = padding_mask[i].bool().cpu()
                keep = torch.ones(clip.shape[-1], dtype=torch.bool)
                keep[: mask.shape[-1]] = mask
                clip = clip[:, keep]
            out.append(clip.numpy())
        return out

    def decode(self, *args, **kwargs):
        return self.tokenizer.decode(*args, **kwargs)

    @property
    def model_input_names(self) -> list[str]:
        return ["input_ids", "attention_mask", "input_values", "padding_mask"]
