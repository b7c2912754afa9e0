"""The two model families, one folder each: `audiogen` (autoregressive) and `magnet` (masked, non-autoregressive).

Both build on `audiogen_hf.core` (the shared decoder, the T5 + codec base model, the processor) and on the
`audiogen_hf.generation` toolkit. The public classes are exported from `audiogen_hf` itself.
"""
