"""MAGNeT infill and seamless loops on the embedded MAGNeT, against the naive alternatives.

    python benchmarks/bench_magnet_infill_loop.py --seeds 11 12 --clips 2 --json out.json

For every judge prompt P and seed, in one process and interleaved (so a busy machine slows every arm alike):

- context: a plain 2 s clip of another prompt C (C runs over the same prompts, shifted by half the list);
- loops, on C: `loop=True` vs the plain clip (its codes, already made) vs the plain codes through the circular
  codec decode only (what the decode does alone). Seam: the wrap step from the last sample to the first
  (against the clip's own steps) and the spectral flux / energy jump across the repeat, each against its
  median over the clip (`audiogen_hf.evaluation.seams`); adherence to C by the DSP judge.
- infill: the middle second of the context regenerated from P (`infill=(0.5, 1.5)`, the context's codes kept)
  vs a naive splice (a plain 1 s clip of P pasted into the context's waveform). The judge scores the middle
  second against P; continuity is measured at both borders.

Nothing here was tuned: the seam schedule and the one-frame cross-fade were fixed before any measurement, so
any seeds are held out (the defaults, 11 and 12, were never run before the reported measurement).
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np
import torch

from audiogen_hf.evaluation.judge import JUDGE_PROMPTS, judge_clip, summarize
from audiogen_hf.evaluation.seams import boundary_continuity, loop_seam
from audiogen_hf.loading import load_model_and_processor
from audiogen_hf.models.magnet.loop import circular_decode

CONTEXT_S = 2.0
INFILL_S = (0.5, 1.5)
LOOP_KEYS = ("wrap_to_max", "wrap_ratio", "wrap_percentile", "flux_ratio", "energy_ratio")
BORDER_KEYS = ("flux_ratio", "energy_ratio", "energy_jump_db")


def _timed(wall: dict, name: str, model, **kwargs):
    """`model.generate(**kwargs)`, its wall time added to `wall[name]`."""
    start = time.perf_counter()
    result = model.generate(**kwargs)
    wall[name] = wall.get(name, 0.0) + time.perf_counter() - start
    return result


def _borders(audio: np.ndarray, rate: int) -> list[dict]:
    return [boundary_continuity(audio, rate, int(s * rate)) for s in INFILL_S]


def _share_below(ours: list[dict], theirs: list[dict], key: str) -> float:
    """The share of pairs where our measure is the smaller one."""
    return float(np.mean([a[key] < b[key] for a, b in zip(ours, theirs, strict=True)]))


def measure(model, processor, seeds: list[int], clips: int, prompts: int) -> dict:
    rate, frame_rate = int(model.config.sampling_rate), model.config.frame_rate
    first, last = (int(s * rate) for s in INFILL_S)
    span = (
        model.config.decoder.span_len
    )  # nonoverlap trims to whole spans: ask for enough to cover the region
    region_frames = span * math.ceil((INFILL_S[1] - INFILL_S[0]) * frame_rate / span)
    chosen = JUDGE_PROMPTS[:prompts]
    arms = ("plain", "decode_only", "loop")
    seams = {arm: [] for arm in arms}
    loop_verdicts = {arm: [] for arm in arms}
    borders = {arm: [] for arm in ("context", "infill", "splice")}
    infill_verdicts = {arm: [] for arm in ("infill", "splice")}
    wall: dict = {}
    for seed in seeds:
        for index, prompt in enumerate(chosen):
            other = chosen[(index + len(chosen) // 2) % len(chosen)]
            text_c = processor(text=[other] * clips, padding=True, return_tensors="pt")
            text_p = processor(text=[prompt] * clips, padding=True, return_tensors="pt")

            def gen(offset: int, seed=seed, index=index):
                return torch.Generator().manual_seed(10_000 * seed + 100 * index + offset)

            plain = _timed(wall, "plain", model, **text_c, generator=gen(0), return_dict_in_generate=True)
            looped = _timed(wall, "loop", model, **text_c, generator=gen(0), loop=True)
            decode_only = circular_decode(model.decode_audio, plain.sequences)
            codes = plain.sequences
            filled = _timed(
                wall, "infill", model, **text_p, prompt_codes=codes, infill=INFILL_S, generator=gen(1)
            )
            region = _timed(wall, "plain_1s", model, **text_p, max_new_tokens=region_frames, generator=gen(1))
            for arm, audio in (("plain", plain.audio), ("decode_only", decode_only), ("loop", looped)):
                for clip in audio.float().numpy():
                    seams[arm].append(loop_seam(clip, rate))
                    loop_verdicts[arm].append(judge_clip(clip, rate, other))
            for context, infilled, pasted in zip(
                plain.audio.float().numpy(), filled.float().numpy(), region.float().numpy(), strict=True
            ):
                spliced = context.copy()
                spliced[..., first:last] = pasted[..., : last - first]
                borders["context"] += _borders(context, rate)
                borders["infill"] += _borders(infilled, rate)
                borders["splice"] += _borders(spliced, rate)
                infill_verdicts["infill"].append(judge_clip(infilled[..., first:last], rate, prompt))
                infill_verdicts["splice"].append(judge_clip(pasted[..., : last - first], rate, prompt))
            print(f"seed {seed} prompt {index + 1}/{len(chosen)}", flush=True)
    return {
        "loops": {
            arm: {
                "clips": len(seams[arm]),
                **{f"median_{k}": float(np.median([s[k] for s in seams[arm]])) for k in LOOP_KEYS},
                "share_wrap_within_clip_steps": float(np.mean([s["wrap_to_max"] <= 1.0 for s in seams[arm]])),
                "judge": summarize(loop_verdicts[arm])["overall"],
            }
            for arm in arms
        },
        "infill": {
            arm: {
                "borders": len(borders[arm]),
                **{f"median_{k}": float(np.median([b[k] for b in borders[arm]])) for k in BORDER_KEYS},
                **(
                    {"judge_region": summarize(infill_verdicts[arm])["overall"]}
                    if arm in infill_verdicts
                    else {}
                ),
            }
            for arm in borders
        },
        "paired": {  # the same seed and prompt, clip by clip (border by border)
            "loop_wrap_step_below_plain": _share_below(seams["loop"], seams["plain"], "wrap_step"),
            "loop_flux_below_plain": _share_below(seams["loop"], seams["plain"], "flux_ratio"),
            "loop_wrap_step_below_decode_only": _share_below(
                seams["loop"], seams["decode_only"], "wrap_step"
            ),
            "infill_flux_below_splice": _share_below(borders["infill"], borders["splice"], "flux_ratio"),
            "infill_energy_jump_below_splice": _share_below(
                borders["infill"], borders["splice"], "energy_jump_db"
            ),
        },
        "wall_seconds": wall,
        "cost_vs_plain": {
            "loop": wall["loop"] / wall["plain"],
            "infill": wall["infill"] / wall["plain"],
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="default-magnet")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--seeds", type=int, nargs="+", default=[11, 12])
    parser.add_argument("--clips", type=int, default=2, help="clips per prompt and seed")
    parser.add_argument("--prompts", type=int, default=len(JUDGE_PROMPTS), help="the first N judge prompts")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    model, processor = load_model_and_processor(args.model, "cpu", args.dtype)
    if model.config.max_frames < round(CONTEXT_S * model.config.frame_rate):
        raise SystemExit(f"error: the model's window is shorter than the {CONTEXT_S} s context.")
    results = measure(model, processor, args.seeds, args.clips, args.prompts)
    print(json.dumps(results, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "torch_threads": torch.get_num_threads(), **results}, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
