"""`audiogen-hf evaluate` end to end on a tiny saved model, a tiny reference folder and a tiny CLAP model."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
import soundfile

from audiogen_hf.commands.cli import main
from tests.test_evaluation_embedders import save_tiny_clap

PROMPTS = ["a low tone", "white noise", "a dog barks"]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("evaluate")
    references = root / "references"
    references.mkdir()
    rate = 22050  # not the model's 16 kHz: the command resamples
    t = np.arange(int(0.4 * rate)) / rate
    rng = np.random.default_rng(0)
    clips = {
        "0_tone.wav": 0.1 * np.sin(2 * np.pi * 250 * t),
        "1_noise.flac": 0.05 * rng.standard_normal(len(t)),
        "2_stereo.wav": np.stack([0.1 * np.sin(2 * np.pi * 600 * t)] * 2, axis=1),
    }
    for name, audio in clips.items():
        soundfile.write(references / name, audio, rate)
    (references / "notes.txt").write_text("not audio: ignored")
    prompts = root / "prompts.txt"
    prompts.write_text("# one per line\n" + "\n".join(PROMPTS) + "\n\n")
    return root, references, prompts, save_tiny_clap(root / "clap")


def _run(saved_audiogen, prompts, references, *extra, progress: bool = False):
    return main(
        [
            "evaluate",
            "--model",
            str(saved_audiogen),
            "--prompts",
            str(prompts),
            "--reference-dir",
            str(references),
            "--duration",
            "0.3",
            *([] if progress else ["--no-progress"]),
            *extra,
        ]
    )


def test_evaluate_writes_a_json_report(saved_audiogen, inputs):
    root, references, prompts, clap = inputs
    output = root / "out" / "report.json"
    assert _run(saved_audiogen, prompts, references, "--clap", clap, "--output", str(output)) == 0
    report = json.loads(output.read_text())
    assert report["prompts"] == report["reference_clips"] == 3
    assert report["sampling_rate"] == 16000
    assert report["seconds_per_clip"] == pytest.approx(0.3, abs=0.05)
    assert math.isfinite(report["frechet_distance"]) and report["frechet_distance"] >= 0
    assert math.isfinite(report["kl_divergence"]) and report["kl_divergence"] >= 0
    assert -1 <= report["clap_score"] <= 1 and -1 <= report["clap_score_reference"] <= 1
    assert report["adherence"]["clips"] == 2 and report["adherence"]["skipped_prompts"] == 1
    assert [row["prompt"] for row in report["per_prompt"]] == PROMPTS
    assert [row["reference"] for row in report["per_prompt"]] == [
        "0_tone.wav",
        "1_noise.flac",
        "2_stereo.wav",
    ]
    assert all(-1 <= row["clap"] <= 1 for row in report["per_prompt"])
    # same seed, same report (generation is seeded)
    again = root / "again.json"
    assert _run(saved_audiogen, prompts, references, "--clap", clap, "--output", str(again)) == 0
    assert json.loads(again.read_text())["frechet_distance"] == report["frechet_distance"]


def test_unpaired_sets_skip_kl_and_print_the_report(saved_audiogen, inputs, tmp_path, capsys):
    _, references, _, _ = inputs
    prompts = tmp_path / "two.txt"
    prompts.write_text("a high tone\npink noise\n")
    assert _run(saved_audiogen, prompts, references, progress=True) == 0
    captured = capsys.readouterr()
    assert "generating" in captured.err and "2/2" in captured.err  # the progress bar, one step per prompt
    report = json.loads(captured.out)
    assert report["kl_divergence"] is None and "2 prompts vs 3 reference clips" in report["kl_skipped"]
    assert "clap_score" not in report and "reference" not in report["per_prompt"][0]


def mean_energy_embedder(clips, sampling_rate):
    """A user embedder for `--embedder tests.test_evaluate_cli:mean_energy_embedder`: 2 features, no
    probabilities."""
    return np.array([[np.mean(c**2), np.abs(c).max()] for c in clips])


def test_embedder_choice_clap_or_an_importable_callable(saved_audiogen, inputs, capsys):
    _, references, prompts, clap = inputs
    dsp_fd = None
    for embedder, extra in (
        ("dsp", ()),
        ("clap", ("--clap", clap)),
        (f"{__name__}:mean_energy_embedder", ()),
    ):
        assert _run(saved_audiogen, prompts, references, "--embedder", embedder, *extra) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["embedder"] == embedder and math.isfinite(report["frechet_distance"])
        if embedder == "dsp":
            dsp_fd = report["frechet_distance"]
            continue
        assert report["frechet_distance"] != dsp_fd
        assert report["kl_divergence"] is None and "no class probabilities" in report["kl_skipped"]
    assert report["frechet_distance"] < 1.0  # energies of quiet clips: a tiny scale
    assert _run(saved_audiogen, prompts, references, "--embedder", "clap") == 2
    assert re.search("also pass --clap PATH", capsys.readouterr().err)
    assert _run(saved_audiogen, prompts, references, "--embedder", f"{__name__}:missing") == 2
    assert re.search("cannot import embedder", capsys.readouterr().err)
    assert _run(saved_audiogen, prompts, references, "--embedder", "vggish") == 2
    assert re.search("'dsp', 'clap' or 'module:function'", capsys.readouterr().err)


def test_bad_inputs_fail_with_the_fix(saved_audiogen, inputs, tmp_path, capsys):
    _, references, prompts, _ = inputs
    assert _run(saved_audiogen, prompts, tmp_path / "nowhere") == 2
    assert re.search("does not exist or is not a folder", capsys.readouterr().err)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _run(saved_audiogen, prompts, empty) == 2
    assert re.search("holds no audio files", capsys.readouterr().err)
    blank = tmp_path / "blank.txt"
    blank.write_text("# nothing\n\n")
    assert _run(saved_audiogen, blank, references) == 2
    assert re.search("has no prompts", capsys.readouterr().err)
    assert _run(saved_audiogen, tmp_path / "none.txt", references) == 2
    assert re.search("prompts file .* does not exist", capsys.readouterr().err)
    one = tmp_path / "one.txt"
    one.write_text("a low tone\n")
    assert _run(saved_audiogen, one, references) == 2
    assert re.search(">= 2 clips on each side", capsys.readouterr().err)
    assert _run(saved_audiogen, prompts, references, "--clap", str(tmp_path / "no-clap")) == 2
    assert re.search("no CLAP model", capsys.readouterr().err)
    assert _run(saved_audiogen, prompts, references, "--duration", "-1") == 2
    assert re.search("duration must be > 0", capsys.readouterr().err)
