"""Training data paths and fine-tuning memory, measured side by side (CPU).

    python benchmarks/bench_training.py [--clips 48 --batches 12 --rounds 3 --threads 1 --out FILE.json]

1. Examples/s of the three data paths, tiny model, same parquet data (1 s clips with audio bytes): map-style
   (decode + crop + codec encode per batch), streaming (the same from a stream, through the shuffle buffer) and
   pre-encoded (codes cache: crop only); the one-off encoding of the cache is timed apart. Rounds interleave the
   three paths; reported as medians and ratios to map-style.
2. Peak memory of one AdamW update of a 1024-wide, 24-layer decoder (tiny T5 and codec, batch 2 x 1 s): full
   fine-tuning vs LoRA (r 16, attention + FFN), each in a fresh child process (peak RSS is per process), with
   trainable parameters and optimizer state size.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from tests.hub_formats import write_parquet  # noqa: E402
from training.args import parse_args  # noqa: E402

BIG_DECODER = {"hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16, "ffn_dim": 4096}


def data_paths(folder: Path, clips: int, batches: int, rounds: int) -> dict:
    from accelerate import Accelerator

    from training.loader import generator  # noqa: F401  (imports the loader before timing)
    from training.modeling import load_model_and_processor
    from training.train import build_dataloader, to_labels

    data = write_parquet(folder / "data", num_files=4, per_file=clips // 4)
    accelerator = Accelerator(cpu=True)
    model, processor, _ = load_model_and_processor("tiny", None, 0)
    base = ["--dataset_name", "parquet", "--data_files", str(data / "*.parquet"), "--caption_column", "text"]
    base += ["--segment_seconds", "0.5", "--per_device_train_batch_size", "4", "--report_to", "none"]
    modes = {
        "map_style": ["--pre_encode", "false"],
        "streaming": ["--streaming", "true", "--shuffle_buffer_size", "16"],
        "pre_encoded": ["--encode_cache_dir", str(folder / "codes")],
    }
    rates: dict[str, list[float]] = {m: [] for m in modes}
    encode_seconds = None
    for round_index in range(rounds):
        for mode, extra in modes.items():
            _, data_args, args = parse_args(base + extra + ["--output_dir", str(folder / f"run-{mode}")])
            start = time.perf_counter()
            loader, _, waveforms, encoder = build_dataloader(
                accelerator, model, processor, data_args, args, 0, batches
            )
            if mode == "pre_encoded" and round_index == 0:
                encode_seconds = time.perf_counter() - start
            start = time.perf_counter()
            count = 0
            for batch in loader:
                count += to_labels(batch, encoder if waveforms else None)["labels"].shape[0]
            rates[mode].append(count / (time.perf_counter() - start))
    medians = {m: statistics.median(r) for m, r in rates.items()}
    return {
        "examples_per_s": {m: round(v, 1) for m, v in medians.items()},
        "ratio_to_map_style": {m: round(v / medians["map_style"], 2) for m, v in medians.items()},
        "rounds": {m: [round(v, 1) for v in r] for m, r in rates.items()},
        "pre_encode_once_s": round(encode_seconds, 2),
        "clips": clips,
        "batches_per_round": batches,
        "batch_size": 4,
    }


def one_update(mode: str) -> dict:
    """Child process: build the big model, one AdamW update, report peak RSS and the state sizes."""
    from audiogen_hf import AudioGenForConditionalGeneration, AudioGenProcessor
    from audiogen_hf.tiny import tiny_audiogen_config, tiny_feature_extractor, tiny_tokenizer
    from training.footprint import parameter_counts
    from training.lora import add_lora
    from training.objectives import compute_loss
    from training.optim import build_optimizer

    torch.manual_seed(0)
    model = AudioGenForConditionalGeneration(tiny_audiogen_config(**BIG_DECODER)).train()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if mode == "lora":
        model_args = parse_args(["--lora_r", "16"])[0]
        model = add_lora(model, model_args)
    optimizer = build_optimizer(model, 1e-4, 0.1)
    processor = AudioGenProcessor(tiny_feature_extractor(), tiny_tokenizer())
    text = processor(text=["a dog barks", "rain"], return_tensors="pt")
    frames = int(model.config.frame_rate)
    labels = torch.randint(
        0, model.config.decoder.vocab_size, (2, model.config.decoder.num_codebooks, frames)
    )
    batch = {"input_ids": text["input_ids"], "attention_mask": text["attention_mask"], "labels": labels}
    start = time.perf_counter()
    loss = compute_loss(model, batch, torch.Generator().manual_seed(0), None, False)
    loss.backward()
    optimizer.step()
    seconds = time.perf_counter() - start
    state_bytes = sum(
        t.numel() * t.element_size()
        for s in optimizer.state.values()
        for t in s.values()
        if torch.is_tensor(t)
    )
    return {
        **parameter_counts(model),
        "optimizer_state_mb": round(state_bytes / 2**20, 1),
        "rss_after_model_mb": round(before),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "update_s": round(seconds, 2),
    }


def memory(threads: int) -> dict:
    results = {}
    for mode in ("full", "lora"):
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        done = subprocess.run(
            [sys.executable, __file__, "--child", mode, "--threads", str(threads)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        results[mode] = json.loads(done.stdout.strip().splitlines()[-1])
    full, lora = results["full"], results["lora"]
    results["lora_over_full"] = {
        "peak_rss": round(lora["peak_rss_mb"] / full["peak_rss_mb"], 3),
        "peak_rss_above_model": round(
            (lora["peak_rss_mb"] - lora["rss_after_model_mb"])
            / (full["peak_rss_mb"] - full["rss_after_model_mb"]),
            3,
        ),
        "trainable_parameters": round(lora["trainable_parameters"] / full["trainable_parameters"], 4),
    }
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clips", type=int, default=48)
    parser.add_argument("--batches", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=str, default=str(ROOT / "benchmarks" / "results" / "training_cpu.json"))
    parser.add_argument("--child", choices=("full", "lora"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.child:
        print(json.dumps(one_update(args.child)))
        return
    with tempfile.TemporaryDirectory() as folder:
        report = {
            "device": "cpu",
            "threads": args.threads,
            "torch": torch.__version__,
            "data_paths": data_paths(Path(folder), args.clips, args.batches, args.rounds),
            "fine_tuning_memory_1024x24": memory(args.threads),
        }
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
