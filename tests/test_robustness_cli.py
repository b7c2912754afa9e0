"""Issue 30, the commands: every argument that can be checked is checked before a model is loaded, a user's
mistake is one `error:` line naming the argument (exit status 2, no traceback), and no command that writes
replaces an existing file without --overwrite or ever writes onto one of its inputs."""

from __future__ import annotations

import importlib
import json
import re

import numpy as np
import pytest
import soundfile

import audiogen_hf.commands.cli as cli
import audiogen_hf.commands.judge as judge_command
from audiogen_hf.commands.cli import main

evaluation = importlib.import_module("audiogen_hf.evaluation.evaluate")  # the module, not the function


@pytest.fixture
def no_model_loading(monkeypatch):
    """Fail the test if a command loads a model before refusing its arguments."""

    def refuse(*args, **kwargs):
        raise AssertionError("a model was loaded before the arguments were checked")

    monkeypatch.setattr(cli, "load_model_and_processor", refuse)
    monkeypatch.setattr("audiogen_hf.loading.load_model_and_processor", refuse)
    monkeypatch.setattr("audiogen_hf.commands.bulk.load_model_and_processor", refuse)


def _one_error_line(capsys, *named: str) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
    for name in named:
        assert name in err, err
    return err


@pytest.mark.parametrize(
    "extra,named",
    [
        (["--top-p", "0"], ["--top-p", "top_p=0.0 is invalid"]),
        (["--temperature", "-1"], ["--temperature"]),
        (["--temperature", "1e-300"], ["--temperature", "at least"]),
        (["--top-k", "-3"], ["--top-k"]),
        (["--guidance-scale", "nan"], ["--guidance-scale"]),
        (["--duration", "0"], ["--duration must be a finite number > 0"]),
        (["--duration", "inf"], ["--duration"]),
        (["--duration", "1e9"], ["--duration", "at most 600"]),
        (["--seed", "-1"], ["--seed"]),
        (["--device", "warp-drive"], ["--device 'warp-drive' is not a device name"]),
        (["--rescore-weight", "2"], ["--rescore-weight 2.0 is outside [0, 1]"]),
        (["--hybrid-ar-seconds", "-2"], ["--hybrid-ar-seconds"]),
    ],
)
def test_generate_arguments_refused_before_loading(tmp_path, capsys, no_model_loading, extra, named):
    out = tmp_path / "out.wav"
    assert main(["generate", "rain", "-o", str(out), "--no-progress", *extra]) == 2
    _one_error_line(capsys, *named)
    assert not out.exists()


def test_cuda_device_without_a_gpu(tmp_path, capsys, no_model_loading, monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    assert main(["generate", "rain", "-o", str(tmp_path / "o.wav"), "--device", "cuda"]) == 2
    _one_error_line(capsys, "--device cuda: no CUDA GPU", "--device cpu")


def test_missing_model_folder_is_named(tmp_path, capsys):
    """'/nowhere' used to reach the Hub client, which complained about repo id characters."""
    assert (
        main(["generate", "rain", "--model", str(tmp_path / "nowhere"), "-o", str(tmp_path / "o.wav")]) == 2
    )
    _one_error_line(capsys, "nowhere is not an existing folder")


def test_audio_prompt_must_be_a_readable_audio_file(tmp_path, capsys, no_model_loading):
    out = str(tmp_path / "o.wav")
    assert main(["generate", "rain", "-o", out, "--audio-prompt", str(tmp_path / "none.wav")]) == 2
    _one_error_line(capsys, "--audio-prompt", "missing")
    text = tmp_path / "notes.wav"
    text.write_text("not audio")
    assert main(["generate", "rain", "-o", out, "--audio-prompt", str(text)]) == 2
    _one_error_line(capsys, "--audio-prompt", "not a readable audio file")
    assert main(["generate", "rain", "-o", out, "--audio-prompt", str(tmp_path)]) == 2
    _one_error_line(capsys, "--audio-prompt", "a folder")


def test_generate_refuses_its_own_audio_prompt_as_output(tmp_path, capsys, no_model_loading):
    recording = tmp_path / "mine.wav"
    soundfile.write(recording, np.zeros(1600, np.float32), 16000)
    before = recording.read_bytes()
    for extra in ([], ["--overwrite"]):
        assert main(["generate", "rain", "--audio-prompt", str(recording), "-o", str(recording), *extra]) == 2
        _one_error_line(capsys, "one of this run's inputs")
    assert recording.read_bytes() == before


# ------------------------------------------------------------------------------------------------- evaluate
@pytest.fixture
def evaluate_inputs(tmp_path):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a low tone\na high tone\n")
    references = tmp_path / "refs"
    references.mkdir()
    for i in range(2):
        soundfile.write(references / f"{i}.wav", np.zeros(1600, np.float32), 16000)
    return prompts, references


def _evaluate(prompts, references, *extra):
    return main(["evaluate", "--prompts", str(prompts), "--reference-dir", str(references), *extra])


def test_evaluate_report_is_never_lost(tmp_path, capsys, evaluate_inputs, monkeypatch):
    prompts, references = evaluate_inputs
    monkeypatch.setattr(evaluation, "evaluate", lambda *a, **k: {"fd": 1.0})
    report = tmp_path / "report.json"
    report.write_text("keep me")
    assert _evaluate(prompts, references, "--output", str(report)) == 2
    _one_error_line(capsys, "already exists", "--overwrite")
    assert report.read_text() == "keep me"
    assert _evaluate(prompts, references, "--output", str(prompts), "--overwrite") == 2
    _one_error_line(capsys, "one of this run's inputs")
    assert _evaluate(prompts, references, "--output", str(report), "--overwrite") == 0
    assert json.loads(report.read_text()) == {"fd": 1.0}
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "prompts.txt",
        "refs",
        "report.json",
    ]  # no temp file


def test_evaluate_checks_inputs_before_loading(tmp_path, capsys, evaluate_inputs, no_model_loading):
    prompts, references = evaluate_inputs
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _evaluate(prompts, empty) == 2
    assert re.search("holds no audio files", capsys.readouterr().err)
    assert _evaluate(prompts, references, "--output", str(tmp_path)) == 2
    _one_error_line(capsys, "is a folder")
    assert _evaluate(prompts, references, "--seed", "-5") == 2
    _one_error_line(capsys, "--seed")


# --------------------------------------------------------------------------------------------------- judge
def test_judge_json_is_never_lost(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(judge_command, "run_judge", lambda *a, **k: [{"overall": 0.5}])
    report = tmp_path / "judge.json"
    report.write_text("keep me")
    assert main(["judge", "m", "--json", str(report)]) == 2
    _one_error_line(capsys, "already exists", "--overwrite")
    assert report.read_text() == "keep me"
    assert main(["judge", "m", "--json", str(report), "--overwrite"]) == 0
    assert json.loads(report.read_text()) == [{"overall": 0.5}]


@pytest.mark.parametrize(
    "extra,named",
    [
        (["--clips-per-template", "0"], "--clips-per-template"),
        (["--duration", "0"], "--duration"),
        (["--duration", "3600"], "at most 60"),
        (["--device", "nope"], "--device"),
    ],
)
def test_judge_arguments_refused_before_loading(capsys, no_model_loading, monkeypatch, extra, named):
    monkeypatch.setattr(judge_command, "run_judge", lambda *a, **k: pytest.fail("judged before checking"))
    assert main(["judge", "m", *extra]) == 2
    _one_error_line(capsys, named)


# ---------------------------------------------------------------------------------------------------- demo
@pytest.mark.parametrize("extra,named", [(["--port", "70000"], "--port"), (["--device", "nope"], "--device")])
def test_demo_arguments_refused_before_building(capsys, monkeypatch, extra, named):
    monkeypatch.setattr("audiogen_hf.commands.demo.build_demo", lambda *a, **k: pytest.fail("built the demo"))
    assert main(["demo", *extra]) == 2
    _one_error_line(capsys, named)


@pytest.mark.parametrize(
    "extra, named",
    [
        (["--seed", "-3"], "--seed"),
        (["--top-p", "5"], "--top-p"),
        (["--duration", "100000"], "--duration"),
        (["--batch-size", "0"], "--batch-size"),
        (["--num-per-prompt", "0"], "--num-per-prompt"),
    ],
)
def test_bulk_arguments_refused_before_loading(tmp_path, capsys, no_model_loading, extra, named):
    """Bulk mode goes through generate's own argument checks (it used to skip them, and took 0 as the default)."""
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a low tone\n")
    argv = ["generate", "--prompts-file", str(prompts), "--output-dir", str(tmp_path / "clips"), *extra]
    assert main(argv) == 2
    _one_error_line(capsys, named)
