"""Backward-compatible alias: the DSP judge moved to `audiogen_hf.evaluation.judge` (issue 23).

Why an alias and not a re-export: `import audiogen_hf.judge` must give the very same module, so code that
reads or patches its names (`judge.judge_clip`, `_robust_slope`, the recipes' call-time imports) keeps working.
"""

import sys

from .evaluation import judge as _judge

sys.modules[__name__] = _judge
