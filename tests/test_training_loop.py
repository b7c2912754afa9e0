"""End-to-end training: loss falls on a memorisable set (both objectives), a SIGKILLed run resumes to the same
weights, and a 2-process `accelerate launch` run shards the data and saves a loadable model."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file
from transformers import AutoModelForTextToWaveform

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from training.args import parse_args  # noqa: E402
from training.train import train  # noqa: E402

BASE = {
    "model_name_or_path": "tiny",
    "synthetic_examples": 8,
    "segment_seconds": 1.0,
    "max_clip_seconds": 2.0,
    "per_device_train_batch_size": 4,
    "learning_rate": 0.003,
    "warmup_steps": 3,
    "report_to": "none",
    "save_steps": 1000,
    "logging_steps": 5,
    "seed": 0,
}


def write_config(tmp_path: Path, **overrides) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({**BASE, "output_dir": str(tmp_path / "run"), **overrides}))
    return path


def losses(summary: dict) -> list[float]:
    return [loss for _, loss in summary["loss_history"]]


def test_audiogen_loss_falls(tmp_path):
    summary = train(*parse_args(["--config", str(write_config(tmp_path, max_steps=30))]))
    curve = losses(summary)
    assert curve[-1] < curve[0] - 1.0, curve
    model = AutoModelForTextToWaveform.from_pretrained(tmp_path / "run")
    assert type(model).__name__ == "AudioGenForConditionalGeneration"


def test_magnet_loss_falls(tmp_path):
    config = write_config(tmp_path, model_type="magnet", max_steps=30, lr_scheduler="cosine")
    summary = train(*parse_args(["--config", str(config)]))
    curve = losses(summary)
    assert summary["family"] == "magnet"
    assert sum(curve[-3:]) / 3 < curve[0] - 0.5, curve
    model = AutoModelForTextToWaveform.from_pretrained(tmp_path / "run")
    assert type(model).__name__ == "MagnetForConditionalGeneration"


def _script(config: Path, *extra: str) -> list[str]:
    return [sys.executable, str(ROOT / "training" / "train.py"), "--config", str(config), *extra]


def _env() -> dict:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}


def test_sigkill_and_resume_reaches_same_weights(tmp_path):
    common = {"max_steps": 8, "save_steps": 3, "use_ema": True, "ema_update_every": 2, "cfg_dropout": 0.3}
    (tmp_path / "a").mkdir()
    straight = write_config(tmp_path / "a", **common)
    subprocess.run(_script(straight), check=True, env=_env(), capture_output=True)

    (tmp_path / "b").mkdir()
    killed = write_config(tmp_path / "b", **common)
    first = subprocess.run(_script(killed, "--debug_sigkill_at_step", "5"), env=_env(), capture_output=True)
    assert first.returncode == -9, first.stderr.decode()[-2000:]
    run_dir = tmp_path / "b" / "run"
    assert (run_dir / "checkpoint-3").is_dir() and not (run_dir / "model.safetensors").exists()
    (run_dir / ".tmp-checkpoint-6").mkdir()  # debris of a save cut short: must be ignored
    resumed = subprocess.run(_script(killed, "--resume"), env=_env(), capture_output=True)
    assert resumed.returncode == 0, resumed.stderr.decode()[-2000:]
    assert "resumed from" in resumed.stderr.decode()

    a = load_file(tmp_path / "a" / "run" / "model.safetensors")
    b = load_file(run_dir / "model.safetensors")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_two_processes(tmp_path):
    config = write_config(
        tmp_path,
        max_steps=3,
        per_device_train_batch_size=2,
        log_sample_ids=True,
        save_steps=3,
        encode_chunk_size=3,
    )
    # `accelerate launch --cpu --num_processes 2` starts ONE process in accelerate 1.x (multi-CPU goes through
    # mpirun); torchrun (`--multi_gpu`) plus ACCELERATE_USE_CPU gives two gloo processes on a CPU machine.
    command = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--multi_gpu",
        "--num_processes",
        "2",
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        str(ROOT / "training" / "train.py"),
        "--config",
        str(config),
    ]
    done = subprocess.run(
        command, env={**_env(), "ACCELERATE_USE_CPU": "true"}, capture_output=True, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    run_dir = tmp_path / "run"
    seen = [
        [
            set(map(int, line.split()))
            for line in (run_dir / "sample_ids" / f"rank-{r}.txt").read_text().splitlines()
        ]
        for r in range(2)
    ]
    assert len(seen[0]) == len(seen[1]) == 3
    for step in range(3):
        assert seen[0][step] and seen[1][step] and not seen[0][step] & seen[1][step]
    assert json.loads((run_dir / "train_summary.json").read_text())["family"] == "audiogen"
    AutoModelForTextToWaveform.from_pretrained(run_dir)


def test_finetune_a_saved_model(tmp_path, saved_audiogen):
    config = write_config(tmp_path, model_name_or_path=str(saved_audiogen), max_steps=2, logging_steps=1)
    summary = train(*parse_args(["--config", str(config)]))
    assert summary["family"] == "audiogen" and len(summary["loss_history"]) == 2
    bad = write_config(tmp_path, model_name_or_path=str(saved_audiogen), model_type="magnet")
    with pytest.raises(ValueError, match="drop --model_type"):
        train(*parse_args(["--config", str(bad)]))


def test_encode_only_builds_a_cache_that_a_training_run_reuses(tmp_path):
    """`encode_only` writes the codes cache and no model; a run on the same data, codec and cache then trains
    without encoding again (its chunks stay the files the first run wrote). Mixing, which encodes on the fly,
    refuses the option."""
    cache = tmp_path / "codes"
    # a batch larger than the data: encoding alone never builds batches, so it must not refuse it
    config = write_config(
        tmp_path,
        max_steps=2,
        encode_cache_dir=str(cache),
        encode_chunk_size=3,
        encode_only=True,
        per_device_train_batch_size=16,
    )
    summary = train(*parse_args(["--config", str(config)]))
    assert summary["encoded_clips"] == 8
    chunks = sorted(cache.glob("chunk-*"))
    assert len(chunks) == 3
    assert not (tmp_path / "run" / "model.safetensors").exists()
    written = {c: (c / "skipped.json").stat().st_mtime_ns for c in chunks}

    config = write_config(tmp_path, max_steps=2, encode_cache_dir=str(cache), encode_chunk_size=3)
    assert len(train(*parse_args(["--config", str(config)]))["loss_history"]) >= 1
    assert {c: (c / "skipped.json").stat().st_mtime_ns for c in sorted(cache.glob("chunk-*"))} == written
    assert (tmp_path / "run" / "model.safetensors").exists()

    bad = write_config(tmp_path, max_steps=2, aug_p=0.5, encode_only=True)
    with pytest.raises(ValueError, match="encode_only builds the codes cache"):
        train(*parse_args(["--config", str(bad)]))


def test_pattern_tail_reaches_the_loss_and_is_audiogen_only(tmp_path):
    """The same first batch scores differently once the delay pattern's tail is trained too (more frames
    predicted); MAGNeT, which has no delay pattern, refuses the option."""
    first = {}
    for tail in (False, True):
        (tmp_path / str(tail)).mkdir()
        config = write_config(tmp_path / str(tail), max_steps=1, logging_steps=1, pattern_tail=tail)
        first[tail] = losses(train(*parse_args(["--config", str(config)])))[0]
    assert first[True] != pytest.approx(first[False], abs=1e-4)
    bad = write_config(tmp_path, model_type="magnet", max_steps=1, pattern_tail=True)
    with pytest.raises(ValueError, match="MAGNeT has none"):
        train(*parse_args(["--config", str(bad)]))


def test_magnet_stage_weights_are_checked_before_training(tmp_path):
    for overrides, message in (
        ({"magnet_stage_weights": [1.0, 1.0, 1.0, 1.0]}, "drop it for AudioGen"),
        ({"model_type": "magnet", "magnet_stage_weights": [1.0, 1.0]}, "one weight per codebook"),
        ({"magnet_stage_per_sample": True}, "per clip; drop it for AudioGen"),
    ):
        config = write_config(tmp_path, max_steps=1, **overrides)
        with pytest.raises(ValueError, match=message):
            train(*parse_args(["--config", str(config)]))


def _record_magnet_stages(monkeypatch) -> list:
    """Swap train.py's MagnetMasking for one that records the stage(s) of every batch it masks."""
    import training.train as train_module

    stages = []

    class Recording(train_module.MagnetMasking):
        def __call__(self, codes, mask_id, generator):
            inputs, stage = super().__call__(codes, mask_id, generator)
            stages.append(stage)
            return inputs, stage

    monkeypatch.setattr(train_module, "MagnetMasking", Recording)
    return stages


def test_magnet_stage_weights_reach_the_masking(tmp_path, monkeypatch):
    """All the weight on the last codebook: every batch trains that stage."""
    stages = _record_magnet_stages(monkeypatch)
    config = write_config(
        tmp_path, model_type="magnet", max_steps=3, magnet_stage_weights=[0.0, 0.0, 0.0, 1.0]
    )
    train(*parse_args(["--config", str(config)]))
    assert len(stages) >= 3 and set(stages) == {3}


def test_magnet_stage_per_sample_reaches_the_masking(tmp_path, monkeypatch):
    """Per clip: each batch's stages are a tensor with one stage per clip, and training runs on them."""
    stages = _record_magnet_stages(monkeypatch)
    config = write_config(tmp_path, model_type="magnet", max_steps=3, magnet_stage_per_sample=True)
    summary = train(*parse_args(["--config", str(config)]))
    assert len(stages) >= 3 and all(isinstance(s, torch.Tensor) and s.dim() == 1 for s in stages)
    assert len({k for s in stages for k in s.tolist()}) > 1
    assert all(math.isfinite(loss) for _, loss in summary["loss_history"])
