"""Hybrid-MAGNeT (Ziv et al., 2024, sec. 3.4): the first seconds autoregressively, the rest by MAGNeT in parallel.

AudioGen writes the opening `ar_seconds` (with its classifier-free guidance); its codes become MAGNeT's frozen
prompt, and MAGNeT decodes the rest of the clip conditioned on that prefix and the same text. The prefix codes are
kept verbatim (they are never re-encoded from audio). Past MAGNeT's window the rest continues with MAGNeT's
overlapping windows (`magnet_windows.py`).
"""

from __future__ import annotations

import torch

from ...core.codec_compat import check_same_codec
from ...generation.negative_prompts import pop_negative_prompt

# Shared by both stages; everything else goes to one model through audiogen_kwargs / magnet_kwargs.
SHARED_KWARGS = ("negative_input_ids", "negative_attention_mask", "negative_prompt")


class HybridMagnet:
    """An AudioGen and a MAGNeT on the same codec and text tokenizer, generating one clip together.

    hybrid = HybridMagnet(audiogen, magnet)
    audio = hybrid.generate(**processor(text=["a dog barks"]), ar_seconds=0.5, generator=g)
    """

    def __init__(self, audiogen, magnet):
        from ..audiogen.modeling_audiogen import AudioGenForConditionalGeneration
        from .modeling_magnet import MagnetForConditionalGeneration

        if not isinstance(audiogen, AudioGenForConditionalGeneration):
            raise TypeError(
                f"audiogen must be an AudioGenForConditionalGeneration (the autoregressive part), got "
                f"{type(audiogen).__name__}."
            )
        if not isinstance(magnet, MagnetForConditionalGeneration):
            raise TypeError(
                f"magnet must be a MagnetForConditionalGeneration (the parallel part), got {type(magnet).__name__}."
            )
        check_same_codec(magnet, audiogen, "AudioGen")
        if audiogen.config.text_encoder.vocab_size != magnet.config.text_encoder.vocab_size:
            raise ValueError(
                f"the two models' text encoders have different vocabularies ({audiogen.config.text_encoder.vocab_size}"
                f" vs {magnet.config.text_encoder.vocab_size}): one tokenized prompt cannot condition both."
            )
        self.audiogen, self.magnet = audiogen, magnet

    @classmethod
    def from_pretrained(cls, audiogen_name_or_path: str, magnet_name_or_path: str, **kwargs) -> HybridMagnet:
        """Load both models (folders, Hub ids or the aliases "default" / "default-magnet"); `kwargs` go to both
        `from_pretrained` calls (e.g. `dtype=`)."""
        from transformers import AutoModelForTextToWaveform

        from ...defaults import resolve_model_name

        load = AutoModelForTextToWaveform.from_pretrained
        return cls(
            load(resolve_model_name(audiogen_name_or_path), **kwargs).eval(),
            load(resolve_model_name(magnet_name_or_path), **kwargs).eval(),
        )

    @property
    def window_seconds(self) -> float:
        return float(self.magnet.config.decoder.max_duration)

    def ar_frames(self, ar_seconds) -> int:
        """Frames of the autoregressive prefix; it must leave MAGNeT part of its window to decode."""
        if isinstance(ar_seconds, bool) or not isinstance(ar_seconds, (int, float)) or not ar_seconds > 0:
            raise ValueError(f"ar_seconds must be a number of seconds > 0, got {ar_seconds!r}.")
        if ar_seconds >= self.window_seconds:
            raise ValueError(
                f"ar_seconds={ar_seconds} must be shorter than MAGNeT's {self.window_seconds} s window: MAGNeT "
                "is prompted with the AR prefix and needs part of its window to generate. Use fewer seconds, "
                "or AudioGen alone."
            )
        return max(1, round(ar_seconds * self.magnet.config.frame_rate))

    @torch.no_grad()
    def generate(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        ar_seconds: float = 0.5,
        max_new_tokens: int | None = None,
        num_return_sequences: int = 1,
        generator: torch.Generator | None = None,
        return_dict_in_generate: bool = False,
        audiogen_kwargs: dict | None = None,
        magnet_kwargs: dict | None = None,
        **shared,
    ):
        """`max_new_tokens` frames in all (default: MAGNeT's window), the first `ar_seconds` by AudioGen.

        `num_return_sequences` clips per prompt (each AR prefix gets its own MAGNeT continuation);
        `negative_input_ids` / `negative_attention_mask` steer both models; `audiogen_kwargs` (e.g.
        `guidance_scale`, `top_k`) and `magnet_kwargs` (e.g. `decoding_steps`, `rescorer`) go to one model each.
        One `generator` drives both. Returns the waveform `[batch, channels, samples]`, or an
        `AudioGenerationOutput` with `.audio` and `.sequences` when `return_dict_in_generate`.
        """
        unknown = sorted(set(shared) - set(SHARED_KWARGS))
        if unknown:
            raise ValueError(
                f"HybridMagnet.generate() got {unknown}: pass one model's knobs in audiogen_kwargs={{...}} or "
                f"magnet_kwargs={{...}}; only {list(SHARED_KWARGS)} go to both."
            )
        prefix = self.ar_frames(ar_seconds)
        total = self.magnet.config.max_frames if max_new_tokens is None else max_new_tokens
        if isinstance(total, bool) or not isinstance(total, int) or total <= prefix:
            raise ValueError(
                f"max_new_tokens={max_new_tokens!r} must be an integer number of frames longer than the "
                f"{prefix}-frame AR prefix (ar_seconds={ar_seconds}); ask for more frames or fewer AR seconds."
            )
        for name, knobs in (("audiogen_kwargs", audiogen_kwargs), ("magnet_kwargs", magnet_kwargs)):
            clash = sorted(
                {"max_new_tokens", "max_length", "num_return_sequences", "generator"} & set(knobs or {})
            )
            if clash:
                raise ValueError(f"{name} must not set {clash}: pass them to HybridMagnet.generate() itself.")
        negative = pop_negative_prompt(dict(shared))
        shared = (
            {}
            if negative is None
            else {"negative_input_ids": negative[0], "negative_attention_mask": negative[1]}
        )
        ar = self.audiogen.generate(
            input_ids=input_ids,
            attention_mask=attention_mask,
            max_new_tokens=prefix,
            num_return_sequences=num_return_sequences,
            generator=generator,
            return_dict_in_generate=True,
            **shared,
            **(audiogen_kwargs or {}),
        )
        if input_ids is not None and num_return_sequences > 1:
            input_ids = input_ids.repeat_interleave(num_return_sequences, dim=0)
            attention_mask = (
                None
                if attention_mask is None
                else attention_mask.repeat_interleave(num_return_sequences, dim=0)
            )
        shared = _expand_negative(shared, num_return_sequences, input_ids)
        return self.magnet.generate(
            input_ids=input_ids,
            attention_mask=attention_mask,
            prompt_codes=ar.sequences.to(self.magnet.enc_to_dec_proj.weight.device),
            max_new_tokens=total - prefix,
            generator=generator,
            return_dict_in_generate=return_dict_in_generate,
            **shared,
            **(magnet_kwargs or {}),
        )


def _expand_negative(shared: dict, num_return_sequences: int, input_ids) -> dict:
    """One negative row per prompt follows the prompts when MAGNeT gets them repeated per returned sequence."""
    ids = shared.get("negative_input_ids")
    if ids is None or num_return_sequences == 1 or input_ids is None or ids.shape[0] == 1:
        return shared
    return {
        name: None if value is None else value.repeat_interleave(num_return_sequences, dim=0)
        for name, value in shared.items()
    }
