"""AudioGen's autoregressive decoding: delay pattern, KV cache, batched CFG and audiocraft's sliding window."""

from __future__ import annotations

import torch
from tqdm.auto import tqdm
from transformers import GenerationConfig, GenerationMixin

from ...generation.delay_pattern import build_delay_pattern, first_step_to_generate, revert_delay_pattern
from ...generation.inputs import (
    SamplingSettings,
    check_generate_kwargs,
    prepare_generation_inputs,
    reject_unused_kwargs,
    resolve_sampling,
)
from ...generation.limits import check_generation_size, pop_generation_limits
from ...generation.negative_prompts import GuidanceConditions, build_guidance_conditions, pop_negative_prompt
from ...generation.sampling import apply_cfg, sample_next_token
from ...generation.static_cache import EAGER_DECODING, DecodingPath
from ...generation.streaming import ends_stream, put_completed_frame
from ...generation.windows import sliding_windows


class AudioGenGenerationMixin(GenerationMixin):
    """`generate()` for AudioGen. Uses transformers' GenerationConfig precedence and Cache classes, and
    audiocraft's own sampling so converted checkpoints give audiocraft's tokens."""

    @ends_stream
    @torch.no_grad()
    def generate(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        input_values: torch.Tensor | None = None,
        padding_mask: torch.Tensor | None = None,
        generation_config: GenerationConfig | None = None,
        generator: torch.Generator | None = None,
        progress: bool = False,
        **kwargs,
    ):
        """Generate audio from text (`input_ids`), an audio prompt (`input_values`), both or neither.

        `max_new_tokens` counts new codec frames (50 per second); the returned audio and codes include the
        prompt. Returns the waveform `[batch, channels, samples]`, or with `return_dict_in_generate=True` an
        `AudioGenerationOutput` with `.audio` and `.sequences` (codes `[batch, codebooks, frames]`).
        Past the model's window, generation continues with audiocraft's sliding window (`extend_stride` s).
        `streamer` (a transformers `BaseStreamer`, e.g. `AudioStreamer`) receives the prompt's codes, then each
        complete frame, then `end()` (see `streaming.py`). `negative_input_ids` / `negative_attention_mask`
        (the processor's `negative_text=`) replace CFG's null condition (see `negative_prompts.py`).
        """
        check_generate_kwargs(kwargs)
        # transformers' `max_length` (frames, prompt included) counts when given without max_new_tokens
        length_asked = kwargs.get("max_length") if kwargs.get("max_new_tokens") is None else None
        two_step = kwargs.pop("two_step_cfg", None)  # not a GenerationConfig field: it may also be set on one
        compile_flag = kwargs.pop("compile", None)  # likewise (static_cache.py)
        streamer = kwargs.pop("streamer", None)
        negative = pop_negative_prompt(kwargs)
        limits = pop_generation_limits(kwargs)
        config, model_kwargs = self._prepare_generation_config(generation_config, **kwargs)
        check_generation_size(self, config, input_ids, input_values, limits)
        reject_unused_kwargs(model_kwargs, {"output_attentions", "output_hidden_states"})
        settings = resolve_sampling(config)
        num_return_sequences = config.num_return_sequences or 1
        inputs = prepare_generation_inputs(
            self, input_ids, attention_mask, input_values, padding_mask, num_return_sequences
        )
        new_frames = config.max_new_tokens if length_asked is None else length_asked - inputs.prompt_frames
        if new_frames is None:
            raise ValueError("set max_new_tokens: the number of audio frames to generate (50 per second).")
        if new_frames <= 0:
            raise ValueError(
                f"max_length ({length_asked}) leaves no frame to generate after the {inputs.prompt_frames}-frame "
                "prompt; ask for more frames (or pass max_new_tokens, the new frames alone)."
            )
        total_frames = inputs.prompt_frames + new_frames
        frame_rate = self.config.frame_rate
        stride = int(frame_rate * float(getattr(config, "extend_stride", 2.0)))
        guidance = float(config.guidance_scale) if config.guidance_scale is not None else 1.0
        use_cfg = inputs.is_conditional and guidance != 1.0
        conditions = build_guidance_conditions(
            self, inputs.conditions, negative, use_cfg, num_return_sequences
        )
        two_step = getattr(config, "two_step_cfg", False) if two_step is None else two_step
        if not isinstance(two_step, bool):
            raise ValueError(f"two_step_cfg must be True or False, got {two_step!r}.")
        path = DecodingPath.from_generation_config(config, compile_flag, conditions.positive.device)

        window = self.config.max_frames
        if inputs.prompt_frames >= window:
            raise ValueError(
                f"the audio prompt ({inputs.prompt_frames} frames) must be shorter than the model's window "
                f"({window} frames = {self.config.decoder.max_duration} s); shorten the prompt."
            )
        windows = sliding_windows(inputs.prompt_frames, total_frames, window, stride)
        prompt_lengths = [inputs.prompt_frames] + [frames - stride for _, frames in windows[:-1]]
        max_delay = max(self.config.decoder.delays)
        steps = sum(frames - p + max_delay for (_, frames), p in zip(windows, prompt_lengths, strict=True))
        bar = tqdm(total=steps, disable=not progress, desc="decoding", unit="step")
        codes = inputs.prompt_codes
        try:
            if streamer is not None:
                streamer.put(inputs.prompt_codes if codes is not None else self._no_frames(inputs.batch_size))
            for start, frames in windows:
                prompt = None if codes is None else codes[..., start:]
                window_codes = self._generate_window(
                    conditions,
                    prompt,
                    frames,
                    settings,
                    guidance if use_cfg else None,
                    generator,
                    bar,
                    two_step,
                    streamer=streamer,
                    path=path,
                )
                codes = window_codes if codes is None else torch.cat([codes[..., :start], window_codes], -1)
        finally:
            bar.close()
            if streamer is not None:
                streamer.end()
        return self._decode_or_return_codes(codes, bool(config.return_dict_in_generate))

    def _no_frames(self, batch_size: int) -> torch.Tensor:
        """The empty prompt `[B, K, 0]` a streamer receives first when there is no audio prompt."""
        device = self.enc_to_dec_proj.weight.device
        return torch.zeros(batch_size, self.config.decoder.num_codebooks, 0, dtype=torch.long, device=device)

    def _generate_window(
        self,
        conditions: GuidanceConditions,
        prompt: torch.Tensor | None,
        num_frames: int,
        settings: SamplingSettings,
        guidance_scale: float | None,
        generator: torch.Generator | None,
        bar: tqdm,
        two_step: bool = False,
        path: DecodingPath = EAGER_DECODING,
        streamer=None,
    ) -> torch.Tensor:
        """One audiocraft `LMModel.generate` call: `num_frames` frames (prompt included) with a fresh cache.

        `two_step` (audiocraft's `two_step_cfg`) runs the conditional and the null rows as two forward passes
        with their own caches, the null one on a single zero condition token (all-zero keys attend alike, so the
        logits match the batched pass): half the peak batch, at the cost of two smaller calls per step. Unlike
        audiocraft, which then reads the scale from the model's training config, it uses `guidance_scale`. A negative
        prompt always gets its full length (`GuidanceConditions.passes`)."""
        decoder_config = self.config.decoder
        delays, special = decoder_config.delays, decoder_config.special_token_id
        batch = conditions.batch_size
        device = conditions.positive.device
        codes = torch.full(
            (batch, decoder_config.num_codebooks, num_frames), -1, dtype=torch.long, device=device
        )
        prompt_frames = 0 if prompt is None else prompt.shape[-1]
        if prompt_frames >= num_frames:
            raise ValueError(
                f"the audio prompt ({prompt_frames} frames) is as long as the output ({num_frames} frames); "
                "ask for max_new_tokens > 0 or shorten the prompt."
            )
        if prompt is not None:
            codes[..., :prompt_frames] = prompt
        sequence, valid = build_delay_pattern(codes, delays, special)
        passes = conditions.passes(two_step and guidance_scale is not None)
        caches = [path.new_cache(decoder_config, sequence.shape[-1], c.shape[1]) for c in passes]
        first = first_step_to_generate(prompt_frames, delays)
        previous = 0
        for step in range(first, sequence.shape[-1]):
            current = sequence[..., previous:step]
            outputs, decoder = [], path.forward(self.decoder, prefill=step == first)
            for i, condition in enumerate(passes):  # a pass holds cond rows, uncond rows or both
                logits, caches[i] = decoder(
                    current.repeat(condition.shape[0] // batch, 1, 1),
                    condition,
                    past_key_values=caches[i],
                    use_cache=True,
                )
                outputs.append(logits[:, :, -1].float())
            logits = outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=0)
            if guidance_scale is not None:
                logits = apply_cfg(logits, guidance_scale)
            next_tokens = sample_next_token(
                logits,
                settings.do_sample,
                settings.temperature,
                settings.top_k,
                settings.top_p,
                generator,
                settings.min_p,
            )
            next_tokens = torch.where(valid[None, :, step : step + 1], next_tokens, special)
            slot = sequence[..., step : step + 1]
            sequence[..., step : step + 1] = torch.where(slot == -1, next_tokens, slot)
            previous = step
            bar.update(1)
            put_completed_frame(streamer, sequence, step, delays, prompt_frames)
        return revert_delay_pattern(sequence, delays, num_frames)
