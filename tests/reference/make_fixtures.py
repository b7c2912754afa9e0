"""Generate tiny audiocraft 1.3.0 reference fixtures for the parity tests.

This script is the ONLY place that imports audiocraft. It runs in the side venv, never in the
project environment:

    bash /work/shared/tools/audiocraft-env/setup.sh          # once: builds /tmp/refvenv
    python3 tests/reference/make_tiny_text_encoders.py        # once: tests/fixtures/tiny_t5_{base,large}
    PYTHONPATH=/work/shared/tools/audiocraft-env/stubs /tmp/refvenv/bin/python tests/reference/make_fixtures.py

(``AC_CONFIG_DIR`` overrides the hydra config tree, default ``${TMPDIR:-/tmp}/ac/audiocraft-1.3.0/config``.)

For each family in ``audiogen``, ``magnet``, ``audio_magnet`` it writes
``tests/fixtures/reference/<family>/``:

- ``state_dict.bin``: LM "checkpoint" in the exact Hub format
  ``{'best_state': flat LMModel state dict (fp16), 'xp.cfg': YAML str, 'version': '1.3.0', 'exported': True}``;
- ``compression_state_dict.bin``: same structure for the EnCodec model (fp32);
- ``reference.pt``: plain dict of tensors / lists / strings / numbers
  (``torch.load(..., weights_only=True)``) with the audiocraft outputs, computed on CPU fp32 with
  the models loaded BACK from the two .bin files through audiocraft's own loaders (so the
  reference runs on the fp16-rounded LM weights upcast to fp32, like a converted model).

Configs come from audiocraft's own hydra tree (``solver=...``), shrunk to tiny sizes; weights are
random but seeded; the tiny T5 encoders from ``tests/fixtures/tiny_t5_*`` are patched in place of
``t5-base`` / ``t5-large``. See tests/reference/README.md for the content of every file.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import audiocraft
import audiocraft.modules.conditioners as ac_conditioners
import torch
from audiocraft.models import builders, loaders
from audiocraft.models.audiogen import AudioGen
from audiocraft.models.magnet import MAGNeT
from audiocraft.modules.conditioners import ConditioningAttributes
from audiocraft.modules.transformer import set_efficient_attention_backend
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from transformers import T5EncoderModel, T5Tokenizer

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
OUT_ROOT = FIXTURES / "reference"
CONFIG_DIR = Path(
    os.environ.get(
        "AC_CONFIG_DIR", Path(os.environ.get("TMPDIR", "/tmp")) / "ac" / "audiocraft-1.3.0" / "config"
    )
)

AC_VERSION = "1.3.0"
SEED = 20240101

# tiny sizes shared by all families
LM_DIM, LM_HEADS, LM_LAYERS, CARD, N_Q = 32, 4, 2, 64, 4
CODEC_DIM, CODEC_FILTERS = 16, 2  # n_filters 2 keeps each codec file ~250 KB (LSTM width = 2 * 2**4 = 32)
# dataset.segment_duration (seconds). MAGNeT: 1 s = 50 frames, not a multiple of span_len 3.
# AudioGen: 3 s = 150 frames, because AudioGen.__init__ calls set_generation_params(duration=5) with the
# default extend_stride=2, which asserts extend_stride < max_duration (so max_duration must be > 2 s).

TEXTS = [
    "a dog barks",
    "heavy rain falls on a tin roof with distant thunder",
    "beeps",
]

TINY_T5 = {"t5-base": FIXTURES / "tiny_t5_base", "t5-large": FIXTURES / "tiny_t5_large"}

FAMILIES = {
    "audiogen": dict(
        solver="audiogen/audiogen_base_16khz",
        codec_solver="compression/encodec_audiogen_16khz",
        t5="t5-large",
        lm_model="transformer_lm",
        sample_rate=16000,
        ratios=[8, 5, 4, 2],
        pad_mode="constant",
        segment_duration=3,
    ),
    "magnet": dict(
        solver="magnet/magnet_32khz",
        codec_solver="compression/encodec_musicgen_32khz",
        t5="t5-base",
        lm_model="transformer_lm_magnet",
        sample_rate=32000,
        ratios=[8, 5, 4, 4],
        # deliberately NOT the config default 'constant': HF's facebook/encodec_32khz uses 'reflect',
        # and a converter must read seanet.pad_mode from the compression xp.cfg.
        pad_mode="reflect",
        segment_duration=1,
    ),
    "audio_magnet": dict(
        solver="magnet/audio_magnet_16khz",
        codec_solver="compression/encodec_audiogen_16khz",
        t5="t5-large",
        lm_model="transformer_lm_magnet",
        sample_rate=16000,
        ratios=[8, 5, 4, 2],
        pad_mode="constant",
        segment_duration=1,
    ),
}


# ----------------------------------------------------------------------------------------------
# tiny T5 in place of t5-base / t5-large


class _TinyT5Tokenizer:
    @staticmethod
    def from_pretrained(name, *args, **kwargs):
        return T5Tokenizer.from_pretrained(str(TINY_T5[name]))


class _TinyT5EncoderModel:
    @staticmethod
    def from_pretrained(name, *args, **kwargs):
        model = T5EncoderModel.from_pretrained(str(TINY_T5[name]))
        assert model.dtype == torch.float32
        return model


def patch_t5():
    ac_conditioners.T5Tokenizer = _TinyT5Tokenizer
    ac_conditioners.T5EncoderModel = _TinyT5EncoderModel


# ----------------------------------------------------------------------------------------------
# configs


def compose_cfg(solver: str, overrides: list[str]):
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.1"):
        return compose(config_name="config", overrides=[f"solver={solver}"] + overrides)


def lm_overrides(fam: dict) -> list[str]:
    return [
        f"transformer_lm.dim={LM_DIM}",
        f"transformer_lm.num_heads={LM_HEADS}",
        f"transformer_lm.num_layers={LM_LAYERS}",
        f"transformer_lm.card={CARD}",
        f"transformer_lm.n_q={N_Q}",
        f"dataset.segment_duration={fam['segment_duration']}",
        f"conditioners.description.t5.name={fam['t5']}",
    ]


def codec_overrides(fam: dict) -> list[str]:
    return [
        f"seanet.dimension={CODEC_DIM}",
        f"seanet.n_filters={CODEC_FILTERS}",
        f"seanet.pad_mode={fam['pad_mode']}",
        f"rvq.bins={CARD}",
        f"rvq.n_q={N_Q}",
    ]


def cpu_copy(cfg):
    cfg = OmegaConf.create(OmegaConf.to_yaml(cfg))
    cfg.device = "cpu"
    cfg.dtype = "float32"
    return cfg


# ----------------------------------------------------------------------------------------------
# deterministic signals


def test_waveform(sample_rate: int, seconds: float, seed: int, n: int = 1) -> torch.Tensor:
    """[n, 1, T] mixture of sines + a little white noise, peak ~0.5."""
    g = torch.Generator().manual_seed(seed)
    T = int(round(sample_rate * seconds))
    t = torch.arange(T, dtype=torch.float64) / sample_rate
    out = []
    for i in range(n):
        freqs = [220.0 * (i + 1), 554.37, 1318.5 + 100 * i]
        x = sum(0.15 * torch.sin(2 * math.pi * f * t + 0.3 * k) for k, f in enumerate(freqs))
        x = x + 0.05 * torch.randn(T, generator=g, dtype=torch.float64)
        out.append(x)
    return torch.stack(out)[:, None].to(torch.float32)


# ----------------------------------------------------------------------------------------------
# build + export


@torch.no_grad()
def init_codebooks(model, sample_rate: int, seed: int):
    """Fill the (zero, un-inited) RVQ codebooks from encoder outputs, like k-means init would."""
    g = torch.Generator().manual_seed(seed)
    wav = torch.cat(
        [
            test_waveform(sample_rate, 2.0, seed, n=2),
            0.3 * torch.randn(2, 1, 2 * sample_rate, generator=g),
        ]
    )
    emb = model.encoder(wav)  # [B, D, T]
    residual = emb.transpose(1, 2).reshape(-1, emb.shape[1])  # [N, D]
    for layer in model.quantizer.vq.layers:
        cb = layer._codebook
        idx = torch.randperm(residual.shape[0], generator=g)[: cb.codebook_size]
        embed = residual[idx].clone()
        cb.embed.copy_(embed)
        cb.embed_avg.copy_(embed)
        cb.cluster_size.fill_(1.0)
        cb.inited.fill_(1.0)
        d = residual.pow(2).sum(1, keepdim=True) - 2 * residual @ embed.t() + embed.pow(2).sum(1)[None]
        residual = residual - embed[d.argmin(-1)]


def export_codec(fam: dict, out_dir: Path, seed: int):
    cfg = compose_cfg(fam["codec_solver"], codec_overrides(fam))
    torch.manual_seed(seed)
    model = builders.get_compression_model(cpu_copy(cfg)).eval()
    assert list(model.encoder.ratios) == list(reversed(fam["ratios"])), model.encoder.ratios
    assert model.sample_rate == fam["sample_rate"] and model.frame_rate == 50
    init_codebooks(model, fam["sample_rate"], seed + 1)
    pkg = {
        "best_state": model.state_dict(),  # fp32, as on the Hub
        "xp.cfg": OmegaConf.to_yaml(cfg),
        "version": AC_VERSION,
        "exported": True,
    }
    torch.save(pkg, out_dir / "compression_state_dict.bin")


def export_lm(fam: dict, out_dir: Path, seed: int):
    cfg = compose_cfg(fam["solver"], lm_overrides(fam))
    assert cfg.lm_model == fam["lm_model"]
    assert cfg.conditioners.description.t5.name == fam["t5"]
    build_cfg = cpu_copy(cfg)
    if fam["lm_model"] == "transformer_lm_magnet":
        # placeholders in the YAML (0 / -1), filled exactly like loaders.load_lm_model_magnet does
        build_cfg.transformer_lm.compression_model_framerate = 50
        build_cfg.transformer_lm.segment_duration = build_cfg.dataset.segment_duration
        build_cfg.transformer_lm.span_len = build_cfg.masking.span_len
    torch.manual_seed(seed)
    lm = builders.get_lm_model(build_cfg).eval()
    state = lm.state_dict()
    assert not any(k.startswith("condition_provider.conditioners.description.t5.") for k in state)
    pkg = {
        # best state saved in fp16 like the released checkpoints (BestStateDictManager dtype)
        "best_state": type(state)((k, v.to(torch.float16)) for k, v in state.items()),
        "xp.cfg": OmegaConf.to_yaml(cfg),  # whole config, unresolved interpolations kept
        "version": AC_VERSION,
        "exported": True,
    }
    torch.save(pkg, out_dir / "state_dict.bin")


# ----------------------------------------------------------------------------------------------
# references


def _tok(conditioner, texts):
    inputs = conditioner.tokenize(list(texts))
    return inputs["input_ids"].clone(), inputs["attention_mask"].clone()


@torch.no_grad()
def text_refs(lm, texts) -> dict:
    cond = lm.condition_provider.conditioners["description"]
    ids, mask = _tok(cond, texts)
    embeds, emask = cond(cond.tokenize(list(texts)))
    cfg_ids, cfg_mask = _tok(cond, list(texts) + [None] * len(texts))
    return {
        "texts": list(texts),
        "input_ids": ids,
        "attention_mask": mask,
        "cond_embeds": embeds.clone(),
        "cfg_texts": list(texts) + [None] * len(texts),
        "cfg_input_ids": cfg_ids,
        "cfg_attention_mask": cfg_mask,
    }


@torch.no_grad()
def logits_refs(lm, texts, seed: int, magnet: bool) -> dict:
    g = torch.Generator().manual_seed(seed)
    B, S = len(texts), 50
    seq = torch.randint(0, CARD + 1, (B, N_Q, S), generator=g)  # includes the special id CARD
    conds = [ConditioningAttributes(text={"description": t}) for t in texts]
    out = {"lm_sequence": seq, "lm_texts": list(texts), "lm_logits": lm(seq, conds).clone()}
    if magnet:
        # stage >= 1 applies the restricted (|i-j| <= subcodes_context) self-attention band
        out["lm_logits_stage1"] = lm(seq, conds, stage=1).clone()
    # null / empty conditioning: description None -> "" -> all-zero mask and zero embeddings
    seq2 = seq[:2, :, :20].clone()
    null_texts = [texts[0], None]
    out["lm_null_texts"] = null_texts
    out["lm_null_sequence"] = seq2
    out["lm_null_logits"] = lm(
        seq2, [ConditioningAttributes(text={"description": t}) for t in null_texts]
    ).clone()
    return out


@torch.no_grad()
def codec_refs(compression_model, sample_rate: int, seed: int) -> dict:
    wav = test_waveform(sample_rate, 1.0, seed)
    codes, scale = compression_model.encode(wav)
    assert scale is None
    latent = compression_model.encoder(wav)
    audio = compression_model.decode(codes, None)
    n_unique = [int(codes[0, k].unique().numel()) for k in range(codes.shape[1])]
    assert min(n_unique) > 5, f"codec codes barely vary: {n_unique}"
    return {
        "codec_wav": wav,
        "codec_latent": latent.clone(),
        "codec_codes": codes.clone(),
        "codec_decoded_latent": compression_model.decode_latent(codes).clone(),
        "codec_audio": audio.clone(),
    }


def _check_varied(tokens: torch.Tensor, name: str):
    n = tokens[:, 0].unique().numel()
    assert n > 3, f"{name}: degenerate generation ({n} distinct codes in codebook 0)"


@torch.no_grad()
def audiogen_refs(cm, lm, sample_rate: int, seed: int) -> dict:
    model = AudioGen("tiny-audiogen", cm, lm)
    assert model.max_duration == 3
    ref: dict = {}

    params = dict(
        use_sampling=False,
        top_k=250,
        top_p=0.0,
        temperature=1.0,
        duration=0.5,
        cfg_coef=3.0,
        two_step_cfg=False,
        extend_stride=0.5,
    )
    model.set_generation_params(**params)
    audio, tokens = model.generate(TEXTS, progress=False, return_tokens=True)
    _check_varied(tokens, "gen_tokens")
    ref.update(
        gen_params=dict(params), gen_texts=list(TEXTS), gen_tokens=tokens.clone(), gen_audio=audio.clone()
    )

    params2 = dict(params, two_step_cfg=True)
    model.set_generation_params(**params2)
    tokens2 = model.generate(TEXTS, progress=False, return_tokens=True)[1]
    ref.update(gen_two_step_params=dict(params2), gen_two_step_tokens=tokens2.clone())

    model.set_generation_params(**params)
    prompt_wav = test_waveform(sample_rate, 0.2, seed + 7, n=2)
    cont_texts = ["a dog barks", "white noise with a soft hiss"]
    tokens3 = model.generate_continuation(
        prompt_wav, sample_rate, descriptions=cont_texts, progress=False, return_tokens=True
    )[1]
    prompt_codes = cm.encode(prompt_wav)[0]
    assert torch.equal(tokens3[..., : prompt_codes.shape[-1]], prompt_codes)
    ref.update(
        cont_params=dict(params),
        cont_texts=cont_texts,
        cont_prompt_wav=prompt_wav,
        cont_prompt_sample_rate=sample_rate,
        cont_prompt_codes=prompt_codes.clone(),
        cont_tokens=tokens3.clone(),
    )

    params4 = dict(params, duration=4.5, extend_stride=1.0)
    model.set_generation_params(**params4)
    tokens4 = model.generate(TEXTS, progress=False, return_tokens=True)[1]
    assert tokens4.shape[-1] == int(4.5 * 50), tokens4.shape
    ref.update(
        long_params=dict(params4),
        long_texts=list(TEXTS),
        long_tokens=tokens4.clone(),
        long_max_duration=float(model.max_duration),
    )

    ref["calls"] = {
        "model": "AudioGen('tiny-audiogen', compression_model, lm)  # max_duration = xp.cfg dataset.segment_duration = 3",
        "gen_tokens": "set_generation_params(**gen_params); generate(gen_texts, return_tokens=True)[1]",
        "gen_audio": "same call, [0] (compression_model.decode(gen_tokens))",
        "gen_two_step_tokens": "set_generation_params(**gen_two_step_params); generate(gen_texts, return_tokens=True)[1]"
        "  # NB two_step_cfg uses lm.cfg_coef (xp.cfg inference_coef 3.0), not the argument",
        "cont_tokens": "set_generation_params(**cont_params); generate_continuation(cont_prompt_wav, "
        "cont_prompt_sample_rate, descriptions=cont_texts, return_tokens=True)[1]  # includes the prompt",
        "cont_prompt_codes": "compression_model.encode(cont_prompt_wav)[0]",
        "long_tokens": "set_generation_params(**long_params); generate(long_texts, return_tokens=True)[1]"
        "  # duration 4.5 s > max_duration 3 s: windows of 150/150/125 frames, stride 50 frames",
    }
    return ref


@torch.no_grad()
@torch.no_grad()
def training_refs(lm, seed: int) -> dict:
    """AudioGen's training objective: `compute_predictions` + the solver's per-codebook cross-entropy."""
    from audiocraft.solvers.musicgen import MusicGenSolver

    g = torch.Generator().manual_seed(seed)
    texts = ["a dog barks", None, "heavy rain falls on a tin roof with distant thunder"]
    codes = torch.randint(0, CARD, (len(texts), N_Q, 30), generator=g)
    conds = [ConditioningAttributes(text={"description": t}) for t in texts]
    out = lm.compute_predictions(codes, conds)
    ce, _ = MusicGenSolver._compute_cross_entropy(None, out.logits, codes, out.mask)
    return {
        "train_texts": texts,
        "train_codes": codes,
        "train_logits": out.logits.clone(),
        "train_mask": out.mask.clone(),
        "train_ce": ce.clone(),
        "train_calls": "lm.compute_predictions(train_codes, conds(train_texts)); "
        "MusicGenSolver._compute_cross_entropy(logits, train_codes, mask)",
    }


def magnet_refs(cm, lm) -> dict:
    model = MAGNeT(name="tiny-magnet", compression_model=cm, lm=lm)
    assert model.duration == 1
    ref: dict = {}
    calls = {
        "model": "MAGNeT(name='tiny-magnet', compression_model=compression_model, lm=lm)"
        "  # duration fixed to xp.cfg dataset.segment_duration = 1 s = 50 frames"
    }
    for arrangement in ["nonoverlap", "stride1"]:
        params = dict(
            use_sampling=False,
            top_k=0,
            top_p=0.9,
            temperature=3.0,
            max_cfg_coef=10.0,
            min_cfg_coef=1.0,
            decoding_steps=[3, 2, 2, 2],
            span_arrangement=arrangement,
        )
        model.set_generation_params(**params)
        tokens = model.generate(TEXTS, progress=False, return_tokens=True)[1]
        expected_T = 48 if arrangement == "nonoverlap" else 50  # nonoverlap trims to a multiple of span_len
        assert tokens.shape == (len(TEXTS), N_Q, expected_T), tokens.shape
        _check_varied(tokens, f"{arrangement}_tokens")
        ref[f"{arrangement}_params"] = params
        ref[f"{arrangement}_tokens"] = tokens.clone()
        calls[f"{arrangement}_tokens"] = (
            f"set_generation_params(**{arrangement}_params); generate(gen_texts, return_tokens=True)[1]"
        )
    ref["gen_texts"] = list(TEXTS)
    ref["calls"] = calls
    return ref


def make_family(name: str, fam: dict, seed: int):
    out_dir = OUT_ROOT / name
    out_dir.mkdir(parents=True, exist_ok=True)
    magnet = fam["lm_model"] == "transformer_lm_magnet"
    set_efficient_attention_backend("torch")  # process default; the MAGNeT loader switches to xformers

    export_codec(fam, out_dir, seed)
    export_lm(fam, out_dir, seed + 100)

    # ---- load back through audiocraft's own loaders (CPU -> fp32, fp16-rounded LM weights)
    cm = loaders.load_compression_model(str(out_dir / "compression_state_dict.bin"), device="cpu")
    if magnet:
        lm = loaders.load_lm_model_magnet(
            str(out_dir / "state_dict.bin"), compression_model_frame_rate=int(cm.frame_rate), device="cpu"
        )
    else:
        lm = loaders.load_lm_model(str(out_dir / "state_dict.bin"), device="cpu")
    assert next(lm.parameters()).dtype == torch.float32
    from audiocraft.modules import transformer as ac_transformer

    backend = ac_transformer._efficient_attention_backend

    torch.manual_seed(seed + 200)
    ref: dict = {
        "family": name,
        "audiocraft_version": str(audiocraft.__version__),
        "torch_version": str(torch.__version__),
        "device": "cpu",
        "dtype": "float32",
        "efficient_attention_backend": backend,
        "solver": fam["solver"],
        "codec_solver": fam["codec_solver"],
        "lm_model": fam["lm_model"],
        "text_encoder_name": fam["t5"],
        "text_encoder_fixture": str(TINY_T5[fam["t5"]].relative_to(ROOT)),
        "sample_rate": int(cm.sample_rate),
        "frame_rate": int(cm.frame_rate),
        "card": CARD,
        "n_q": N_Q,
        "segment_duration": fam["segment_duration"],
        "codec_pad_mode": fam["pad_mode"],
        "load_calls": {
            "compression_model": "loaders.load_compression_model('<dir>/compression_state_dict.bin', device='cpu')",
            "lm": (
                "loaders.load_lm_model_magnet('<dir>/state_dict.bin', compression_model_frame_rate=50, "
                "device='cpu')"
                if magnet
                else "loaders.load_lm_model('<dir>/state_dict.bin', device='cpu')"
            ),
        },
    }
    ref.update(text_refs(lm, TEXTS))
    ref.update(logits_refs(lm, TEXTS, seed + 300, magnet))
    ref["lm_calls"] = {
        "cond_embeds": "c = lm.condition_provider.conditioners['description']; c(c.tokenize(texts))[0]",
        "input_ids/attention_mask": "c.tokenize(texts)",
        "cfg_input_ids/cfg_attention_mask": "c.tokenize(texts + [None]*B)  # CFG batch as in generate()",
        "lm_logits": "lm(lm_sequence, [ConditioningAttributes(text={'description': t}) for t in lm_texts])"
        "  # [B, K, S, card], stage=-1",
        "lm_logits_stage1": "lm(lm_sequence, conds, stage=1)  # MAGNeT restricted band attention",
        "lm_null_logits": "lm(lm_null_sequence, conds(lm_null_texts))  # second description is None",
    }
    ref.update(codec_refs(cm, int(cm.sample_rate), seed + 400))
    ref["codec_calls"] = {
        "codec_codes": "compression_model.encode(codec_wav)[0]  # [1, 4, 50]",
        "codec_latent": "compression_model.encoder(codec_wav)  # pre-quantizer [1, D, 50]",
        "codec_decoded_latent": "compression_model.decode_latent(codec_codes)  # quantizer.decode",
        "codec_audio": "compression_model.decode(codec_codes, None)",
    }
    if magnet:
        ref.update(magnet_refs(cm, lm))
    else:
        ref.update(audiogen_refs(cm, lm, int(cm.sample_rate), seed + 500))
        ref.update(training_refs(lm, seed + 600))

    torch.save(ref, out_dir / "reference.pt")
    # self-check: loadable without pickle of arbitrary objects
    for f in ["reference.pt", "state_dict.bin", "compression_state_dict.bin"]:
        torch.load(out_dir / f, weights_only=True)
    sizes = {f.name: f.stat().st_size for f in sorted(out_dir.iterdir())}
    print(f"[{name}] backend={backend} {sizes}")


def main():
    assert audiocraft.__version__ == AC_VERSION, audiocraft.__version__
    assert CONFIG_DIR.is_dir(), f"hydra config tree not found: {CONFIG_DIR}"
    for p in TINY_T5.values():
        assert (p / "model.safetensors").is_file(), f"run make_tiny_text_encoders.py first ({p})"
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    patch_t5()
    only = sys.argv[1:] or list(FAMILIES)
    for i, name in enumerate(FAMILIES):
        if name in only:
            make_family(name, FAMILIES[name], SEED + 1000 * i)


if __name__ == "__main__":
    main()
