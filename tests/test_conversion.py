"""The converter's command line, output folder and error paths."""

import os
import pickle
import shutil
from pathlib import Path

import pytest
import torch
import yaml
from transformers import AutoModelForTextToWaveform, AutoProcessor

from audiogen_hf import AudioGenForConditionalGeneration, AudioGenProcessor
from audiogen_hf.conversion import CheckpointError, from_audiocraft
from audiogen_hf.conversion.audiocraft_checkpoint import parse_xp_cfg
from conversion.convert_audiocraft import main as convert_main

FIXTURES = Path(__file__).parent / "fixtures"
AUDIOGEN = FIXTURES / "reference" / "audiogen"
T5_LARGE = FIXTURES / "tiny_t5_large"
T5_BASE = FIXTURES / "tiny_t5_base"


def test_cli_writes_a_loadable_folder(tmp_path):
    out = tmp_path / "audiogen-hf"
    assert (
        convert_main(["--checkpoint", str(AUDIOGEN), "--output", str(out), "--text-encoder", str(T5_LARGE)])
        == 0
    )
    names = set(os.listdir(out))
    assert {
        "config.json",
        "generation_config.json",
        "model.safetensors",
        "processor_config.json",
        "README.md",
    } <= names
    model = AutoModelForTextToWaveform.from_pretrained(out)
    processor = AutoProcessor.from_pretrained(out)
    assert isinstance(model, AudioGenForConditionalGeneration) and isinstance(processor, AudioGenProcessor)
    assert model.generation_config.guidance_scale == 3.0 and model.generation_config.top_k == 250
    reference = torch.load(AUDIOGEN / "reference.pt", weights_only=True)
    out_tokens = model.generate(
        **processor(text=reference["gen_texts"]),
        max_new_tokens=25,
        do_sample=False,
        return_dict_in_generate=True,
    ).sequences
    assert torch.equal(out_tokens, reference["gen_tokens"])
    card = (out / "README.md").read_text()
    assert "Verified" in card and "t5-large" in card


def test_half_precision_output(tmp_path):
    model, _, info = from_audiocraft(AUDIOGEN, text_encoder=T5_LARGE, dtype="float16")
    assert info["dtype"] == "float16" and model.decoder.lm_heads[0].weight.dtype == torch.float16


def test_xp_cfg_interpolations_are_resolved():
    cfg = parse_xp_cfg(
        "sample_rate: 16000\nencodec:\n  sample_rate: ${sample_rate}\n  name: x${sample_rate}\n"
    )
    assert cfg["encodec"]["sample_rate"] == 16000 and cfg["encodec"]["name"] == "x16000"


def _copy_checkpoint(tmp_path) -> Path:
    target = tmp_path / "ckpt"
    shutil.copytree(AUDIOGEN, target)
    return target


def test_missing_file(tmp_path):
    ckpt = _copy_checkpoint(tmp_path)
    (ckpt / "compression_state_dict.bin").unlink()
    with pytest.raises(CheckpointError, match="lacks compression_state_dict.bin"):
        from_audiocraft(ckpt, text_encoder=T5_LARGE)


def test_truncated_file(tmp_path):
    ckpt = _copy_checkpoint(tmp_path)
    data = (ckpt / "state_dict.bin").read_bytes()
    (ckpt / "state_dict.bin").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or not a PyTorch checkpoint"):
        from_audiocraft(ckpt, text_encoder=T5_LARGE)


def test_not_a_checkpoint(tmp_path):
    ckpt = _copy_checkpoint(tmp_path)
    torch.save({"weights": torch.zeros(2)}, ckpt / "state_dict.bin")
    with pytest.raises(CheckpointError, match="not an audiocraft export"):
        from_audiocraft(ckpt, text_encoder=T5_LARGE)


class _NeedsCode:
    def __reduce__(self):
        return (print, ("this would run at load time",))


def test_pickle_code_is_refused(tmp_path):
    ckpt = _copy_checkpoint(tmp_path)
    torch.save(
        {"best_state": {}, "xp.cfg": "", "payload": _NeedsCode()},
        ckpt / "state_dict.bin",
        pickle_protocol=pickle.HIGHEST_PROTOCOL,
    )
    with pytest.raises(CheckpointError, match="pickle code"):
        from_audiocraft(ckpt, text_encoder=T5_LARGE)


def test_unknown_lm_model(tmp_path):
    ckpt = _copy_checkpoint(tmp_path)
    package = torch.load(ckpt / "state_dict.bin", weights_only=True)
    cfg = yaml.safe_load(package["xp.cfg"])
    cfg["lm_model"] = "transformer_lm_jasco"
    package["xp.cfg"] = yaml.safe_dump(cfg)
    torch.save(package, ckpt / "state_dict.bin")
    with pytest.raises(CheckpointError, match="unknown lm_model 'transformer_lm_jasco'"):
        from_audiocraft(ckpt, text_encoder=T5_LARGE)


def test_text_encoder_of_the_wrong_width():
    with pytest.raises(CheckpointError, match="width 768 but the checkpoint's output_proj expects 1024"):
        from_audiocraft(AUDIOGEN, text_encoder=T5_BASE)


def test_output_folder_not_writable(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert (
        convert_main(
            ["--checkpoint", str(AUDIOGEN), "--output", str(blocker / "sub"), "--text-encoder", str(T5_LARGE)]
        )
        == 2
    )


def test_checkpoint_that_is_neither_folder_nor_repo():
    with pytest.raises(CheckpointError, match="neither an existing folder nor a Hub repo id"):
        from_audiocraft("no such thing here", text_encoder=T5_LARGE)
