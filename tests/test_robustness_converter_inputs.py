"""Malformed and hostile audiocraft checkpoints: missing sections, wrong types, cyclic or unbounded
interpolation and YAML aliases, odd `best_state`, a codec config that would build a huge model, and bad
command-line paths. Each is the converter's own error, printed by the command as one line naming the file
and the fix (exit status 2), before the text encoder is loaded or anything is written."""

from __future__ import annotations

import copy

import pytest
import torch
import yaml

from audiogen_hf.conversion import CheckpointError, from_audiocraft
from audiogen_hf.conversion.xp_config import MAX_CFG_CHARS, MAX_DEPTH, MAX_SIZE, parse_xp_cfg
from tests.test_conversion import AUDIOGEN, T5_LARGE, _copy_checkpoint
from tests.test_robustness_conversion import _convert

LM, CODEC = "state_dict.bin", "compression_state_dict.bin"


def _edit_package(tmp_path, name: str, edit):
    ckpt = _copy_checkpoint(tmp_path)
    package = torch.load(ckpt / name, weights_only=True)
    edit(package)
    torch.save(package, ckpt / name)
    return ckpt


def _edit_cfg(tmp_path, name: str, change):
    """A copy of the fixture whose `name` xp.cfg went through `change(dict)` (in place)."""

    def edit(package):
        cfg = yaml.safe_load(package["xp.cfg"])
        change(cfg)
        package["xp.cfg"] = yaml.safe_dump(cfg)

    return _edit_package(tmp_path, name, edit)


def _append_cfg(tmp_path, name: str, text: str):
    return _edit_package(tmp_path, name, lambda package: package.update({"xp.cfg": package["xp.cfg"] + text}))


def _refused(ckpt, tmp_path, capsys, *extra: str) -> str:
    out = tmp_path / "out"
    assert _convert(ckpt, out, *extra) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert not out.exists() or not any(out.iterdir())
    return lines[0]


# --------------------------------------------------------------------------------------- xp.cfg bounds
def test_cyclic_interpolation_names_the_chain(tmp_path, capsys):
    ckpt = _append_cfg(tmp_path, LM, "\nloop_a: ${loop_b}\nloop_b: ${loop_a}\n")
    line = _refused(ckpt, tmp_path, capsys)
    assert str(ckpt / LM) in line and "interpolations form a cycle" in line
    assert "loop_a -> loop_b" in line or "loop_b -> loop_a" in line
    with pytest.raises(CheckpointError, match=r"cycle \(a -> a\)"):
        parse_xp_cfg("a: x${a}")


def test_alias_bomb_is_shared_not_expanded():
    """A billion laughs: 10**9 leaves in ten lines of YAML; read as shared objects in milliseconds."""
    bomb = "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]\n" for i in range(1, 10)
    )
    cfg = parse_xp_cfg(bomb)
    assert cfg["l9"][0] is cfg["l9"][9] and cfg["l1"][0] == ["x"] * 10


def test_interpolation_that_grows_without_bound_is_refused(tmp_path, capsys):
    growth = "s0: abcd\n" + "".join(f's{i}: "${{s{i - 1}}}${{s{i - 1}}}"\n' for i in range(1, 40))
    with pytest.raises(CheckpointError, match="grows past 65536 characters"):
        parse_xp_cfg(growth)
    ckpt = _append_cfg(tmp_path, CODEC, "\n" + growth)
    assert "grows past" in _refused(ckpt, tmp_path, capsys)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: &x [1, *x]", "contains itself"),
        ("a: [1]\nb: x${a}", r"puts the section \$\{a\} inside a text"),
        ("a: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5), f"deeper than {MAX_DEPTH}"),
        ("[" * 50000 + "]" * 50000, "not valid YAML"),
        ("x" * (MAX_CFG_CHARS + 1), "characters"),
        ("a: [1, 2", "not valid YAML"),
        ("- a\n- b", "not a mapping"),
    ],
)
def test_malformed_xp_cfg_text(text, message):
    with pytest.raises(CheckpointError, match=message):
        parse_xp_cfg(text)


def test_xp_cfg_of_the_wrong_type(tmp_path, capsys):
    ckpt = _edit_package(tmp_path, LM, lambda package: package.update({"xp.cfg": {"lm_model": "x"}}))
    assert "xp.cfg is a dict, not YAML text" in _refused(ckpt, tmp_path, capsys)


# --------------------------------------------------------------------------------------- sections and types
def _drop(*path):
    def change(cfg):
        node = cfg
        for part in path[:-1]:
            node = node[part]
        del node[path[-1]]

    return change


def _set(value, *path):
    def change(cfg):
        node = cfg
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value

    return change


@pytest.mark.parametrize(
    ("name", "change", "message"),
    [
        (LM, _drop("transformer_lm"), "xp.cfg has no `transformer_lm`"),
        (LM, _drop("transformer_lm", "dim"), "xp.cfg has no `transformer_lm.dim`"),
        (LM, _set("wide", "transformer_lm", "dim"), r"`transformer_lm.dim` must be an integer .* got 'wide'"),
        (LM, _set(True, "transformer_lm", "num_layers"), "`transformer_lm.num_layers` must be an integer"),
        (LM, _set(7, "transformer_lm"), r"`transformer_lm` must be a section \(mapping\), got 7"),
        (LM, _set(".inf", "dataset", "segment_duration"), "`dataset.segment_duration` must be a number"),
        (LM, _set(float("nan"), "dataset", "segment_duration"), "must be a finite number"),
        (LM, _set([0, 1], "codebooks_pattern", "delay", "delays"), "must be a list of 4 integers"),
        (LM, _set(["x"], "lm_model"), r"unknown lm_model '\['x'\]'"),
        (
            LM,
            _set(5, "conditioners", "description", "t5", "name"),
            "`conditioners.description.t5.name` must be a text",
        ),
        (
            LM,
            _set(0.0, "dataset", "segment_duration"),
            r"invalid model \(config field decoder.max_duration=0.0 is invalid: it must be a finite number > 0",
        ),
        (LM, _set(3, "transformer_lm", "num_heads"), r"invalid model \(hidden_size \(32\) must be divisible"),
        (CODEC, _drop("seanet"), "xp.cfg has no `seanet`"),
        (CODEC, _set("8,5,4,2", "seanet", "ratios"), "`seanet.ratios` must be a list"),
        (CODEC, _set(MAX_SIZE + 1, "rvq", "bins"), r"`rvq.bins` must be an integer in \[1, 16777216\]"),
        (CODEC, _set("yes", "seanet", "true_skip"), "`seanet.true_skip` must be true or false"),
    ],
)
def test_bad_section_or_field_names_it(name, change, message, tmp_path, capsys):
    ckpt = _edit_cfg(tmp_path, name, change)
    line = _refused(ckpt, tmp_path, capsys)
    assert str(ckpt / name) in line
    with pytest.raises(CheckpointError, match=message):
        from_audiocraft(ckpt, text_encoder=T5_LARGE)


def test_codec_config_that_would_build_a_huge_model_is_refused_unbuilt(tmp_path, capsys, monkeypatch):
    """n_filters 4096 instead of 2: the codec it describes is checked on the meta device against the tensors
    before any model (or the text encoder) is built."""
    import transformers

    def no_text_encoder(*args, **kwargs):
        raise AssertionError("the text encoder was loaded before the checkpoint was checked")

    monkeypatch.setattr(transformers.T5EncoderModel, "from_pretrained", no_text_encoder)
    ckpt = _edit_cfg(tmp_path, CODEC, _set(4096, "seanet", "n_filters"))
    with pytest.raises(
        CheckpointError, match=r"codec weight '.*' has shape .* but the EnCodec in its xp.cfg"
    ):
        from_audiocraft(ckpt, text_encoder=T5_LARGE)


# --------------------------------------------------------------------------------------- tensors and paths
@pytest.mark.parametrize(
    ("best_state", "message"),
    [
        ([1, 2], "'best_state' is list, not a mapping"),
        ({}, "'best_state' is empty"),
        ({"emb.0.weight": "not a tensor"}, "entries 'emb.0.weight' are not named tensors"),
    ],
)
def test_best_state_that_is_not_named_tensors(best_state, message, tmp_path, capsys):
    ckpt = _edit_package(
        tmp_path, LM, lambda package: package.update({"best_state": copy.deepcopy(best_state)})
    )
    assert message in _refused(ckpt, tmp_path, capsys)


def test_lm_tensor_of_the_wrong_rank(tmp_path, capsys):
    key = "condition_provider.conditioners.description.output_proj.weight"
    ckpt = _edit_package(tmp_path, LM, lambda package: package["best_state"].update({key: torch.zeros(3)}))
    assert f"'{key}' has shape (3,); an AudioGen/MAGNeT LM has a 2-d one" in _refused(ckpt, tmp_path, capsys)


@pytest.mark.parametrize(
    ("text_encoder", "message"),
    [("./no/such/t5", "no such folder, and not a Hub id"), (str(AUDIOGEN), "has no config.json")],
)
def test_bad_text_encoder_is_refused_before_reading_the_checkpoint(text_encoder, message, tmp_path, capsys):
    ckpt = _copy_checkpoint(tmp_path)
    (ckpt / LM).write_bytes(b"")  # would be refused as empty if it were read first
    out = tmp_path / "out"
    code = _convert(ckpt, out, "--text-encoder", text_encoder)  # the last --text-encoder wins
    assert code == 2
    line = capsys.readouterr().err.strip()
    assert line.startswith("error: --text-encoder") and message in line


def test_push_that_cannot_work_is_refused_before_converting(tmp_path, capsys):
    """HF_HUB_OFFLINE is set in the tests: the upload after a (long) conversion could not happen."""
    out = tmp_path / "out"
    assert _convert(AUDIOGEN, out, "--push-to-hub", "me/audiogen-hf") == 2
    assert "--push-to-hub needs the Hub but HF_HUB_OFFLINE is set" in capsys.readouterr().err
    assert not out.exists()
    assert _convert(AUDIOGEN, out, "--push-to-hub", "../bad id") == 2
    assert "is not a Hub repo id" in capsys.readouterr().err


def test_non_finite_weights_are_refused_naming_the_tensor(tmp_path, capsys):
    key = "transformer.layers.0.linear1.weight"
    ckpt = _edit_package(
        tmp_path, LM, lambda package: package["best_state"][key].view(-1)[3:4].fill_(float("nan"))
    )
    line = _refused(ckpt, tmp_path, capsys)
    assert f"{ckpt / LM}: tensor(s) {key} hold NaN or inf values" in line


def test_interrupted_write_leaves_no_half_model(tmp_path, monkeypatch, capsys):
    """A failure after the weights are written (here: the processor) leaves the output folder as it was."""
    from audiogen_hf.core.processing_audiogen import AudioGenProcessor

    def disk_full(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(AudioGenProcessor, "save_pretrained", disk_full)
    out = tmp_path / "out"
    assert _convert(AUDIOGEN, out) == 1
    assert "error: writing" in capsys.readouterr().err
    assert list(out.iterdir()) == []
