"""The web demo: its generate callback (always), the Gradio app over HTTP (when Gradio is installed) and the
page in a real headless Chromium (when Playwright and a Chromium are installed)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys

import numpy as np
import pytest
import soundfile
import torch

from audiogen_hf import MagnetForConditionalGeneration
from audiogen_hf.commands.demo import INSTALL_HINT, DemoGenerator, parse_models
from audiogen_hf.tiny import spread_codebooks, tiny_magnet_config


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory, saved_audiogen, processor):
    path = tmp_path_factory.mktemp("tiny-magnet")
    torch.manual_seed(0)
    magnet = MagnetForConditionalGeneration(tiny_magnet_config()).eval()
    spread_codebooks(magnet)
    magnet.save_pretrained(path)
    processor.save_pretrained(path)
    return {"AudioGen": str(saved_audiogen), "MAGNeT": str(path)}


@pytest.fixture(scope="module")
def generator(tiny_models):
    return DemoGenerator(tiny_models)


def test_callback_generates_seeded_audio_for_both_models(generator):
    for label in ("AudioGen", "MAGNeT"):
        rate, audio = generator(label, "a low tone", 0.6, 3, 0.0, None)
        assert rate == 16000 and audio.dtype == np.int16 and audio.ndim == 1
        # 0.6 s = 30 frames, a whole number of MAGNeT's spans (it rounds down to one)
        assert len(audio) == pytest.approx(0.6 * rate, abs=rate // 50)
        again = generator(label, "a low tone", 0.6, 3, 0.0, None)[1]
        other = generator(label, "a low tone", 0.6, 4, 0.0, None)[1]
        np.testing.assert_array_equal(audio, again)
        assert not np.array_equal(audio, other)
    # guidance maps to each family's knob (AudioGen guidance_scale, MAGNeT max_cfg_coef) and changes the output
    for label in ("AudioGen", "MAGNeT"):
        plain = generator(label, "a low tone", 0.6, 3, 0.0, None)[1]
        guided = generator(label, "a low tone", 0.6, 3, 7.0, None)[1]
        assert not np.array_equal(plain, guided)


def test_callback_continues_an_uploaded_audio_prompt(generator, tmp_path):
    upload = tmp_path / "prompt.wav"
    t = np.arange(13230) / 44100  # 0.3 s at 44.1 kHz, stereo: resampled and downmixed by the processor
    soundfile.write(upload, np.stack([0.1 * np.sin(2 * np.pi * 300 * t)] * 2, axis=1), 44100)
    for label in ("AudioGen", "MAGNeT"):
        rate, continued = generator(label, "a low tone", 0.6, 0, 0.0, str(upload))
        plain = generator(label, "a low tone", 0.6, 0, 0.0, None)[1]
        assert len(continued) - len(plain) == pytest.approx(0.3 * rate, abs=rate // 50)  # the prompt's 0.3 s


def test_callback_infills_an_upload_and_makes_loops_with_magnet(generator, tmp_path):
    upload = tmp_path / "recording.wav"
    soundfile.write(upload, 0.2 * np.random.default_rng(0).standard_normal(16000 * 4 // 5), 16000)
    rate, filled = generator("MAGNeT", "a low tone", 2.0, 0, 0.0, str(upload), 0.3, 0.5)
    assert len(filled) == pytest.approx(0.8 * rate, abs=rate // 50)  # the upload's length, not the duration
    again = generator("MAGNeT", "a low tone", 2.0, 0, 0.0, str(upload), 0.3, 0.5)[1]
    np.testing.assert_array_equal(filled, again)
    rate, looped = generator("MAGNeT", "a low tone", 0.6, 0, 0.0, None, 0.0, 0.0, True)
    plain = generator("MAGNeT", "a low tone", 0.6, 0, 0.0, None)[1]
    assert len(looped) == len(plain) and not np.array_equal(looped, plain)
    with pytest.raises(ValueError, match="give the recording as the audio prompt"):
        generator("MAGNeT", "a low tone", 0.6, 0, 0.0, None, 0.1, 0.2)
    with pytest.raises(ValueError, match="empty or inverted"):
        generator("MAGNeT", "a low tone", 0.6, 0, 0.0, str(upload), 0.5, 0.2)
    with pytest.raises(ValueError, match="are MAGNeT options"):
        generator("AudioGen", "a low tone", 0.6, 0, 0.0, None, 0.0, 0.0, True)


def test_callback_rejects_bad_inputs_with_the_fix(generator):
    with pytest.raises(ValueError, match="write a text prompt"):
        generator("AudioGen", "  ", 1.0, 0)
    with pytest.raises(ValueError, match="duration must be in"):
        generator("AudioGen", "a tone", 0.0, 0)
    with pytest.raises(ValueError, match="seed must be a whole number"):
        generator("AudioGen", "a tone", 1.0, 1.5)
    with pytest.raises(ValueError, match="guidance must be >= 0"):
        generator("AudioGen", "a tone", 1.0, 0, -1.0)
    with pytest.raises(ValueError, match="unknown model 'Nope'"):
        generator("Nope", "a tone", 1.0, 0)
    with pytest.raises(ValueError, match="at least one model"):
        DemoGenerator({})
    assert parse_models(["A=/x", "/models/mine"]) == {"A": "/x", "mine": "/models/mine"}
    assert parse_models(None) is None
    with pytest.raises(ValueError, match="LABEL=PATH"):
        parse_models(["=/x"])


def test_package_imports_without_gradio_and_says_how_to_install_it(monkeypatch, capsys):
    code = (
        "import sys, audiogen_hf.commands.cli, audiogen_hf.commands.demo; assert 'gradio' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    from audiogen_hf.commands import demo

    monkeypatch.setitem(sys.modules, "gradio", None)  # makes `import gradio` fail
    with pytest.raises(ImportError, match=r'pip install "audiogen-hf\[demo\]"'):
        demo.build_demo()
    from audiogen_hf.commands.cli import main

    assert main(["demo", "--model", "x=/nowhere"]) == 2
    assert "needs Gradio" in capsys.readouterr().err
    assert "audiogen-hf[demo]" in INSTALL_HINT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served_demo(generator):
    pytest.importorskip("gradio")
    from audiogen_hf.commands.demo import build_demo

    app = build_demo(generator=generator)
    port = _free_port()
    app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    app.close()


def test_served_app_generates_over_http(served_demo):
    client_module = pytest.importorskip("gradio_client")
    client = client_module.Client(served_demo, verbose=False)
    path = client.predict("MAGNeT", "white noise", 0.6, 1, 0.0, None, api_name="/generate")
    audio, rate = soundfile.read(path)
    assert rate == 16000 and len(audio) == pytest.approx(0.6 * rate, abs=rate // 50)
    with pytest.raises(Exception, match="write a text prompt"):
        client.predict("AudioGen", "", 0.6, 1, 0.0, None, api_name="/generate")


def _chromium() -> str | None:
    return next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


def test_page_in_a_headless_browser_generates_audio(served_demo):
    """A person's path: open the page, pick MAGNeT, type a prompt, press Generate, get a playable clip."""
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = _chromium()
    if executable is None:
        pytest.skip("no Chromium on PATH (Debian: apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(served_demo)
            page.get_by_label("MAGNeT").check()
            # an empty prompt: the page shows the error and its fix
            page.locator("#prompt textarea").fill("")
            page.locator("#generate").click()
            page.get_by_text("write a text prompt").first.wait_for(timeout=30_000)
            page.locator("#prompt textarea").fill("fast high beeps")
            duration = page.locator("#duration input[type=number]")
            duration.fill("0.6")
            duration.press("Enter")
            page.locator("#generate").click()
            audio = page.locator("#output audio[src]").first  # the player, once it has a clip
            audio.wait_for(state="attached", timeout=30_000)
            header = page.evaluate(
                "async src => Array.from(new Uint8Array(await (await fetch(src)).arrayBuffer()).slice(0, 4))",
                audio.get_attribute("src"),
            )
            assert bytes(header) == b"RIFF"  # a wav clip
            seconds = audio.evaluate(
                "el => new Promise(done => el.readyState >= 1 ? done(el.duration)"
                " : el.addEventListener('loadedmetadata', () => done(el.duration)))"
            )
            assert seconds == pytest.approx(0.6, abs=0.03)  # the browser decodes it: 0.6 s
        finally:
            browser.close()
