"""`generate_batch`: many clips from many prompts into a folder, with a manifest, resumable, over processes.

Determinism: every clip gets its own `torch.Generator`, seeded from (base seed, prompt index, variant) and passed
as one generator per batch row (`generation/sampling.py`), so a clip draws what a batch of it alone would draw;
the batches themselves are planned identically in every process (`planning.py`), so with the same batch size a
clip's bits do not depend on how many processes ran (a different batch size changes the text padding around
it, which changes the model's numbers a little, as in audiocraft).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from ..output_files import write_audio
from .folder import check_output_folder, normalized, remove_stale_temporaries
from .manifest import Manifest
from .planning import PlannedClip, WorkUnit, plan_clips, plan_units
from .processes import gather, process_state, share_of
from .requests import ClipRequest, as_requests, read_prompts_file
from .rerank import Scorer, best, check_rerank, resolve_scorer


@dataclass
class BulkSummary:
    """What a bulk run did, over all its processes."""

    output_dir: Path
    manifest: Path
    written: int  # clips written by this run
    skipped: int  # clips already done (resumed run)
    generated: int  # clips generated (rerank candidates included)
    audio_seconds: float  # audio generated
    seconds: float  # wall-clock time of the slowest process
    processes: int

    @property
    def audio_seconds_per_second(self) -> float:
        return self.audio_seconds / self.seconds if self.seconds > 0 else 0.0

    def __str__(self) -> str:
        return (
            f"{self.written} clips written to {self.output_dir} ({self.skipped} already done); generated "
            f"{self.generated} clips, {self.audio_seconds:.1f} s of audio in {self.seconds:.1f} s = "
            f"{self.audio_seconds_per_second:.2f} audio s/s on {self.processes} process(es); manifest: "
            f"{self.manifest}"
        )


def load_requests(prompts: str | os.PathLike | Iterable[str | Mapping | ClipRequest]) -> list[ClipRequest]:
    """A prompts file's path (str or Path), or prompts as strings, dicts or `ClipRequest`s."""
    if isinstance(prompts, (str, os.PathLike)):
        return read_prompts_file(prompts)
    return as_requests(prompts)


def _unit_done(unit: WorkUnit, done: dict[str, dict], keep: int | None) -> bool:
    if keep is None:
        return all(clip.file in done for clip in unit.clips)
    index = unit.clips[0].index
    return sum(1 for record in done.values() if record.get("index") == index) >= keep


class _Writer:
    """Publishes clips and appends their manifest lines, counting what it wrote."""

    def __init__(self, folder: Path, manifest: Manifest, done: dict, base: dict, rate: int, overwrite: bool):
        self.folder, self.manifest, self.done, self.base = folder, manifest, done, base
        self.rate, self.overwrite, self.written = rate, overwrite, 0

    def write(self, clip: PlannedClip, audio: np.ndarray, **extra) -> None:
        if clip.file in self.done:
            return
        write_audio(self.folder / clip.file, audio, self.rate, overwrite=self.overwrite)
        record = dict(
            self.base,
            file=clip.file,
            prompt=clip.request.prompt,
            index=clip.index,
            variant=clip.variant,
            seed=clip.seed,
            duration=round(audio.shape[-1] / self.rate, 6),
            negative_prompt=clip.negative_prompt,
            name=clip.request.name,
            **extra,
        )
        self.manifest.append(record)
        self.written += 1


def _generate(model, processor, batch: tuple[PlannedClip, ...], device, generate_kwargs: dict) -> np.ndarray:
    """One batch: each row with its own generator. Returns `[rows, channels, samples]` float32."""
    negatives = [clip.negative_prompt for clip in batch]
    inputs = processor(
        text=[clip.request.prompt for clip in batch],
        negative_text=None if negatives[0] is None else negatives,
    ).to(device)
    generators = [torch.Generator(device=device).manual_seed(clip.seed) for clip in batch]
    kwargs = dict(generate_kwargs)
    if batch[0].frames is not None:
        kwargs["max_new_tokens"] = batch[0].frames
    audio = model.generate(**inputs, generator=generators, **kwargs)
    return audio.float().cpu().numpy()


def generate_batch(
    model,
    processor,
    prompts: str | os.PathLike | Iterable[str | Mapping | ClipRequest],
    output_dir: str | os.PathLike,
    *,
    num_per_prompt: int = 1,
    batch_size: int = 8,
    seed: int = 0,
    duration: float | None = None,
    negative_prompt: str | None = None,
    rerank: str | Scorer | None = None,
    keep: int | None = None,
    clap_model: str | os.PathLike | None = None,
    overwrite: bool = False,
    progress: bool = True,
    device: str | torch.device | None = None,
    model_name: str | None = None,
    settings: Mapping | None = None,
    **generate_kwargs,
) -> BulkSummary:
    """Generate `num_per_prompt` clips for each prompt into `output_dir`, with `output_dir/manifest.jsonl`.

    `prompts`: a prompts file (plain text or JSONL, see `read_prompts_file`) or a list of prompts (strings,
    dicts with the JSONL fields, `ClipRequest`s). Clips are batched `batch_size` at a time across prompts of the
    same length; a clip's seed comes from (`seed`, prompt index, variant), or is a JSONL line's `seed` (+
    variant). Re-running skips clips whose file and manifest line exist. Under `torchrun` / `accelerate launch`
    the batches are shared between the processes. `rerank` ('judge', 'clap' with `clap_model`, or a
    `scorer(clips, sampling_rate, prompt)`) generates `num_per_prompt` candidates per prompt and keeps the
    `keep` best. Other keyword arguments go to `model.generate` (guidance_scale, temperature, top_k, ...);
    `settings` adds entries to the manifest's record of the settings (e.g. the decoder's dtype).
    """
    requests = load_requests(prompts)
    device = device if device is not None else getattr(model, "device", "cpu")
    state = process_state(str(device))
    keep = check_rerank(rerank, keep, num_per_prompt)
    ranking = None if rerank is None else (*resolve_scorer(rerank, clap_model, str(device)), keep)
    config = model.config
    folder = Path(output_dir)
    clips = plan_clips(requests, num_per_prompt, seed, config.frame_rate, duration, negative_prompt)
    record_settings = normalized(
        {
            "batch_size": batch_size,
            "num_per_prompt": num_per_prompt,
            "base_seed": seed,
            "rerank": None if ranking is None else ranking[0],
            "keep": keep,
            **generate_kwargs,
            **(settings or {}),
        }
    )
    start = time.perf_counter()
    done = check_output_folder(folder, clips, overwrite, record_settings)
    manifest = Manifest(folder)
    rewrite = overwrite or manifest.exists()  # a clip file without its line is an interrupted run's: remade
    units = [
        u
        for u in plan_units(clips, batch_size, per_prompt=rerank is not None)
        if not _unit_done(u, done, keep)
    ]
    skipped = len(done) if rerank is not None else sum(1 for c in clips if c.file in done)
    state.wait_for_everyone()  # every process has read the manifest before anyone changes it
    if state.is_main_process:
        manifest.repair()
        manifest.create()
        remove_stale_temporaries(folder, clips)
    state.wait_for_everyone()
    base = {
        "model": model_name or getattr(config, "_name_or_path", "") or type(model).__name__,
        "settings": record_settings,
        "process": state.process_index,
        "sampling_rate": config.sampling_rate,
    }
    writer = _Writer(folder, manifest, done, base, config.sampling_rate, rewrite)
    mine = share_of(units, state)
    bar = tqdm(
        total=sum(len(u.clips) for u in mine),
        disable=not progress or not state.is_main_process,
        desc="clips" if state.num_processes == 1 else f"clips (process 0 of {state.num_processes})",
        unit="clip",
    )
    with bar:
        generated, audio_seconds = _make(
            mine, model, processor, device, generate_kwargs, writer, bar, ranking
        )
    elapsed = time.perf_counter() - start
    state.wait_for_everyone()
    if state.is_main_process:
        manifest.finalize()
    counts = gather((writer.written, generated, audio_seconds, elapsed), state)
    return BulkSummary(
        output_dir=folder,
        manifest=manifest.path,
        written=sum(c[0] for c in counts),
        skipped=skipped,
        generated=sum(c[1] for c in counts),
        audio_seconds=sum(c[2] for c in counts),
        seconds=max(c[3] for c in counts),
        processes=state.num_processes,
    )


def _make(units, model, processor, device, generate_kwargs: dict, writer: _Writer, bar, ranking) -> tuple:
    """Generate and write this process's units; returns (clips generated, audio seconds generated)."""
    generated, audio_seconds, rate = 0, 0.0, writer.rate
    for unit in units:
        unit_audio = []
        for batch in unit.batches:
            audio = _generate(model, processor, batch, device, generate_kwargs)
            generated += len(batch)
            audio_seconds += len(batch) * audio.shape[-1] / rate
            bar.update(len(batch))
            if ranking is None:
                for clip, clip_audio in zip(batch, audio, strict=True):
                    writer.write(clip, clip_audio)
            unit_audio += list(audio)
        if ranking is not None:
            _keep_best(writer, ranking, unit.clips, unit_audio)
    return generated, audio_seconds


def _keep_best(writer: _Writer, ranking: tuple, clips: list[PlannedClip], audio: list) -> None:
    name, scorer, keep = ranking
    scores = [float(s) for s in scorer(audio, writer.rate, clips[0].request.prompt)]
    for rank, i in enumerate(best(scores, keep), start=1):
        writer.write(clips[i], audio[i], score=scores[i], rank=rank, scorer=name, candidates=len(clips))
