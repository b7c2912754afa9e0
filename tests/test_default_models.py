"""The embedded default models (issue 6): shipped in the package, loaded offline by name, and obeying
their prompts above a floor (the full judge numbers are in the model cards; this keeps the suite fast)."""

from __future__ import annotations

import fnmatch
import json
import sys
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForTextToWaveform, AutoProcessor

import audiogen_hf
from audiogen_hf.defaults import DEFAULT_MODELS_DIR, MODEL_ALIASES, resolve_model_name
from audiogen_hf.judge import JUDGE_PROMPTS, judge_clip, summarize

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from training.embedded import sound_world  # noqa: E402

FOLDERS = {"audiogen": audiogen_hf.DEFAULT_MODEL, "magnet": audiogen_hf.DEFAULT_MAGNET_MODEL}
MAX_TOTAL_BYTES = 20_000_000
# A few prompts that cover pitch, direction, noise colour, pulse rate, loudness and "then silence".
FLOOR_PROMPTS = (
    "a low tone",
    "a high tone",
    "a rising chirp",
    "pink noise",
    "fast high beeps",
    "a high beep then silence",
)
CLIPS_PER_PROMPT = 3
# measured at shipping: AudioGen 0.83, MAGNeT 0.78 on these 18 clips (the models before: 0.50 / 0.56); an
# untrained model scores ~0
FLOORS = {"audiogen": 0.65, "magnet": 0.6}


@pytest.fixture(scope="module", params=sorted(FOLDERS))
def shipped(request):
    family = request.param
    model = AutoModelForTextToWaveform.from_pretrained(FOLDERS[family]).eval()
    processor = AutoProcessor.from_pretrained(FOLDERS[family])
    return family, model, processor


def _generate(model, processor, prompts, seed: int = 0, **kwargs) -> torch.Tensor:
    inputs = processor(text=list(prompts), padding=True, return_tensors="pt")
    with torch.no_grad():
        return model.generate(**inputs, generator=torch.Generator().manual_seed(seed), **kwargs)


def _expected_samples(model, frames: int) -> int:
    """MAGNeT's non-overlapping spans round the frames down to a whole number of spans (as audiocraft)."""
    span = getattr(model.config.decoder, "span_len", 1) if model.config.model_type == "magnet" else 1
    return (frames - frames % span) * model.config.sampling_rate // model.config.frame_rate


def test_aliases_resolve_to_the_shipped_folders():
    assert resolve_model_name("default") == audiogen_hf.DEFAULT_MODEL
    assert resolve_model_name("default-audiogen") == audiogen_hf.DEFAULT_MODEL
    assert resolve_model_name("default-magnet") == audiogen_hf.DEFAULT_MAGNET_MODEL
    assert resolve_model_name("some/hub-id") == "some/hub-id"
    assert set(MODEL_ALIASES) == {"default", "default-audiogen", "default-magnet"}


def test_shipped_files_are_package_data_safetensors_and_small():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    globs = globs["audiogen_hf"]
    package_root = DEFAULT_MODELS_DIR.parent
    total = 0
    for family, folder in FOLDERS.items():
        files = [p for p in Path(folder).iterdir() if p.is_file()]
        names = {p.name for p in files}
        assert {"config.json", "generation_config.json", "model.safetensors", "README.md"} <= names, family
        assert not any(p.suffix in (".bin", ".pt", ".pth") for p in files), family
        for path in files:
            relative = path.relative_to(package_root).as_posix()
            assert any(fnmatch.fnmatch(relative, g) for g in globs), f"{relative} is not package data"
        total += sum(p.stat().st_size for p in files)
    assert total <= MAX_TOTAL_BYTES


def test_tokenizer_knows_every_caption_word(shipped):
    _, _, processor = shipped
    tokenizer = processor.tokenizer
    captions = set(JUDGE_PROMPTS)
    for kind in sound_world.SCENES:
        for i in range(30):
            captions.update(sound_world.make_clip(i, seed=7, kind=kind).captions)
    unknown = {c for c in captions if tokenizer.unk_token_id in tokenizer(c).input_ids}
    assert not unknown


def test_loads_offline_by_name_and_generates(shipped):
    family, model, processor = shipped
    assert model.config.model_type == family
    assert model.config.sampling_rate == 16000 and model.config.frame_rate == 50
    audio = _generate(model, processor, ["a high beep then silence"], max_new_tokens=50)
    assert audio.shape == (1, 1, _expected_samples(model, 50))
    assert torch.isfinite(audio).all() and audio.abs().max() > 1e-3


def test_default_generation_covers_the_window(shipped):
    """With no length given, each model makes its whole 2 s window (the CLI's default clip)."""
    _, model, processor = shipped
    audio = _generate(model, processor, ["white noise"])
    assert audio.shape[-1] == _expected_samples(model, model.config.max_frames)


def test_prompt_adherence_above_floor(shipped):
    family, model, processor = shipped
    verdicts = []
    for i, prompt in enumerate(FLOOR_PROMPTS):
        audio = _generate(model, processor, [prompt] * CLIPS_PER_PROMPT, seed=i, max_new_tokens=75)
        verdicts += [judge_clip(clip, model.config.sampling_rate, prompt) for clip in audio]
    report = summarize(verdicts)
    assert report["overall"] >= FLOORS[family], report


@pytest.mark.parametrize("family", sorted(FOLDERS))
def test_cards_state_the_judge_on_three_seeds(family):
    """The defaults were tuned on judge seed 0, so the cards also give seeds 1 and 2 and the mean."""
    folder = Path(FOLDERS[family])
    report = json.loads((folder / "judge_report.json").read_text())
    others = report["other_seeds"]
    assert sorted(others) == ["1", "2"] and all(0 <= v <= 1 for v in others.values())
    mean = (report["overall"] + sum(others.values())) / 3
    card = (folder / "README.md").read_text()
    assert f"mean over all 3 seeds **{100 * mean:.1f} %**" in card
    assert f"**Overall (every asked attribute right): {100 * report['overall']:.1f} %**" in card


@pytest.mark.parametrize("family", sorted(FOLDERS))
def test_shipped_generation_defaults_are_the_recipes(family):
    """The shipped `generation_config.json` holds the recipe's `GENERATION_DEFAULTS` (its package step writes
    them), so a rerun of the recipe ships the same generation settings as the committed files."""
    from transformers import GenerationConfig

    from training.embedded.embedded import GENERATION_DEFAULTS

    shipped = GenerationConfig.from_pretrained(FOLDERS[family])
    for key, value in GENERATION_DEFAULTS[family].items():
        assert getattr(shipped, key) == value, (family, key)
