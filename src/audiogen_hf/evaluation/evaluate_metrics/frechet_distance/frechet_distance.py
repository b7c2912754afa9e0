"""Fréchet distance between two sets of clip embeddings, as an `evaluate` metric (audiogen_hf's maths).

metric = evaluate.load(audiogen_hf.evaluation.metric_path("frechet_distance"))
metric.compute(predictions=generated_embeddings, references=reference_embeddings)
"""

import evaluate

from audiogen_hf.evaluation.metric_modules import metric_info
from audiogen_hf.evaluation.metrics import frechet_distance

_DESCRIPTION = """Fréchet distance between Gaussians fitted to the generated and the reference embeddings (FAD when
the embeddings come from an audio classifier). One row per clip; both sets must have the same number of rows
here (evaluate pairs inputs row by row): call audiogen_hf.evaluation.frechet_distance for sets of different sizes."""
_KWARGS = """predictions: [clips, d] embeddings of the generated clips. references: [clips, d] embeddings of the
reference clips. eps: added to both covariance diagonals (default 1e-6). Returns {"frechet_distance": float}."""


class FrechetDistance(evaluate.Metric):
    def _info(self):
        return metric_info(_DESCRIPTION, _KWARGS, "paired_rows")

    def _compute(self, predictions, references, eps: float = 1e-6):
        return {"frechet_distance": frechet_distance(predictions, references, eps=eps)}
