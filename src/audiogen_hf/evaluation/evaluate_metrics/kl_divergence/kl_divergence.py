"""Mean KL(reference || generated) of paired class probabilities, as an `evaluate` metric (audiogen_hf's maths).

metric = evaluate.load(audiogen_hf.evaluation.metric_path("kl_divergence"))
metric.compute(predictions=generated_probabilities, references=reference_probabilities, kind="bernoulli")
"""

import evaluate

from audiogen_hf.evaluation.metric_modules import metric_info
from audiogen_hf.evaluation.metrics import kl_divergence

_DESCRIPTION = """Mean over paired clips of KL(p_reference || p_generated), as audiocraft's PaSST KL: row i of the
predictions is the generation for the caption of reference clip i."""
_KWARGS = """predictions / references: [clips, classes] probabilities. kind: "categorical" (rows sum to 1, softmax)
or "bernoulli" (independent labels, sigmoid). eps: clipping of log(0) (default 1e-6). Returns {"kl": float}."""


class KlDivergence(evaluate.Metric):
    def _info(self):
        return metric_info(_DESCRIPTION, _KWARGS, "paired_rows")

    def _compute(self, predictions, references, kind: str = "categorical", eps: float = 1e-6):
        return {"kl": kl_divergence(references, predictions, kind=kind, eps=eps)}
