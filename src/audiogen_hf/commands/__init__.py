"""Commands on top of the library: the `audiogen-hf` CLI (`cli`), the web demo, `evaluate` and `judge`.

Nothing in the library imports from here; the commands load models through `audiogen_hf.loading`.
"""
