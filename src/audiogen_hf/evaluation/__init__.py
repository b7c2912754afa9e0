"""Objective evaluation: Fréchet distance and KL on embeddings from a pluggable embedder, CLAP score with a
local CLAP model, and the DSP judge of prompt adherence for the embedded demo models (issue 23)."""
