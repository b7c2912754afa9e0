"""Bulk generation's library (issue 33): prompts files, names, seeds, batching, per-row generators, the
manifest, resuming and best-of-N, on the tiny models."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import soundfile
import torch

from audiogen_hf.bulk import (
    MANIFEST_NAME,
    ClipRequest,
    Manifest,
    clip_seed,
    generate_batch,
    plan_clips,
    plan_units,
    read_prompts_file,
)
from audiogen_hf.bulk.naming import slugify
from audiogen_hf.output_files import OutputExistsError

PROMPTS = ["a dog barks", "rain on a roof", "a dog barks", "wind"]


def _bulk(model, processor, folder, prompts=PROMPTS, **kwargs):
    kwargs = {"num_per_prompt": 2, "batch_size": 3, "duration": 0.12, "progress": False, **kwargs}
    return generate_batch(model, processor, prompts, folder, **kwargs)


def _wavs(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.wav"))}


def test_prompts_file_text_and_jsonl(tmp_path):
    text = tmp_path / "prompts.txt"
    text.write_text("a dog barks\n\n  # a comment\n  rain  \n", encoding="utf-8")
    assert [r.prompt for r in read_prompts_file(text)] == ["a dog barks", "rain"]
    jsonl = tmp_path / "prompts.jsonl"
    lines = [
        {"prompt": "a dog barks", "seed": 7, "duration": 0.5},
        {"prompt": "rain", "negative_prompt": "thunder", "name": "Soft Rain"},
    ]
    jsonl.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n", encoding="utf-8")
    assert read_prompts_file(jsonl) == [
        ClipRequest("a dog barks", seed=7, duration=0.5),
        ClipRequest("rain", negative_prompt="thunder", name="Soft Rain"),
    ]


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"prompt": "a"}\n{"prompt": "b",}\n', "line 2 is not valid JSON"),
        ('{"prompt": "a", "sed": 3}\n', r"unknown field\(s\) \['sed'\]"),
        ('{"prompt": "a", "duration": -1}\n', "'duration' must be a number of seconds > 0"),
        ('{"prompt": "a", "seed": "3"}\n', "'seed' must be int"),
        ('{"seed": 3}\n', "'prompt' is missing"),
        ("\n# only a comment\n", "holds no prompt"),
    ],
)
def test_bad_prompts_files_name_the_line_and_the_fix(tmp_path, content, message):
    path = tmp_path / "prompts.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        read_prompts_file(path)
    with pytest.raises(FileNotFoundError, match="--prompts-file"):
        read_prompts_file(tmp_path / "missing.txt")


def test_names_are_readable_padded_and_unique():
    assert slugify("A Dog -- barks!  (loudly)") == "a-dog-barks-loudly"
    assert slugify("Café crème") == "cafe-creme"
    assert slugify("犬が吠える") == "clip"
    assert len(slugify("word " * 30)) <= 40
    clips = plan_clips([ClipRequest(p) for p in PROMPTS], num_per_prompt=2, base_seed=0)
    names = [c.file for c in clips]
    assert names[:3] == [
        "0000-a-dog-barks-v00.wav",
        "0000-a-dog-barks-v01.wav",
        "0001-rain-on-a-roof-v00.wav",
    ]
    assert len(set(names)) == len(names)  # the same prompt twice still gets two names


def test_seeds_depend_on_prompt_variant_and_base_seed_only():
    requests = [ClipRequest("a"), ClipRequest("b", seed=40)]
    clips = plan_clips(requests, num_per_prompt=3, base_seed=5)
    assert [c.seed for c in clips[3:]] == [40, 41, 42]  # a JSONL seed is variant 0's
    assert clips[0].seed == clip_seed(5, 0, 0) != clip_seed(6, 0, 0)
    assert len({c.seed for c in clips[:3]}) == 3
    # a longer prompts list leaves the earlier clips' seeds unchanged
    more = plan_clips(requests + [ClipRequest("c")], num_per_prompt=3, base_seed=5)
    assert [c.seed for c in more[:6]] == [c.seed for c in clips]


def test_batches_group_clips_of_one_length_across_prompts():
    requests = [ClipRequest("a"), ClipRequest("b", duration=1.0), ClipRequest("c"), ClipRequest("d")]
    clips = plan_clips(requests, num_per_prompt=2, base_seed=0, frame_rate=50, duration=0.5)
    units = plan_units(clips, batch_size=4)
    batches = [[(c.index, c.variant) for c in u.clips] for u in units]
    assert batches == [[(0, 0), (0, 1), (2, 0), (2, 1)], [(3, 0), (3, 1)], [(1, 0), (1, 1)]]
    assert {c.frames for c in units[0].clips} == {25} and {c.frames for c in units[2].clips} == {50}
    per_prompt = plan_units(clips, batch_size=1, per_prompt=True)
    assert [len(u.batches) for u in per_prompt] == [2, 2, 2, 2]
    with pytest.raises(ValueError, match="--batch-size must be >= 1"):
        plan_units(clips, batch_size=0)


@pytest.mark.parametrize("family", ["audiogen", "magnet"])
def test_one_generator_per_row_draws_what_a_batch_of_one_draws(request, processor, family):
    model = request.getfixturevalue(family)
    texts = ["a dog barks", "a cat meows"]  # the same token length: no padding difference between the runs
    batched = model.generate(
        **processor(text=texts),
        generator=[torch.Generator().manual_seed(s) for s in (3, 7)],
        max_new_tokens=8,
        return_dict_in_generate=True,
    ).sequences
    for row, (text, seed) in enumerate(zip(texts, (3, 7), strict=True)):
        alone = model.generate(
            **processor(text=[text]),
            generator=torch.Generator().manual_seed(seed),
            max_new_tokens=8,
            return_dict_in_generate=True,
        ).sequences
        assert torch.equal(alone[0], batched[row])
    with pytest.raises(ValueError, match="one per batch row"):
        model.generate(**processor(text=texts), generator=[torch.Generator()], max_new_tokens=4)


@pytest.mark.parametrize("family", ["audiogen", "magnet"])
def test_writes_clips_and_a_manifest_line_each(request, processor, tmp_path, family):
    model = request.getfixturevalue(family)
    summary = _bulk(model, processor, tmp_path, model_name="tiny", temperature=2.0)
    assert (summary.written, summary.skipped, summary.generated, summary.processes) == (8, 0, 8, 1)
    assert summary.audio_seconds == pytest.approx(0.96) and summary.audio_seconds_per_second > 0
    records = [json.loads(line) for line in (tmp_path / MANIFEST_NAME).read_text().splitlines()]
    assert [r["file"] for r in records] == sorted(p.name for p in tmp_path.glob("*.wav"))
    first = records[0]
    assert first["prompt"] == "a dog barks" and first["model"] == "tiny" and first["process"] == 0
    assert first["duration"] == pytest.approx(0.12) and first["seed"] == clip_seed(0, 0, 0)
    assert first["settings"]["temperature"] == 2.0 and first["settings"]["batch_size"] == 3
    audio, rate = soundfile.read(tmp_path / first["file"])
    assert rate == model.config.sampling_rate and len(audio) == round(0.12 * rate)


def test_rerun_skips_done_clips_and_remakes_an_interrupted_one(audiogen, processor, tmp_path):
    _bulk(audiogen, processor, tmp_path)
    reference = _wavs(tmp_path)
    manifest = tmp_path / MANIFEST_NAME
    assert _bulk(audiogen, processor, tmp_path).written == 0  # everything done: nothing generated
    # a run killed after publishing clip 5 but before its line, in the middle of writing clip 6's line
    lines = manifest.read_text().splitlines(keepends=True)
    manifest.write_text("".join(lines[:5]) + lines[6][:30])
    torn = tmp_path / lines[6].split('"file": "')[1].split('"')[0]
    torn.unlink()
    stale = tmp_path / f".{torn.stem}.part-999-abcd.wav"  # a clip being written when the run was killed
    stale.write_bytes(b"half")
    with pytest.warns(UserWarning, match="dropped 1 unreadable line"):
        summary = _bulk(audiogen, processor, tmp_path)
    assert (summary.written, summary.skipped) == (3, 5)  # clips 5 and 6 (one batch of 3 remade) and 7
    assert _wavs(tmp_path) == reference  # bit for bit: same batches, same seeds
    assert len(Manifest(tmp_path).records()) == 8
    assert manifest.read_text().count("\n") == 8
    assert not stale.exists()


def test_a_clip_draws_the_same_tokens_whatever_its_batch(audiogen, processor, tmp_path):
    """Per-clip generators: the batch size changes only float rounding (batched matmuls), not the draws."""
    prompts = ["a dog barks", "a cat meows"]  # the same token length: no padding difference
    _bulk(audiogen, processor, tmp_path / "one", prompts, batch_size=1)
    _bulk(audiogen, processor, tmp_path / "four", prompts, batch_size=4)
    one, four = _wavs(tmp_path / "one"), _wavs(tmp_path / "four")
    assert list(one) == list(four)
    for name in one:
        a, b = (soundfile.read(folder / name)[0] for folder in (tmp_path / "one", tmp_path / "four"))
        assert np.abs(a - b).max() < 1e-3 < np.abs(a).max()


def test_folder_checks_refuse_foreign_files_and_changed_settings(audiogen, processor, tmp_path):
    foreign = tmp_path / "user"
    foreign.mkdir()
    (foreign / "0000-a-dog-barks-v00.wav").write_bytes(b"mine")
    with pytest.raises(OutputExistsError, match="no manifest.jsonl"):
        _bulk(audiogen, processor, foreign)
    assert (foreign / "0000-a-dog-barks-v00.wav").read_bytes() == b"mine"
    _bulk(audiogen, processor, foreign, overwrite=True)
    assert soundfile.info(str(foreign / "0000-a-dog-barks-v00.wav")).frames == 1920
    with pytest.raises(ValueError, match="another settings"):
        _bulk(audiogen, processor, foreign, temperature=0.5)
    with pytest.raises(ValueError, match="another seed"):
        _bulk(audiogen, processor, foreign, seed=1)
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="is a file"):
        _bulk(audiogen, processor, tmp_path / "file")


def test_best_of_n_keeps_the_highest_scores(audiogen, processor, tmp_path):
    given = {}

    def loudness(clips, sampling_rate, prompt):
        scores = [float(np.abs(c).mean()) for c in clips]
        given[prompt] = scores
        return scores

    summary = _bulk(audiogen, processor, tmp_path, PROMPTS[:2], num_per_prompt=4, rerank=loudness, keep=2)
    assert (summary.written, summary.generated) == (4, 8)
    records = Manifest(tmp_path).records().values()
    for prompt in PROMPTS[:2]:
        kept = sorted((r for r in records if r["prompt"] == prompt), key=lambda r: r["rank"])
        assert [r["score"] for r in kept] == sorted(given[prompt], reverse=True)[:2]
        assert kept[0]["candidates"] == 4 and kept[0]["scorer"] == "loudness"
    assert (
        _bulk(audiogen, processor, tmp_path, PROMPTS[:2], num_per_prompt=4, rerank=loudness, keep=2).written
        == 0
    )
    judged = _bulk(audiogen, processor, tmp_path / "judge", ["a low tone"], num_per_prompt=2, rerank="judge")
    assert judged.written == 1
    record = next(iter(Manifest(tmp_path / "judge").records().values()))
    assert 0.0 <= record["score"] <= 1.0 and record["scorer"] == "judge"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"keep": 1}, "pass --rerank"),
        ({"rerank": "judge", "keep": 2}, "1 <= keep < num-per-prompt"),
        ({"rerank": "clap"}, "--clap FOLDER"),
        ({"rerank": "best"}, "--rerank must be one of"),
        ({"num_per_prompt": 0}, "--num-per-prompt must be >= 1"),
        ({"duration": 0.0}, "--duration must be > 0"),
    ],
)
def test_bad_arguments_fail_before_generating(audiogen, processor, tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        _bulk(audiogen, processor, tmp_path, **kwargs)
    assert not list(tmp_path.glob("*.wav"))


def test_jsonl_settings_per_prompt_reach_the_clips(audiogen, processor, tmp_path):
    prompts = tmp_path / "prompts.jsonl"
    lines = [
        {"prompt": "a dog barks", "duration": 0.06, "name": "Dog #1", "seed": 11},
        {"prompt": "rain", "negative_prompt": "thunder"},
        {"prompt": "wind"},
    ]
    prompts.write_text("".join(json.dumps(line) + "\n" for line in lines))
    summary = _bulk(audiogen, processor, tmp_path / "out", prompts, guidance_scale=3.0, num_per_prompt=1)
    records = {r["prompt"]: r for r in Manifest(tmp_path / "out").records().values()}
    assert summary.written == 3
    assert records["a dog barks"]["file"] == "0000-dog-1-v00.wav" and records["a dog barks"]["seed"] == 11
    assert records["a dog barks"]["duration"] == pytest.approx(0.06) and records["wind"]["duration"] == 0.12
    assert records["rain"]["negative_prompt"] == "thunder" and records["wind"]["negative_prompt"] is None


def test_magnet_rescoring_takes_per_clip_generators(magnet, paired_audiogen, processor, tmp_path):
    summary = _bulk(magnet, processor, tmp_path, PROMPTS[:2], rescorer=paired_audiogen, rescore_weight=0.5)
    assert summary.written == 4
    record = next(iter(Manifest(tmp_path).records().values()))
    assert record["settings"]["rescorer"] == "AudioGenForConditionalGeneration"


def test_without_accelerate_one_process_works_and_several_say_how_to_install(monkeypatch):
    from audiogen_hf.bulk.processes import process_state, share_of

    monkeypatch.setitem(sys.modules, "accelerate", None)  # makes `import accelerate` fail
    monkeypatch.setenv("WORLD_SIZE", "1")
    state = process_state("cpu")
    assert (state.num_processes, state.is_main_process) == (1, True) and share_of([1, 2], state) == [1, 2]
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(ImportError, match="pip install"):
        process_state("cpu")
