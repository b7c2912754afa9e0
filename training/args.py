"""Training arguments as three documented dataclasses, read from a YAML file and overridden on the command line.

`train.py --config training/configs/smoke.yaml --max_steps 5` reads the file (flat `field: value` pairs from
any of the three dataclasses), then lets every `--field value` flag override it.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Literal

import yaml
from transformers import HfArgumentParser

from training.config_values import convert_config_values
from training.errors import UsageError


@dataclass
class ModelArguments:
    """What to train."""

    model_name_or_path: str = field(
        default="tiny",
        metadata={
            "help": "A saved AudioGen/MAGNeT folder or Hub id (e.g. a converted checkpoint) to fine-tune, or "
            "'tiny' to build a tiny random model from scratch (tests and smoke runs)."
        },
    )
    model_type: str | None = field(
        default=None,
        metadata={
            "help": "'audiogen' or 'magnet': the family of a 'tiny' model (default audiogen). For a saved model it "
            "is read from its config; if given, it must match."
        },
    )
    cfg_dropout: float = field(
        default=0.1,
        metadata={
            "help": "Probability that a whole batch loses its text condition (audiocraft: 0.1; music "
            "MAGNeT 0.3). Needed for classifier-free guidance at inference."
        },
    )
    span_len: int | None = field(
        default=None,
        metadata={
            "help": "MAGNeT atomic span length in frames; default: the model config's (audiocraft: 3 = 60 ms)."
        },
    )
    magnet_stage_weights: list[float] | None = field(
        default=None,
        metadata={
            "help": "MAGNeT only: relative odds of training each codebook stage, one per codebook (e.g. 2 1 1 1); "
            "default uniform, as audiocraft."
        },
    )
    magnet_stage_per_sample: bool = field(
        default=False,
        metadata={
            "help": "MAGNeT only: draw the trained codebook stage per clip instead of per batch (audiocraft: per "
            "batch), so every update trains every codebook; the same objective in expectation."
        },
    )
    pattern_tail: bool = field(
        default=False,
        metadata={
            "help": "AudioGen only: also train the delay pattern's last steps, which generation reaches at the end "
            "of every clip (audiocraft never trains them; a small model then ends clips with a click). "
            "Off by default, as audiocraft."
        },
    )
    gradient_checkpointing: bool = field(
        default=False, metadata={"help": "Recompute decoder activations in backward to save memory."}
    )
    lora_r: int = field(
        default=0,
        metadata={
            "help": "LoRA rank (peft): > 0 trains low-rank adapters on the decoder instead of every weight and "
            "saves a PEFT adapter (adapter_config.json + adapter_model.safetensors) in output_dir. 0 = off."
        },
    )
    lora_alpha: float = field(default=16.0, metadata={"help": "LoRA scaling numerator (scale = alpha / r)."})
    lora_dropout: float = field(default=0.0, metadata={"help": "Dropout on the LoRA input."})
    lora_target_modules: list[str] | None = field(
        default=None,
        metadata={
            "help": "Decoder module names that get adapters (e.g. q_proj v_proj); default: every attention "
            "projection (self and cross: q/k/v/o_proj) and both FFN layers (fc1, fc2) of every decoder layer."
        },
    )
    lora_save_merged: bool = field(
        default=False,
        metadata={"help": "Also save the base model with the adapters merged in, to `<output_dir>/merged`."},
    )


@dataclass
class DataArguments:
    """Where the audio and captions come from and how clips are cut. Give exactly one source."""

    dataset_name: str | None = field(
        default=None, metadata={"help": "A `datasets` dataset on the Hub (or a local loading script)."}
    )
    dataset_config_name: str | None = field(default=None, metadata={"help": "Config of `dataset_name`."})
    data_files: list[str] | None = field(
        default=None,
        metadata={
            "help": "Files (globs allowed, several) for a builder `dataset_name` such as parquet, json, csv or "
            "webdataset, e.g. --dataset_name webdataset --data_files 'shards/*.tar'."
        },
    )
    data_dir: str | None = field(
        default=None,
        metadata={
            "help": "Folder for `dataset_name` (e.g. --dataset_name audiofolder --data_dir data/sounds)."
        },
    )
    streaming: bool = field(
        default=False,
        metadata={
            "help": "Read `dataset_name` as a stream (nothing downloaded or cached up front): a shuffle buffer, "
            "split across processes, its position saved in every checkpoint. Audio is encoded on the fly."
        },
    )
    shuffle_buffer_size: int = field(
        default=256,
        metadata={
            "help": "Streaming: examples held in the shuffle buffer (saved with each checkpoint, so its audio "
            "counts toward checkpoint size)."
        },
    )
    dataset_split: str = field(default="train", metadata={"help": "Split of `dataset_name`."})
    dataset_path: str | None = field(
        default=None, metadata={"help": "A dataset saved with `save_to_disk` (read with `load_from_disk`)."}
    )
    audio_folder: str | None = field(
        default=None,
        metadata={"help": "A folder of audio files with a metadata file (`metadata_file`) of captions."},
    )
    metadata_file: str | None = field(
        default=None,
        metadata={
            "help": "CSV or JSONL with `file_name` (relative to `audio_folder`) and `caption_column`; "
            "default `<audio_folder>/metadata.jsonl` or `metadata.csv`."
        },
    )
    manifest: str | None = field(
        default=None,
        metadata={
            "help": "audiocraft manifest `data.jsonl[.gz]` (path, duration, sample_rate, ...); captions "
            "come from the sibling `<audio>.json` `description` field."
        },
    )
    synthetic_examples: int = field(
        default=0,
        metadata={
            "help": "If > 0, write a toy dataset of that many tones/noises with captions into "
            "`<output_dir>/synthetic_data` and train on it (smoke runs, tests)."
        },
    )
    audio_column: str = field(
        default="audio",
        metadata={
            "help": "Audio column of a `datasets` dataset (webdataset: the extension, e.g. flac or wav)."
        },
    )
    caption_column: str = field(
        default="caption",
        metadata={
            "help": "Caption column (text descriptions); a dotted name reads a field of a dict column, e.g. "
            "json.caption for a webdataset's json files (or txt for its .txt files)."
        },
    )
    max_train_samples: int | None = field(default=None, metadata={"help": "Keep only the first N examples."})
    segment_seconds: float = field(
        default=10.0,
        metadata={
            "help": "Training clip length; longer files are randomly cropped, shorter ones zero-padded."
        },
    )
    max_clip_seconds: float = field(
        default=30.0,
        metadata={"help": "Pre-encoding keeps at most this much of each file (crops are drawn inside it)."},
    )
    pre_encode: bool = field(
        default=True,
        metadata={
            "help": "Encode the dataset to codec codes once (a cache) so training never runs the codec. "
            "Ignored when mixing is on (mixed batches are encoded on the fly)."
        },
    )
    encode_cache_dir: str | None = field(
        default=None, metadata={"help": "Where the codes cache lives; default `<output_dir>/codes_cache`."}
    )
    encode_chunk_size: int = field(
        default=256, metadata={"help": "Examples per cache chunk (the unit of resuming and of sharding)."}
    )
    encode_only: bool = field(
        default=False,
        metadata={
            "help": "Build the codes cache and exit without training: encode once (split over the processes of "
            "an `accelerate launch`) for several runs that then share `encode_cache_dir`."
        },
    )
    aug_p: float = field(
        default=0.0, metadata={"help": "Probability that a batch is mixed (AudioGen paper: 0.5; 0 = off)."}
    )
    mix_p: float = field(
        default=0.5,
        metadata={
            "help": "Fraction of loaded clips kept per batch; with mixing on, each process loads "
            "batch_size / mix_p clips and keeps batch_size (audiocraft: 256 loaded, 128 trained)."
        },
    )
    mix_snr_low: int = field(default=-5, metadata={"help": "Lowest mixing SNR in dB (inclusive)."})
    mix_snr_high: int = field(default=5, metadata={"help": "Highest mixing SNR in dB (exclusive)."})
    mix_min_overlap: float = field(default=0.5, metadata={"help": "Minimum overlap of the two mixed clips."})
    dataloader_num_workers: int = field(default=0, metadata={"help": "Worker processes per data loader."})


@dataclass
class TrainArguments:
    """How to optimise, checkpoint and log."""

    output_dir: str = field(default="runs/smoke", metadata={"help": "Checkpoints, logs and the final model."})
    seed: int = field(
        default=42, metadata={"help": "Seeds the model init, data order and every random draw."}
    )
    max_steps: int = field(default=100, metadata={"help": "Number of optimizer updates."})
    per_device_train_batch_size: int = field(
        default=8, metadata={"help": "Clips per process per micro-batch."}
    )
    gradient_accumulation_steps: int = field(default=1, metadata={"help": "Micro-batches per update."})
    learning_rate: float = field(
        default=5e-4, metadata={"help": "Peak learning rate (audiocraft AudioGen: 5e-4)."}
    )
    weight_decay: float = field(
        default=0.1, metadata={"help": "AdamW weight decay on all trainable weights."}
    )
    adam_beta1: float = field(default=0.9, metadata={"help": "AdamW beta1."})
    adam_beta2: float = field(default=0.95, metadata={"help": "AdamW beta2."})
    adam_epsilon: float = field(default=1e-8, metadata={"help": "AdamW epsilon."})
    max_grad_norm: float = field(default=1.0, metadata={"help": "Gradient clipping norm (0 = no clipping)."})
    lr_scheduler: Literal["inverse_sqrt", "cosine", "constant"] = field(
        default="inverse_sqrt",
        metadata={"help": "Schedule after warm-up (AudioGen: inverse_sqrt; MAGNeT: cosine)."},
    )
    warmup_steps: int = field(
        default=0, metadata={"help": "Linear warm-up from 0 (audiocraft: 3000 / 4000)."}
    )
    min_lr_ratio: float = field(default=0.0, metadata={"help": "Cosine floor as a fraction of the peak lr."})
    mixed_precision: Literal["no", "fp16", "bf16"] = field(
        default="no", metadata={"help": "Autocast precision (overrides the accelerate config when not 'no')."}
    )
    use_ema: bool = field(
        default=False, metadata={"help": "Keep an EMA of the weights and save it at the end."}
    )
    ema_decay: float = field(default=0.99, metadata={"help": "EMA decay (audiocraft: 0.99)."})
    ema_update_every: int = field(
        default=10, metadata={"help": "Update the EMA every N updates (audiocraft: 10)."}
    )
    save_steps: int = field(default=500, metadata={"help": "Save a resumable checkpoint every N updates."})
    save_total_limit: int | None = field(default=2, metadata={"help": "Keep only the newest N checkpoints."})
    resume: bool = field(
        default=False, metadata={"help": "Continue from the newest complete checkpoint in `output_dir`."}
    )
    overwrite_output_dir: bool = field(
        default=False,
        metadata={
            "help": "Start a new run in an `output_dir` that holds another run, deleting that run's checkpoints "
            "and final model (without it, or --resume, such a folder is refused)."
        },
    )
    logging_steps: int = field(default=10, metadata={"help": "Log loss, lr, grad norm and tokens/s every N."})
    report_to: str = field(default="tensorboard", metadata={"help": "Accelerate tracker(s), or 'none'."})
    eval_steps: int = field(
        default=0, metadata={"help": "Generate `eval_prompts` every N updates (0 = end only)."}
    )
    eval_prompts: list[str] = field(
        default_factory=list,
        metadata={"help": "Prompts whose generated audio is logged (empty = no samples)."},
    )
    eval_max_new_tokens: int = field(default=50, metadata={"help": "Frames generated per eval prompt."})
    push_to_hub: str | None = field(
        default=None, metadata={"help": "Hub repo id to push the final model, processor and card to."}
    )
    hub_private: bool = field(default=True, metadata={"help": "Create the Hub repo as private."})
    hub_license: str | None = field(
        default=None,
        metadata={
            "help": "The model card's licence id (default: cc-by-nc-4.0 when fine-tuning Meta's, else other)."
        },
    )
    hub_license_name: str | None = field(
        default=None,
        metadata={"help": "The licence's name when hub_license is 'other' (the Hub requires it)."},
    )
    log_sample_ids: bool = field(
        default=False,
        metadata={"help": "Write the dataset indices each process trained on to `<output_dir>/sample_ids/`."},
    )
    fsdp: bool = field(
        default=False,
        metadata={
            "help": "Shard the model with FSDP2 (torch `fully_shard`: each decoder layer, then the whole model) "
            "across the processes of a plain multi-process launch (torchrun / accelerate launch --multi_gpu); "
            "checkpoints are sharded (torch.distributed.checkpoint) and the final model is saved whole."
        },
    )
    expected_world_size: int | None = field(
        default=None,
        metadata={
            "help": "Refuse to train unless the launch started this many processes (a launcher that silently "
            "falls back to one process is caught anyway when it leaves a sign; this makes it certain)."
        },
    )
    debug_sigkill_at_step: int | None = field(
        default=None,
        metadata={"help": "Testing only: SIGKILL this process right after update N (kill-and-resume test)."},
    )


ARGUMENT_CLASSES = (ModelArguments, DataArguments, TrainArguments)


def parse_args(argv: list[str] | None = None) -> tuple[ModelArguments, DataArguments, TrainArguments]:
    """`--config FILE.yaml` gives defaults; every other flag overrides them."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config", type=str, default=None)
    known, rest = pre.parse_known_args(argv)
    parser = HfArgumentParser(ARGUMENT_CLASSES)
    parser.add_argument("--config", type=str, default=None, help="YAML file of field: value pairs.")
    if known.config is not None:
        parser.set_defaults(**load_yaml_config(known.config))
    # The extra `--config` lands in a trailing Namespace after the three dataclasses.
    *groups, unknown = parser.parse_args_into_dataclasses(args=rest, return_remaining_strings=True)
    if unknown:
        raise UsageError(f"unknown argument(s) {unknown}; see `python training/train.py --help`.")
    model_args, data_args, train_args = groups[:3]
    return model_args, data_args, train_args


def load_yaml_config(path: str) -> dict:
    """A flat mapping of known field names; unknown keys are an error (a typo would silently do nothing)."""
    file = Path(path)
    if not file.is_file():
        state = "is a folder" if file.is_dir() else "does not exist"
        raise FileNotFoundError(f"config file {path} {state}; pass --config training/configs/<name>.yaml.")
    try:
        values = yaml.safe_load(file.read_text()) or {}
    except (yaml.YAMLError, UnicodeDecodeError, OSError, RecursionError) as error:
        raise UsageError(
            f"{path} is not a readable YAML file ({' '.join(str(error).split())}); fix it."
        ) from error
    if not isinstance(values, dict):
        raise ValueError(f"{path} must be a mapping of `field: value` pairs, got {type(values).__name__}.")
    known = {f.name for cls in ARGUMENT_CLASSES for f in fields(cls)}
    unknown = sorted(str(key) for key in set(values) - known)
    if unknown:
        raise ValueError(f"{path}: unknown field(s) {unknown}; see `python training/train.py --help`.")
    return convert_config_values(values, ARGUMENT_CLASSES, path)
