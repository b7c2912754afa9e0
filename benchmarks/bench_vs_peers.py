"""Ours at each precision / compile setting vs transformers MusicGen vs audiocraft, side by side in one process.

    PYTHONPATH=/work/shared/tools/audiocraft-env/stubs:src /tmp/refvenv/bin/python benchmarks/bench_vs_peers.py
    python benchmarks/bench_vs_peers.py --hidden 256 --layers 4 --repeats 2 --no-sweep   # quick, no audiocraft

Every model has the same decoder shape (default: the issue's 1024 x 24, 16 heads, FFN 4096, 4 codebooks of 2048,
t5-base-width conditioning from the 1-layer tiny T5 fixture) and random weights (speed does not depend on them).
AudioGen-style: greedy, CFG 3, `--frames` frames, batch 1. MAGNeT: the `--magnet-frames` window, `--magnet-steps`,
CFG annealed 10 -> 1, greedy. Runs are interleaved (`--repeats` rounds over every setting, after one warm-up
call each, which includes any compile) and medians reported, with ratios against audiocraft and MusicGen and
each AR run's share of the bandwidth roofline: decoder weight bytes read per step / measured copy bandwidth.
MusicGen runs in fp32 and bf16 (`--musicgen-precisions`), so each of our rows also has a same-precision ratio
(fp32 vs MusicGen fp32, bf16 vs MusicGen bf16); int8 / int4 / auto are compared with MusicGen bf16, its fastest.
`--thread-counts 1 2` adds a thread sweep of the embedded models and the benchmark shape, with the thread count
the policy (`generation/threads.py`) would pick. A batch sweep (AR vs MAGNeT, `--sweep-*` shape) gives the throughput / latency curve of MAGNeT's paper, Fig. 2.
audiocraft is optional (importable only in the side venv); the package never imports it. No timing is asserted.
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from transformers import AutoModelForTextToWaveform

from audiogen_hf.core.quantization import auto_precision, quantize_int4, quantize_int8, set_precision
from audiogen_hf.generation.threads import choose_threads_for, usable_cores
from audiogen_hf.tiny import benchmark_config, tiny_codec_config

ROOT = Path(__file__).resolve().parents[1]
TINY_T5_BASE = ROOT / "tests" / "fixtures" / "tiny_t5_base"
TEXT = "a dog barks while heavy rain falls on a tin roof"


# --------------------------------------------------------------------------------------------- measuring


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def copy_bandwidth(device: str, megabytes: int = 512) -> float:
    """Bytes read per second by a large `copy_` (each byte is read once and written once)."""
    src = torch.empty(megabytes * 2**20, dtype=torch.uint8, device=device)
    dst = torch.empty_like(src)
    dst.copy_(src)
    times = []
    for _ in range(5):
        sync(device)
        start = time.perf_counter()
        dst.copy_(src)
        sync(device)
        times.append(time.perf_counter() - start)
    return src.numel() / min(times)


def decoder_weight_bytes(decoder: torch.nn.Module) -> int:
    """What one decode step reads: every layer weight and head (embedding rows read are negligible)."""
    total = 0
    for name, tensor in [*decoder.named_parameters(), *decoder.named_buffers()]:
        if "embed_tokens" not in name and tensor is not None:
            total += tensor.numel() * tensor.element_size()
    return total


def interleaved(runs: dict[str, Callable], repeats: int, device: str) -> dict[str, dict]:
    """Warm every run once (compiles happen here), then `repeats` rounds over all runs; medians."""
    results = {name: {"times": []} for name in runs}
    for name, run in runs.items():
        start = time.perf_counter()
        run()
        sync(device)
        results[name]["warmup_s"] = time.perf_counter() - start
        print(f"  warm-up {name}: {results[name]['warmup_s']:.1f} s", flush=True)
    for _ in range(repeats):
        for name, run in runs.items():
            sync(device)
            start = time.perf_counter()
            run()
            sync(device)
            results[name]["times"].append(time.perf_counter() - start)
    for result in results.values():
        result["median_s"] = statistics.median(result["times"])
        result["min_s"] = min(result["times"])
    return results


# --------------------------------------------------------------------------------------------- models


def our_model(family: str, args, hidden: int, layers: int, seconds: float) -> torch.nn.Module:
    torch.manual_seed(0)
    config = benchmark_config(family, hidden, layers, args.card, seconds)
    config.text_encoder = type(config.text_encoder).from_pretrained(TINY_T5_BASE)  # t5-base width (768)
    return AutoModelForTextToWaveform.from_config(config).eval().to(args.device)


def musicgen_model(args) -> torch.nn.Module:
    from transformers import EncodecConfig, MusicgenConfig, MusicgenForConditionalGeneration, T5Config

    decoder = dict(
        model_type="musicgen_decoder",
        vocab_size=args.card,
        hidden_size=args.hidden,
        num_hidden_layers=args.layers,
        num_attention_heads=args.hidden // 64,
        ffn_dim=4 * args.hidden,
        num_codebooks=4,
        pad_token_id=args.card,
        bos_token_id=args.card,
    )
    config = MusicgenConfig(
        text_encoder=T5Config.from_pretrained(TINY_T5_BASE),
        audio_encoder=EncodecConfig(**tiny_codec_config(args.card)),
        decoder=decoder,
    )
    torch.manual_seed(0)
    model = MusicgenForConditionalGeneration(config).eval().to(args.device)
    model.generation_config.decoder_start_token_id = args.card
    model.generation_config.pad_token_id = args.card
    return model


def audiocraft_lm(family: str, args, seconds: int):
    """audiocraft's own LMModel / MagnetLMModel at the same shape (tiny T5 patched in for t5-base)."""
    sys.path.insert(0, str(ROOT))
    from tests.reference import make_fixtures as ref  # imports audiocraft; only in the side venv

    ref.patch_t5()
    solver = "audiogen/audiogen_base_16khz" if family == "audiogen" else "magnet/magnet_32khz"
    overrides = [
        f"transformer_lm.dim={args.hidden}",
        f"transformer_lm.num_heads={args.hidden // 64}",
        f"transformer_lm.num_layers={args.layers}",
        f"transformer_lm.card={args.card}",
        "transformer_lm.n_q=4",
        f"dataset.segment_duration={seconds}",
        "conditioners.description.t5.name=t5-base",
    ]
    cfg = ref.cpu_copy(ref.compose_cfg(solver, overrides))
    cfg.device = args.device
    if family == "magnet":
        cfg.transformer_lm.compression_model_framerate = 50
        cfg.transformer_lm.segment_duration = cfg.dataset.segment_duration
        cfg.transformer_lm.span_len = cfg.masking.span_len
    torch.manual_seed(0)
    from audiocraft.models import builders

    return builders.get_lm_model(cfg).eval()


def audiocraft_available() -> bool:
    try:
        import audiocraft  # noqa: F401
    except ImportError:
        return False
    return True


# --------------------------------------------------------------------------------------------- runs


def ours_runs(model, family: str, args, settings: list[str], batch: int, frames: int) -> dict[str, Callable]:
    ids = torch.ones(batch, 8, dtype=torch.long, device=args.device)
    if family == "audiogen":
        common = dict(input_ids=ids, max_new_tokens=frames, guidance_scale=args.cfg, do_sample=False)
    else:
        steps = list(args.magnet_steps)
        common = dict(
            input_ids=ids, decoding_steps=steps, max_cfg_coef=10.0, min_cfg_coef=1.0, do_sample=False
        )
    runs, variants = {}, {}
    for setting in settings:
        precision, _, option = setting.partition("+")
        key = (precision, option == "plain")
        if key not in variants:  # eager and compiled runs share one copy of the weights
            build = plain_precision if option == "plain" else set_precision
            variants[key] = build(copy.deepcopy(model), precision)
        variant = variants[key]
        fast = {}
        if option == "compile":
            fast = {"compile": True}
            if family == "audiogen":
                fast["cache_implementation"] = "static"
        label = setting if precision != "auto" else setting.replace("auto", f"auto={auto_precision(model)}")
        runs[f"ours {label}"] = (variant, lambda v=variant, f=fast: v.generate(**common, **f))
    return runs


def plain_precision(model: torch.nn.Module, precision: str) -> torch.nn.Module:
    """The precision without issue 35's fused projections and prepacked bf16 weights (to measure them)."""
    if precision == "int8":
        return quantize_int8(model)
    if precision == "int4":
        return quantize_int4(model)
    model.decoder.to(getattr(torch, precision))
    return model


def audiocraft_run(lm, family: str, args, batch: int, frames: int) -> Callable:
    from audiocraft.modules.conditioners import ConditioningAttributes
    from audiocraft.modules.transformer import set_efficient_attention_backend

    conditions = [ConditioningAttributes(text={"description": TEXT}) for _ in range(batch)]

    def run():
        if family == "audiogen":
            set_efficient_attention_backend("torch")
            return lm.generate(None, conditions, max_gen_len=frames, use_sampling=False, cfg_coef=args.cfg)
        set_efficient_attention_backend("xformers")  # MAGNeT's band mask needs it (stubbed on SDPA)
        return lm.generate(
            None,
            conditions,
            max_gen_len=frames,
            use_sampling=False,
            decoding_steps=list(args.magnet_steps),
            max_cfg_coef=10.0,
            min_cfg_coef=1.0,
        )

    return run


def musicgen_run(model, args, batch: int, frames: int) -> Callable:
    ids = torch.ones(batch, 8, dtype=torch.long, device=args.device)
    # max_new_tokens counts delayed steps: frames + 3 delay columns, as ours
    return lambda: model.generate(
        input_ids=ids, max_new_tokens=frames + 3, guidance_scale=args.cfg, do_sample=False
    )


def family_table(family: str, args, bandwidth: float) -> list[dict]:
    seconds = args.frames / 50 if family == "audiogen" else args.magnet_frames / 50
    frames = args.frames if family == "audiogen" else args.magnet_frames
    model = our_model(family, args, args.hidden, args.layers, max(seconds, 1.0))
    ours = ours_runs(model, family, args, args.settings, 1, frames)
    runs = {name: run for name, (_, run) in ours.items()}
    weights = {name: decoder_weight_bytes(variant.decoder) for name, (variant, _) in ours.items()}
    peers = {}
    if family == "audiogen" and not args.no_musicgen:
        for precision in args.musicgen_precisions:
            musicgen = musicgen_model(args).to(getattr(torch, precision))
            peers[f"transformers MusicGen {precision}"] = musicgen_run(musicgen, args, 1, frames)
            weights[f"transformers MusicGen {precision}"] = weights.get(f"ours {precision}")
    if not args.no_audiocraft and audiocraft_available():
        lm = audiocraft_lm(family, args, int(round(seconds)))
        peers["audiocraft float32"] = audiocraft_run(lm, family, args, 1, frames)
        weights["audiocraft float32"] = weights.get("ours float32")
    runs = {**peers, **runs}
    print(f"{family}: {len(runs)} runs, {args.repeats} interleaved rounds", flush=True)
    with torch.inference_mode():
        results = interleaved(runs, args.repeats, args.device)
    steps = frames + 3 if family == "audiogen" else sum(args.magnet_steps)
    rows = []
    for name, result in results.items():
        row = {
            "family": family,
            "run": name,
            **result,
            "steps": steps,
            "steps_per_s": steps / result["median_s"],
        }
        if weights.get(name):
            row["weight_bytes_per_step"] = weights[name]
            row["roofline_steps_per_s"] = bandwidth / weights[name]
            row["roofline_fraction"] = row["steps_per_s"] / row["roofline_steps_per_s"]
        for peer in ("audiocraft float32", "transformers MusicGen float32"):
            if peer in results:
                row[f"speedup_vs_{peer.split()[0]}"] = results[peer]["median_s"] / result["median_s"]
        if "transformers MusicGen bfloat16" in results:
            row["speedup_vs_musicgen_bf16"] = (
                results["transformers MusicGen bfloat16"]["median_s"] / result["median_s"]
            )
        same = f"transformers MusicGen {name.split()[1].split('+')[0]}" if name.startswith("ours") else None
        if same in results:
            row["speedup_vs_musicgen_same_precision"] = results[same]["median_s"] / result["median_s"]
        rows.append(row)
    del model, ours, runs, peers
    gc.collect()
    return rows


def batch_sweep(args) -> list[dict]:
    """AR vs MAGNeT at batch 1 / 4 / 16 / 64 on the sweep shape: audio seconds per second and latency."""
    seconds = args.magnet_frames / 50
    rows = []
    with torch.inference_mode():
        for family in ("audiogen", "magnet"):
            model = our_model(family, args, args.sweep_hidden, args.sweep_layers, seconds)
            set_precision(model, args.sweep_dtype)
            for batch in args.sweep_batches:
                ((_, run),) = ours_runs(model, family, args, ["float32"], batch, args.magnet_frames).values()
                result = interleaved({f"{family} batch {batch}": run}, args.repeats, args.device)
                median = next(iter(result.values()))["median_s"]
                rows.append(
                    {
                        "family": family,
                        "batch": batch,
                        "latency_s": median,
                        "audio_s_per_s": batch * seconds / median,
                    }
                )
                print(f"  sweep {family} batch {batch}: {median:.2f} s", flush=True)
            del model
            gc.collect()
    return rows


def threaded(run: Callable, threads: int) -> Callable:
    def call():
        torch.set_num_threads(threads)
        return run()

    return call


def thread_sweep(args) -> list[dict]:
    """The embedded models (shipped settings, `--dtype auto`) and the benchmark shape (`--thread-shape-dtype`) at
    each of `--thread-counts`, interleaved, next to the thread count the policy picks at the start."""
    from audiogen_hf.loading import load_model_and_processor

    rows = []
    for name in args.thread_models:
        if name == "shape":
            model = set_precision(
                our_model("audiogen", args, args.hidden, args.layers, 1.0), args.thread_shape_dtype
            )
            ids = torch.ones(1, 8, dtype=torch.long)
            kwargs = dict(input_ids=ids, max_new_tokens=args.frames, guidance_scale=args.cfg, do_sample=False)
            label = f"{args.hidden}x{args.layers} {args.thread_shape_dtype}"
        else:
            model, processor = load_model_and_processor(name, args.device, "auto")
            kwargs = dict(**processor(text=[TEXT]), max_new_tokens=args.frames)
            label = f"{name} (auto)"
        torch.set_num_threads(usable_cores())  # torch's default, as a fresh process would have it
        policy = choose_threads_for(model)
        runs = {
            f"{label} {t} threads": threaded(lambda m=model, k=kwargs: m.generate(**k), t)
            for t in args.thread_counts
        }
        print(f"threads: {label}, policy picks {policy.threads} ({policy.reason})", flush=True)
        with torch.inference_mode():
            results = interleaved(runs, args.repeats, args.device)
        one = results[f"{label} 1 threads"]["median_s"] if 1 in args.thread_counts else None
        for t, (run, result) in zip(args.thread_counts, results.items(), strict=True):
            row = {"model": label, "threads": t, "run": run, "policy_threads": policy.threads, **result}
            row["policy_reason"] = policy.reason
            if one:
                row["speedup_vs_1_thread"] = one / result["median_s"]
            rows.append(row)
        del model
        gc.collect()
    torch.set_num_threads(args.threads)
    return rows


def embedded_precisions(args) -> list[dict]:
    """The embedded models at each of `--embedded-precisions` (shipped settings, `--frames` frames, seeded),
    interleaved: the measurements behind `--dtype auto` at their size."""
    from audiogen_hf.loading import load_model_and_processor

    rows = []
    for name in args.embedded_models:
        model, processor = load_model_and_processor(name, args.device, "float32")
        inputs = processor(text=[TEXT])
        runs = {}
        for precision in args.embedded_precisions:
            variant = set_precision(copy.deepcopy(model), precision)
            generator = torch.Generator().manual_seed(0)
            runs[f"{name} {precision}"] = lambda v=variant, g=generator, i=inputs: v.generate(
                **i, max_new_tokens=args.frames, generator=g.manual_seed(0)
            )
        with torch.inference_mode():
            results = interleaved(runs, args.repeats, args.device)
        fastest = min(result["median_s"] for result in results.values())
        for run, result in results.items():
            rows.append({"model": name, "run": run, **result, "vs_fastest": result["median_s"] / fastest})
        del model, runs
        gc.collect()
    return rows


def print_tables(
    rows: list[dict], sweep: list[dict], header: str, threads: list[dict] = (), embedded: list[dict] = ()
) -> None:
    print("\n" + header)
    print(
        f"{'family':9s} {'run':32s} {'median s':>9s} {'min s':>6s} {'steps/s':>8s} {'roofline':>9s} "
        f"{'vs audiocraft':>14s} {'vs MG fp32':>11s} {'vs MG bf16':>11s} {'vs MG same':>11s} {'warm-up s':>10s}"
    )

    def ratio(row: dict, key: str) -> str:
        return f"{row[key]:.2f}x" if key in row else "-"

    for r in rows:
        roof = f"{r['roofline_fraction']:.0%}" if "roofline_fraction" in r else "-"
        print(
            f"{r['family']:9s} {r['run']:32s} {r['median_s']:9.2f} {r['min_s']:6.2f} {r['steps_per_s']:8.1f} {roof:>9s} "
            f"{ratio(r, 'speedup_vs_audiocraft'):>14s} {ratio(r, 'speedup_vs_transformers'):>11s} "
            f"{ratio(r, 'speedup_vs_musicgen_bf16'):>11s} {ratio(r, 'speedup_vs_musicgen_same_precision'):>11s} "
            f"{r['warmup_s']:10.1f}"
        )
    if embedded:
        print(f"\n{'embedded run':28s} {'median s':>9s} {'min s':>6s} {'time / fastest':>15s}")
        for r in embedded:
            print(f"{r['run']:28s} {r['median_s']:9.3f} {r['min_s']:6.3f} {r['vs_fastest']:15.2f}")
    if threads:
        print(
            f"\n{'model':28s} {'threads':>7s} {'median s':>9s} {'min s':>6s} {'vs 1 thread':>12s} {'policy':>7s}"
        )
        for r in threads:
            vs_one = f"{r['speedup_vs_1_thread']:.2f}x" if "speedup_vs_1_thread" in r else "-"
            print(
                f"{r['model']:28s} {r['threads']:7d} {r['median_s']:9.2f} {r['min_s']:6.2f} {vs_one:>12s} "
                f"{r['policy_threads']:7d}"
            )
    if sweep:
        print(f"\n{'family':9s} {'batch':>5s} {'latency s':>10s} {'audio s/s':>10s}")
        for r in sweep:
            print(f"{r['family']:9s} {r['batch']:5d} {r['latency_s']:10.2f} {r['audio_s_per_s']:10.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hidden", type=int, default=1024)
    parser.add_argument("--layers", type=int, default=24)
    parser.add_argument("--card", type=int, default=2048, help="codebook size")
    parser.add_argument("--frames", type=int, default=50, help="AudioGen frames to generate")
    parser.add_argument("--magnet-frames", type=int, default=100, help="MAGNeT window in frames (2 s)")
    parser.add_argument("--magnet-steps", type=int, nargs=4, default=[10, 5, 5, 5])
    parser.add_argument("--cfg", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--settings",
        nargs="+",
        default=[
            "float32",
            "float32+compile",
            "bfloat16",
            "bfloat16+compile",
            "int8",
            "int8+compile",
            "int4",
            "auto",
        ],
        help="our precision[+compile|+plain] settings (+plain: without fused projections and prepacked bf16)",
    )
    parser.add_argument("--musicgen-precisions", nargs="*", default=["float32", "bfloat16"])
    parser.add_argument("--thread-counts", type=int, nargs="*", default=[], help="e.g. 1 2: the thread sweep")
    parser.add_argument(
        "--thread-models",
        nargs="+",
        default=["default", "default-magnet", "shape"],
        help="'shape': --hidden x --layers",
    )
    parser.add_argument("--thread-shape-dtype", default="auto")
    parser.add_argument("--embedded-models", nargs="*", default=[], help="e.g. default default-magnet")
    parser.add_argument("--embedded-precisions", nargs="+", default=["float32", "bfloat16", "int8", "int4"])
    parser.add_argument("--families", nargs="*", default=["audiogen", "magnet"], help="none: sweep only")
    parser.add_argument("--no-audiocraft", action="store_true")
    parser.add_argument("--no-musicgen", action="store_true")
    parser.add_argument("--no-sweep", action="store_true")
    parser.add_argument("--sweep-batches", type=int, nargs="+", default=[1, 4, 16, 64])
    parser.add_argument("--sweep-hidden", type=int, default=256)
    parser.add_argument("--sweep-layers", type=int, default=4)
    parser.add_argument("--sweep-dtype", default="float32")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", default=None, help="write all rows here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    bandwidth = copy_bandwidth(args.device)
    header = (
        f"decoder {args.hidden}x{args.layers}, device {args.device}, {torch.get_num_threads()} threads, "
        f"torch {torch.__version__}, copy bandwidth {bandwidth / 1e9:.1f} GB/s, "
        f"load average at start {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}"
    )
    print(header, flush=True)
    rows = [row for family in args.families for row in family_table(family, args, bandwidth)]
    sweep = [] if args.no_sweep else batch_sweep(args)
    threads = thread_sweep(args) if args.thread_counts else []
    embedded = embedded_precisions(args)
    end_load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    header += f", at end {end_load[0]:.2f} / {end_load[1]:.2f} / {end_load[2]:.2f}"
    print_tables(rows, sweep, header, threads, embedded)
    if args.json:
        report = {"header": header, "rows": rows, "sweep": sweep, "threads": threads, "embedded": embedded}
        Path(args.json).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
