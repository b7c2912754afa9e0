"""MAGNeT past its window: overlapping windows, each prompted with the previous one's tail (pure arithmetic).

MAGNeT decodes one fixed window in parallel. Longer audio is AudioGen's sliding-window scheme applied to whole
windows: window `i` starts `stride` frames after window `i - 1` and is decoded with everything already generated
after its start as a frozen prompt, so consecutive windows share `window - stride` frames of context and the
audio continues seamlessly. Every window costs a full MAGNeT decode whatever its prompt, so the stride sets the
price: `total / stride` decodes. With nonoverlap spans the window, the stride and the total are whole spans, so no
window loses frames to span trimming.
"""

from __future__ import annotations

from ...generation.windows import sliding_windows
from .masking import trimmed_length


def default_stride_frames(window: int, span_len: int) -> int:
    """Half a window, in whole spans: as much new audio per decode as still leaves half a window of context."""
    return max(span_len, span_len * ((window // 2) // span_len))


def magnet_windows(
    prompt_frames: int,
    total_frames: int,
    window: int,
    stride: int | None,
    span_len: int,
    span_arrangement: str,
) -> list[tuple[int, int]]:
    """`(start, frames)` of each window, in absolute frames (`frames` counts the window's prompt too).

    One window when everything fits (its length trimmed to whole spans as audiocraft does); otherwise windows of
    `trimmed_length(window)` frames every `stride` frames (default: `default_stride_frames`) until
    `trimmed_length(total_frames)` frames are covered.
    """
    span = span_len if span_len > 1 and span_arrangement == "nonoverlap" else 1
    if total_frames <= window:
        return [(0, total_frames)]
    window = trimmed_length(window, span_len, span_arrangement)
    stride = default_stride_frames(window, span) if stride is None else stride
    if not span <= stride < window or stride % span:
        raise ValueError(
            f"extend_stride must be a whole number of {span}-frame spans, at least one span and shorter than "
            f"the {window}-frame window, got {stride} frames; pass extend_stride (seconds) so that it covers "
            f"a multiple of {span} frames (default: {default_stride_frames(window, span)} frames)."
        )
    total = trimmed_length(total_frames, span_len, span_arrangement)
    return sliding_windows(prompt_frames, total, window, stride)
