"""Meta's seven releases convert by name (issue 31 item 3), offline, from exports laid out as in the Hub cache;
`--push-to-hub` uploads a complete repo (weights, code, card); cards validate (item 2)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from huggingface_hub import ModelCard

from audiogen_hf.hub.model_card import CardFacts, ModelCardError, render_model_card, validate_model_card
from audiogen_hf.hub.releases import RELEASES
from conversion.convert_audiocraft import main as convert_main

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
EXPORT_OF = {"audiogen": "audiogen", "magnet": "magnet", "audio-magnet": "audio_magnet"}
COMMIT = "0" * 40


def _fixture_for(hub_id: str) -> Path:
    name = hub_id.rpartition("/")[2]
    kind = (
        "audiogen" if name.startswith("audiogen") else "audio-magnet" if "audio-magnet" in name else "magnet"
    )
    return FIXTURES / "reference" / EXPORT_OF[kind]


def _add_to_cache(cache: Path, repo_id: str, source: Path) -> None:
    """A Hub cache entry (`models--org--name/snapshots/<commit>`, `refs/main`) as huggingface_hub writes it."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / COMMIT
    snapshot.mkdir(parents=True, exist_ok=True)
    for file in source.iterdir():
        if file.is_file() and file.suffix != ".pt":
            shutil.copy(file, snapshot / file.name)
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(COMMIT)


@pytest.fixture(scope="module")
def hub_cache(tmp_path_factory) -> Path:
    cache = tmp_path_factory.mktemp("hub-cache")
    for hub_id in RELEASES:
        _add_to_cache(cache, hub_id, _fixture_for(hub_id))
    _add_to_cache(cache, "google-t5/t5-base", FIXTURES / "tiny_t5_base")
    _add_to_cache(cache, "google-t5/t5-large", FIXTURES / "tiny_t5_large")
    return cache


def test_all_seven_releases_convert_by_name(hub_cache, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "HF_HOME"}
    env.update(HF_HUB_CACHE=str(hub_cache), HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    out = tmp_path / "converted"
    done = subprocess.run(
        [sys.executable, str(ROOT / "conversion" / "convert_audiocraft.py"), "--all", "--output", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert sorted(p.name for p in out.iterdir()) == sorted(r.name for r in RELEASES.values())
    for hub_id, release in RELEASES.items():
        folder = out / release.name
        config = json.loads((folder / "config.json").read_text())
        assert config["model_type"] == release.family and "auto_map" in config
        assert (folder / f"modeling_{release.family}.py").is_file()
        meta = validate_model_card((folder / "README.md").read_text()).data.to_dict()
        assert meta["license"] == "cc-by-nc-4.0" and meta["base_model"] == hub_id
        assert meta["library_name"] == "transformers" and meta["pipeline_tag"] == "text-to-audio"
        expected_t5 = release.text_encoder.rpartition("/")[2]
        assert expected_t5 in (folder / "README.md").read_text()


def test_a_release_whose_files_are_another_family_is_refused(tmp_path, monkeypatch):
    from audiogen_hf.conversion import CheckpointError, convert

    monkeypatch.setattr(
        convert, "resolve_checkpoint_files", lambda _: _files(_fixture_for("facebook/audiogen-medium"))
    )
    with pytest.raises(CheckpointError, match="is a magnet release but its xp.cfg describes a audiogen"):
        convert.from_audiocraft("facebook/magnet-small-10secs", text_encoder=FIXTURES / "tiny_t5_large")


def _files(folder: Path):
    return folder / "state_dict.bin", folder / "compression_state_dict.bin"


class FakeHfApi:
    """Records what would be uploaded: the repo, and the files of the folder at upload time."""

    calls: list = []

    def __init__(self, token=None):
        self.token = token

    def create_repo(self, repo_id, private=None, exist_ok=False):
        FakeHfApi.calls.append(("create_repo", repo_id))

    def file_exists(self, repo_id, filename, revision=None):
        return False

    def upload_folder(self, repo_id, folder_path, allow_patterns, **kwargs):
        import fnmatch

        files = sorted(
            p.name
            for p in Path(folder_path).iterdir()
            if any(fnmatch.fnmatch(p.name, pattern) for pattern in allow_patterns)
        )
        card = (Path(folder_path) / "README.md").read_text() if "README.md" in files else ""
        FakeHfApi.calls.append(("upload_folder", repo_id, files, card))
        return f"https://huggingface.co/{repo_id}/commit/{COMMIT}"


@pytest.fixture
def fake_hub(monkeypatch):
    import huggingface_hub

    FakeHfApi.calls = []
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeHfApi)
    # The push checks that run before any work (core.hub_access) must see a reachable Hub and a login.
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: "hf_fake_token")
    return FakeHfApi.calls


def test_push_to_hub_uploads_a_complete_repo(fake_hub, tmp_path):
    checkpoint = _fixture_for("facebook/audio-magnet-small")
    argv = ["--checkpoint", str(checkpoint), "--output", str(tmp_path / "out"), "--push-to-hub", "me/tiny-hf"]
    assert convert_main([*argv, "--text-encoder", str(FIXTURES / "tiny_t5_large")]) == 0
    (_, created), (_, repo, files, card) = fake_hub
    assert created == repo == "me/tiny-hf"
    assert {
        "config.json",
        "model.safetensors",
        "README.md",
        "processor_config.json",
        "tokenizer.json",
    } <= set(files)
    assert {"modeling_magnet.py", "configuration_magnet.py", "processing_audiogen.py"} <= set(files)
    meta = validate_model_card(card).data.to_dict()
    assert meta["license"] == "other" and meta["license_name"].startswith("same as ")  # not a Meta release
    assert "base_model" not in meta  # a local folder is no Hub id


def test_model_push_to_hub_keeps_code_and_card(fake_hub, audiogen):
    audiogen.push_to_hub("me/tiny-audiogen", private=True)
    (_, created), (_, repo, files, card) = fake_hub
    assert repo == "me/tiny-audiogen" and "modeling_audiogen.py" in files and "model.safetensors" in files
    assert "audiogen-hf card" in card  # ours, not transformers' generic card
    with pytest.raises(TypeError, match="does not support"):
        audiogen.push_to_hub("me/x", tags=["a"])


def test_save_pretrained_push_uploads_after_the_code_is_written(fake_hub, audiogen, tmp_path):
    audiogen.save_pretrained(tmp_path / "m", push_to_hub=True, repo_id="me/saved")
    (_, repo, files, _card) = fake_hub[-1]
    assert repo == "me/saved" and "modeling_audiogen.py" in files


def test_training_card_validates():
    from training.hub import model_card

    text = model_card("magnet", "facebook/audio-magnet-small", {"lr": 1e-4}, 2.5, dataset="me/sounds")
    meta = ModelCard(text).data.to_dict()
    assert meta["base_model"] == "facebook/audio-magnet-small" and meta["datasets"] == ["me/sounds"]
    assert meta["license"] == "cc-by-nc-4.0"  # a fine-tune of Meta's weights keeps their licence
    mine = ModelCard(model_card("audiogen", "me/base", {}, None)).data.to_dict()
    assert mine["license"] == "other" and mine["license_name"].startswith("unspecified")
    chosen = ModelCard(model_card("audiogen", "tiny", {}, None, license="mit")).data.to_dict()
    assert chosen["license"] == "mit" and "base_model" not in chosen
    validate_model_card(text)


def test_cards_refuse_other_without_a_name_and_keep_user_cards(audiogen, tmp_path):
    with pytest.raises(ModelCardError, match="license_name"):
        render_model_card(CardFacts("audiogen", license="other", license_name=None))
    (tmp_path / "README.md").write_text("# my card\n")
    audiogen.save_pretrained(tmp_path)
    assert (tmp_path / "README.md").read_text() == "# my card\n"
    text = render_model_card(CardFacts("magnet", license="mit", base_model="me/base", datasets=["me/data"]))
    meta = yaml.safe_load(text.split("---")[1])
    assert meta["license"] == "mit" and "license_name" not in meta and "trust_remote_code=True" in text


@pytest.mark.parametrize("family", ["audiogen", "magnet"])
def test_embedded_model_cards_validate(family):
    import audiogen_hf

    folder = Path(audiogen_hf.DEFAULT_MODEL if family == "audiogen" else audiogen_hf.DEFAULT_MAGNET_MODEL)
    validate_model_card((folder / "README.md").read_text())


def test_training_output_is_a_complete_hub_folder(tmp_path, fake_hub):
    from training.args import parse_args
    from training.train import train

    config = tmp_path / "config.yaml"
    settings = {
        "model_name_or_path": "tiny",
        "synthetic_examples": 4,
        "segment_seconds": 1.0,
        "per_device_train_batch_size": 4,
        "max_steps": 1,
        "report_to": "none",
        "save_steps": 1000,
        "output_dir": str(tmp_path / "run"),
        "push_to_hub": "me/trained",
        "hub_license": "apache-2.0",
    }
    config.write_text(yaml.safe_dump(settings))
    train(*parse_args(["--config", str(config)]))
    run = tmp_path / "run"
    assert "auto_map" in json.loads((run / "config.json").read_text())
    assert (run / "modeling_audiogen.py").is_file() and (run / "processing_audiogen.py").is_file()
    meta = validate_model_card((run / "README.md").read_text()).data.to_dict()
    assert meta["license"] == "apache-2.0" and "base_model" not in meta  # trained from scratch
    (_, repo, files, card) = fake_hub[-1]
    assert repo == "me/trained" and "modeling_audiogen.py" in files and "Final training loss" in card
    assert not any(name.startswith("checkpoint") for name in files)


def test_processor_push_and_a_users_card_on_the_hub_is_kept(
    fake_hub, processor, audiogen, tmp_path, monkeypatch
):
    processor.push_to_hub("me/tiny")
    (_, repo, files, _card) = fake_hub[-1]
    assert "processing_audiogen.py" in files and "tokenizer.json" in files and "README.md" not in files
    users_card = tmp_path / "README.md"
    users_card.write_text("---\nlicense: mit\n---\n# my card\n")
    monkeypatch.setattr(FakeHfApi, "file_exists", lambda self, repo_id, filename, revision=None: True)
    monkeypatch.setattr(
        FakeHfApi,
        "hf_hub_download",
        lambda self, repo_id, filename, revision=None: str(users_card),
        raising=False,
    )
    audiogen.push_to_hub("me/tiny")
    (_, repo, files, _card) = fake_hub[-1]
    assert "README.md" not in files and "model.safetensors" in files


def test_list_and_all_argument_errors(capsys, tmp_path):
    assert convert_main(["--list"]) == 0
    listed = capsys.readouterr().out
    assert all(hub_id in listed for hub_id in RELEASES) and len(RELEASES) == 7
    assert convert_main(["--all", "--output", str(tmp_path), "--push-to-hub", "me/one-repo"]) == 2
    assert "must contain {name}" in capsys.readouterr().err
    assert convert_main(["--all", "--output", str(tmp_path), "--text-encoder", "t5"]) == 2
    assert "each release's own T5" in capsys.readouterr().err
    assert convert_main(["--all"]) == 2
    assert "--output is required" in capsys.readouterr().err
