"""The one writer: never onto an input, never over a file unless asked, never a half file under the real name."""

from __future__ import annotations

import os

import numpy as np
import pytest
import soundfile

from audiogen_hf.commands.cli import main
from audiogen_hf.output_files import (
    TEMP_MARK,
    OutputExistsError,
    atomic_output,
    check_output_path,
    write_audio,
    write_text,
)


def test_existing_file_is_refused_unless_overwrite(tmp_path):
    target = tmp_path / "keep.wav"
    target.write_bytes(b"user data")
    with pytest.raises(OutputExistsError, match="--overwrite"):
        check_output_path(target)
    with pytest.raises(OutputExistsError):
        write_audio(target, np.zeros(100), 16000)
    assert target.read_bytes() == b"user data"
    write_audio(target, np.zeros((1, 100)), 16000, overwrite=True)
    assert soundfile.info(str(target)).frames == 100


def test_an_input_is_never_an_output_even_with_overwrite(tmp_path):
    source = tmp_path / "in.wav"
    soundfile.write(source, np.zeros(10), 16000)
    for spelled in (source, tmp_path / "." / "in.wav"):
        with pytest.raises(ValueError, match="one of this run's inputs"):
            check_output_path(spelled, overwrite=True, inputs=[None, source])
    link = tmp_path / "link.wav"
    os.symlink(source, link)
    with pytest.raises(ValueError, match="inputs"):
        check_output_path(link, overwrite=True, inputs=[source])


def test_folders_and_unwritable_places_are_refused(tmp_path):
    with pytest.raises(IsADirectoryError, match="folder"):
        check_output_path(tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises((NotADirectoryError, PermissionError, OSError)):
        check_output_path(blocker / "out.wav")
    with pytest.raises(ValueError, match="empty"):
        check_output_path("")
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(PermissionError, match="not writable"):
            check_output_path(locked / "out.wav")


def test_an_error_while_writing_leaves_nothing(tmp_path):
    target = tmp_path / "report.json"
    with pytest.raises(RuntimeError):
        with atomic_output(target) as temporary:
            temporary.write_text("half")
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []
    write_text(target, "{}")
    assert target.read_text() == "{}"
    assert not [p for p in tmp_path.iterdir() if TEMP_MARK in p.name]


def test_a_file_appearing_meanwhile_is_not_replaced(tmp_path):
    target = tmp_path / "race.txt"
    with pytest.raises(OutputExistsError, match="appeared"):
        with atomic_output(target) as temporary:
            temporary.write_text("ours")
            target.write_text("theirs")
    assert target.read_text() == "theirs"
    assert [p.name for p in tmp_path.iterdir()] == ["race.txt"]


def test_cli_refuses_to_overwrite_the_audio_prompt_and_existing_outputs(tmp_path, capsys):
    source = tmp_path / "in.wav"
    soundfile.write(source, np.full(1600, 0.1, dtype=np.float32), 16000)
    before = source.read_bytes()
    common = ["generate", "a tone", "--model", "tiny-random", "--duration", "0.1", "--no-progress"]
    assert main([*common, "--audio-prompt", str(source), "-o", str(source), "--overwrite"]) == 2
    assert "inputs" in capsys.readouterr().err
    assert source.read_bytes() == before
    out = tmp_path / "out.wav"
    out.write_bytes(b"mine")
    assert main([*common, "-o", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert out.read_bytes() == b"mine"
    assert main([*common, "-o", str(out), "--overwrite", "--seed", "0"]) == 0
    assert soundfile.info(str(out)).duration > 0
    folder = tmp_path / "folder.wav"
    folder.mkdir()
    assert main([*common, "-o", str(folder)]) == 2
    assert "is a folder" in capsys.readouterr().err
