"""The AudioGen training loss equals audiocraft's `LMModel.compute_predictions` + `MusicGenSolver._compute_cross_entropy`
on a fixture batch (tests/fixtures/reference/audiogen/reference.pt, made by tests/reference/make_fixtures.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

FIXTURES = Path(__file__).parent / "fixtures"
REFERENCE = FIXTURES / "reference" / "audiogen"
# What make_fixtures.py must store for this test: the codes [B, K, T] and texts of a batch, audiocraft's
# `compute_predictions(codes, conds)` logits [B, K, T, card] and mask [B, K, T], and the solver's cross-entropy.
TRAINING_KEYS = ("train_codes", "train_texts", "train_logits", "train_mask", "train_ce")


@pytest.fixture(scope="module")
def reference() -> dict:
    path = REFERENCE / "reference.pt"
    if not path.is_file():
        pytest.skip(f"{path} is missing; run tests/reference/make_fixtures.py in the audiocraft side venv.")
    ref = torch.load(path, weights_only=True)
    missing = [k for k in TRAINING_KEYS if k not in ref]
    if missing:
        pytest.skip(
            f"reference.pt has no training-loss entries {missing}; make_fixtures.py does not write them yet."
        )
    return ref


def test_audiogen_loss_equals_audiocraft(reference):
    from audiogen_hf.conversion import from_audiocraft

    model, processor, _ = from_audiocraft(REFERENCE, text_encoder=FIXTURES / "tiny_t5_large")
    inputs = processor(text=["" if t is None else t for t in reference["train_texts"]])
    with torch.no_grad():
        out = model(**inputs, labels=reference["train_codes"])
    mask = reference["train_mask"].bool()
    assert torch.equal(out.logits_mask, mask)
    assert (out.logits[mask] - reference["train_logits"][mask]).abs().max() < 1e-4
    assert abs(out.loss.item() - float(reference["train_ce"])) < 1e-5
