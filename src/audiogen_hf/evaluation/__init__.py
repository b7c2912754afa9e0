"""Objective evaluation: Fréchet distance and KL on embeddings from a pluggable embedder, CLAP score with a
local CLAP model, and the DSP judge of prompt adherence for the embedded demo models (issue 23).

Nothing here downloads weights: embedders and CLAP models come from the caller or from a local folder.
"""

from .clap import ClapScorer
from .embedders import Embedder, Embeddings, dsp_embedder, embed
from .evaluate import evaluate, read_prompts
from .metric_modules import metric_path, write_metric_space
from .metrics import (
    frechet_distance,
    frechet_distance_from_statistics,
    gaussian_statistics,
    kl_divergence,
    probabilities_from_logits,
)

__all__ = [
    "ClapScorer",
    "Embedder",
    "Embeddings",
    "dsp_embedder",
    "embed",
    "evaluate",
    "frechet_distance",
    "frechet_distance_from_statistics",
    "gaussian_statistics",
    "kl_divergence",
    "metric_path",
    "probabilities_from_logits",
    "read_prompts",
    "write_metric_space",
]
