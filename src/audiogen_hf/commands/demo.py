"""`audiogen-hf demo`: a Gradio web page to try AudioGen and MAGNeT (prompt, duration, seed, guidance, an
audio prompt to continue) with an audio player for the result.

Why the split: `DemoGenerator` is plain Python (tested without Gradio or a browser), `build_demo` wraps it
in a Gradio app that tests can launch on a free port with tiny models. Gradio is an optional extra and is
imported only by `build_demo`, so the package imports without it.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from .infill_loop import add_infill_loop_knobs

# Label shown in the model picker -> model name for `load_model_and_processor` (folder, Hub id or alias).
DEMO_MODELS: dict[str, str] = {
    "AudioGen (embedded demo)": "default",
    "MAGNeT (embedded demo)": "default-magnet",
}
MAX_DURATION_S = 10.0
INSTALL_HINT = 'the web demo needs Gradio: pip install "audiogen-hf[demo]"'


class DemoGenerator:
    """Generates for the demo: loads each model once, on first use, and returns (rate, int16 samples)."""

    def __init__(self, models: dict[str, str] | None = None, device: str = "cpu"):
        self.models = dict(DEMO_MODELS if models is None else models)
        if not self.models:
            raise ValueError("the demo needs at least one model: pass models={'label': 'folder or alias'}")
        self.device = device
        self._loaded: dict[str, tuple] = {}

    def _model(self, label: str):
        if label not in self.models:
            raise ValueError(f"unknown model {label!r}; choose one of {list(self.models)}")
        if label not in self._loaded:
            from ..loading import load_model_and_processor

            self._loaded[label] = load_model_and_processor(self.models[label], self.device)
        return self._loaded[label]

    def __call__(
        self,
        model_label: str,
        prompt: str,
        duration: float,
        seed: int | float,
        guidance: float = 0.0,
        audio_prompt: str | None = None,
        infill_start: float = 0.0,
        infill_end: float = 0.0,
        loop: bool = False,
    ) -> tuple[int, np.ndarray]:
        """`guidance` 0 keeps the model's own setting; otherwise AudioGen's guidance_scale or MAGNeT's
        max_cfg_coef (the start of its annealed guidance). `audio_prompt` is a file path: AudioGen continues
        it, MAGNeT keeps it as a prefix; `duration` is the seconds of new audio either way. MAGNeT only: an
        infill range (`infill_end` > 0) regenerates those seconds of `audio_prompt` (its length is kept);
        `loop` makes a seamless loop."""
        import torch

        prompt = (prompt or "").strip()
        if not prompt:
            raise ValueError("write a text prompt describing the sound, e.g. 'a low tone'")
        if not 0 < float(duration) <= MAX_DURATION_S:
            raise ValueError(f"duration must be in (0, {MAX_DURATION_S}] seconds, got {duration}")
        if seed is None or float(seed) != int(seed) or int(seed) < 0:
            raise ValueError(f"seed must be a whole number >= 0, got {seed}")
        if guidance < 0:
            raise ValueError(f"guidance must be >= 0 (0: the model's default), got {guidance}")
        model, processor = self._model(model_label)
        audio_kwargs = {}
        if audio_prompt:
            import soundfile

            wav, rate = soundfile.read(audio_prompt, dtype="float32", always_2d=True)
            audio_kwargs = {"audio": [wav.T], "sampling_rate": rate}
        inputs = processor(text=[prompt], **audio_kwargs).to(self.device)
        knobs: dict = {"max_new_tokens": max(1, round(float(duration) * model.config.frame_rate))}
        if guidance > 0:
            is_magnet = model.config.model_type == "magnet"
            knobs["max_cfg_coef" if is_magnet else "guidance_scale"] = float(guidance)
        infill = [(float(infill_start or 0.0), float(infill_end))] if infill_end else None
        add_infill_loop_knobs(model, knobs, infill, bool(loop), bool(audio_prompt))
        generator = torch.Generator(self.device).manual_seed(int(seed))
        audio = model.generate(**inputs, generator=generator, **knobs)[0].float().cpu().numpy()
        samples = np.round(np.clip(audio.T, -1.0, 1.0) * 32767).astype(np.int16)  # [samples, channels]
        return int(model.config.sampling_rate), samples[:, 0] if samples.shape[1] == 1 else samples


def _require_gradio():
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home from an offline demo
    try:
        import gradio
    except ImportError as error:
        raise ImportError(INSTALL_HINT) from error
    return gradio


def build_demo(
    models: dict[str, str] | None = None, device: str = "cpu", generator: DemoGenerator | None = None
):
    """The Gradio Blocks app (not launched): `build_demo().launch()`; `models` maps picker labels to model
    folders or aliases (default: both embedded demo models)."""
    gr = _require_gradio()
    generate = generator or DemoGenerator(models, device)

    def on_generate(label, prompt, duration, seed, guidance, audio_prompt, infill_start, infill_end, loop):
        try:
            return generate(
                label, prompt, duration, seed, guidance, audio_prompt, infill_start, infill_end, loop
            )
        except ValueError as error:  # shown to the user in the page
            raise gr.Error(str(error)) from error

    with gr.Blocks(title="audiogen-hf demo") as demo:
        gr.Markdown(
            "# audiogen-hf\nText to audio with AudioGen and MAGNeT. The embedded demo models know only a "
            "procedural sound world: tones, chirps, beeps, white/pink/brown noise and silence "
            "(try *fast high beeps* or *a low tone and pink noise*)."
        )
        with gr.Row():
            with gr.Column():
                labels = list(generate.models)
                model = gr.Radio(labels, value=labels[0], label="model", elem_id="model")
                prompt = gr.Textbox(label="prompt", value="a rising chirp", elem_id="prompt")
                duration = gr.Slider(
                    0.5, MAX_DURATION_S, value=2.0, step=0.1, label="duration (s)", elem_id="duration"
                )
                seed = gr.Number(value=0, precision=0, minimum=0, label="seed")
                guidance = gr.Slider(
                    0.0, 10.0, value=0.0, step=0.5, label="guidance (0: the model's default)"
                )
                audio_prompt = gr.Audio(
                    sources=["upload"],
                    type="filepath",
                    label="audio prompt to continue, or the recording to infill (optional)",
                )
                with gr.Row():  # MAGNeT only
                    infill_start = gr.Number(value=0.0, minimum=0, label="infill from (s)")
                    infill_end = gr.Number(value=0.0, minimum=0, label="infill to (s; 0: off)")
                    loop = gr.Checkbox(value=False, label="seamless loop", elem_id="loop")
                button = gr.Button("Generate", variant="primary", elem_id="generate")
            with gr.Column():
                output = gr.Audio(label="generated audio", format="wav", elem_id="output")
        button.click(
            on_generate,
            [model, prompt, duration, seed, guidance, audio_prompt, infill_start, infill_end, loop],
            output,
            api_name="generate",
        )
    return demo


def add_demo_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--host", default="127.0.0.1", help="address to serve on (0.0.0.0: all interfaces)")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument(
        "--model",
        action="append",
        default=None,
        metavar="LABEL=PATH",
        help="a model to offer (repeatable); default: the embedded AudioGen and MAGNeT",
    )
    parser.add_argument("--device", default="cpu")
    return parser


def parse_models(specs: list[str] | None) -> dict[str, str] | None:
    """`["AudioGen=path", "mine=/models/x"]` -> {label: path}; a spec without '=' is labelled by its name."""
    if not specs:
        return None
    models = {}
    for spec in specs:
        label, _, path = spec.partition("=") if "=" in spec else (Path(spec).name or spec, "", spec)
        if not label or not path:
            raise ValueError(f"--model takes LABEL=PATH or PATH, got {spec!r}")
        models[label] = path
    return models


def main_demo(args: argparse.Namespace) -> int:
    from .argument_checks import check_demo_arguments

    check_demo_arguments(args)
    demo = build_demo(parse_models(args.model), args.device)  # errors: one line via run_command
    demo.launch(server_name=args.host, server_port=args.port)
    return 0
