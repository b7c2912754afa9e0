"""Seam measures (evaluation/seams.py): a seam is judged against the clip's own variation."""

from __future__ import annotations

import numpy as np
import pytest

from audiogen_hf.evaluation.seams import boundary_continuity, loop_seam, wrap_step

RATE = 16000


def tone(seconds: float, hz: float = 400.0, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return amplitude * np.sin(2 * np.pi * hz * t)


def test_a_whole_number_of_periods_wraps_and_a_cut_tone_does_not():
    whole = tone(0.5)  # 200 periods of 400 Hz
    cut = tone(0.5, hz=401.3)
    assert wrap_step(whole)["to_max"] < 1.001  # it wraps at a zero crossing, as steep as every other one
    jump = wrap_step(cut)
    assert jump["percentile"] == 100.0 and jump["to_max"] > 3 and jump["ratio"] > 3
    assert loop_seam(whole, RATE)["wrap_to_max"] < 1.001 and loop_seam(cut, RATE)["wrap_to_max"] > 3
    assert wrap_step(np.zeros(10)) == {"step": 0.0, "ratio": 0.0, "to_max": 0.0, "percentile": 0.0}
    assert (
        wrap_step(tone(0.1)[None, None])["step"] == wrap_step(tone(0.1))["step"]
    )  # [B, C, samples] is mono-ised


def test_boundary_continuity_sees_a_splice_and_not_a_steady_sound():
    steady = tone(1.0)
    smooth = boundary_continuity(steady, RATE, 8000)
    assert smooth["flux_ratio"] < 2 and smooth["energy_jump_db"] < 0.5
    spliced = np.concatenate([tone(0.5), 0.05 * np.random.default_rng(0).standard_normal(8000)])
    seam = boundary_continuity(spliced, RATE, 8000)
    assert seam["flux_ratio"] > 3 and seam["energy_ratio"] > 3
    # the seam of a loop is where its end meets its start
    assert loop_seam(spliced, RATE)["flux_ratio"] > 3


def test_seams_need_room_on_both_sides():
    with pytest.raises(ValueError, match="must leave 320 samples on each side"):
        boundary_continuity(tone(1.0), RATE, 100)
    with pytest.raises(ValueError, match="too short to compare"):
        boundary_continuity(tone(0.04), RATE, 320)
    with pytest.raises(ValueError, match="at least 2 samples"):
        wrap_step(np.zeros(1))
