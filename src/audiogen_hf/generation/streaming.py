"""Streaming AudioGen output: complete frames to a transformers `BaseStreamer`, and `AudioStreamer`, which
turns them into audio chunks that can be consumed from another thread while `generate()` runs.

The contract `generate(..., streamer=s)` keeps (AudioGen):
- `s.put(codes)` first receives the audio prompt's codes `[B, K, P]` (`P = 0` without an audio prompt), as
  transformers' streamers first receive the prompt;
- then one `s.put(frame)` per complete frame `[B, K, 1]`, in time order. With the delay pattern, frame `t`
  has all its codebooks only at step `t + max(delays) + 1`, so the first frame arrives after the pattern's
  delay and the last ones during the pattern's tail. The pattern is already undone: each put holds real
  codes for every codebook. Past the model's window (sliding-window generation), the frames a new window
  re-reads as its prompt are not sent again: the concatenation of all puts is the returned `sequences`;
- `s.end()` once per call, when the codes are complete, and also when the call fails (even on a bad
  argument, before any put), so a consumer in another thread never waits forever.
The streamer is reused across `generate()` calls: every call starts with a prompt put and ends with `end()`.
"""

from __future__ import annotations

import functools
import queue
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch
from transformers.generation.streamers import BaseStreamer

from .incremental_decode import IncrementalCodecDecoder


def completed_frame(sequence: torch.Tensor, step: int, delays: list[int]) -> tuple[int, torch.Tensor] | None:
    """`(t, codes [B, K, 1])` of the frame that filling pattern step `step` completes, or None if none does.

    Step `s` holds codebook `q` at frame `s - 1 - delays[q]`, so step `s` completes frame `s - 1 - max(d)`.
    """
    frame = step - 1 - max(delays)
    if frame < 0:
        return None
    index = torch.tensor([frame + 1 + d for d in delays], device=sequence.device)
    return frame, sequence.gather(2, index[None, :, None].expand(sequence.shape[0], -1, 1))


def put_completed_frame(
    streamer: BaseStreamer | None, sequence: torch.Tensor, step: int, delays: list[int], prompt_frames: int
) -> None:
    """Send the frame completed at `step` unless it belongs to the prompt (already sent)."""
    if streamer is None:
        return
    done = completed_frame(sequence, step, delays)
    if done is not None and done[0] >= prompt_frames:
        streamer.put(done[1])


def check_streamer(streamer) -> None:
    if streamer is not None and not (
        callable(getattr(streamer, "put", None)) and callable(getattr(streamer, "end", None))
    ):
        raise TypeError(
            f"streamer must have put(codes) and end() (a transformers BaseStreamer), got {type(streamer).__name__}."
        )


class _OneCallStream:
    """What one `generate()` call streams to: forwards `put`, and `end` at most once."""

    def __init__(self, streamer: BaseStreamer):
        self.streamer = streamer
        self.ended = False

    def put(self, value: torch.Tensor) -> None:
        self.streamer.put(value)

    def end(self) -> None:
        if not self.ended:
            self.ended = True
            self.streamer.end()


def ends_stream(generate: Callable) -> Callable:
    """Decorate `generate(self, ..., streamer=None)` so that its streamer is ended exactly once per call,
    however the call ends (`generate` ends it itself before decoding the returned audio)."""

    @functools.wraps(generate)
    def wrapper(self, *args, streamer: BaseStreamer | None = None, **kwargs):
        if streamer is None:
            return generate(self, *args, **kwargs)
        check_streamer(streamer)
        stream = _OneCallStream(streamer)
        try:
            return generate(self, *args, streamer=stream, **kwargs)
        finally:
            stream.end()

    return wrapper


class AudioStreamer(BaseStreamer):
    """Decodes the streamed codes into audio every `chunk_frames` frames; iterate it for numpy chunks.

    Each chunk is `[batch, channels, samples]` float32. Concatenated along the last axis, one generation's
    chunks equal `model.decode_audio(outputs.sequences)` (to float rounding, about 1e-7): the codec decoder's
    convolutions are re-run on a bounded left context and the audio of the last `latency_frames` frames is
    held back until later frames (or the end) fix it, while the LSTM state is carried across chunks.

    The decoding runs inside `put()`, in the thread that generates (a few ms per chunk for the 16 kHz codec).
    `skip_prompt=True` leaves the audio prompt's samples out (they still serve as decoding context).
    `timeout` (seconds) bounds the wait for each chunk (`queue.Empty` is raised), as in transformers'
    `TextIteratorStreamer`. Iteration stops at the end of each generation; iterate again for the next one.

        streamer = AudioStreamer(model, chunk_frames=25)
        thread = Thread(target=model.generate, kwargs=dict(**inputs, max_new_tokens=250, streamer=streamer))
        thread.start()
        for chunk in streamer:
            play(chunk[0])
    """

    def __init__(
        self, model, chunk_frames: int = 25, skip_prompt: bool = False, timeout: float | None = None
    ):
        if isinstance(chunk_frames, bool) or not isinstance(chunk_frames, int) or chunk_frames < 1:
            raise ValueError(
                f"chunk_frames must be an integer >= 1 (frames per decode), got {chunk_frames!r}."
            )
        self.decoder = IncrementalCodecDecoder(model)
        self.chunk_frames = chunk_frames
        self.skip_prompt = skip_prompt
        self.timeout = timeout
        self.sampling_rate = model.config.sampling_rate
        self._queue: queue.Queue = queue.Queue()
        self._stop = object()
        self._pending: list[torch.Tensor] = []
        self._pending_frames = 0
        self._new_stream = True
        self._skip_samples = 0

    @property
    def latency_frames(self) -> int:
        return self.decoder.latency_frames

    def put(self, value: torch.Tensor) -> None:
        """Codes `[B, K, n]`; the first put of a generation is its prompt (possibly 0 frames)."""
        if not isinstance(value, torch.Tensor) or value.dim() != 3:
            raise ValueError("AudioStreamer.put expects codes [batch, codebooks, frames] from generate().")
        if self._new_stream:
            self._new_stream = False
            self._skip_samples = value.shape[-1] * self.decoder.hop if self.skip_prompt else 0
        self._pending.append(value.detach())
        self._pending_frames += value.shape[-1]
        if self._pending_frames >= self.chunk_frames:
            self._emit(self.decoder.push(self._take_pending()))

    def end(self) -> None:
        """Decode what is left, close this generation's stream and get ready for the next one."""
        try:
            if self._pending:
                self._emit(self.decoder.push(self._take_pending()))
            self._emit(self.decoder.flush())
        finally:  # a consumer must never wait forever, even if the last decode fails
            self._pending, self._pending_frames = [], 0
            self.decoder.reset()
            self._new_stream = True
            self._queue.put(self._stop)

    def _take_pending(self) -> torch.Tensor:
        codes = torch.cat(self._pending, dim=-1)
        self._pending, self._pending_frames = [], 0
        return codes

    def _emit(self, audio: torch.Tensor) -> None:
        if self._skip_samples:
            skipped = min(self._skip_samples, audio.shape[-1])
            audio, self._skip_samples = audio[..., skipped:], self._skip_samples - skipped
        if audio.shape[-1] > 0:
            self._queue.put(audio.float().cpu().numpy())

    def __iter__(self) -> Iterator[np.ndarray]:
        return self

    def __next__(self) -> np.ndarray:
        value = self._queue.get(timeout=self.timeout)
        if value is self._stop:
            raise StopIteration
        return value


def _sound_file(path: Path, sampling_rate: int, channels: int):
    """soundfile, imported only when streaming to files (the model code exported to the Hub needs none)."""
    try:
        import soundfile
    except ImportError as error:
        raise ImportError("streaming to audio files needs soundfile: pip install soundfile.") from error
    return soundfile.SoundFile(path, "w", sampling_rate, channels)


def stream_to_files(chunks, paths: list[Path], sampling_rate: int) -> int:
    """Append each chunk `[batch, channels, samples]` to one WAV per batch row as it arrives (the header is
    rewritten on every flush, so a reader sees a valid, growing file). Returns the number of chunks."""
    files = []
    try:
        count = 0
        for chunk in chunks:
            if not files:
                if chunk.shape[0] != len(paths):
                    raise ValueError(f"{chunk.shape[0]} streamed clips for {len(paths)} output files.")
                files = [_sound_file(p, sampling_rate, chunk.shape[1]) for p in paths]
            for file, clip in zip(files, chunk, strict=True):
                file.write(np.ascontiguousarray(clip.T))
                file.flush()
            count += 1
        return count
    finally:
        for file in files:
            file.close()


def generate_to_files(model, paths: list[Path], chunk_frames: int = 25, **generate_kwargs) -> int:
    """Run `model.generate(**generate_kwargs)` in a thread and append its audio to `paths` (one per batch
    row) as chunks are decoded. Returns the number of chunks; an error in generate() is re-raised here."""
    streamer = AudioStreamer(model, chunk_frames=chunk_frames)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            model.generate(**generate_kwargs, streamer=streamer)
        except BaseException as error:  # re-raised in the caller's thread
            failure.append(error)

    thread = threading.Thread(target=run, name="audiogen-hf-generate")
    thread.start()
    try:
        count = stream_to_files(streamer, paths, model.config.sampling_rate)
    finally:
        thread.join()
    if failure:
        raise failure[0]
    return count
