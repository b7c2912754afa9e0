"""`audiogen-hf generate "a dog barks" --model PATH --duration 5 -o out.wav`."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

import soundfile
import torch

from ..loading import TINY_RANDOM, load_model_and_processor
from ..output_files import atomic_output, check_output_path, write_audio
from .argument_checks import add_overwrite_argument, check_generate_arguments, run_command
from .arguments import add_dtype_argument, generation_knobs
from .bulk import add_bulk_arguments, main_bulk, uses_bulk
from .infill_loop import add_infill_loop_arguments, infill_loop_knobs
from .threads import add_threads_arguments, apply_cli_threads, restored_threads


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="audiogen-hf", description="Text-to-audio with AudioGen and MAGNeT."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    gen = commands.add_parser("generate", help="generate audio from one or more text prompts")
    gen.add_argument("prompts", nargs="*", help="text prompts; one output file each (or --prompts-file)")
    gen.add_argument(
        "--model",
        default="default",
        help="saved model folder, Hub id (converted AudioGen / MAGNeT) or alias: 'default' (the embedded demo "
        f"AudioGen, offline), 'default-magnet'; '{TINY_RANDOM}' builds an untrained tiny model that makes noise",
    )
    gen.add_argument("--duration", type=float, default=None, help="seconds of new audio (default: model's)")
    gen.add_argument("-o", "--output", default=None, help="output .wav; several prompts get _0, _1, ...")
    add_overwrite_argument(gen)
    gen.add_argument(
        "--audio-prompt", default=None, help="audio file to continue (AudioGen) or prefix (MAGNeT)"
    )
    gen.add_argument("--seed", type=int, default=None, help="seed for reproducible sampling")
    gen.add_argument("--guidance-scale", type=float, default=None, help="classifier-free guidance (AudioGen)")
    gen.add_argument("--temperature", type=float, default=None)
    gen.add_argument("--top-k", type=int, default=None)
    gen.add_argument("--top-p", type=float, default=None)
    gen.add_argument(
        "--min-p", type=float, default=None, help="keep codes >= this share of the most probable"
    )
    gen.add_argument("--greedy", action="store_true", help="argmax decoding instead of sampling")
    gen.add_argument(
        "--two-step-cfg", action="store_true", help="AudioGen: guidance as two passes (half the peak batch)"
    )
    gen.add_argument("--negative-prompt", default=None, help="text to guide away from (replaces CFG's null)")
    gen.add_argument(
        "--stream", action="store_true", help="AudioGen: write the audio to the output as it is generated"
    )
    gen.add_argument(
        "--rescorer",
        default=None,
        help="MAGNeT: an AudioGen on the same codec (folder, Hub id or 'default') that rescores each step",
    )
    gen.add_argument(
        "--rescore-weight", type=float, default=None, help="MAGNeT: the rescorer's weight in [0, 1]"
    )
    gen.add_argument(
        "--hybrid-ar-seconds",
        type=float,
        default=None,
        help="MAGNeT: Hybrid-MAGNeT, the first seconds by the --rescorer/--ar-model AudioGen",
    )
    gen.add_argument(
        "--ar-model", default=None, help="the AudioGen of --hybrid-ar-seconds (default: 'default')"
    )
    gen.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    add_dtype_argument(gen)
    add_threads_arguments(gen)
    gen.add_argument(
        "--compile",
        action="store_true",
        help="torch.compile the decoder step (AudioGen with a static cache); pays off for long or repeated runs",
    )
    gen.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    add_infill_loop_arguments(gen)
    add_bulk_arguments(gen)
    from .judge import add_judge_arguments

    add_judge_arguments(
        commands.add_parser("judge", help="score prompt adherence of models with the DSP judge")
    )
    from .evaluate import add_evaluate_arguments

    add_evaluate_arguments(
        commands.add_parser("evaluate", help="Fréchet distance, KL, CLAP score against reference clips")
    )
    from .demo import add_demo_arguments

    add_demo_arguments(commands.add_parser("demo", help="web demo (Gradio; pip install 'audiogen-hf[demo]')"))
    return parser


def _output_paths(output: str, count: int) -> list[Path]:
    path = Path(output)
    if path.suffix.lower() != ".wav":
        raise ValueError(f"--output must end in .wav, got '{output}'.")
    if count == 1:
        return [path]
    return [path.with_name(f"{path.stem}_{i}{path.suffix}") for i in range(count)]


def run_generate(args: argparse.Namespace) -> list[Path]:
    check_generate_arguments(args)
    paths = _output_paths(args.output or "out.wav", len(args.prompts))
    for path in paths:  # before any model is loaded: never lose a user's file, fail early on a bad path
        check_output_path(path, overwrite=args.overwrite, inputs=[args.audio_prompt])
    model, processor = load_model_and_processor(args.model, args.device, args.dtype)
    apply_cli_threads(model, args)
    audio_kwargs = {}
    if args.audio_prompt:
        wav, rate = soundfile.read(args.audio_prompt, dtype="float32", always_2d=True)
        audio_kwargs = {"audio": [wav.T] * len(args.prompts), "sampling_rate": rate}
    if args.negative_prompt is not None:
        audio_kwargs["negative_text"] = args.negative_prompt
    inputs = processor(text=list(args.prompts), **audio_kwargs).to(args.device)
    knobs = generation_knobs(args, model)
    if args.duration is not None:  # checked (> 0) by check_generate_arguments
        knobs["max_new_tokens"] = max(1, round(args.duration * model.config.frame_rate))
    generator = torch.Generator(args.device).manual_seed(args.seed) if args.seed is not None else None
    rate = model.config.sampling_rate
    infill_loop_knobs(model, args, knobs)
    model = _magnet_methods(model, args, knobs)
    if args.stream:
        stream_kwargs = dict(**inputs, generator=generator, progress=not args.no_progress, **knobs)
        return _generate_streaming(model, paths, stream_kwargs, rate, args.overwrite)
    audio = model.generate(**inputs, generator=generator, progress=not args.no_progress, **knobs)
    for path, clip in zip(paths, audio.float().cpu().numpy(), strict=True):
        write_audio(path, clip, rate, overwrite=args.overwrite)
        print(f"wrote {path} ({clip.shape[-1] / rate:.2f} s at {rate} Hz)")
    return paths


def _magnet_methods(model, args: argparse.Namespace, knobs: dict):
    """--rescorer / --rescore-weight / --hybrid-ar-seconds: MAGNeT's rescoring and Hybrid-MAGNeT."""
    asked = args.rescorer is not None or args.rescore_weight is not None or args.hybrid_ar_seconds is not None
    if not asked:
        if args.ar_model is not None:
            raise ValueError(
                "--ar-model is the AudioGen of --hybrid-ar-seconds; pass --hybrid-ar-seconds too."
            )
        return model
    if model.config.model_type != "magnet":
        raise ValueError(
            "--rescorer, --rescore-weight and --hybrid-ar-seconds are MAGNeT options; use a MAGNeT --model."
        )
    if args.rescorer is not None:
        knobs["rescorer"], _ = load_model_and_processor(args.rescorer, args.device, args.dtype)
    if args.rescore_weight is not None:
        knobs["rescore_weight"] = args.rescore_weight
    if args.hybrid_ar_seconds is None:
        if args.ar_model is not None:
            raise ValueError(
                "--ar-model is the AudioGen of --hybrid-ar-seconds; pass --hybrid-ar-seconds too."
            )
        return model
    from ..models.magnet.hybrid import HybridMagnet

    ar_model = knobs.get("rescorer")
    if args.ar_model is not None or ar_model is None:
        ar_model, _ = load_model_and_processor(args.ar_model or "default", args.device, args.dtype)
    return _HybridCall(HybridMagnet(ar_model, model), args.hybrid_ar_seconds, knobs)


class _HybridCall:
    """`generate(**inputs, **knobs)` for the CLI: AudioGen's knobs (--guidance-scale ...) stay AudioGen's."""

    def __init__(self, hybrid, ar_seconds: float, knobs: dict):
        self.hybrid, self.ar_seconds = hybrid, ar_seconds
        self.config = hybrid.magnet.config
        self.magnet_knobs = {k: knobs.pop(k) for k in list(knobs) if k in ("rescorer", "rescore_weight")}

    def generate(self, input_ids=None, attention_mask=None, generator=None, progress=False, **kwargs):
        max_new_tokens = kwargs.pop("max_new_tokens", None)
        shared = {k: kwargs.pop(k) for k in list(kwargs) if k.startswith("negative_")}
        magnet_kwargs = dict(self.magnet_knobs, progress=progress)
        return self.hybrid.generate(
            input_ids,
            attention_mask,
            ar_seconds=self.ar_seconds,
            max_new_tokens=max_new_tokens,
            generator=generator,
            audiogen_kwargs=kwargs,
            magnet_kwargs=magnet_kwargs,
            **shared,
        )


def _generate_streaming(
    model, paths: list[Path], generate_kwargs: dict, rate: int, overwrite: bool = False
) -> list[Path]:
    """Stream into hidden temporary files (readable while they grow), each published under its real name only
    once complete: an interrupted stream leaves no half file that looks finished."""
    from ..generation.streaming import generate_to_files
    from ..models.audiogen.modeling_audiogen import AudioGenForConditionalGeneration

    if not isinstance(model, AudioGenForConditionalGeneration):
        raise ValueError("--stream needs an AudioGen model: MAGNeT decodes every frame at once.")
    with contextlib.ExitStack() as stack:
        temporaries = [stack.enter_context(atomic_output(p, overwrite=overwrite)) for p in paths]
        for temporary in temporaries:
            print(f"streaming into {temporary} (renamed when complete)")
        chunks = generate_to_files(model, temporaries, **generate_kwargs)
    for path in paths:
        print(f"streamed {path} ({chunks} chunks, {soundfile.info(str(path)).duration:.2f} s at {rate} Hz)")
    return paths


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "judge":
        from .judge import main_judge

        return run_command(main_judge, args)
    if args.command == "evaluate":
        from .evaluate import main_evaluate

        return run_command(main_evaluate, args)
    if args.command == "demo":
        from .demo import main_demo

        return run_command(main_demo, args)
    with restored_threads():
        if uses_bulk(args):
            return run_command(lambda arguments: main_bulk(arguments, _magnet_methods), args)
        return run_command(run_generate, args)


if __name__ == "__main__":
    sys.exit(main())
