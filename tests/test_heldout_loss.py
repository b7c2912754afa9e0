"""The held-out loss probe (training/embedded/heldout_loss.py) on tiny untrained models of both families."""

from __future__ import annotations

import json
import math

import pytest
import torch
from transformers import EncodecModel

from training.embedded.train_codec import CodecTrainingConfig, encodec_config

WINDOW = 0.4


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from training.embedded import embedded as recipe

    root = tmp_path_factory.mktemp("heldout")
    torch.manual_seed(0)
    cfg = CodecTrainingConfig(num_filters=2, hidden_size=8, codebook_size=16)
    EncodecModel(encodec_config(cfg)).save_pretrained(root / "codec")
    text = recipe.build_text_encoder(root / "text", seed=0, d_model=16, num_layers=1)
    data = recipe.write_lm_dataset(root / "data", num_clips=6, seed=100, seconds=WINDOW)
    folders = {
        family: recipe.build_initial_model(
            root / family, family, root / "codec", text, 16, 1, 2, window=WINDOW
        )
        for family in ("audiogen", "magnet")
    }
    return root, data, folders


@pytest.mark.parametrize("family", ["audiogen", "magnet"])
def test_heldout_report_compares_training_clips_with_fresh_ones(runs, family):
    from training.embedded import heldout_loss as probe

    root, data, folders = runs
    report = probe.heldout_report(folders[family], data, root / f"fresh_{family}", clips=4)
    fresh = [json.loads(line) for line in open(root / f"fresh_{family}" / "metadata.jsonl")]
    assert len(fresh) == 4  # written with the held-out seed, one window long
    # untrained: both near the uniform loss over 16 codes, and no gap to speak of
    for name in ("train", "heldout"):
        assert abs(report[name] - math.log(16)) < 1.0, report
    assert report["gap"] == pytest.approx(report["heldout"] - report["train"])
    assert report["train"] != report["heldout"]  # different clips were read
    # the same clips twice: exactly the same loss (masks and captions are deterministic)
    again = probe.heldout_report(folders[family], data, data, clips=4)
    assert again["gap"] == 0.0 and again["train"] == report["train"]


def test_heldout_loss_refuses_an_empty_dataset(runs, tmp_path):
    from training.embedded import heldout_loss as probe

    _, _, folders = runs
    (tmp_path / "metadata.jsonl").write_text("")
    from transformers import AutoModelForTextToWaveform, AutoProcessor

    model = AutoModelForTextToWaveform.from_pretrained(folders["audiogen"])
    processor = AutoProcessor.from_pretrained(folders["audiogen"])
    with pytest.raises(ValueError, match="lists no clips"):
        probe.dataset_loss(model, processor, tmp_path, clips=4)
