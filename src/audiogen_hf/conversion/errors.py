"""The converter's one error type."""


class CheckpointError(ValueError):
    """An audiocraft export that cannot be converted; the message says why and what to do."""
