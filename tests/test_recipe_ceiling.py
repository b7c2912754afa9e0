"""The recipe's codec ceiling: per judge prompt, the dataset windows captioned with it through the codec, and
the model card's column for it."""

from __future__ import annotations

import json

import pytest
from transformers import EncodecModel

from audiogen_hf.judge import JUDGE_PROMPTS
from training.embedded.train_codec import CodecTrainingConfig, encodec_config


@pytest.fixture(scope="module")
def dataset_and_codec(tmp_path_factory):
    from training.embedded import embedded as recipe

    root = tmp_path_factory.mktemp("ceiling")
    data = recipe.write_lm_dataset(root / "data", num_clips=40, seed=100, seconds=0.4)
    codec = root / "codec"
    cfg = CodecTrainingConfig(num_filters=2, hidden_size=8, codebook_size=16)
    EncodecModel(encodec_config(cfg)).save_pretrained(codec)
    return recipe, data, codec


def test_per_prompt_ceiling_judges_each_prompts_own_windows(dataset_and_codec, monkeypatch):
    recipe, data, codec = dataset_and_codec
    import audiogen_hf.judge as judge

    seen: list[str] = []
    real = judge.judge_clip
    monkeypatch.setattr(
        judge, "judge_clip", lambda audio, sr, caption: seen.append(caption) or real(audio, sr, caption)
    )
    decodes: list[int] = []
    real_decode = EncodecModel.decode
    monkeypatch.setattr(
        EncodecModel, "decode", lambda self, *a, **k: decodes.append(1) or real_decode(self, *a, **k)
    )
    report = recipe.codec_ceiling(codec, data, num_clips=5, seconds=0.4, per_prompt=2)
    assert report["raw"]["clips"] == report["codec"]["clips"] == 5
    per_prompt = report["codec"]["per_prompt"]
    assert per_prompt and set(per_prompt) <= set(JUDGE_PROMPTS)
    assert all(0.0 <= v <= 1.0 for v in per_prompt.values())
    assert report["codec"]["per_prompt_mean"] == pytest.approx(sum(per_prompt.values()) / len(per_prompt))
    # at most 2 windows per prompt, each judged with that prompt (after the 2 x 5 first-caption judgements)
    asked = seen[10:]
    assert all(asked.count(p) <= 2 for p in per_prompt) and set(asked) == set(per_prompt)
    # each per-prompt window goes through the codec (one decode each, after the 5 of the first-caption set)
    assert decodes == [1] * (5 + len(asked))
    assert (
        "per_prompt" not in recipe.codec_ceiling(codec, data, num_clips=2, seconds=0.4, per_prompt=0)["codec"]
    )


def test_codec_card_lines_say_how_the_codec_was_distilled_and_polished(tmp_path):
    """The card names the base codec's distillation (from its report) and the polish's scope, silence term and
    decayed learning rate; a plain polish says none of them."""
    from training.embedded.embedded_card import codec_summary

    base = tmp_path / "base"
    base.mkdir()
    distilled = {"semantic_weight": 0.05, "semantic_start_step": 1500, "semantic_scope": "noise"}
    (base / "report.json").write_text(json.dumps({"roundtrip": {}, "config": distilled}))
    polish = {
        "decoder_only": True,
        "init_from": str(base),
        "band_energy_scope": "noise",
        "silence_weight": 0.5,
        "min_lr_ratio": 0.1,
    }
    lines = codec_summary({"steps": 1463, "config": polish})
    assert "first-codebook distillation (weight 0.05 from step 1500, on scenes: noise)" in lines
    assert (
        "polished for 1463 steps" in lines and "(on scenes: noise) and a silence term (weight 0.5)" in lines
    )
    assert "its learning rate decayed to 0.1x (`training/embedded/configs/codec_polish.yaml`)" in lines
    (base / "report.json").write_text(json.dumps({"roundtrip": {}, "config": {}}))
    plain = codec_summary({"steps": 1800, "config": {"decoder_only": True, "init_from": str(base)}})
    assert "distillation" not in plain and "silence term" not in plain and "on scenes" not in plain
    assert "decayed" not in plain


def test_stage_footnotes_explain_only_the_stages_the_run_had():
    """The card's timing table says which stages were reused or ran beside another (and so add no wall
    time), and what `codes` is; a plain run gets no such notes."""
    from training.embedded.embedded_card import stage_footnotes

    assert stage_footnotes({"data": 40, "codec": 1300, "lms": 1100}) == ""
    notes = stage_footnotes({"data (beside the codec)": 40, "codec": 1300, "codes": 180, "lms": 1100})
    assert "not added to the total" in notes and "encoded once" in notes and "reused" not in notes
    assert "polish wait" not in notes
    overlapped = stage_footnotes(
        {"codec": 1300, "polish (beside the LMs)": 500, "lms": 1200, "polish wait": 0}
    )
    assert "not added to the total" in overlapped and "LMs' two cores" in overlapped
    reused = stage_footnotes({"data": 40, "codec (reused)": 1300, "polish (reused)": 360})
    assert "earlier run" in reused and "beside" not in reused and "encoded once" not in reused


def test_stage_table_totals_only_the_stages_that_took_wall_time():
    from training.embedded.embedded_card import stage_table

    table = stage_table(
        {"data (beside the codec)": 60, "codec": 1500, "polish (beside the LMs)": 600, "lms": 1200}
    )
    assert "| codec | 25.0 |" in table and "| polish (beside the LMs) | 10.0 |" in table
    assert table.splitlines()[-1] == "| **total** (before packaging and judging) | **45.0** |"
