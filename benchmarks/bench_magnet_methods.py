"""MAGNeT alone vs rescored (AudioGen as rescorer, a grid of weights) vs Hybrid-MAGNeT, on the embedded models.

    python benchmarks/bench_magnet_methods.py --dev-seeds 3 4 5 --test-seeds 0 1 2 --json out.json

Prompt adherence is the DSP judge's pass rate (`audiogen_hf.evaluation.judge`) over its canonical prompts;
speed is seconds of audio per wall-clock second, all measured in this one run. The setting to ship is chosen on
the dev seeds and reported on the held-out test seeds, so the choice is not fitted to the numbers it reports.
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from transformers import AutoModelForTextToWaveform, AutoProcessor

from audiogen_hf import DEFAULT_MAGNET_MODEL, DEFAULT_MODEL, HybridMagnet
from audiogen_hf.evaluation.judge import JUDGE_PROMPTS, judge_clip, summarize


def methods(audiogen, magnet, weights: list[float], ar_seconds: float) -> dict:
    """name -> generate(inputs, frames, generator) returning audio `[B, C, samples]`."""
    hybrid = HybridMagnet(audiogen, magnet)
    table = {
        "magnet": lambda inputs, frames, gen: magnet.generate(**inputs, max_new_tokens=frames, generator=gen)
    }
    for w in weights:
        table[f"rescored w={w:g}"] = lambda inputs, frames, gen, w=w: magnet.generate(
            **inputs, max_new_tokens=frames, generator=gen, rescorer=audiogen, rescore_weight=w
        )
    table[f"hybrid ar={ar_seconds:g}s"] = lambda inputs, frames, gen: hybrid.generate(
        **inputs, ar_seconds=ar_seconds, max_new_tokens=frames, generator=gen
    )
    table["audiogen"] = lambda inputs, frames, gen: audiogen.generate(
        **inputs, max_new_tokens=frames, generator=gen
    )
    return table


def measure(table: dict, processor, seeds: list[int], clips: int, frames: int, sampling_rate: int) -> dict:
    """Judge `clips` clips per prompt per seed for every method, interleaved (each (seed, prompt) runs all
    methods back to back with the same seed, so a busy machine slows them alike)."""
    verdicts = {name: [] for name in table}
    audio_seconds, wall = dict.fromkeys(table, 0.0), dict.fromkeys(table, 0.0)
    for seed in seeds:
        for index, prompt in enumerate(JUDGE_PROMPTS):
            inputs = processor(text=[prompt] * clips, padding=True, return_tensors="pt")
            for name, generate in table.items():
                gen = torch.Generator().manual_seed(1000 * seed + index)
                start = time.perf_counter()
                audio = generate(inputs, frames, gen).float().numpy()
                wall[name] += time.perf_counter() - start
                audio_seconds[name] += audio.shape[0] * audio.shape[-1] / sampling_rate
                verdicts[name] += [judge_clip(clip, sampling_rate, prompt) for clip in audio]
    reports = {}
    for name in table:
        reports[name] = summarize(verdicts[name])
        reports[name].update(
            audio_seconds_per_second=audio_seconds[name] / wall[name], wall_seconds=wall[name], seeds=seeds
        )
    return reports


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--audiogen", default=DEFAULT_MODEL)
    parser.add_argument("--magnet", default=DEFAULT_MAGNET_MODEL)
    parser.add_argument("--weights", type=float, nargs="+", default=[0.3, 0.5, 0.7])
    parser.add_argument("--ar-seconds", type=float, default=0.5)
    parser.add_argument("--dev-seeds", type=int, nargs="+", default=[3, 4, 5])
    parser.add_argument("--test-seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--clips", type=int, default=4, help="clips per prompt and seed")
    parser.add_argument("--duration", type=float, default=1.5, help="seconds per clip")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    audiogen = AutoModelForTextToWaveform.from_pretrained(args.audiogen).eval()
    magnet = AutoModelForTextToWaveform.from_pretrained(args.magnet).eval()
    processor = AutoProcessor.from_pretrained(args.magnet)
    frames = round(args.duration * magnet.config.frame_rate)
    sr = int(magnet.config.sampling_rate)
    table = methods(audiogen, magnet, args.weights, args.ar_seconds)
    results = {}
    for split, seeds in (("dev", args.dev_seeds), ("test", args.test_seeds)):
        for name, report in measure(table, processor, seeds, args.clips, frames, sr).items():
            results.setdefault(name, {})[split] = report
            print(
                f"{split} {name:>18}: judge {100 * report['overall']:.1f} %, "
                f"{report['audio_seconds_per_second']:.2f} audio s/s",
                flush=True,
            )
    candidates = [name for name in table if name != "audiogen"]
    best = max(candidates, key=lambda name: results[name]["dev"]["overall"])
    print(f"\nchosen on dev seeds {args.dev_seeds}: {best}")
    baseline = results["magnet"]["test"]
    print(f"{'method':>18} | dev judge | test judge | test vs magnet | audio s/s (test) | speed vs magnet")
    for name in table:
        dev, test = results[name]["dev"], results[name]["test"]
        print(
            f"{name:>18} | {100 * dev['overall']:8.1f}% | {100 * test['overall']:9.1f}% | "
            f"{100 * (test['overall'] - baseline['overall']):+13.1f} | {test['audio_seconds_per_second']:16.2f} | "
            f"{test['audio_seconds_per_second'] / baseline['audio_seconds_per_second']:14.2f}x"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"chosen_on_dev": best, "args": vars(args), "results": results}, f, indent=2)
    wins = results[best]["test"]["overall"] > baseline["overall"] and best != "magnet"
    print(
        f"held-out: {best} {'beats' if wins else 'does not beat'} MAGNeT alone "
        f"({100 * results[best]['test']['overall']:.1f} % vs {100 * baseline['overall']:.1f} %)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
