"""The procedural sound world: deterministic, labelled, varied captions, and an audiofolder writer."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from audiogen_hf.judge import ATTRIBUTES, requested_attributes
from training.embedded.sound_world import (
    KIND_WEIGHTS,
    caption_vocabulary,
    generate_clips,
    make_clip,
    write_sound_world,
)


def test_same_seed_same_clips_and_index_independent_of_count():
    a = list(generate_clips(6, seed=3))
    b = list(generate_clips(12, seed=3))[:6]
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.audio, y.audio)
        assert x.captions == y.captions and x.labels == y.labels
    c = list(generate_clips(6, seed=4))
    assert any(not np.array_equal(x.audio, y.audio) for x, y in zip(a, c, strict=True))


@pytest.mark.parametrize("kind", list(KIND_WEIGHTS))
def test_every_kind_is_labelled_and_captioned_consistently(kind):
    clip = make_clip(0, seed=0, kind=kind)
    assert set(clip.labels) == set(ATTRIBUTES)
    assert clip.audio.dtype == np.float32 and 1.0 <= len(clip.audio) / 16000 <= 2.0
    assert len(clip.audio) % 320 == 0 and np.abs(clip.audio).max() < 1.0
    assert len(set(clip.captions)) >= 3
    for caption in clip.captions:  # what a caption asks never contradicts the labels
        for attribute, value in requested_attributes(caption).items():
            assert clip.labels[attribute] == value, (caption, attribute)


def test_labels_match_the_signal_basics():
    silent = make_clip(0, seed=0, kind="silence")
    assert not silent.audio.any() and silent.labels["silence"] == "all"
    after = make_clip(1, seed=0, kind="beep_silence")
    assert after.labels["silence"] == "after" and not after.audio[-4000:].any() and after.audio[:800].any()
    loud = [c for c in generate_clips(40, seed=1, kinds=["tone"]) if c.labels["loudness"] == "loud"][0]
    quiet = [c for c in generate_clips(40, seed=1, kinds=["tone"]) if c.labels["loudness"] == "quiet"][0]
    assert np.sqrt(np.mean(loud.audio**2)) > 10 * np.sqrt(np.mean(quiet.audio**2))


def test_captions_vary_across_clips_and_kinds_are_mixed():
    clips = list(generate_clips(60, seed=0))
    assert len({c.caption for c in clips}) > 30
    assert len({c.kind for c in clips}) >= 8
    vocabulary = caption_vocabulary()
    assert {"high", "low", "rising", "brown", "silence", "beeps", "then"} <= set(vocabulary)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="unknown scene kind"):
        make_clip(0, kind="thunder")
    with pytest.raises(ValueError, match=">= 0"):
        make_clip(-1)


def test_folder_writer_follows_the_audiofolder_convention(tmp_path):
    folder = write_sound_world(tmp_path / "world", 5, seed=2)
    rows = [json.loads(line) for line in (folder / "metadata.jsonl").read_text().splitlines()]
    assert len(rows) == 5
    expected = list(generate_clips(5, seed=2))
    for row, clip in zip(rows, expected, strict=True):
        assert row["text"] == row["caption"] == clip.caption and row["captions"] == clip.captions
        assert {k: row[k] for k in ATTRIBUTES} == clip.labels
        audio, sr = sf.read(folder / row["file_name"], dtype="float32")
        assert sr == 16000 and np.abs(audio - clip.audio).max() < 1e-3
