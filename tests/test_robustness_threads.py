"""Two threads calling generate() on one model give the sequential results: no shared mutable state between
calls (both families, greedy, and sampled with a per-call torch.Generator)."""

from __future__ import annotations

import threading

import pytest
import torch

PROMPTS = (["a dog barks", "rain falls"], ["a bell rings then a car engine starts"])


def _generate(model, processor, texts: list[str], do_sample: bool, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed) if do_sample else None
    kwargs = {"max_new_tokens": 12, "do_sample": do_sample, "return_dict_in_generate": True}
    return model.generate(**processor(text=texts), generator=generator, **kwargs).sequences


@pytest.mark.parametrize("family", ["audiogen", "magnet"])
@pytest.mark.parametrize("do_sample", [False, True])
def test_two_threads_match_sequential(family, do_sample, request, processor):
    model = request.getfixturevalue(family)
    jobs = [(texts, seed) for seed, texts in enumerate(PROMPTS)] * 2  # each prompt set twice, interleaved
    expected = [_generate(model, processor, texts, do_sample, seed) for texts, seed in jobs]
    results: list[torch.Tensor | BaseException | None] = [None] * len(jobs)
    start = threading.Barrier(2)

    def worker(indices: list[int]) -> None:
        start.wait()
        for i in indices:
            try:
                results[i] = _generate(model, processor, jobs[i][0], do_sample, jobs[i][1])
            except BaseException as error:  # reported below, with the job it failed on
                results[i] = error

    threads = [threading.Thread(target=worker, args=(list(range(k, len(jobs), 2)),)) for k in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for i, (got, want) in enumerate(zip(results, expected, strict=True)):
        assert not isinstance(got, BaseException), f"job {i} raised {got!r}"
        assert got is not None and torch.equal(got, want), f"job {i} differs from its sequential run"
