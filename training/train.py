"""Train or fine-tune AudioGen / MAGNeT with Accelerate.

    accelerate launch training/train.py --config training/configs/smoke.yaml [--field value ...]

One process or many (DDP, or FSDP2 with --fsdp; torchrun or accelerate launch), CPU or GPU.
See docs/training.md.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `training` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import datasets  # noqa: E402
import soundfile as sf  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from accelerate import Accelerator  # noqa: E402
from accelerate.logging import get_logger  # noqa: E402
from accelerate.utils import ProjectConfiguration, set_seed  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402
from torch.utils.data import Dataset as TorchDataset  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from audiogen_hf.output_files import write_text  # noqa: E402
from training.args import DataArguments, ModelArguments, TrainArguments, parse_args  # noqa: E402
from training.checkpointing import (  # noqa: E402
    latest_checkpoint,
    load_checkpoint,
    remove_partial_checkpoints,
    save_checkpoint,
)
from training.data import SkipCounter, load_source, probe_audio  # noqa: E402
from training.distributed import batch_plan, check_launch, describe_plan, resumed_accumulation  # noqa: E402
from training.encode import encode_dataset  # noqa: E402
from training.errors import report_user_errors  # noqa: E402
from training.footprint import parameter_counts, peak_memory_mb  # noqa: E402
from training.fsdp import (  # noqa: E402
    check_fsdp_options,
    checkpoint_shards,
    clip_gradients,
    full_state_dict,
    prepare,
    shard,
)
from training.hub import push_folder, write_training_card  # noqa: E402
from training.loader import (  # noqa: E402
    CodesDataset,
    Collator,
    StepBatchSampler,
    WaveformDataset,
    derive_seed,
    generator,
    waveform_collator,
)
from training.lora import add_lora, check_lora_options, is_lora, save_lora  # noqa: E402
from training.modeling import CodecEncoder, load_model_and_processor  # noqa: E402
from training.objectives import MagnetMasking, cfg_dropout, compute_loss  # noqa: E402
from training.optim import EMA, build_optimizer, build_scheduler  # noqa: E402
from training.run_config import run_config  # noqa: E402
from training.run_dir import start_run  # noqa: E402
from training.streaming import build_stream  # noqa: E402
from training.validation import check_settings  # noqa: E402

logger = get_logger("audiogen_hf.training")


def build_accelerator(args: TrainArguments) -> Accelerator:
    trackers = None if args.report_to in ("none", "") else args.report_to.split(",")
    return Accelerator(
        cpu=not torch.cuda.is_available(),  # gloo processes under torchrun on a CPU machine, not N lone ones
        mixed_precision=None if args.mixed_precision == "no" else args.mixed_precision,
        log_with=trackers,
        project_config=ProjectConfiguration(
            project_dir=args.output_dir, logging_dir=os.path.join(args.output_dir, "logs")
        ),
    )


def check_args(model_args: ModelArguments, data_args: DataArguments, args: TrainArguments) -> None:
    """Reject settings that would fail later, with the fix."""
    positive = {
        "max_steps": args.max_steps,
        "per_device_train_batch_size": args.per_device_train_batch_size,
        "gradient_accumulation_steps": args.gradient_accumulation_steps,
        "save_steps": args.save_steps,
        "logging_steps": args.logging_steps,
    }
    bad = [k for k, v in positive.items() if v < 1]
    if bad:
        raise ValueError(f"{bad} must be >= 1.")
    if data_args.segment_seconds <= 0:
        raise ValueError(f"segment_seconds must be > 0, got {data_args.segment_seconds}.")
    if not 0 <= model_args.cfg_dropout < 1:
        raise ValueError(f"cfg_dropout must be in [0, 1), got {model_args.cfg_dropout}.")
    if data_args.aug_p > 0 and not 0 < data_args.mix_p <= 1:
        raise ValueError(f"mixing (aug_p > 0) needs mix_p in (0, 1], got {data_args.mix_p}.")
    if data_args.encode_only and (data_args.aug_p > 0 or not data_args.pre_encode):
        raise ValueError(
            "encode_only builds the codes cache, which only pre-encoded runs use (pre_encode: true, aug_p: 0); "
            "drop encode_only or turn pre-encoding on."
        )


# ------------------------------------------------------------------------------------------------------ data
def build_dataset(
    accelerator: Accelerator, model, processor, data_args: DataArguments, args: TrainArguments
) -> tuple[TorchDataset, Collator, int, SkipCounter, bool, CodecEncoder]:
    """The source, pre-encoded to codes (or decoded on the fly when mixing).

    Returns the dataset, its collator, the clips loaded per micro-batch, the examples skipped before training,
    whether batches hold waveforms and the codec."""
    config = model.config
    num_frames = int(data_args.segment_seconds * config.frame_rate)
    encoder = CodecEncoder(model, accelerator.device)
    num_samples = num_frames * encoder.hop_length
    with accelerator.main_process_first():  # one process writes the synthetic data / datasets caches
        source = load_source(data_args, args.output_dir, args.seed)
    mixing = data_args.aug_p > 0
    batch_size = args.per_device_train_batch_size
    if mixing or not data_args.pre_encode:
        keep, skipped = probe_audio(source)
        dataset = WaveformDataset(source.select(keep), config.sampling_rate, num_samples)
        collator, load_batch = waveform_collator(processor, data_args, batch_size)
        waveforms = True
    else:
        cache_dir = data_args.encode_cache_dir or os.path.join(args.output_dir, "codes_cache")
        codes, skipped = encode_dataset(
            source,
            encoder,
            accelerator,
            cache_dir,
            config.sampling_rate,
            num_samples,
            data_args.max_clip_seconds,
            data_args.encode_chunk_size,
        )
        dataset = CodesDataset(codes, num_frames)
        collator, load_batch, waveforms = Collator(processor), batch_size, False
    return dataset, collator, load_batch, skipped, waveforms, encoder


def build_dataloader(
    accelerator: Accelerator,
    model,
    processor,
    data_args: DataArguments,
    args: TrainArguments,
    start_micro: int,
    end_micro: int,
) -> tuple[DataLoader, SkipCounter, bool, CodecEncoder]:
    """The dataset of `build_dataset`, batched per process for micro-batches `start_micro..end_micro`.

    Returns the loader, the examples skipped before training, whether batches hold waveforms and the codec."""
    if data_args.streaming:
        return build_stream(accelerator, model, processor, data_args, args, start_micro, end_micro)
    dataset, collator, load_batch, skipped, waveforms, encoder = build_dataset(
        accelerator, model, processor, data_args, args
    )
    sampler = StepBatchSampler(
        len(dataset),
        load_batch,
        accelerator.num_processes,
        accelerator.process_index,
        args.seed,
        start_micro,
        end_micro,
    )
    loader = DataLoader(
        dataset, batch_sampler=sampler, collate_fn=collator, num_workers=data_args.dataloader_num_workers
    )
    return loader, skipped, waveforms, encoder


# ------------------------------------------------------------------------------------------------------ steps
def to_labels(batch: dict, encoder: CodecEncoder | None) -> dict:
    """Codes for the batch: stored ones, or the codec run on (mixed) waveforms."""
    if "labels" not in batch:
        batch["labels"] = encoder(batch["input_values"])
    return batch


def zero_loss(model) -> torch.Tensor:
    """A loss of 0 that touches every trainable weight, so DDP stays in step when a batch had no usable audio."""
    return sum(p.sum() * 0 for p in model.parameters() if p.requires_grad)


def log_generated_audio(accelerator: Accelerator, model, processor, args: TrainArguments, step: int) -> None:
    """Generate `eval_prompts` and save them as WAV files (and to tensorboard when it is a tracker)."""
    if not args.eval_prompts or not accelerator.is_main_process:
        return
    unwrapped = accelerator.unwrap_model(model)
    unwrapped.eval()
    inputs = processor(text=list(args.eval_prompts), return_tensors="pt").to(accelerator.device)
    with torch.no_grad():
        audio = unwrapped.generate(**inputs, max_new_tokens=args.eval_max_new_tokens)
    unwrapped.train()
    rate = unwrapped.config.sampling_rate
    folder = Path(args.output_dir) / "samples" / f"step-{step}"
    folder.mkdir(parents=True, exist_ok=True)
    for i, wav in enumerate(audio.float().cpu()):
        sf.write(folder / f"sample_{i}.wav", wav[0].numpy(), rate)
    if "tensorboard" in args.report_to:
        writer = accelerator.get_tracker("tensorboard").writer
        for i, (prompt, wav) in enumerate(zip(args.eval_prompts, audio.float().cpu(), strict=True)):
            writer.add_audio(f"samples/{i}: {prompt}", wav[0], step, sample_rate=rate)


def final_save(accelerator, model, processor, ema, family, model_args, args, last_loss, dataset=None) -> None:
    """`save_pretrained` into `output_dir` (EMA weights if kept), the processor and a model card; push if asked."""
    accelerator.wait_for_everyone()
    unwrapped = accelerator.unwrap_model(model)
    if ema is not None:
        ema.copy_to(unwrapped)
    state_dict = full_state_dict(accelerator, model)
    if accelerator.is_main_process and is_lora(unwrapped):
        save_lora(unwrapped, processor, args.output_dir, state_dict, model_args.lora_save_merged)
    elif accelerator.is_main_process:
        unwrapped.save_pretrained(args.output_dir, state_dict=state_dict, save_function=accelerator.save)
        processor.save_pretrained(args.output_dir)
    if accelerator.is_main_process:
        summary = {
            k: v
            for k, v in {**dataclasses.asdict(model_args), **dataclasses.asdict(args)}.items()
            if not k.startswith("debug")
        }
        card = {"license": args.hub_license, "license_name": args.hub_license_name, "dataset": dataset}
        write_training_card(
            args.output_dir, family, model_args.model_name_or_path, summary, last_loss, **card
        )
        if args.push_to_hub:
            logger.info(f"pushed to {push_folder(args.output_dir, args.push_to_hub, args.hub_private)}")
    accelerator.wait_for_everyone()


def tracker_config(*groups) -> dict:
    """Flatten the arguments to scalars (tensorboard's hparams take no lists or None)."""
    flat = {}
    for group in groups:
        for key, value in dataclasses.asdict(group).items():
            flat[key] = value if isinstance(value, (int, float, str, bool)) else str(value)
    return flat


def check_family_options(model_args: ModelArguments, family: str, num_codebooks: int) -> None:
    """Options of one family only, refused for the other before any data is read."""
    if model_args.pattern_tail and family != "audiogen":
        raise ValueError(
            "pattern_tail trains AudioGen's delay pattern tail; MAGNeT has none: drop --pattern_tail."
        )
    if model_args.magnet_stage_per_sample and family != "magnet":
        raise ValueError(
            "magnet_stage_per_sample draws MAGNeT's codebook stage per clip; drop it for AudioGen."
        )
    weights = model_args.magnet_stage_weights
    if weights is not None and family != "magnet":
        raise ValueError("magnet_stage_weights weighs MAGNeT's codebook stages; drop it for AudioGen.")
    if weights is not None and len(weights) != num_codebooks:
        raise ValueError(
            f"magnet_stage_weights needs one weight per codebook ({num_codebooks}), got {weights}."
        )


# ------------------------------------------------------------------------------------------------------ main
def train(model_args: ModelArguments, data_args: DataArguments, args: TrainArguments) -> dict:
    check_args(model_args, data_args, args)
    check_settings(model_args, data_args, args)
    accelerator = build_accelerator(args)
    check_launch(accelerator.num_processes, args.expected_world_size)
    check_fsdp_options(args, model_args, accelerator)
    check_lora_options(model_args)
    set_seed(args.seed)
    Path(args.output_dir).mkdir(parents=True, exist_ok=True)
    model, processor, family = load_model_and_processor(
        model_args.model_name_or_path, model_args.model_type, args.seed
    )
    check_family_options(model_args, family, model.config.decoder.num_codebooks)
    if model_args.gradient_checkpointing:
        model.gradient_checkpointing_enable()
    model.train()
    window = model.config.max_frames / model.config.frame_rate
    if data_args.segment_seconds > window:
        logger.warning(
            f"segment_seconds={data_args.segment_seconds} is longer than the model's window "
            f"(decoder.max_duration={window} s); generation will not use the extra context.",
            main_process_only=True,
        )

    if data_args.encode_only:
        dataset, _, _, skipped, _, _ = build_dataset(accelerator, model, processor, data_args, args)
        logger.info(f"encode_only: the codes cache holds {len(dataset)} clips ({skipped.describe()})")
        return {"family": family, "encoded_clips": len(dataset), "skipped": dict(skipped)}
    record = run_config(model, processor, family, model_args, data_args, args)
    run = start_run(accelerator, args.output_dir, args.resume, args.overwrite_output_dir, record)
    resume_from = None
    if args.resume:
        if accelerator.is_main_process:
            remove_partial_checkpoints(args.output_dir)
        resume_from = latest_checkpoint(args.output_dir, run.run_id)
        run.check_resume(resume_from)
        if resume_from is None:
            logger.warning(
                f"--resume: no checkpoint in {args.output_dir}; starting from scratch.",
                main_process_only=True,
            )
    start_step = 0
    if resume_from is not None:
        saved = json.loads((resume_from / "trainer_state.json").read_text())
        start_step = saved["step"]
        args.gradient_accumulation_steps = resumed_accumulation(
            saved,
            accelerator.num_processes,
            args.per_device_train_batch_size,
            args.gradient_accumulation_steps,
        )
    plan = batch_plan(
        accelerator.num_processes, args.per_device_train_batch_size, args.gradient_accumulation_steps
    )
    logger.info(f"batch: {describe_plan(plan)}", main_process_only=True)
    accum = args.gradient_accumulation_steps
    loader, skipped, waveforms, encoder = build_dataloader(
        accelerator, model, processor, data_args, args, start_step * accum, args.max_steps * accum
    )
    logger.info(f"data: {skipped.describe()} before training", main_process_only=True)

    masking = None
    if family == "magnet":
        span_len = model_args.span_len or getattr(model.config.decoder, "span_len", 3)
        masking = MagnetMasking(
            int(data_args.segment_seconds * model.config.frame_rate),
            span_len,
            model_args.magnet_stage_weights,
            model_args.magnet_stage_per_sample,
        )

    if model_args.lora_r > 0:
        model = add_lora(model, model_args)
    if args.fsdp:
        model = shard(model, args.mixed_precision)
    footprint = parameter_counts(model)
    logger.info(
        f"parameters: {footprint['trainable_parameters']:,} trainable of {footprint['total_parameters']:,}",
        main_process_only=True,
    )
    optimizer = build_optimizer(
        model, args.learning_rate, args.weight_decay, (args.adam_beta1, args.adam_beta2), args.adam_epsilon
    )
    scheduler = build_scheduler(
        optimizer, args.lr_scheduler, args.warmup_steps, args.max_steps, args.min_lr_ratio
    )
    ema = EMA(model, args.ema_decay, args.ema_update_every) if args.use_ema else None
    model, optimizer = prepare(accelerator, model, optimizer)
    checkpoint_shards(accelerator, model, optimizer)
    # The scheduler steps once per update on every process (not prepared: Accelerate would step it once per
    # process); it and the EMA travel with save_state.
    accelerator.register_for_checkpointing(scheduler)
    if ema is not None:
        accelerator.register_for_checkpointing(ema)

    state = {"skipped": dict(skipped), "loss": None}
    if resume_from is not None:
        state = load_checkpoint(accelerator, resume_from)
        logger.info(f"resumed from {resume_from} at step {start_step}", main_process_only=True)
    skipped_during = SkipCounter(state.get("skipped_during", {}))
    if accelerator.is_main_process and args.report_to != "none":
        accelerator.init_trackers("audiogen-hf", config=tracker_config(model_args, data_args, args))

    ids_file = None
    if args.log_sample_ids:
        (Path(args.output_dir) / "sample_ids").mkdir(exist_ok=True)
        ids_file = open(Path(args.output_dir) / "sample_ids" / f"rank-{accelerator.process_index}.txt", "a")

    progress = tqdm(
        total=args.max_steps,
        initial=start_step,
        disable=not accelerator.is_local_main_process,
        desc="training",
    )
    batches = iter(loader)
    last_loss, tokens, tick = state.get("loss"), 0, time.perf_counter()
    window_loss, window_steps = torch.zeros((), device=accelerator.device), 0
    history = [tuple(entry) for entry in state.get("loss_history", [])]  # survives every resume
    for step in range(start_step, args.max_steps):
        step_loss = torch.zeros((), device=accelerator.device)
        for micro in range(accum):
            batch = next(batches)
            micro_index = step * accum + micro
            gen = generator(derive_seed(args.seed, micro_index, accelerator.process_index, 3))
            torch.manual_seed(derive_seed(args.seed, micro_index, accelerator.process_index, 5))  # dropout
            skipped_during.update(batch["skipped_reasons"])
            context = accelerator.no_sync(model) if micro < accum - 1 else contextlib.nullcontext()
            with context:
                if "input_ids" not in batch:  # no usable audio in this batch
                    loss = zero_loss(model)
                else:
                    batch = to_labels(batch, encoder if waveforms else None)
                    if ids_file is not None:
                        ids_file.write(" ".join(map(str, batch["indices"])) + "\n")
                    batch = {
                        k: v.to(accelerator.device) if torch.is_tensor(v) else v for k, v in batch.items()
                    }
                    batch["attention_mask"] = cfg_dropout(
                        batch["attention_mask"], model_args.cfg_dropout, gen
                    )
                    with accelerator.autocast():
                        loss = compute_loss(model, batch, gen, masking, model_args.pattern_tail)
                    tokens += batch["labels"].numel()
                accelerator.backward(loss / accum)
            step_loss += loss.detach() / accum
        max_norm = args.max_grad_norm if args.max_grad_norm > 0 else float("inf")
        grad_norm = clip_gradients(accelerator, model, max_norm)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        if ema is not None:
            ema.update(accelerator.unwrap_model(model), step + 1)
        progress.update(1)
        done = step + 1
        window_loss, window_steps = window_loss + step_loss, window_steps + 1

        if done % args.logging_steps == 0 or done == args.max_steps or done == start_step + 1:
            mean_loss = accelerator.reduce(window_loss / window_steps, reduction="mean").item()
            elapsed = time.perf_counter() - tick
            logs = {
                "train/loss": mean_loss,
                "train/lr": scheduler.get_last_lr()[0],
                "train/grad_norm": float(grad_norm),
                "train/tokens_per_s": tokens * accelerator.num_processes / max(elapsed, 1e-9),
                "train/skipped_examples": sum(skipped_during.values()) + sum(skipped.values()),
            }
            accelerator.log(logs, step=done)
            progress.set_postfix(loss=f"{mean_loss:.4f}")
            history.append((done, mean_loss))
            last_loss, tokens, tick = mean_loss, 0, time.perf_counter()
            window_loss, window_steps = torch.zeros_like(window_loss), 0
        if args.eval_steps and done % args.eval_steps == 0 and done != args.max_steps:
            log_generated_audio(accelerator, model, processor, args, done)
        if done % args.save_steps == 0 or done == args.max_steps:
            state = {
                "skipped": dict(skipped),
                "skipped_during": dict(skipped_during),
                "loss": last_loss,
                "loss_history": history,
                **plan,
            }
            state.update(run.checkpoint_fields())
            save_checkpoint(accelerator, args.output_dir, done, state, args.save_total_limit)
        if args.debug_sigkill_at_step is not None and done == args.debug_sigkill_at_step:
            os.kill(os.getpid(), signal.SIGKILL)
    progress.close()
    if ids_file is not None:
        ids_file.close()
    if skipped_during:
        logger.warning(f"during training: {skipped_during.describe()}", main_process_only=True)

    log_generated_audio(accelerator, model, processor, args, args.max_steps)
    final_save(
        accelerator, model, processor, ema, family, model_args, args, last_loss, data_args.dataset_name
    )
    summary = {
        "family": family,
        "loss_history": history,
        "skipped": dict(skipped),
        "skipped_during": dict(skipped_during),
        **plan,
        **footprint,
        "peak_memory_mb": peak_memory_mb(accelerator.device),
    }
    logger.info(f"peak memory: {summary['peak_memory_mb']:.0f} MiB", main_process_only=True)
    if accelerator.is_main_process:
        write_text(
            Path(args.output_dir) / "train_summary.json", json.dumps(summary, indent=2), overwrite=True
        )
    accelerator.end_training()
    run.release()
    return summary


def setup_logging() -> None:
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    transformers.utils.logging.set_verbosity_warning()
    datasets.utils.logging.set_verbosity_warning()


def main(argv: list[str] | None = None) -> dict:
    setup_logging()
    with report_user_errors():
        return train(*parse_args(argv))


if __name__ == "__main__":
    main()
