"""LoRA with peft: only adapters on the decoder's attention and FFN projections train; the output folder is a
standard PEFT adapter that `PeftModel.from_pretrained(base, output_dir)` loads and generates with, for both
families, and optionally a merged model that generates the same audio."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest
import torch
from peft import PeftModel
from safetensors.torch import load_file
from transformers import AutoModelForTextToWaveform

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.test_training_loop import write_config  # noqa: E402
from training.args import parse_args  # noqa: E402
from training.lora import target_pattern  # noqa: E402
from training.synthetic import write_synthetic_dataset  # noqa: E402
from training.train import train  # noqa: E402


def lora_run(tmp_path: Path, base: Path, **overrides) -> tuple[dict, Path]:
    config = write_config(tmp_path, model_name_or_path=str(base), max_steps=2, lora_r=4, **overrides)
    return train(*parse_args(["--config", str(config)])), tmp_path / "run"


def generate(model, processor, **knobs) -> torch.Tensor:
    torch.manual_seed(0)
    inputs = processor(text=["a low tone"], return_tensors="pt")
    with torch.no_grad():
        return model.generate(**inputs, **knobs)


def check_adapter(summary: dict, out: Path, base: Path, processor, **knobs) -> None:
    assert (out / "adapter_config.json").is_file() and (out / "adapter_model.safetensors").is_file()
    assert not (out / "model.safetensors").exists()  # the adapter only, not a copy of the base
    assert 0 < summary["trainable_parameters"] < summary["total_parameters"] / 4
    assert summary["peak_memory_mb"] > 0
    plain = AutoModelForTextToWaveform.from_pretrained(base).eval()
    adapted = PeftModel.from_pretrained(AutoModelForTextToWaveform.from_pretrained(base), out).eval()
    trained = [p for n, p in adapted.named_parameters() if "lora_B" in n]
    assert trained and any(p.abs().sum() > 0 for p in trained)  # lora_B starts at zero: it learned
    audio = generate(adapted, processor, **knobs)
    assert audio.shape[-1] > 0 and not torch.equal(audio, generate(plain, processor, **knobs))
    if (out / "merged").is_dir():
        merged = AutoModelForTextToWaveform.from_pretrained(out / "merged").eval()
        torch.testing.assert_close(generate(merged, processor, **knobs), audio, atol=1e-4, rtol=0)


def test_audiogen_lora_adapter_and_merged_model(tmp_path, saved_audiogen, processor):
    summary, out = lora_run(tmp_path, saved_audiogen, lora_save_merged=True, learning_rate=0.05)
    assert (
        out / "merged"
    ).is_dir()  # lora_save_merged wrote the merged model (checked against the adapter below)
    check_adapter(summary, out, saved_audiogen, processor, max_new_tokens=8, do_sample=False)


def test_magnet_lora_adapter(tmp_path, magnet, processor):
    base = tmp_path / "magnet"
    magnet.save_pretrained(base)
    processor.save_pretrained(base)
    (tmp_path / "train").mkdir()
    summary, out = lora_run(
        tmp_path / "train", base, learning_rate=0.05, lora_target_modules=["q_proj", "fc2"]
    )
    assert summary["family"] == "magnet"
    check_adapter(summary, out, base, processor, decoding_steps=[2, 1, 1, 1])


def test_lora_targets_stay_inside_the_decoder_and_bad_options_are_refused(tmp_path, saved_audiogen):
    pattern = target_pattern(None)
    assert re.fullmatch(pattern, "decoder.layers.3.self_attn.q_proj")
    assert re.fullmatch(pattern, "decoder.layers.0.fc2")
    assert not re.fullmatch(pattern, "text_encoder.encoder.block.0.layer.0.SelfAttention.q")
    assert not re.fullmatch(pattern, "enc_to_dec_proj")
    with pytest.raises(ValueError, match="module names such as q_proj"):
        target_pattern(["q_proj|.*"])
    for overrides, message in (
        ({"lora_save_merged": True}, "need LoRA on"),
        ({"lora_r": 4, "lora_target_modules": ["nothing_here"]}, "match no decoder layer module"),
        ({"lora_r": -1}, "lora_r must be >= 0"),
    ):
        config = write_config(tmp_path, model_name_or_path=str(saved_audiogen), max_steps=1, **overrides)
        with pytest.raises(ValueError, match=message):
            train(*parse_args(["--config", str(config)]))


def test_lora_run_resumes_to_the_same_adapter(tmp_path):
    """A LoRA run cut back to its step-2 checkpoint resumes to the uninterrupted run's adapter and history."""
    data = write_synthetic_dataset(tmp_path / "data", 8, seed=0)
    shared = {"audio_folder": str(data), "synthetic_examples": 0, "encode_cache_dir": str(tmp_path / "codes")}
    run = {"max_steps": 3, "save_steps": 2, "logging_steps": 1, "per_device_train_batch_size": 2, "lora_r": 4}
    (tmp_path / "a").mkdir()
    straight = train(*parse_args(["--config", str(write_config(tmp_path / "a", **shared, **run))]))
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    shutil.rmtree(tmp_path / "b" / "run" / "checkpoint-3")
    (tmp_path / "b" / "run" / "adapter_model.safetensors").unlink()
    config = write_config(tmp_path / "b", **shared, **run)
    resumed = train(*parse_args(["--config", str(config), "--resume", "true"]))
    a = load_file(tmp_path / "a" / "run" / "adapter_model.safetensors")
    b = load_file(tmp_path / "b" / "run" / "adapter_model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert resumed["loss_history"] == straight["loss_history"]
