"""The package's metrics as `evaluate` modules (issue 31 item 6): loadable offline from a local path, the same
numbers as `audiogen_hf.evaluation`, and laid out as a Hub metric Space."""

from __future__ import annotations

import numpy as np
import pytest

from audiogen_hf.evaluation import frechet_distance, kl_divergence, metric_path, write_metric_space
from audiogen_hf.evaluation.clap import ClapScorer

evaluate = pytest.importorskip("evaluate")


@pytest.fixture(autouse=True)
def _offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_EVALUATE_OFFLINE", "1")


def test_frechet_distance_module_equals_the_package():
    rng = np.random.default_rng(0)
    generated, reference = rng.normal(size=(12, 4)), rng.normal(0.5, 2.0, size=(12, 4))
    metric = evaluate.load(metric_path("frechet_distance"))
    result = metric.compute(predictions=generated, references=reference)
    assert result["frechet_distance"] == pytest.approx(frechet_distance(generated, reference), rel=1e-12)
    strict = metric.compute(predictions=generated, references=reference, eps=0.0)
    assert strict["frechet_distance"] == pytest.approx(
        frechet_distance(generated, reference, eps=0.0), rel=1e-12
    )


@pytest.mark.parametrize("kind", ["categorical", "bernoulli"])
def test_kl_module_equals_the_package(kind):
    rng = np.random.default_rng(1)
    p, q = rng.random((6, 5)), rng.random((6, 5))
    if kind == "categorical":
        p, q = p / p.sum(1, keepdims=True), q / q.sum(1, keepdims=True)
    metric = evaluate.load(metric_path("kl_divergence"))
    result = metric.compute(predictions=q, references=p, kind=kind)
    assert result["kl"] == pytest.approx(kl_divergence(p, q, kind=kind), rel=1e-12)


def test_clap_module_equals_the_package(tmp_path):
    from tests.test_evaluation_embedders import save_tiny_clap

    clap = save_tiny_clap(tmp_path / "clap")
    t = np.arange(16000) / 16000
    clips = [(0.1 * np.sin(2 * np.pi * f * t)).astype(np.float32) for f in (250, 1400)]
    texts = ["a low tone", "a high tone"]
    metric = evaluate.load(metric_path("clap_score"))
    result = metric.compute(predictions=clips, references=texts, sampling_rate=16000, clap_model=clap)
    expected = ClapScorer(clap).scores(clips, 16000, texts)
    np.testing.assert_allclose(result["clap_scores"], expected, rtol=1e-5)
    assert result["clap_score"] == pytest.approx(float(np.mean(expected)), rel=1e-5)
    with pytest.raises(ValueError, match="clap_model"):
        metric.compute(predictions=clips, references=texts)


def test_metric_space_layout(tmp_path):
    from huggingface_hub import RepoCard

    folder = write_metric_space("frechet_distance", tmp_path / "audio_fd")
    assert {p.name for p in folder.iterdir()} == {
        "README.md",
        "app.py",
        "requirements.txt",
        "audio_fd.py",
    }
    card = RepoCard((folder / "README.md").read_text())
    assert card.data.sdk == "gradio" and "evaluate" in card.data.tags
    assert "audiogen-hf" in (folder / "requirements.txt").read_text()
    # the Space's folder is itself a loadable metric (offline), with the same numbers
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(8, 3)), rng.normal(size=(8, 3))
    assert evaluate.load(str(folder)).compute(predictions=a, references=b)[
        "frechet_distance"
    ] == pytest.approx(frechet_distance(a, b), rel=1e-12)
    with pytest.raises(FileExistsError):
        write_metric_space("frechet_distance", folder)
    with pytest.raises(ValueError, match="unknown metric"):
        metric_path("fad")
