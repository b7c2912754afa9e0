"""`evaluate`: generate one clip per prompt with a model and compare the set with a folder of reference clips.

Reported: Fréchet distance (any set sizes) and KL (paired clips: prompt i with the i-th reference by sorted
file name, only when the counts match) on the embedder's outputs, CLAP score when a local CLAP model is
given, and the DSP judge's adherence on the prompts it can verify. Inputs are checked before generating.
"""

from __future__ import annotations

import importlib
import time
from pathlib import Path

import numpy as np

from . import judge
from .audio import load_reference_dir, reference_files
from .embedders import Embedder, dsp_embedder, embed
from .metrics import frechet_distance, kl_divergence


def read_prompts(path: str | Path) -> list[str]:
    """One prompt per non-blank line; lines starting with '#' are comments."""
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(
            f"prompts file '{path}' does not exist; pass --prompts a text file, one per line"
        )
    prompts = [line.strip() for line in file.read_text(encoding="utf-8").splitlines()]
    prompts = [p for p in prompts if p and not p.startswith("#")]
    if not prompts:
        raise ValueError(f"prompts file '{path}' has no prompts; write one text prompt per line")
    return prompts


def resolve_embedder(spec: Embedder | str, clap=None) -> Embedder:
    """A callable as is; "dsp"; "clap" (needs the CLAP scorer); "package.module:function"."""
    if callable(spec):
        return spec
    if spec == "dsp":
        return dsp_embedder
    if spec == "clap":
        if clap is None:
            raise ValueError("--embedder clap embeds with the CLAP model: also pass --clap PATH")
        return clap
    module_name, _, attribute = str(spec).partition(":")
    if not module_name or not attribute:
        raise ValueError(f"embedder must be 'dsp', 'clap' or 'module:function', got {spec!r}")
    try:
        found = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"cannot import embedder {spec!r}: {error}") from error
    if not callable(found):
        raise ValueError(f"embedder {spec!r} is not callable; it must be f(clips, sampling_rate)")
    return found


def _adherence(clips: list[np.ndarray], sampling_rate: int, prompts: list[str]) -> dict | None:
    """The judge's summary over the prompts it can verify (sound-world captions), None if it can verify none."""
    verdicts = []
    for clip, prompt in zip(clips, prompts, strict=True):
        try:
            judge.requested_attributes(prompt)
        except ValueError:  # a caption naming nothing the judge measures
            continue
        verdicts.append(judge.judge_clip(clip, sampling_rate, prompt))
    if not verdicts:
        return None
    report = judge.summarize(verdicts)
    report["skipped_prompts"] = len(prompts) - len(verdicts)
    return report


def _generate(
    model, processor, prompts: list[str], frames: int | None, seed: int, device: str, progress: bool
) -> list[np.ndarray]:
    """One clip per prompt (mono), in order, from one seeded generator; a progress bar over prompts."""
    import torch
    from tqdm.auto import tqdm

    generator = torch.Generator(device).manual_seed(seed)
    knobs = {"max_new_tokens": frames} if frames is not None else {}
    clips = []
    for prompt in tqdm(prompts, desc="generating", unit="prompt", disable=not progress):
        inputs = processor(text=[prompt], return_tensors="pt").to(device)
        with torch.no_grad():
            audio = model.generate(**inputs, generator=generator, progress=False, **knobs)
        clips.append(audio[0].float().mean(dim=0).cpu().numpy())
    return clips


def evaluate(
    model_name: str,
    prompts_file: str | Path,
    reference_dir: str | Path,
    clap_path: str | Path | None = None,
    duration: float | None = None,
    seed: int = 0,
    device: str = "cpu",
    embedder: Embedder | str = dsp_embedder,
    progress: bool = True,
) -> dict:
    """Generate, embed, compare; returns the JSON-ready report. `embedder`: a callable, or "dsp" (the
    built-in), "clap" (the `clap_path` model's audio embeddings) or "module:function" (imported)."""
    from ..loading import load_model_and_processor

    prompts = read_prompts(prompts_file)
    reference_files(reference_dir)  # a missing or empty folder fails before any model is loaded
    if duration is not None and not (0 < duration < float("inf")):
        raise ValueError(f"duration must be > 0 seconds, got {duration}")
    clap = None
    if clap_path is not None:
        from .clap import ClapScorer

        clap = ClapScorer(clap_path, device)
    embedder_name = (
        embedder if isinstance(embedder, str) else getattr(embedder, "__name__", type(embedder).__name__)
    )
    embedder = resolve_embedder(embedder, clap)
    model, processor = load_model_and_processor(model_name, device)
    rate = int(model.config.sampling_rate)
    names, references = load_reference_dir(reference_dir, rate)
    if len(prompts) < 2 or len(references) < 2:
        raise ValueError(
            f"Fréchet distance needs >= 2 clips on each side, got {len(prompts)} prompts and "
            f"{len(references)} reference clips; add prompts or reference clips"
        )
    frames = None if duration is None else max(1, round(duration * model.config.frame_rate))
    start = time.perf_counter()
    generated = _generate(model, processor, prompts, frames, seed, device, progress)
    wall = time.perf_counter() - start
    gen_out, ref_out = embed(embedder, generated, rate), embed(embedder, references, rate)
    paired = len(references) == len(prompts)
    report: dict = {
        "model": model_name,
        "prompts": len(prompts),
        "reference_clips": len(references),
        "sampling_rate": rate,
        "seconds_per_clip": float(np.mean([len(c) for c in generated]) / rate),
        "seed": seed,
        "embedder": embedder_name,
        "frechet_distance": frechet_distance(ref_out.embeddings, gen_out.embeddings),
        "kl_divergence": None,
        "generation_wall_seconds": wall,
    }
    if not paired:
        report["kl_skipped"] = (
            f"KL compares paired clips: {len(prompts)} prompts vs {len(references)} reference clips"
        )
    elif gen_out.probabilities is None or ref_out.probabilities is None:
        report["kl_skipped"] = "the embedder returns no class probabilities"
    else:
        report["kl_divergence"] = kl_divergence(
            ref_out.probabilities, gen_out.probabilities, kind=gen_out.probability_kind
        )
    per_prompt = [{"prompt": p} for p in prompts]
    if paired:
        for row, name in zip(per_prompt, names, strict=True):
            row["reference"] = name
    if clap is not None:
        scores = clap.scores(generated, rate, prompts)
        report["clap_score"] = float(scores.mean())
        if paired:
            report["clap_score_reference"] = float(clap.scores(references, rate, prompts).mean())
        for row, score in zip(per_prompt, scores, strict=True):
            row["clap"] = float(score)
    report["adherence"] = _adherence(generated, rate, prompts)
    report["per_prompt"] = per_prompt
    return report
