"""Bulk generation throughput: audio seconds per wall-clock second of `audiogen-hf generate --prompts-file` on
the embedded AudioGen and MAGNeT, batch sizes 1 / 8 / 32, one process vs two (torchrun, gloo, CPU).

    python benchmarks/bench_bulk.py --clips 64 --duration 0.5 --rounds 2 --json benchmarks/results/bulk_cpu.json

Every configuration runs as the user would run it (a fresh command; two processes under
`python -m torch.distributed.run --standalone --nproc_per_node 2`), in interleaved rounds so a busy machine
slows them alike. The number is the run's own summary: generated audio over the slowest process's time from the
first batch to the last (model loading and process start-up excluded). Every process gets
`--threads-per-process` torch threads (1 by default: on a shared 2-core machine one process with 2 threads ran
MAGNeT 30x slower than with 1, its threads waiting on each other).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from statistics import median

from audiogen_hf.evaluation.judge import JUDGE_PROMPTS

SUMMARY = re.compile(r"([\d.]+) s of audio in ([\d.]+) s")


def run_once(model: str, batch_size: int, processes: int, prompts: Path, args, folder: Path) -> float:
    """One bulk run in a fresh folder; its audio seconds per second."""
    env = dict(
        os.environ,
        OMP_NUM_THREADS=str(args.threads_per_process),
        HF_HUB_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
    )
    command = [sys.executable, "-m", "audiogen_hf", "generate", "--prompts-file", str(prompts)]
    command += ["--output-dir", str(folder), "--model", model, "--batch-size", str(batch_size)]
    command += [
        "--num-per-prompt",
        str(args.num_per_prompt),
        "--duration",
        str(args.duration),
        "--no-progress",
    ]
    if processes > 1:
        launcher = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            f"--nproc_per_node={processes}",
        ]
        command = launcher + command[1:]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=args.timeout)
    found = SUMMARY.search(done.stdout)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return float(found.group(1)) / float(found.group(2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["default", "default-magnet"])
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[1, 8, 32])
    parser.add_argument("--processes", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--clips", type=int, default=64, help="clips per run (prompts x --num-per-prompt)")
    parser.add_argument("--num-per-prompt", type=int, default=2)
    parser.add_argument("--duration", type=float, default=0.5, help="seconds per clip")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads-per-process", type=int, default=1, help="torch threads in each process")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    count = args.clips // args.num_per_prompt
    prompts_text = "\n".join(JUDGE_PROMPTS[i % len(JUDGE_PROMPTS)] for i in range(count)) + "\n"
    configs = [(m, b, p) for m in args.models for b in args.batch_sizes for p in args.processes]
    rates: dict[tuple, list[float]] = {c: [] for c in configs}
    with tempfile.TemporaryDirectory() as tmp:
        prompts = Path(tmp) / "prompts.txt"
        prompts.write_text(prompts_text)
        for round_index in range(args.rounds):
            for config in configs:
                folder = Path(tmp) / f"r{round_index}-{config[0]}-b{config[1]}-p{config[2]}"
                rates[config].append(run_once(*config, prompts, args, folder))
                print(f"round {round_index}: {config} {rates[config][-1]:.2f} audio s/s", flush=True)
    rows = []
    for model, batch_size, processes in configs:
        rate = median(rates[(model, batch_size, processes)])
        base = median(rates[(model, args.batch_sizes[0], args.processes[0])])
        rows.append(
            {
                "model": model,
                "batch_size": batch_size,
                "processes": processes,
                "threads_per_process": args.threads_per_process,
                "audio_seconds_per_second": round(rate, 3),
                "rounds": [round(r, 3) for r in rates[(model, batch_size, processes)]],
                "vs_batch_1_one_process": round(rate / base, 2),
            }
        )
        print(
            f"{model:15s} batch {batch_size:3d} x {processes} process(es): {rate:6.2f} audio s/s ({rate / base:.2f}x)"
        )
    if args.json:
        settings = {
            k: getattr(args, k)
            for k in ("clips", "num_per_prompt", "duration", "rounds", "threads_per_process")
        }
        result = {"settings": settings, "device": "cpu", "dtype": "auto (the CLI default)", "results": rows}
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
