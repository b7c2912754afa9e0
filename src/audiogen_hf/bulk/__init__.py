"""Bulk generation (issue 33): thousands of clips from a prompts file into a folder with a manifest, resumable,
shared between processes by Accelerate (`torchrun` / `accelerate launch`), optionally best-of-N reranked.

    from audiogen_hf.bulk import generate_batch
    summary = generate_batch(model, processor, "prompts.txt", "clips/", num_per_prompt=4, batch_size=8)
"""

from .manifest import MANIFEST_NAME, Manifest
from .planning import PlannedClip, clip_seed, plan_clips, plan_units
from .requests import ClipRequest, read_prompts_file
from .runner import BulkSummary, generate_batch, load_requests

__all__ = [
    "MANIFEST_NAME",
    "BulkSummary",
    "ClipRequest",
    "Manifest",
    "PlannedClip",
    "clip_seed",
    "generate_batch",
    "load_requests",
    "plan_clips",
    "plan_units",
    "read_prompts_file",
]
