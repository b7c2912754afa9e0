"""One processor for AudioGen and MAGNeT: the T5 tokenizer for text, EnCodec's feature extractor for audio."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
from transformers import BatchFeature, ProcessorMixin

from ..generation.knob_values import as_python_scalar
from ..generation.limits import DEFAULT_MAX_TEXT_TOKENS
from .file_checks import check_json_files, local_folder, read_json_file
from .loading_checks import check_processor_folder, hub_load_error
from .pairing_checks import check_processor_fits_config


def _as_text_list(text) -> list[str] | None:
    if text is None:
        return None
    texts = [text] if isinstance(text, str) else text
    if not isinstance(texts, (list, tuple)):
        raise TypeError(f"text must be a string or a list of strings, got {type(text).__name__}.")
    if len(texts) == 0:
        raise ValueError("text is an empty list; pass at least one prompt (use '' for an unconditional one).")
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        raise TypeError(
            f"text items must be strings; items {bad} are {[type(texts[i]).__name__ for i in bad]}."
        )
    return list(texts)


# Integer PCM formats (8, 16, 24-in-32 and 32 bit): every one of these is scaled by its full scale. 64-bit
# integers are no PCM format (a list of Python ints becomes int64): refused, since no scale is right for them.
PCM_BITS_LIMIT = 32


def _clip_to_float(clip, index: int) -> torch.Tensor:
    """One clip as a float32 tensor, integer PCM scaled to [-1, 1] by its type's full scale (int16 / 2**15,
    int32 / 2**31, int8 / 2**7; unsigned types centred on their midpoint first), so an int16 file read with
    `soundfile(dtype="int16")` is not fed at 32768x the level."""
    if isinstance(clip, torch.Tensor):
        clip = clip.detach().cpu().numpy() if clip.dtype != torch.bfloat16 else clip.float().cpu().numpy()
    array = np.asarray(clip)
    if array.dtype.kind in "iu":
        bits = array.dtype.itemsize * 8
        if bits > PCM_BITS_LIMIT:
            raise TypeError(
                f"audio clip {index} has dtype {array.dtype}, which is no PCM format (no full scale to divide "
                "by); pass float waveforms in [-1, 1] or 8 / 16 / 32-bit integer PCM (e.g. "
                "soundfile.read(path, dtype='float32'))."
            )
        offset = 2.0 ** (bits - 1) if array.dtype.kind == "u" else 0.0
        return torch.from_numpy((array.astype(np.float64) - offset) / 2.0 ** (bits - 1)).float()
    if array.dtype.kind != "f":
        raise TypeError(
            f"audio clip {index} has dtype {array.dtype}; pass float waveforms in [-1, 1] or integer PCM "
            "(int8 / int16 / int32, uint8 / uint16 / uint32)."
        )
    return torch.from_numpy(array.astype(np.float32))


def _as_waveforms(audio) -> list[torch.Tensor]:
    """Accept one clip (`[samples]` or `[channels, samples]`) or a list/batch of clips; return 2-D float tensors.

    A `[samples, channels]` clip (soundfile's layout) is refused with a hint to transpose: it cannot be told
    from many channels of a few samples, and reading it as such would silently average the audio away."""
    if isinstance(audio, (np.ndarray, torch.Tensor)) and audio.ndim == 3:
        if audio.shape[0] == 0:
            raise ValueError(
                f"audio is a batch of 0 clips (shape {tuple(audio.shape)}); pass at least one waveform."
            )
        clips = list(audio)
    elif isinstance(audio, (np.ndarray, torch.Tensor)) and audio.ndim in (1, 2):
        clips = [audio]
    elif isinstance(audio, (np.ndarray, torch.Tensor)):
        raise ValueError(
            f"audio must be [samples], [channels, samples] or [batch, channels, samples], got shape "
            f"{tuple(audio.shape)}; reshape it (a 0-D value is not a waveform)."
        )
    elif isinstance(audio, (str, bytes)) or not isinstance(audio, Sequence) or len(audio) == 0:
        raise ValueError(
            f"audio must be a waveform array or a non-empty list of waveforms, got {type(audio).__name__}"
            f"{' (empty)' if isinstance(audio, Sequence) and len(audio) == 0 else ''}; load the file first "
            "(e.g. with soundfile) and pass the array."
        )
    elif not isinstance(audio[0], (float, int)):
        clips = list(audio)
    else:
        clips = [np.asarray(audio)]  # a list of numbers: Python ints are int64, refused (no PCM scale)
    out = []
    for i, clip in enumerate(clips):
        try:
            wav = _clip_to_float(clip, i)
        except ValueError as error:  # numpy on a ragged list or non-numeric items
            raise TypeError(
                f"audio clip {i} is not a numeric waveform ({type(clip).__name__}: {error}); pass a float array."
            ) from error
        if wav.ndim == 1:
            wav = wav[None]
        if wav.ndim != 2:
            raise ValueError(
                f"audio clip {i} must be [samples] or [channels, samples], got shape {tuple(wav.shape)}."
            )
        if wav.shape[-1] == 0:
            raise ValueError(f"audio clip {i} is empty (0 samples); pass a non-empty prompt.")
        if wav.shape[0] > wav.shape[1]:
            raise ValueError(
                f"audio clip {i} has shape {tuple(wav.shape)}: more channels than samples, so it looks like "
                "[samples, channels]; pass [channels, samples] (transpose it, e.g. audio.T)."
            )
        if not torch.isfinite(wav).all():
            raise ValueError(f"audio clip {i} contains NaN or inf samples; clean or clip it first.")
        out.append(wav)
    return out


def _check_limit(name: str, value, integer: bool):
    """A processor limit (`max_text_tokens`, `max_audio_seconds`): a positive number (an integer for counts),
    of any numeric type."""
    value = as_python_scalar(value)
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not (0 < value < float("inf")):
        what = "integer" if integer else "number"
        raise ValueError(f"{name}={value!r} is invalid: pass a positive {what}.")
    return value


def _check_sampling_rate(sampling_rate) -> int:
    """A positive whole number of Hz (a float like 44100.0 is accepted, 44100.5 is not)."""
    value = sampling_rate.item() if isinstance(sampling_rate, (np.generic, torch.Tensor)) else sampling_rate
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not np.isfinite(value)
        or value <= 0
        or value != int(value)
    ):
        raise ValueError(
            f"sampling_rate must be a positive whole number of Hz (e.g. 16000), got {sampling_rate!r}; pass the "
            "rate the audio was recorded at."
        )
    return int(value)


def _resample(wav: torch.Tensor, rate: int, target: int) -> torch.Tensor:
    """julius, imported only here: text-only use (and the code exported to the Hub) needs no julius."""
    try:
        import julius
    except ImportError as error:
        raise ImportError(
            f"resampling an audio prompt from {rate} Hz to {target} Hz needs julius: pip install julius (or pass "
            f"audio already at {target} Hz)."
        ) from error
    return julius.resample_frac(wav, rate, target)


def check_against_folder_model(processor, folder: Path | None) -> None:
    """A processor loaded from a model's folder must fit that model's config.json (pairing_checks.py)."""
    if folder is None or not (folder / "config.json").is_file():
        return
    config = read_json_file(folder / "config.json")
    if config.get("model_type") not in ("audiogen", "magnet"):
        return
    # transformers' own sub-configs (defaults filled in), not AutoConfig: the code exported to the Hub runs
    # where our model types are not registered.
    from transformers import EncodecConfig, T5Config

    codec, text = dict(config.get("audio_encoder") or {}), dict(config.get("text_encoder") or {})
    codec.pop("model_type", None), text.pop("model_type", None)
    fields = SimpleNamespace(audio_encoder=EncodecConfig(**codec), text_encoder=T5Config(**text))
    check_processor_fits_config(processor, fields, f"the processor in {folder}")


class AudioGenProcessor(ProcessorMixin):
    """`processor(text=..., audio=..., sampling_rate=...)` -> `input_ids`, `attention_mask` and, for audio
    prompts, `input_values` `[batch, channels, samples]` and `padding_mask`.

    Text follows audiocraft's T5 conditioner: right padding to the longest prompt, no truncation, `</s>`
    appended, and the mask of empty prompts zeroed (an empty text is the unconditional description).
    Audio (`[samples]`, `[channels, samples]` or a batch `[batch, channels, samples]`; float in [-1, 1] or
    int16 / int32 / uint8 PCM, scaled to [-1, 1]) is resampled with julius to the codec's rate and, for a mono
    codec, downmixed by averaging its channels (audiocraft's `convert_audio`); `[samples, channels]` is refused.
    `negative_text=` (one text, or one per prompt) is tokenized the same way but on its own, so it never
    changes the prompts' padding, into `negative_input_ids` / `negative_attention_mask` for `generate()`.
    """

    def __init__(self, feature_extractor, tokenizer):
        super().__init__(feature_extractor, tokenizer)

    def save_pretrained(self, save_directory, *args, **kwargs):
        """transformers' save, plus the processor's code and `auto_map` (see `audiogen_hf.hub`), so
        `AutoProcessor.from_pretrained(folder, trust_remote_code=True)` returns this processor anywhere."""
        from ..hub.folder import processor_folder_writer, save_with_hub_files

        def writer(folder):
            return processor_folder_writer(self, folder)

        return save_with_hub_files(super().save_pretrained, writer, save_directory, *args, **kwargs)

    def push_to_hub(self, repo_id: str, **kwargs) -> str:
        """Upload what `save_pretrained` writes (with the processor's code); see `audiogen_hf.hub.folder`."""
        from ..hub.folder import push_to_hub

        return push_to_hub(self, repo_id, **kwargs)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *args, **kwargs):
        """Refuse a missing folder, one without tokenizer files or with a broken JSON file before transformers'
        loader, and name the folder when the tokenizer or feature extractor still cannot be built."""
        check_processor_folder(pretrained_model_name_or_path)
        folder = local_folder(pretrained_model_name_or_path)
        check_json_files(folder)
        try:
            processor = super().from_pretrained(pretrained_model_name_or_path, *args, **kwargs)
        except OSError as error:
            if folder is not None:
                raise
            raise hub_load_error(pretrained_model_name_or_path, error) from error
        except Exception as error:  # noqa: BLE001  (tokenizers and sentencepiece raise their own types)
            if folder is None:
                raise
            raise OSError(
                f"cannot load the processor from {folder} ({type(error).__name__}: {error}); its tokenizer or "
                "processor files are damaged or do not belong together: save the processor again with "
                "save_pretrained()."
            ) from error
        check_against_folder_model(processor, folder)
        return processor

    def __call__(
        self,
        text=None,
        audio=None,
        sampling_rate: int | None = None,
        negative_text=None,
        max_audio_seconds: float = 600.0,
        max_text_tokens: int = DEFAULT_MAX_TEXT_TOKENS,
        **kwargs,
    ) -> BatchFeature:
        texts = _as_text_list(text)
        max_text_tokens = _check_limit("max_text_tokens", max_text_tokens, integer=True)
        max_audio_seconds = _check_limit("max_audio_seconds", max_audio_seconds, integer=False)
        if texts is None and audio is None:
            raise ValueError("pass text=..., audio=... (with sampling_rate=...), or both.")
        return_tensors = kwargs.pop("return_tensors", "pt")
        kwargs.setdefault("padding", True)
        data: dict = {}
        if texts is not None:
            data["input_ids"], data["attention_mask"] = self._tokenize(texts, max_text_tokens, **kwargs)
        if negative_text is not None:
            negatives = _as_text_list(negative_text)
            if texts is None or len(negatives) not in (1, len(texts)):
                raise ValueError(
                    f"negative_text needs text prompts and gives one negative for all or one per prompt; got "
                    f"{len(negatives)} negatives for {0 if texts is None else len(texts)} prompts."
                )
            data["negative_input_ids"], data["negative_attention_mask"] = self._tokenize(
                negatives, max_text_tokens, **kwargs
            )
        if audio is not None:
            if sampling_rate is None:
                raise ValueError(
                    "an audio prompt needs its sampling_rate=...; the processor resamples it to "
                    f"{self.feature_extractor.sampling_rate} Hz."
                )
            rate = _check_sampling_rate(sampling_rate)
            waveforms = _as_waveforms(audio)
            longest = max(w.shape[-1] for w in waveforms) / rate
            if longest > max_audio_seconds:
                raise ValueError(
                    f"an audio prompt of {longest:g} s is longer than max_audio_seconds={max_audio_seconds:g}; "
                    "trim it (the models keep at most their window, 10 s) or raise max_audio_seconds."
                )
            clips = [self._to_codec_format(w, rate) for w in waveforms]
            if texts is not None and len(clips) != len(texts):
                raise ValueError(
                    f"{len(texts)} texts but {len(clips)} audio prompts; give one audio per text."
                )
            features = self.feature_extractor(
                [c.numpy() for c in clips],
                sampling_rate=self.feature_extractor.sampling_rate,
                padding=True,
                return_tensors="pt",
            )
            data["input_values"] = features["input_values"]
            data["padding_mask"] = features["padding_mask"]
        return BatchFeature(data=data, tensor_type=return_tensors)

    def _tokenize(
        self, texts: list[str], max_text_tokens: int, **kwargs
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Token ids and mask, the mask of empty texts zeroed (audiocraft's empty description); a text longer
        than `max_text_tokens` is refused (generation/limits.py says why)."""
        encoded = self.tokenizer(texts, return_tensors="pt", **kwargs)
        lengths = encoded["attention_mask"].sum(dim=-1)
        if int(lengths.max()) > max_text_tokens:
            index = int(lengths.argmax())
            raise ValueError(
                f"text {index} has {int(lengths[index])} tokens, more than max_text_tokens={max_text_tokens}: "
                "shorten the description or raise max_text_tokens."
            )
        mask = encoded["attention_mask"].clone()
        for i, t in enumerate(texts):
            if t == "":
                mask[i] = 0
        return encoded["input_ids"], mask

    def _to_codec_format(self, wav: torch.Tensor, sampling_rate: int) -> torch.Tensor:
        """audiocraft's `convert_audio`: resample (julius) then average channels down to the codec's."""
        target = self.feature_extractor.sampling_rate
        if sampling_rate <= 0:
            raise ValueError(f"sampling_rate must be a positive number of Hz, got {sampling_rate}.")
        if sampling_rate != target:
            wav = _resample(wav, sampling_rate, target)
        channels = self.feature_extractor.feature_size
        if wav.shape[0] != channels:
            if channels != 1:
                raise ValueError(f"cannot map {wav.shape[0]} channels to the codec's {channels}.")
            wav = wav.mean(dim=0, keepdim=True)
        return wav if channels > 1 else wav[0]

    def batch_decode(self, audio=None, padding_mask=None, **kwargs):
        """Waveforms `[batch, channels, samples]` to a list of numpy arrays, trimming padded samples when a
        `padding_mask` is given. Token ids are decoded with the tokenizer."""
        if audio is None:
            return self.tokenizer.batch_decode(**kwargs)
        if not isinstance(audio, torch.Tensor) or audio.dim() != 3:
            return self.tokenizer.batch_decode(audio, **kwargs)
        out = []
        for i, clip in enumerate(audio.detach().float().cpu()):
            if padding_mask is not None:
                mask = padding_mask[i].bool().cpu()
                keep = torch.ones(clip.shape[-1], dtype=torch.bool)
                keep[: mask.shape[-1]] = mask
                clip = clip[:, keep]
            out.append(clip.numpy())
        return out

    def decode(self, *args, **kwargs):
        return self.tokenizer.decode(*args, **kwargs)

    @property
    def model_input_names(self) -> list[str]:
        return ["input_ids", "attention_mask", "input_values", "padding_mask"]
