"""Streaming: complete frames to a BaseStreamer, AudioStreamer's chunks equal the one-shot decode, CLI --stream,
MAGNeT's per-stage callback."""

from __future__ import annotations

import queue
import threading

import numpy as np
import pytest
import soundfile
import torch
from transformers.generation.streamers import BaseStreamer

from audiogen_hf import (
    DEFAULT_MODEL,
    AudioGenForConditionalGeneration,
    AudioStreamer,
)
from audiogen_hf.commands.cli import main
from audiogen_hf.generation.delay_pattern import build_delay_pattern
from audiogen_hf.generation.incremental_decode import IncrementalCodecDecoder
from audiogen_hf.generation.streaming import completed_frame, stream_to_files

from .conftest import make_tiny_audiogen

TOLERANCE = 1e-4


class RecordingStreamer(BaseStreamer):
    def __init__(self):
        self.calls: list = []

    def put(self, value):
        self.calls.append(value.clone())

    def end(self):
        self.calls.append("end")


def decode_in_pieces(model, codes, sizes):
    decoder = IncrementalCodecDecoder(model)
    pieces, start = [], 0
    for size in sizes:
        pieces.append(decoder.push(codes[..., start : start + size]))
        start += size
    pieces.append(decoder.flush())
    return torch.cat(pieces, dim=-1)


@pytest.fixture(scope="module")
def embedded_audiogen():
    return AudioGenForConditionalGeneration.from_pretrained(DEFAULT_MODEL).eval()


@pytest.mark.parametrize("which", ["tiny", "embedded"])
@pytest.mark.parametrize("sizes", [[1] * 90, [7] * 12 + [6], [90], [2, 40, 48]])
def test_incremental_decode_equals_one_shot_decode(audiogen, embedded_audiogen, which, sizes):
    model = audiogen if which == "tiny" else embedded_audiogen
    codes = torch.randint(
        0, model.config.decoder.vocab_size, (2, 4, 90), generator=torch.Generator().manual_seed(1)
    )
    reference = model.decode_audio(codes)
    streamed = decode_in_pieces(model, codes, sizes)
    assert streamed.shape == reference.shape
    assert (streamed - reference).abs().max() <= TOLERANCE


def test_held_back_context_is_what_makes_it_exact(embedded_audiogen):
    codes = torch.randint(0, 256, (1, 4, 60), generator=torch.Generator().manual_seed(2))
    reference = embedded_audiogen.decode_audio(codes)
    decoder = IncrementalCodecDecoder(embedded_audiogen)
    decoder.upsampling_margin = 0  # release audio without waiting for the convolutions' right context
    pieces = [decoder.push(codes[..., i : i + 10]) for i in range(0, 60, 10)] + [decoder.flush()]
    assert (torch.cat(pieces, -1) - reference).abs().max() > 1e-3


def test_incremental_decode_rejects_special_ids_and_a_new_batch_shape(audiogen):
    decoder = IncrementalCodecDecoder(audiogen)
    with pytest.raises(ValueError, match="codebook_size"):
        decoder.push(torch.full((1, 4, 3), audiogen.config.decoder.special_token_id))
    decoder.push(torch.zeros(1, 4, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="reset"):
        decoder.push(torch.zeros(2, 4, 3, dtype=torch.long))


def test_completed_frame_undoes_the_delay_pattern():
    delays = [0, 1, 2, 3]
    codes = torch.arange(2 * 4 * 6).reshape(2, 4, 6)
    sequence, _ = build_delay_pattern(codes, delays, special_token=-5)
    assert completed_frame(sequence, 3, delays) is None  # frame 0 still misses codebook 3
    frames = [completed_frame(sequence, step, delays) for step in range(4, sequence.shape[-1])]
    assert [t for t, _ in frames] == list(range(6))
    assert torch.equal(torch.cat([f for _, f in frames], -1), codes)


@pytest.mark.parametrize("audio_prompt", [False, True])
def test_streamer_gets_prompt_then_each_complete_frame_then_end(audiogen, processor, audio_prompt):
    kwargs = {"audio": [np.random.default_rng(0).standard_normal(3200) * 0.1], "sampling_rate": 16000}
    inputs = processor(text=["dog barks"], **(kwargs if audio_prompt else {}))
    streamer = RecordingStreamer()
    gen = torch.Generator().manual_seed(0)
    out = audiogen.generate(
        **inputs, max_new_tokens=9, streamer=streamer, generator=gen, return_dict_in_generate=True
    )
    plain = audiogen.generate(
        **inputs, max_new_tokens=9, generator=torch.Generator().manual_seed(0), return_dict_in_generate=True
    )
    assert torch.equal(out.sequences, plain.sequences)  # streaming does not change the tokens
    *puts, last = streamer.calls
    assert last == "end"
    prompt_frames = out.sequences.shape[-1] - 9
    assert puts[0].shape[-1] == prompt_frames and len(puts) == 1 + 9
    assert all(p.shape == (1, 4, 1) for p in puts[1:])
    assert torch.equal(torch.cat(puts, -1), out.sequences)


def test_sliding_window_streams_every_frame_once(processor):
    model = make_tiny_audiogen()  # 1 s window: 120 frames need three windows
    streamer = RecordingStreamer()
    out = model.generate(
        **processor(text=["rain"]),
        max_new_tokens=120,
        extend_stride=0.5,
        streamer=streamer,
        return_dict_in_generate=True,
    )
    puts = streamer.calls[:-1]
    assert streamer.calls.count("end") == 1
    assert torch.equal(torch.cat(puts, -1), out.sequences)


def consume_in_thread(streamer, generate):
    """Run generate in a thread while this one iterates the streamer, as a player would."""
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("out", generate()))
    thread.start()
    chunks = list(streamer)
    thread.join()
    return result["out"], chunks


def test_audio_streamer_chunks_equal_decode_audio_across_calls_and_batches(audiogen, processor):
    streamer = AudioStreamer(audiogen, chunk_frames=5, timeout=60)
    for seed, texts, returns in [(0, ["dog barks"], 1), (1, ["rain falls", "wind"], 2)]:

        def generate(texts=texts, returns=returns, seed=seed):
            return audiogen.generate(
                **processor(text=texts),
                max_new_tokens=23,
                num_return_sequences=returns,
                streamer=streamer,
                generator=torch.Generator().manual_seed(seed),
                return_dict_in_generate=True,
            )

        out, chunks = consume_in_thread(streamer, generate)
        assert len(chunks) >= 3  # really chunked
        audio = np.concatenate(chunks, axis=-1)
        assert audio.shape == tuple(out.audio.shape) == (len(texts) * returns, 1, 23 * 320)
        assert np.abs(audio - audiogen.decode_audio(out.sequences).numpy()).max() <= TOLERANCE


def test_audio_streamer_through_a_sliding_window_and_skip_prompt(processor):
    model = make_tiny_audiogen()
    streamer = AudioStreamer(model, chunk_frames=16, skip_prompt=True, timeout=60)
    inputs = processor(text=["bell"], audio=[np.sin(np.arange(4800) / 9.0) * 0.3], sampling_rate=16000)
    out, chunks = consume_in_thread(
        streamer,
        lambda: model.generate(
            **inputs, max_new_tokens=80, extend_stride=0.5, streamer=streamer, return_dict_in_generate=True
        ),
    )
    prompt_samples = (out.sequences.shape[-1] - 80) * 320
    reference = model.decode_audio(out.sequences)[..., prompt_samples:].numpy()
    audio = np.concatenate(chunks, axis=-1)
    assert audio.shape == reference.shape
    assert np.abs(audio - reference).max() <= TOLERANCE


def test_failed_generate_still_ends_the_stream(audiogen, processor):
    streamer = AudioStreamer(audiogen, timeout=5)
    with pytest.raises(ValueError, match="max_new_tokens"):
        audiogen.generate(**processor(text=["dog"]), max_new_tokens=0, streamer=streamer)
    assert list(streamer) == []  # the consumer is released, not left waiting
    with pytest.raises(queue.Empty):  # and nothing else is queued
        next(streamer)


def test_failure_mid_generation_ends_the_stream_once(audiogen, processor):
    class FailingStreamer(RecordingStreamer):
        def put(self, value):
            super().put(value)
            if len(self.calls) == 3:
                raise RuntimeError("consumer gone")

    streamer = FailingStreamer()
    with pytest.raises(RuntimeError, match="consumer gone"):
        audiogen.generate(**processor(text=["dog"]), max_new_tokens=6, streamer=streamer)
    assert len(streamer.calls) == 4 and streamer.calls[-1] == "end"


def test_streamer_argument_errors(audiogen, processor):
    with pytest.raises(TypeError, match="put"):
        audiogen.generate(**processor(text=["dog"]), max_new_tokens=3, streamer=object())
    with pytest.raises(ValueError, match="chunk_frames"):
        AudioStreamer(audiogen, chunk_frames=0)


def test_stream_to_files_appends_progressively(tmp_path):
    paths = [tmp_path / "a.wav", tmp_path / "b.wav"]
    rng = np.random.default_rng(0)
    chunks = [rng.uniform(-0.5, 0.5, (2, 1, n)).astype(np.float32) for n in (100, 250, 80)]
    seen = []

    def producer():
        for chunk in chunks:
            if seen:  # what a reader of the file sees while generation goes on
                seen.append(soundfile.info(str(paths[0])).frames)
            else:
                seen.append(0)
            yield chunk

    assert stream_to_files(producer(), paths, 16000) == 3
    assert seen == [0, 100, 350]
    for row, path in enumerate(paths):
        data, rate = soundfile.read(path, dtype="float32")
        assert rate == 16000
        assert np.abs(data - np.concatenate([c[row, 0] for c in chunks])).max() < 1e-4


def test_cli_stream_writes_the_same_audio(tmp_path, capsys):
    common = [
        "generate",
        "dog barks",
        "--model",
        "tiny-random",
        "--duration",
        "0.5",
        "--seed",
        "3",
        "--no-progress",
    ]
    assert main([*common, "-o", str(tmp_path / "plain.wav")]) == 0
    assert main([*common, "--stream", "-o", str(tmp_path / "stream.wav")]) == 0
    assert "streamed" in capsys.readouterr().out
    plain, _ = soundfile.read(tmp_path / "plain.wav")
    streamed, _ = soundfile.read(tmp_path / "stream.wav")
    assert plain.shape == streamed.shape
    assert np.abs(plain - streamed).max() <= 2 / 32768  # 16-bit WAVs of audio equal to 1e-4


def test_cli_stream_refuses_magnet(tmp_path, capsys):
    from audiogen_hf.defaults import DEFAULT_MAGNET_MODEL

    code = main(
        ["generate", "dog", "--model", DEFAULT_MAGNET_MODEL, "--stream", "-o", str(tmp_path / "m.wav")]
    )
    assert code == 2
    assert "--stream" in capsys.readouterr().err


def test_magnet_callback_gets_each_stage(magnet, processor):
    stages = []
    out = magnet.generate(
        **processor(text=["dog barks", "rain"]),
        decoding_steps=[2, 1, 1, 1],
        callback=lambda stage, codes: stages.append((stage, codes)),
        return_dict_in_generate=True,
    )
    mask_id = magnet.config.decoder.special_token_id
    assert [stage for stage, _ in stages] == [0, 1, 2, 3]
    for stage, codes in stages:
        assert codes.shape == out.sequences.shape
        assert not (codes[:, : stage + 1] == mask_id).any()
        assert (codes[:, stage + 1 :] == mask_id).all()
        assert torch.equal(codes[:, : stage + 1], out.sequences[:, : stage + 1])


def test_magnet_callback_and_streamer_errors(magnet, processor):
    inputs = processor(text=["dog"])
    with pytest.raises(TypeError, match="callback"):
        magnet.generate(**inputs, decoding_steps=[1, 1, 1, 1], callback="print")
    with pytest.raises(ValueError, match="callback=fn"):
        magnet.generate(**inputs, decoding_steps=[1, 1, 1, 1], streamer=RecordingStreamer())
