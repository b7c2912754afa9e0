"""The DSP judge recognises what the sound world made, rejects wrong captions and scores models."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from audiogen_hf.commands.judge import add_judge_arguments
from audiogen_hf.judge import (
    ATTRIBUTES,
    analyze,
    judge_clip,
    requested_attributes,
    run_judge,
    summarize,
)
from training.embedded.sound_world import KIND_WEIGHTS, generate_clips


@pytest.fixture(scope="module")
def clips():
    return list(generate_clips(40, seed=7, kinds=list(KIND_WEIGHTS)))


def test_judge_recognises_the_sound_world(clips):
    correct = {a: [] for a in ATTRIBUTES}
    for clip in clips:
        heard = analyze(clip.audio, clip.sampling_rate).attributes
        for attribute in ATTRIBUTES:
            correct[attribute].append(heard[attribute] == clip.labels[attribute])
    accuracy = {a: float(np.mean(v)) for a, v in correct.items()}
    assert min(accuracy.values()) >= 0.95, accuracy


def test_true_captions_pass(clips):
    verdicts = [judge_clip(c.audio, c.sampling_rate, caption) for c in clips for caption in c.captions[:2]]
    summary = summarize(verdicts)
    assert summary["overall"] >= 0.95, [v for v in verdicts if not v.passed][:3]


@pytest.mark.parametrize(
    ("kind", "index", "wrong"),
    [
        ("tone", 0, "a {other} tone"),
        ("noise", 0, "a high tone"),
        ("pulses", 0, "{other_rate} beeps"),
        ("chirp", 0, "a {other_direction} chirp"),
        ("silence", 0, "white noise"),
        ("tone", 0, "a high beep then silence"),
        ("beep_silence", 0, "silence"),
    ],
)
def test_wrong_captions_fail(kind, index, wrong):
    clip = next(generate_clips(1, seed=index, kinds=[kind]))
    labels = clip.labels
    other = {"low": "high", "middle": "low", "high": "low"}.get(labels["pitch"] or "", "low")
    other_rate = "fast" if labels["pulse"] == "slow" else "slow"
    other_direction = "falling" if labels["direction"] == "rising" else "rising"
    caption = wrong.format(other=other, other_rate=other_rate, other_direction=other_direction)
    assert not judge_clip(clip.audio, clip.sampling_rate, caption).passed, caption


def test_loudness_is_judged():
    tone = next(c for c in generate_clips(30, seed=0, kinds=["tone"]) if c.labels["loudness"] == "quiet")
    assert judge_clip(tone.audio, 16000, "a quiet " + tone.labels["pitch"] + " tone").passed
    assert not judge_clip(tone.audio, 16000, "a loud " + tone.labels["pitch"] + " tone").passed


def test_caption_parsing_and_bad_inputs():
    assert requested_attributes("a quiet high beep then silence") == {
        "silence": "after",
        "pitch": "high",
        "loudness": "quiet",
    }
    assert requested_attributes("fast low beeps") == {"silence": "none", "pitch": "low", "pulse": "fast"}
    assert requested_attributes("silence") == {"silence": "all"}
    with pytest.raises(ValueError, match="names nothing"):
        requested_attributes("a dog barks")
    with pytest.raises(ValueError, match="non-empty"):
        analyze(np.zeros(0), 16000)
    with pytest.raises(ValueError, match="NaN"):
        analyze(np.full(1600, np.nan), 16000)


def test_run_judge_scores_a_model_end_to_end():
    lines = []
    reports = run_judge(
        ["tiny-random"],
        clips_per_template=1,
        prompts=["a high tone", "silence"],
        duration=0.5,
        print_fn=lines.append,
    )
    (report,) = reports
    assert report["clips"] == 2 and 0.0 <= report["overall"] <= 1.0
    assert report["audio_seconds_per_second"] > 0 and "silence" in report["per_attribute"]
    assert "overall" in lines[0] and "tiny-random" in lines[0]
    args = add_judge_arguments(argparse.ArgumentParser()).parse_args(
        ["m1", "m2", "--clips-per-template", "2"]
    )
    assert args.models == ["m1", "m2"] and args.clips_per_template == 2


def test_pitch_is_the_loudest_tonal_peak_not_a_faint_whine():
    """A quiet middle tone smeared by a codec (noise around it) plus a faint 4 kHz line in an empty region:
    the line out-stands its floor more than the tone does, but the pitch is the tone (the judge used to say
    'high' here: 12 of 75 codec-decoded clips failed this way)."""
    sr, n = 16000, 24000
    rng = np.random.default_rng(0)
    t = np.arange(n) / sr
    tone = 0.02 * np.sin(2 * np.pi * 600 * t)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / sr)
    spectrum[(freqs < 450) | (freqs > 800)] = 0
    smear = np.fft.irfft(spectrum, n)
    smear *= 0.006 / smear.std()
    whine = 1e-4 * np.sin(2 * np.pi * 4000 * t)
    heard = analyze(tone + smear + whine, sr)
    assert heard.attributes["pitch"] == "middle", heard.measurements
    assert 550 < heard.measurements["pitch_hz"] < 650


@pytest.mark.parametrize("colour", ["white", "pink", "brown"])
def test_noise_colour_is_read_inside_the_worlds_noise_band(colour):
    """The world's noise lives below 1 kHz (what the demo codec can carry) and its colour is fitted below
    800 Hz: the same noise with its 0.8-2 kHz band pushed 12 dB down (as a codec decodes it) keeps its
    colour, while a 12 dB step inside the band (at 400 Hz: down, or up for brown) changes it."""
    from audiogen_hf.judge import NOISE_BAND_HZ, NOISE_FIT_HZ
    from training.embedded.sound_world import coloured_noise

    sr, n = 16000, 24000
    assert NOISE_FIT_HZ[0] > NOISE_BAND_HZ[0] and NOISE_FIT_HZ[1] < NOISE_BAND_HZ[1]
    noise = coloured_noise(colour, n, sr, np.random.default_rng(3))
    spectrum, freqs = np.fft.rfft(noise), np.fft.rfftfreq(n, 1 / sr)
    above = spectrum * np.where(freqs > 850, 10 ** (-12 / 20), 1.0)
    assert analyze(np.fft.irfft(above, n) * 0.05 / noise.std(), sr).attributes["noise"] == colour
    step_db = 12.0 if colour == "brown" else -12.0
    tilted = spectrum * np.where(freqs > 400, 10 ** (step_db / 20), 1.0)
    assert analyze(np.fft.irfft(tilted, n) * 0.05 / noise.std(), sr).attributes["noise"] != colour


def _glitched(start_hz: float, octaves: float, glitches: list[tuple[float, float]], sr: int = 16000):
    """A 1.5 s exponential sweep (0 octaves: a steady tone) whose tone drops out for 70 ms at each
    (time, frequency) in `glitches`, a burst at that frequency instead: a decoded sweep's codec glitches."""
    n = int(1.5 * sr)
    t = np.arange(n) / sr
    rate = octaves / 1.5
    phase = start_hz * t if rate == 0 else start_hz * (2 ** (rate * t) - 1) / (rate * np.log(2))
    x = 0.1 * np.sin(2 * np.pi * phase)
    for at, hz in glitches:
        span = (t >= at) & (t < at + 0.07)
        x[span] = 0.1 * np.sin(2 * np.pi * hz * t[span])
    return x


# against the trend: a high burst early and a low one late in a rising sweep, the reverse in a falling one
@pytest.mark.parametrize(
    ("start_hz", "octaves", "glitches", "expected"),
    [
        (280.0, 1.4, [(0.08, 1500.0), (1.35, 130.0)], "rising"),
        (1500.0, -1.4, [(0.08, 150.0), (1.35, 1600.0)], "falling"),
        (600.0, 0.0, [(0.08, 150.0), (1.35, 1600.0)], "steady"),
    ],
)
def test_direction_follows_most_of_the_clip_not_two_glitches(start_hz, octaves, glitches, expected):
    """Two 70 ms glitches against the trend (as the demo codec decodes sweeps) defeated the least-squares fit
    of log pitch the judge used: these sweeps read 0.06 / -0.20 octaves/s (steady) and the glitched steady
    tone 0.54 (rising). Its Theil-Sen slope follows the clip: 0.92 / -0.93 / 0.00."""
    heard = analyze(_glitched(start_hz, octaves, glitches), 16000)
    assert heard.attributes["direction"] == expected, heard.measurements
    clean = analyze(_glitched(start_hz, octaves, []), 16000)
    assert clean.attributes["direction"] == expected
    assert heard.measurements["octaves_per_s"] == pytest.approx(clean.measurements["octaves_per_s"], abs=0.25)


def test_robust_slope_is_the_median_pairwise_slope():
    from audiogen_hf.judge import _robust_slope

    t = np.arange(20, dtype=float)
    y = 2.0 * t
    y[[0, 19]] = [80.0, -80.0]  # two outliers against the trend: least squares says falling
    assert np.polyfit(t, y, 1)[0] < 0
    assert _robust_slope(t, y) == pytest.approx(2.0)
    assert _robust_slope(np.zeros(3), np.arange(3.0)) == 0.0  # no two distinct times
    long = np.arange(5000, dtype=float)  # thinned past max_points: the same slope
    assert _robust_slope(long, 0.5 * long) == pytest.approx(0.5)
