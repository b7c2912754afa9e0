"""Which clips a bulk run makes, their seeds and file names, and how they are batched.

Why the plan is the same everywhere: every process computes the whole plan from the same arguments and then
takes its share of whole work units, so a clip's batch (its neighbours' text padding changes the model's
numbers) and its seed are the same whether one process or N made it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from .naming import clip_file_name, digits_for
from .requests import ClipRequest

SEED_BITS = 63


def clip_seed(base_seed: int, index: int, variant: int, prompt_seed: int | None = None) -> int:
    """The seed of variant `variant` of prompt `index`: a prompt's own seed for variant 0 (+ v for variant v),
    else a hash of (base seed, prompt index, variant), so no clip's seed depends on the batch or process."""
    if prompt_seed is not None:
        return prompt_seed + variant
    digest = hashlib.sha256(f"audiogen-hf bulk {base_seed} {index} {variant}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> (64 - SEED_BITS)


@dataclass(frozen=True)
class PlannedClip:
    """One clip to generate: which prompt and variant, its seed, its file (relative to the output folder) and
    its length in codec frames (None: the model's default)."""

    index: int
    variant: int
    seed: int
    request: ClipRequest
    negative_prompt: str | None
    frames: int | None
    file: str

    @property
    def batch_key(self) -> tuple[int, bool]:
        """Clips share a batch only with the same length and the same kind of guidance (negative or null)."""
        return (-1 if self.frames is None else self.frames, self.negative_prompt is not None)


@dataclass(frozen=True)
class WorkUnit:
    """What one process makes in one go: one batch, or with reranking every candidate of one prompt (in
    batches), so the candidates can be compared without gathering audio across processes."""

    batches: tuple[tuple[PlannedClip, ...], ...]

    @property
    def clips(self) -> list[PlannedClip]:
        return [clip for batch in self.batches for clip in batch]


def plan_clips(
    requests: list[ClipRequest],
    num_per_prompt: int,
    base_seed: int,
    frame_rate: float | None = None,
    duration: float | None = None,
    negative_prompt: str | None = None,
) -> list[PlannedClip]:
    """Every clip of the run in (prompt, variant) order. `frame_rate` None plans names and seeds only."""
    if num_per_prompt < 1:
        raise ValueError(f"--num-per-prompt must be >= 1, got {num_per_prompt}.")
    index_digits = digits_for(len(requests), minimum=4)
    variant_digits = digits_for(num_per_prompt, minimum=2)
    clips = []
    for index, request in enumerate(requests):
        seconds = request.duration if request.duration is not None else duration
        if seconds is not None and not seconds > 0:
            raise ValueError(f"--duration must be > 0 seconds, got {seconds} (prompt {index}).")
        frames = None if seconds is None or frame_rate is None else max(1, round(seconds * frame_rate))
        for variant in range(num_per_prompt):
            name = clip_file_name(
                index, request.name or request.prompt, variant, index_digits, variant_digits
            )
            clips.append(
                PlannedClip(
                    index=index,
                    variant=variant,
                    seed=clip_seed(base_seed, index, variant, request.seed),
                    request=request,
                    negative_prompt=request.negative_prompt or negative_prompt,
                    frames=frames,
                    file=name,
                )
            )
    return clips


def _chunks(clips: list[PlannedClip], size: int) -> list[tuple[PlannedClip, ...]]:
    return [tuple(clips[start : start + size]) for start in range(0, len(clips), size)]


def plan_units(clips: list[PlannedClip], batch_size: int, per_prompt: bool = False) -> list[WorkUnit]:
    """Batches of at most `batch_size` clips of the same length, across prompts in file order; with
    `per_prompt` (reranking) one unit per prompt holding its candidates' batches (they share a length)."""
    if batch_size < 1:
        raise ValueError(f"--batch-size must be >= 1, got {batch_size}.")
    groups: dict[tuple, list[PlannedClip]] = {}
    for clip in clips:
        groups.setdefault((clip.index,) if per_prompt else clip.batch_key, []).append(clip)
    if per_prompt:
        return [WorkUnit(tuple(_chunks(group, batch_size))) for group in groups.values()]
    return [WorkUnit((batch,)) for group in groups.values() for batch in _chunks(group, batch_size)]
