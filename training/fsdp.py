"""FSDP2 (`torch.distributed.fsdp.fully_shard`): the model's weights, gradients and optimizer state are split
over the processes; each decoder layer is its own unit, the rest (embeddings, heads, the frozen T5 and codec)
the root's. The same code runs on GPUs (NCCL) and, for tests, on CPU processes (gloo); accelerate's FSDP plugin
does neither on CPU (FSDP1 refuses CPU, and with overrides it silently becomes DDP).

Accelerate is left out of the model and optimizer (it would save rank 0's shard as the whole optimizer): a
checkpoint's sharded model and optimizer go through `torch.distributed.checkpoint` from `save_state` hooks,
so any process count can load them back, and the final model is gathered whole for `save_pretrained`.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.distributed.checkpoint as dcp
from accelerate.utils import DistributedType
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions,
    get_model_state_dict,
    get_state_dict,
    set_state_dict,
)
from torch.distributed.fsdp import FSDPModule, MixedPrecisionPolicy, fully_shard
from torch.distributed.tensor import DTensor

SHARDS_DIR = "fsdp_shards"
PARAM_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def check_fsdp_options(args, model_args, accelerator) -> None:
    """What FSDP2 cannot do here, refused before the model is built."""
    if accelerator.distributed_type == DistributedType.FSDP:
        raise ValueError(
            "this accelerate config turns on accelerate's FSDP plugin, which the trainer does not use (FSDP1: "
            "no CPU, and silently DDP with overrides); launch with a plain multi-process config "
            "(distributed_type: MULTI_GPU, as training/configs/accelerate_fsdp.yaml) and pass --fsdp true."
        )
    if not args.fsdp:
        return
    if accelerator.num_processes < 2:
        raise ValueError(
            "fsdp shards the model over processes but this run has one; launch several (torchrun "
            "--nproc_per_node N ...) or drop --fsdp."
        )
    clashes = {
        "use_ema": args.use_ema,
        "lora_r": model_args.lora_r > 0,
        "eval_prompts": bool(args.eval_prompts),
    }
    bad = [name for name, on in clashes.items() if on]
    if bad:
        raise ValueError(
            f"{bad} cannot be used with fsdp (EMA keeps whole weights, LoRA is trained without sharding, and "
            "samples are generated on one process); drop them, or drop --fsdp."
        )


def shard(model: torch.nn.Module, mixed_precision: str) -> torch.nn.Module:
    """`fully_shard` each decoder layer, then the whole model. Build the optimizer afterwards: the parameters
    become sharded `DTensor`s."""
    policy = MixedPrecisionPolicy(param_dtype=PARAM_DTYPES.get(mixed_precision), reduce_dtype=torch.float32)
    for layer in model.decoder.layers:
        fully_shard(layer, mp_policy=policy)
    fully_shard(model, mp_policy=policy)
    return model


def is_sharded(model) -> bool:
    return isinstance(model, FSDPModule)


def prepare(accelerator, model, optimizer):
    """`accelerator.prepare` for DDP / one process; a sharded model and its optimizer stay as they are."""
    if is_sharded(model):
        return model, optimizer
    return accelerator.prepare(model, optimizer)


def clip_gradients(accelerator, model, max_norm: float) -> float:
    """Clip to `max_norm` and return the total norm before clipping, as a float on every process."""
    if not is_sharded(model):
        return float(accelerator.clip_grad_norm_(model.parameters(), max_norm))
    params = [p for p in model.parameters() if p.grad is not None]
    norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
    return float(norm.full_tensor() if isinstance(norm, DTensor) else norm)


def full_state_dict(accelerator, model) -> dict:
    """The whole model's weights on the main process (every process must call this)."""
    if not is_sharded(model):
        return accelerator.get_state_dict(model)
    options = StateDictOptions(full_state_dict=True, cpu_offload=True)
    return get_model_state_dict(model, options=options)


def checkpoint_shards(accelerator, model, optimizer) -> None:
    """Make `save_state` / `load_state` write and read the sharded model and optimizer in each checkpoint."""
    if not is_sharded(model):
        return

    def save(models, weights, output_dir) -> None:
        model_state, optim_state = get_state_dict(model, optimizer)
        dcp.save(
            {"model": model_state, "optim": optim_state}, checkpoint_id=str(Path(output_dir) / SHARDS_DIR)
        )

    def load(models, input_dir) -> None:
        folder = Path(input_dir) / SHARDS_DIR
        if not folder.is_dir():
            raise ValueError(
                f"{input_dir} was not saved by an fsdp run (no {SHARDS_DIR}/); resume it without --fsdp."
            )
        model_state, optim_state = get_state_dict(model, optimizer)
        state = {"model": model_state, "optim": optim_state}
        dcp.load(state, checkpoint_id=str(folder))
        set_state_dict(model, optimizer, model_state_dict=state["model"], optim_state_dict=state["optim"])

    accelerator.register_save_state_pre_hook(save)
    accelerator.register_load_state_pre_hook(load)
