"""Best of N: score a prompt's candidate clips and keep the best.

Scorers come from the evaluation package: the DSP judge (how many of the attributes the caption asks for the clip
has; made for the embedded demo models' sound world) or CLAP (cosine of the clip's and the prompt's embeddings,
with a local CLAP model). Any `scorer(clips, sampling_rate, prompt) -> scores` works too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

Scorer = Callable[[Sequence[np.ndarray], int, str], Sequence[float]]
SCORERS = ("judge", "clap")


def judge_scores(clips: Sequence[np.ndarray], sampling_rate: int, prompt: str) -> list[float]:
    """The share of the caption's measurable attributes each clip has (0 when it asks for none)."""
    from ..evaluation.judge import judge_clip

    scores = []
    for clip in clips:
        correct = judge_clip(clip, sampling_rate, prompt).correct
        scores.append(sum(correct.values()) / len(correct) if correct else 0.0)
    return scores


class ClapRanker:
    """CLAP scores of clips against their prompt, from a local CLAP model folder."""

    def __init__(self, path, device: str = "cpu"):
        from ..evaluation.clap import ClapScorer

        self.scorer = ClapScorer(path, device=device)

    def __call__(self, clips: Sequence[np.ndarray], sampling_rate: int, prompt: str) -> list[float]:
        mono = [np.asarray(c, dtype=np.float32).reshape(-1, np.shape(c)[-1]).mean(axis=0) for c in clips]
        return [float(s) for s in self.scorer.scores(mono, sampling_rate, [prompt] * len(mono))]


def resolve_scorer(spec: str | Scorer, clap_model=None, device: str = "cpu") -> tuple[str, Scorer]:
    """('judge' | 'clap' | the callable's name, the scorer)."""
    if callable(spec):
        return getattr(spec, "__name__", type(spec).__name__), spec
    if spec == "judge":
        return "judge", judge_scores
    if spec == "clap":
        if clap_model is None:
            raise ValueError(
                "--rerank clap needs a local CLAP model: pass --clap FOLDER (a CLAP model and processor saved "
                "with save_pretrained); or rerank with --rerank judge."
            )
        return "clap", ClapRanker(clap_model, device)
    raise ValueError(f"--rerank must be one of {list(SCORERS)} (or a scorer callable), got {spec!r}.")


def check_rerank(rerank, keep: int | None, num_per_prompt: int) -> int | None:
    """The number of clips kept per prompt (None: no reranking), or the error naming the fix."""
    if rerank is None:
        if keep is not None:
            raise ValueError(
                "--keep chooses the best clips of --rerank; pass --rerank judge or --rerank clap too."
            )
        return None
    keep = 1 if keep is None else keep
    if not 1 <= keep < num_per_prompt:
        raise ValueError(
            "--rerank keeps the --keep best of --num-per-prompt candidates: need 1 <= keep < num-per-prompt, "
            f"got keep {keep} of {num_per_prompt}."
        )
    return keep


def best(scores: Sequence[float], keep: int) -> list[int]:
    """Indices of the `keep` highest scores, best first (ties: the earlier candidate)."""
    order = sorted(range(len(scores)), key=lambda i: (-float(scores[i]), i))
    return order[:keep]
