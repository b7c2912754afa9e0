"""CLAP score (cosine similarity of each clip's CLAP audio embedding with its prompt's), as an `evaluate` metric
(audiogen_hf's ClapScorer; the CLAP model is read from a local folder, nothing is downloaded).

    metric = evaluate.load(audiogen_hf.evaluation.metric_path("clap_score"))
    metric.compute(predictions=clips, references=prompts, sampling_rate=16000, clap_model="path/to/clap")
"""

import evaluate
import numpy as np

from audiogen_hf.evaluation.clap import ClapScorer
from audiogen_hf.evaluation.metric_modules import metric_info

_DESCRIPTION = (
    """Mean and per-clip cosine similarity between CLAP embeddings of generated clips and of their prompts."""
)
_KWARGS = """predictions: mono clips (float arrays). references: their prompts (strings). sampling_rate: of the clips.
clap_model: a local folder holding a CLAP model and processor (save_pretrained). Returns {"clap_score": mean,
"clap_scores": per-clip list}."""


class ClapScore(evaluate.Metric):
    def _info(self):
        return metric_info(_DESCRIPTION, _KWARGS, "clips_and_texts")

    def _compute(self, predictions, references, sampling_rate: int = 16000, clap_model: str | None = None):
        if clap_model is None:
            raise ValueError("clap_score needs clap_model=<local folder of a CLAP model and processor>.")
        clips = [np.asarray(clip, dtype=np.float32) for clip in predictions]
        scores = ClapScorer(clap_model).scores(clips, sampling_rate, list(references))
        return {"clap_score": float(np.mean(scores)), "clap_scores": [float(s) for s in scores]}
