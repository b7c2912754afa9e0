"""The built-in DSP embedder, the embedder contract, the judge's old import path, and CLAP scoring with a
tiny random CLAP model saved to disk."""

from __future__ import annotations

import numpy as np
import pytest

from audiogen_hf.evaluation.embedders import (
    ATTRIBUTE_VALUES,
    Embeddings,
    attribute_probabilities,
    dsp_embedder,
    embed,
)
from audiogen_hf.evaluation.metrics import frechet_distance, kl_divergence

SR = 16000


def _tone(freq: float, seconds: float = 1.0, level: float = 0.1, seed: int = 0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    phase = np.random.default_rng(seed).uniform(0, 2 * np.pi)
    return (level * np.sin(2 * np.pi * freq * t + phase)).astype(np.float32)


def _noise(seconds: float = 1.0, level: float = 0.05, seed: int = 0) -> np.ndarray:
    return (level * np.random.default_rng(seed).standard_normal(int(seconds * SR))).astype(np.float32)


def test_old_judge_import_path_is_the_same_module():
    import audiogen_hf.evaluation.judge as moved
    import audiogen_hf.judge as old

    assert old is moved
    from audiogen_hf.judge import JUDGE_PROMPTS, judge_clip

    assert judge_clip is moved.judge_clip and JUDGE_PROMPTS == moved.JUDGE_PROMPTS


def test_attribute_probabilities_are_one_distribution():
    p = attribute_probabilities(dict.fromkeys(ATTRIBUTE_VALUES) | {"silence": "all"})
    assert p.shape == (sum(len(v) for v in ATTRIBUTE_VALUES.values()),)
    assert p.sum() == pytest.approx(1.0) and (p > 0).all()


def test_dsp_embedder_separates_low_tones_from_noise():
    low = [_tone(220 + 10 * i, seed=i) for i in range(6)]
    other_low = [_tone(230 + 10 * i, seed=10 + i) for i in range(6)]
    noise = [_noise(seed=i) for i in range(6)]
    low_out, other_out, noise_out = (dsp_embedder(c, SR) for c in (low, other_low, noise))
    assert low_out.embeddings.shape[0] == 6 and low_out.probability_kind == "categorical"
    assert np.allclose(low_out.probabilities.sum(axis=1), 1.0)
    same = frechet_distance(low_out.embeddings, other_out.embeddings)
    different = frechet_distance(low_out.embeddings, noise_out.embeddings)
    assert different > 10 * same
    # paired KL: the judge hears the same attributes in two low tones, different ones in tone vs noise
    assert kl_divergence(low_out.probabilities, other_out.probabilities) == pytest.approx(0.0, abs=1e-9)
    assert kl_divergence(low_out.probabilities, noise_out.probabilities) > 0.1


def test_embed_accepts_plain_arrays_and_checks_shapes():
    clips = [_tone(300), _tone(400)]
    out = embed(lambda c, sr: np.ones((len(c), 3)), clips, SR)
    assert isinstance(out, Embeddings) and out.probabilities is None and out.embeddings.shape == (2, 3)
    with pytest.raises(ValueError, match="one row per clip"):
        embed(lambda c, sr: np.ones((1, 3)), clips, SR)
    with pytest.raises(ValueError, match="probabilities of shape"):
        embed(lambda c, sr: Embeddings(np.ones((2, 3)), np.ones(2)), clips, SR)
    with pytest.raises(ValueError, match="no clips"):
        embed(dsp_embedder, [], SR)
    with pytest.raises(ValueError, match="sampling_rate"):
        dsp_embedder(clips, 4000)


def save_tiny_clap(path) -> str:
    """A random 24k-parameter CLAP (HTSAT + RoBERTa) with a 16 kHz feature extractor, saved to `path`."""
    import torch
    from transformers import ClapConfig, ClapFeatureExtractor, ClapModel, ClapProcessor, RobertaTokenizer

    torch.manual_seed(0)
    config = ClapConfig(
        text_config=dict(
            vocab_size=64,
            hidden_size=16,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=32,
            max_position_embeddings=64,
        ),
        audio_config=dict(
            depths=[1, 1],
            num_attention_heads=[1, 2],
            patch_embeds_hidden_size=16,
            hidden_size=32,
            window_size=8,
            spec_size=64,
            num_mel_bins=16,
        ),
        projection_dim=8,
    )
    extractor = ClapFeatureExtractor(
        feature_size=16,
        sampling_rate=16000,
        hop_length=160,
        max_length_s=1,
        fft_window_size=512,
        truncation="rand_trunc",
        frequency_min=50,
        frequency_max=8000,
    )
    letters = "abcdefghijklmnopqrstuvwxyz"
    tokens = ["<s>", "<pad>", "</s>", "<unk>", "<mask>", *letters, *("\u0120" + c for c in letters)]
    tokenizer = RobertaTokenizer(vocab={t: i for i, t in enumerate(tokens)}, merges=[])
    ClapModel(config).save_pretrained(path)
    ClapProcessor(feature_extractor=extractor, tokenizer=tokenizer).save_pretrained(path)
    return str(path)


@pytest.fixture(scope="module")
def tiny_clap_path(tmp_path_factory):
    return save_tiny_clap(tmp_path_factory.mktemp("tiny-clap"))


def test_clap_scores_are_cosines_of_unit_embeddings(tiny_clap_path):
    from audiogen_hf.evaluation.clap import ClapScorer

    scorer = ClapScorer(tiny_clap_path, batch_size=2)
    clips, texts = (
        [_tone(250), _noise(), _tone(1400, seconds=0.5)],
        ["a low tone", "white noise", "a high tone"],
    )
    audio, text = scorer.audio_embeddings(clips, SR), scorer.text_embeddings(texts)
    assert audio.shape == text.shape == (3, 8)
    np.testing.assert_allclose(np.linalg.norm(audio, axis=1), 1.0, rtol=1e-5)
    scores = scorer.scores(clips, SR, texts)
    np.testing.assert_allclose(scores, np.sum(audio * text, axis=1), rtol=1e-5)
    assert (np.abs(scores) <= 1 + 1e-6).all()
    # clips at another rate are resampled to the extractor's: a tone at 8 kHz embeds like the 16 kHz one
    t = np.arange(8000) / 8000
    low_8k = (0.1 * np.sin(2 * np.pi * 250 * t)).astype(np.float32)
    same = scorer.audio_embeddings([low_8k], 8000)[0] @ scorer.audio_embeddings([_tone(250)], SR)[0]
    assert same > 0.99
    # a scorer is an embedder (CLAP embeddings for Fréchet distance)
    assert embed(scorer, clips, SR).embeddings.shape == (3, 8)
    with pytest.raises(ValueError, match="pairs clips with texts"):
        scorer.scores(clips, SR, texts[:2])


def test_clap_path_errors_name_the_fix(tmp_path, tiny_clap_path):
    import shutil

    from audiogen_hf.evaluation.clap import ClapScorer

    with pytest.raises(FileNotFoundError, match="--clap a local folder"):
        ClapScorer(tmp_path / "missing")
    partial = tmp_path / "partial"
    partial.mkdir()
    shutil.copy(f"{tiny_clap_path}/config.json", partial / "config.json")
    with pytest.raises(ValueError, match="not a complete CLAP folder"):
        ClapScorer(partial)
