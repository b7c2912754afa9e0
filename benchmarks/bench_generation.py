"""AudioGen (AR, KV cache) vs MAGNeT (NAR) generation speed with the same decoder size, side by side, and
AudioGen's CFG batched (one pass of 2B rows) vs `two_step_cfg` (two passes of B rows: half the peak batch).

    python benchmarks/bench_generation.py [--hidden 256 --layers 4 --seconds 5 --batch 1 --repeats 2]

Random weights (speed does not depend on them). Prints seconds per call and ratios measured in the same
run; no timing is asserted anywhere. On a GPU pass --device cuda.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from transformers import AutoModelForTextToWaveform

from audiogen_hf.tiny import benchmark_config, spread_codebooks


def build(family: str, args) -> torch.nn.Module:
    torch.manual_seed(0)
    config = benchmark_config(family, args.hidden, args.layers, seconds=float(args.seconds))
    model = AutoModelForTextToWaveform.from_config(config).eval()
    spread_codebooks(model)
    return model.to(args.device)


def timed(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (1 avoids oversubscription)"
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    frames = args.seconds * 50
    input_ids = torch.ones(args.batch, 4, dtype=torch.long, device=args.device)
    common = dict(input_ids=input_ids, do_sample=False)
    audiogen, magnet = build("audiogen", args), build("magnet", args)
    with torch.inference_mode():
        ar = timed(
            lambda: audiogen.generate(**common, max_new_tokens=frames, guidance_scale=3.0), args.repeats
        )
        two_step = timed(
            lambda: audiogen.generate(**common, max_new_tokens=frames, guidance_scale=3.0, two_step_cfg=True),
            args.repeats,
        )
        nar = timed(lambda: magnet.generate(**common, decoding_steps=[20, 10, 10, 10]), args.repeats)
        nar_fast = timed(lambda: magnet.generate(**common, decoding_steps=[10, 5, 5, 5]), args.repeats)

    audio = args.seconds * args.batch
    print(
        f"decoder {args.hidden}x{args.layers}, {args.seconds} s x batch {args.batch}, device {args.device}, "
        f"{torch.get_num_threads()} threads"
    )
    print(f"{'method':38s} {'s/call':>8s} {'audio s/s':>10s} {'vs AudioGen':>12s}")
    for name, seconds in (
        ("AudioGen (AR, cache, CFG 3)", ar),
        ("AudioGen, two_step_cfg", two_step),
        ("MAGNeT steps [20,10,10,10] (CFG 10->1)", nar),
        ("MAGNeT steps [10,5,5,5]", nar_fast),
    ):
        print(f"{name:38s} {seconds:8.2f} {audio / seconds:10.2f} {ar / seconds:11.2f}x")


if __name__ == "__main__":
    main()
