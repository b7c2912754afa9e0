"""`audiogen-hf generate --infill START END --audio-prompt rec.wav` and `--loop` (MAGNeT), and their errors."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from audiogen_hf.commands.cli import main


@pytest.fixture(scope="module")
def saved_magnet(tmp_path_factory, magnet, processor):
    path = tmp_path_factory.mktemp("magnet-cli")
    magnet.save_pretrained(path)
    processor.save_pretrained(path)
    return path


def test_infill_regenerates_the_ranges_of_the_recording(tmp_path, saved_magnet, monkeypatch):
    from audiogen_hf import MagnetForConditionalGeneration

    seen, generate = [], MagnetForConditionalGeneration.generate

    def recording_call(self, *args, **kwargs):
        seen.append(kwargs)
        return generate(self, *args, **kwargs)

    monkeypatch.setattr(MagnetForConditionalGeneration, "generate", recording_call)
    recording = tmp_path / "rec.wav"
    soundfile.write(recording, 0.3 * np.random.default_rng(0).standard_normal(40 * 320), 16000)
    out = tmp_path / "filled.wav"
    base = ["generate", "rain", "--model", str(saved_magnet), "--no-progress", "--seed", "0"]
    args = ["--audio-prompt", str(recording), "--infill", "0.2", "0.4", "--infill", "0.6", "0.7"]
    assert main(base + args + ["-o", str(out)]) == 0
    filled, rate = soundfile.read(out)
    assert rate == 16000 and filled.shape == (40 * 320,)  # the recording's length
    assert seen[0]["infill"] == [(0.2, 0.4), (0.6, 0.7)] and "max_new_tokens" not in seen[0]
    assert seen[0]["input_values"].shape[-1] == 40 * 320


def test_loop_writes_a_clip_of_the_window(tmp_path, saved_magnet):
    out = tmp_path / "loop.wav"
    base = ["generate", "rain", "--model", str(saved_magnet), "--no-progress", "--seed", "1"]
    assert main(base + ["--loop", "--duration", "0.6", "-o", str(out)]) == 0
    assert soundfile.read(out)[0].shape == (30 * 320,)


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--infill", "0.1", "0.2"], "give the recording as the audio prompt"),
        (["--infill", "0.1", "0.2", "--audio-prompt", "REC", "--duration", "1"], "drop --duration"),
        (["--infill", "0.3", "0.1", "--audio-prompt", "REC"], "empty or inverted"),
        (["--infill", "0.1", "0.9", "--audio-prompt", "REC"], "outside the 0.40 s context"),
        (["--loop", "--duration", "3"], "long-form windows"),
        (["--loop", "--hybrid-ar-seconds", "0.2"], "do not combine with --hybrid-ar-seconds"),
    ],
)
def test_bad_infill_and_loop_options(tmp_path, saved_magnet, capsys, extra, message):
    recording = tmp_path / "rec.wav"
    soundfile.write(recording, np.zeros(20 * 320), 16000)
    extra = [str(recording) if a == "REC" else a for a in extra]
    base = ["generate", "rain", "--model", str(saved_magnet), "--no-progress", "-o", str(tmp_path / "x.wav")]
    assert main(base + extra) == 2
    assert message in capsys.readouterr().err


def test_infill_and_loop_are_magnet_options(tmp_path, saved_audiogen, capsys):
    base = [
        "generate",
        "rain",
        "--model",
        str(saved_audiogen),
        "--no-progress",
        "-o",
        str(tmp_path / "x.wav"),
    ]
    assert main(base + ["--loop"]) == 2
    assert "are MAGNeT options; use a MAGNeT model" in capsys.readouterr().err
