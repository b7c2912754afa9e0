"""Build the tiny T5 text encoders used by the parity fixtures.

Run with the project's python (transformers 5.x, sentencepiece, torch; no audiocraft):

    python3 tests/reference/make_tiny_text_encoders.py

Writes (deterministic, idempotent):

- ``tests/fixtures/tiny_t5_base/``  : T5 tokenizer + random ``T5EncoderModel`` with d_model=768
  (the width of ``t5-base``, used by music MAGNeT);
- ``tests/fixtures/tiny_t5_large/`` : same tokenizer + random ``T5EncoderModel`` with d_model=1024
  (the width of ``t5-large``, used by AudioGen and audio-MAGNeT).

The tokenizer is a sentencepiece unigram model trained on a few sound captions, converted to a
transformers ``T5Tokenizer`` with ``T5Tokenizer(vocab=[(piece, score), ...], extra_ids=0)``
(``T5Tokenizer(vocab_file=...)`` silently builds a 4-token vocabulary in transformers 5.x).
Ids: ``<pad>``=0, ``</s>``=1 (appended to every sequence), ``<unk>``=2.

The encoder weights are stored as fp16 in ``model.safetensors`` (to keep each folder small) while
``config.json`` says ``float32``: ``from_pretrained`` (dtype "auto" reads the config) builds an fp32
model holding the fp16-rounded values, so every consumer runs exactly the same fp32 numbers.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import sentencepiece as spm
import torch
from safetensors.torch import load_file, save_file
from transformers import T5Config, T5EncoderModel, T5Tokenizer

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
SEED = 1234
VOCAB_SIZE = 160

CAPTIONS = [
    "a dog is barking loudly in the distance",
    "two dogs bark while a man whistles",
    "heavy rain falls on a tin roof",
    "light rain and distant thunder",
    "a car engine starts and revs up",
    "a truck engine idles then drives away",
    "a motorcycle accelerates past on the road",
    "a pure sine tone at 440 hertz",
    "a low frequency tone slowly rising in pitch",
    "short electronic beeps repeating every second",
    "a microwave beeps three times",
    "white noise with a soft hiss",
    "pink noise fading in and out",
    "birds chirping in a quiet forest",
    "a crowd cheering and clapping in a stadium",
    "footsteps on a wooden floor",
    "a door creaks open and slams shut",
    "wind blowing through the trees",
    "ocean waves crashing on the shore",
    "a baby cries while a woman speaks softly",
    "a man speaking over a loudspeaker",
    "a siren wails as an ambulance passes by",
    "a clock ticking in an empty room",
    "a cat meows and purrs",
    "glass shattering on a concrete floor",
    "a helicopter flying overhead",
    "a train horn blows as the train passes",
    "water dripping into a metal sink",
    "keyboard typing and mouse clicks",
    "a phone ringing twice then silence",
    "an alarm clock buzzing in the morning",
    "a chainsaw cutting through wood",
    "rain on a window with traffic noise",
    "a dog barks and a car horn honks",
    "a high pitched beep followed by static noise",
    "an airplane engine humming steadily",
    "people talking in a busy restaurant",
    "a fire crackling in a fireplace",
    "a bell ringing in a church tower",
    "a frog croaking near a pond at night",
    "thunder rumbles and heavy rain pours",
    "a drill whirring and a hammer knocking",
]

# Prompts used by the checks below (and by make_fixtures.py): different token lengths, one empty.
CHECK_TEXTS = ["a dog", "", "heavy rain on a tin roof with distant thunder"]


def train_sentencepiece(workdir: Path) -> Path:
    corpus = workdir / "corpus.txt"
    corpus.write_text("\n".join(CAPTIONS) + "\n", encoding="utf-8")
    prefix = workdir / "spiece"
    spm.SentencePieceTrainer.train(
        input=str(corpus),
        model_prefix=str(prefix),
        model_type="unigram",
        vocab_size=VOCAB_SIZE,
        hard_vocab_limit=False,
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        pad_piece="<pad>",
        eos_piece="</s>",
        unk_piece="<unk>",
        # identity normalisation keeps spiece.model / tokenizer.json tiny (no precompiled charsmap);
        # captions are plain lower-case ASCII so nothing is lost.
        normalization_rule_name="identity",
        character_coverage=1.0,
        num_threads=1,
        seed_sentencepiece_size=100000,
        shuffle_input_sentence=False,
        minloglevel=2,
    )
    # drop the temp-dir paths recorded in the trainer spec so the file is byte-identical across runs
    from sentencepiece import sentencepiece_model_pb2 as sp_pb2

    path = prefix.with_suffix(".model")
    proto = sp_pb2.ModelProto.FromString(path.read_bytes())
    del proto.trainer_spec.input[:]
    proto.trainer_spec.model_prefix = "spiece"
    path.write_bytes(proto.SerializeToString())
    return path


def build_tokenizer(spm_path: Path) -> T5Tokenizer:
    sp = spm.SentencePieceProcessor(model_file=str(spm_path))
    assert sp.pad_id() == 0 and sp.eos_id() == 1 and sp.unk_id() == 2, "special ids"
    vocab = [(sp.id_to_piece(i), float(sp.get_score(i))) for i in range(sp.get_piece_size())]
    tok = T5Tokenizer(vocab=vocab, extra_ids=0)
    assert tok.pad_token_id == 0 and tok.eos_token_id == 1 and tok.unk_token_id == 2
    assert len(tok) == sp.get_piece_size(), (len(tok), sp.get_piece_size())
    return tok


def build_encoder(d_model: int, vocab_size: int, seed: int) -> T5EncoderModel:
    config = T5Config(
        vocab_size=vocab_size,
        d_model=d_model,
        d_kv=8,
        num_heads=2,
        d_ff=32,
        num_layers=1,
        num_decoder_layers=1,
        relative_attention_num_buckets=32,
        relative_attention_max_distance=128,
        dropout_rate=0.0,
        feed_forward_proj="relu",
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,
        dtype="float32",
    )
    torch.manual_seed(seed)
    model = T5EncoderModel(config).eval()
    # T5's default init (factor 1.0) gives huge embeddings (std 1.0 over d_model); rescale every
    # weight to a modest range so the tiny model's outputs are O(1) and well conditioned.
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if p.ndim == 1:  # layer norm weights
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(
                    torch.randn(p.shape, generator=g) * (0.5 if "embed" in name or "shared" in name else 0.1)
                )
    return model


def save_encoder(model: T5EncoderModel, tok: T5Tokenizer, spm_path: Path, out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    shutil.copyfile(spm_path, out / "spiece.model")
    # store the weights as fp16 (see module docstring); config.json keeps dtype float32
    st = out / "model.safetensors"
    sd = load_file(str(st))
    save_file(
        {k: v.to(torch.float16).contiguous() for k, v in sorted(sd.items())},
        str(st),
        metadata={"format": "pt"},
    )
    cfg = json.loads((out / "config.json").read_text())
    assert cfg.get("dtype", cfg.get("torch_dtype")) == "float32", cfg.get("dtype")


def check_folder(out: Path, spm_path: Path, d_model: int) -> None:
    tok = T5Tokenizer.from_pretrained(out)
    sp = spm.SentencePieceProcessor(model_file=str(spm_path))
    # "slow" reference: raw sentencepiece + </s>; also transformers' own spiece.model conversion path
    tmp = Path(tempfile.mkdtemp())
    try:
        shutil.copyfile(spm_path, tmp / "spiece.model")
        tok_spm = T5Tokenizer.from_pretrained(tmp, extra_ids=0)
    finally:
        shutil.rmtree(tmp)
    texts = CAPTIONS + CHECK_TEXTS + ["A Dog  barks!", "zebra xylophone quux", "  leading space", "tone 440"]
    for t in texts:
        ids = tok(t)["input_ids"]
        ref = sp.encode(t) + [1]
        assert ids == ref, (t, ids, ref)
        ids2 = tok_spm(t)["input_ids"]
        assert ids2 == ref, ("spiece.model conversion differs", t, ids2, ref)
    enc = tok(["a dog", ""], padding=True)
    n = len(sp.encode("a dog"))
    assert enc["input_ids"][0] == sp.encode("a dog") + [1], enc
    assert enc["input_ids"][1] == [1] + [0] * n, enc
    assert enc["attention_mask"] == [[1] * (n + 1), [1] + [0] * n], enc

    model = T5EncoderModel.from_pretrained(out)
    assert model.dtype == torch.float32, model.dtype
    assert model.config.d_model == d_model
    assert model.config.vocab_size == len(tok)
    batch = tok(CHECK_TEXTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        h = model(**batch).last_hidden_state
    assert h.shape[-1] == d_model and torch.isfinite(h).all()
    size = sum(f.stat().st_size for f in out.iterdir())
    assert size < 800_000, f"{out} is {size} bytes"
    print(
        f"{out.relative_to(ROOT)}: vocab {len(tok)}, d_model {d_model}, {size} bytes, "
        f"ids('a dog')={enc['input_ids'][0]}, hidden std {h.std().item():.3f}"
    )


def main() -> None:
    torch.use_deterministic_algorithms(True)
    with tempfile.TemporaryDirectory() as td:
        spm_path = train_sentencepiece(Path(td))
        tok = build_tokenizer(spm_path)
        for name, d_model, seed in [("tiny_t5_base", 768, SEED), ("tiny_t5_large", 1024, SEED + 1)]:
            out = FIXTURES / name
            save_encoder(build_encoder(d_model, len(tok), seed), tok, spm_path, out)
            check_folder(out, spm_path, d_model)


if __name__ == "__main__":
    main()
