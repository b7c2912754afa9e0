"""Streaming (`--streaming true`): training on a `datasets.IterableDataset` that is never downloaded whole.

Each process reads its share of the stream (`split_dataset_by_node`: whole shards when they divide evenly,
every N-th example otherwise) through its own shuffle buffer. `datasets`' own buffer is lost on resume (its
`state_dict()` restarts with an empty buffer, skipping what it held), so the buffer is kept here and saved with
every checkpoint next to the stream position (`state_dict()` of the split dataset) and the buffer's random
state: a killed run resumes on exactly the examples an uninterrupted run would have read next.

Audio is decoded and encoded on the fly (there is no codes cache for a stream).
"""

from __future__ import annotations

import pickle
import random
from collections.abc import Iterator
from pathlib import Path

from datasets import IterableDataset
from datasets.distributed import split_dataset_by_node

from .data import SkipCounter
from .loader import Collator, decode_clip, derive_seed, waveform_collator
from .modeling import CodecEncoder
from .sources import check_columns, check_source_options, load_named_dataset, to_clip

STATE_NAME = "stream_state_rank{}.pkl"


class ClipStream:
    """This process's examples, in buffer-shuffled order, as `(ordinal, {audio, captions})`; `ordinal` counts the
    examples this process pulled from its share of the stream (across passes)."""

    def __init__(
        self,
        dataset: IterableDataset,
        audio_column: str,
        caption_column: str,
        buffer_size: int,
        seed: int,
        rank: int,
        world_size: int,
    ):
        if buffer_size < 1:
            raise ValueError(f"shuffle_buffer_size must be >= 1, got {buffer_size}.")
        self.dataset, self.audio, self.caption = dataset, audio_column, caption_column
        self.buffer_size, self.rank, self.world_size = buffer_size, rank, world_size
        self.rng = random.Random(derive_seed(seed, rank, 13))
        self.buffer: list[tuple[int, dict]] = []
        self.epoch, self.pulled, self.pulled_this_epoch = 0, 0, 0
        self.source: IterableDataset | None = None
        self.iterator: Iterator | None = None
        self.source_state: dict | None = None

    def _open(self) -> None:
        self.source = split_dataset_by_node(self.dataset, self.rank, self.world_size)
        self.source.set_epoch(self.epoch)
        if self.source_state is not None:
            self.source.load_state_dict(self.source_state)
            self.source_state = None
        self.iterator = iter(self.source)

    def _pull(self) -> None:
        """Move one example from the stream into the buffer, starting the next pass at the end of one."""
        if self.iterator is None:
            self._open()
        try:
            example = next(self.iterator)
        except StopIteration:
            if self.pulled_this_epoch == 0:
                raise ValueError(
                    f"process {self.rank} of {self.world_size} got no example from the stream; the dataset has "
                    "fewer examples than processes (or is empty)."
                ) from None
            self.epoch, self.pulled_this_epoch, self.iterator = self.epoch + 1, 0, None
            return self._pull()
        self.buffer.append((self.pulled, to_clip(example, self.audio, self.caption)))
        self.pulled, self.pulled_this_epoch = self.pulled + 1, self.pulled_this_epoch + 1

    def next_clip(self) -> tuple[int, dict]:
        while len(self.buffer) < self.buffer_size:
            self._pull()
        slot = self.rng.randrange(len(self.buffer))
        self.buffer[slot], self.buffer[-1] = self.buffer[-1], self.buffer[slot]
        return self.buffer.pop()

    def state_dict(self) -> dict:
        source = self.source.state_dict() if self.iterator is not None else self.source_state
        return {
            "world_size": self.world_size,
            "epoch": self.epoch,
            "pulled": self.pulled,
            "pulled_this_epoch": self.pulled_this_epoch,
            "source": source,
            "buffer": list(self.buffer),
            "rng": self.rng.getstate(),
        }

    def load_state_dict(self, state: dict) -> None:
        if state["world_size"] != self.world_size:
            raise ValueError(
                f"this streaming checkpoint was saved by {state['world_size']} process(es), each with its own "
                f"stream position; resume it with {state['world_size']} process(es) (this run has "
                f"{self.world_size})."
            )
        self.epoch, self.pulled = state["epoch"], state["pulled"]
        self.pulled_this_epoch, self.source_state = state["pulled_this_epoch"], state["source"]
        self.buffer, self.iterator = list(state["buffer"]), None
        self.rng.setstate(state["rng"])


def stream_batches(
    stream: ClipStream,
    collator: Collator,
    load_batch: int,
    sampling_rate: int,
    num_samples: int,
    seed: int,
    start_micro: int,
    end_micro: int,
) -> Iterator[dict]:
    """Collated micro-batches `start_micro .. end_micro - 1`, read lazily so that a checkpoint taken between
    updates holds exactly the examples consumed so far."""
    for micro in range(start_micro, end_micro):
        clips = [stream.next_clip() for _ in range(load_batch)]
        items = [
            decode_clip(row, sampling_rate, num_samples, ordinal, derive_seed(seed, micro, stream.rank, j))
            for j, (ordinal, row) in enumerate(clips)
        ]
        yield collator(items)


def open_stream(data_args, seed: int, rank: int, world_size: int) -> ClipStream:
    """The streamed `dataset_name`, its columns checked on the first example."""
    check_source_options(data_args)
    dataset = load_named_dataset(data_args, streaming=True)
    first = next(iter(dataset), None)
    if first is None:
        raise ValueError(f"the stream {data_args.dataset_name} has no example; check the data source.")
    check_columns(
        list(first),
        dataset.features,
        data_args.audio_column,
        data_args.caption_column,
        data_args.dataset_name,
    )
    if data_args.max_train_samples is not None:
        dataset = dataset.take(data_args.max_train_samples)
    return ClipStream(
        dataset,
        data_args.audio_column,
        data_args.caption_column,
        data_args.shuffle_buffer_size,
        seed,
        rank,
        world_size,
    )


def checkpoint_stream(accelerator, stream: ClipStream) -> None:
    """Every process saves and restores its own stream state inside the checkpoint folder."""

    def save(models, weights, output_dir) -> None:
        Path(output_dir).mkdir(parents=True, exist_ok=True)
        with open(Path(output_dir) / STATE_NAME.format(stream.rank), "wb") as handle:
            pickle.dump(stream.state_dict(), handle)

    def load(models, input_dir) -> None:
        path = Path(input_dir) / STATE_NAME.format(stream.rank)
        if not path.is_file():
            raise ValueError(
                f"{input_dir} holds no stream position for process {stream.rank}: it was saved by a run "
                "with fewer processes or without --streaming; resume with the same processes and data options."
            )
        with open(path, "rb") as handle:
            stream.load_state_dict(pickle.load(handle))

    accelerator.register_save_state_pre_hook(save)
    accelerator.register_load_state_pre_hook(load)


def build_stream(accelerator, model, processor, data_args, args, start_micro: int, end_micro: int):
    """The streaming counterpart of `train.build_dataloader`: `(batches, skipped before training, waveforms,
    codec)`; batches always hold waveforms, encoded by the codec on the fly."""
    config = model.config
    encoder = CodecEncoder(model, accelerator.device)
    num_samples = int(data_args.segment_seconds * config.frame_rate) * encoder.hop_length
    stream = open_stream(data_args, args.seed, accelerator.process_index, accelerator.num_processes)
    checkpoint_stream(accelerator, stream)
    collator, load_batch = waveform_collator(processor, data_args, args.per_device_train_batch_size)
    batches = stream_batches(
        stream, collator, load_batch, config.sampling_rate, num_samples, args.seed, start_micro, end_micro
    )
    return batches, SkipCounter(), True, encoder
