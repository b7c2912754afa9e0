"""Run as a script by tests/test_hub_remote_code.py: load saved folders where `audiogen_hf` (and julius)
cannot be imported, only through transformers' remote code, and save the generated codes (one process for
all folders: the interpreter and transformers start once).

    python tests/bare_env_generate.py '[["FOLDER", "OUT.pt", {"max_new_tokens": 6}], ...]'
"""

from __future__ import annotations

import importlib.abc
import json
import os
import sys

BLOCKED = ("audiogen_hf", "julius", "tests", "training")


class Blocker(importlib.abc.MetaPathFinder):
    """Makes the package (and julius) unimportable, installed or not. soundfile stays: transformers itself
    probes it; the exported files are checked for it statically."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named '{name}' (blocked: bare environment)")
        return None


def isolate() -> None:
    sys.meta_path.insert(0, Blocker())
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if p and os.path.abspath(p) not in (here, os.path.dirname(here))]
    sys.path[:] = [p for p in sys.path if not p.rstrip("/").endswith("/src")]


def run(folder: str, out: str, kwargs: dict) -> None:
    import torch

    torch.set_num_threads(1)
    from transformers import AutoConfig, AutoModelForTextToWaveform, AutoProcessor, pipeline

    config = AutoConfig.from_pretrained(folder, trust_remote_code=True)
    model = AutoModelForTextToWaveform.from_pretrained(folder, trust_remote_code=True).eval()
    processor = AutoProcessor.from_pretrained(folder, trust_remote_code=True)
    inputs = processor(text=["a dog barks", "rain"])
    greedy = model.generate(**inputs, do_sample=False, return_dict_in_generate=True, **kwargs)
    torch.manual_seed(1234)
    seeded = model.generate(**inputs, do_sample=True, return_dict_in_generate=True, **kwargs)
    pipe = pipeline("text-to-audio", model=folder, trust_remote_code=True)
    piped = pipe("a dog barks", forward_params={"do_sample": False, **kwargs})
    # A model loaded from the exported code saves a folder that loads the same way (code, auto_map, card).
    resaved = out + ".resaved"
    model.save_pretrained(resaved)
    processor.save_pretrained(resaved)
    again = AutoModelForTextToWaveform.from_pretrained(resaved, trust_remote_code=True).eval()
    again_processor = AutoProcessor.from_pretrained(resaved, trust_remote_code=True)
    regreedy = again.generate(**again_processor(text=["a dog barks", "rain"]), do_sample=False, **kwargs)
    torch.save(
        {
            "resaved_audio": regreedy,
            "resaved_files": sorted(os.listdir(resaved)),
            "classes": [type(config).__module__, type(model).__module__, type(processor).__module__],
            "processor": type(processor).__name__,
            "greedy": greedy.sequences,
            "seeded": seeded.sequences,
            "audio": greedy.audio,
            "pipeline_audio": torch.from_numpy(piped["audio"]),
            "pipeline_rate": piped["sampling_rate"],
            "audiogen_hf_loaded": any(name.startswith("audiogen_hf") for name in sys.modules),
        },
        out,
    )


if __name__ == "__main__":
    isolate()
    for job in json.loads(sys.argv[1]):
        run(*job)
