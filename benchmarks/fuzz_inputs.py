"""Seeded input fuzzer for AudioGen and MAGNeT: random combinations of bad and odd inputs through the processor
and `generate()` on tiny random models.

Each case ends as `ok` (finite audio), `clear` (a ValueError / TypeError whose message names the offending
argument) or `DEFECT` (any other exception, an unclear message, NaN audio or a call over 30 s). Prints a table
and exits 1 on any defect.

    python benchmarks/fuzz_inputs.py --cases 200 --seed 0
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch

from audiogen_hf import AudioGenForConditionalGeneration, AudioGenProcessor, MagnetForConditionalGeneration
from audiogen_hf.tiny import (
    spread_codebooks,
    tiny_audiogen_config,
    tiny_feature_extractor,
    tiny_magnet_config,
    tiny_tokenizer,
)

NAN, INF = float("nan"), float("inf")
HANG_SECONDS = 30.0

# Each axis: (label, value, names a clear error must mention). `None` as value means "leave it out".
TEXTS = [
    ("ok", "dog barks", ()),
    ("empty", "", ()),
    ("none", None, ()),
    ("int", 3, ("text",)),
    ("int-list", [1, 2], ("text",)),
    ("bytes", b"dog", ("text",)),
    ("5000-words", " ".join(["dog barks in the rain"] * 1000), ()),
    ("unicode", "🐶 barks — 雨 ünïcödé", ()),
    ("batch-2", ["dog", "rain falls"], ()),
]


def _audio_cases(rng: np.random.Generator) -> list:
    noise = rng.standard_normal(1600).astype(np.float32) * 0.1
    return [
        ("none", None, ()),
        ("ok", noise, ()),
        ("empty", np.zeros(0, np.float32), ("audio",)),
        ("nan", np.full(800, NAN, np.float32), ("audio", "nan")),
        ("inf", np.full(800, INF, np.float32), ("audio", "inf")),
        ("0-d", np.float32(0.1), ("audio",)),
        ("4-d", noise.reshape(1, 1, 1, -1), ("audio",)),
        ("int16", (noise * 32767).astype(np.int16), ()),
        ("int32", (noise * 2**31).astype(np.int32), ()),
        ("uint8", (noise * 127 + 128).astype(np.uint8), ()),
        ("stereo", np.stack([noise, -noise]), ()),
        ("samples-channels", np.stack([noise, noise]).T.copy(), ("channels", "transpose")),
        ("long", rng.standard_normal(16000 * 3).astype(np.float32) * 0.1, ("prompt",)),
        ("strings", ["a", "b"], ("audio",)),
        # issue 30: every integer PCM type scaled or refused, empty batches
        ("int8", (noise * 127).astype(np.int8), ()),
        ("uint16", (noise * 32767 + 32768).astype(np.uint16), ()),
        ("uint32", (noise * 2**31 + 2**31).astype(np.uint32), ()),
        ("int64", (noise * 32767).astype(np.int64), ("audio",)),
        ("python-ints", [0] * 1600, ("audio",)),
        ("batch-0", np.zeros((0, 1, 1600), np.float32), ("audio",)),
    ]


SAMPLING_RATES = [
    ("16k", 16000, ()),
    ("missing", None, ("sampling_rate",)),
    ("44.1k", 44100, ()),
    ("8k", 8000, ()),
    ("fraction", 44100.5, ("sampling_rate",)),
    ("zero", 0, ("sampling_rate",)),
    ("negative", -16000, ("sampling_rate",)),
    ("string", "16k", ("sampling_rate",)),
]

KNOBS = [
    ("none", {}, ()),
    ("mnt-0", {"max_new_tokens": 0}, ("max_new_tokens",)),
    ("mnt-neg", {"max_new_tokens": -5}, ("max_new_tokens",)),
    ("mnt-float", {"max_new_tokens": 5.5}, ("max_new_tokens",)),
    ("mnt-bool", {"max_new_tokens": True}, ("max_new_tokens",)),
    ("mnt-1e6", {"max_new_tokens": 10**6}, ("max_new_tokens", "max_generation_seconds")),
    ("temp-neg", {"temperature": -1.0}, ("temperature",)),
    ("temp-nan", {"temperature": NAN}, ("temperature",)),
    ("temp-inf", {"temperature": INF}, ("temperature",)),
    ("temp-bool", {"temperature": True}, ("temperature",)),
    ("temp-0", {"temperature": 0.0}, ()),
    ("topk-neg", {"top_k": -1}, ("top_k",)),
    ("topk-float", {"top_k": 2.5}, ("top_k",)),
    ("topk-big", {"top_k": 10**5}, ()),
    ("topp-0", {"top_p": 0.0}, ("top_p",)),
    ("topp-big", {"top_p": 1.5}, ("top_p",)),
    ("topp-nan", {"top_p": NAN}, ("top_p",)),
    ("topp-half", {"top_p": 0.5}, ()),
    ("gs-neg", {"guidance_scale": -1.0}, ("guidance_scale",)),
    ("gs-nan", {"guidance_scale": NAN}, ("guidance_scale",)),
    ("nrs-0", {"num_return_sequences": 0}, ("num_return_sequences",)),
    ("nrs-neg", {"num_return_sequences": -2}, ("num_return_sequences",)),
    ("nrs-float", {"num_return_sequences": 2.0}, ("num_return_sequences",)),
    ("nrs-2", {"num_return_sequences": 2}, ()),
    ("nrs-huge", {"num_return_sequences": 5000}, ("num_return_sequences", "max_batch_size")),
    ("maxcfg-nan", {"max_cfg_coef": NAN}, ("max_cfg_coef",)),
    ("mincfg-inf", {"min_cfg_coef": -INF}, ("min_cfg_coef",)),
    ("steps-bad", {"decoding_steps": [0, 1, 1, 1]}, ("decoding_steps",)),
    ("steps-short", {"decoding_steps": [2]}, ("decoding_steps",)),
    ("typo-mnt", {"max_new_token": 5}, ("max_new_tokens",)),
    ("typo-temp", {"temprature": 1.0}, ("temperature",)),
    ("stride-neg", {"extend_stride": -1.0}, ("extend_stride",)),
    ("do-sample-str", {"do_sample": "yes"}, ("do_sample",)),
    ("steps-huge", {"decoding_steps": [10**6] * 4}, ("decoding_steps",)),
    # 0.48 s = 24 frames: shorter than the tiny 1 s window and whole 3-frame spans (AudioGen's default 2 s stride
    # does not fit a 1 s window and is refused by name)
    ("past-window", {"max_new_tokens": 80, "extend_stride": 0.48}, ()),
    ("rescore-w-alone", {"rescore_weight": 0.5}, ("rescore_weight",)),
    ("rescorer-junk", {"rescorer": "audiogen", "rescore_weight": 0.5}, ("rescorer",)),
    ("prompt-codes-oov", {"prompt_codes": torch.full((1, 4, 5), 999)}, ("prompt_codes",)),
    ("prompt-codes-float", {"prompt_codes": torch.zeros(1, 4, 5)}, ("prompt_codes",)),
    # issue 30: any integer type for counts, max_length bounded, overflow-safe sampling bounds
    ("mnt-np-huge", {"max_new_tokens": np.int64(10**6)}, ("max_new_tokens",)),
    ("mnt-tensor", {"max_new_tokens": torch.tensor(9)}, ()),
    ("nrs-np-huge", {"num_return_sequences": np.int32(5000)}, ("num_return_sequences",)),
    ("nrs-tensor", {"num_return_sequences": torch.tensor(2)}, ()),
    ("ml-huge", {"max_new_tokens": None, "max_length": 10**6}, ("max_length",)),
    ("ml-np-huge", {"max_new_tokens": None, "max_length": np.uint32(10**6)}, ("max_length",)),
    ("ml-0", {"max_new_tokens": None, "max_length": 0}, ("max_length",)),
    ("ml-str", {"max_new_tokens": None, "max_length": "9"}, ("max_length",)),
    ("topk-np", {"top_k": np.int64(5)}, ()),
    ("temp-tensor", {"temperature": torch.tensor(0.7)}, ()),
    ("temp-tiny", {"temperature": 1e-300}, ("temperature",)),
    ("temp-min", {"temperature": 1e-4}, ()),
    ("gs-huge", {"guidance_scale": 1e30}, ("guidance_scale",)),
    ("maxcfg-huge", {"max_cfg_coef": 1e30}, ("max_cfg_coef",)),
    ("minp-1", {"min_p": 1.0}, ()),
    ("steps-np", {"decoding_steps": [np.int64(2), 1, 1, 1]}, ()),
    ("batch-np", {"max_batch_size": np.int64(4)}, ()),
    ("batch-bad", {"max_batch_size": 0}, ("max_batch_size",)),
]

IDS = [
    ("processor", None, ()),
    ("oov", "oov", ("input_ids",)),
    ("negative", "negative", ("input_ids",)),
    ("float", "float", ("input_ids",)),
    ("mask-mismatch", "mask", ("attention_mask",)),
    # issue 30: token ids and masks at the door
    ("int8", "int8", ("input_ids",)),
    ("no-token", "empty", ("input_ids",)),
    ("mask-values", "mask-values", ("attention_mask",)),
    ("mask-float", "mask-float", ()),
    ("int32", "int32", ()),
]

# issue 30: an audio prompt given to generate() directly (applied when the processor made one)
AUDIO_TAMPER = [
    ("processor", None, ()),
    ("int-values", "int-values", ("input_values",)),
    ("pad-shape", "pad-shape", ("padding_mask",)),
    ("pad-values", "pad-values", ("padding_mask",)),
    ("pad-alone", "pad-alone", ("padding_mask",)),
]

# Knobs only one family takes: the other must refuse them by name.
AUDIOGEN_ONLY = {"guidance_scale"}
MAGNET_ONLY = {"max_cfg_coef", "min_cfg_coef", "decoding_steps", "rescorer", "rescore_weight", "prompt_codes"}


def build_models(processor):
    torch.manual_seed(0)
    audiogen = AudioGenForConditionalGeneration(tiny_audiogen_config(len(processor.tokenizer))).eval()
    spread_codebooks(audiogen)
    torch.manual_seed(0)
    magnet = MagnetForConditionalGeneration(tiny_magnet_config(len(processor.tokenizer))).eval()
    spread_codebooks(magnet)
    return {"audiogen": audiogen, "magnet": magnet}


def tamper_ids(inputs: dict, how: str | None, vocab: int) -> dict:
    if how is None or "input_ids" not in inputs:
        return inputs
    inputs = dict(inputs)
    ids = inputs["input_ids"].clone()
    if how == "oov":
        ids[0, 0] = vocab + 7
    elif how == "negative":
        ids[0, 0] = -1
    elif how == "float":
        ids = ids.float()
    elif how == "mask":
        inputs["attention_mask"] = torch.ones(ids.shape[0], ids.shape[1] + 1, dtype=torch.long)
    elif how in ("int8", "int32"):
        ids = ids.to(torch.int8 if how == "int8" else torch.int32)
    elif how == "empty":
        ids, inputs["attention_mask"] = ids[:, :0], inputs["attention_mask"][:, :0]
    elif how == "mask-values":
        inputs["attention_mask"] = inputs["attention_mask"] + 2  # never 0 or 1, even for an empty text
    elif how == "mask-float":
        inputs["attention_mask"] = inputs["attention_mask"].float()
    inputs["input_ids"] = ids
    return inputs


def tamper_audio(inputs: dict, how: str | None) -> dict:
    if how is None or "input_values" not in inputs:
        return inputs
    inputs = dict(inputs)
    if how == "int-values":
        inputs["input_values"] = (inputs["input_values"] * 32767).to(torch.int16)
    elif how == "pad-shape":
        inputs["padding_mask"] = inputs["padding_mask"][..., :-7]
    elif how == "pad-values":
        inputs["padding_mask"] = inputs["padding_mask"].long() * 3
    elif how == "pad-alone":
        inputs.pop("input_values")
    return inputs


def run_case(case: dict, processor, models) -> tuple[str, str]:
    """(`ok` | `clear` | `DEFECT`, detail)."""
    text, audio, rate, knobs, ids = case["text"], case["audio"], case["rate"], case["knobs"], case["ids"]
    audio_tamper = case["audio_tamper"]
    model = models[case["family"]]
    expected = set(text[2]) | set(audio[2]) | set(rate[2] if audio[1] is not None else ()) | set(knobs[2])
    expected |= set(ids[2]) if text[1] is not None else set()
    expected |= set(audio_tamper[2]) if audio[1] is not None else set()
    if isinstance(text[1], list) and audio[1] is not None:  # two texts, one clip: refused, naming the audio
        expected |= {"audio"}
    expected |= set(knobs[1]) & (AUDIOGEN_ONLY if case["family"] == "magnet" else MAGNET_ONLY)
    start = time.perf_counter()
    try:
        call = {"text": text[1]}
        if audio[1] is not None:
            call["audio"], call["sampling_rate"] = audio[1], rate[1]
        if text[1] is None and audio[1] is None:
            inputs = {}
        else:
            inputs = dict(processor(**call))
        inputs = tamper_ids(inputs, ids[1], model.config.text_encoder.vocab_size)
        inputs = tamper_audio(inputs, audio_tamper[1])
        kwargs = {"max_new_tokens": 6 if case["family"] == "audiogen" else 9, **knobs[1]}
        if case["family"] == "magnet":
            kwargs.setdefault("decoding_steps", [2, 1, 1, 1])
        audio_out = model.generate(**inputs, **kwargs, generator=torch.Generator().manual_seed(0))
    except (ValueError, TypeError) as error:
        message = str(error).lower()
        elapsed = time.perf_counter() - start
        if elapsed > HANG_SECONDS:
            return "DEFECT", f"refused only after {elapsed:.0f} s: {error}"
        named = [name for name in expected if name.lower() in message]
        if expected and not named:
            return "DEFECT", f"{type(error).__name__} not naming {sorted(expected)}: {error}"
        if not expected:
            return "DEFECT", f"unexpected {type(error).__name__}: {error}"
        return "clear", f"{type(error).__name__}: {str(error)[:100]}"
    except Exception as error:  # noqa: BLE001  (any other exception is what we hunt for)
        return "DEFECT", f"{type(error).__name__}: {str(error)[:300]}"
    elapsed = time.perf_counter() - start
    if elapsed > HANG_SECONDS:
        return "DEFECT", f"took {elapsed:.0f} s"
    if not torch.isfinite(audio_out).all():
        return "DEFECT", "non-finite audio"
    if expected:
        return "DEFECT", f"accepted an input that should name {sorted(expected)}"
    return "ok", f"audio {tuple(audio_out.shape)}"


def draw_case(rng: random.Random, audio_cases: list) -> dict:
    """Mostly one bad axis at a time (the others fine), sometimes several."""
    axes = {
        "text": TEXTS,
        "audio": audio_cases,
        "rate": SAMPLING_RATES,
        "knobs": KNOBS,
        "ids": IDS,
        "audio_tamper": AUDIO_TAMPER,
    }
    case = {name: values[0] for name, values in axes.items()}
    case["audio"] = audio_cases[0]
    for name in rng.sample(sorted(axes), k=rng.choice([1, 1, 1, 2, 3])):
        case[name] = rng.choice(axes[name])
    case["family"] = rng.choice(["audiogen", "magnet"])
    return case


def label(case: dict) -> str:
    axes = ("text", "audio", "rate", "knobs", "ids", "audio_tamper")
    return " ".join(f"{axis}={case[axis][0]}" for axis in axes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", action="store_true", help="print every case, not only defects")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    processor = AudioGenProcessor(tiny_feature_extractor(), tiny_tokenizer())
    models = build_models(processor)
    rng = random.Random(args.seed)
    audio_cases = _audio_cases(np.random.default_rng(args.seed))
    counts: collections.Counter = collections.Counter()
    defects = []
    for index in range(args.cases):
        case = draw_case(rng, audio_cases)
        outcome, detail = run_case(case, processor, models)
        counts[(case["family"], outcome)] += 1
        if outcome == "DEFECT":
            defects.append(f"#{index} {case['family']} {label(case)}\n    {detail}")
        if args.verbose or outcome == "DEFECT":
            print(f"{outcome:7s} #{index} {case['family']:8s} {label(case)} -> {detail}")
    print(f"\n{'family':10s} {'ok':>5s} {'clear':>6s} {'DEFECT':>7s}")
    for family in ("audiogen", "magnet"):
        row = [counts[(family, outcome)] for outcome in ("ok", "clear", "DEFECT")]
        print(f"{family:10s} {row[0]:5d} {row[1]:6d} {row[2]:7d}")
    total = [sum(counts[(f, o)] for f in ("audiogen", "magnet")) for o in ("ok", "clear", "DEFECT")]
    print(f"{'total':10s} {total[0]:5d} {total[1]:6d} {total[2]:7d}")
    return 1 if defects else 0


if __name__ == "__main__":
    sys.exit(main())
