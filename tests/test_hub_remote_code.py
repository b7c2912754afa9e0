"""Saved folders carry their code (issue 31): a process where `audiogen_hf` cannot be imported loads them with
`trust_remote_code=True` (AutoConfig, AutoModelForTextToWaveform, AutoProcessor, pipeline) and generates the
same tokens as the package, greedy and seeded."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoModelForTextToWaveform, AutoProcessor
from transformers.dynamic_module_utils import get_imports

from audiogen_hf import AudioGenForConditionalGeneration, AudioGenProcessor, MagnetForConditionalGeneration
from audiogen_hf.hub.code_export import GENERATED_MARK, CodeExportError
from audiogen_hf.tiny import tiny_magnet_config

CHILD = Path(__file__).with_name("bare_env_generate.py")
# What the exported files may import besides the standard library: transformers and its own dependencies.
ALLOWED_THIRD_PARTY = {"torch", "transformers", "numpy", "tqdm", "safetensors", "huggingface_hub"}
MAGNET_KWARGS = {"max_new_tokens": 12, "decoding_steps": [2, 1, 1, 1]}
AUDIOGEN_KWARGS = {"max_new_tokens": 6}


@pytest.fixture(scope="module")
def saved_magnet(tmp_path_factory, processor):
    torch.manual_seed(3)
    model = MagnetForConditionalGeneration(tiny_magnet_config(len(processor.tokenizer))).eval()
    path = tmp_path_factory.mktemp("tiny-magnet")
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def bare_results(saved_audiogen, saved_magnet, tmp_path_factory) -> dict:
    """Both folders loaded and generated in one bare subprocess."""
    work = tmp_path_factory.mktemp("bare")
    jobs = {
        "audiogen": [str(saved_audiogen), str(work / "audiogen.pt"), AUDIOGEN_KWARGS],
        "magnet": [str(saved_magnet), str(work / "magnet.pt"), MAGNET_KWARGS],
    }
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(HF_HUB_OFFLINE="1", HF_MODULES_CACHE=str(work / "modules"), OMP_NUM_THREADS="1")
    done = subprocess.run(
        [sys.executable, str(CHILD), json.dumps(list(jobs.values()))],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return {family: torch.load(job[1], weights_only=False) for family, job in jobs.items()}


def in_process(folder: Path, kwargs: dict) -> dict:
    model = AutoModelForTextToWaveform.from_pretrained(folder).eval()
    processor = AutoProcessor.from_pretrained(folder)
    inputs = processor(text=["a dog barks", "rain"])
    greedy = model.generate(**inputs, do_sample=False, return_dict_in_generate=True, **kwargs)
    torch.manual_seed(1234)
    seeded = model.generate(**inputs, do_sample=True, return_dict_in_generate=True, **kwargs)
    single = model.generate(**processor(text=["a dog barks"]), do_sample=False, **kwargs)
    return {"greedy": greedy.sequences, "seeded": seeded.sequences, "single": single[0, 0], "model": model}


@pytest.mark.parametrize("family", ["audiogen", "magnet"])
def test_folder_loads_and_generates_without_the_package(family, saved_audiogen, saved_magnet, bare_results):
    folder, kwargs = (
        (saved_audiogen, AUDIOGEN_KWARGS) if family == "audiogen" else (saved_magnet, MAGNET_KWARGS)
    )
    bare = bare_results[family]
    assert not bare["audiogen_hf_loaded"]
    assert all(module.startswith("transformers_modules.") for module in bare["classes"])
    assert bare["processor"] == "AudioGenProcessor"  # not a bare T5Tokenizer
    ours = in_process(folder, kwargs)
    cls = AudioGenForConditionalGeneration if family == "audiogen" else MagnetForConditionalGeneration
    assert type(ours["model"]) is cls  # with the package: its own classes, no trust_remote_code needed
    assert torch.equal(bare["greedy"], ours["greedy"])
    assert torch.equal(bare["seeded"], ours["seeded"])
    assert bare["pipeline_rate"] == 16000
    np.testing.assert_allclose(bare["pipeline_audio"].numpy(), ours["single"].numpy(), atol=1e-6)
    # re-saved from the exported code: still complete, and the same audio
    assert {"README.md", "config.json", f"modeling_{family}.py", "processing_audiogen.py"} <= set(
        bare["resaved_files"]
    )
    torch.testing.assert_close(bare["resaved_audio"], bare["audio"], rtol=0, atol=0)


def test_folder_holds_code_and_auto_map(saved_magnet):
    config = json.loads((saved_magnet / "config.json").read_text())
    assert config["auto_map"] == {
        "AutoConfig": "configuration_magnet.MagnetConfig",
        "AutoModel": "modeling_magnet.MagnetForConditionalGeneration",
        "AutoModelForTextToWaveform": "modeling_magnet.MagnetForConditionalGeneration",
        "AutoProcessor": "processing_audiogen.AudioGenProcessor",
    }
    assert config["model_type"] == "magnet"  # unchanged: the package's Auto registration still applies
    for name in ("processor_config.json", "tokenizer_config.json"):
        auto_map = json.loads((saved_magnet / name).read_text())["auto_map"]
        assert auto_map["AutoProcessor"] == "processing_audiogen.AudioGenProcessor"
    code = {p.name: p.read_text() for p in saved_magnet.glob("*.py")}
    assert {"modeling_magnet.py", "generation_magnet.py", "masking.py", "modeling_decoder.py"} <= set(code)
    assert not {"cli.py", "demo.py", "judge.py", "convert.py", "metrics.py", "clap.py"} & set(code)
    for name, source in code.items():
        assert source.startswith(GENERATED_MARK), name
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom):
                assert node.level in (0, 1) and not (node.module or "").startswith("audiogen_hf"), name
        third_party = set(get_imports(saved_magnet / name)) - set(sys.stdlib_module_names)
        assert third_party <= ALLOWED_THIRD_PARTY, (name, third_party)


def test_a_users_python_file_is_never_replaced(audiogen, tmp_path):
    (tmp_path / "modeling_base.py").write_text("# my own notes\n")
    with pytest.raises(CodeExportError, match="was not written by audiogen-hf"):
        audiogen.save_pretrained(tmp_path)
    assert (tmp_path / "modeling_base.py").read_text() == "# my own notes\n"
    assert not (tmp_path / "model.safetensors").exists()  # refused before anything was written


def test_processor_alone_gets_its_code(processor, tmp_path):
    processor.save_pretrained(tmp_path)
    assert (tmp_path / "processing_audiogen.py").is_file() and not (tmp_path / "modeling_base.py").exists()
    assert isinstance(AutoProcessor.from_pretrained(tmp_path), AudioGenProcessor)
