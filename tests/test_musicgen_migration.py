"""docs/migrating-from-musicgen.md runs (issue 31 item 4): every python snippet, in order, in one namespace,
on a tiny saved AudioGen; plus the MusicGen habits on MAGNeT."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

PAGE = Path(__file__).resolve().parents[1] / "docs" / "migrating-from-musicgen.md"
PLACEHOLDER = "path/to/audiogen-medium"


def snippets() -> list[str]:
    return re.findall(r"```python\n(.*?)```", PAGE.read_text(), flags=re.DOTALL)


def test_every_snippet_of_the_page_runs(saved_audiogen):
    blocks = snippets()
    assert len(blocks) >= 6 and PLACEHOLDER in blocks[0]
    namespace: dict = {}
    for i, block in enumerate(blocks):
        code = block.replace(PLACEHOLDER, str(saved_audiogen))
        try:
            exec(compile(code, f"{PAGE.name}[{i}]", "exec"), namespace)
        except Exception as error:
            raise AssertionError(f"snippet {i} of {PAGE.name} fails: {error}\n{block}") from error


def test_every_table_row_is_backed_by_a_snippet():
    text = PAGE.read_text()
    code = "\n".join(snippets())
    for name in (
        "get_unconditional_inputs",
        "num_codebooks",
        "output_scores",
        "output_attentions",
        "num_beams",
    ):
        assert name in text.split("## ")[0] and name in code, name


def test_unconditional_inputs_match_generating_without_text(audiogen):
    unconditional = audiogen.get_unconditional_inputs(num_samples=2)
    assert unconditional.attention_mask.sum() == 0 and unconditional.guidance_scale == 1.0
    out = audiogen.generate(**unconditional, max_new_tokens=5, do_sample=False, return_dict_in_generate=True)
    alone = audiogen.generate(
        max_new_tokens=5, do_sample=False, guidance_scale=1.0, return_dict_in_generate=True
    )
    assert torch.equal(out.sequences[0], alone.sequences[0]) and torch.equal(
        out.sequences[0], out.sequences[1]
    )
    with pytest.raises(ValueError, match="num_samples must be a positive integer"):
        audiogen.get_unconditional_inputs(0)


def test_magnet_habits(magnet):
    assert magnet.decoder.num_codebooks == magnet.config.decoder.num_codebooks
    unconditional = magnet.get_unconditional_inputs(2)
    assert unconditional.guidance_scale is None  # MAGNeT refuses guidance_scale: it anneals its own CFG
    audio = magnet.generate(**unconditional, max_new_tokens=6, decoding_steps=[1, 1, 1, 1])
    assert audio.shape[0] == 2
    with pytest.raises(ValueError, match="output_scores"):
        magnet.generate(**unconditional, max_new_tokens=6, output_scores=True)
