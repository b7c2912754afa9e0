"""AudioGen: an autoregressive transformer over EnCodec's codebooks (delay pattern), T5 cross-attention, CFG.

`configuration_audiogen` (configs), `modeling_audiogen` (the model), `generation_audiogen` (decoding).
"""
