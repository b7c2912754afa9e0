"""MAGNeT: one non-causal transformer that fills masked spans of one codebook at a time.

`configuration_magnet`, `modeling_magnet`, `generation_magnet` (the iterative masked decoding), `masking` (pure
schedule / span / band functions), `rescoring` (an AudioGen rescorer), `long_form` (windows past the model's
window), `hybrid` (an AudioGen prefix, then MAGNeT), `infill` (regenerating ranges of a recording) and `loop`
(seamless loops: circular decoding and codec decode).
"""
