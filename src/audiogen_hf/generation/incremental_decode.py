"""Decode EnCodec codes chunk by chunk so the concatenated chunks equal one `decode_audio` of all the codes.

Why this shape: transformers' SEANet decoder is `conv -> LSTM -> (upsampling convs)`. The convolutions are
non-causal (each output looks a few frames ahead and behind) but finite, so re-running them on a bounded
window of left context and holding back the last few frames (right context) reproduces the one-shot output
exactly. The LSTM has unbounded memory, so no bounded window would be exact for it: its `(h, c)` state is
carried from chunk to chunk instead. The only differences left are floating-point ordering (measured in
docs/generation.md, asserted <= 1e-4 in tests).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from transformers.models.encodec.modeling_encodec import (
    EncodecConv1d,
    EncodecConvTranspose1d,
    EncodecLSTM,
)


def context_margin_frames(layers: list[nn.Module]) -> int:
    """A safe bound, in input frames, on how far the output of `layers` looks left or right.

    Walks the convolutions in forward order at `scale` samples per input frame: a conv of (dilated) kernel
    `k` reaches at most `k - 1` samples either way, a transposed conv at most its kernel at its output rate.
    The zero padding at a window's edge corrupts no further than the sum of these reaches.
    """
    reach, scale = 0.0, 1
    for layer in layers:
        for module in layer.modules():
            if isinstance(module, EncodecConv1d):
                reach += (int(module.kernel_size) - 1) / scale
            elif isinstance(module, EncodecConvTranspose1d):
                scale *= module.conv.stride[0]
                reach += module.conv.kernel_size[0] / scale
            elif isinstance(module, EncodecLSTM):
                raise ValueError("an LSTM has unbounded context; carry its state instead of re-decoding.")
    return math.ceil(reach) + 1


def check_streamable_codec(codec) -> None:
    """Refuse codecs whose decode is not `conv -> LSTM -> finite convs` over one chunk of codes."""
    config = codec.config
    if config.chunk_length is not None:
        raise ValueError(
            f"streaming decode needs a codec that decodes all frames at once (chunk_length=None); this one "
            f"overlap-adds chunks of {config.chunk_length} samples. Decode it with model.decode_audio instead."
        )
    if config.norm_type != "weight_norm":
        raise ValueError(
            f"streaming decode needs norm_type='weight_norm'; '{config.norm_type}' normalises over the whole "
            "clip, so no chunk can be decoded before the last frame. Decode it with model.decode_audio instead."
        )
    layers = codec.decoder.layers
    lstms = [i for i, layer in enumerate(layers) if isinstance(layer, EncodecLSTM)]
    if lstms != [1] or not isinstance(layers[0], EncodecConv1d):
        raise ValueError(
            "streaming decode expects EnCodec's SEANet decoder (a conv, one LSTM, then convolutions); "
            f"got layers {[type(layer).__name__ for layer in layers]}."
        )


class IncrementalCodecDecoder:
    """Feed codes `[B, K, n]` with `push`, then `flush` at the end; each returns the waveform samples
    `[B, channels, samples]` that are final so far. Concatenated, they equal `model.decode_audio(all codes)`.

    A frame's audio is released once `margin` more frames have arrived (the decoder's lookahead), so the
    stream lags the codes by `latency_frames`. Call `reset` (or `flush`) before decoding another clip.
    """

    def __init__(self, model):
        codec = model.audio_encoder
        check_streamable_codec(codec)
        self.codec = codec
        self.vocab_size = model.config.decoder.vocab_size
        layers = list(codec.decoder.layers)
        self.first_conv, self.lstm, self.upsampling = layers[0], layers[1], nn.Sequential(*layers[2:])
        self.first_margin = context_margin_frames(layers[:1])
        self.upsampling_margin = context_margin_frames(layers[2:])
        self.hop = math.prod(codec.config.upsampling_ratios)
        self.reset()

    @property
    def latency_frames(self) -> int:
        """Frames of codes that must follow a frame before its audio is final."""
        return self.first_margin + self.upsampling_margin

    def reset(self) -> None:
        self._codes: torch.Tensor | None = None  # codes kept for the first conv's context
        self._codes_start = 0  # absolute frame of self._codes[..., 0]
        self._total = 0  # frames pushed
        self._lstm_state: tuple[torch.Tensor, torch.Tensor] | None = None
        self._states: torch.Tensor | None = None  # LSTM outputs kept for the upsampling context
        self._states_start = 0
        self._through_lstm = 0  # frames the LSTM has consumed
        self._released = 0  # frames whose audio was returned

    @torch.no_grad()
    def push(self, codes: torch.Tensor) -> torch.Tensor:
        """Add frames; returns the audio that no later frame can change (possibly 0 samples)."""
        if codes.dim() != 3:
            raise ValueError(f"codes must be [batch, codebooks, frames], got shape {tuple(codes.shape)}.")
        if (codes < 0).any() or (codes >= self.vocab_size).any():
            raise ValueError("codes to decode must lie in [0, codebook_size); special or unknown ids remain.")
        if self._codes is not None and codes.shape[:2] != self._codes.shape[:2]:
            raise ValueError(
                f"codes of shape {tuple(codes.shape[:2])} (batch, codebooks) after {tuple(self._codes.shape[:2])}: "
                "one stream decodes one batch; call reset() between clips."
            )
        self._codes = codes if self._codes is None else torch.cat([self._codes, codes], dim=-1)
        self._total += codes.shape[-1]
        return self._advance(final=False)

    @torch.no_grad()
    def flush(self) -> torch.Tensor:
        """The remaining audio (the clip's true end is known now), then reset for the next clip."""
        audio = self._advance(final=True)
        self.reset()
        return audio

    def _advance(self, final: bool) -> torch.Tensor:
        if self._codes is None:
            return torch.zeros(0, self.codec.config.audio_channels, 0)
        self._run_lstm(self._total if final else self._total - self.first_margin)
        ready = self._through_lstm if final else self._through_lstm - self.upsampling_margin
        return self._upsample(ready)

    def _run_lstm(self, ready: int) -> None:
        """First conv on codes with left/right context, then the LSTM (state carried) up to frame `ready`."""
        if ready <= self._through_lstm:
            return
        start = max(0, self._through_lstm - self.first_margin)
        codes = self._codes[..., start - self._codes_start :]
        embeddings = self.codec.quantizer.decode(codes.transpose(0, 1))
        hidden = self.first_conv(embeddings)[..., self._through_lstm - start : ready - start]
        steps = hidden.permute(2, 0, 1)  # [frames, B, D], EncodecLSTM's layout
        output, self._lstm_state = self.lstm.lstm(steps, self._lstm_state)
        states = (output + steps).permute(1, 2, 0)
        self._states = states if self._states is None else torch.cat([self._states, states], dim=-1)
        self._through_lstm = ready
        keep_from = max(0, ready - self.first_margin)
        self._codes = self._codes[..., keep_from - self._codes_start :]
        self._codes_start = keep_from

    def _upsample(self, ready: int) -> torch.Tensor:
        """Upsampling stack on LSTM states with context; returns the audio of frames [released, ready)."""
        batch = self._codes.shape[0]
        if ready <= self._released:
            return torch.zeros(batch, self.codec.config.audio_channels, 0, device=self._codes.device)
        start = max(0, self._released - self.upsampling_margin)
        audio = self.upsampling(self._states[..., start - self._states_start :])
        audio = audio[..., (self._released - start) * self.hop : (ready - start) * self.hop]
        self._released = ready
        keep_from = max(0, ready - self.upsampling_margin)
        self._states = self._states[..., keep_from - self._states_start :]
        self._states_start = keep_from
        return audio
