"""MAGNeT's masked iterative decoding (audiocraft's `_generate_magnet` / `_generate_stage`), stage by stage."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm
from transformers import GenerationConfig, GenerationMixin

from ...generation.inputs import (
    SamplingSettings,
    check_generate_kwargs,
    prepare_generation_inputs,
    reject_unused_kwargs,
    resolve_sampling,
)
from ...generation.limits import check_generation_size, pop_generation_limits
from ...generation.negative_prompts import GuidanceConditions, build_guidance_conditions, pop_negative_prompt
from ...generation.sampling import apply_cfg, sample_from_probs
from ...generation.static_cache import compiled_call, resolve_compile_config
from . import masking
from .infill import KeptFrames, plan_infill
from .long_form import magnet_windows
from .loop import circular_decode, rolled_logits, seam_shift
from .rescoring import RESCORING_KWARGS, Rescorer, build_rescorer, combine_confidence

# audiocraft's `_generate_magnet` defaults, used when a generation config lacks a MAGNeT field.
MAGNET_KNOB_DEFAULTS: dict = {
    "span_arrangement": "nonoverlap",
    "span_scoring": "max",
    "max_cfg_coef": 10.0,
    "min_cfg_coef": 1.0,
    "anneal_temp": True,
}


# More iterations per codebook than this is a mistake (a runaway call), not a setting (audiocraft: 20 at most).
MAX_DECODING_STEPS = 1000


def default_decoding_steps(num_codebooks: int) -> list[int]:
    """audiocraft's [20, 10, 10, 10]: more iterations for the first (coarsest) codebook."""
    return [20] + [10] * (num_codebooks - 1)


@dataclass
class MagnetDecodingSettings:
    """The MAGNeT knobs of one `generate()` call, validated."""

    decoding_steps: list[int]
    span_arrangement: str
    span_scoring: str
    max_cfg_coef: float
    min_cfg_coef: float
    anneal_temp: bool

    @property
    def total_steps(self) -> int:
        return sum(self.decoding_steps)


def resolve_magnet_settings(config: GenerationConfig, num_codebooks: int) -> MagnetDecodingSettings:
    """Read the MAGNeT fields of a GenerationConfig (custom attributes) and reject values audiocraft cannot run."""
    if config.guidance_scale is not None:
        raise ValueError(
            "MAGNeT anneals classifier-free guidance per decoding step: set max_cfg_coef and min_cfg_coef "
            f"instead of guidance_scale (got guidance_scale={config.guidance_scale})."
        )
    knobs = {name: getattr(config, name, default) for name, default in MAGNET_KNOB_DEFAULTS.items()}
    steps = getattr(config, "decoding_steps", None)
    steps = default_decoding_steps(num_codebooks) if steps is None else steps
    if not isinstance(steps, (list, tuple)) or len(steps) != num_codebooks:
        raise ValueError(
            f"decoding_steps must list one number of steps per codebook ({num_codebooks} values, e.g. "
            f"{default_decoding_steps(num_codebooks)}), got {steps!r}."
        )
    if any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in steps):
        raise ValueError(f"decoding_steps values must be integers >= 1, got {list(steps)}.")
    if max(steps) > MAX_DECODING_STEPS:
        raise ValueError(
            f"decoding_steps {list(steps)} asks for more than {MAX_DECODING_STEPS} iterations for one codebook: "
            "every iteration is a full-window decoder pass, and the cosine schedule gains nothing that far "
            "(audiocraft uses [20, 10, 10, 10]); ask for fewer steps."
        )
    if knobs["span_arrangement"] not in masking.SPAN_ARRANGEMENTS:
        raise ValueError(
            f"span_arrangement must be one of {masking.SPAN_ARRANGEMENTS}, got {knobs['span_arrangement']!r}."
        )
    if knobs["span_scoring"] not in masking.SPAN_SCORINGS:
        raise ValueError(
            f"span_scoring must be one of {masking.SPAN_SCORINGS}, got {knobs['span_scoring']!r}."
        )
    for name in ("max_cfg_coef", "min_cfg_coef"):
        if isinstance(knobs[name], bool) or not isinstance(knobs[name], (int, float)):
            raise ValueError(f"{name} must be a number, got {knobs[name]!r}.")
    if knobs["min_cfg_coef"] > knobs["max_cfg_coef"]:
        raise ValueError(
            f"min_cfg_coef ({knobs['min_cfg_coef']}) must not exceed max_cfg_coef ({knobs['max_cfg_coef']}): "
            "guidance is annealed from max_cfg_coef down to min_cfg_coef."
        )
    return MagnetDecodingSettings(
        decoding_steps=[int(s) for s in steps],
        span_arrangement=knobs["span_arrangement"],
        span_scoring=knobs["span_scoring"],
        max_cfg_coef=float(knobs["max_cfg_coef"]),
        min_cfg_coef=float(knobs["min_cfg_coef"]),
        anneal_temp=bool(knobs["anneal_temp"]),
    )


def check_prompt_codes(model, prompt_codes, batch_size: int) -> torch.Tensor:
    """`prompt_codes` (codec codes `[batch, codebooks, frames]`, e.g. AudioGen's output in Hybrid-MAGNeT)."""
    decoder_config = model.config.decoder
    shape = f"[{batch_size}, {decoder_config.num_codebooks}, frames]"
    if not isinstance(prompt_codes, torch.Tensor) or prompt_codes.dtype != torch.long:
        raise TypeError(f"prompt_codes must be a torch.long tensor of codec codes {shape}.")
    if prompt_codes.dim() != 3 or tuple(prompt_codes.shape[:2]) != (batch_size, decoder_config.num_codebooks):
        raise ValueError(
            f"prompt_codes must be {shape} (one row per text prompt), got {tuple(prompt_codes.shape)}."
        )
    if (
        prompt_codes.numel()
        and not 0 <= int(prompt_codes.min()) <= int(prompt_codes.max()) < decoder_config.vocab_size
    ):
        raise ValueError(
            f"prompt_codes must hold codec codes in [0, {decoder_config.vocab_size}), got values in "
            f"[{int(prompt_codes.min())}, {int(prompt_codes.max())}]."
        )
    if prompt_codes.shape[-1] == 0:
        raise ValueError("prompt_codes holds no frame; pass None for no prompt.")
    return prompt_codes.to(model.enc_to_dec_proj.weight.device)


@dataclass
class _StageContext:
    """What every stage of one `generate()` call shares."""

    conditions: GuidanceConditions  # cond rows, and the null (or negative) ones when use_cfg
    use_cfg: bool
    prompt: torch.Tensor | None  # [B, K, P] of the window being decoded
    sampling: SamplingSettings
    knobs: MagnetDecodingSettings
    generator: torch.Generator | None
    bar: tqdm
    decoder: Callable  # the decoder, or its compiled call (`compile=True` / `compile_config`)
    rescorer: Rescorer | None = None  # rescoring (magnet_rescoring.py); None: MAGNeT's own confidence
    kept: KeptFrames | None = None  # infill: the context's frames kept outside the ranges (infill.py)
    circular: bool = False  # loop=True: the band wraps and the sequence rolls between iterations (loop.py)

    @property
    def prompt_frames(self) -> int:
        return 0 if self.prompt is None else self.prompt.shape[-1]


class MagnetGenerationMixin(GenerationMixin):
    """`generate()` for MAGNeT: every frame of the window is decoded in parallel, codebook by codebook, by
    iteratively re-masking the least confident spans. transformers' GenerationConfig precedence, audiocraft's
    arithmetic and sampling (so converted checkpoints give audiocraft's tokens for the same seed)."""

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

        MAGNeT decodes a fixed window (`decoder.max_duration` seconds): by default the whole window
        (`max_length` frames, prompt included), or `prompt + max_new_tokens` frames when `max_new_tokens` is
        given; longer requests decode overlapping windows every `extend_stride` seconds, each prompted with the
        previous one's tail (`magnet_windows.py`). The audio prompt (`input_values`, or codec codes
        `prompt_codes` `[batch, codebooks, frames]`) is kept as a frozen prefix. `rescorer=` (an AudioGen on the
        same codec), `rescore_weight=` and `rescore_guidance_scale=` turn on the paper's rescoring
        (`magnet_rescoring.py`). MAGNeT knobs (`decoding_steps`, `span_arrangement`,
        `span_scoring`, `max_cfg_coef`, `min_cfg_coef`, `anneal_temp`) and `temperature`, `top_p`, `top_k`,
        `do_sample` come from the generation config and can be overridden per call.

        Returns the waveform `[batch, channels, samples]`, or with `return_dict_in_generate=True` an
        `AudioGenerationOutput` with `.audio` and `.sequences` (codes `[batch, codebooks, frames]`).

        `callback(stage, codes)` is called after each stage (one per codebook) with a copy of the codes
        `[batch, codebooks, frames]`: codebooks up to `stage` are final, later ones still hold the mask id.
        `negative_input_ids` / `negative_attention_mask` (the processor's `negative_text=`) replace CFG's
        null condition (see `negative_prompts.py`).

        `infill=(start_s, end_s)` (or a list of ranges) regenerates those seconds of the audio prompt, every frame
        outside them kept bit for bit (`infill.py`); `loop=True` makes a seamless loop (`loop.py`).
        """
        check_generate_kwargs(kwargs)
        compile_flag = kwargs.pop("compile", None)  # not a GenerationConfig field (static_cache.py)
        callback = kwargs.pop("callback", None)
        if callback is not None and not callable(callback):
            raise TypeError(
                f"callback must be callable as callback(stage, codes), got {type(callback).__name__}."
            )
        if kwargs.pop("streamer", None) is not None:
            raise ValueError(
                "MAGNeT decodes all frames together, stage by stage, so it has no frames to stream: pass "
                "callback=fn, called as fn(stage, codes) after each stage."
            )
        rescoring = {name: kwargs.pop(name, None) for name in RESCORING_KWARGS}
        prompt_codes = kwargs.pop("prompt_codes", None)
        infill, loop = kwargs.pop("infill", None), kwargs.pop("loop", False)
        if not isinstance(loop, bool):
            raise TypeError(f"loop must be True or False, got {loop!r}.")
        stride_seconds = kwargs.pop("extend_stride", None)
        negative = pop_negative_prompt(kwargs)
        limits = pop_generation_limits(kwargs)
        config, model_kwargs = self._prepare_generation_config(generation_config, **kwargs)
        check_generation_size(self, config, input_ids, input_values, limits)
        reject_unused_kwargs(model_kwargs, {"output_attentions", "output_hidden_states"})
        compile_config = resolve_compile_config(config, compile_flag, self.decoder.device)
        knobs = resolve_magnet_settings(config, self.config.decoder.num_codebooks)
        sampling = resolve_sampling(config)
        num_return_sequences = config.num_return_sequences or 1
        if prompt_codes is not None and input_values is not None:
            raise ValueError("pass an audio prompt as input_values= or as prompt_codes=, not both.")
        inputs = prepare_generation_inputs(
            self, input_ids, attention_mask, input_values, padding_mask, num_return_sequences
        )
        if prompt_codes is not None:
            inputs.prompt_codes = check_prompt_codes(
                self, prompt_codes, inputs.batch_size // num_return_sequences
            )
            inputs.prompt_codes = inputs.prompt_codes.repeat_interleave(num_return_sequences, dim=0)
        kept = None
        if infill is not None:
            kept = plan_infill(
                self, infill, inputs.prompt_codes, config, stride_seconds, knobs.span_arrangement
            )
            windows = [(0, kept.keep.shape[0])]
        else:
            windows = self._magnet_windows(
                config, inputs.prompt_frames, knobs.span_arrangement, stride_seconds
            )
        if loop and len(windows) > 1:
            raise ValueError(
                f"loop=True decodes one circular window, but this request needs {len(windows)} long-form windows; "
                f"ask for at most MAGNeT's window ({self.config.decoder.max_duration} s) or drop loop."
            )
        # guidance fixed at 1 is the conditional logits alone: skip the null-condition pass (half the work)
        no_guidance = knobs.max_cfg_coef == 1.0 and knobs.min_cfg_coef == 1.0
        use_cfg = inputs.is_conditional and not no_guidance
        bar = tqdm(
            total=knobs.total_steps * len(windows), disable=not progress, desc="MAGNeT decoding", unit="step"
        )
        context = _StageContext(
            conditions=build_guidance_conditions(
                self, inputs.conditions, negative, use_cfg, num_return_sequences
            ),
            use_cfg=use_cfg,
            prompt=None,
            sampling=sampling,
            knobs=knobs,
            generator=generator,
            bar=bar,
            # every step of a stage has the same shapes: one compiled graph per stage
            decoder=self.decoder if compile_config is None else compiled_call(self.decoder, compile_config),
            rescorer=build_rescorer(
                self,
                rescoring["rescorer"],
                rescoring["rescore_weight"],
                input_ids,
                attention_mask,
                negative,
                use_cfg,
                inputs.batch_size // num_return_sequences,
                num_return_sequences,
                rescoring["rescore_guidance_scale"],
            ),
            kept=kept,
            circular=loop,
        )
        codes = inputs.prompt_codes
        for start, frames in windows:
            context.prompt = None if codes is None or kept is not None else codes[..., start:]
            window_codes = (
                self._initial_codes(inputs.batch_size, frames, context.prompt)
                if kept is None
                else kept.initial_codes(self.config.decoder.special_token_id)
            )
            done = None if codes is None else codes[..., :start]
            for stage, num_steps in enumerate(knobs.decoding_steps):
                window_codes = self._generate_stage(window_codes, stage, num_steps, context)
                if callback is not None:
                    callback(
                        stage, window_codes.clone() if done is None else torch.cat([done, window_codes], -1)
                    )
            codes = window_codes if done is None else torch.cat([done, window_codes], -1)
        bar.close()
        if kept is not None:  # the nonoverlap padding past the context is dropped
            codes = codes[..., : inputs.prompt_frames]
        decode = (lambda c: circular_decode(self.decode_audio, c)) if loop else None
        return self._decode_or_return_codes(codes, bool(config.return_dict_in_generate), decode)

    def _magnet_windows(
        self, config: GenerationConfig, prompt_frames: int, span_arrangement: str, stride_seconds
    ) -> list[tuple[int, int]]:
        """The windows to decode (`magnet_windows.py`), each checked against the span length."""
        window = self.config.max_frames
        seconds = self.config.decoder.max_duration
        if prompt_frames >= window:
            raise ValueError(
                f"the audio prompt ({prompt_frames} frames) must be shorter than MAGNeT's window ({window} frames "
                f"= {seconds} s); shorten the prompt."
            )
        if config.max_new_tokens is not None:
            num_frames = prompt_frames + config.max_new_tokens
            asked = f"the prompt ({prompt_frames} frames) + max_new_tokens ({config.max_new_tokens})"
        else:
            num_frames = config.max_length if config.max_length is not None else window
            asked = f"max_length ({num_frames})"
        if num_frames <= prompt_frames:
            raise ValueError(
                f"{asked} leaves no frame to generate after the {prompt_frames}-frame prompt; ask for more frames."
            )
        span_len = self.config.decoder.span_len
        if num_frames < span_len:
            raise ValueError(f"generate at least one span ({span_len} frames), got {num_frames} frames.")
        if stride_seconds is None:
            stride_seconds = getattr(config, "extend_stride", None)
        stride = None
        if stride_seconds is not None:
            if isinstance(stride_seconds, bool) or not isinstance(stride_seconds, (int, float)):
                raise ValueError(f"extend_stride must be a number of seconds, got {stride_seconds!r}.")
            stride = int(self.config.frame_rate * float(stride_seconds))
        windows = magnet_windows(prompt_frames, num_frames, window, stride, span_len, span_arrangement)
        first_frames = windows[0][1]
        if (
            span_len > 1
            and span_arrangement == "nonoverlap"
            and prompt_frames // span_len >= first_frames // span_len
        ):
            raise ValueError(
                f"with span_arrangement='nonoverlap' the {first_frames} frames are cut into whole spans of "
                f"{span_len} and the {prompt_frames}-frame prompt leaves none to generate; ask for more frames."
            )
        return windows

    def _initial_codes(self, batch_size: int, num_frames: int, prompt: torch.Tensor | None) -> torch.Tensor:
        """All positions masked, except the prompt copied in for every codebook."""
        decoder_config = self.config.decoder
        device = self.enc_to_dec_proj.weight.device
        shape = (batch_size, decoder_config.num_codebooks, num_frames)
        codes = torch.full(shape, decoder_config.special_token_id, dtype=torch.long, device=device)
        if prompt is not None:
            codes[..., : prompt.shape[-1]] = prompt
        return codes

    def _generate_stage(
        self, codes: torch.Tensor, stage: int, num_steps: int, context: _StageContext
    ) -> torch.Tensor:
        """Decode codebook `stage` of `codes` `[B, K, T]` in `num_steps` iterations; returns (possibly trimmed) codes."""
        decoder_config = self.config.decoder
        mask_id, span_len = decoder_config.special_token_id, decoder_config.span_len
        knobs = context.knobs
        chunked = span_len > 1 and knobs.span_arrangement == "nonoverlap"
        lps = span_len > 1 and knobs.span_arrangement == "stride1"
        length = masking.trimmed_length(codes.shape[-1], span_len, knobs.span_arrangement)
        codes = codes[..., :length]
        batch_size, device, prompt_frames = codes.shape[0], codes.device, context.prompt_frames
        stage_codes = torch.full((batch_size, 1, length), mask_id, dtype=torch.long, device=device)
        if context.kept is not None:
            scores, units_to_generate = context.kept.initial_scores(batch_size, span_len, chunked)
        else:
            scores = masking.initial_scores(batch_size, length, prompt_frames, span_len, chunked, device)
            units_to_generate = (
                length // span_len - prompt_frames // span_len if chunked else length - prompt_frames
            )
        band = masking.band_attention_mask(
            stage, length, decoder_config.subcodes_context, self.decoder.dtype, device, context.circular
        )
        for index, step in enumerate(masking.cosine_schedule(num_steps, device)):
            num_masked = masking.num_to_mask(step.mask_p, units_to_generate)
            if lps:
                stage_codes[masking.stride1_mask(scores, num_masked, span_len)] = mask_id
            elif chunked:
                masked_chunks = masking.chunk_mask(scores, num_masked)
                stage_codes[masking.expand_chunks(masked_chunks, span_len)] = mask_id
            else:
                stage_codes = stage_codes.masked_fill(masking.token_mask(scores, num_masked), mask_id)
            if context.prompt is not None:
                stage_codes[..., :prompt_frames] = context.prompt[:, stage : stage + 1]
            elif context.kept is not None:
                stage_codes = context.kept.restore(stage_codes, stage)
            codes[:, stage : stage + 1] = stage_codes

            shift = seam_shift(index, num_steps, length) if context.circular else 0
            logits = rolled_logits(self._stage_logits, codes, shift, stage, band, step.mask_p, context)
            temperature = masking.annealed_temperature(
                context.sampling.temperature, step.steps_left, num_steps, knobs.anneal_temp
            )
            probs = torch.softmax(logits / temperature, dim=-1)
            sampled = self._sample_tokens(logits, probs, context)
            masked = stage_codes == mask_id
            stage_codes = torch.where(masked, sampled[..., 0], stage_codes)
            codes[:, stage : stage + 1] = stage_codes

            sampled_probs = torch.gather(probs, 3, sampled)[..., 0]
            if context.rescorer is not None and step.steps_left > 0:  # the last step's scores are unused
                rescored = context.rescorer.token_probs(codes, stage, mask_id).to(sampled_probs.device)
                sampled_probs = combine_confidence(sampled_probs, rescored, context.rescorer.weight)
            if chunked:
                new_scores = masking.chunk_scores(sampled_probs, span_len, knobs.span_scoring)
                scores = masking.freeze_unmasked(new_scores, masked_chunks)
            else:
                scores = masking.freeze_unmasked(masking.token_scores(sampled_probs), masked)
            context.bar.update(1)
        return codes

    def _stage_logits(
        self,
        codes: torch.Tensor,
        stage: int,
        band: torch.Tensor | None,
        mask_p: torch.Tensor,
        context: _StageContext,
    ) -> torch.Tensor:
        """Logits `[B, 1, T, V]` of codebook `stage`, guided with the annealed CFG scale."""
        batch = codes.shape[0]
        logits = torch.cat(
            [
                context.decoder(
                    codes.repeat(c.shape[0] // batch, 1, 1), c, attention_mask=band, codebooks=[stage]
                )[0]
                for c in context.conditions.passes()
            ],
            dim=0,
        ).float()
        if context.use_cfg:
            knobs = context.knobs
            logits = apply_cfg(
                logits, masking.cfg_coefficient(mask_p, knobs.max_cfg_coef, knobs.min_cfg_coef)
            )
        return logits

    @staticmethod
    def _sample_tokens(logits: torch.Tensor, probs: torch.Tensor, context: _StageContext) -> torch.Tensor:
        """One token for every position `[B, 1, T, 1]` (masked or not: audiocraft's RNG consumption).

        Top-k filters `probs` in place, so the confidence scores then use the filtered probabilities, as in
        audiocraft (min-p, not audiocraft's, filters a copy: the scores keep the unfiltered ones). Greedy decoding takes the argmax of the guided logits.
        """
        sampling = context.sampling
        if sampling.do_sample and sampling.temperature > 0:
            return sample_from_probs(probs, sampling.top_k, sampling.top_p, context.generator, sampling.min_p)
        return torch.argmax(logits, dim=-1, keepdim=True)
