"""The command line: writes one wav per prompt, honours duration and seed, rejects bad arguments."""

import soundfile

from audiogen_hf.commands.cli import main


def test_generate_two_prompts_from_saved_model(tmp_path, saved_audiogen):
    out = tmp_path / "clips" / "out.wav"
    common = [
        "generate",
        "a dog barks",
        "rain",
        "--model",
        str(saved_audiogen),
        "--duration",
        "0.2",
        "--no-progress",
    ]
    assert main(common + ["-o", str(out), "--seed", "1"]) == 0
    first, rate = soundfile.read(tmp_path / "clips" / "out_0.wav")
    assert rate == 16000 and first.shape == (10 * 320,)
    assert main(common + ["-o", str(tmp_path / "again.wav"), "--seed", "1"]) == 0
    assert (soundfile.read(tmp_path / "again_0.wav")[0] == first).all()
    assert main(common + ["-o", str(tmp_path / "other.wav"), "--seed", "2"]) == 0
    assert not (soundfile.read(tmp_path / "other_0.wav")[0] == first).all()


def test_continuation_from_audio_file(tmp_path, saved_audiogen):
    prompt = tmp_path / "prompt.wav"
    soundfile.write(prompt, [0.1, -0.1] * 1600, 16000)
    out = tmp_path / "cont.wav"
    assert (
        main(
            [
                "generate",
                "rain",
                "--model",
                str(saved_audiogen),
                "--duration",
                "0.1",
                "--greedy",
                "--audio-prompt",
                str(prompt),
                "-o",
                str(out),
                "--no-progress",
            ]
        )
        == 0
    )
    assert soundfile.read(out)[0].shape == ((10 + 5) * 320,)


def test_two_step_cfg_flag_writes_the_same_audio(tmp_path, saved_audiogen, monkeypatch):
    from audiogen_hf.models.audiogen.generation_audiogen import AudioGenGenerationMixin

    seen, window = [], AudioGenGenerationMixin._generate_window

    def recording(self, *args, **kwargs):
        seen.append(args[-1] if len(args) == 8 else kwargs.get("two_step", False))
        return window(self, *args, **kwargs)

    monkeypatch.setattr(AudioGenGenerationMixin, "_generate_window", recording)
    outs = []
    for extra in ([], ["--two-step-cfg"]):
        out = tmp_path / f"two_step_{len(extra)}.wav"
        args = ["generate", "rain", "wind", "--model", str(saved_audiogen), "--duration", "0.2", "--greedy"]
        assert main(args + extra + ["--guidance-scale", "3", "-o", str(out), "--no-progress"]) == 0
        outs.append(soundfile.read(tmp_path / f"two_step_{len(extra)}_1.wav")[0])
    assert outs[0].shape == (10 * 320,) and (outs[0] == outs[1]).all()
    assert seen == [False, True]  # the flag reached generate


def test_bad_arguments(tmp_path, saved_audiogen, capsys):
    assert (
        main(
            [
                "generate",
                "rain",
                "--model",
                str(saved_audiogen),
                "--top-p",
                "2",
                "-o",
                str(tmp_path / "x.wav"),
                "--no-progress",
            ]
        )
        == 2
    )
    assert "top_p" in capsys.readouterr().err
    bad_min_p = [
        "generate",
        "rain",
        "--model",
        str(saved_audiogen),
        "--min-p",
        "1.5",
        "-o",
        str(tmp_path / "y.wav"),
    ]
    assert main(bad_min_p + ["--no-progress"]) == 2
    assert "min_p=1.5 is invalid" in capsys.readouterr().err and not (tmp_path / "y.wav").exists()
    assert main(["generate", "rain", "--model", str(saved_audiogen), "-o", str(tmp_path / "x.mp3")]) == 2
    assert "--output must end in .wav" in capsys.readouterr().err  # a non-wav output is refused


def test_judge_command_scores_a_model(tmp_path, saved_audiogen, capsys):
    report = tmp_path / "judge.json"
    assert (
        main(
            [
                "judge",
                str(saved_audiogen),
                "--clips-per-template",
                "1",
                "--duration",
                "0.3",
                "--json",
                str(report),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "overall" in printed.lower()
    import json

    data = json.loads(report.read_text())
    assert 0.0 <= data[0]["overall"] <= 1.0 and data[0]["audio_seconds_per_second"] > 0


def test_magnet_rescoring_and_hybrid_flags(tmp_path, magnet, paired_audiogen, processor, capsys):
    import numpy as np

    magnet.save_pretrained(tmp_path / "magnet")
    processor.save_pretrained(tmp_path / "magnet")
    paired_audiogen.save_pretrained(tmp_path / "audiogen")
    processor.save_pretrained(tmp_path / "audiogen")
    base = ["generate", "rain", "--model", str(tmp_path / "magnet"), "--seed", "0", "--no-progress"]
    assert main(base + ["-o", str(tmp_path / "plain.wav")]) == 0
    rescore = ["--rescorer", str(tmp_path / "audiogen"), "--rescore-weight", "0.8"]
    assert main(base + rescore + ["-o", str(tmp_path / "rescored.wav")]) == 0
    plain, rescored = (soundfile.read(tmp_path / f"{n}.wav")[0] for n in ("plain", "rescored"))
    assert plain.shape == rescored.shape == (48 * 320,) and not np.array_equal(plain, rescored)
    hybrid = ["--hybrid-ar-seconds", "0.2", "--ar-model", str(tmp_path / "audiogen"), "--duration", "1.5"]
    assert main(base + hybrid + ["-o", str(tmp_path / "hybrid.wav")]) == 0
    assert soundfile.read(tmp_path / "hybrid.wav")[0].shape == (75 * 320,)  # past the 1 s window
    capsys.readouterr()
    audiogen_model = ["generate", "rain", "--model", str(tmp_path / "audiogen"), "--no-progress"]
    assert main(audiogen_model + rescore + ["-o", str(tmp_path / "x.wav")]) == 2
    assert "are MAGNeT options" in capsys.readouterr().err
    assert main(base + ["--ar-model", str(tmp_path / "audiogen"), "-o", str(tmp_path / "y.wav")]) == 2
    assert "pass --hybrid-ar-seconds too" in capsys.readouterr().err
    assert (
        main(
            base
            + [
                "--rescorer",
                str(tmp_path / "audiogen"),
                "--rescore-weight",
                "2",
                "-o",
                str(tmp_path / "z.wav"),
            ]
        )
        == 2
    )
    assert "outside [0, 1]" in capsys.readouterr().err
