"""Mistakes a user makes with train.py every day: each prints one line naming the argument or file and the fix,
exits with status 2 and, where it needs no model or data to see, is caught before the model is loaded. Errors
that are not the user's (a bug, a library failing) keep their traceback."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

import training.train as train_module
from tests.test_training_loop import _env, _script, write_config
from training.args import load_yaml_config
from training.errors import UsageError, report_user_errors
from training.train import main

T5_FOLDER = "tests/fixtures/tiny_t5_large"  # a saved model of another family


@pytest.fixture
def no_loading(monkeypatch):
    """Fail the test if the model would be loaded."""

    def refuse(*args, **kwargs):
        raise AssertionError("the model was loaded before the mistake was reported")

    monkeypatch.setattr(train_module, "load_model_and_processor", refuse)


def _error_line(argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 2
    lines = [line for line in capsys.readouterr().err.strip().splitlines() if line]
    assert lines and lines[-1].startswith("error: ")
    assert sum(line.startswith("error: ") for line in lines) == 1
    return lines[-1]


def _config_file(tmp_path, text: str):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("max_stpes: 3\n", "unknown field(s) ['max_stpes']"),
        ("max_steps: 10.5\n", "max_steps must be an integer, got 10.5"),
        ("max_steps: null\n", "max_steps cannot be null"),
        ("eval_prompts: a dog barks\n", "eval_prompts must be a list"),
        ("lr_scheduler: linear\n", "lr_scheduler must be one of ['inverse_sqrt', 'cosine', 'constant']"),
        ("pre_encode: 'yes'\n", "pre_encode must be true or false"),
        ("magnet_stage_weights: [1, x]\n", "magnet_stage_weights[1] must be a number"),
        ("segment_seconds: .inf\n", "segment_seconds must be a finite number"),
        ("max_steps: [\n", "is not a readable YAML file"),
        ("- max_steps\n", "must be a mapping of `field: value` pairs"),
        ("1: 2\n", "unknown field(s) ['1']"),
        ("eval_prompts: " + "[" * 5000 + "]" * 5000 + "\n", "is not a readable YAML file"),
    ],
)
def test_bad_config_file(text, message, tmp_path, capsys, no_loading):
    line = _error_line(["--config", str(_config_file(tmp_path, text))], capsys)
    assert message in line and str(tmp_path / "bad.yaml") in line


def test_config_numbers_written_as_text_are_read(tmp_path):
    """YAML 1.1 reads `1e-4` as text: it is the number the user meant."""
    values = load_yaml_config(str(_config_file(tmp_path, "learning_rate: 1e-4\nmax_steps: '3'\n")))
    assert values == {"learning_rate": 1e-4, "max_steps": 3}


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--nonsense", "1"], "unknown argument(s) ['--nonsense', '1']"),
        (["--save_total_limit", "-1"], "--save_total_limit must be >= 1 (null keeps all) (got -1)"),
        (["--learning_rate", "0"], "--learning_rate must be > 0"),
        (["--learning_rate", "nan"], "--learning_rate must be a finite number"),
        (["--adam_beta2", "1.0"], "--adam_beta2 must be in [0, 1)"),
        (["--seed", "-1"], "--seed must be in [0, 2**32)"),
        (["--mix_snr_low", "5", "--mix_snr_high", "5"], "--mix_snr_high must be > mix_snr_low"),
        (["--model_type", "Magnet"], "--model_type must be one of ('audiogen', 'magnet')"),
        (["--output_dir", ""], "--output_dir is empty"),
        (["--push_to_hub", "me/model"], "--push_to_hub needs the Hub but HF_HUB_OFFLINE is set"),
        (["--max_steps", "0"], "['max_steps'] must be >= 1"),
    ],
)
def test_bad_argument(flags, message, tmp_path, capsys, no_loading):
    line = _error_line(["--config", str(write_config(tmp_path)), *flags], capsys)
    assert message in line


def test_missing_data_paths_are_named(tmp_path, capsys, no_loading):
    config = write_config(tmp_path, synthetic_examples=0)
    gone = tmp_path / "gone"
    line = _error_line(
        ["--config", str(config), "--audio_folder", str(gone), "--manifest", str(gone)], capsys
    )
    assert f"--audio_folder {gone} does not exist; give a folder of audio files" in line
    assert f"--manifest {gone} does not exist" in line
    (tmp_path / "file").write_text("x")
    line = _error_line(["--config", str(config), "--dataset_path", str(tmp_path / "file")], capsys)
    assert "is not a folder written by `save_to_disk`" in line


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("./no/such/model", "no such folder"),
        ("tests", "has no config.json"),
        (T5_FOLDER, "is a 't5' model; training supports"),
    ],
)
def test_bad_model_name_or_path(source, message, tmp_path, capsys, no_loading):
    line = _error_line(["--config", str(write_config(tmp_path)), "--model_name_or_path", source], capsys)
    assert f"--model_name_or_path {source}" in line and message in line


def test_model_folder_without_weights_is_one_line(tmp_path, capsys):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "audiogen"}))
    line = _error_line(["--config", str(write_config(tmp_path)), "--model_name_or_path", str(folder)], capsys)
    assert f"--model_name_or_path {folder} cannot be loaded" in line and "no model weights" in line


def test_unreadable_saved_dataset_is_one_line(tmp_path, capsys):
    (tmp_path / "not_saved").mkdir()
    argv = ["--config", str(write_config(tmp_path, synthetic_examples=0))]
    line = _error_line([*argv, "--dataset_path", str(tmp_path / "not_saved")], capsys)
    assert f"--dataset_path {tmp_path / 'not_saved'} cannot be read" in line


def test_from_the_command_line_no_traceback(tmp_path):
    """The script itself: status 2, one line, no traceback."""
    done = subprocess.run(
        _script(write_config(tmp_path), "--save_total_limit", "0"), env=_env(), capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("error: --save_total_limit must be >= 1")


def test_bugs_keep_their_traceback():
    """Only user mistakes become one line: a bug, or a ValueError raised outside the trainer, still raises."""
    with pytest.raises(KeyError), report_user_errors():
        raise KeyError("a bug")
    with pytest.raises(ValueError, match="cannot reshape"), report_user_errors():
        np.zeros(2).reshape(3)
    with pytest.raises(SystemExit), report_user_errors():
        raise UsageError("a mistake")


def test_config_path_that_is_a_folder(tmp_path, capsys, no_loading):
    line = _error_line(["--config", str(tmp_path)], capsys)
    assert f"config file {tmp_path} is a folder" in line
