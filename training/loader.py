"""Turning datasets into training batches, deterministically per (seed, micro-step, process).

`StepBatchSampler` decides which examples every process sees at every micro-step (a fresh permutation per
epoch, cut into disjoint per-process slices), so a resumed run starts at micro-step `m` and sees exactly
what an uninterrupted run would have seen. Each item carries its own seed for crops and caption choice.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import Dataset as TorchDataset

from .data import BadAudio, crop_or_pad, pick_caption, read_audio
from .mixing import mix_samples


def derive_seed(*parts: int) -> int:
    """A 63-bit seed from integers (numpy's SeedSequence mixes them well)."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(2, np.uint64)[0] >> 1)


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


class StepBatchSampler:
    """Yields, for micro-steps `start .. end - 1`, this process's list of `(example_index, item_seed)`."""

    def __init__(
        self,
        num_examples: int,
        batch_size: int,
        num_processes: int,
        process_index: int,
        seed: int,
        start: int,
        end: int,
    ):
        self.global_batch = batch_size * num_processes
        if num_examples < self.global_batch:
            raise ValueError(
                f"{num_examples} training examples cannot fill one global batch of {self.global_batch} "
                f"({batch_size} per process x {num_processes} processes); lower per_device_train_batch_size."
            )
        self.num_examples, self.batch_size = num_examples, batch_size
        self.process_index, self.seed = process_index, seed
        self.start, self.end = start, end

    def _permutation(self, epoch: int) -> torch.Tensor:
        return torch.randperm(self.num_examples, generator=generator(derive_seed(self.seed, epoch, 7)))

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        """Micro-step `s` of process `r` reads positions `s * global_batch + r * batch_size ...` of the epochs'
        permutations laid end to end, so update `u` reads the same examples however its global batch is split
        over processes and accumulation (a resume with another process count keeps the data order)."""
        epoch, perm = None, None
        for step in range(self.start, self.end):
            first = step * self.global_batch + self.process_index * self.batch_size
            indices = []
            for position in range(first, first + self.batch_size):
                if position // self.num_examples != epoch:
                    epoch = position // self.num_examples
                    perm = self._permutation(epoch)
                indices.append(int(perm[position % self.num_examples]))
            yield [(i, derive_seed(self.seed, step, self.process_index, j)) for j, i in enumerate(indices)]

    def __len__(self) -> int:
        return self.end - self.start


class CodesDataset(TorchDataset):
    """Pre-encoded codes: a random `num_frames` crop and one caption per item."""

    def __init__(self, codes_dataset, num_frames: int):
        self.data = codes_dataset
        self.num_frames = num_frames

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, key: tuple[int, int]) -> dict:
        index, seed = key
        gen = generator(seed)
        row = self.data[index]
        codes = torch.from_numpy(np.asarray(row["codes"], dtype=np.int64)).T  # [K, frames]
        codes = crop_or_pad(codes, self.num_frames, gen)
        return {
            "codes": codes,
            "caption": pick_caption(list(row["captions"]), gen),
            "index": int(row["index"]),
            "seed": seed,
        }


class WaveformDataset(TorchDataset):
    """Raw audio, decoded per item (mixing is on, so batches are encoded on the fly)."""

    def __init__(self, dataset, sampling_rate: int, num_samples: int):
        self.data = dataset
        self.sampling_rate, self.num_samples = sampling_rate, num_samples

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, key: tuple[int, int]) -> dict:
        index, seed = key
        return decode_clip(self.data[index], self.sampling_rate, self.num_samples, index, seed)


def decode_clip(row: dict, sampling_rate: int, num_samples: int, index: int, seed: int) -> dict:
    """One `{audio, captions}` row as a collator item: a random `num_samples` crop and one caption, drawn from
    `seed`; undecodable audio becomes a `bad` item that the collator drops and counts."""
    gen = generator(seed)
    try:
        wav = read_audio(row["audio"], sampling_rate)
    except BadAudio as bad:
        return {"bad": bad.reason, "index": index, "seed": seed}
    wav = crop_or_pad(wav, num_samples, gen)
    return {
        "wav": wav[None],
        "caption": pick_caption(list(row["captions"]), gen),
        "index": index,
        "seed": seed,
    }


class Collator:
    """Stacks items, tokenizes captions (an empty caption gets a zero mask: the unconditional sample) and,
    for waveforms, applies the mixing augmentation. Items whose audio failed to decode are dropped and
    counted in `num_skipped`."""

    def __init__(self, processor, mixing: dict | None = None, batch_size: int | None = None):
        self.processor = processor
        self.mixing = mixing
        self.batch_size = batch_size

    def __call__(self, items: list[dict]) -> dict:
        good = [it for it in items if "bad" not in it]
        batch: dict = {
            "num_skipped": len(items) - len(good),
            "skipped_reasons": [it["bad"] for it in items if "bad" in it],
        }
        if not good:
            return batch
        captions = [it["caption"] for it in good]
        batch["indices"] = [it["index"] for it in good]
        if "codes" in good[0]:
            batch["labels"] = torch.stack([it["codes"] for it in good])
        else:
            wavs = torch.stack([it["wav"] for it in good])
            if self.mixing is not None:
                gen = generator(derive_seed(good[0]["seed"], 11))
                wavs, captions = mix_samples(wavs, captions, generator=gen, **self.mixing)
                wavs, captions = wavs[: self.batch_size], captions[: self.batch_size]
            batch["input_values"] = wavs
        text = self.processor(text=captions, return_tensors="pt")
        batch["input_ids"], batch["attention_mask"] = text["input_ids"], text["attention_mask"]
        batch["captions"] = captions
        return batch


def waveform_collator(processor, data_args, batch_size: int) -> tuple[Collator, int]:
    """The collator of decoded-audio batches and the clips to load per micro-batch: `batch_size`, or with mixing
    on `batch_size / mix_p` rounded up until `mix_p` of them fill the batch."""
    if data_args.aug_p <= 0:
        return Collator(processor, None, batch_size), batch_size
    mix = {
        "aug_p": data_args.aug_p,
        "mix_p": data_args.mix_p,
        "snr_low": data_args.mix_snr_low,
        "snr_high": data_args.mix_snr_high,
        "min_overlap": data_args.mix_min_overlap,
    }
    loaded = math.ceil(batch_size / data_args.mix_p)
    while int(data_args.mix_p * loaded) < batch_size:
        loaded += 1
    return Collator(processor, mix, batch_size), loaded
