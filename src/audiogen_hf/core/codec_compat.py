"""Whether two models read and write the same codec codes (rescoring and Hybrid-MAGNeT pass codes between them)."""

from __future__ import annotations

import torch


def check_same_codec(model, other, role: str) -> None:
    """Refuse `other` (the `role`, e.g. "rescorer") unless its codes mean what `model`'s mean.

    Same codebook count and size, frame and sampling rate, and the same codec weights: two EnCodecs with equal
    shapes but different training give unrelated codes, which would pass a shape check and produce noise.
    """
    mine, theirs = model.config, other.config
    checks = {
        "number of codebooks": (mine.decoder.num_codebooks, theirs.decoder.num_codebooks),
        "codebook size": (mine.decoder.vocab_size, theirs.decoder.vocab_size),
        "frame rate": (mine.frame_rate, theirs.frame_rate),
        "sampling rate": (mine.sampling_rate, theirs.sampling_rate),
    }
    for what, (a, b) in checks.items():
        if a != b:
            raise ValueError(
                f"the {role}'s {what} ({b}) differs from {type(model).__name__}'s ({a}): both must use the same "
                "codec. Pair models trained on the same EnCodec checkpoint."
            )
    own, their = model.audio_encoder.state_dict(), other.audio_encoder.state_dict()
    differing = [
        name
        for name, tensor in own.items()
        if name not in their
        or their[name].shape != tensor.shape
        or not torch.equal(their[name].to(tensor.device, tensor.dtype), tensor)
    ]
    if differing or set(their) - set(own):
        raise ValueError(
            f"the {role}'s codec weights differ from {type(model).__name__}'s (e.g. {(differing or sorted(set(their) - set(own)))[0]}): "
            "the same code would mean different audio. Pair models trained on the same EnCodec checkpoint."
        )
