"""Long-form generation's window schedule, shared by AudioGen's sliding window and MAGNeT's long form."""

from __future__ import annotations


def sliding_windows(prompt_frames: int, total_frames: int, window: int, stride: int) -> list[tuple[int, int]]:
    """audiocraft's extension schedule as `(window_start, window_frames)` pairs in absolute frames.

    Each window is a fresh generation whose prompt is everything generated after `window_start`; windows
    advance by `stride` frames until `total_frames` are covered. A single window when it all fits.
    """
    if total_frames <= window:
        return [(0, total_frames)]
    if not 0 < stride < window:
        raise ValueError(
            f"extend_stride must be shorter than the window: {stride} frames vs {window}; pass a smaller "
            "extend_stride= (in seconds) or ask for at most one window of max_new_tokens."
        )
    windows, offset, prompt_length = [], 0, prompt_frames
    while offset + prompt_length < total_frames:
        frames = min(total_frames - offset, window)
        windows.append((offset, frames))
        prompt_length = frames - stride
        offset += stride
    return windows
