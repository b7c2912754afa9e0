"""The thread policy: the user's choice wins, small models get one thread, big ones the free cores; --threads."""

from __future__ import annotations

import pytest
import torch

from audiogen_hf import choose_threads
from audiogen_hf.commands.cli import main
from audiogen_hf.generation.threads import (
    SMALL_DECODER_PARAMETERS,
    apply_thread_policy,
    decoder_parameter_count,
)
from tests.conftest import make_tiny_audiogen

BIG = 400_000_000
SMALL = 2_000_000


def test_small_decoders_get_one_thread_whatever_the_cores():
    for cores in (1, 2, 16):
        choice = choose_threads(SMALL, cores)
        assert choice.threads == 1 and "overhead-bound" in choice.reason
    assert choose_threads(SMALL_DECODER_PARAMETERS - 1, 8).threads == 1


def test_big_decoders_get_the_cores_that_are_not_busy():
    assert choose_threads(BIG, 2).threads == 2
    assert choose_threads(SMALL_DECODER_PARAMETERS, 16).threads == 16
    assert choose_threads(BIG, 2, load_average=0.4).threads == 2  # idle: this process is the load
    assert choose_threads(BIG, 2, load_average=1.2).threads == 2
    assert choose_threads(BIG, 2, load_average=2.0).threads == 1  # one other job: one core left
    assert choose_threads(BIG, 2, load_average=9.0).threads == 1  # never fewer than one
    assert choose_threads(BIG, 16, load_average=5.0).threads == 12
    assert "load average 5.00" in choose_threads(BIG, 16, load_average=5.0).reason


def test_the_users_choice_wins_in_order():
    env = {"OMP_NUM_THREADS": "3"}
    assert choose_threads(SMALL, 2, requested=4, environ=env, torch_threads=5).threads == 4
    choice = choose_threads(SMALL, 2, environ=env, torch_threads=5)
    assert choice.threads == 3 and choice.reason == "OMP_NUM_THREADS=3"
    choice = choose_threads(SMALL, 8, environ={"OMP_NUM_THREADS": " "}, torch_threads=5)
    assert choice.threads == 5 and choice.reason == "torch.set_num_threads"
    # torch's default (one thread per usable core) is not a user's choice: the size rule applies
    assert choose_threads(SMALL, 8, torch_threads=8).threads == 1
    assert choose_threads(BIG, 8, torch_threads=8).threads == 8


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"requested": 0}, "--threads must be a whole number of threads >= 1, got 0"),
        ({"requested": 1.5}, "--threads must be"),
        ({"requested": True}, "--threads must be"),
        ({"environ": {"OMP_NUM_THREADS": "two"}}, "OMP_NUM_THREADS must be .* got 'two'; set it to e.g. 1"),
        ({"environ": {"OMP_NUM_THREADS": "-1"}}, "OMP_NUM_THREADS must be"),
        ({"torch_threads": 0}, "torch.get_num_threads\\(\\) must be"),
    ],
)
def test_bad_counts_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        choose_threads(SMALL, 2, **kwargs)
    with pytest.raises(ValueError, match="number of cores"):
        choose_threads(SMALL, 0)


def test_decoder_parameter_count_and_apply():
    model = make_tiny_audiogen()
    count = decoder_parameter_count(model)
    assert count == sum(p.numel() for p in model.decoder.parameters()) and count < SMALL_DECODER_PARAMETERS
    previous = torch.get_num_threads()
    try:
        assert apply_thread_policy(model, requested=1).threads == 1 and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(previous)


def test_cli_threads_option_is_applied_then_restored(tmp_path, saved_audiogen, capsys, monkeypatch):
    seen = []
    from audiogen_hf import AudioGenForConditionalGeneration

    original = AudioGenForConditionalGeneration.generate

    def spy(self, *args, **kwargs):
        seen.append(torch.get_num_threads())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(AudioGenForConditionalGeneration, "generate", spy)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    previous = torch.get_num_threads()
    common = ["generate", "rain", "--model", str(saved_audiogen), "--duration", "0.1", "--no-progress"]
    assert main(common + ["-o", str(tmp_path / "a.wav"), "--threads", "2"]) == 0
    assert "using 2 CPU threads (--threads)" in capsys.readouterr().err
    torch.set_num_threads(2)  # torch's default here would be the usable cores; make it look so
    monkeypatch.setattr("audiogen_hf.generation.threads.usable_cores", lambda: 2)
    assert main(common + ["-o", str(tmp_path / "b.wav")]) == 0
    assert "using 1 CPU thread (small decoder" in capsys.readouterr().err
    assert seen == [2, 1] and torch.get_num_threads() == 2
    torch.set_num_threads(previous)
    with pytest.raises(SystemExit):
        main(common + ["-o", str(tmp_path / "c.wav"), "--threads", "0"])
    assert "must be a whole number of threads >= 1, got '0'" in capsys.readouterr().err
