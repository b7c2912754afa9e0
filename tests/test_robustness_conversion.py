"""Converter faults beyond tests/test_conversion.py: code-running pickles (never executed), non-empty or
unwritable outputs, and state dicts with a wrong-shaped or missing tensor."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from audiogen_hf.conversion import CheckpointError, from_audiocraft
from conversion.convert_audiocraft import main as convert_main
from tests.test_conversion import AUDIOGEN, T5_LARGE, _copy_checkpoint

LM_KEY = "transformer.layers.0.self_attn.out_proj.weight"


def _convert(ckpt: Path, out: Path, *extra: str) -> int:
    return convert_main(
        ["--checkpoint", str(ckpt), "--output", str(out), "--text-encoder", str(T5_LARGE), *extra]
    )


class _WritesMarker:
    def __init__(self, path: Path):
        self.path = str(path)

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


@pytest.mark.parametrize("name", ["state_dict.bin", "compression_state_dict.bin"])
def test_code_running_pickle_never_runs(name, tmp_path):
    ckpt = _copy_checkpoint(tmp_path)
    marker = tmp_path / "pickle-code-ran"
    package = {"best_state": {}, "xp.cfg": "", "payload": _WritesMarker(marker)}
    torch.save(package, ckpt / name, pickle_protocol=pickle.HIGHEST_PROTOCOL)
    with pytest.raises(CheckpointError, match="arbitrary pickle code to load, which is refused"):
        from_audiocraft(ckpt, text_encoder=T5_LARGE)
    assert _convert(ckpt, tmp_path / "out") == 2
    assert not marker.exists()


def test_plain_dict_is_not_a_checkpoint(tmp_path, capsys):
    ckpt = _copy_checkpoint(tmp_path)
    torch.save({"state_dict": {"w": torch.zeros(1)}}, ckpt / "compression_state_dict.bin")
    assert _convert(ckpt, tmp_path / "out") == 2
    assert "expected a dict with 'best_state' and 'xp.cfg'" in capsys.readouterr().err


def test_non_empty_output_is_refused_unless_overwrite(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert _convert(AUDIOGEN, out) == 2
    assert "is not empty; choose a new --output, or pass --overwrite" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    assert _convert(AUDIOGEN, out, "--overwrite") == 0
    assert (out / "notes.txt").read_text() == "mine" and (out / "model.safetensors").is_file()


def test_unwritable_output(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert _convert(AUDIOGEN, blocker / "sub") == 2
    error = capsys.readouterr().err
    assert "is not writable" in error and "choose another --output" in error


def _edit_lm_state(tmp_path, edit) -> Path:
    ckpt = _copy_checkpoint(tmp_path)
    package = torch.load(ckpt / "state_dict.bin", weights_only=True)
    edit(package["best_state"])
    torch.save(package, ckpt / "state_dict.bin")
    return ckpt


def test_wrong_shaped_tensor_names_the_key(tmp_path):
    ckpt = _edit_lm_state(tmp_path, lambda state: state.update({LM_KEY: state[LM_KEY][:, :16]}))
    with pytest.raises(
        CheckpointError,
        match=r"decoder.layers.0.self_attn.o_proj.weight' has shape \(32, 16\) but .* needs \(32, 32\)",
    ):
        from_audiocraft(ckpt, text_encoder=T5_LARGE)


def test_missing_tensor_names_the_key(tmp_path):
    ckpt = _edit_lm_state(tmp_path, lambda state: state.pop(LM_KEY))
    with pytest.raises(
        CheckpointError, match=r"missing \['decoder.layers.0.self_attn.o_proj.weight'\].*download"
    ):
        from_audiocraft(ckpt, text_encoder=T5_LARGE)
