"""MAGNeT's model rescoring (Ziv et al., 2024, sec. 3.3), which audiocraft never released.

At each decoding iteration MAGNeT samples a token at every position and keeps the ones it is most confident in;
the rest are re-masked. Rescoring lets an external autoregressive model (AudioGen, same codec) vote on that
choice: after sampling, the rescorer runs one teacher-forced forward over the current codes (delay pattern
applied, as in its training) and gives the probability of every sampled token. The confidence that ranks the
positions for re-masking is then the convex combination

    confidence = (1 - w) * p_magnet + w * p_rescorer,        w = rescore_weight in [0, 1]

of the two models' probabilities of the same sampled token (`combine_confidence`). The paper describes a
weighted combination of the two probabilities; a convex one keeps the result a probability, so MAGNeT's span
scoring ('max': 1 - max p over a span, 'prod': -sum log p) applies to it unchanged, and `w = 0` is exactly
MAGNeT alone. Only the ranking changes: the tokens themselves are still MAGNeT's samples.

What the rescorer sees: the prompt, every codebook MAGNeT has finished, and the current stage's codebook with
this iteration's samples. Codebooks MAGNeT has not reached yet are unknown; they are given to the rescorer as its
special token, the symbol AudioGen reads where a codebook has no code yet (the delay pattern's first steps).
Its probabilities are the softmax (temperature 1) of its logits, guided with its own CFG scale when MAGNeT
guides (`rescore_guidance_scale`, default: the rescorer's `generation_config.guidance_scale`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ...core.codec_compat import check_same_codec
from ...generation.delay_pattern import align_logits_to_frames, build_delay_pattern
from ...generation.negative_prompts import GuidanceConditions, build_guidance_conditions
from ...generation.sampling import apply_cfg

# generate() arguments that set up rescoring.
RESCORING_KWARGS = ("rescorer", "rescore_weight", "rescore_guidance_scale")


def combine_confidence(
    magnet_probs: torch.Tensor, rescorer_probs: torch.Tensor, weight: float
) -> torch.Tensor:
    """`(1 - weight) * magnet_probs + weight * rescorer_probs`, elementwise: the probability MAGNeT's span
    scoring ranks. `weight = 0` returns `magnet_probs` itself (bit-identical), `weight = 1` the rescorer's."""
    check_rescore_weight(weight)
    if magnet_probs.shape != rescorer_probs.shape:
        raise ValueError(
            f"the two models' probabilities must have the same shape, got {tuple(magnet_probs.shape)} "
            f"and {tuple(rescorer_probs.shape)}."
        )
    if weight == 0:
        return magnet_probs
    rescorer_probs = rescorer_probs.to(magnet_probs.dtype)
    if weight == 1:
        return rescorer_probs
    return (1 - weight) * magnet_probs + weight * rescorer_probs


def check_rescore_weight(weight) -> float:
    """`rescore_weight` must be a real number in [0, 1] (0: MAGNeT alone, 1: the rescorer alone)."""
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight):
        raise ValueError(f"rescore_weight must be a number in [0, 1], got {weight!r}.")
    if not 0 <= weight <= 1:
        raise ValueError(
            f"rescore_weight={weight} is outside [0, 1]: the confidence is (1 - w) * p_magnet + w * p_rescorer; "
            "use 0 for MAGNeT alone, 1 for the rescorer alone."
        )
    return float(weight)


def check_rescorer(magnet, rescorer) -> None:
    """The rescorer must be an autoregressive AudioGen reading the same codes as `magnet`."""
    from ..audiogen.modeling_audiogen import AudioGenForConditionalGeneration

    if not isinstance(rescorer, AudioGenForConditionalGeneration):
        kind = type(rescorer).__name__
        why = "a MAGNeT is not autoregressive" if hasattr(rescorer, "_generate_stage") else f"got {kind}"
        raise TypeError(
            f"rescorer must be an autoregressive AudioGenForConditionalGeneration ({why}): rescoring needs "
            "a causal model's probability of each token given the ones before it."
        )
    check_same_codec(magnet, rescorer, "rescorer")


@dataclass
class Rescorer:
    """An AudioGen and what it needs to rescore one `generate()` call (its own text conditioning)."""

    model: object  # AudioGenForConditionalGeneration
    weight: float
    conditions: GuidanceConditions
    guidance_scale: float | None  # None: conditional logits only

    @torch.no_grad()
    def token_probs(self, codes: torch.Tensor, stage: int, mask_id: int) -> torch.Tensor:
        """The rescorer's probability `[B, 1, T]` of codebook `stage` of `codes` `[B, K, T]`, teacher forced.

        Positions holding `mask_id` (codebooks not decoded yet) are read as the rescorer's special token.
        """
        decoder_config = self.model.config.decoder
        delays, special = decoder_config.delays, decoder_config.special_token_id
        device = self.conditions.positive.device
        codes = codes.to(device)
        batch, _, frames = codes.shape
        known = torch.where(codes == mask_id, torch.full_like(codes, special), codes)
        sequence, _ = build_delay_pattern(known, delays, special)
        steps = sequence[..., : frames + max(delays)]  # the pattern's tail too: every frame gets a prediction
        logits = torch.cat(
            [
                self.model.decoder(steps.repeat(c.shape[0] // batch, 1, 1), c, codebooks=[stage])[0]
                for c in self.conditions.passes()
            ],
            dim=0,
        ).float()
        if self.guidance_scale is not None:
            logits = apply_cfg(logits, self.guidance_scale)
        stage_delays = [delays[stage]]
        aligned, _ = align_logits_to_frames(logits, stage_delays, frames)
        probs = torch.softmax(aligned, dim=-1)
        return torch.gather(probs, 3, codes[:, stage : stage + 1, :, None])[..., 0]


def build_rescorer(
    magnet,
    rescorer,
    weight,
    input_ids: torch.Tensor | None,
    attention_mask: torch.Tensor | None,
    negative,
    use_cfg: bool,
    batch_size: int,
    num_return_sequences: int,
    guidance_scale=None,
) -> Rescorer | None:
    """Validate the rescoring knobs of a MAGNeT `generate()` call; None when nothing is rescored (w = 0)."""
    if rescorer is None:
        if weight is not None:
            raise ValueError(
                "rescore_weight was given without a rescorer: pass rescorer=<AudioGenForConditionalGeneration> "
                "or drop rescore_weight."
            )
        return None
    check_rescorer(magnet, rescorer)
    weight = check_rescore_weight(DEFAULT_RESCORE_WEIGHT if weight is None else weight)
    if guidance_scale is None:
        guidance_scale = getattr(rescorer.generation_config, "guidance_scale", None) or 1.0
    if isinstance(guidance_scale, bool) or not isinstance(guidance_scale, (int, float)) or guidance_scale < 0:
        raise ValueError(f"rescore_guidance_scale must be a number >= 0, got {guidance_scale!r}.")
    if weight == 0:
        return None
    device = rescorer.enc_to_dec_proj.weight.device
    if input_ids is not None:
        input_ids = input_ids.to(device)
        attention_mask = attention_mask.to(device) if attention_mask is not None else None
    positive = rescorer.encode_text(input_ids, attention_mask, batch_size)
    positive = positive.repeat_interleave(num_return_sequences, dim=0)
    guided = use_cfg and guidance_scale != 1.0
    conditions = build_guidance_conditions(
        rescorer, positive, negative if guided else None, guided, num_return_sequences
    )
    return Rescorer(rescorer, weight, conditions, float(guidance_scale) if guided else None)


# The shipped default when a rescorer is passed without a weight (chosen on held-out seeds: docs/magnet.md).
DEFAULT_RESCORE_WEIGHT = 0.3
