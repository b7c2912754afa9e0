"""`audiogen-hf generate --prompts-file` (issue 33): '@file', errors before any model loads, a run killed
with SIGKILL and resumed, 2 processes under torchrun (gloo) giving the 1-process run's files bit for bit, and
best-of-N with a local CLAP model."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from audiogen_hf.bulk import MANIFEST_NAME, Manifest
from audiogen_hf.commands.cli import main

from .test_evaluation_embedders import save_tiny_clap

PROMPTS = "a dog barks\nrain on a roof\n\nwind in the trees\n# not a prompt\na low tone\nsteps\n"

# Kills its own process (SIGKILL: no cleanup runs) after publishing the 3rd clip, before its manifest line.
KILL_AT_THIRD_LINE = """
import os, signal, sys
from audiogen_hf.bulk.manifest import Manifest
original, calls = Manifest.append, []
def append(self, record):
    calls.append(record["file"])
    if len(calls) == 3:
        os.kill(os.getpid(), signal.SIGKILL)
    original(self, record)
Manifest.append = append
from audiogen_hf.commands.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _env() -> dict:
    # one thread in every process: thread counts change float rounding, the compared bits must not
    return dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")


def _args(model, prompts_file, folder) -> list[str]:
    return [
        "generate",
        "--prompts-file",
        str(prompts_file),
        "--output-dir",
        str(folder),
        "--model",
        str(model),
        "--num-per-prompt",
        "2",
        "--batch-size",
        "3",
        "--duration",
        "0.2",
        "--seed",
        "4",
        "--no-progress",
    ]


def _run(*command: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=240)
    if check:
        assert done.returncode == 0, done.stderr[-3000:]
    return done


def _wavs(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.wav"))}


@pytest.fixture(scope="module")
def prompts_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("prompts") / "prompts.txt"
    path.write_text(PROMPTS, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def one_process(tmp_path_factory, saved_audiogen, prompts_file):
    """The reference: one process, as a user would run it."""
    folder = tmp_path_factory.mktemp("one-process")
    _run(sys.executable, "-m", "audiogen_hf", *_args(saved_audiogen, prompts_file, folder))
    return folder


def test_one_process_run_writes_every_clip_and_its_line(one_process):
    records = [json.loads(line) for line in (one_process / MANIFEST_NAME).read_text().splitlines()]
    assert len(records) == len(_wavs(one_process)) == 10
    assert [r["prompt"] for r in records[::2]] == [
        "a dog barks",
        "rain on a roof",
        "wind in the trees",
        "a low tone",
        "steps",
    ]
    assert records[0]["file"] == "0000-a-dog-barks-v00.wav" and records[0]["settings"]["base_seed"] == 4


def test_two_processes_under_torchrun_write_the_same_files(
    tmp_path, saved_audiogen, prompts_file, one_process
):
    folder = tmp_path / "two"
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    done = _run(*launcher, "-m", "audiogen_hf", *_args(saved_audiogen, prompts_file, folder))
    assert "on 2 process(es)" in done.stdout
    assert _wavs(folder) == _wavs(one_process)
    records = [json.loads(line) for line in (folder / MANIFEST_NAME).read_text().splitlines()]
    assert [r["file"] for r in records] == sorted(_wavs(folder))  # one sorted manifest at the end
    assert {r["process"] for r in records} == {0, 1}
    assert not list(folder.glob(".*"))  # no temporary file left


def test_killed_run_resumes_to_the_same_files(tmp_path, saved_audiogen, prompts_file, one_process, capsys):
    folder = tmp_path / "killed"
    args = _args(saved_audiogen, prompts_file, folder)
    killed = _run(sys.executable, "-c", KILL_AT_THIRD_LINE, *args, check=False)
    assert killed.returncode == -9
    assert len(Manifest(folder).records()) == 2 and len(_wavs(folder)) == 3  # the 3rd clip has no line
    assert main(args) == 0  # the same command again (in this process: one thread too)
    assert "8 clips written" in capsys.readouterr().out
    assert _wavs(folder) == _wavs(one_process)
    assert main(args) == 0
    assert "0 clips written to" in capsys.readouterr().out


def test_at_file_reads_the_prompts_file(tmp_path, saved_audiogen, prompts_file, capsys):
    folder = tmp_path / "at"
    argv = ["generate", f"@{prompts_file}", "--output-dir", str(folder), "--model", str(saved_audiogen)]
    assert main(argv + ["--duration", "0.1"]) == 0
    assert len(Manifest(folder).records()) == 5
    assert "5/5" in capsys.readouterr().err  # the progress bar counts clips
    assert not any("prompts" in name for name in _wavs(folder))


@pytest.mark.parametrize(
    "argv, message",
    [
        (["generate", "@missing.txt", "--output-dir", "{d}"], "prompts file 'missing.txt' does not exist"),
        (["generate", "@{p}"], "pass --output-dir DIR"),
        (["generate", "@{p}", "more", "--output-dir", "{d}"], "names a prompts file; give it alone"),
        (["generate"], "give at least one prompt"),
        (["generate", "rain", "--num-per-prompt", "2"], "--num-per-prompt: bulk generation writes a folder"),
        (
            ["generate", "rain", "--rerank", "judge", "--keep", "1"],
            "--rerank, --keep: bulk generation writes a folder",
        ),
        (
            ["generate", "--prompts-file", "{p}", "--output-dir", "{d}", "-o", "x.wav"],
            "--output is for single",
        ),
        (["generate", "--prompts-file", "{p}", "--output-dir", "{d}", "--stream"], "--stream is for single"),
        (["generate", "rain", "--output-dir", "{d}", "--clap", "c"], "pass --rerank clap"),
        (["generate", "rain", "--output-dir", "{d}", "--keep", "1"], "pass --rerank judge"),
        (["generate", "rain", "--output-dir", "{f}"], "is a file"),
        (["generate", "a dog barks", "--output-dir", "{u}"], "no manifest.jsonl"),
    ],
)
def test_bad_bulk_arguments_fail_before_the_model_loads(tmp_path, prompts_file, capsys, argv, message):
    (tmp_path / "file").write_text("x")
    (tmp_path / "user").mkdir()
    (tmp_path / "user" / "0000-a-dog-barks-v00.wav").write_bytes(b"mine")
    names = {"p": prompts_file, "d": tmp_path / "out", "f": tmp_path / "file", "u": tmp_path / "user"}
    argv = [a.format(**names) for a in argv] + ["--model", str(tmp_path / "no-such-model")]
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert (tmp_path / "user" / "0000-a-dog-barks-v00.wav").read_bytes() == b"mine"


def test_rerank_with_a_local_clap_model(tmp_path, saved_audiogen, capsys):
    clap = save_tiny_clap(tmp_path / "clap")
    folder = tmp_path / "best"
    argv = ["generate", "a dog barks", "rain", "--output-dir", str(folder), "--model", str(saved_audiogen)]
    argv += ["--num-per-prompt", "3", "--rerank", "clap", "--clap", clap, "--keep", "2", "--duration", "0.2"]
    assert main(argv + ["--no-progress"]) == 0
    assert "4 clips written" in capsys.readouterr().out
    records = list(Manifest(folder).records().values())
    assert len(records) == len(_wavs(folder)) == 4
    for prompt in ("a dog barks", "rain"):
        kept = sorted((r for r in records if r["prompt"] == prompt), key=lambda r: r["rank"])
        assert [r["rank"] for r in kept] == [1, 2] and kept[0]["score"] >= kept[1]["score"]
        assert kept[0]["scorer"] == "clap" and kept[0]["candidates"] == 3
