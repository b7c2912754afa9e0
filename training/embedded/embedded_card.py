"""The embedded default models' cards (README.md next to the weights): what each model is, how the recipe made
it, and what the judge and the codec report measured. Written by `embedded.py package`."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

CONFIGS = Path(__file__).resolve().parent / "configs"


def folder_size(folder: str | Path) -> int:
    return sum(f.stat().st_size for f in Path(folder).iterdir() if f.is_file())


def codec_summary(report: dict) -> str:
    """The codec's held-out reconstruction numbers (from `train_codec.py`'s report.json) as card lines."""
    metrics = report.get("roundtrip") or report.get("eval") or {}
    lines = [
        f"- {key.replace('_', ' ')}: {value:.2f}"
        for key, value in metrics.items()
        if isinstance(value, (int, float))
    ]
    by_kind = metrics.get("si_snr_by_kind_db", {})
    if by_kind:
        lines.append("- SI-SNR by scene (dB): " + ", ".join(f"{k} {v:.1f}" for k, v in by_kind.items()))
    if "codebook_perplexity" in report:
        lines.append("- codebook perplexity: " + ", ".join(f"{p:.1f}" for p in report["codebook_perplexity"]))
    if "noise_colour_bits_per_codebook" in report:
        bits = ", ".join(f"{b:.2f}" for b in report["noise_colour_bits_per_codebook"])
        lines.append(f"- noise colour carried by each codebook's codes (bits of 1.58): {bits}")
    if "size_bytes" in report:
        lines.append(
            f"- size: {report['size_bytes'] / 1e6:.1f} MB, {report.get('parameters', 0):,} parameters"
        )
    config = report.get("config", {})
    if config.get("decoder_only"):
        base = Path(config["init_from"]) / "report.json"
        base_report = json.loads(base.read_text()) if base.is_file() else {}
        before = base_report.get("roundtrip", {})
        distilled = base_report.get("config", {})
        if distilled.get("semantic_weight"):
            lines.append(
                f"- first-codebook distillation (weight {distilled['semantic_weight']} from step "
                f"{distilled.get('semantic_start_step', 0)}, on scenes: {distilled.get('semantic_scope', 'all')}): a "
                "probe on each frame's first code predicts the frame's band energies, so that code carries noise colour"
            )
        lines.append(
            f"- the decoder was polished for {report.get('steps', '?')} steps on frozen codes (encoder and "
            "codebooks unchanged) with a band-energy term for noise colour"
            + (
                f" (on scenes: {config['band_energy_scope']})"
                if config.get("band_energy_scope", "all") != "all"
                else ""
            )
            + (
                f" and a silence term (weight {config['silence_weight']})"
                if config.get("silence_weight")
                else ""
            )
            + (
                f", its learning rate decayed to {config['min_lr_ratio']}x"
                if config.get("min_lr_ratio", 1.0) < 1.0
                else ""
            )
            + " (`training/embedded/configs/codec_polish.yaml`)"
            + (
                f"; before it: SI-SNR {before['si_snr_db']:.2f} dB, spectral distance "
                f"{before['spectral_distance_db']:.2f} dB"
                if "si_snr_db" in before
                else ""
            )
        )
    return "\n".join(lines)


def _percent(x: float) -> str:
    return f"{100 * x:.1f} %"


def _other_seeds_line(report: dict) -> str:
    """The overall score on the other judge seeds (fresh random draws, same prompts), and the mean."""
    others = report.get("other_seeds", {})
    if not others:
        return ""
    scores = [report["overall"], *others.values()]
    listed = " / ".join(_percent(v) for v in others.values())
    seeds = ", ".join(str(k) for k in others)
    return (
        f"On judge seeds {seeds} (other random draws, same prompts): {listed}; "
        f"mean over all {len(scores)} seeds **{_percent(sum(scores) / len(scores))}**.\n"
    )


def stage_table(timings: dict) -> str:
    """The card's rows of stage minutes, and their total: the recipe's wall time before packaging (stages run
    beside another add none)."""
    rows = [f"| {stage} | {seconds / 60:.1f} |" for stage, seconds in timings.items()]
    total = sum(seconds for stage, seconds in timings.items() if "(beside" not in stage)
    return "\n".join(rows + [f"| **total** (before packaging and judging) | **{total / 60:.1f}** |"])


def stage_footnotes(timings: dict) -> str:
    """What the recipe's stage names say about its wall time, for the stages this run had."""
    notes = []
    if "codes" in timings:
        notes.append("`codes`: the dataset encoded once for both, split over two processes")
    if any("(reused)" in name for name in timings):
        notes.append(
            "(reused): kept from an earlier run of the same config, with the training minutes of its report"
        )
    if any("(beside" in name for name in timings):
        notes.append("(beside ...): ran at the same time as that stage, so it is not added to the total")
    if any("(beside the LMs)" in name for name in timings):
        notes.append(
            "the polish and the ceiling start with `codes` and share its and the LMs' two cores (those minutes "
            "include the slow-down); `polish wait` is what they took beyond the LMs"
        )
    return "".join("; " + note for note in notes)


def model_card(
    family: str,
    folder: Path,
    run: Path,
    codec: Path,
    data_clips: int,
    report: dict,
    timings: dict,
    ceiling: dict | None = None,
) -> str:
    """The shipped model's README: what it is, how it was made and measured, and what it is not."""
    from transformers import AutoConfig, GenerationConfig

    import audiogen_hf  # noqa: F401  (registers the configs)

    config = AutoConfig.from_pretrained(folder)
    generation = GenerationConfig.from_pretrained(folder).to_diff_dict()
    codec_report = json.loads((codec / "report.json").read_text()) if (codec / "report.json").exists() else {}
    summary = json.loads((run / "train_summary.json").read_text())
    losses = summary.get("loss_history", [])
    name = {"audiogen": "AudioGen", "magnet": "MAGNeT"}[family]
    dec, t5 = config.decoder, config.text_encoder
    per_attribute = "\n".join(
        f"| {attribute} | {_percent(value)} |" for attribute, value in report["per_attribute"].items()
    )
    prompt_ceiling = (ceiling or {}).get("per_prompt", {})
    per_prompt = "\n".join(
        f"| {prompt} | {_percent(value)} | "
        + (_percent(prompt_ceiling[prompt]) if prompt in prompt_ceiling else "-")
        + " |"
        for prompt, value in report["per_prompt"].items()
    )
    codec_lines = codec_summary(codec_report)
    if ceiling:
        codec_lines += (
            f"\n- judge on codec reconstructions of {ceiling['clips']} dataset clips (the LM's best case): "
            f"overall {_percent(ceiling['overall'])}, "
            + ", ".join(f"{k} {_percent(v)}" for k, v in ceiling["per_attribute"].items())
        )
        if "per_prompt_mean" in ceiling:
            codec_lines += f"; per judge prompt (mean): {_percent(ceiling['per_prompt_mean'])}"
    stages = stage_table(timings)
    stage_notes = stage_footnotes(timings)
    train_config = yaml.safe_load((CONFIGS / f"default_{family}.yaml").read_text())
    tail_note = (
        " The delay pattern's last steps are trained too (`pattern_tail`): without them the model ended its clips "
        "with a click of random late-codebook codes."
        if train_config.get("pattern_tail")
        else ""
    )
    size_mb = folder_size(folder) / 1e6
    alias = "default" if family == "audiogen" else "default-magnet"
    constant = "DEFAULT_MODEL" if family == "audiogen" else "DEFAULT_MAGNET_MODEL"
    return f"""---
license: mit
library_name: transformers
pipeline_tag: text-to-audio
tags: [audiogen-hf, {family}, demo, synthetic-data]
---

# audiogen-hf embedded default {name} (demo)

A **small demonstration model**, shipped inside the `audiogen-hf` package so that generation works offline
right after `pip install`. It was trained from scratch on a *procedural sound world* of tones, chirps,
beeps, coloured noises and silence, and it only knows that world's captions ("a high beep then silence",
"slow low beeps", "a high tone and white noise"). **It is not a general sound generator**: a caption about
dogs or rain gives one of the sounds above.

```python
import audiogen_hf
from transformers import AutoModelForTextToWaveform, AutoProcessor

# audiogen_hf.{constant} is the folder; audiogen_hf.resolve_model_name("{alias}") gives the same
model = AutoModelForTextToWaveform.from_pretrained(audiogen_hf.{constant})
processor = AutoProcessor.from_pretrained(audiogen_hf.{constant})
audio = model.generate(**processor(text=["a high beep then silence"], return_tensors="pt"))
```

## Model

| part | what |
|---|---|
| decoder | {name} transformer, {dec.num_hidden_layers} layers, width {dec.hidden_size}, {dec.num_attention_heads} heads, FFN {dec.ffn_dim}; {dec.num_codebooks} codebooks x {dec.vocab_size} codes; window {dec.max_duration:g} s |
| text encoder | T5 encoder, {t5.num_layers} layers, width {t5.d_model}, **frozen random weights** (seeded); a word-level tokenizer ({t5.vocab_size} pieces) covering every caption word of the sound world, so no caption word is unknown. The LM's trainable projection and cross-attention learn to read the fixed random states. |
| codec | EnCodec trained by the package (`training/embedded/train_codec.py`): 16 kHz, {config.frame_rate} frames/s, {dec.num_codebooks} codebooks x {config.audio_encoder.codebook_size} |
| size | {size_mb:.1f} MB on disk (safetensors, float32) |

Generation defaults (`generation_config.json`): `{json.dumps({k: v for k, v in generation.items() if k not in ("pad_token_id", "bos_token_id", "decoder_start_token_id", "transformers_version")})}`.

## Data

{data_clips} clips of {train_config["segment_seconds"]:g} s from `training/embedded/sound_world.py` (steady low / middle / high tones, rising and
falling chirps, white / pink / brown noise (below 1 kHz), slow and fast beeps, quiet and loud versions, silence, a tone or
chirp over noise, and an event then silence), each with 3-4 caption phrasings, one drawn per use. Clips are
exactly one window long, so a padded tail never teaches the model to stop a steady sound early.

## Training

`training/train.py` with `training/embedded/configs/default_{family}.yaml`: {len(losses) and losses[-1][0]} updates, final training loss
{losses[-1][1] if losses else float("nan"):.3f} (first logged {losses[0][1] if losses else float("nan"):.3f}).{tail_note} The whole recipe,
`training/embedded/embedded_default.sh`, rebuilds the dataset, codec, text encoder and both models from
scratch on 2 CPU cores:

| stage | minutes |
|---|---|
{stages}

(`lms`: AudioGen and MAGNeT trained side by side, one thread each{stage_notes}.)

## Prompt adherence (judge)

Measured by `audiogen_hf.judge` (a DSP scorer: pitch band, pitch direction, noise colour, pulse rate,
loudness, silence) on {report["clips"]} generated clips ({report["clips"] // len(report["per_prompt"])} per prompt,
{report["audio_seconds"] / report["clips"]:.1f} s each, the judge's {len(report["per_prompt"])} canonical prompts, seed 0, default generation settings).
The generation defaults were chosen with this judge on these prompts and seed (`GENERATION_DEFAULTS` in
`training/embedded/embedded.py` lists the settings tried), so expect a few points less on other seeds.

**Overall (every asked attribute right): {_percent(report["overall"])}**; mean attribute accuracy
{_percent(report["attribute_mean"])}; speed {report["audio_seconds_per_second"]:.1f} s of audio per second on 2 CPU cores.
{_other_seeds_line(report)}
| attribute | accuracy |
|---|---|
{per_attribute}

| prompt | clips passing | codec ceiling |
|---|---|---|
{per_prompt}

(codec ceiling: dataset windows captioned with the prompt, through the codec's encode/decode, judged with it:
the most an LM on this codec can pass.)

## Codec quality

Held-out sound-world clips through the saved codec (encode + decode), from `training/embedded/train_codec.py`:

{codec_lines or "- (no codec report found)"}

## Licence

MIT, like the code. The training data is synthetic and generated by the recipe; no third-party audio or
weights are used.
"""
