"""Streaming with `AudioStreamer` vs one-shot generation, side by side on the embedded AudioGen (offline).

    python benchmarks/bench_streaming.py [--seconds 6 --chunk-frames 25 --threads 1]

Prints, measured in one run: time to the first audio chunk vs the whole generate() call, the wall time of
a streamed call vs a plain one (same seed, same tokens), the cost of decoding the codes chunk by chunk vs
one `decode_audio`, and the largest absolute difference between the streamed audio and `decode_audio`.
"""

from __future__ import annotations

import argparse
import threading
import time

import numpy as np
import torch

from audiogen_hf import DEFAULT_MODEL, AudioGenForConditionalGeneration, AudioGenProcessor
from audiogen_hf.generation.incremental_decode import IncrementalCodecDecoder
from audiogen_hf.generation.streaming import AudioStreamer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=6.0, help="past the 2 s window: sliding window too")
    parser.add_argument("--chunk-frames", type=int, default=25)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = AudioGenForConditionalGeneration.from_pretrained(DEFAULT_MODEL).eval()
    processor = AudioGenProcessor.from_pretrained(DEFAULT_MODEL)
    inputs = processor(text=["a dog barks"])
    frames = round(args.seconds * model.config.frame_rate)

    def generate(**extra):
        gen = torch.Generator().manual_seed(0)
        return model.generate(
            **inputs, max_new_tokens=frames, generator=gen, return_dict_in_generate=True, **extra
        )

    start = time.perf_counter()
    plain = generate()
    plain_s = time.perf_counter() - start

    streamer = AudioStreamer(model, chunk_frames=args.chunk_frames)
    result, arrivals, chunks = {}, [], []
    start = time.perf_counter()
    thread = threading.Thread(target=lambda: result.setdefault("out", generate(streamer=streamer)))
    thread.start()
    for chunk in streamer:
        arrivals.append(time.perf_counter() - start)
        chunks.append(chunk)
    thread.join()
    streamed_s = time.perf_counter() - start
    out = result["out"]
    assert torch.equal(out.sequences, plain.sequences)
    error = np.abs(np.concatenate(chunks, -1) - model.decode_audio(out.sequences).numpy()).max()

    codes = out.sequences
    start = time.perf_counter()
    model.decode_audio(codes)
    one_shot_s = time.perf_counter() - start
    decoder = IncrementalCodecDecoder(model)
    start = time.perf_counter()
    for i in range(0, codes.shape[-1], args.chunk_frames):
        decoder.push(codes[..., i : i + args.chunk_frames])
    decoder.flush()
    chunked_s = time.perf_counter() - start

    print(
        f"{args.seconds:.1f} s of audio ({frames} frames), chunks of {args.chunk_frames} frames, "
        f"{args.threads} thread(s); latency {streamer.latency_frames} frames"
    )
    print(
        f"first chunk after {arrivals[0]:.2f} s of a {streamed_s:.2f} s call "
        f"({arrivals[0] / streamed_s:.2f} of it); {len(chunks)} chunks"
    )
    print(
        f"generate: streamed {streamed_s:.2f} s vs plain {plain_s:.2f} s (ratio {streamed_s / plain_s:.2f})"
    )
    print(
        f"codec decode: chunked {chunked_s * 1e3:.1f} ms vs one-shot {one_shot_s * 1e3:.1f} ms "
        f"(ratio {chunked_s / one_shot_s:.2f})"
    )
    print(f"max |streamed - decode_audio| = {error:.2e}")


if __name__ == "__main__":
    main()
